"""A run's samples as lines to draw: broken at pauses and stops, lightly smoothed within
each stretch of running, and robust axis limits with what falls outside drawn at the edge.

- **Stretches.** A sample is drawn when the runner was moving (speed at least
  ``MOVING_MIN_MPS``, or no speed recorded). A new stretch starts after every pause (a gap
  over ``PAUSE_GAP_S`` between samples) and after every stop; the line is broken between
  stretches, and smoothing never reaches across a break.
- **Plausible values.** A value no sensor can mean is dropped before anything else: zeros
  (a standing pod writes 0 ms of contact time and 0 steps/min), a heart rate above the
  plausible maximum (``HR_MAX_PLAUSIBLE``, the metrics' limit) or under 30, a pace outside
  ``PACE_RANGE_S_PER_KM``.
- **Smoothing.** A running median of ``MEDIAN_SAMPLES`` samples (a one- or two-sample
  spike goes), then a centred moving mean over ``window_s`` seconds, both within a stretch.
- **Limits.** The ``LIMIT_PERCENTILES`` of the values (after the median, before the mean)
  of the *running* samples (moving, with a running cadence), widened by ``LIMIT_MARGIN`` of
  their span on each side: a walking break or a sensor spike does not stretch the axis, and
  neither does the mean carrying a walking break into the running beside it. The line is clipped to
  the limits and each stretch beyond them gets one marker on the edge.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from runlake.metrics import HR_MAX_PLAUSIBLE, MOVING_MIN_MPS, PAUSE_GAP_S, WALK_MAX_SPM
from runlake.report._values import F64

__all__ = [
    "HR_MIN_PLAUSIBLE_BPM",
    "LIMIT_MARGIN",
    "LIMIT_PERCENTILES",
    "MEDIAN_SAMPLES",
    "PACE_RANGE_S_PER_KM",
    "Line",
    "Track",
    "despiked",
    "line_of",
    "plausible",
    "robust_limits",
    "smooth",
    "track_of",
]

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

LIMIT_PERCENTILES: Final = (1.0, 99.0)
"""The axis of a run chart spans these percentiles of the running samples..."""
LIMIT_MARGIN: Final = 0.12
"""...widened by this share of their span on each side."""
PACE_RANGE_S_PER_KM: Final = (150.0, 900.0)
"""Paces drawn: 2:30 to 15:00 min/km (faster is a GPS jump, slower is standing)."""
MEDIAN_SAMPLES: Final = 5
"""The running median before the mean: removes spikes of up to two samples."""
HR_MIN_PLAUSIBLE_BPM: Final = 30.0
"""A heart rate under this is a sensor error."""

_PLAUSIBLE: Final = {
    "heart_rate_bpm": (HR_MIN_PLAUSIBLE_BPM, HR_MAX_PLAUSIBLE[1]),
    "cadence_spm": (1.0, 300.0),
    "stance_time_ms": (1.0, 2000.0),
    "vertical_oscillation_mm": (1.0, 300.0),
    "pace_s_per_km": PACE_RANGE_S_PER_KM,
}


@dataclass(frozen=True, slots=True)
class Track:
    """Where the line of a run is drawn: the stretch of each sample (-1: not drawn)."""

    t: F64  # elapsed seconds
    stretch: I64
    running: BOOL  # moving at a running cadence: the samples the limits come from
    breaks: list[tuple[float, float]]  # pauses and stops (elapsed seconds) between stretches


def track_of(t: F64, speed: F64, cadence: F64) -> Track:
    """The stretches of a run's samples (``t`` ascending; NaN speed counts as moving)."""
    n = t.size
    moving = ~(speed < MOVING_MIN_MPS) & ~np.isnan(t)
    gap = np.zeros(n, dtype=bool)
    if n > 1:
        gap[1:] = np.diff(t) > PAUSE_GAP_S
    prev_moving = np.concatenate([[False], moving[:-1]]) if n else moving
    starts = moving & (gap | ~prev_moving)
    stretch = np.where(moving, np.cumsum(starts) - 1, -1).astype(np.int64)
    running = moving & ~(cadence < WALK_MAX_SPM)
    breaks: list[tuple[float, float]] = []
    last_end: float | None = None
    for i in np.flatnonzero(starts):
        if last_end is not None:
            breaks.append((last_end, float(t[i])))
        j = int(i)
        while j + 1 < n and stretch[j + 1] == stretch[i]:
            j += 1
        last_end = float(t[j])
    return Track(t, stretch, running, breaks)


def plausible(name: str, y: F64) -> F64:
    """``y`` with the values no sensor can mean as NaN (see the module docstring)."""
    lo, hi = _PLAUSIBLE.get(name, (-math.inf, math.inf))
    return np.where((y >= lo) & (y <= hi), y, np.nan)


def despiked(track: Track, y: F64) -> F64:
    """``y`` after the running median alone (NaN where not drawn): what the limits read."""
    return np.where(track.stretch >= 0, _median(track.stretch, y), np.nan)


def _median(stretch: I64, y: F64) -> F64:
    """Running median of :data:`MEDIAN_SAMPLES` samples of the same stretch (NaN ignored)."""
    half = MEDIAN_SAMPLES // 2
    if y.size == 0:
        return y
    vals = np.pad(np.where(stretch >= 0, y, np.nan), half, constant_values=np.nan)
    st = np.pad(stretch, half, constant_values=-1)
    win = np.lib.stride_tricks.sliding_window_view(vals, MEDIAN_SAMPLES)
    same = np.lib.stride_tricks.sliding_window_view(st, MEDIAN_SAMPLES) == stretch[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN
        out = np.nanmedian(np.where(same, win, np.nan), axis=1)
    return np.where(np.isnan(y), np.nan, out)


def smooth(track: Track, y: F64, window_s: float) -> F64:
    """Centred moving mean of ``y`` over ``window_s`` seconds, within each stretch.

    NaN where the sample is not drawn or no value lies within its window (a drop-out
    shorter than the window is bridged, a longer one is not).
    """
    t, stretch = track.t, track.stretch
    y = _median(stretch, y)
    drawn = (stretch >= 0) & ~np.isnan(y)
    if not drawn.any():
        return np.full(y.size, np.nan)
    # Each stretch is a run of consecutive indices: the window of sample i is the samples
    # of its stretch within window_s / 2 of it, found on a time axis where stretches are
    # set apart by more than a window.
    spread = t + (np.maximum(stretch, 0).astype(np.float64)) * (2.0 * window_s + 1.0)
    spread = np.maximum.accumulate(np.where(np.isnan(spread), -np.inf, spread))
    lo = np.searchsorted(spread, spread - window_s / 2.0, side="left")
    hi = np.searchsorted(spread, spread + window_s / 2.0, side="right")
    vals = np.where(drawn, y, 0.0)
    csum = np.concatenate([[0.0], np.cumsum(vals)])
    ccount = np.concatenate([[0.0], np.cumsum(drawn.astype(np.float64))])
    total, count = csum[hi] - csum[lo], ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)
    return np.where(stretch >= 0, out, np.nan)


def robust_limits(y: F64, use: BOOL, *, min_span: float) -> tuple[float, float] | None:
    """The axis limits of ``y`` from its samples ``use`` (see the module docstring)."""
    vals = y[use & ~np.isnan(y)]
    if vals.size == 0:
        vals = y[~np.isnan(y)]
    if vals.size == 0:
        return None
    lo, hi = (float(v) for v in np.percentile(vals, LIMIT_PERCENTILES))
    pad = max((hi - lo) * LIMIT_MARGIN, (min_span - (hi - lo)) / 2.0, 0.0)
    return lo - pad, hi + pad


@dataclass(frozen=True, slots=True)
class Line:
    """A line ready to draw: minutes and values with NaN at the breaks, clipped to the
    limits, and the minutes of the stretches beyond them (one marker each)."""

    minutes: F64
    values: F64
    lo: float
    hi: float
    above: F64
    below: F64


def _excursions(x: F64, beyond: BOOL) -> F64:
    """The middle of each run of consecutive True in ``beyond``."""
    if not beyond.any():
        return np.zeros(0)
    edges = np.diff(np.concatenate([[0], beyond.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return np.asarray((x[starts] + x[ends]) / 2.0, dtype=np.float64)


def line_of(track: Track, y: F64, limits: tuple[float, float], max_points: int) -> Line:
    """``y`` (smoothed) as a :class:`Line` of at most about ``max_points`` points."""
    lo, hi = limits
    idx = np.flatnonzero((track.stretch >= 0) & ~np.isnan(y))
    if idx.size == 0:
        empty = np.zeros(0)
        return Line(empty, empty, lo, hi, empty, empty)
    step = max(1, math.ceil(idx.size / max_points))
    st = track.stretch[idx]
    new = np.concatenate([[True], st[1:] != st[:-1]])
    last = np.concatenate([st[1:] != st[:-1], [True]])
    keep = (np.arange(idx.size) % step == 0) | new | last
    idx, new = idx[keep], new[keep]
    # A gap within a stretch (NaN values, e.g. a sensor drop-out) also breaks the line.
    hole = np.concatenate([[False], np.diff(idx) > step])
    cut = np.flatnonzero((new | hole)[1:]) + 1
    x = track.t[idx] / 60.0
    v = y[idx]
    above = _excursions(x, v > hi)
    below = _excursions(x, v < lo)
    x_out = np.insert(x, cut, np.nan)
    v_out = np.insert(np.clip(v, lo, hi), cut, np.nan)
    return Line(x_out, v_out, lo, hi, above, below)
