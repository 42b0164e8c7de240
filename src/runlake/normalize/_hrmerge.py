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
from dataclasses import replace

import numpy as np
import pyarrow as pa

from runlake.decode import FitFile
from runlake.normalize._columns import f64_column, from_numpy, timestamp_seconds, to_numpy

__all__ = ["merge_heart_rates"]

_GAP_STEP_S = 0.25
_GAP_MAX_STEPS = 20  # 5 s of 250 ms steps
_ROLLOVER_S = 0x400000  # event_timestamp is a uint32 of 1/1024 s: it wraps after this


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


def _expand(hr: pa.Table) -> tuple[list[float], list[int]]:
    """The heart-rate samples (UTC seconds, bpm), with the 250 ms gap filling; in numpy,
    with the SDK's float operations in the SDK's order, so that every time is the same."""
    names = hr.column_names
    if "event_timestamp" not in names or "filtered_bpm" not in names:
        return [], []
    n = hr.num_rows
    events, n_events = _flat(hr["event_timestamp"])
    rates, n_rates = _flat(hr["filtered_bpm"])
    if not (pa.types.is_floating(events.type) and pa.types.is_integer(rates.type)):
        return [], []  # the SDK takes only float event times and integer heart rates
    event_s, rate = _values(events), _values(rates)
    # Step 1: each message's anchor is the last message with a timestamp at or before it;
    # it anchors only when it holds exactly one event time.
    anchor_s = np.full(n, np.nan)
    if "timestamp" in names and pa.types.is_timestamp(hr.schema.field("timestamp").type):
        anchor_s = timestamp_seconds(hr["timestamp"].combine_chunks())
        if "fractional_timestamp" in names:
            frac = f64_column(hr, "fractional_timestamp", n)
            anchor_s = anchor_s + np.nan_to_num(to_numpy(frac), nan=0.0)
    has_anchor = ~np.isnan(anchor_s)
    first = np.cumsum(n_events) - n_events  # where each message's event times start
    own_event = np.full(n, np.nan)
    single = n_events == 1
    own_event[single] = event_s[first[single]]
    last = np.maximum.accumulate(np.where(has_anchor, np.arange(n), -1))
    usable = (last >= 0) & (n_events == n_rates)
    usable[usable] &= ~np.isnan(own_event[last[usable]])
    ref_utc = np.where(usable, anchor_s[np.maximum(last, 0)], np.nan)
    ref_event = np.where(usable, own_event[np.maximum(last, 0)], np.nan)
    # Each sample of a usable message with an event time and a heart rate.
    of_message = np.repeat(np.arange(n), n_events)
    keep = usable[of_message] & ~np.isnan(event_s)
    # a usable message has as many heart rates as event times: the k-th of each pairs up
    first_rate = np.cumsum(n_rates) - n_rates
    pair = np.arange(event_s.size) - first[of_message] + first_rate[of_message]
    keep[keep] = ~np.isnan(rate[pair[keep]])
    event, bpm = event_s[keep], rate[pair[keep]]
    base_utc, base_event = ref_utc[of_message[keep]], ref_event[of_message[keep]]
    before = event < base_event
    wrapped = before & (base_event - event > _ROLLOVER_S)
    event = np.where(wrapped, event + _ROLLOVER_S, event)
    ok = ~before | wrapped  # the SDK refuses an event time before its anchor's
    return _fill_gaps(base_utc[ok] + (event[ok] - base_event[ok]), bpm[ok])


def _fill_gaps(at: np.ndarray, bpm: np.ndarray) -> tuple[list[float], list[int]]:
    """Step 2: the previous heart rate repeated every 250 ms towards the next sample."""
    if at.size == 0:
        return [], []
    steps = np.zeros(at.size, dtype=np.int64)
    gap_ms = np.abs(at[1:] - at[:-1]) * 1000
    alive = np.ones(gap_ms.size, dtype=bool)
    for _ in range(_GAP_MAX_STEPS):
        alive &= gap_ms > _GAP_STEP_S * 1000
        steps[1:] += alive
        gap_ms = gap_ms - _GAP_STEP_S * 1000
    total = at.size + int(steps.sum())
    filled = np.cumsum(steps)  # fills up to each sample
    where = np.arange(at.size) + filled  # each sample after its fills
    times = np.empty(total)
    out_bpm = np.empty(total, dtype=np.int64)
    times[where], out_bpm[where] = at, bpm
    fills = np.ones(total, dtype=bool)
    fills[where] = False
    if fills.any():
        owner = np.repeat(np.arange(at.size), steps)  # the sample each fill comes before
        step = np.arange(owner.size) - np.repeat(filled - steps, steps) + 1
        times[fills] = at[owner - 1] + _GAP_STEP_S * step
        out_bpm[fills] = bpm[owner - 1]
    return times.tolist(), out_bpm.tolist()


def _flat(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """A column of lists (or of single values) flattened, and each row's length (a null
    row holds nothing)."""
    arr = column.combine_chunks()
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        lengths = arr.value_lengths().fill_null(0).cast(pa.int64())
        return arr.flatten(), np.asarray(lengths, dtype=np.int64)
    valid = np.asarray(arr.is_valid(), dtype=bool)
    return arr.filter(pa.array(valid)), valid.astype(np.int64)


def _values(arr: pa.Array) -> np.ndarray:
    """Numbers as float64 numpy, NaN for null."""
    return to_numpy(arr.cast(pa.float64()))


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
