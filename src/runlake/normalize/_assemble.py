"""The contract tables of one file, assembled from its sessions and record columns.

Shared by every format: normalize_fit, normalize_gpx and normalize_tcx turn their input into
session rows and contract record columns, then :func:`assemble` builds ACTIVITIES, LAPS and
RECORDS (one activity per session; summaries from the device where it wrote them, else from
records).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from runlake._errors import Problem, ProblemKind
from runlake._schemas import ACTIVITIES, LAPS, RECORDS, SUMMARY_FIELDS
from runlake.normalize._columns import from_numpy
from runlake.normalize._summary import (
    MESSAGE_FIELDS,
    RecordColumns,
    merge_summary,
    summary_from_message,
    summary_from_records,
)

__all__ = [
    "FOOT_SPORTS",
    "LAP_SESSION",
    "MAX_LAP_INDEX",
    "TIME_GAP_S",
    "Normalized",
    "Sessions",
    "SourceInfo",
    "assemble",
    "assign_to_activities",
    "time_anomalies",
]

# Sports whose cadence counts steps (FIT stores strides per minute: doubled into steps).
FOOT_SPORTS = frozenset({"running", "walking", "hiking", "mountaineering", "snowshoeing"})
# A forward jump in sample time longer than this is reported (a clock reset, a merged file).
TIME_GAP_S = 6 * 3600.0
# lap_index is an int16.
MAX_LAP_INDEX = 32767
LAP_SESSION = "_session"
"""A lap table column naming each lap's session (TCX: activities may overlap in time);
without it a lap belongs to the session it starts in (FIT)."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    file_sha256: str
    source_path: str
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class Normalized:
    activities: pa.Table
    laps: pa.Table
    records: pa.Table
    problems: tuple[Problem, ...]

    @property
    def year(self) -> int | None:
        """Partition year: the UTC year of the first activity's start."""
        if self.activities.num_rows == 0:
            return None
        first = pc.min(self.activities["start_time"]).as_py()
        return None if first is None else int(first.year)


@dataclass(frozen=True, slots=True)
class Sessions:
    """What a format's normalizer hands to :func:`assemble`.

    ``rows``: one dict per session (its device summary fields; ``sport``, ``sub_sport``,
    ``start_time``); ``sports``/``starts``: per session (starts in UTC seconds); ``which``:
    the session of each record; ``rec_ts``: each record's time in seconds (NaN: none);
    ``cols``: the contract record columns; ``summaries_from_device``: whether ``rows`` hold
    a device's summary fields (FIT) or only the session's identity (GPX).
    """

    rows: list[dict[str, object]]
    sports: list[str]
    starts: np.ndarray
    which: np.ndarray
    rec_ts: np.ndarray
    cols: dict[str, pa.Array]
    summaries_from_device: bool


def assign_to_activities(starts: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Index of the activity each sample belongs to: the last one starting at or before it."""
    filled = ts.copy()
    if filled.size and np.isnan(filled).any():
        idx = np.where(~np.isnan(filled), np.arange(filled.size), 0)
        np.maximum.accumulate(idx, out=idx)
        filled = filled[idx]
    order = np.argsort(starts, kind="stable")
    which = np.searchsorted(starts[order], filled, side="right") - 1
    which = np.clip(which, 0, len(starts) - 1)
    which[np.isnan(filled)] = 0
    return order[which]


def time_anomalies(ts: np.ndarray, *, gap_s: float = TIME_GAP_S) -> Problem | None:
    """A warning when sample times jump backwards, or forwards by more than ``gap_s``.

    The samples are kept in file order (the file is the record of what the device wrote);
    the warning tells analysts why elapsed time may not grow steadily.
    """
    t = ts[~np.isnan(ts)]
    if t.size < 2:
        return None
    d = np.diff(t)
    back = d < 0
    fwd = d > gap_s
    if not back.any() and not fwd.any():
        return None
    parts = []
    if back.any():
        parts.append(f"{int(back.sum())} backwards (largest {float(-d[back].min()):.0f} s)")
    if fwd.any():
        parts.append(
            f"{int(fwd.sum())} forwards by more than {gap_s:.0f} s "
            f"(largest {float(d[fwd].max()):.0f} s)"
        )
    return Problem(
        ProblemKind.TIME_ANOMALY,
        "sample times jump " + " and ".join(parts) + "; samples kept in file order",
    )


def _activity_ids(info: SourceInfo, n: int) -> list[str]:
    return [f"{info.file_sha256[:16]}-{i}" for i in range(n)]


def _records_table(s: Sessions, ids: list[str]) -> pa.Table:
    """RECORDS of the file, ordered by activity, then file order."""
    n_rec = len(s.which)
    rec_start = s.starts[s.which] if n_rec else np.zeros(0)
    record_cols: dict[str, pa.Array] = {
        "activity_id": pa.array(ids, type=pa.string()).take(pa.array(s.which, pa.int64())),
        "elapsed_s": from_numpy(s.rec_ts - rec_start),
        **s.cols,
    }
    records = pa.table({f.name: record_cols[f.name] for f in RECORDS}, schema=RECORDS)
    if n_rec and np.any(np.diff(s.which) < 0):
        records = records.take(pa.array(np.argsort(s.which, kind="stable")))
    return records


def _end_time(summary: dict[str, object]) -> datetime | None:
    start, el = summary["start_time"], summary.get("elapsed_s")
    if isinstance(el, float) and isinstance(start, datetime):
        return datetime.fromtimestamp(start.timestamp() + el, tz=UTC)
    return None


def _activity_row(
    s: Sessions, i: int, *, info: SourceInfo, source_format: str, ids: list[str]
) -> dict[str, object]:
    """The ACTIVITIES row of session ``i`` (device summary completed from its records)."""
    srow = s.rows[i]
    mask = s.which == i
    sub = RecordColumns(s.cols, s.rec_ts, None if len(s.rows) == 1 else mask)
    device = (
        summary_from_message(srow, s.sports[i] in FOOT_SPORTS) if s.summaries_from_device else {}
    )
    summary = merge_summary(device, summary_from_records(sub, device))
    if summary.get("start_time") is None:
        summary["start_time"] = datetime.fromtimestamp(float(s.starts[i]), tz=UTC)
    rd = (
        summary.get("avg_vertical_oscillation_mm") is not None
        or summary.get("avg_stance_time_ms") is not None
    )
    return {
        "activity_id": ids[i],
        "file_sha256": info.file_sha256,
        "session_index": i,
        "source_path": info.source_path,
        "source_format": source_format,
        "sport": s.sports[i],
        "sub_sport": str(srow["sub_sport"]) if srow.get("sub_sport") is not None else None,
        "end_time": _end_time(summary),
        **{name: summary.get(name) for name, _, _ in SUMMARY_FIELDS},
        "n_records": int(mask.sum()),
        "has_running_dynamics": rd,
        "has_gps": bool((~np.isnan(sub["latitude_deg"])).any()),
        "ingested_at": info.ingested_at,
    }


def _lap_rows(
    s: Sessions, laps: pa.Table | None, ids: list[str], problems: list[Problem]
) -> list[dict[str, object]]:
    """LAPS rows: each lap message in the session it starts in, numbered per session."""
    if laps is None or not laps.num_rows:
        return []
    used = [i for i, name in enumerate(laps.column_names) if name in MESSAGE_FIELDS]
    lrows = laps.select(used).to_pylist()  # the fields read below, not every one
    lstarts = np.array(
        [
            (r["start_time"].timestamp() if r.get("start_time") is not None else np.nan)
            for r in lrows
        ]
    )
    lwhich = (
        np.asarray(laps[LAP_SESSION].to_numpy(), dtype=np.int64)
        if LAP_SESSION in laps.column_names
        else assign_to_activities(s.starts, lstarts)
    )
    counters = [0] * len(s.rows)
    rows: list[dict[str, object]] = []
    for r, w in zip(lrows, lwhich.tolist(), strict=True):
        if counters[w] > MAX_LAP_INDEX:
            continue  # reported below
        summary = summary_from_message(r, s.sports[w] in FOOT_SPORTS)
        rows.append(
            {
                "activity_id": ids[w],
                "lap_index": counters[w],
                **{name: summary.get(name) for name, _, _ in SUMMARY_FIELDS},
            }
        )
        counters[w] += 1
    if len(rows) < len(lrows):
        problems.append(
            Problem(
                ProblemKind.TOO_MANY_LAPS,
                f"{len(lrows) - len(rows)} laps past the {MAX_LAP_INDEX + 1}th of an "
                "activity were left out",
            )
        )
    return rows


def assemble(
    s: Sessions,
    *,
    info: SourceInfo,
    source_format: str,
    device: tuple[str | None, str | None],
    laps: pa.Table | None,
    dev_names: list[str],
    problems: list[Problem],
) -> Normalized:
    """ACTIVITIES, LAPS and RECORDS of one file.

    ``device``: (manufacturer, product); ``laps``: the file's lap messages (FIT, or TCX laps
    under the FIT names, with a :data:`LAP_SESSION` column) or None;
    ``dev_names``: the names of its developer fields; ``problems``: the problems met so far
    (the list is extended).
    """
    ids = _activity_ids(info, len(s.rows))
    records = _records_table(s, ids)
    manufacturer, product = device
    act_rows = [
        {
            **_activity_row(s, i, info=info, source_format=source_format, ids=ids),
            "device_manufacturer": manufacturer,
            "device_product": product,
            "developer_fields": dev_names,
        }
        for i in range(len(s.rows))
    ]
    activities = pa.Table.from_pylist(act_rows, schema=ACTIVITIES)
    lap_table = pa.Table.from_pylist(_lap_rows(s, laps, ids, problems), schema=LAPS)
    return Normalized(activities, lap_table, records, tuple(problems))
