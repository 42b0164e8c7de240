"""Derived tables: duplicates, run metrics, lap metrics and flags, kept up to date incrementally.

Wiring like ``_ingest``: it reads committed runs from the lake, runs the metrics and flags
stages on what changed, and stores the results with the store's atomic writes.

What is recomputed after a batch:
- which activities are copies of one session (DUPLICATES,
  :func:`runlake.metrics.find_duplicates`): over all the athlete's activities (one row each,
  a sweep over their start times: milliseconds for years of runs), written only for the
  years whose rows changed. Only the primaries count: the runs below are the running
  activities that are no one's duplicate. A run that became a duplicate (a better copy
  came) loses its metrics, lap metrics and run flags, and its weeks are judged again; a run
  that became a primary gets its metrics like a new run. Both follow from the lake's state
  (the duplicates against the runs that have metrics), so a writer killed half-way leaves
  nothing the next refresh does not mend;
- the metrics of every run that has none yet, or whose heart-rate zones were computed with
  another maximum heart rate than the one in force (configured, or estimated from the
  athlete's runs: the estimate moves while a history is being loaded). Runs measured at
  ingest (:class:`Measured`: the ingest tasks compute run and lap metrics while the
  records are in memory, in parallel) and runs whose only change is the maximum heart rate
  get their zones, easy time and load from their heart-rate histogram
  (:func:`runlake.metrics.rezone`), without reading records; the others (runs stored
  before the histogram existed, ``full=True``) are computed from their records;
- the week and day rules (WEEK_RULES, DAY_RULES: :func:`runlake.flags.judge_weeks`) and
  the week- and day-level flags of the weeks those runs can affect
  (:func:`runlake.flags.affected_weeks`), over the athlete's whole metrics history; the day
  rules from those weeks on (their exponentially weighted loads never forget a run);
- the run-level flags and run rules (RUN_RULES: :func:`runlake.flags.judge_recent`: the
  longest run of the 30 days before, the usual form at the same pace over the 90 days
  before) of those runs and of every run in those weeks (a new run changes what the runs
  after it are compared with).

Derived tables are small (one row per run, lap or flag), so each is one Parquet file per
athlete and year, rewritten atomically. Before writing, the window of weeks being
recomputed is noted in ``<lake>/.state/derive-<athlete>.json``; a writer killed half-way
leaves the note, and the next refresh redoes that window. When the refresh is done the note
also holds the fingerprint of the thresholds the flags were judged with
(:func:`runlake.flags.thresholds_fingerprint`) and the metrics' version: a refresh with
other thresholds judges every run and week again (zones from the stored histograms, no
records read), one with another metrics version recomputes every run from its records, and
:func:`stale_flags` tells a reader that the stored flags are not those of the thresholds
in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from runlake._schemas import DUPLICATES, FLAGS, LAP_METRICS, RUN_METRICS, RUN_RULES
from runlake.flags import (
    Flag,
    Thresholds,
    Weeks,
    affected_weeks,
    day_rules_of,
    flags_table,
    history_flags_of,
    judge_recent,
    judge_weeks,
    run_flags,
    run_rules_table,
    thresholds_fingerprint,
    week_rules_of,
    week_start,
)
from runlake.lake._store import Lake, conform, validate_athlete
from runlake.metrics import (
    ACTIVITY_COLUMNS,
    METRICS_VERSION,
    RunMetrics,
    estimate_hr_max,
    find_duplicates,
    measure_run,
    metrics_table,
    rezone,
)

__all__ = ["Measured", "refresh_derived", "stale_flags"]

_HR_MAX_TOLERANCE_BPM = 0.5


def _write_years(
    lake: Lake,
    table: str,
    athlete: str,
    rows: pa.Table,
    *,
    years: Iterable[int],
    year_of: pa.Array,
) -> None:
    """Rewrite the files of ``years`` with the rows of those years (none: remove the file)."""
    lake.write_years(
        table, athlete, {year: rows.filter(pc.equal(year_of, year)) for year in set(years)}
    )


def _state_name(athlete: str) -> str:
    return f"derive-{athlete}"


def _read_note(lake: Lake, athlete: str) -> dict[str, Any]:
    return lake.read_state(_state_name(athlete)) or {}


def _dirty_of(note: Mapping[str, Any]) -> tuple[date, date] | None:
    dirty = note.get("dirty")
    if not dirty:
        return None
    return date.fromisoformat(dirty[0]), date.fromisoformat(dirty[1])


def _write_note(lake: Lake, athlete: str, **changes: object) -> None:
    """Change these keys of the athlete's note (``dirty``, ``judged_with``, ...)."""
    note = _read_note(lake, athlete)
    note.update(changes)
    lake.write_state(_state_name(athlete), note)


def _write_dirty(lake: Lake, athlete: str, window: tuple[date, date] | None) -> None:
    value = None if window is None else [window[0].isoformat(), window[1].isoformat()]
    _write_note(lake, athlete, dirty=value)


def stale_flags(lake: Lake, athlete: str, t: Thresholds) -> str | None:
    """Why the athlete's stored flags are not what the thresholds ``t`` give (a few words),
    or None when they are (or nothing was judged yet). Reads one small note."""
    athlete = validate_athlete(athlete)
    if not lake.has("run_metrics", athlete):
        return None
    note = _read_note(lake, athlete)
    if note.get("dirty"):
        return "the last refresh of the flags was interrupted"
    if "judged_with" not in note or note.get("metrics_version") != METRICS_VERSION:
        return "the flags were computed by an older runlake"
    if note["judged_with"] != thresholds_fingerprint(t):
        return "the flags were computed with other thresholds than those in force"
    return None


def _union(a: tuple[date, date] | None, b: tuple[date, date] | None) -> tuple[date, date] | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a[0], b[0]), max(a[1], b[1])


def _year_of(table: pa.Table, column: str) -> pa.Array:
    return pc.year(table[column]).cast(pa.int32()).combine_chunks()


def _slices(
    table: pa.Table, order: list[tuple[str, str]]
) -> tuple[pa.Table, dict[str, tuple[int, int]]]:
    """Row ranges of each activity in ``table``; sorted by ``order`` only if not contiguous.

    The store writes each file's rows together, so an activity's rows are one run already.
    """
    ids = table["activity_id"].combine_chunks()
    if len(ids) == 0:
        return table, {}
    if ids.null_count == 0 and pc.all(pc.equal(ids, ids[0])).as_py():  # one activity
        return table, {str(ids[0].as_py()): (0, len(ids))}
    codes = pc.dictionary_encode(ids)
    idx = codes.indices.to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(idx)) + 1))
    if len(starts) != len(codes.dictionary):
        table = table.sort_by(order)
        return _slices(table, order)
    ends = [*starts[1:].tolist(), len(idx)]
    names = [str(n) for n in codes.dictionary.to_pylist()]
    return table, dict(zip(names, zip(starts.tolist(), ends, strict=True), strict=True))


_RECORD_ORDER = [("activity_id", "ascending"), ("timestamp", "ascending")]
_LAP_ORDER = [("activity_id", "ascending"), ("lap_index", "ascending")]


def _measure(
    acts: pa.Table,
    records: pa.Table,
    laps: pa.Table | None,
    hr_max: float | None,
    easy_hr_fraction: float,
) -> tuple[list[RunMetrics], list[pa.Table]]:
    """Metrics of the runs in ``acts`` (activity rows) from their records and laps."""
    metrics: list[RunMetrics] = []
    laps_out: list[pa.Table] = []
    records, rec_at = _slices(records, _RECORD_ORDER)
    laps, lap_at = _slices(laps, _LAP_ORDER) if laps is not None else (None, {})
    have = set(acts.column_names)
    for act in acts.select([c for c in ACTIVITY_COLUMNS if c in have]).to_pylist():
        aid = str(act["activity_id"])
        lo, hi = rec_at.get(aid, (0, 0))
        llo, lhi = lap_at.get(aid, (0, 0))
        m, lap_table = measure_run(
            records.slice(lo, hi - lo),
            act,
            laps.slice(llo, lhi - llo) if laps is not None and aid in lap_at else None,
            hr_max_bpm=hr_max,
            easy_hr_fraction=easy_hr_fraction,
        )
        metrics.append(m)
        if lap_table is not None:
            laps_out.append(lap_table)
    return metrics, laps_out


@dataclass(slots=True)
class Measured:
    """Run and lap metrics measured at ingest, while each file's records are in memory.

    The ingest tasks :meth:`add` every file they commit (in parallel in a backfill) and hand
    this to :func:`refresh_derived`, which then reads no records for these runs. Their
    zones, easy time and load wait for the maximum heart rate, known only once the batch is
    in the lake: refresh_derived recomputes them from each run's heart-rate histogram.
    Picklable (it travels back from the flows' worker processes); a few kB per run.
    """

    run_metrics: list[pa.Table] = field(default_factory=list)
    lap_metrics: list[pa.Table] = field(default_factory=list)
    _runs: list[RunMetrics] = field(default_factory=list)
    _laps: list[pa.Table] = field(default_factory=list)

    def add(self, tables: Mapping[str, pa.Table]) -> None:
        """Measure the running activities of one file's ``activities``, ``records``, ``laps``."""
        acts = tables.get("activities")
        records = tables.get("records")
        if acts is None or records is None or acts.num_rows == 0:
            return
        sports = acts["sport"].to_pylist()
        if "running" not in sports:
            return
        if sports.count("running") < len(sports):
            acts = acts.filter(pc.fill_null(pc.equal(acts["sport"], "running"), False))
        runs, laps = _measure(acts, records, tables.get("laps"), None, 0.0)
        self._runs.extend(runs)
        self._laps.extend(laps)

    def seal(self) -> None:
        """Turn what was added since the last call into tables (compact, quick to pickle)."""
        if self._runs:
            self.run_metrics.append(metrics_table(self._runs))
        if self._laps:
            self.lap_metrics.append(pa.concat_tables([conform(x, LAP_METRICS) for x in self._laps]))
        self._runs, self._laps = [], []

    def extend(self, other: Measured) -> None:
        other.seal()
        self.run_metrics.extend(other.run_metrics)
        self.lap_metrics.extend(other.lap_metrics)

    def tables(self) -> tuple[pa.Table, pa.Table]:
        """All run metrics (RUN_METRICS, zones not computed yet) and lap metrics."""
        self.seal()
        runs = pa.concat_tables([RUN_METRICS.empty_table(), *self.run_metrics])
        laps = pa.concat_tables([LAP_METRICS.empty_table(), *self.lap_metrics])
        return runs, laps


def _compute(
    lake: Lake,
    athlete: str,
    todo: pa.Table,
    t: Thresholds,
    hr_max: float | None,
    *,
    runs_per_year: dict[int, int],
) -> tuple[list[RunMetrics], list[pa.Table]]:
    """Metrics of the runs in ``todo`` (activity rows), reading their records year by year."""
    metrics: list[RunMetrics] = []
    laps_out: list[pa.Table] = []
    years = pc.unique(todo["year"]).to_pylist()
    for year in sorted(years):
        acts = todo.filter(pc.equal(todo["year"], year))
        flt = pc.field("year") == year
        if acts.num_rows < runs_per_year.get(year, 0) / 2:  # a few runs: filter while reading
            flt = flt & pc.field("activity_id").isin(acts["activity_id"])
        records = lake.read("records", athlete, filter=flt)
        if records is None:
            continue
        laps = lake.read("laps", athlete, filter=flt)
        runs, laps_of = _measure(acts, records, laps, hr_max, t.easy_hr_fraction)
        metrics += runs
        laps_out += laps_of
    return metrics, laps_out


def _ids(ids: Iterable[str]) -> pa.Array:
    return pa.array(sorted(ids), pa.string())


def _stale(
    acts: pa.Table, old: pa.Table | None, hr_max: float | None, full: bool, *, rejudge: bool
) -> pa.Table:
    """The runs of ``acts`` whose metrics are missing or used another maximum heart rate;
    every run when they are all judged again (``rejudge``)."""
    if rejudge:
        return acts
    stored: dict[str, float | None] = {}
    if old is not None and not full:
        stored = dict(
            zip(old["activity_id"].to_pylist(), old["hr_max_bpm"].to_pylist(), strict=True)
        )

    def stale(aid: str) -> bool:
        if aid not in stored:
            return True
        have = stored[aid]
        if hr_max is None or have is None:
            return have != hr_max
        return abs(have - hr_max) > _HR_MAX_TOLERANCE_BPM

    return acts.filter(pa.array([stale(a) for a in acts["activity_id"].to_pylist()], pa.bool_()))


@dataclass(slots=True)
class _NewMetrics:
    """The recomputed runs (RUN_METRICS rows) and the lap metrics that replace theirs."""

    runs: pa.Table
    laps: list[pa.Table]
    lap_ids: set[str]
    """Runs whose lap metrics are replaced (a run whose zones alone changed keeps its laps)."""


def _new_metrics(
    lake: Lake,
    athlete: str,
    t: Thresholds,
    *,
    acts: pa.Table,
    todo: pa.Table,
    old: pa.Table | None,
    hr_max: float | None,
    full: bool,
    measured: Measured | None,
) -> _NewMetrics:
    """Metrics of the ``todo`` runs, reading records only for runs without a histogram."""
    todo_ids = set(todo["activity_id"].to_pylist())
    parts: list[pa.Table] = []  # RUN_METRICS rows whose zones are left to compute
    lap_parts: list[pa.Table] = []
    lap_ids: set[str] = set()
    if measured is not None and not full:
        # measured at ingest: only zones, easy time and load are left to compute
        pre_runs, pre_laps = measured.tables()
        pre_runs = pre_runs.filter(pc.is_in(pre_runs["activity_id"], _ids(todo_ids)))
        if pre_runs.num_rows:
            parts.append(pre_runs)
            lap_ids |= set(pre_runs["activity_id"].to_pylist())
            lap_parts.append(pre_laps.filter(pc.is_in(pre_laps["activity_id"], _ids(lap_ids))))
    if old is not None and not full:
        # stored runs whose zones used another maximum heart rate: their histogram will do
        have_hist = pc.is_valid(old["hr_histogram_bpm"])
        left = _ids(todo_ids - lap_ids)
        again = old.filter(pc.and_(pc.is_in(old["activity_id"], left), have_hist))
        if again.num_rows:
            parts.append(conform(again.drop_columns(["year"]), RUN_METRICS))
    rezoned = {a for p in parts for a in p["activity_id"].to_pylist()}
    rest = todo.filter(pc.invert(pc.is_in(todo["activity_id"], _ids(rezoned))))
    computed: list[RunMetrics] = []
    if rest.num_rows:
        per_year = dict(zip(*np.unique(acts["year"].to_numpy(), return_counts=True), strict=True))
        computed, computed_laps = _compute(
            lake,
            athlete,
            rest,
            t,
            hr_max,
            runs_per_year={int(k): int(v) for k, v in per_year.items()},
        )
        lap_ids |= {m.activity_id for m in computed}
        lap_parts += [conform(x, LAP_METRICS) for x in computed_laps]
    runs = metrics_table(computed)
    if parts:
        zoned = rezone(
            pa.concat_tables(parts), hr_max_bpm=hr_max, easy_hr_fraction=t.easy_hr_fraction
        )
        runs = pa.concat_tables([zoned, runs])
    return _NewMetrics(runs, lap_parts, lap_ids)


def _merge_run_metrics(
    old: pa.Table | None, new: pa.Table, gone: pa.Table | None
) -> tuple[pa.Table, set[int]]:
    """The other runs' metrics, the recomputed ones, none of the ``gone`` runs; and the years
    that changed.

    In time order: the sums of the week rules then do not depend on the order runs came in.
    """
    out_ids = _ids(new["activity_id"].to_pylist() + _id_list(gone))
    kept = old.filter(pc.invert(pc.is_in(old["activity_id"], out_ids))) if old is not None else None
    kept = conform(kept.drop_columns(["year"]), RUN_METRICS) if kept is not None else None
    merged = pa.concat_tables([x for x in (kept, new) if x is not None])
    merged = merged.sort_by([("start_time", "ascending"), ("activity_id", "ascending")])
    touched_years = set(pc.year(new["start_time"]).to_pylist())
    if gone is not None:
        touched_years |= set(pc.year(gone["start_time"]).to_pylist())
    return merged, touched_years


def _id_list(table: pa.Table | None) -> list[str]:
    return [] if table is None else [str(a) for a in table["activity_id"].to_pylist()]


def _write_lap_metrics(
    lake: Lake,
    athlete: str,
    merged: pa.Table,
    new: _NewMetrics,
    years: set[int],
    *,
    gone: pa.Table | None,
) -> None:
    """The same for lap metrics, by their run's year (written before the run metrics: a
    writer killed in between leaves runs whose metrics are redone, never stray laps)."""
    parts = list(new.laps)
    old_laps = lake.read("lap_metrics", athlete)
    if old_laps is not None:
        out_ids = _ids([*new.lap_ids, *_id_list(gone)])
        keep = pc.invert(pc.is_in(old_laps["activity_id"], out_ids))
        parts.insert(0, conform(old_laps.filter(keep).drop_columns(["year"]), LAP_METRICS))
    if not parts:
        return
    laps_all = pa.concat_tables(parts)
    year_by_id = dict(
        zip(
            merged["activity_id"].to_pylist(),
            pc.year(merged["start_time"]).to_pylist(),
            strict=True,
        )
    )
    lap_years = pa.array(
        [year_by_id.get(a) for a in laps_all["activity_id"].to_pylist()], pa.int32()
    )
    _write_years(lake, "lap_metrics", athlete, laps_all, years=years, year_of=lap_years)


def _in_window(week: date | None, window: tuple[date, date] | None) -> bool:
    return window is not None and week is not None and window[0] <= week_start(week) <= window[1]


def _replace_rows(
    lake: Lake,
    table: str,
    athlete: str,
    fresh: pa.Table,
    *,
    ids: set[str],
    key: str,
    span: tuple[date, date] | None,
    years: set[int],
) -> None:
    """Store ``fresh`` rows of a derived table in place of the old rows of the runs ``ids``
    and of the old rows whose ``key`` (a date) is within ``span``; keep the others."""
    schema = _schema_of(table)
    parts = [fresh]
    out_years = set(pc.year(fresh[key]).to_pylist()) | years
    if span is not None:
        out_years |= set(range(span[0].year, span[1].year + 1))
    old = lake.read(table, athlete, schema=schema)
    if old is not None:
        old = old.drop_columns(["year"])
        replaced = pc.fill_null(pc.is_in(old["activity_id"], _ids(ids)), False)
        if span is not None:
            within = pc.and_(
                pc.greater_equal(old[key], pa.scalar(span[0])),
                pc.less_equal(old[key], pa.scalar(span[1])),
            )
            replaced = pc.or_(replaced, pc.fill_null(within, False))
        parts.insert(0, conform(old.filter(pc.invert(replaced)), schema))
    rows = pa.concat_tables(parts)
    _write_years(lake, table, athlete, rows, years=out_years, year_of=_year_of(rows, key))


def _schema_of(table: str) -> pa.Schema:
    return {"flags": FLAGS, "run_rules": RUN_RULES}[table]


_NOT_FOR_RULES = [
    "hr_histogram_bpm",
    "hr_histogram_s",
    "pace_bin_s_per_km",
    "pace_bin_s",
    "pace_bin_cadence_spm",
    "pace_bin_stance_time_ms",
    "pace_bin_vertical_oscillation_mm",
]
"""RUN_METRICS columns the run rules read through :func:`judge_recent` only."""


def _write_flags(
    lake: Lake,
    athlete: str,
    t: Thresholds,
    merged: pa.Table,
    *,
    judged: Weeks | None,
    new_ids: set[str],
    window: tuple[date, date] | None,
    years: set[int],
    gone_ids: set[str],
) -> int:
    """Every run flag and run rule of the new runs and of the window's runs, every week and
    day flag of the window; the other flags are kept. Returns how many flags were computed."""
    in_window = [
        RunMetrics(**row)
        for row in merged.drop_columns(_NOT_FOR_RULES).to_pylist()
        if row["activity_id"] in new_ids or _in_window(row["date"], window)
    ]
    ids = {m.activity_id for m in in_window}
    recent = judge_recent(merged, t, ids)
    fresh: list[Flag] = [
        f for m in in_window for f in run_flags(m, athlete, t, recent.get(m.activity_id))
    ]
    if judged is not None and window is not None:
        fresh += history_flags_of(judged, athlete, t, weeks=window)
    out = new_ids | gone_ids
    _replace_rows(
        lake,
        "flags",
        athlete,
        flags_table(fresh),
        ids=out,
        key="week_start",
        span=window,
        years=years,
    )
    rules = run_rules_table(merged.filter(pc.is_in(merged["activity_id"], _ids(ids))), recent)
    days = None if window is None else (window[0], window[1] + timedelta(days=6))
    _replace_rows(lake, "run_rules", athlete, rules, ids=out, key="date", span=days, years=years)
    return len(fresh)


def _write_rules(
    lake: Lake, athlete: str, t: Thresholds, judged: Weeks | None, window: tuple[date, date]
) -> None:
    """The week rules of every week, written for the years of the window; the day rules for
    the years from the window's on (the weighted loads never forget a run)."""
    weeks = week_rules_of(judged, t)
    _write_years(
        lake,
        "week_rules",
        athlete,
        weeks,
        years=set(range(window[0].year, window[1].year + 1)),
        year_of=_year_of(weeks, "week_start"),
    )
    days = day_rules_of(judged)
    day_years = _year_of(days, "date")
    last_year = max([window[1].year + 1, *day_years.to_pylist()])
    _write_years(
        lake,
        "day_rules",
        athlete,
        days,
        years=set(range(window[0].year, last_year + 1)),
        year_of=day_years,
    )


def _warned_files(lake: Lake, athlete: str) -> set[str]:
    """The files of ``athlete`` ingested with warnings (``files.status``)."""
    files = lake.read_files(athlete, columns=["file_sha256", "status"])
    if files is None:
        return set()
    warned = files.filter(pc.fill_null(pc.equal(files["status"], "warning"), False))
    return {str(s) for s in warned["file_sha256"].to_pylist()}


def _same_rows(old: pa.Table | None, year: int, rows: pa.Table) -> bool:
    if old is None:
        return bool(rows.num_rows == 0)
    was = old.filter(pc.equal(old["year"], year)).drop_columns(["year"])
    return bool(was.sort_by("activity_id").equals(rows.sort_by("activity_id")))


def _refresh_duplicates(lake: Lake, athlete: str, every: pa.Table) -> tuple[pa.Table, bool]:
    """Which of the athlete's activities are copies of another (DUPLICATES rows), recomputed
    over all of them and written for the years whose rows changed; and whether any did."""
    dups = find_duplicates(every, _warned_files(lake, athlete))
    year_by_id = dict(zip(every["activity_id"].to_pylist(), every["year"].to_pylist(), strict=True))
    year_of = pa.array([year_by_id[a] for a in dups["activity_id"].to_pylist()], pa.int32())
    old = lake.read("duplicates", athlete, schema=DUPLICATES)
    years = set(year_of.to_pylist()) | (set() if old is None else set(old["year"].to_pylist()))
    changed = {y for y in years if not _same_rows(old, y, dups.filter(pc.equal(year_of, y)))}
    _write_years(lake, "duplicates", athlete, dups, years=changed, year_of=year_of)
    return dups, bool(changed)


def _counted_runs(every: pa.Table, dups: pa.Table) -> pa.Table:
    """The runs that count: running activities that are no one's duplicate."""
    running = pc.fill_null(pc.equal(every["sport"], "running"), False)
    primary = pc.invert(pc.is_in(every["activity_id"], dups["activity_id"].combine_chunks()))
    return every.filter(pc.and_(running, primary))


def _gone(old: pa.Table | None, acts: pa.Table) -> pa.Table | None:
    """Runs with metrics that no longer count (they became duplicates); None: none."""
    if old is None:
        return None
    gone = old.filter(pc.invert(pc.is_in(old["activity_id"], acts["activity_id"].combine_chunks())))
    return gone if gone.num_rows else None


def _first_day(table: pa.Table | None, column: str) -> date | None:
    if table is None or table.num_rows == 0:
        return None
    first = pc.min(table[column]).as_py()
    return first.date() if isinstance(first, datetime) else first


def _window(
    t: Thresholds,
    acts: pa.Table,
    run_dates: list[date],
    dirty: tuple[date, date] | None,
    *,
    full: bool,
    old: pa.Table | None,
) -> tuple[date, date] | None:
    """The weeks to judge again: those the new, the recomputed and the gone runs affect; and
    when the athlete's first run moved (an older run came, or the first one went), the weeks
    between the two first runs and after them (``long_run_spike`` judges a run only when the
    history reaches 30 days before it)."""
    window = _union(affected_weeks(run_dates, t) if run_dates else None, dirty)
    if full and window is not None:
        all_dates = acts["start_time"].to_pylist()
        window = _union(window, affected_weeks([d.date() for d in all_dates if d], t))
    firsts = {_first_day(old, "date"), _first_day(acts, "start_time")} - {None}
    if window is not None and len(firsts) > 1:
        window = _union(window, affected_weeks([d for d in firsts if d is not None], t))
    return window


def refresh_derived(
    lake: Lake,
    athlete: str,
    t: Thresholds,
    *,
    full: bool = False,
    measured: Measured | None = None,
) -> dict[str, object]:
    """Bring duplicates, run metrics, lap metrics, week rules and flags of ``athlete`` up to
    date.

    Hold the lock. ``full=True`` recomputes every run and every week (after changing
    thresholds), from the records. ``measured``: metrics of the new runs computed at ingest
    (no records read). Flags judged with other thresholds than ``t`` are all judged again
    (see the module docstring), as are metrics of another version.
    """
    athlete = validate_athlete(athlete)
    every = lake.read("activities", athlete)
    if every is None or every.num_rows == 0:
        return {"metrics_computed": 0, "flag_window": None, "written": False}
    note = _read_note(lake, athlete)
    dirty = _dirty_of(note)
    dups, dups_written = _refresh_duplicates(lake, athlete, every)
    acts = _counted_runs(every, dups)
    old = lake.read("run_metrics", athlete, schema=RUN_METRICS)
    gone = _gone(old, acts)
    # "written": whether any derived table changed (the catalog must then be rebuilt)
    done: dict[str, object] = {"metrics_computed": 0, "flag_window": None, "written": dups_written}
    done["duplicates"] = dups.num_rows
    judged_before = old is not None and old.num_rows > 0
    full = full or (judged_before and note.get("metrics_version") != METRICS_VERSION)
    rejudge = full or (judged_before and note.get("judged_with") != thresholds_fingerprint(t))
    if acts.num_rows == 0 and gone is None and dirty is None:
        return done
    hr_max = t.hr_max_bpm or estimate_hr_max(acts["max_hr_bpm"].to_pylist())
    todo = _stale(acts, old, hr_max, full, rejudge=rejudge)
    if todo.num_rows == 0 and dirty is None and gone is None:
        return done
    new = _new_metrics(
        lake, athlete, t, acts=acts, todo=todo, old=old, hr_max=hr_max, full=full, measured=measured
    )
    run_dates = new.runs["date"].to_pylist() + ([] if gone is None else gone["date"].to_pylist())
    window = _window(t, acts, [d for d in run_dates if d is not None], dirty, full=rejudge, old=old)
    _write_dirty(lake, athlete, window)  # a writer killed from here on: redo the window
    _store(lake, athlete, t, new=new, old=old, gone=gone, window=window, done=done)
    _write_note(
        lake,
        athlete,
        dirty=None,
        judged_with=thresholds_fingerprint(t),
        metrics_version=METRICS_VERSION,
    )
    done |= {
        "written": True,
        "metrics_computed": new.runs.num_rows,
        "judged_again": rejudge,  # every run and week: other thresholds or metrics
        "hr_max_bpm": hr_max,
        "flag_window": None if window is None else [window[0].isoformat(), window[1].isoformat()],
    }
    return done


def _store(
    lake: Lake,
    athlete: str,
    t: Thresholds,
    *,
    new: _NewMetrics,
    old: pa.Table | None,
    gone: pa.Table | None,
    window: tuple[date, date] | None,
    done: dict[str, object],
) -> None:
    """Write the recomputed metrics, then the flags, run rules, week and day rules."""
    merged, years = _merge_run_metrics(old, new.runs, gone)
    _write_lap_metrics(lake, athlete, merged, new, years, gone=gone)
    _write_years(
        lake,
        "run_metrics",
        athlete,
        merged,
        years=years,
        year_of=pc.year(merged["start_time"]).cast(pa.int32()),
    )
    new_ids = set(new.runs["activity_id"].to_pylist())
    judged = judge_weeks(merged, t) if window is not None else None  # once: flags and rules
    done["flags_written"] = _write_flags(
        lake,
        athlete,
        t,
        merged,
        judged=judged,
        new_ids=new_ids,
        window=window,
        years=years,
        gone_ids=set(_id_list(gone)),
    )
    if window is not None:
        _write_rules(lake, athlete, t, judged, window)
