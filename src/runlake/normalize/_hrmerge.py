"""Heart rate from ``hr`` messages merged into the records, as Garmin's FIT SDK does it.

A chest strap that stores heart rate while the watch cannot receive it (HRM-Pro, HRM-Swim)
hands it over after the activity, and the watch writes it as ``hr`` messages: arrays of
heart rates with the strap's event times (decoded by ``runlake.decode``), anchored to UTC
by the messages that carry a ``timestamp``. Without the merge such a run has heart rate on
a few records only. This follows the SDK's ``merge_heart_rates`` (``hr_mesg_utils`` of the
Python and JavaScript SDKs) step by step, so that every record gets the value the SDK
gives it:

1. Each sample's UTC time is its anchor's ``timestamp + fractional_timestamp`` plus its
   event time minus the anchor's event time (a counter that wrapped at 2**32/1024 s
   is unwrapped).
2. Between two samples more than 250 ms apart the earlier heart rate is repeated every
   250 ms, for at most 5 s.
3. Each record gets the mean (rounded half up) of the samples after the previous record's
   time and up to its own, which replaces the heart rate the record had; a record whose
   interval holds no sample keeps its own. As in the SDK, records after the last sample
   keep theirs too.

Where the SDK would raise (a sample before any anchor, an anchor with several event times,
a message with more times than heart rates or the other way round, an event time that
goes back without wrapping), the message or sample is left out instead: bad input never
stops the file. Records without a timestamp are passed over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from runlake.decode import FitFile
from runlake.normalize._columns import f64_column, from_numpy, timestamp_seconds, to_numpy

__all__ = ["merge_heart_rates"]

_GAP_STEP_S = 0.25
_GAP_MAX_STEPS = 20  # 5 s of 250 ms steps
_ROLLOVER_S = 0x400000  # event_timestamp is a uint32 of 1/1024 s: it wraps after this


@dataclass(slots=True)
class _Anchor:
    utc_s: float  # the anchor message's timestamp + fractional_timestamp (Unix seconds)
    event_s: float  # its event time (the strap's clock)


def merge_heart_rates(fit: FitFile) -> FitFile:
    """``fit`` with the record heart rates merged from its hr messages (unchanged when it
    has none, or no record with a time)."""
    hr = fit.messages.get("hr")
    records = fit.messages.get("record")
    if hr is None or records is None or hr.num_rows == 0 or records.num_rows == 0:
        return fit
    if "timestamp" not in records.column_names or not pa.types.is_timestamp(
        records.schema.field("timestamp").type
    ):
        return fit
    times, bpm = _expand(hr)
    if not times:
        return fit
    record_s = timestamp_seconds(records["timestamp"].combine_chunks())
    merged = _merged(record_s, times, bpm)
    if not merged:
        return fit
    column = _with_merged(records, merged)
    if "heart_rate" in records.column_names:
        at = records.schema.get_field_index("heart_rate")
        records = records.set_column(at, "heart_rate", column)
    else:
        records = records.append_column("heart_rate", column)
    return replace(fit, messages={**fit.messages, "record": records})


def _with_merged(records: pa.Table, merged: dict[int, int]) -> pa.Array:
    """The records' heart rates (float64, null where missing) with the merged ones in."""
    values = to_numpy(f64_column(records, "heart_rate", records.num_rows)).copy()
    at = np.fromiter(merged.keys(), dtype=np.int64, count=len(merged))
    values[at] = np.fromiter(merged.values(), dtype=np.float64, count=len(merged))
    return from_numpy(values)


def _hr_rows(hr: pa.Table) -> list[tuple[float | None, list[object], list[object]]]:
    """(anchor time or None, event times, heart rates) of each hr message, in file order."""
    names = hr.column_names
    if "event_timestamp" not in names or "filtered_bpm" not in names:
        return []
    n = hr.num_rows
    anchors: list[float | None] = [None] * n
    if "timestamp" in names and pa.types.is_timestamp(hr.schema.field("timestamp").type):
        ts = timestamp_seconds(hr["timestamp"].combine_chunks())
        frac: list[object] = (
            hr["fractional_timestamp"].to_pylist()
            if "fractional_timestamp" in names
            else [None] * n
        )
        for i, (t, f) in enumerate(zip(ts.tolist(), frac, strict=True)):
            if not math.isnan(t):
                anchors[i] = t + (f if isinstance(f, int | float) else 0.0)
    events = hr["event_timestamp"].to_pylist()
    bpms = hr["filtered_bpm"].to_pylist()
    return [(a, _as_list(e), _as_list(b)) for a, e, b in zip(anchors, events, bpms, strict=True)]


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _expand(hr: pa.Table) -> tuple[list[float], list[int]]:
    """The heart-rate samples (UTC seconds, bpm), with the 250 ms gap filling."""
    times: list[float] = []
    bpm: list[int] = []
    anchor: _Anchor | None = None
    for anchor_s, events, rates in _hr_rows(hr):
        if anchor_s is not None:
            anchor = (
                _Anchor(anchor_s, events[0])
                if len(events) == 1 and isinstance(events[0], float)
                else None
            )
        if anchor is None or len(events) != len(rates):
            continue
        for event, rate in zip(events, rates, strict=True):
            at = _sample_time(anchor, event)
            if at is None or not isinstance(rate, int):
                continue
            if times:
                _fill_gap(times, bpm, at)
            times.append(at)
            bpm.append(rate)
    return times, bpm


def _sample_time(anchor: _Anchor, event: object) -> float | None:
    """A sample's UTC time from its event time (None: unusable)."""
    if not isinstance(event, float):
        return None
    if event < anchor.event_s:
        if anchor.event_s - event > _ROLLOVER_S:
            event += _ROLLOVER_S
        else:
            return None  # the SDK refuses an event time before its anchor's
    return anchor.utc_s + (event - anchor.event_s)


def _fill_gap(times: list[float], bpm: list[int], at: float) -> None:
    """The previous heart rate repeated every 250 ms towards ``at``, for up to 5 s."""
    prev_t, prev_bpm = times[-1], bpm[-1]
    gap_ms = abs(at - prev_t) * 1000
    step = 1
    while gap_ms > _GAP_STEP_S * 1000 and step <= _GAP_MAX_STEPS:
        times.append(prev_t + _GAP_STEP_S * step)
        bpm.append(prev_bpm)
        gap_ms -= _GAP_STEP_S * 1000
        step += 1


def _merged(record_s: np.ndarray, times: list[float], bpm: list[int]) -> dict[int, int]:
    """Record index -> its merged heart rate, walking records and samples as the SDK does."""
    out: dict[int, int] = {}
    index = 0
    start: float | None = None
    n = len(times)
    for i, end in enumerate(record_s.tolist()):
        if math.isnan(end):
            continue
        total = count = 0
        if start is None:
            start = end
        if start == end:
            start -= 1
            index = index - 1 if index >= 1 else 0
        while index < n:
            t = times[index]
            if start < t <= end:
                total += bpm[index]
                count += 1
            elif t > end:
                if count:
                    out[i] = int(total / count + 0.5)
                start = end
                break
            index += 1
    return out
