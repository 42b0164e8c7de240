"""Fuzzing: broken FIT, GPX and TCX files of every kind end as a status with a message.

The quick campaigns here use the machinery of ``python -m fuzz`` (``fuzz/``): cases are
derived from a fixed seed (a failure prints its case id; ``python -m fuzz --replay <id>
--max-kb 64`` reproduces it), each runs in a worker process under a time bound and a
memory watch, and goes through decode, normalize and the store's batch commit; scratch
lakes are checked against the outcomes. Targeted tests pin the classic attacks (XML
bombs, XXE, deep nesting, huge attributes, absurd headers and definitions).

Decoder bugs the fuzzer finds that are not fixed yet go in ``KNOWN_DECODER_BUGS`` (with a
strict xfail test each); the two it found so far are fixed and kept as regression tests.
"""

from __future__ import annotations

import re
import struct
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastcrc import crc16
from fuzz._cases import CORPUS, Case, load_seeds
from fuzz._cases import case as make_case
from fuzz._fit import fix_crcs, walk
from fuzz._gpx import GPX_ATTACKS
from fuzz._runner import FuzzReport, Worker, run_cases
from fuzz._tcx import TCX_ATTACKS

from runlake.decode import decode_fit
from runlake.ingest._ingest import prepare_file
from runlake.lake._store import Lake
from runlake.synth import RunSpec, encode_run, simulate

SEED = 20260607
N_FIT = 800
N_GPX = 200
N_TCX = 200

# signature (see fuzz._runner.signature) -> what is wrong; each gets a strict xfail test.
KNOWN_DECODER_BUGS: dict[str, str] = {}


def _unknown(report: FuzzReport) -> dict[str, list[str]]:
    return {
        sig: ids
        for sig, ids in report.signatures().items()
        if not any(re.fullmatch(known, sig) for known in KNOWN_DECODER_BUGS)
    }


def _campaign(kind: str, n: int, tmp_path: Path) -> FuzzReport:
    seeds = load_seeds(CORPUS, max_bytes=64 * 1024)
    cases = (make_case(seeds, f"{kind}:{SEED}:{i}") for i in range(n))
    report = run_cases(
        cases, workdir=tmp_path / "fuzz", jobs=1, timeout_s=60, mem_limit_mb=512, check_every=300
    )
    print(f"{kind}: {report.summary()}")
    if report.signatures():
        print(report.describe_signatures())
    return report


def test_quick_fit_campaign(tmp_path: Path) -> None:
    report = _campaign("fit", N_FIT, tmp_path)
    unknown = _unknown(report)
    assert not unknown, report.describe_failures() + "\n" + report.describe_signatures()
    assert report.cases == N_FIT
    assert report.lake_checks >= N_FIT // 300
    # the mutations reach every outcome
    for status in ("new", "warning", "skipped", "error"):
        assert report.statuses[status] > 0, report.statuses
    assert report.slowest[0] < 30


def test_quick_gpx_campaign(tmp_path: Path) -> None:
    report = _campaign("gpx", N_GPX, tmp_path)
    assert not _unknown(report), report.describe_failures()
    for status in ("new", "warning", "error"):
        assert report.statuses[status] > 0, report.statuses


def test_quick_tcx_campaign(tmp_path: Path) -> None:
    report = _campaign("tcx", N_TCX, tmp_path)
    assert not _unknown(report), report.describe_failures()
    assert report.cases == N_TCX
    for status in ("new", "warning", "error"):
        assert report.statuses[status] > 0, report.statuses


def test_case_ids_reproduce_their_bytes() -> None:
    seeds = load_seeds(None)
    a = make_case(seeds, f"fit:{SEED}:17")
    b = make_case(seeds, f"fit:{SEED}:17")
    assert (a.data, a.recipe) == (b.data, b.recipe)
    assert make_case(seeds, f"fit:{SEED}:18").data != a.data


# -- XML attacks and absurd GPX --------------------------------------------------------------

ATTACK_OUTCOMES = {
    "billion_laughs": ("error", "unsafe XML"),
    "quadratic_blowup": ("error", "unsafe XML"),
    "xxe_file": ("error", "unsafe XML"),
    "xxe_http": ("error", "unsafe XML"),
    "xxe_parameter": ("error", "unsafe XML"),
    "external_dtd": ("error", "unsafe XML"),
    # libxml2's depth limit (256) stays on: a watch file never nests that deep
    "deep_nesting": ("error", "malformed XML at line 2:842: Excessive depth in document: 256"),
    "huge_attribute": ("new", ""),
    "many_attributes": ("new", ""),
    "huge_text": ("new", ""),
    "many_points": ("new", ""),
    "xinclude": ("new", ""),
    "not_gpx_root": ("error", "not a GPX document"),
    "nul_bytes": ("error", "malformed XML"),
    "empty_gpx": ("skipped", "no timestamped track points"),
    "only_whitespace": ("error", "empty file"),
}


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    w = Worker(tmp_path_factory.mktemp("worker"), timeout_s=60, mem_limit_mb=512)
    yield w
    w.close()


@pytest.mark.parametrize("attack", sorted(GPX_ATTACKS))
def test_xml_attacks_are_refused_in_bounded_time_and_memory(worker: Worker, attack: str) -> None:
    data = GPX_ATTACKS[attack]()
    res = worker.run(Case(f"attack:{attack}", "gpx", "case.gpx", data, (attack,)), extra=True)
    status, text = ATTACK_OUTCOMES[attack]
    assert res["failure"] is None, res["detail"]
    assert res["status"] == status, res
    assert text in res["message"], res["message"]
    assert res["seconds"] < 20
    assert res["peak_mb"] < 400
    assert "root:" not in res["message"]


TCX_ATTACK_OUTCOMES = {
    **{
        name: outcome
        for name, outcome in ATTACK_OUTCOMES.items()
        if name in TCX_ATTACKS and outcome[0] == "error" and name != "deep_nesting"
    },
    "deep_nesting": ("error", "Excessive depth in document: 256"),
    "huge_attribute": ("skipped", "no activity in the TCX file"),
    "many_attributes": ("skipped", "no activity in the TCX file"),
    "huge_text": ("skipped", "no activity in the TCX file"),
    "xinclude": ("skipped", "no activity in the TCX file"),
    # XML of another kind named .tcx: the TCX decoder names its root
    "kml_root": ("error", "not a TCX document: root element is <kml>"),
    "course_only": ("skipped", "no activity in the TCX file, not an activity: 1 courses"),
    "many_laps": ("warning", "sample times jump 5 backwards"),
}


@pytest.mark.parametrize("attack", sorted(TCX_ATTACKS))
def test_tcx_attacks_are_refused_in_bounded_time_and_memory(worker: Worker, attack: str) -> None:
    data = TCX_ATTACKS[attack]()
    res = worker.run(Case(f"attack:{attack}", "tcx", "case.tcx", data, (attack,)), extra=True)
    status, text = TCX_ATTACK_OUTCOMES[attack]
    assert res["failure"] is None, res["detail"]
    assert (res["status"], text in res["message"]) == (status, True), res
    assert res["seconds"] < 20
    assert res["peak_mb"] < 400


@pytest.mark.parametrize("kind", ["gpx", "tcx"])
def test_external_dtd_is_never_opened(tmp_path: Path, kind: str) -> None:
    # libxml2 opens a DOCTYPE's external subset even with load_dtd=False: runlake refuses
    # the DOCTYPE, also in UTF-16 where the bytes hide it, and opens nothing
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ENTITY leak "TOPSECRET-42">')
    root = "gpx" if kind == "gpx" else "TrainingCenterDatabase"
    doc = f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE {root} SYSTEM "{secret.as_uri()}">'
    (tmp_path / f"x.{kind}").write_bytes((doc + f"<{root}>&leak;</{root}>").encode("utf-16"))
    before = secret.stat().st_atime_ns
    outcome, _ = prepare_file(Lake(tmp_path / "lake"), tmp_path / f"x.{kind}", "anna")
    assert outcome.status == "error"
    assert "unsafe XML: document type declaration (DTD) is not allowed" in outcome.message
    assert "TOPSECRET" not in outcome.message
    assert secret.stat().st_atime_ns == before


def test_xxe_never_reads_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-42")
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "xxe.gpx").write_bytes(
        GPX_ATTACKS["xxe_file"]().replace(b"/etc/passwd", bytes(secret))
    )
    lake = Lake(tmp_path / "lake")
    outcome, _ = prepare_file(lake, inbox / "xxe.gpx", "anna")
    assert outcome.status == "error"
    assert "TOPSECRET" not in outcome.message


# -- FIT: every truncation, absurd headers and definitions -----------------------------------


def _run_bytes(duration_s: int = 60) -> bytes:
    spec = RunSpec(
        start=datetime(2026, 3, 2, 6, 30, tzinfo=UTC),
        kind="easy",
        duration_s=duration_s,
        base_speed_mps=3.0,
        base_hr_bpm=140.0,
        cadence_spm=170.0,
        seed=1,
    )
    return encode_run(simulate(spec))


def _outcome(tmp_path: Path, data: bytes, name: str = "x.fit") -> tuple[str, str, int]:
    path = tmp_path / name
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o, _ = prepare_file(Lake(tmp_path / "lake"), path, "anna")
    if o.status != "new":
        assert o.message, o
    assert not o.message.startswith("InternalError"), o.message
    return o.status, o.message, o.n_records


def test_truncated_at_every_offset_keeps_what_was_complete(tmp_path: Path) -> None:
    data = _run_bytes()
    full = _outcome(tmp_path, data)
    assert full[0] == "new"
    seen: dict[str, int] = {}
    records = []
    offsets = sorted({*range(0, 300), *range(300, len(data) + 1, 11), len(data) - 1})
    for at in offsets:
        status, message, n = _outcome(tmp_path, data[:at])
        seen[status] = seen.get(status, 0) + 1
        if status in ("new", "warning"):
            records.append((at, n))
        if 14 < at < len(data) - 2 and status == "warning":
            assert "at byte" in message, (at, message)
    assert set(seen) <= {"error", "warning", "new", "skipped"}
    # a watch that died mid-run still recorded the run: more bytes, never fewer records
    assert [n for _, n in records] == sorted(n for _, n in records)
    assert records[-1][1] == full[2]
    print(f"{len(offsets)} truncations: {seen}")


def _fit(body: bytes, *, data_size: int | None = None) -> bytes:
    h = bytearray([14, 0x20]) + struct.pack("<H", 2140)
    h += struct.pack("<I", len(body) if data_size is None else data_size) + b".FIT"
    h += struct.pack("<H", crc16.arc(bytes(h)))
    out = bytes(h) + body
    return out + struct.pack("<H", crc16.arc(out))


def test_absurd_headers(tmp_path: Path) -> None:
    data = _run_bytes()
    body = data[14:-2]
    cases = {
        "data_size 4 GiB": _fit(body, data_size=0xFFFFFFFF),
        "data_size 0": _fit(body, data_size=0),
        "header size 255": bytes([255]) + data[1:],
        "header size 0": bytes([0]) + data[1:],
        "zeroed header": bytes(14) + data[14:],
        "only a header": data[:14],
        "magic .FIX": data[:8] + b".FIX" + data[12:],
        "profile 0xFFFF": fix_crcs(data[:2] + b"\xff\xff" + data[4:]),
    }
    for label, blob in cases.items():
        status, message, _ = _outcome(tmp_path, blob, "case.fit")
        assert status in ("new", "warning", "error"), (label, status)
        assert status == "new" or message, label
    # a header that claims 4 GiB: the data that is there is read, the rest reported
    status, message, n = _outcome(tmp_path, _fit(body, data_size=0xFFFFFFFF))
    assert status == "warning"
    assert "FitTruncatedError" in message
    assert n == _outcome(tmp_path, data)[2]


def test_absurd_definitions(tmp_path: Path) -> None:
    data = _run_bytes()
    lay = walk(data)
    record_def = next(d for d in lay.defs if d.global_num == 20)
    mutations: dict[str, bytes] = {}
    b = bytearray(data)
    b[record_def.offset + 5] = 255  # 255 fields
    mutations["n_fields 255"] = bytes(b)
    for k, (off, size, _base) in enumerate(record_def.fields):
        for new_size in (0, 255, size + 1, size * 3):
            b = bytearray(data)
            b[off + 1] = new_size
            mutations[f"field {k} size {new_size}"] = fix_crcs(bytes(b))
        for base in (0x07, 0x88, 0x89, 0x8E, 0xFF, 0x20):
            b = bytearray(data)
            b[off + 2] = base
            mutations[f"field {k} base {base:#x}"] = fix_crcs(bytes(b))
    b = bytearray(data)
    b[record_def.offset + 2] = 1  # big-endian
    mutations["big-endian"] = fix_crcs(bytes(b))
    statuses: dict[str, int] = {}
    for label, blob in mutations.items():
        status, message, _ = _outcome(tmp_path, blob, "case.fit")
        statuses[status] = statuses.get(status, 0) + 1
        assert status == "new" or message, label
    assert statuses.get("warning", 0) + statuses.get("error", 0) > len(statuses)
    print(f"{len(mutations)} definition mutations: {statuses}")


def test_records_turned_into_sessions_are_rejected_fast(tmp_path: Path) -> None:
    # a corrupt definition makes 1,200 records 1,200 session messages: not 1,200 activities
    data = _run_bytes(1200)
    lay = walk(data)
    record_def = next(d for d in lay.defs if d.global_num == 20)
    b = bytearray(data)
    struct.pack_into("<H", b, record_def.offset + 3, 18)
    t0 = time.perf_counter()
    status, message, _ = _outcome(tmp_path, fix_crcs(bytes(b)))
    assert time.perf_counter() - t0 < 10
    assert status == "error"
    assert "session messages, more than the 1000" in message


# -- decoder bugs the fuzzer found (fixed; kept as regression tests) ---------------------------


def _enum_as_float() -> bytes:
    # file_id (global 0) with one field: 0 "type" (an enum) declared float32, value a NaN
    body = bytes([0x40, 0, 0]) + struct.pack("<H", 0) + bytes([1, 0, 4, 0x88])
    return _fit(body + bytes([0x00]) + struct.pack("<f", float("nan")))


def _time_as_uint64(value: int, *, record: bool = False) -> bytes:
    # file_id: type = activity, and time_created (a date_time) declared uint64 (8 bytes)
    body = bytes([0x40, 0, 0]) + struct.pack("<H", 0) + bytes([2, 0, 1, 0x00, 4, 8, 0x8F])
    body += bytes([0x00, 4]) + struct.pack("<Q", value)
    if record:  # and one record: timestamp (uint32) and heart rate
        body += bytes([0x41, 0, 0]) + struct.pack("<H", 20) + bytes([2, 253, 4, 0x86, 3, 1, 2])
        body += bytes([0x01]) + struct.pack("<I", 1_100_000_000) + bytes([150])
    return _fit(body)


def test_decoder_time_declared_as_uint64() -> None:
    # found by the fuzzer: a date_time declared uint64 overflowed Arrow (fixed: null)
    fit = decode_fit(_time_as_uint64(2**64 - 2), source="time-as-uint64.fit")
    file_id = fit.messages["file_id"].to_pylist()
    assert file_id[0]["type"] == "activity"
    assert file_id[0]["time_created"] is None


def test_impossible_times_are_ignored(tmp_path: Path) -> None:
    # 2**62 s after 1989 is no time (a date_time is a uint32): the decoder gives null
    status, message, n = _outcome(tmp_path, _time_as_uint64(2**62, record=True))
    assert status == "warning"
    assert message == "NoSession: no session message: summary computed from the records"
    assert n == 1


def test_decoder_enum_field_declared_as_float() -> None:
    # found by the fuzzer: NaN in an enum declared float32 warned in a cast (fixed)
    data = _enum_as_float()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = decode_fit(data, source="enum-as-float.fit")
    assert fit.messages["file_id"].to_pylist() == [{"type": None}]
