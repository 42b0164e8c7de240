"""The hr message (heart rate a chest strap stored, written into the activity afterwards):
its arrays decoded as Garmin's FIT SDK reads them, on crafted bytes and on every corpus
file that has hr messages."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from runlake.decode import decode_fit
from runlake.ingest._ingest import ACTIVITY_MESSAGES

from ..conftest import FIT_DIR, HR_FILES, corpus_available
from .conftest import T0, UINT8, UINT16, UINT32, definition, fit_file, utc

HR = 132
BYTE = 0x0D
# The corpus files with hr messages (HRM-Pro/HRM-Swim stored data, Forerunner/Fenix).


def pack12(values: list[int]) -> bytes:
    """Eight 12-bit values packed from the low bit of the first byte on (12 bytes)."""
    bits = sum(v << (12 * i) for i, v in enumerate(values))
    return bits.to_bytes(12, "little")


def hr_file() -> bytes:
    """An anchor hr message (time, one event time, one heart rate), then two messages of
    eight packed 12-bit event times and eight heart rates; the counter wraps in the first."""
    anchor_event = 4094 + 3 * 4096  # 1/1024 s of the strap's clock; 12 low bits: 4094
    return fit_file(
        definition(0, HR, [(253, 4, UINT32), (0, 2, UINT16), (9, 4, UINT32), (6, 1, UINT8)]),
        bytes((0,)) + struct.pack("<IHIB", T0, 16384, anchor_event, 70),
        definition(1, HR, [(6, 8, UINT8), (10, 12, BYTE)]),
        bytes((1,))
        + bytes([71, 72, 73, 74, 75, 76, 77, 0xFF])
        + pack12([4095, 1, 2, 3, 4, 5, 6, 7]),
        bytes((1,)) + bytes([80] * 8) + pack12([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007]),
    )


def test_packed_event_times_accumulate_from_the_anchor() -> None:
    table = decode_fit(hr_file()).messages["hr"]
    rows = table.to_pylist()
    base = 3 * 4096
    assert rows[0]["timestamp"] == utc(T0)
    assert rows[0]["fractional_timestamp"] == 0.5
    assert rows[0]["event_timestamp"] == [(base + 4094) / 1024]
    assert rows[0]["filtered_bpm"] == [70]
    # 4094 -> 4095 is +1, then 4095 -> 1 wraps: +2, then +1 each.
    first = [base + 4095, *(base + 4096 + k for k in range(1, 8))]
    assert rows[1]["event_timestamp"] == [v / 1024 for v in first]
    assert rows[1]["filtered_bpm"] == [71, 72, 73, 74, 75, 76, 77, None]  # 0xFF: invalid
    # 7 -> 1000 is +993: the counter goes on across messages.
    second = [base + 4096 + 7 + 993 + k for k in range(8)]
    assert rows[2]["event_timestamp"] == [v / 1024 for v in second]
    assert rows[2]["filtered_bpm"] == [80] * 8
    assert "event_timestamp_12" not in table.column_names  # expanded into event_timestamp


def test_an_activity_decode_includes_hr() -> None:
    assert "hr" in ACTIVITY_MESSAGES
    assert decode_fit(hr_file(), messages=ACTIVITY_MESSAGES).messages["hr"].num_rows == 3


def _as_list(value: object) -> list[object] | None:
    if value is None:
        return None
    return list(value) if isinstance(value, list | tuple) else [value]


@pytest.mark.corpus
@pytest.mark.skipif(not corpus_available(), reason="real watch files are not present")
@pytest.mark.parametrize("name", HR_FILES)
def test_corpus_hr_messages_equal_the_sdk(name: str) -> None:
    sdk = pytest.importorskip("garmin_fit_sdk")
    paths = [p for p in FIT_DIR.iterdir() if name in p.name]
    if len(paths) != 1:
        pytest.skip(f"{name} is not in the corpus")
    data = Path(paths[0]).read_bytes()
    ours = decode_fit(data, messages=ACTIVITY_MESSAGES).messages["hr"].to_pylist()
    messages, errors = sdk.Decoder(sdk.Stream.from_byte_array(bytearray(data))).read(
        merge_heart_rates=False
    )
    assert errors == []
    theirs = messages["hr_mesgs"]
    assert len(ours) == len(theirs) > 0
    n_values = 0
    for i, (mine, ref) in enumerate(zip(ours, theirs, strict=True)):
        assert mine["event_timestamp"] == _as_list(ref.get("event_timestamp")), i
        assert mine["filtered_bpm"] == _as_list(ref.get("filtered_bpm")), i
        if ref.get("timestamp") is not None:
            assert mine["timestamp"] == ref["timestamp"], i
            assert mine["fractional_timestamp"] == ref.get("fractional_timestamp"), i
        n_values += len(mine["filtered_bpm"] or [])
    assert n_values >= len(ours)
