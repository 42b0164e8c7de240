"""Metrics stage: form and fatigue of one run, pure functions over its records.

``run_metrics`` turns one run's records (the RECORDS columns, sorted by time) and its
ACTIVITIES row into a :class:`RunMetrics` (one row of RUN_METRICS); ``lap_metrics`` gives the
form averages per lap (LAP_METRICS). Everything is vectorised numpy: a one-hour run at 1 Hz
takes under 2 ms. Missing data gives null, never a made-up value: a run without
running dynamics has null form values (only the step length can be derived, from speed and
cadence, and ``step_length_source`` says so), a run without heart rate has null heart-rate
values and a load estimated from its duration (``load_source``).

Definitions (docs/views.md quotes them)
------------------------------------

**Samples and time.** Each sample counts for the time since the previous one (the first
counts for nothing); a gap of more than ``PAUSE_GAP_S`` between samples is a pause, and the
sample after it counts for one usual sampling interval. A sample is *moving* when its speed
is at least ``MOVING_MIN_MPS`` (samples with no speed at all count as moving) and *running*
when it is moving and its cadence, if known, is at least ``WALK_MAX_SPM``. Form averages
(cadence, oscillation, contact time, balance, step length, vertical ratio) are
time-weighted means over the running samples.

**Steady part.** The moving samples left after removing: the first ``WARMUP_S`` seconds of
moving time (warm-up: heart rate and form settle), the first ``RESUME_SKIP_S`` seconds after
every pause or stop (heart rate recovering), and every sample whose speed is more than
``OFF_PACE_FRACTION`` away from the run's typical pace (the time-weighted median speed of the
moving samples after the warm-up: intervals, walking breaks, steep hills). ``steady_s`` is its
length. A run is a *steady run* (``steady_run``) when its steady part lasts at least
``MIN_STEADY_S`` and covers at least ``STEADY_SHARE_MIN`` of the moving time after the warm-up:
easy and long runs are, interval workouts are not.

**Within-run changes** (``cadence_change_pct``, ``stance_time_change_pct``,
``vertical_oscillation_change_pct``): the time-weighted mean over the last third of the
steady part against the first third, in % (``last / first - 1``); the thirds are thirds of
steady time. Contact time and cadence are first adjusted for pace as in the overstriding
index below, so slowing down late in the run is not counted as a change of form. Null unless
the run is a steady run (a workout mixes paces), or when a third has the value for less
than half of its time.

**Aerobic decoupling** (``aerobic_decoupling_pct``, Pa:HR, Friel / TrainingPeaks): the
efficiency factor EF = mean speed / mean heart rate over the first and the second half of
the steady part (halves of steady time, samples with both values); decoupling =
``(EF1 - EF2) / EF1 x 100``. Positive means the heart rate drifted up for the same pace.
Null when the steady part is shorter than ``DECOUPLING_MIN_S`` (drift shows on longer
runs), without heart rate on at least ``HR_COVERAGE_MIN`` of each half, or when the mean
grades of the two halves differ by more than ``DECOUPLING_MAX_GRADE_DIFF`` (a climb in one
half lowers its pace and raises its heart rate: the hill, not the heart, would show). It is
not corrected for heat. The ``cardiac_drift`` flag uses it on steady runs only.

**Overstriding index** (``overstriding_index``). Overstriding is landing with the foot far
ahead of the body: each step brakes, the foot stays on the ground longer, and the step is
long for the pace, so the step rate is low for the pace. Neither sign alone is enough (long
contact with quick steps is a heavy but short stride; a low step rate with short contact is
a long flight phase), so the index multiplies them, each scaled on Garmin's running-dynamics
colour zones, whose red zones (the worst 5 % of runners in Garmin's data) begin above 308 ms
of ground contact time and below 153 steps/min::

    index = (GCT_adj / 308 ms) x (153 spm / cadence_adj)

Contact time and cadence both depend on pace (faster running: shorter contact, quicker
steps), so each sample's values are first brought to a reference speed of ``OI_REF_SPEED_MPS``
(3.0 m/s, 5:33 min/km) with typical slopes of recreational runners, ``OI_GCT_MS_PER_MPS``
(contact time shortens by about 35 ms per m/s) and ``OI_CADENCE_SPM_PER_MPS`` (cadence rises
by about 9 steps/min per m/s), the speed clipped to 2–5 m/s: ``GCT_adj = GCT + 35 x (v - 3)``,
``cadence_adj = cadence - 9 x (v - 3)``. Without this a slow jogger (short steps, long
contact) would look like an overstrider. The index is the time-weighted mean over the
running samples: 1.0 means contact time and cadence both at the red-zone boundary at
3 m/s (or one worse by as much as the other is better); clean runners are at about
0.65–0.85. It needs only ground contact time, cadence and speed, which Garmin
(``stance_time`` from a chest strap, a pod or the watch), COROS (``stance_time``) and Stryd
(the developer field Ground Time, which normalize puts in ``stance_time_ms``) all record;
without contact time it is null.

**Heart-rate zones and load.** Zones are Edwards' five zones of maximum heart rate (50–60,
60–70, 70–80, 80–90, 90+ %; time under 50 % is in none). ``easy_s`` is the time at or below
``easy_hr_fraction x hr_max``. The load is Edwards' TRIMP (minutes in each zone times the
zone number, 1–5), scaled from the time with heart rate to the whole timer time, when the
heart rate covers at least ``HR_COVERAGE_MIN`` of the run and the maximum heart rate is
known (``load_source = 'hr'``). Otherwise the run is assumed easy: timer minutes x
``DURATION_LOAD_PER_MIN`` (2.5, between Edwards' zones 2 and 3; ``load_source =
'duration'``), so loads of runs with and without heart rate stay comparable.

Zones, easy time and load are computed from the run's heart-rate histogram (seconds at each
heart rate, ``hr_histogram_bpm`` / ``hr_histogram_s``; a last null bucket holds the time
without a heart rate, so the coverage is known too), and :func:`rezone` recomputes them from
the stored histogram alone when the maximum heart rate changes: the same arithmetic as
``run_metrics``, so the values are exactly those of a recompute from the records.

**Maximum heart rate.** Configured, else ``estimate_hr_max`` over the athlete's runs: the
second-highest per-run maximum (so one strap spike cannot set it) among plausible values.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from runlake._schemas import LAP_METRICS, RUN_METRICS

__all__ = [
    "ACTIVITY_COLUMNS",
    "DECOUPLING_MAX_GRADE_DIFF",
    "DECOUPLING_MIN_S",
    "DURATION_LOAD_PER_MIN",
    "HR_COVERAGE_MIN",
    "MIN_STEADY_S",
    "MOVING_MIN_MPS",
    "OFF_PACE_FRACTION",
    "OI_CADENCE_SPM_PER_MPS",
    "OI_GCT_MS_PER_MPS",
    "OI_RED_CADENCE_SPM",
    "OI_RED_GCT_MS",
    "OI_REF_SPEED_MPS",
    "PAUSE_GAP_S",
    "RESUME_SKIP_S",
    "STEADY_SHARE_MIN",
    "WALK_MAX_SPM",
    "WARMUP_S",
    "RunMetrics",
    "estimate_hr_max",
    "hr_histogram",
    "lap_metrics",
    "measure_run",
    "metrics_table",
    "rezone",
    "run_metrics",
]

F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

# -- rules (documented in the module docstring) ----------------------------------------------
PAUSE_GAP_S: Final = 15.0
"""A gap between samples longer than this is a pause (smart recording writes every 1-8 s)."""
MOVING_MIN_MPS: Final = 1.0
"""Slower than this is standing or a stop (a slow walk is about 1.2 m/s)."""
WALK_MAX_SPM: Final = 130.0
"""A cadence under this is walking, not running (running cadence is 150-200 steps/min)."""
WARMUP_S: Final = 600.0
"""Moving time left out of the steady part at the start: heart rate and form settle."""
RESUME_SKIP_S: Final = 60.0
"""Time left out of the steady part after a pause or a stop: heart rate recovers."""
OFF_PACE_FRACTION: Final = 0.15
"""Samples more than this fraction off the run's typical (median) speed are not steady."""
MIN_STEADY_S: Final = 1200.0
"""Shortest steady part for within-run changes and for a steady run (20 min)."""
DECOUPLING_MIN_S: Final = 2400.0
"""Shortest steady part for aerobic decoupling (40 min): drift shows on longer runs."""
DECOUPLING_MAX_GRADE_DIFF: Final = 0.01
"""Decoupling is null when the halves' mean grades differ by more than this (1 point)."""
STEADY_SHARE_MIN: Final = 0.6
"""A steady run's steady part covers at least this share of the moving time after warm-up."""
HR_COVERAGE_MIN: Final = 0.8
"""Heart rate must cover this share of the time for decoupling and for a heart-rate load."""
THIRD_COVERAGE_MIN: Final = 0.5
"""A value must cover this share of a third of the steady part for a within-run change."""
PEAK_HR_SAMPLES: Final = 5
"""``peak_hr_bpm`` is the highest heart rate held for this many consecutive samples."""

OI_RED_GCT_MS: Final = 308.0
"""Garmin's red zone for ground contact time starts above 308 ms."""
OI_RED_CADENCE_SPM: Final = 153.0
"""Garmin's red zone for cadence starts below 153 steps/min."""
OI_REF_SPEED_MPS: Final = 3.0
"""Speed the overstriding index brings contact time and cadence to (5:33 min/km)."""
OI_GCT_MS_PER_MPS: Final = 35.0
"""Ground contact time shortens by about this much per m/s faster."""
OI_CADENCE_SPM_PER_MPS: Final = 9.0
"""Cadence rises by about this much per m/s faster."""
OI_SPEED_RANGE_MPS: Final = (2.0, 5.0)
"""The pace correction uses the speed clipped to this range."""

EDWARDS_ZONES: Final = (0.5, 0.6, 0.7, 0.8, 0.9)
"""Lower bounds of Edwards' five heart-rate zones, fractions of maximum heart rate."""
DURATION_LOAD_PER_MIN: Final = 2.5
"""Load per timer minute of a run without heart rate (an easy run: Edwards zone 2-3)."""
HR_MAX_PLAUSIBLE: Final = (120.0, 230.0)
"""Per-run maxima outside this range are sensor errors for ``estimate_hr_max``."""

_FORM = (
    "cadence_spm",
    "vertical_oscillation_mm",
    "vertical_ratio_pct",
    "stance_time_ms",
    "stance_time_balance_pct",
)
# Activity summary columns used when the records have none of a form value.
_ACTIVITY_AVG = {name: f"avg_{name}" for name in (*_FORM, "step_length_mm")}
ACTIVITY_COLUMNS: Final = (
    "activity_id",
    "start_time",
    "duration_s",
    "distance_m",
    "device_product",
    *_ACTIVITY_AVG.values(),
)
"""The ACTIVITIES columns ``run_metrics`` reads (the rest of the row is not needed)."""


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """One row of RUN_METRICS: the form and fatigue metrics of one run (None = null)."""

    activity_id: str
    start_time: datetime | None
    date: dt.date | None
    duration_s: float | None
    distance_m: float | None
    moving_s: float
    cadence_spm: float | None
    vertical_oscillation_mm: float | None
    vertical_ratio_pct: float | None
    stance_time_ms: float | None
    stance_time_balance_pct: float | None
    step_length_mm: float | None
    step_length_source: str | None
    overstriding_index: float | None
    has_running_dynamics: bool
    dynamics_sensor: str | None
    steady_s: float
    steady_speed_mps: float | None
    steady_run: bool
    cadence_change_pct: float | None
    stance_time_change_pct: float | None
    vertical_oscillation_change_pct: float | None
    aerobic_decoupling_pct: float | None
    peak_hr_bpm: float | None
    hr_max_bpm: float | None
    hr_s: float | None
    easy_s: float | None
    hr_zone1_s: float | None
    hr_zone2_s: float | None
    hr_zone3_s: float | None
    hr_zone4_s: float | None
    hr_zone5_s: float | None
    load: float | None
    load_source: str | None
    hr_histogram_bpm: tuple[float | None, ...] | None = None
    hr_histogram_s: tuple[float, ...] | None = None

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _RUN_FIELDS}


_RUN_FIELDS = tuple(f.name for f in fields(RunMetrics))
assert tuple(RUN_METRICS.names) == _RUN_FIELDS, "RunMetrics must match RUN_METRICS"


def metrics_table(rows: Sequence[RunMetrics]) -> pa.Table:
    """RUN_METRICS table of ``rows`` (in order)."""
    return pa.Table.from_pylist([r.as_dict() for r in rows], schema=RUN_METRICS)


# -- helpers ------------------------------------------------------------------------------


def _col(t: pa.Table, name: str) -> F64:
    """Column as float64 numpy (NaN for null; all-NaN when absent)."""
    i = t.schema.get_field_index(name)
    if i < 0:
        return np.full(t.num_rows, np.nan)
    col = t.column(i)
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.int64())
    return np.asarray(col.to_numpy(), dtype=np.float64)


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _num(v: object) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return None if math.isnan(float(v)) else float(v)


def _group_mean(x: F64, w: F64, group: I64, n: int) -> tuple[F64, F64]:
    """Time-weighted mean of ``x`` per group (NaN where none) and the time it covers.

    ``group`` is the group of each sample (-1: none); ``w`` the seconds each stands for.
    """
    valid = ~np.isnan(x)
    wv = np.where(valid & (group >= 0), w, 0.0)
    xv = np.where(valid, x, 0.0)
    if n == 1:
        cover = np.array([wv.sum()])
        total = np.array([np.dot(wv, xv)])
    else:
        g = np.maximum(group, 0)
        cover = np.bincount(g, weights=wv, minlength=n)[:n]
        total = np.bincount(g, weights=wv * xv, minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cover > 0, total / np.where(cover > 0, cover, 1.0), np.nan)
    return np.asarray(mean, dtype=np.float64), np.asarray(cover, dtype=np.float64)


def _wmean(x: F64, w: F64, mask: BOOL) -> tuple[float, float]:
    """Time-weighted mean of ``x`` over ``mask`` (NaN if none) and the time with a value."""
    ok = mask & ~np.isnan(x) & (w > 0)
    cover = float(w[ok].sum())
    return (float((x[ok] * w[ok]).sum()) / cover if cover > 0 else math.nan), cover


def _wmedian(x: F64, w: F64) -> float:
    ok = ~np.isnan(x) & (w > 0)
    if not ok.any():
        return math.nan
    xs, ws = x[ok], w[ok]
    order = np.argsort(xs, kind="stable")
    cw = np.cumsum(ws[order])
    return float(xs[order][int(np.searchsorted(cw, cw[-1] / 2.0))])


@dataclass(frozen=True, slots=True)
class _Samples:
    """The records of one run as time-weighted numpy columns (sorted by time)."""

    t: F64
    w: F64  # seconds each sample stands for (0 after a pause)
    pause: BOOL  # the sample follows a pause gap
    speed: F64
    moving: BOOL
    running: BOOL
    hr: F64
    cols: dict[str, F64]
    ts_ms: F64


def _prepare(records: pa.Table) -> _Samples:
    t = _col(records, "elapsed_s")
    ts_ms = _col(records, "timestamp")
    if np.isnan(t).all() and not np.isnan(ts_ms).all():
        t = (ts_ms - np.nanmin(ts_ms)) / 1000.0
    keep = ~np.isnan(t)
    cols = {
        name: _col(records, name)[keep]
        for name in (
            *_FORM,
            "step_length_mm",
            "speed_mps",
            "distance_m",
            "heart_rate_bpm",
            "altitude_m",
        )
    }
    t, ts_ms = t[keep], ts_ms[keep]
    if t.size > 1 and (np.diff(t) < 0).any():
        order = np.argsort(t, kind="stable")
        t, ts_ms = t[order], ts_ms[order]
        cols = {k: v[order] for k, v in cols.items()}
    dt = np.diff(t, prepend=t[:1]) if t.size else np.zeros(0)
    pause = dt > PAUSE_GAP_S
    # The sample after a pause stands for one usual sampling interval, not the pause.
    steps = dt[(dt > 0) & ~pause]
    usual = float(np.median(steps)) if steps.size else 0.0
    w = np.where(pause, usual, np.where(dt > 0, dt, 0.0))
    speed = cols["speed_mps"].copy()
    # Speed from the distance where the device wrote none (GPX-like records).
    dist = cols["distance_m"]
    if np.isnan(speed).any() and (~np.isnan(dist)).sum() > 1:
        dd = np.diff(dist, prepend=dist[:1])
        with np.errstate(invalid="ignore", divide="ignore"):
            derived = np.where(w > 0, dd / np.where(w > 0, w, 1.0), np.nan)
        speed = np.where(np.isnan(speed), derived, speed)
    speed = np.where(speed < 0, np.nan, speed)
    moving = (w > 0) & (np.isnan(speed) | (speed >= MOVING_MIN_MPS))
    cad = cols["cadence_spm"]
    running = moving & (np.isnan(cad) | (cad >= WALK_MAX_SPM))
    hr = cols["heart_rate_bpm"]
    hr = np.where(hr > 0, hr, np.nan)
    return _Samples(t, w, pause, speed, moving, running, hr, cols, ts_ms)


def _pace_adjusted(s: _Samples) -> tuple[F64, F64]:
    """Contact time and cadence brought to the reference speed (see the docstring)."""
    lo, hi = OI_SPEED_RANGE_MPS
    dv = np.clip(np.where(np.isnan(s.speed), OI_REF_SPEED_MPS, s.speed), lo, hi)
    dv = dv - OI_REF_SPEED_MPS
    gct = s.cols["stance_time_ms"] + OI_GCT_MS_PER_MPS * dv
    cad = s.cols["cadence_spm"] - OI_CADENCE_SPM_PER_MPS * dv
    return gct, cad


def _overstriding(s: _Samples) -> F64:
    """Per-sample overstriding index (NaN without contact time or cadence)."""
    gct, cad = _pace_adjusted(s)
    ok = (s.cols["stance_time_ms"] > 0) & (s.cols["cadence_spm"] >= WALK_MAX_SPM) & (cad > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        oi = (gct / OI_RED_GCT_MS) * (OI_RED_CADENCE_SPM / np.where(ok, cad, 1.0))
    return np.where(ok, oi, np.nan)


def _derived_step_mm(s: _Samples) -> F64:
    cad = s.cols["cadence_spm"]
    with np.errstate(invalid="ignore", divide="ignore"):
        step = s.speed * 60_000.0 / cad
    return np.where(cad > 0, step, np.nan)


@dataclass(frozen=True, slots=True)
class _Form:
    values: dict[str, F64]  # per group: the _FORM columns, step_length_mm, overstriding_index
    step_source: list[str | None]


def _form(s: _Samples, group: I64, n: int) -> _Form:
    g = np.where(s.running, group, -1)
    values: dict[str, F64] = {}
    for name in _FORM:
        values[name], _ = _group_mean(s.cols[name], s.w, g, n)
    device, dev_cover = _group_mean(s.cols["step_length_mm"], s.w, g, n)
    derived, der_cover = _group_mean(_derived_step_mm(s), s.w, g, n)
    values["step_length_mm"] = np.where(dev_cover > 0, device, derived)
    source: list[str | None] = [
        "device" if d > 0 else ("derived" if e > 0 else None)
        for d, e in zip(dev_cover.tolist(), der_cover.tolist(), strict=True)
    ]
    values["overstriding_index"], _ = _group_mean(_overstriding(s), s.w, g, n)
    return _Form(values, source)


def _change(x: F64, w: F64, first: BOOL, last: BOOL) -> float | None:
    a, cover_a = _wmean(x, w, first)
    b, cover_b = _wmean(x, w, last)
    need_a = THIRD_COVERAGE_MIN * float(w[first].sum())
    need_b = THIRD_COVERAGE_MIN * float(w[last].sum())
    if cover_a <= 0 or cover_b <= 0 or cover_a < need_a or cover_b < need_b or a <= 0:
        return None
    return _opt((b / a - 1.0) * 100.0)


def _half_grade(s: _Samples, part: BOOL) -> float:
    """Mean grade of a part of the run (NaN when altitude or distance is unknown)."""
    alt, dist = s.cols["altitude_m"], s.cols["distance_m"]
    if alt.size < 2:
        return math.nan
    dalt = np.diff(alt, prepend=alt[:1])
    ddist = np.diff(dist, prepend=dist[:1])
    ok = part & ~np.isnan(dalt) & ~np.isnan(ddist) & (s.w > 0)
    run = float(ddist[ok].sum())
    return float(dalt[ok].sum()) / run if run >= 100.0 else math.nan


def _decoupling(s: _Samples, steady: BOOL, half1: BOOL) -> float | None:
    both = ~np.isnan(s.hr) & ~np.isnan(s.speed)
    half2 = steady & ~half1
    efs = []
    for part in (half1, half2):
        span = float(s.w[part].sum())
        ok = part & both & (s.w > 0)
        cover = float(s.w[ok].sum())
        if span <= 0 or cover < HR_COVERAGE_MIN * span:
            return None
        hr = float((s.hr[ok] * s.w[ok]).sum())
        if hr <= 0:
            return None
        efs.append(float((s.speed[ok] * s.w[ok]).sum()) / hr)
    if efs[0] <= 0:
        return None
    # Hills confound it: a climb in one half lowers its pace and raises its heart rate.
    if abs(_half_grade(s, half2) - _half_grade(s, half1)) > DECOUPLING_MAX_GRADE_DIFF:
        return None
    return (efs[0] - efs[1]) / efs[0] * 100.0


def _peak_hr(hr: F64) -> float | None:
    ok = hr[~np.isnan(hr)]
    if ok.size == 0:
        return None
    if hr.size < PEAK_HR_SAMPLES:
        return float(ok.max())
    n = hr.size - PEAK_HR_SAMPLES + 1
    held = hr[:n].copy()
    for k in range(1, PEAK_HR_SAMPLES):
        np.minimum(held, hr[k : k + n], out=held)
    held = held[~np.isnan(held)]
    return float(held.max()) if held.size else None


def _dynamics_sensor(activity: Mapping[str, object], has_vo: bool) -> str | None:
    if not has_vo:
        return None
    product = activity.get("device_product")
    if isinstance(product, str) and "pod" in product.lower():
        return "pod"
    return "chest"


def _start(activity: Mapping[str, object], s: _Samples) -> datetime | None:
    start = activity.get("start_time")
    if isinstance(start, datetime):
        return start.astimezone(UTC) if start.tzinfo is not None else start.replace(tzinfo=UTC)
    if s.ts_ms.size and not np.isnan(s.ts_ms).all():
        return datetime.fromtimestamp(float(np.nanmin(s.ts_ms)) / 1000.0, tz=UTC)
    return None


# -- the run ------------------------------------------------------------------------------


def run_metrics(
    records: pa.Table,
    activity: Mapping[str, object],
    *,
    hr_max_bpm: float | None,
    easy_hr_fraction: float,
    dynamics_sensor: str | None = None,
) -> RunMetrics:
    """The form and fatigue metrics of one run.

    ``records``: the RECORDS columns of this activity, sorted by timestamp (any missing
    column counts as all-null). ``activity``: its ACTIVITIES row as a dict (``activity_id``,
    ``start_time``, ``duration_s``, ``distance_m``, ``device_product`` and the ``avg_*``
    form values are used). ``hr_max_bpm``: the athlete's maximum heart rate (None: no
    zones, and the load comes from the duration). ``easy_hr_fraction``: the easy ceiling as a
    fraction of it. ``dynamics_sensor``: "chest" or "pod" to override what the device says.
    """
    return _run_metrics(
        _prepare(records),
        activity,
        hr_max_bpm=hr_max_bpm,
        easy_hr_fraction=easy_hr_fraction,
        dynamics_sensor=dynamics_sensor,
    )


def measure_run(
    records: pa.Table,
    activity: Mapping[str, object],
    laps: pa.Table | None,
    *,
    hr_max_bpm: float | None,
    easy_hr_fraction: float,
) -> tuple[RunMetrics, pa.Table | None]:
    """``run_metrics`` and ``lap_metrics`` (None without laps) of one run, in one pass."""
    s = _prepare(records)
    m = _run_metrics(s, activity, hr_max_bpm=hr_max_bpm, easy_hr_fraction=easy_hr_fraction)
    return m, (_lap_metrics(s, laps) if laps is not None else None)


def _run_metrics(
    s: _Samples,
    activity: Mapping[str, object],
    *,
    hr_max_bpm: float | None,
    easy_hr_fraction: float,
    dynamics_sensor: str | None = None,
) -> RunMetrics:
    n = s.t.size
    zero = np.zeros(n, dtype=np.int64)
    form = _form(s, zero, 1)
    values: dict[str, float | None] = {k: _opt(float(v[0])) for k, v in form.values.items()}
    step_source = form.step_source[0]
    has_rd = bool(
        (~np.isnan(s.cols["vertical_oscillation_mm"])).any()
        or (~np.isnan(s.cols["stance_time_ms"])).any()
    )
    # The device's session averages where the records carry none of a value.
    for name, avg in _ACTIVITY_AVG.items():
        missing = values[name] is None or (name == "step_length_mm" and step_source != "device")
        if missing and (v := _num(activity.get(avg))) is not None and v > 0:
            values[name] = v
            if name == "step_length_mm":
                step_source = "device"
            if name in ("vertical_oscillation_mm", "stance_time_ms"):
                has_rd = True
    if dynamics_sensor is None:
        dynamics_sensor = _dynamics_sensor(activity, values["vertical_oscillation_mm"] is not None)
    elif values["vertical_oscillation_mm"] is None:
        dynamics_sensor = None

    # -- steady part
    moving_w = np.where(s.moving, s.w, 0.0)
    moving_s = float(moving_w.sum())
    after_warmup = np.cumsum(moving_w) > WARMUP_S
    stop = s.pause | ~s.moving
    idx = np.where(stop, np.arange(n), -1)
    last_stop = np.maximum.accumulate(idx) if n else idx
    since = np.where(last_stop >= 0, s.t - s.t[np.maximum(last_stop, 0)], np.inf)
    base = s.moving & after_warmup & (since >= RESUME_SKIP_S)
    typical = _wmedian(s.speed, np.where(base, s.w, 0.0))
    if math.isnan(typical):
        in_band = np.isnan(s.speed)
    else:
        in_band = np.abs(s.speed - typical) <= OFF_PACE_FRACTION * typical
    steady = base & in_band & (s.w > 0)
    sw = np.where(steady, s.w, 0.0)
    steady_s = float(sw.sum())
    steady_speed, _ = _wmean(s.speed, s.w, steady)
    steady_run = steady_s >= MIN_STEADY_S and steady_s >= STEADY_SHARE_MIN * max(
        moving_s - WARMUP_S, 0.0
    )
    changes: dict[str, float | None] = {
        "cadence_spm": None,
        "stance_time_ms": None,
        "vertical_oscillation_mm": None,
    }
    decoupling: float | None = None
    if steady_run:
        cum = np.cumsum(sw)
        first = steady & (cum <= steady_s / 3.0)
        last = steady & (cum > steady_s * 2.0 / 3.0)
        gct_adj, cad_adj = _pace_adjusted(s)
        changes["cadence_spm"] = _change(cad_adj, s.w, first, last)
        changes["stance_time_ms"] = _change(gct_adj, s.w, first, last)
        changes["vertical_oscillation_mm"] = _change(
            s.cols["vertical_oscillation_mm"], s.w, first, last
        )
    if steady_s >= DECOUPLING_MIN_S:
        cum = np.cumsum(sw)
        decoupling = _decoupling(s, steady, steady & (cum <= steady_s / 2.0))

    # -- heart rate, zones, load: from the histogram, exactly as rezone() recomputes them
    timed = float(s.w.sum())
    has_hr = ~np.isnan(s.hr) & (s.w > 0)
    hr_s = float(s.w[has_hr].sum())
    start = _start(activity, s)
    duration = _num(activity.get("duration_s"))
    if duration is None and timed > 0:
        duration = timed
    bpm, secs = hr_histogram(s.hr, s.w)
    heart = _heart_rate(
        bpm,
        secs,
        np.zeros(bpm.size, dtype=np.int64),
        1,
        hr_max_bpm=hr_max_bpm,
        easy_hr_fraction=easy_hr_fraction,
        hr_s=np.array([hr_s if hr_s > 0 else math.nan]),
        duration_s=np.array([math.nan if duration is None else duration]),
    )
    zones = [_opt(float(z)) for z in heart.zones[0]]

    return RunMetrics(
        activity_id=str(activity.get("activity_id", "")),
        start_time=start,
        date=start.date() if start is not None else None,
        duration_s=duration,
        distance_m=_num(activity.get("distance_m")),
        moving_s=moving_s,
        cadence_spm=values["cadence_spm"],
        vertical_oscillation_mm=values["vertical_oscillation_mm"],
        vertical_ratio_pct=values["vertical_ratio_pct"],
        stance_time_ms=values["stance_time_ms"],
        stance_time_balance_pct=values["stance_time_balance_pct"],
        step_length_mm=values["step_length_mm"],
        step_length_source=step_source if values["step_length_mm"] is not None else None,
        overstriding_index=values["overstriding_index"],
        has_running_dynamics=has_rd,
        dynamics_sensor=dynamics_sensor,
        steady_s=steady_s,
        steady_speed_mps=_opt(steady_speed),
        steady_run=bool(steady_run),
        cadence_change_pct=changes["cadence_spm"],
        stance_time_change_pct=changes["stance_time_ms"],
        vertical_oscillation_change_pct=changes["vertical_oscillation_mm"],
        aerobic_decoupling_pct=decoupling,
        peak_hr_bpm=_peak_hr(s.hr[s.w > 0]) if hr_s > 0 else None,
        hr_max_bpm=hr_max_bpm if hr_max_bpm is not None and hr_max_bpm > 0 else None,
        hr_s=hr_s if hr_s > 0 else None,
        easy_s=_opt(float(heart.easy_s[0])),
        hr_zone1_s=zones[0],
        hr_zone2_s=zones[1],
        hr_zone3_s=zones[2],
        hr_zone4_s=zones[3],
        hr_zone5_s=zones[4],
        load=_opt(float(heart.load[0])),
        load_source=heart.load_source[0],
        hr_histogram_bpm=tuple(None if math.isnan(b) else b for b in bpm.tolist()),
        hr_histogram_s=tuple(secs.tolist()),
    )


# -- heart rate: histogram, zones, load ------------------------------------------------------


def hr_histogram(hr: F64, w: F64) -> tuple[F64, F64]:
    """Seconds at each heart rate: the distinct values ascending (NaN last: no heart rate).

    ``hr``: heart rate per sample (NaN: none); ``w``: the seconds each sample stands for.
    Samples that stand for no time are left out.
    """
    timed = w > 0
    x, wt = hr[timed], w[timed]
    known = ~np.isnan(x)
    xk = x[known]
    if xk.size and xk.min() >= 0 and xk.max() < 1024 and (xk == np.floor(xk)).all():
        # whole beats per minute (FIT): count by value; the same sums, in sample order
        bpm = xk.astype(np.int64)
        present = np.bincount(bpm) > 0
        values = np.flatnonzero(present).astype(np.float64)
        secs = np.asarray(np.bincount(bpm, weights=wt[known])[present], dtype=np.float64)
        if not known.all():
            no_hr = np.bincount(np.zeros(x.size - xk.size, np.int64), weights=wt[~known])
            values = np.append(values, np.nan)
            secs = np.asarray(np.append(secs, no_hr), dtype=np.float64)
        return values, secs
    distinct, which = np.unique(x, return_inverse=True)
    per_value = np.bincount(which.reshape(-1), weights=wt, minlength=distinct.size)
    return np.asarray(distinct, dtype=np.float64), np.asarray(per_value, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _HeartRate:
    zones: F64  # (runs, 5) seconds in Edwards' zones 1-5 (NaN: not computable)
    easy_s: F64
    load: F64
    load_source: list[str | None]


def _heart_rate(
    bpm: F64,
    secs: F64,
    run: I64,
    n: int,
    *,
    hr_max_bpm: float | None,
    easy_hr_fraction: float,
    hr_s: F64,
    duration_s: F64,
) -> _HeartRate:
    """Zones, easy time and load of ``n`` runs from their heart-rate histograms.

    ``bpm``/``secs``: the histogram buckets of all runs, each run's together and in order;
    ``run``: the run of each bucket; ``hr_s``/``duration_s``: per run (NaN: null). One code
    path for run_metrics and rezone, so both give the same floating-point values.
    """
    known = ~np.isnan(bpm)
    timed = np.bincount(run, weights=secs, minlength=n)
    zones = np.full((n, 5), np.nan)
    easy = np.full(n, np.nan)
    trimp = np.full(n, np.nan)
    if hr_max_bpm is not None and hr_max_bpm > 0:
        with_hr = hr_s > 0
        frac = np.where(known, bpm / hr_max_bpm, 0.0)
        zone = np.searchsorted(np.asarray(EDWARDS_ZONES), frac, "right")
        per = np.bincount(run[known] * 6 + zone[known], weights=secs[known], minlength=6 * n)
        per = per.reshape(n, 6)[:, 1:]
        below = np.where(bpm[known] <= easy_hr_fraction * hr_max_bpm, secs[known], 0.0)
        easy_all = np.bincount(run[known], weights=below, minlength=n)
        zones[with_hr] = per[with_hr]
        easy[with_hr] = easy_all[with_hr]
        points = per[:, 0] + per[:, 1] * 2 + per[:, 2] * 3 + per[:, 3] * 4 + per[:, 4] * 5
        trimp = np.where(with_hr, points / 60.0, np.nan)
    with np.errstate(invalid="ignore"):
        by_hr = ~np.isnan(trimp) & (hr_s >= HR_COVERAGE_MIN * timed) & ~np.isnan(duration_s)
        load = np.where(by_hr, trimp / hr_s * duration_s, duration_s / 60.0 * DURATION_LOAD_PER_MIN)
    source: list[str | None] = [
        "hr" if h else (None if math.isnan(d) else "duration")
        for h, d in zip(by_hr.tolist(), duration_s.tolist(), strict=True)
    ]
    return _HeartRate(zones, easy, load, source)


def rezone(table: pa.Table, *, hr_max_bpm: float | None, easy_hr_fraction: float) -> pa.Table:
    """RUN_METRICS rows with zones, easy time and load recomputed for ``hr_max_bpm``.

    Only the stored heart-rate histogram, ``hr_s`` and ``duration_s`` are read: no records.
    Every row must have its histogram (rows written before it existed need their records).
    """
    bpm_lists = table["hr_histogram_bpm"].combine_chunks()
    if bpm_lists.null_count:
        raise ValueError("rezone needs the heart-rate histogram of every run")
    n = table.num_rows
    lengths = np.asarray(pc.list_value_length(bpm_lists).to_numpy(zero_copy_only=False))
    run = np.repeat(np.arange(n, dtype=np.int64), lengths.astype(np.int64))
    heart = _heart_rate(
        np.asarray(bpm_lists.flatten().to_numpy(zero_copy_only=False), dtype=np.float64),
        _col_values(table["hr_histogram_s"]),
        run,
        n,
        hr_max_bpm=hr_max_bpm,
        easy_hr_fraction=easy_hr_fraction,
        hr_s=_col(table, "hr_s"),
        duration_s=_col(table, "duration_s"),
    )
    valid = hr_max_bpm is not None and hr_max_bpm > 0
    new: dict[str, pa.Array] = {
        "hr_max_bpm": pa.array([hr_max_bpm if valid else None] * n, pa.float64()),
        "easy_s": pa.array(heart.easy_s, pa.float64(), from_pandas=True),
        "load": pa.array(heart.load, pa.float64(), from_pandas=True),
        "load_source": pa.array(heart.load_source, pa.string()),
    }
    for i in range(5):
        new[f"hr_zone{i + 1}_s"] = pa.array(heart.zones[:, i], pa.float64(), from_pandas=True)
    for name, values in new.items():
        i = table.schema.get_field_index(name)
        table = table.set_column(i, table.schema.field(i), values)
    return table


def _col_values(col: pa.ChunkedArray) -> F64:
    """The values of a list<double> column, flattened (NaN for null)."""
    flat = col.combine_chunks().flatten()
    return np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float64)


# -- laps ---------------------------------------------------------------------------------


def lap_metrics(records: pa.Table, laps: pa.Table) -> pa.Table:
    """LAP_METRICS of one activity: the form averages of each lap's running samples.

    ``laps``: the LAPS rows of the activity (``activity_id``, ``lap_index``, ``start_time``).
    A sample belongs to the last lap starting at or before its time.
    """
    if laps.num_rows == 0:
        return LAP_METRICS.empty_table()
    return _lap_metrics(_prepare(records), laps)


def _lap_metrics(s: _Samples, laps: pa.Table) -> pa.Table:
    n_laps = laps.num_rows
    if n_laps == 0:
        return LAP_METRICS.empty_table()
    lap_start = _col(laps, "start_time")
    order = np.argsort(np.where(np.isnan(lap_start), -np.inf, lap_start), kind="stable")
    starts = lap_start[order]
    if s.t.size:
        pos = np.searchsorted(starts, np.where(np.isnan(s.ts_ms), -np.inf, s.ts_ms), "right") - 1
        group = np.where(pos >= 0, order[np.clip(pos, 0, n_laps - 1)], -1).astype(np.int64)
    else:
        group = np.zeros(0, dtype=np.int64)
    form = _form(s, group, n_laps)
    moving = np.bincount(
        group[group >= 0], weights=np.where(s.moving, s.w, 0.0)[group >= 0], minlength=n_laps
    )
    cols: dict[str, object] = {
        "activity_id": laps.column("activity_id"),
        "lap_index": laps.column("lap_index"),
        "moving_s": pa.array(moving[:n_laps], type=pa.float64()),
    }
    for name, v in form.values.items():
        cols[name] = pa.array(v, type=pa.float64(), from_pandas=True)
    cols["step_length_source"] = pa.array(form.step_source, type=pa.string())
    return pa.table({f.name: cols[f.name] for f in LAP_METRICS}, schema=LAP_METRICS)


# -- maximum heart rate -------------------------------------------------------------------


def estimate_hr_max(run_max_hr_bpm: Iterable[float | None]) -> float | None:
    """An athlete's maximum heart rate from the maxima of their runs.

    Pass ``activities.max_hr_bpm`` (or ``RunMetrics.peak_hr_bpm``) of the athlete's runs.
    Values outside ``HR_MAX_PLAUSIBLE`` are sensor errors and ignored; with three or more
    runs the second-highest maximum is returned (one strap spike cannot set it), else the
    highest; None without any.
    """
    lo, hi = HR_MAX_PLAUSIBLE
    vals = sorted(v for x in run_max_hr_bpm if (v := _num(x)) is not None and lo <= v <= hi)
    if not vals:
        return None
    return vals[-2] if len(vals) >= 3 else vals[-1]
