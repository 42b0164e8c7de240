"""The ``hr`` message: heart rate that a chest strap (HRM-Pro, HRM-Swim) stored and the
watch wrote into the activity file afterwards.

An ``hr`` message carries arrays: ``filtered_bpm`` (up to 8 heart rates) and their times,
either ``event_timestamp`` (uint32, 1/1024 s of the strap's clock) or
``event_timestamp_12`` (12 bytes packing eight 12-bit deltas of that clock, the profile's
accumulated components). A message with a ``timestamp`` (and ``fractional_timestamp``)
anchors the strap's clock to UTC. The generic column decoder reads one value per field
and one component per target, so this module builds the two array columns itself, with
the FIT SDK's accumulation: each ``event_timestamp`` value restarts the 12-bit counter,
each 12-bit value adds ``(value - previous) & 0xFFF`` to it, in file order.

The result, per message: ``event_timestamp`` a list of seconds of the strap's clock (null
when the message has none), ``filtered_bpm`` a list of heart rates (a null element for an
invalid 0xFF; null when every one is invalid). Merging them into the records by time is
normalize's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = [
    "EVENT_TIMESTAMP",
    "EVENT_TIMESTAMP_12",
    "FILTERED_BPM",
    "HR_ARRAY_FIELDS",
    "HR_MESG_NUM",
    "HrFields",
    "hr_columns",
]

HR_MESG_NUM = 132
EVENT_TIMESTAMP = 9  # uint32, scale 1024 (seconds)
EVENT_TIMESTAMP_12 = 10  # byte array of 12-bit components of event_timestamp
FILTERED_BPM = 6  # uint8
HR_ARRAY_FIELDS = frozenset({EVENT_TIMESTAMP, EVENT_TIMESTAMP_12, FILTERED_BPM})
_BITS = 12
_MAX_COMPONENTS = 10  # the profile's components of event_timestamp_12
_SCALE = 1024.0
_INVALID_U32 = 0xFFFFFFFF
_INVALID_U8 = 0xFF
_WEIGHTS = 1 << np.arange(_BITS, dtype=np.int64)  # a 12-bit value from its bits, low first


@dataclass(frozen=True, slots=True)
class HrFields:
    """One definition's raw hr fields, a row per message (None: the definition lacks it)."""

    n: int
    event_timestamp: np.ndarray | None  # (n, k) uint32
    event_timestamp_12: np.ndarray | None  # (n, bytes) uint8
    filtered_bpm: np.ndarray | None  # (n, k) uint8


def hr_columns(parts: list[HrFields], order: np.ndarray | None) -> dict[str, pa.Array]:
    """The ``event_timestamp`` and ``filtered_bpm`` columns of the hr messages.

    ``parts`` are the definitions' rows in the order their rows are concatenated, ``order``
    the permutation that puts the concatenation in file order (None: it already is).
    """
    lengths = [p.n for p in parts]
    stamps, has_stamp = _stacked([p.event_timestamp for p in parts], lengths)
    packed, has_packed = _packed_values([p.event_timestamp_12 for p in parts], lengths)
    bpm, has_bpm = _stacked([p.filtered_bpm for p in parts], lengths)
    if order is not None:
        stamps, has_stamp, bpm, has_bpm = (
            stamps[order],
            has_stamp[order],
            bpm[order],
            has_bpm[order],
        )
        packed, has_packed = packed[order], has_packed[order]
    return {
        "event_timestamp": _event_timestamps(stamps, has_stamp, packed, has_packed),
        "filtered_bpm": _lists(bpm, has_bpm, bpm != _INVALID_U8, pa.uint8()),
    }


def _stacked(arrays: list[np.ndarray | None], lengths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The definitions' (n, k) arrays stacked (int64), padded to the widest k, and which
    slots exist (a definition without the field has none)."""
    width = max((a.shape[1] for a in arrays if a is not None), default=0)
    out = np.zeros((sum(lengths), width), dtype=np.int64)
    exists = np.zeros((sum(lengths), width), dtype=bool)
    start = 0
    for a, n in zip(arrays, lengths, strict=True):
        if a is not None:
            out[start : start + n, : a.shape[1]] = a
            exists[start : start + n, : a.shape[1]] = True
        start += n
    return out, exists


def _packed_values(
    arrays: list[np.ndarray | None], lengths: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The 12-bit values packed in each message's byte array (bits read from the low bit
    of the first byte on, as the SDK's bit stream reads them; as many as the bytes hold, at
    most the profile's ten), and which exist (a byte array of 0xFF only is invalid)."""
    width = max(
        (min(_MAX_COMPONENTS, a.shape[1] * 8 // _BITS) for a in arrays if a is not None),
        default=0,
    )
    values = np.zeros((sum(lengths), width), dtype=np.int64)
    exists = np.zeros((sum(lengths), width), dtype=bool)
    start = 0
    for a, n in zip(arrays, lengths, strict=True):
        k = 0 if a is None else min(_MAX_COMPONENTS, a.shape[1] * 8 // _BITS)
        if a is not None and k:
            # the bit stream, low bit of the first byte first, cut into k values of 12 bits
            bits = np.unpackbits(a, axis=1, count=k * _BITS, bitorder="little")
            values[start : start + n, :k] = bits.reshape(n, k, _BITS).dot(_WEIGHTS)
            exists[start : start + n, :k] = ~np.all(a == _INVALID_U8, axis=1)[:, None]
        start += n
    return values, exists


def _event_timestamps(
    stamps: np.ndarray, has_stamp: np.ndarray, packed: np.ndarray, has_packed: np.ndarray
) -> pa.Array:
    """Each message's event times in seconds: its 12-bit values accumulated onto the
    counter (in file order), else its own ``event_timestamp`` values."""
    k9 = stamps.shape[1]
    valid9 = has_stamp & (stamps != _INVALID_U32)
    # Every counter event in file order: a message's event_timestamp values (each restarts
    # the counter: the SDK creates its accumulator anew), then its 12-bit values.
    events = np.concatenate([stamps, packed], axis=1)
    present = np.concatenate([valid9, has_packed], axis=1)
    reset = np.zeros(events.shape, dtype=bool)
    reset[:, :k9] = True
    seconds = np.zeros(events.shape, dtype=np.float64)
    seconds[present] = _accumulate(events[present], reset[present]) / _SCALE
    # A message with 12-bit values gives those; else its own event_timestamp values (an
    # invalid one among them a null element).
    take = np.zeros(events.shape, dtype=bool)
    take[:, k9:] = has_packed
    own = ~has_packed.any(axis=1) & valid9.any(axis=1)
    take[:, :k9] = has_stamp & own[:, None]
    return _lists_taken(seconds, take, present, pa.float64())


def _accumulate(seq: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """The FIT SDK's accumulator over a sequence of counter events: a reset sets the
    counter to its value, any other value adds ``(value - previous) & 0xFFF``."""
    if seq.size == 0:
        return np.zeros(0, dtype=np.int64)
    reset = reset.copy()
    reset[0] = True  # the first value met creates the counter with itself
    prev = np.empty_like(seq)
    prev[0] = seq[0]
    prev[1:] = seq[:-1]
    delta = np.where(reset, 0, (seq - prev) & ((1 << _BITS) - 1))
    total = np.cumsum(delta)
    starts = np.flatnonzero(reset)
    segment = np.cumsum(reset) - 1
    out: np.ndarray = seq[starts][segment] + total - total[starts][segment]
    return out


def _lists(
    values: np.ndarray, exists: np.ndarray, valid: np.ndarray, type_: pa.DataType
) -> pa.Array:
    """Each row's existing values as a list (a null element where invalid); a row with no
    valid value is null."""
    any_valid = (exists & valid).any(axis=1)
    return _lists_taken(values, exists & any_valid[:, None], valid, type_)


def _lists_taken(
    values: np.ndarray, take: np.ndarray, valid: np.ndarray, type_: pa.DataType
) -> pa.Array:
    """Row r's list: ``values[r, take[r]]``, null elements where not ``valid``; null when
    it takes nothing."""
    counts = take.sum(axis=1)
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    flat = _array(values[take].astype(type_.to_pandas_dtype()), valid[take], type_)
    empty = counts == 0
    return pa.ListArray.from_arrays(
        pa.array(offsets), flat, mask=pa.array(empty) if empty.any() else None
    )


def _array(values: np.ndarray, valid: np.ndarray, type_: pa.DataType) -> pa.Array:
    """A numpy array as Arrow, null where not ``valid`` (a packed validity bitmap: faster
    than ``pa.array(mask=...)``)."""
    nulls = len(valid) - int(np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    data = pa.py_buffer(np.ascontiguousarray(values))
    return pa.Array.from_buffers(type_, len(values), [bitmap, data], null_count=nulls)
