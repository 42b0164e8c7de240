"""What a run is compared with from the runs before it: the run rules that need the history.

From one athlete's runs (RUN_METRICS rows: ``activity_id``, ``start_time`` or ``date``,
``distance_m``, ``duration_s`` and the ``pace_bin_*`` lists) and the :class:`Thresholds`,
:func:`judge_recent` gives each run asked for its :class:`Recent`:

* **the longest run of the days before** (``long_run_spike_days``, 30: the runs that started
  in the 30 days before this one started) and the change against it: on distance, or on
  time when this run or one of those has no distance (``long_run_spike``). Runs under
  ``long_run_spike_min_s`` (10 min) or ``long_run_spike_min_km`` (1 km) count neither as
  the reference nor as a spike (a warm-up, strides, a watch started by mistake). None when
  those days hold no run (a return after a month off is a spike of nothing), and when the
  athlete's history does not reach back over them (the first month of a lake: the runs
  before it are not known, and their longest may have been longer);
* **its usual form at the same pace** (a personal baseline): the pace band of
  ``baseline_pace_band_s_per_km`` (from 0 s/km) in which the run ran longest, among the bands
  with a baseline; the baseline is the runs of the ``baseline_days`` before it with at
  least ``baseline_run_min_band_s`` in that band, at least ``baseline_min_runs`` of them and
  ``baseline_min_band_s`` together. For cadence, ground contact time and vertical
  oscillation: the run's value in the band, the median of those runs' values (the usual),
  their robust spread (1.4826 x the median absolute deviation, at least
  ``MIN_SPREAD_FRACTION`` of the usual) and the departure in spreads
  (``form_off_baseline``). A run's values in a band join its 5 s/km pace bins, weighted by
  the seconds of each bin with a value.

Both read only the runs before a run (within ``long_run_spike_days`` and ``baseline_days``),
so adding a run changes only the runs of the weeks :func:`~runlake.flags.affected_weeks`
returns. :func:`run_rules_table` is the same judgement as RUN_RULES, which the lake stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from runlake._schemas import RUN_RULES
from runlake.flags._thresholds import Thresholds
from runlake.metrics import BIN_COLUMNS

__all__ = [
    "FORM_UNITS",
    "MIN_SPREAD_FRACTION",
    "NO_RECENT",
    "Recent",
    "Usual",
    "judge_recent",
    "run_rules_table",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MIN_SPREAD_FRACTION: Final = 0.005
"""The robust spread of a baseline is at least this share of its usual value (0.5 %: about a
step a minute or a millisecond of contact), so a very even history cannot make a sensor's
last digit a departure."""
ROBUST_SD_PER_MAD: Final = 1.4826
"""The median absolute deviation of normal data is this many times smaller than its SD."""
FORM_UNITS: Final = {"cadence_spm": "spm", "stance_time_ms": "ms", "vertical_oscillation_mm": "mm"}
"""The suffix of each compared form value's columns in RUN_RULES."""
_DAY_MS: Final = 86_400_000.0


@dataclass(frozen=True, slots=True)
class Usual:
    """One form value of a run against the runner's usual one at the same pace."""

    value: float | None
    """The run's value in the band."""
    usual: float | None = None
    """The median of the baseline runs' values (None: no baseline)."""
    spread: float | None = None
    departure_sd: float | None = None
    """(value - usual) / spread."""

    @property
    def change_pct(self) -> float | None:
        if self.value is None or self.usual is None or self.usual <= 0:
            return None
        return (self.value / self.usual - 1.0) * 100.0


@dataclass(frozen=True, slots=True)
class Recent:
    """What one run is compared with from the runs before it (None: nothing to compare)."""

    long_run_basis: str | None = None
    """distance or time (None: no run in the days before)."""
    prior_longest_m: float | None = None
    prior_longest_s: float | None = None
    long_run_change_pct: float | None = None
    """This run against the longest of the days before, on ``long_run_basis``, %."""
    band_s_per_km: float | None = None
    """Lower edge of the pace band compared, s/km."""
    baseline_runs: int | None = None
    baseline_band_s: float | None = None
    form: Mapping[str, Usual] = field(default_factory=dict)
    """Per BIN_COLUMNS (only the values the run has in the band)."""


NO_RECENT: Final = Recent()


def _floats(runs: pa.Table, name: str) -> F64:
    if name not in runs.column_names:
        return np.full(runs.num_rows, np.nan)
    return np.asarray(runs.column(name).cast(pa.float64()).to_numpy(), dtype=np.float64)


def _start_ms(runs: pa.Table) -> F64:
    """Each run's start (ms since 1970), else its date's midnight; NaN: unknown."""
    start = np.full(runs.num_rows, np.nan)
    if "start_time" in runs.column_names:
        ms = runs.column("start_time").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        start = np.asarray(ms.to_numpy(), dtype=np.float64)
    if "date" in runs.column_names:
        days = runs.column("date").cast(pa.date32()).cast(pa.int32())
        by_day = np.asarray(days.to_numpy(), dtype=np.float64) * _DAY_MS
        start = np.where(np.isnan(start), by_day, start)
    return start


@dataclass(frozen=True, slots=True)
class _Bands:
    """Every run's time and form values per pace band (one row per run and band)."""

    run: I64
    band: F64
    seconds: F64
    values: dict[str, F64]


def _bands(runs: pa.Table, width: float) -> _Bands:
    """Each run's pace bins joined into bands of ``width`` s/km."""
    empty = _Bands(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.float64), {})
    if "pace_bin_s_per_km" not in runs.column_names or runs.num_rows == 0:
        return empty
    edges_col = runs.column("pace_bin_s_per_km").combine_chunks()
    parent = np.asarray(pc.list_parent_indices(edges_col).to_numpy(), dtype=np.int64)
    if parent.size == 0:
        return empty

    def flat(name: str) -> F64:
        col = runs.column(name).combine_chunks()
        return np.asarray(pc.list_flatten(col).to_numpy(zero_copy_only=False), dtype=np.float64)

    band = np.floor(flat("pace_bin_s_per_km") / width) * width
    secs = flat("pace_bin_s")
    keys, group = np.unique(np.stack([parent, band.astype(np.int64)]), axis=1, return_inverse=True)
    group = group.reshape(-1)
    n = keys.shape[1]
    values: dict[str, F64] = {}
    for name in BIN_COLUMNS:
        x = flat(f"pace_bin_{name}")
        ok = ~np.isnan(x)
        w = np.where(ok, secs, 0.0)
        cover = np.bincount(group, weights=w, minlength=n)
        total = np.bincount(group, weights=np.where(ok, x * secs, 0.0), minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            values[name] = np.where(cover > 0, total / np.where(cover > 0, cover, 1.0), np.nan)
    seconds = np.asarray(np.bincount(group, weights=secs, minlength=n), dtype=np.float64)
    return _Bands(keys[0].astype(np.int64), keys[1].astype(np.float64), seconds, values)


def _long_enough(dist: F64, dur: F64, t: Thresholds) -> npt.NDArray[np.bool_]:
    """Runs the long-run spike counts: at least ``long_run_spike_min_s`` and, when they
    have a distance, ``long_run_spike_min_km`` (not a warm-up, strides or a stray start)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(
            (dur >= t.long_run_spike_min_s) & ~(dist < t.long_run_spike_min_km * 1000.0),
            dtype=np.bool_,
        )


def _longest_before(
    i: int, start: F64, dist: F64, dur: F64, t: Thresholds
) -> tuple[str | None, float | None, float | None, float | None]:
    """(basis, longest distance, longest time, change %) against the days before run i.

    ``dist`` and ``dur`` are NaN for the runs the rule does not count (:func:`_long_enough`).
    """
    since = start[i] - t.long_run_spike_days * _DAY_MS
    lo = int(np.searchsorted(start, since, "left"))
    hi = int(np.searchsorted(start, start[i], "left"))
    counted = ~np.isnan(dur[lo:hi])
    if not counted.any() or start[0] > since or np.isnan(dur[i]):
        return None, None, None, None  # no run in those days, no history over them, or short
    prior_d, prior_t = dist[lo:hi][counted], dur[lo:hi][counted]
    longest_m = float(np.nanmax(prior_d)) if (~np.isnan(prior_d)).any() else None
    longest_s = float(np.nanmax(prior_t)) if (~np.isnan(prior_t)).any() else None
    on_time = bool(np.isnan(dist[i]) or np.isnan(prior_d).any())
    value, ref = (dur[i], longest_s) if on_time else (dist[i], longest_m)
    change = None
    if ref is not None and ref > 0 and not np.isnan(value):
        change = (float(value) / ref - 1.0) * 100.0
    return ("time" if on_time else "distance"), longest_m, longest_s, change


def _median(x: F64) -> float:
    """The median of a few values (np.median's checks cost more than the sort here)."""
    s = np.sort(x)
    n = s.size
    return float((s[(n - 1) // 2] + s[n // 2]) / 2.0)


def _usual(value: float, history: F64) -> Usual:
    """The run's value against the baseline runs' values of the same band."""
    usual = _median(history)
    mad = _median(np.abs(history - usual))
    spread = max(ROBUST_SD_PER_MAD * mad, MIN_SPREAD_FRACTION * abs(usual))
    departure = (value - usual) / spread if spread > 0 else None
    return Usual(value, usual, spread, departure)


class _Baselines:
    """The personal baselines: every run's band rows, by band in time order."""

    def __init__(self, runs: pa.Table, start: F64, t: Thresholds) -> None:
        self.t = t
        self.start = start
        self.b = _bands(runs, t.baseline_pace_band_s_per_km)
        enough = self.b.seconds >= t.baseline_run_min_band_s
        self.by_band: dict[float, I64] = {}
        rows = np.flatnonzero(enough)
        for band in np.unique(self.b.band[rows]).tolist():
            these = rows[self.b.band[rows] == band]
            order = np.argsort(start[self.b.run[these]], kind="stable")
            self.by_band[float(band)] = these[order]
        mine = rows[np.argsort(self.b.run[rows], kind="stable")]  # each run's band rows
        runs, first = np.unique(self.b.run[mine], return_index=True)
        parts = np.split(mine, first[1:]) if mine.size else []
        self.own: dict[int, I64] = dict(zip(runs.tolist(), parts, strict=True))

    def _before(self, i: int, band: float) -> I64:
        """The band rows of the runs of the baseline days before run i."""
        rows = self.by_band.get(band, np.zeros(0, np.int64))
        starts = self.start[self.b.run[rows]]
        lo = int(np.searchsorted(starts, self.start[i] - self.t.baseline_days * _DAY_MS, "left"))
        hi = int(np.searchsorted(starts, self.start[i], "left"))
        return rows[lo:hi]

    def judge(self, i: int) -> tuple[float | None, int | None, float | None, dict[str, Usual]]:
        """(band, baseline runs, their seconds, form values) of run i."""
        own = self.own.get(i, np.zeros(0, np.int64))
        if own.size == 0:
            return None, None, None, {}
        own = own[np.argsort(-self.b.seconds[own], kind="stable")]  # longest first
        chosen, before = int(own[0]), np.zeros(0, np.int64)
        for row in own.tolist():
            rows = self._before(i, float(self.b.band[row]))
            if rows.size >= self.t.baseline_min_runs and (
                self.b.seconds[rows].sum() >= self.t.baseline_min_band_s
            ):
                chosen, before = row, rows
                break
        form: dict[str, Usual] = {}
        for name in BIN_COLUMNS:
            value = float(self.b.values[name][chosen])
            if np.isnan(value):
                continue
            history = self.b.values[name][before]
            history = history[~np.isnan(history)]
            enough = before.size and history.size >= self.t.baseline_min_runs
            form[name] = _usual(value, history) if enough else Usual(value)
        runs = int(before.size) if before.size else None
        secs = float(self.b.seconds[before].sum()) if before.size else None
        return float(self.b.band[chosen]), runs, secs, form


def judge_recent(runs: pa.Table, t: Thresholds, ids: Iterable[str]) -> dict[str, Recent]:
    """The :class:`Recent` of the runs ``ids`` (activity ids) among one athlete's ``runs``."""
    wanted = set(ids)
    if runs.num_rows == 0 or not wanted:
        return {}
    start = _start_ms(runs)
    order = np.argsort(np.where(np.isnan(start), np.inf, start), kind="stable")
    runs = runs.take(pa.array(order))
    start = start[order]
    dist, dur = _floats(runs, "distance_m"), _floats(runs, "duration_s")
    dist = np.where(dist > 0, dist, np.nan)
    dur = np.where(dur > 0, dur, np.nan)
    counts = _long_enough(dist, dur, t)
    dist, dur = np.where(counts, dist, np.nan), np.where(counts, dur, np.nan)
    baselines = _Baselines(runs, start, t)
    out: dict[str, Recent] = {}
    for i, aid in enumerate(runs.column("activity_id").to_pylist()):
        if aid not in wanted:
            continue
        if np.isnan(start[i]):
            out[str(aid)] = NO_RECENT
            continue
        basis, longest_m, longest_s, change = _longest_before(i, start, dist, dur, t)
        band, n_runs, band_s, form = baselines.judge(i)
        out[str(aid)] = Recent(basis, longest_m, longest_s, change, band, n_runs, band_s, form)
    return out


def run_rules_table(runs: pa.Table, recent: Mapping[str, Recent]) -> pa.Table:
    """RUN_RULES rows of the runs in ``recent`` (``runs``: their RUN_METRICS rows, for the
    dates), in the order of ``runs``."""
    rows = []
    for aid, day in zip(
        runs.column("activity_id").to_pylist(), runs.column("date").to_pylist(), strict=True
    ):
        r = recent.get(aid)
        if r is None:
            continue
        row: dict[str, object] = {
            "activity_id": aid,
            "date": day,
            "long_run_basis": r.long_run_basis,
            "prior_longest_m": r.prior_longest_m,
            "prior_longest_s": r.prior_longest_s,
            "long_run_change_pct": r.long_run_change_pct,
            "baseline_pace_band_s_per_km": r.band_s_per_km,
            "baseline_runs": r.baseline_runs,
            "baseline_band_s": r.baseline_band_s,
        }
        for name, unit in FORM_UNITS.items():
            u = r.form.get(name, Usual(None))
            stem = name.rsplit("_", 1)[0]
            row[f"band_{stem}_{unit}"] = u.value
            row[f"usual_{stem}_{unit}"] = u.usual
            row[f"spread_{stem}_{unit}"] = u.spread
            row[f"{stem}_departure_sd"] = u.departure_sd
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=RUN_RULES)
