"""The steady part of a run, its thirds and halves, and what changes between them: the
within-run form changes and aerobic decoupling (see the package docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from runlake.metrics._form import pace_adjusted
from runlake.metrics._heart import HR_COVERAGE_MIN
from runlake.metrics._samples import (
    BOOL,
    F64,
    RunSamples,
    or_none,
    prepare_samples,
    weighted_mean,
    weighted_median,
)

__all__ = [
    "DECOUPLING_MAX_GRADE_DIFF",
    "DECOUPLING_MIN_S",
    "MIN_STEADY_S",
    "OFF_PACE_FRACTION",
    "RESUME_SKIP_S",
    "STEADY_SHARE_MIN",
    "THIRD_COVERAGE_MIN",
    "WARMUP_S",
    "RunThirds",
    "SteadyPart",
    "decoupling",
    "steady_part",
    "steady_thirds",
    "within_run_changes",
]

WARMUP_S: Final = 600.0
"""Moving time left out of the steady part at the start: heart rate and form settle."""
RESUME_SKIP_S: Final = 60.0
"""Time left out of the steady part after a pause, a stop or a walk: heart rate recovers."""
OFF_PACE_FRACTION: Final = 0.15
"""Samples more than this fraction off the run's typical (median) speed are not steady."""
MIN_STEADY_S: Final = 1200.0
"""Shortest steady part for within-run changes and for a steady run (20 min)."""
DECOUPLING_MIN_S: Final = 2400.0
"""Shortest steady part for aerobic decoupling (40 min): drift shows on longer runs."""
DECOUPLING_MAX_GRADE_DIFF: Final = 0.01
"""Decoupling is null when the halves' mean grades differ by more than this (1 point)."""
STEADY_SHARE_MIN: Final = 0.6
"""A steady run's steady part covers at least this share of the timer time after warm-up
(walking and standing with the timer running count, pauses not)."""
THIRD_COVERAGE_MIN: Final = 0.5
"""A value must cover this share of a third of the steady part for a within-run change."""


@dataclass(frozen=True, slots=True)
class SteadyPart:
    """The steady part of one run, as masks over its samples."""

    moving_s: float
    clean: BOOL  # running after the warm-up, away from stops and walks, no sensor spike
    steady: BOOL  # clean and near the run's typical pace
    steady_s: float
    speed_mps: float  # time-weighted mean speed of the steady part (NaN: none)
    steady_run: bool
    first_third: BOOL  # thirds and halves of steady time
    last_third: BOOL
    first_half: BOOL
    warmup_end_s: float | None  # sample time at which the warm-up ends (None: never)


def _since_stop(s: RunSamples) -> F64:
    """Seconds since the last pause, stop or walk before each sample (inf: none yet)."""
    n = s.t.size
    stop = s.pause | ~s.running
    idx = np.where(stop, np.arange(n), -1)
    last_stop = np.maximum.accumulate(idx) if n else idx
    return np.where(last_stop >= 0, s.t - s.t[np.maximum(last_stop, 0)], np.inf)


def steady_part(s: RunSamples) -> SteadyPart:
    """The running samples after the warm-up, away from stops and walks, without sensor
    spikes, near the run's typical pace."""
    moving_w = np.where(s.moving, s.w, 0.0)
    moving_s = float(moving_w.sum())
    after_warmup = np.cumsum(moving_w) > WARMUP_S
    base = s.running & ~s.spike & after_warmup & (_since_stop(s) >= RESUME_SKIP_S)
    typical = weighted_median(s.speed, np.where(base, s.w, 0.0))
    if math.isnan(typical):
        in_band = np.isnan(s.speed)
    else:
        in_band = np.abs(s.speed - typical) <= OFF_PACE_FRACTION * typical
    steady = base & in_band & (s.w > 0)
    sw = np.where(steady, s.w, 0.0)
    steady_s = float(sw.sum())
    speed, _ = weighted_mean(s.speed, s.w, steady)
    timed_s = float(s.w.sum())  # the timer's time: moving, walking and standing
    steady_run = steady_s >= MIN_STEADY_S and steady_s >= STEADY_SHARE_MIN * max(
        timed_s - WARMUP_S, 0.0
    )
    cum = np.cumsum(sw)
    return SteadyPart(
        moving_s=moving_s,
        clean=base & (s.w > 0),
        steady=steady,
        steady_s=steady_s,
        speed_mps=speed,
        steady_run=bool(steady_run),
        first_third=steady & (cum <= steady_s / 3.0),
        last_third=steady & (cum > steady_s * 2.0 / 3.0),
        first_half=steady & (cum <= steady_s / 2.0),
        warmup_end_s=float(s.t[np.argmax(after_warmup)]) if after_warmup.any() else None,
    )


def _change(x: F64, w: F64, first: BOOL, last: BOOL) -> float | None:
    a, cover_a = weighted_mean(x, w, first)
    b, cover_b = weighted_mean(x, w, last)
    need_a = THIRD_COVERAGE_MIN * float(w[first].sum())
    need_b = THIRD_COVERAGE_MIN * float(w[last].sum())
    if cover_a <= 0 or cover_b <= 0 or cover_a < need_a or cover_b < need_b or a <= 0:
        return None
    return or_none((b / a - 1.0) * 100.0)


def within_run_changes(s: RunSamples, part: SteadyPart) -> dict[str, float | None]:
    """Last third against first third, in % (pace-adjusted contact time and cadence).

    Keyed by the record column; all None unless the run is a steady run.
    """
    if not part.steady_run:
        return {"cadence_spm": None, "stance_time_ms": None, "vertical_oscillation_mm": None}
    first, last = part.first_third, part.last_third
    gct_adj, cad_adj = pace_adjusted(s)
    return {
        "cadence_spm": _change(cad_adj, s.w, first, last),
        "stance_time_ms": _change(gct_adj, s.w, first, last),
        "vertical_oscillation_mm": _change(s.cols["vertical_oscillation_mm"], s.w, first, last),
    }


def _half_grade(s: RunSamples, part: BOOL) -> float:
    """Mean grade of a part of the run (NaN when altitude or distance is unknown)."""
    alt, dist = s.cols["altitude_m"], s.cols["distance_m"]
    if alt.size < 2:
        return math.nan
    dalt = np.diff(alt, prepend=alt[:1])
    ddist = np.diff(dist, prepend=dist[:1])
    ok = part & ~np.isnan(dalt) & ~np.isnan(ddist) & (s.w > 0)
    run = float(ddist[ok].sum())
    return float(dalt[ok].sum()) / run if run >= 100.0 else math.nan


def _efficiency(s: RunSamples, part: BOOL) -> float | None:
    """Mean speed over mean heart rate of a part (None without enough heart rate)."""
    both = ~np.isnan(s.hr) & ~np.isnan(s.speed)
    span = float(s.w[part].sum())
    ok = part & both & (s.w > 0)
    cover = float(s.w[ok].sum())
    if span <= 0 or cover < HR_COVERAGE_MIN * span:
        return None
    hr = float((s.hr[ok] * s.w[ok]).sum())
    if hr <= 0:
        return None
    return float((s.speed[ok] * s.w[ok]).sum()) / hr


def decoupling(s: RunSamples, part: SteadyPart) -> float | None:
    """Aerobic decoupling (Pa:HR) between the halves of the steady part, in %."""
    if part.steady_s < DECOUPLING_MIN_S:
        return None
    half1, half2 = part.first_half, part.steady & ~part.first_half
    ef1, ef2 = _efficiency(s, half1), _efficiency(s, half2)
    if ef1 is None or ef2 is None or ef1 <= 0:
        return None
    # Hills confound it: a climb in one half lowers its pace and raises its heart rate.
    if abs(_half_grade(s, half2) - _half_grade(s, half1)) > DECOUPLING_MAX_GRADE_DIFF:
        return None
    return (ef1 - ef2) / ef1 * 100.0


@dataclass(frozen=True, slots=True)
class RunThirds:
    """The thirds of a run's steady part as the within-run changes use them.

    Masks and weights are over the rows of the records given to :func:`steady_thirds`.
    """

    steady_run: bool
    warmup_end_s: float | None  # elapsed seconds at which the warm-up ends
    first: BOOL
    last: BOOL
    weights: F64  # seconds each record stands for


def steady_thirds(records: pa.Table) -> RunThirds:
    """The first and last thirds of the steady part of one run's records (RECORDS columns)."""
    s = prepare_samples(records)
    part = steady_part(s)
    n = records.num_rows

    def on_rows(values: BOOL) -> BOOL:
        out = np.zeros(n, dtype=bool)
        out[s.rows] = values
        return out

    weights = np.zeros(n)
    weights[s.rows] = s.w
    return RunThirds(
        steady_run=part.steady_run,
        warmup_end_s=part.warmup_end_s,
        first=on_rows(part.first_third),
        last=on_rows(part.last_third),
        weights=weights,
    )
