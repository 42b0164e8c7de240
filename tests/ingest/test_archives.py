"""Archives and exports: zip (nested), gzip, TCX; Garmin and Strava export layouts; hostile
archives. Exports are packed in each test from runlake's generated files and, where
../shared/data is present, from real ones."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import random
import shutil
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import runlake.decode
from runlake import IngestSummary, InputFile, ingest_paths, run_query, scan_inputs
from runlake.cli import main
from runlake.ingest import _archives, _ingest
from runlake.ingest._archives import MAX_NESTING, ArchiveReader, Member, classify, unsafe_name
from runlake.ingest._inputs import find_inputs
from runlake.lake._store import Lake
from runlake.synth import FitWriter, RunSpec, encode_messages, encode_run, simulate

from ..conftest import DATA, FIT_DIR, requires_corpus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPORT = DATA / "exports" / "martin-ueding__geo-activity-playground__strava-export"
TCX_DIR = DATA / "tcx"
START = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)
FIT_EPOCH_S = 631065600
UPLOADED = "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip"
TCX_DECODER = "decode_tcx" in runlake.decode.__all__  # the TCX decoder lands in its own branch


# -- generated files and archives -------------------------------------------------------------


def run_fit(seed: int, minutes: int = 10) -> bytes:
    spec = RunSpec(
        start=START + timedelta(days=seed),
        kind="easy",
        duration_s=60 * minutes,
        base_speed_mps=2.9,
        base_hr_bpm=142.0,
        cadence_spm=172.0,
        seed=seed,
    )
    return encode_run(simulate(spec))


def monitoring_fit(n: int = 300) -> bytes:
    """A daily monitoring file as a Garmin export holds thousands of: no activity."""
    t = 1_100_000_000 + np.arange(n) * 60 + FIT_EPOCH_S
    w = FitWriter()
    w.write(
        encode_messages(
            "file_id",
            {"type": "monitoring_b", "manufacturer": "garmin", "time_created": int(t[0])},
            local=0,
        )
    )
    w.write(
        encode_messages(
            "monitoring",
            {"timestamp": t, "heart_rate": 60 + np.arange(n) % 40, "cycles": np.arange(n) * 1.0},
            local=1,
        )
    )
    return w.to_bytes()


TCX = b"""<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">
 <Activities><Activity Sport="Running"><Id>2026-04-01T07:00:00Z</Id>
  <Lap StartTime="2026-04-01T07:00:00Z"><TotalTimeSeconds>2</TotalTimeSeconds>
   <DistanceMeters>6</DistanceMeters><Track>
   <Trackpoint><Time>2026-04-01T07:00:00Z</Time><DistanceMeters>0</DistanceMeters></Trackpoint>
   <Trackpoint><Time>2026-04-01T07:00:01Z</Time><DistanceMeters>3</DistanceMeters></Trackpoint>
   <Trackpoint><Time>2026-04-01T07:00:02Z</Time><DistanceMeters>6</DistanceMeters></Trackpoint>
  </Track></Lap></Activity></Activities>
</TrainingCenterDatabase>
"""


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows(lake: Path, sql: str) -> list[dict[str, Any]]:
    return list(run_query(lake, sql).to_pylist())


def by_source(summary: IngestSummary) -> dict[str, Any]:
    return {o.source_path: o for o in summary.outcomes}


def committed_parts(lake: Path) -> int:
    return len(list((lake / "files").rglob("*.parquet")))


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources whose FIT records ingest decodes."""
    seen: list[str] = []
    real = _ingest.decode_fit

    def counting(data: bytes, **kw: Any) -> Any:
        seen.append(str(kw.get("source")))
        return real(data, **kw)

    monkeypatch.setattr(_ingest, "decode_fit", counting)
    return seen


# -- the Garmin Connect export ----------------------------------------------------------------


@pytest.mark.parametrize("downloaded", [True, False], ids=["zip", "unzipped"])
def test_garmin_export_generated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, downloaded: bool
) -> None:
    runs = [run_fit(i) for i in range(3)]
    mon = monitoring_fit()
    gpx = (FIXTURES / "easy-tpx-v1.gpx").read_bytes()
    uploaded = {
        "anna_1001.fit": runs[0],
        "anna_1002.FIT": runs[1],  # any letter case
        "anna_1003.fit": mon,
        "anna_1004.gpx": gpx,
        "anna_1005.fit": runs[0],  # uploaded twice: the same content
    }
    export = {
        UPLOADED: zip_bytes(uploaded),
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part2.zip": zip_bytes(
            {"anna_2001.fit": runs[2]}, zipfile.ZIP_STORED
        ),
        "DI_CONNECT/DI-Connect-Fitness/anna_0_summarizedActivities.json": b"[]",
        "DI_CONNECT/DI-Connect-Wellness/anna_sleepData.json": b"[]",
        "__MACOSX/DI_CONNECT/._UploadedFiles_0-_Part1.zip": b"\x00\x05\x16\x07junk",
    }
    if downloaded:
        target = tmp_path / "garmin.zip"
        target.write_bytes(zip_bytes(export))
        prefix = f"{target}!/DI_CONNECT/DI-Connect-Uploaded-Files/"
    else:
        target = tmp_path / "garmin"
        for name, data in export.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(data)
        prefix = f"{target}/DI_CONNECT/DI-Connect-Uploaded-Files/"
    decoded = count_decodes(monkeypatch)
    lake = tmp_path / "lake"
    summary = ingest_paths([target], lake_root=lake, athlete="anna")
    part1 = prefix + "UploadedFiles_0-_Part1.zip!/"
    want = {
        part1 + "anna_1001.fit": ("new", sha(runs[0])),
        part1 + "anna_1002.FIT": ("new", sha(runs[1])),
        part1 + "anna_1003.fit": ("skipped", sha(mon)),
        part1 + "anna_1004.gpx": ("new", sha(gpx)),
        part1 + "anna_1005.fit": ("present", sha(runs[0])),
        prefix + "UploadedFiles_0-_Part2.zip!/anna_2001.fit": ("new", sha(runs[2])),
    }
    got = {k: (o.status, o.file_sha256) for k, o in by_source(summary).items()}
    assert got == want
    # the monitoring file was skipped by its type: its records were never decoded
    assert len(decoded) == 3
    assert not any("anna_1003" in s for s in decoded)
    files = rows(lake, "select source_path, file_sha256, status from files order by 1")
    assert [(r["source_path"], r["file_sha256"]) for r in files] == sorted(
        (k, v[1]) for k, v in want.items() if v[0] != "present"
    )
    errors = rows(lake, "select source_path, severity, message from ingest_errors")
    assert errors == [
        {
            "source_path": part1 + "anna_1003.fit",
            "severity": "skipped",
            "message": "NotAnActivity: FIT file type 'monitoring_b' holds no activity",
        }
    ]
    tallies = {t.archive: t for t in summary.archives()}
    if downloaded:
        # JSON (2) and macOS junk (1) passed over; 6 watch files in the two nested zips
        (t,) = tallies.values()
        assert (t.members, t.new, t.present, t.skipped, t.errors, t.passed_over) == (
            6,
            4,
            1,
            1,
            0,
            3,
        )
    else:
        p1 = tallies[str(target / UPLOADED)]
        assert (p1.members, p1.new, p1.present, p1.skipped, p1.passed_over) == (5, 3, 1, 1, 0)
        assert summary.found is not None
        assert summary.found.passed_over == 2
    # an export ingested twice gives each run once
    parts = committed_parts(lake)
    again = ingest_paths([target], lake_root=lake, athlete="anna")
    assert {o.status for o in again.outcomes} == {"present"}
    assert len(again.outcomes) == 6
    assert committed_parts(lake) == parts
    assert rows(lake, "select count(*) n from runs") == [{"n": 4}]  # 3 FIT, 1 GPX


# -- the Strava export ------------------------------------------------------------------------


def strava_export(folder: Path) -> dict[str, bytes]:
    """Strava's layout: activities/<id>.<fmt>[.gz], activities.csv, media, other CSVs."""
    gpx1 = (FIXTURES / "easy-tpx-v1.gpx").read_bytes()
    gpx2 = (FIXTURES / "pause-two-segments.gpx").read_bytes()
    fit1, fit2 = run_fit(10), run_fit(11)
    members = {
        "activities/101.fit.gz": gzip.compress(fit1),
        "activities/102.gpx": gpx1,
        "activities/103.gpx.gz": gzip.compress(gpx2),
        "activities/104.tcx.gz": gzip.compress(TCX),
        "activities/105.fit": fit2,
        "activities.csv": b"Activity ID,Filename\n101,activities/101.fit.gz\n",
        "media/abc.jpg": b"\xff\xd8\xff\xe0 not really a jpeg",
        "profile.csv": b"a,b\n",
    }
    for name, data in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return {"101": fit1, "102": gpx1, "103": gpx2, "104": TCX, "105": fit2}


@pytest.mark.parametrize("downloaded", [True, False], ids=["zip", "unzipped"])
def test_strava_export_generated(tmp_path: Path, downloaded: bool) -> None:
    folder = tmp_path / "export_123"
    content = strava_export(folder)
    target = folder
    if downloaded:
        target = Path(shutil.make_archive(str(tmp_path / "export_123"), "zip", folder))
        shutil.rmtree(folder)
    sep = "!/" if downloaded else "/"
    lake = tmp_path / "lake"
    summary = ingest_paths([target], lake_root=lake, athlete="anna")
    names = {"101": "101.fit.gz", "102": "102.gpx", "103": "103.gpx.gz", "104": "104.tcx.gz"}
    names["105"] = "105.fit"
    got = by_source(summary)
    assert len(got) == 5
    for key, name in names.items():
        o = got[f"{target}{sep}activities/{name}"]
        assert o.file_sha256 == sha(content[key]), name  # identity: the bytes inside
        tcx_pending = key == "104" and not TCX_DECODER
        assert o.status == ("error" if tcx_pending else "new"), o
    if not TCX_DECODER:  # sniffed as XML and handed to the GPX decoder, which says so
        assert "TrainingCenterDatabase" in got[f"{target}{sep}activities/104.tcx.gz"].message
    assert summary.found is not None
    assert summary.found.passed_over == 3
    # 2 FIT and 2 GPX runs, and the TCX run once it is decoded
    assert rows(lake, "select count(*) n from runs") == [{"n": 5 if TCX_DECODER else 4}]
    again = ingest_paths([target], lake_root=lake, athlete="anna")
    assert {o.status for o in again.outcomes} == {"present"}


@requires_corpus
@pytest.mark.corpus
def test_real_strava_export_as_is_then_zipped(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    inner = gzip.decompress((EXPORT / "activities" / "12866632127.fit.gz").read_bytes())
    others = sum(1 for p in EXPORT.rglob("*") if p.is_file()) - 1
    first = ingest_paths([EXPORT], lake_root=lake, athlete="m")
    (o,) = first.outcomes
    assert o.source_path == f"{EXPORT}/activities/12866632127.fit.gz"
    assert o.status in ("new", "warning")
    assert o.file_sha256 == sha(inner)
    assert first.found is not None
    assert first.found.passed_over == others
    run = rows(lake, "select sport, distance_m from activities")
    assert len(run) == 1
    assert run[0]["sport"] == "running"
    # the same export as downloaded: a zip, its member already in the lake
    packed = Path(shutil.make_archive(str(tmp_path / "strava"), "zip", EXPORT.parent, EXPORT.name))
    second = ingest_paths([packed], lake_root=lake, athlete="m")
    (p,) = second.outcomes
    assert p.source_path == f"{packed}!/{EXPORT.name}/activities/12866632127.fit.gz"
    assert (p.status, p.file_sha256, p.archive) == ("present", sha(inner), str(packed))
    (t,) = second.archives()
    assert (t.members, t.present, t.passed_over) == (1, 1, others)
    fresh = ingest_paths([packed], lake_root=tmp_path / "lake2", athlete="m")
    assert [o.status for o in fresh.outcomes] == [o.status]


def corpus_fit(part: str) -> bytes:
    (path,) = [p for p in FIT_DIR.iterdir() if part in p.name]
    return path.read_bytes()


@requires_corpus
@pytest.mark.corpus
def test_garmin_export_of_real_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    activities = ["garmin-fenix-5-run.fit", "activity-small-fenix2-run.fit", "fr935_karaul"]
    others = {  # a Garmin export's non-activity FIT files, by type
        "MonitoringFile.fit": "monitoring_b",
        "monitor__78TH1430.FIT": "monitoring_b",
        "sleep__S3F00000.FIT": "49",
        "tests__files__Settings.fit": "settings",
        "WorkoutRepeatSteps.fit": "workout",
        "totals__TOTALS.FIT": "totals",
    }
    tcx = sorted(TCX_DIR.glob("*.tcx"))[0].read_bytes()
    uploaded = {f"u_{i}.fit": corpus_fit(p) for i, p in enumerate(activities)}
    uploaded |= {f"u_{p.split('.')[0]}.fit": corpus_fit(p) for p in others}
    uploaded["u_track.tcx"] = tcx
    export = tmp_path / "garmin.zip"
    export.write_bytes(zip_bytes({UPLOADED: zip_bytes(uploaded), "DI_CONNECT/x.json": b"{}"}))
    decoded = count_decodes(monkeypatch)
    lake = tmp_path / "lake"
    summary = ingest_paths([export], lake_root=lake, athlete="g")
    got = by_source(summary)
    assert len(got) == len(uploaded)
    assert len(decoded) == len(activities)  # the others: file_id read, records never decoded
    base = f"{export}!/{UPLOADED}!/"
    for i in range(len(activities)):
        assert got[f"{base}u_{i}.fit"].status in ("new", "warning")
    skipped = rows(
        lake, "select source_path, message from ingest_errors where severity = 'skipped'"
    )
    assert {r["source_path"]: r["message"] for r in skipped} == {
        f"{base}u_{p.split('.')[0]}.fit": f"NotAnActivity: FIT file type '{t}' holds no activity"
        for p, t in others.items()
    }
    assert got[f"{base}u_track.tcx"].file_sha256 == sha(tcx)
    # the FIT runs, and the TCX (a Polar M400 run) once TCX is decoded
    assert rows(lake, "select count(*) n from runs") == [
        {"n": len(activities) + (1 if TCX_DECODER else 0)}
    ]


@requires_corpus
@pytest.mark.corpus
def test_real_tcx_gz_and_tcx_in_a_zip(tmp_path: Path) -> None:
    gz = next(TCX_DIR.glob("*.tcx.gz"))
    plain = sorted(TCX_DIR.glob("*.tcx"))[1]
    packed = tmp_path / "tcx.zip"
    packed.write_bytes(zip_bytes({"old/run.TCX": plain.read_bytes()}))
    summary = ingest_paths([gz, packed], lake_root=tmp_path / "lake", athlete="t")
    got = by_source(summary)
    assert got[str(gz)].file_sha256 == sha(gzip.decompress(gz.read_bytes()))
    assert got[f"{packed}!/old/run.TCX"].file_sha256 == sha(plain.read_bytes())
    if not TCX_DECODER:
        assert all("TrainingCenterDatabase" in o.message for o in summary.outcomes)


# -- hostile archives -------------------------------------------------------------------------


def ingest_twice(paths: list[Path], lake: Path, **kw: Any) -> dict[str, Any]:
    """Ingest, check that a second run finds everything present, return the first outcomes."""
    first = ingest_paths(paths, lake_root=lake, athlete="h", **kw)
    parts = committed_parts(lake)
    second = ingest_paths(paths, lake_root=lake, athlete="h", **kw)
    assert {o.status for o in second.outcomes} == {"present"}, second.outcomes
    assert committed_parts(lake) == parts
    return by_source(first)


def test_zip_slip_names_are_refused_and_the_rest_goes_on(tmp_path: Path) -> None:
    good = run_fit(1)
    z = tmp_path / "slip.zip"
    z.write_bytes(
        zip_bytes(
            {
                "../../evil.fit": good,
                "/etc/evil.fit": run_fit(2),
                "C:\\Windows\\evil.fit": run_fit(3),
                "a/../../evil.gpx": b"<gpx/>",
                "ok/run.fit": good,
            }
        )
    )
    names = [i.filename for i in zipfile.ZipFile(z).infolist()]
    got = ingest_twice([z], tmp_path / "lake")
    assert got[f"{z}!/ok/run.fit"].status == "new"
    for name in names[:4]:
        o = got[f"{z}!/{name}"]
        assert o.status == "error"
        assert "(zip slip): not read" in o.message
        assert o.message.startswith("ArchiveError: member name")
    assert not (tmp_path / "evil.fit").exists()
    assert not Path("/etc/evil.fit").exists()
    errors = rows(tmp_path / "lake", "select stage, message from ingest_errors")
    assert len(errors) == 4
    assert {e["stage"] for e in errors} == {"read"}


def write_bomb(path: Path, name: str, size: int) -> None:
    """A zip whose member inflates to ``size`` zero bytes, written in chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open(name, "w") as f:
        for _ in range(size // 2**20):
            f.write(bytes(2**20))


def test_bombs_are_refused_without_being_held_in_memory(tmp_path: Path) -> None:
    limit = 2**20
    write_bomb(tmp_path / "bomb.zip", "bomb.fit", 64 * 2**20)
    with gzip.open(tmp_path / "bomb.fit.gz", "wb") as g:
        for _ in range(64):
            g.write(bytes(2**20))
    with zipfile.ZipFile(tmp_path / "big.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ok.fit", run_fit(4))
        z.writestr("big.gpx", b"<gpx>" + b" " * (3 * 2**20))  # declared too big: not read
    paths = [tmp_path / "bomb.zip", tmp_path / "bomb.fit.gz", tmp_path / "big.zip"]
    tracemalloc.start()
    try:
        got = ingest_twice(paths, tmp_path / "lake", max_file_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * limit  # 64 MiB bombs, 1 MiB limit: ~4.5 MiB seen (the lake included)
    zip_bomb = got[f"{tmp_path / 'bomb.zip'}!/bomb.fit"]
    assert zip_bomb.status == "error"
    assert zip_bomb.message == (
        "InputTooLarge: 67,108,864 bytes once decompressed, more than 1 MiB "
        "(ingest.max_file_bytes): refused, not read"
    )
    gz_bomb = got[str(tmp_path / "bomb.fit.gz")]
    assert gz_bomb.message == (
        "InputTooLarge: inflates past 1 MiB (ingest.max_file_bytes): refused, not read further "
        "(a decompression bomb?)"
    )
    assert got[f"{tmp_path / 'big.zip'}!/big.gpx"].message.startswith("InputTooLarge: 3,145,733")
    assert got[f"{tmp_path / 'big.zip'}!/ok.fit"].status == "new"
    # known by their bytes as stored: a gzip file's own bytes
    assert gz_bomb.file_sha256 == sha((tmp_path / "bomb.fit.gz").read_bytes())
    assert len(rows(tmp_path / "lake", "select * from ingest_errors")) == 3


def patch_member_flags(data: bytes, name: str, flags: int) -> bytes:
    """Set general-purpose flag bits of a member in its local and central headers."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    struct.pack_into("<H", out, info.header_offset + 6, info.flag_bits | flags)
    pos = data.find(b"PK\x01\x02")
    while pos != -1:  # the central directory records
        (n,) = struct.unpack_from("<H", data, pos + 28)
        if data[pos + 46 : pos + 46 + n].decode() == name:
            struct.pack_into("<H", out, pos + 8, info.flag_bits | flags)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def test_encrypted_and_corrupt_members_are_reported_the_rest_goes_on(tmp_path: Path) -> None:
    a, b, c = run_fit(5), run_fit(6), run_fit(7)
    data = zip_bytes({"a.fit": a, "locked.fit": b, "broken.fit": c, "z.gpx": b"<gpx>"})
    data = patch_member_flags(data, "locked.fit", 0x1)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo("broken.fit")
    damaged = bytearray(data)
    start = info.header_offset + 30 + len("broken.fit") + 40
    damaged[start : start + 200] = bytes(200)  # zeros in the middle of its deflate stream
    z = tmp_path / "mixed.zip"
    z.write_bytes(bytes(damaged))
    got = ingest_twice([z], tmp_path / "lake")
    assert got[f"{z}!/a.fit"].status == "new"
    assert got[f"{z}!/locked.fit"].message == (
        "ArchiveError: encrypted (password-protected) member: not read"
    )
    broken = got[f"{z}!/broken.fit"]
    assert broken.status == "error"
    assert broken.message.startswith("ArchiveError: archive member: ")
    assert got[f"{z}!/z.gpx"].status == "error"  # read fine, not a valid GPX: decoded
    assert "GpxError" in got[f"{z}!/z.gpx"].message


def test_what_is_not_an_archive_or_not_read_is_said_in_one_line(tmp_path: Path) -> None:
    good = zip_bytes({"r.fit": run_fit(8)})
    (tmp_path / "fake.zip").write_bytes(b"this is not a zip archive at all")
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])
    (tmp_path / "cut.fit.gz").write_bytes(gzip.compress(run_fit(9))[:-300])
    (tmp_path / "plain.fit.gz").write_bytes(run_fit(9))  # named .gz, not gzipped
    (tmp_path / "history.tar.gz").write_bytes(gzip.compress(b"tar"))
    (tmp_path / "history.7z").write_bytes(b"7z\xbc\xaf\x27\x1c")
    (tmp_path / "fine.fit.gz").write_bytes(gzip.compress(run_fit(10)))
    got = ingest_twice([tmp_path], tmp_path / "lake")
    msg = {Path(k).name: o.message for k, o in got.items()}
    assert msg["fake.zip"] == ("ArchiveError: not a readable zip archive: File is not a zip file")
    assert msg["cut.zip"].startswith("ArchiveError: not a readable zip archive")
    assert msg["cut.fit.gz"].startswith("ArchiveError: gzip file: truncated")
    assert msg["plain.fit.gz"].startswith("ArchiveError: gzip file: Not a gzipped file")
    assert msg["history.tar.gz"] == (
        "ArchiveError: tar.gz archives are not read: unpack it, or repack it as .zip"
    )
    assert msg["history.7z"] == (
        "ArchiveError: 7z archives are not read: unpack it, or repack it as .zip"
    )
    assert got[str(tmp_path / "fine.fit.gz")].status == "new"
    # each rejected file is one row, known by its own bytes
    errors = rows(tmp_path / "lake", "select source_path, file_sha256 from ingest_errors")
    assert len(errors) == 6
    for e in errors:
        assert e["file_sha256"] == sha(Path(e["source_path"]).read_bytes())


def test_thousands_of_tiny_members(tmp_path: Path) -> None:
    members = {f"m/{i:05d}.fit": b"x" + i.to_bytes(4, "little") for i in range(3000)}
    members |= {f"j/{i}.json": b"{}" for i in range(2000)}
    members["run.fit"] = run_fit(11)
    z = tmp_path / "many.zip"
    z.write_bytes(zip_bytes(members))
    t0 = time.perf_counter()
    summary = ingest_paths([z], lake_root=tmp_path / "lake", athlete="h")
    took = time.perf_counter() - t0
    (t,) = summary.archives()
    assert (t.members, t.new, t.errors, t.passed_over) == (3001, 1, 3000, 2000)
    assert took < 60  # one archive opened once, not once per member
    assert all("not a FIT file" in o.message for o in summary.outcomes if o.status == "error")


def test_an_archive_announcing_too_many_members_is_not_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_archives, "MAX_MEMBERS", 100)
    z = tmp_path / "crowd.zip"
    z.write_bytes(zip_bytes({f"{i}.fit": b"x" for i in range(150)}))
    (tmp_path / "fine.zip").write_bytes(zip_bytes({f"{i}.fit": b"x" for i in range(100)}))
    got = ingest_twice([z, tmp_path / "fine.zip"], tmp_path / "lake")
    assert got[str(z)].message == (
        "ArchiveError: 150 members, more than 100: refused, not listed (a zip bomb?)"
    )
    assert len(got) == 101


def test_nesting_is_limited(tmp_path: Path) -> None:
    data = zip_bytes({"deep.fit": run_fit(12)})
    for level in range(MAX_NESTING + 1):  # deep.fit inside MAX_NESTING + 2 zips
        data = zip_bytes({f"level{level}.zip": data})
    ok = zip_bytes({"a.zip": zip_bytes({"b.zip": zip_bytes({"run.fit": run_fit(13)})})})
    (tmp_path / "deep.zip").write_bytes(data)
    (tmp_path / "ok.zip").write_bytes(ok)
    got = ingest_twice([tmp_path], tmp_path / "lake")
    assert got[f"{tmp_path / 'ok.zip'}!/a.zip!/b.zip!/run.fit"].status == "new"
    (deep,) = [o for k, o in got.items() if "deep.zip" in k]
    assert deep.source_path.count("!/") == MAX_NESTING
    assert deep.message == (
        f"ArchiveError: zip archives nested more than {MAX_NESTING} deep: not opened"
    )


def test_a_nested_zip_bomb_and_overlapping_members_are_refused(tmp_path: Path) -> None:
    inner = zip_bytes({"zeros.fit": bytes(8 * 2**20)}, zipfile.ZIP_STORED)
    (tmp_path / "ratio.zip").write_bytes(zip_bytes({"inner.zip": inner, "r.fit": run_fit(14)}))
    two = zip_bytes({"a.fit": run_fit(15), "b.fit": run_fit(16)})
    with zipfile.ZipFile(io.BytesIO(two)) as z:
        a, b = z.getinfo("a.fit"), z.getinfo("b.fit")
    overlap = bytearray(two)
    cd = overlap.rfind(b"PK\x01\x02")  # b's central record: point it at a's data
    assert overlap[cd + 46 : cd + 51] == b"b.fit"
    struct.pack_into("<I", overlap, cd + 42, a.header_offset + 10)
    assert b.header_offset > 0
    (tmp_path / "overlap.zip").write_bytes(bytes(overlap))
    got = ingest_twice([tmp_path], tmp_path / "lake")
    ratio = got[f"{tmp_path / 'ratio.zip'}!/inner.zip"]
    assert ratio.message.startswith("ArchiveError: nested archive 'inner.zip' inflates ")
    assert ratio.message.endswith("(more than 100): refused (a zip bomb?)")
    assert got[f"{tmp_path / 'ratio.zip'}!/r.fit"].status == "new"
    assert got[str(tmp_path / "overlap.zip")].message == (
        "ArchiveError: members overlap each other (a zip bomb?): refused"
    )


def test_mutated_archives_give_an_outcome_per_input_never_a_bug(tmp_path: Path) -> None:
    """Truncated, bit-flipped and zeroed archives (a zip in a zip, a .gz member): every
    input ends as an outcome that names the problem, none as an internal error."""
    gpx = (FIXTURES / "easy-tpx-v1.gpx").read_bytes()
    nested = zip_bytes({"b.fit.gz": gzip.compress(run_fit(2, minutes=1)), "c.gpx": gpx})
    base = zip_bytes({"a.fit": run_fit(1, minutes=1), "n.zip": nested, "d.json": b"{}"})
    rng = random.Random(14)
    lake = Lake(tmp_path / "lake")
    statuses: set[str] = set()
    for i in range(90):
        data = bytearray(base)
        if i % 3 == 0:
            del data[rng.randrange(len(data)) :]
        elif i % 3 == 1:
            for _ in range(5):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        else:
            at = rng.randrange(len(data))
            data[at : at + 64] = bytes(len(data[at : at + 64]))
        path = tmp_path / f"m{i}.zip"
        path.write_bytes(bytes(data))
        found = find_inputs([path])
        assert found.inputs, i  # at least the archive itself, when it cannot be opened
        with ArchiveReader() as reader:
            for inp in found.inputs:
                outcome, _ = _ingest.prepare_file(lake, inp, "f", reader=reader)
                assert outcome.message.split(":")[0] != _ingest.INTERNAL_ERROR, outcome
                assert outcome.status == "new" or outcome.message, outcome
                statuses.add(outcome.status)
    assert {"new", "error"} <= statuses


def test_macos_junk_and_other_files_are_passed_over_silently(tmp_path: Path) -> None:
    (tmp_path / "in" / "__MACOSX").mkdir(parents=True)
    (tmp_path / "in" / "__MACOSX" / "._run.fit").write_bytes(b"\x00\x05\x16\x07")
    (tmp_path / "in" / "._run.fit").write_bytes(b"\x00\x05\x16\x07")
    (tmp_path / "in" / "run.fit").write_bytes(run_fit(17))
    (tmp_path / "in" / "notes.txt").write_text("x")
    (tmp_path / "in" / "a.zip").write_bytes(
        zip_bytes({"__MACOSX/._x.fit": b"\x00\x05", "x/._y.gpx": b"\x00", "x/y.fit": run_fit(18)})
    )
    summary = ingest_paths([tmp_path / "in"], lake_root=tmp_path / "lake", athlete="h")
    assert sorted(Path(o.source_path).name for o in summary.outcomes) == ["run.fit", "y.fit"]
    assert {o.status for o in summary.outcomes} == {"new"}
    assert summary.found is not None
    assert summary.found.passed_over == 4
    assert rows(tmp_path / "lake", "select count(*) n from ingest_errors") == [{"n": 0}]


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "huge.gpx"
    big.write_bytes(b"<gpx>" + b" " * (2 * 2**20))
    got = ingest_twice([big], tmp_path / "lake", max_file_bytes=2**20)
    assert got[str(big)].message.startswith("InputTooLarge: 2,097,157 bytes")
    assert got[str(big)].file_sha256 == sha(big.read_bytes())


# -- reading: streams, nested zips, workers ---------------------------------------------------


def test_names_are_classified_and_checked() -> None:
    assert classify("activities/1.FIT.GZ") == "watch"
    assert classify("x.tcx") == "watch"
    assert classify("a/b.Zip") == "zip"
    assert classify("x.tar.gz") == classify("x.tgz") == classify("x.7z") == "unsupported"
    assert classify("x.json.gz") == classify("x.json") == "other"
    assert classify("__MACOSX/x.fit") == classify("a/._x.fit") == "other"
    assert unsafe_name("a/b.fit") is None
    assert unsafe_name("a/../../b.fit") == "climbs out with '..'"
    assert unsafe_name("..\\b.fit") == "climbs out with '..'"
    assert unsafe_name("/b.fit") == unsafe_name("c:/b.fit") == "is an absolute path"
    assert unsafe_name("a\nb.fit") == "has control characters"


def test_an_input_pickles_small_and_is_read_again_elsewhere(tmp_path: Path) -> None:
    data = run_fit(19)
    z = tmp_path / "e.zip"
    z.write_bytes(zip_bytes({"n.zip": zip_bytes({"x/r.fit.gz": gzip.compress(data)})}))
    (inp,) = find_inputs([z]).inputs
    assert inp.source_path == f"{z}!/n.zip!/x/r.fit.gz"
    assert inp.members == (Member("n.zip", 0), Member("x/r.fit.gz", 0))
    blob = pickle.dumps(inp)
    assert len(blob) < 400
    copy = pickle.loads(blob)
    assert copy == inp
    with ArchiveReader() as reader:
        assert reader.read(copy) == data
        assert reader.sha256(copy) == sha(data)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=str)
def test_a_nested_zip_is_streamed_not_inflated_per_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: int
) -> None:
    members = {f"f{i:03d}.fit": run_fit(i % 7, minutes=1) + bytes([i]) for i in range(200)}
    z = tmp_path / "outer.zip"
    z.write_bytes(zip_bytes({"inner.zip": zip_bytes(members)}, method))
    opened: list[int] = []
    real_init: Callable[..., None] = _archives._Inflated.__init__

    def init(self: Any, open_member: Callable[[], Any], size: int) -> None:
        def counted() -> Any:
            opened.append(size)
            return open_member()

        real_init(self, counted, size)

    monkeypatch.setattr(_archives._Inflated, "__init__", init)
    monkeypatch.setattr(_archives, "_TAIL", 64 * 1024)  # less than the inner zip's size
    inputs = find_inputs([z]).inputs
    with ArchiveReader() as reader:
        got = {i.members[-1].name: reader.read(i) for i in inputs}
    assert got == members
    # stored: a window on the outer file, nothing inflated. Deflated: inflated to its end
    # for the central directory when listed (1) and when read (2), then once in order (3)
    assert len(opened) == (0 if method == zipfile.ZIP_STORED else 3)


def test_a_reader_kept_from_batch_to_batch_goes_on_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill worker keeps its reader: its next batch of a compressed nested zip's
    members does not inflate the zip again from the start."""
    members = {f"f{i:03d}.fit": run_fit(i, minutes=1) for i in range(40)}
    z = tmp_path / "outer.zip"
    z.write_bytes(zip_bytes({"inner.zip": zip_bytes(members)}))
    opened: list[int] = []
    real_open = _archives._Inflated._forward_to

    def forward_to(self: Any, target: int) -> None:
        if self._stream is None or self._at > target:
            opened.append(target)
        real_open(self, target)

    monkeypatch.setattr(_archives._Inflated, "_forward_to", forward_to)
    monkeypatch.setattr(_archives, "_TAIL", 16 * 1024)  # less than the inner zip's size
    inputs = find_inputs([z]).inputs
    opened.clear()
    lake = Lake(tmp_path / "lake")
    batches = [inputs[i : i + 10] for i in range(0, 40, 10)]
    with ArchiveReader() as kept:
        for batch in batches[::2]:  # one worker's batches: 1st, 3rd
            outcomes = _ingest.ingest_files(batch, lake=lake, athlete="w", reader=kept)
            assert {o.status for o in outcomes} == {"new"}
    assert len(opened) == 2  # the central directory at the end, then the members in order
    opened.clear()
    for batch in batches[1::2]:  # a fresh reader per batch: each inflates from the start
        _ingest.ingest_files(batch, lake=lake, athlete="w")
    assert len(opened) == 4


def test_progress_counts_archive_members(tmp_path: Path) -> None:
    z = tmp_path / "p.zip"
    z.write_bytes(zip_bytes({f"{i}.fit": run_fit(i) for i in range(4)} | {"a.json": b"{}"}))
    seen: list[tuple[int, int]] = []
    ingest_paths(
        [z], lake_root=tmp_path / "lake", athlete="h", progress=lambda d, t, _: seen.append((d, t))
    )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


# -- the nightly scan ---------------------------------------------------------------------------


def test_scan_costs_one_stat_for_an_unchanged_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    z = inbox / "export.zip"
    runs = [run_fit(i) for i in range(5)]
    z.write_bytes(zip_bytes({UPLOADED: zip_bytes({f"{i}.fit": r for i, r in enumerate(runs)})}))
    lake = Lake(tmp_path / "lake")
    hashed: list[str] = []
    real_sha = ArchiveReader.sha256

    def counting(self: ArchiveReader, inp: InputFile) -> str:
        hashed.append(inp.source_path)
        return real_sha(self, inp)

    monkeypatch.setattr(ArchiveReader, "sha256", counting)
    first = scan_inputs([inbox], lake=lake, athlete="s")
    assert (first.found, len(first.todo), len(hashed)) == (5, 5, 5)  # each member hashed once
    ingest_paths([inbox], lake_root=lake, athlete="s")

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("an unchanged archive was opened")

    monkeypatch.setattr(ArchiveReader, "zip_at", refuse)
    hashed.clear()
    again = scan_inputs([inbox], lake=lake, athlete="s")
    assert (again.found, again.todo, again.present, hashed) == (5, [], 5, [])
    (t,) = again.archive_tallies([])
    assert (t.members, t.present) == (5, 5)
    monkeypatch.undo()
    # a new export replaces it: listed and hashed again, only the new run is to do
    extra = run_fit(9)
    z.write_bytes(
        zip_bytes({UPLOADED: zip_bytes({f"{i}.fit": r for i, r in enumerate([*runs, extra])})})
    )
    third = scan_inputs([inbox], lake=lake, athlete="s")
    assert [i.source_path for i in third.todo] == [f"{z}!/{UPLOADED}!/5.fit"]


def test_scan_keeps_refused_members_quiet_after_their_first_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_bomb(inbox / "b.zip", "b.fit", 3 * 2**20)
    lake = Lake(tmp_path / "lake")
    first = scan_inputs([inbox], lake=lake, athlete="s", max_file_bytes=2**20)
    assert len(first.todo) == 1
    ingest_paths([inbox], lake_root=lake, athlete="s", max_file_bytes=2**20)
    again = scan_inputs([inbox], lake=lake, athlete="s", max_file_bytes=2**20)
    assert (again.found, again.todo) == (1, [])


# -- the command --------------------------------------------------------------------------------


def test_cli_says_when_there_is_nothing_to_ingest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text("{}")
    (tmp_path / "in" / "b.zip").write_bytes(zip_bytes({"c.csv": b"x"}))
    code = main(["ingest", str(tmp_path / "in"), "--lake", str(tmp_path / "lake")])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines() == [
        f" archive  {tmp_path / 'in' / 'b.zip'}: 0 watch files: 0 new, 0 already present, "
        "0 skipped, 0 errors; 1 other files passed over",
        f"{tmp_path / 'in'}: no watch files found (.fit, .gpx or .tcx files (also .gz, or in "
        ".zip archives)); 2 other files passed over",
    ]
    assert not (tmp_path / "lake").exists()


def test_cli_prints_a_line_per_archive_and_its_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    z = tmp_path / "e.zip"
    z.write_bytes(zip_bytes({"a.fit": run_fit(1), "m.fit": monitoring_fit(), "bad.fit": b"x"}))
    code = main(["ingest", str(z), "--lake", str(tmp_path / "lake")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines == [
        f"   error  {z}!/bad.fit: FitHeaderError: not a FIT file (no '.FIT' signature in the "
        "header) at byte 0",
        f" archive  {z}: 3 watch files: 1 new, 0 already present, 1 skipped, 1 errors",
        "3 files: 1 new (1 activities), 0 already present, 1 skipped, 0 with warnings, 1 errors",
    ]


def test_backfill_takes_an_exports_zip_or_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flow itself is tested in tests/flows; here only what the command checks first."""
    assert main(["backfill", str(tmp_path / "export.zip"), "--lake", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == f"runlake: error: no such file or folder: {tmp_path / 'export.zip'}\n"
