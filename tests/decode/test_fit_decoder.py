"""The columnar FIT decoder (runlake.decode._fit): crafted files with known values, and
its fast paths (stretches taken at once, small messages decoded in Python, merged
definitions) against its plain paths on the same bytes."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from runlake._errors import FitCRCError, FitDefinitionError, FitHeaderError, FitTruncatedError
from runlake.decode import FIT_EPOCH_S, _fit, decode_fit
from runlake.synth import FitWriter, encode_messages

from ..conftest import FIT_DIR, corpus_available
from .conftest import T0, UINT8, UINT16, UINT32, definition, fit_file, utc

RECORD, GPS_METADATA = 20, 160
# The record definition most tests use: timestamp, heart_rate.
TS_HR = definition(0, RECORD, [(253, 4, UINT32), (3, 1, UINT8)])


def ts_hr(header: int, t: int, hr: int) -> bytes:
    return bytes((header,)) + struct.pack("<IB", t, hr)


def decode_both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[_fit.FitFile, _fit.FitFile]:
    """Decoded with the fast paths, and without: every message walked one by one, every
    column decoded with numpy one field at a time."""
    fast = decode_fit(data)
    with monkeypatch.context() as m:
        m.setattr(_fit, "_GALLOP_AFTER", 10**9)
        m.setattr(_fit, "_TINY", 0)
        m.setattr(_fit, "_SMALL", 0)
        plain = decode_fit(data)
    return fast, plain


def assert_same(a: _fit.FitFile, b: _fit.FitFile) -> None:
    assert a.messages.keys() == b.messages.keys()
    for name, table in a.messages.items():
        other = b.messages[name]
        assert table.column_names == other.column_names, name
        for col in table.column_names:
            assert table[col].type == other[col].type, f"{name}.{col}"
            assert table[col].to_pylist() == other[col].to_pylist(), f"{name}.{col}"
    assert a.problems == b.problems


# -- stretches taken at once --------------------------------------------------------------


def test_alternating_records_and_gps_are_all_decoded_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = 500
    t = 1_100_000_000 + np.arange(n)
    rec = encode_messages(
        "record", {"timestamp": t + FIT_EPOCH_S, "heart_rate": 100 + np.arange(n) % 90}, local=0
    )
    gps = encode_messages(
        "gps_metadata", {"timestamp": t + FIT_EPOCH_S, "heading": np.arange(n) % 360}, local=1
    )
    w = FitWriter()
    for i in range(n):  # record, gps, record, gps... with a lone gps every 100
        w.write(rec, i, i + 1)
        w.write(gps, i, i + 1)
        if i % 100 == 50:
            w.write(gps, i, i + 1)
    data = w.to_bytes()
    fast, plain = decode_both(data, monkeypatch)
    assert_same(fast, plain)
    records = fast.messages["record"]
    assert records["heart_rate"].to_pylist() == (100 + np.arange(n) % 90).tolist()
    assert records["timestamp"].to_pylist() == [utc(int(x)) for x in t]
    heading = fast.messages["gps_metadata"]["heading"].to_pylist()
    assert len(heading) == n + 5
    assert heading[:3] == [0.0, 1.0, 2.0]
    only = decode_fit(data, messages={"record"})
    assert set(only.messages) == {"record"}
    assert only.messages["record"].equals(records)


def test_a_long_run_of_records_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 5000
    body = [TS_HR, *(ts_hr(0, T0 + i, 60 + i % 150) for i in range(n))]
    fast, plain = decode_both(fit_file(*body), monkeypatch)
    assert_same(fast, plain)
    rec = fast.messages["record"]
    assert rec.num_rows == n
    assert rec["heart_rate"].to_pylist() == [60 + i % 150 for i in range(n)]
    assert rec["timestamp"][n - 1].as_py() == utc(T0 + n - 1)


def test_data_headers_with_reserved_bits_decode_by_their_local_number() -> None:
    body = [TS_HR]
    for i in range(40):
        body.append(ts_hr(0x10 if i % 3 == 0 else 0x00, T0 + i, 70 + i))
    fit = decode_fit(fit_file(*body), on_error="raise")
    assert fit.messages["record"]["heart_rate"].to_pylist() == [70 + i for i in range(40)]


# -- compressed timestamps (walked run by run) ---------------------------------------------


def test_compressed_timestamps_count_from_the_last_full_timestamp() -> None:
    start = T0 - (T0 & 0x1F) + 30  # low 5 bits 30: the offsets roll over after one second
    hr_only = definition(1, RECORD, [(3, 1, UINT8)])
    body = [TS_HR, hr_only]
    # 20 full records first: the fast walk takes them before meeting a compressed header
    body += [ts_hr(0, start - 20 + i, 50 + i) for i in range(20)]
    expected = [start - 20 + i for i in range(20)]
    t = start - 1
    for step in (1, 1, 1, 5, 31):  # a step of 31 seconds: one rollover of the 5-bit offset
        t += step
        body.append(bytes((0x80 | (1 << 5) | (t & 0x1F), 90)))
        expected.append(t)
    t += 1000
    body.append(ts_hr(0, t, 91))  # a full timestamp again
    expected.append(t)
    t += 2
    body.append(bytes((0x80 | (1 << 5) | (t & 0x1F), 92)))
    expected.append(t)
    fit = decode_fit(fit_file(*body), on_error="raise")
    rec = fit.messages["record"]
    assert rec["timestamp"].to_pylist() == [utc(x) for x in expected]
    assert rec["heart_rate"].to_pylist() == [50 + i for i in range(20)] + [90] * 5 + [91, 92]


# -- definitions of one message, merged -----------------------------------------------------


def test_two_definitions_of_records_merge_in_file_order(monkeypatch: pytest.MonkeyPatch) -> None:
    with_speed = definition(1, RECORD, [(253, 4, UINT32), (6, 2, UINT16)])
    body = [TS_HR, with_speed]
    for i in range(30):
        if i % 3 == 2:
            body.append(bytes((1,)) + struct.pack("<IH", T0 + i, 2500 + i))
        else:
            body.append(ts_hr(0, T0 + i, 100 + i))
    fast, plain = decode_both(fit_file(*body), monkeypatch)
    assert_same(fast, plain)
    rec = fast.messages["record"]
    assert rec["timestamp"].to_pylist() == [utc(T0 + i) for i in range(30)]
    assert rec["heart_rate"].to_pylist() == [None if i % 3 == 2 else 100 + i for i in range(30)]
    speed = [(2500 + i) / 1000 if i % 3 == 2 else None for i in range(30)]
    assert rec["speed"].to_pylist() == speed
    assert rec["enhanced_speed"].to_pylist() == speed  # the speed field's component


def test_small_messages_decode_the_same_in_python_and_numpy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from runlake.synth import write_season  # noqa: PLC0415

    paths = write_season(tmp_path, start=datetime(2026, 3, 2).date(), weeks=2)
    for path in paths:
        fast, plain = decode_both(path.read_bytes(), monkeypatch)
        assert_same(fast, plain)
        session = fast.messages["session"]
        assert session.num_rows == 1
        assert session["sport"].to_pylist() == ["running"]


def outcome(data: bytes) -> _fit.FitFile | str:
    try:
        return decode_fit(data)
    except _fit.FitError as e:
        return repr(e)


@pytest.mark.corpus
@pytest.mark.skipif(not corpus_available(), reason="real watch files are not present")
def test_corpus_decodes_the_same_on_fast_and_plain_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    for path in sorted(FIT_DIR.iterdir()):
        data = path.read_bytes()
        fast = outcome(data)
        with monkeypatch.context() as m:
            m.setattr(_fit, "_GALLOP_AFTER", 10**9)
            m.setattr(_fit, "_TINY", 0)
            m.setattr(_fit, "_SMALL", 0)
            plain = outcome(data)
        if isinstance(fast, str) or isinstance(plain, str):
            assert fast == plain, path.name
        else:
            assert_same(fast, plain)


# -- broken files -----------------------------------------------------------------------------


def test_a_truncated_file_keeps_what_came_before_and_names_the_byte() -> None:
    body = [TS_HR, *(ts_hr(0, T0 + i, 80) for i in range(50))]
    data = fit_file(*body)
    cut = 14 + len(TS_HR) + 30 * 6 + 3  # in the middle of the 31st record
    fit = decode_fit(data[:cut])
    assert fit.messages["record"].num_rows == 30
    (problem,) = fit.problems
    assert problem.kind == "FitTruncatedError"
    assert problem.offset == 14 + len(TS_HR) + 30 * 6
    with pytest.raises(FitTruncatedError) as err:
        decode_fit(data[:cut], on_error="raise")
    assert err.value.offset == 14 + len(TS_HR) + 30 * 6


def test_an_undefined_local_message_stops_the_walk_there() -> None:
    body = [TS_HR, ts_hr(0, T0, 80), ts_hr(0, T0 + 1, 81), ts_hr(5, T0 + 2, 82)]
    fit = decode_fit(fit_file(*body))
    assert fit.messages["record"]["heart_rate"].to_pylist() == [80, 81]
    (problem,) = fit.problems
    assert problem.kind == "FitDefinitionError"
    assert problem.offset == 14 + len(TS_HR) + 2 * 6
    with pytest.raises(FitDefinitionError):
        decode_fit(fit_file(*body), on_error="raise")


def test_a_bad_file_crc_is_reported_at_the_crc_and_the_data_kept() -> None:
    data = bytearray(fit_file(TS_HR, ts_hr(0, T0, 80)))
    data[-1] ^= 0xFF
    fit = decode_fit(bytes(data))
    assert fit.messages["record"]["heart_rate"].to_pylist() == [80]
    assert [(p.kind, p.offset) for p in fit.problems] == [("FitCRCError", len(data) - 2)]
    with pytest.raises(FitCRCError):
        decode_fit(bytes(data), on_error="raise")


def test_trailing_garbage_is_a_problem_after_the_last_segment() -> None:
    data = fit_file(TS_HR, ts_hr(0, T0, 80))
    fit = decode_fit(data + b"\x01\x02\x03")
    assert [(p.kind, p.offset) for p in fit.problems] == [("FitHeaderError", len(data))]
    with pytest.raises(FitHeaderError):
        decode_fit(data + b"\x01\x02\x03", on_error="raise")


def test_chained_segments_are_merged() -> None:
    first = fit_file(TS_HR, *(ts_hr(0, T0 + i, 60 + i) for i in range(12)))
    second = fit_file(TS_HR, *(ts_hr(0, T0 + 100 + i, 90 + i) for i in range(3)))
    fit = decode_fit(first + second, on_error="raise")
    assert fit.n_segments == 2
    assert fit.messages["record"]["heart_rate"].to_pylist() == [
        *(60 + i for i in range(12)),
        90,
        91,
        92,
    ]


def test_a_header_announcing_more_data_than_the_file_has_ends_cleanly() -> None:
    data = bytearray(fit_file(TS_HR, *(ts_hr(0, T0 + i, 80) for i in range(10))))
    data[4:8] = (10**9).to_bytes(4, "little")  # data size far past the end
    data[12:14] = b"\0\0"  # header CRC 0: "not computed"
    fit = decode_fit(bytes(data))
    assert fit.messages["record"].num_rows == 10
    assert {p.kind for p in fit.problems} <= {"FitTruncatedError", "FitDefinitionError"}


def test_timestamps_before_the_device_clock_is_set_are_system_time() -> None:
    body = [TS_HR, ts_hr(0, 1000, 80), ts_hr(0, T0, 81)]
    rec = decode_fit(fit_file(*body)).messages["record"]
    assert rec["timestamp"].to_pylist() == [None, utc(T0)]
    assert rec["timestamp" + _fit.SYSTEM_TIME_SUFFIX].to_pylist() == [1000, None]
    assert rec["timestamp"].type == pa.timestamp("s", tz="UTC")
    assert utc(T0) - utc(0) == timedelta(seconds=T0)
