"""A run's records as time-weighted numpy columns, and the weighted statistics over them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "BOOL",
    "F64",
    "FORM_COLUMNS",
    "HR_PLAUSIBLE_MAX_BPM",
    "I64",
    "MOVING_MIN_MPS",
    "PAUSE_GAP_S",
    "STANCE_SPIKE_MIN_MPS",
    "STANCE_SPIKE_MS",
    "WALK_MAX_SPM",
    "RunSamples",
    "as_float",
    "float_column",
    "group_mean",
    "or_none",
    "prepare_samples",
    "weighted_mean",
    "weighted_median",
]

F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

PAUSE_GAP_S: Final = 15.0
"""A gap between samples longer than this is a pause (smart recording writes every 1-8 s)."""
MOVING_MIN_MPS: Final = 1.0
"""Slower than this is standing or a stop (a slow walk is about 1.2 m/s)."""
WALK_MAX_SPM: Final = 130.0
"""A cadence under this is walking, not running (running cadence is 150-200 steps/min)."""
HR_PLAUSIBLE_MAX_BPM: Final = 220.0
"""No runner's heart rate goes above this: a higher sample is a sensor spike (an optical
sensor locked onto the step rate, a strap's static). Maximal heart rate is about
208 - 0.7 x age with a standard deviation of about 10 bpm (Tanaka et al. 2001, J Am Coll
Cardiol 37:153): 194 at 20, so 220 lies far above what a runner reaches."""
STANCE_SPIKE_MS: Final = 400.0
"""Ground contact longer than this while moving at ``STANCE_SPIKE_MIN_MPS`` or faster is a
sensor spike: at running speeds contact lasts about 160-300 ms (Garmin's red zone, the
slowest 5 % of runners, starts at 305 ms); only walking (about 600 ms) is that long."""
STANCE_SPIKE_MIN_MPS: Final = 2.0
"""Running pace for ``STANCE_SPIKE_MS``: 2 m/s is 8:20 min/km, a slow jog."""

FORM_COLUMNS: Final = (
    "cadence_spm",
    "vertical_oscillation_mm",
    "vertical_ratio_pct",
    "stance_time_ms",
    "stance_time_balance_pct",
)
"""The record columns averaged as form values."""
_READ = (
    *FORM_COLUMNS,
    "step_length_mm",
    "speed_mps",
    "distance_m",
    "heart_rate_bpm",
    "altitude_m",
    "temperature_c",
)


def float_column(t: pa.Table, name: str) -> F64:
    """Column as float64 numpy (NaN for null; all-NaN when absent)."""
    i = t.schema.get_field_index(name)
    if i < 0:
        return np.full(t.num_rows, np.nan)
    col = t.column(i)
    if pa.types.is_timestamp(col.type):
        col = col.cast(pa.int64())
    return np.asarray(col.to_numpy(), dtype=np.float64)


def or_none(x: float) -> float | None:
    """``x``, or None for NaN."""
    return None if math.isnan(x) else float(x)


def as_float(v: object) -> float | None:
    """A number from a row value (None for null, NaN, a bool or anything not a number)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return None if math.isnan(float(v)) else float(v)


def group_mean(x: F64, w: F64, group: I64, n: int) -> tuple[F64, F64]:
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


def weighted_mean(x: F64, w: F64, mask: BOOL) -> tuple[float, float]:
    """Time-weighted mean of ``x`` over ``mask`` (NaN if none) and the time with a value."""
    ok = mask & ~np.isnan(x) & (w > 0)
    cover = float(w[ok].sum())
    return (float((x[ok] * w[ok]).sum()) / cover if cover > 0 else math.nan), cover


def weighted_median(x: F64, w: F64) -> float:
    """Time-weighted median of ``x`` (NaN when no sample has a value and a weight)."""
    ok = ~np.isnan(x) & (w > 0)
    if not ok.any():
        return math.nan
    xs, ws = x[ok], w[ok]
    order = np.argsort(xs, kind="stable")
    cw = np.cumsum(ws[order])
    return float(xs[order][int(np.searchsorted(cw, cw[-1] / 2.0))])


@dataclass(frozen=True, slots=True)
class RunSamples:
    """The records of one run as time-weighted numpy columns (sorted by time)."""

    t: F64
    w: F64  # seconds each sample stands for (0 after a pause)
    pause: BOOL  # the sample follows a pause gap
    speed: F64
    moving: BOOL
    running: BOOL  # moving, and not walking (cadence, where known, of a run)
    spike: BOOL  # a sensor spike: heart rate or ground contact no runner has (now null)
    hr: F64
    cols: dict[str, F64]
    ts_ms: F64
    rows: I64  # the row of the records table each sample came from


def _weights(t: F64) -> tuple[F64, BOOL]:
    """Seconds each sample stands for, and which samples follow a pause."""
    dt = np.diff(t, prepend=t[:1]) if t.size else np.zeros(0)
    pause = dt > PAUSE_GAP_S
    # The sample after a pause stands for one usual sampling interval, not the pause.
    steps = dt[(dt > 0) & ~pause]
    usual = float(np.median(steps)) if steps.size else 0.0
    return np.where(pause, usual, np.where(dt > 0, dt, 0.0)), pause


def _speed(cols: dict[str, F64], w: F64) -> F64:
    """The device's speed, else speed from the distance (GPX-like records); NaN below 0."""
    speed = cols["speed_mps"].copy()
    dist = cols["distance_m"]
    if np.isnan(speed).any() and (~np.isnan(dist)).sum() > 1:
        dd = np.diff(dist, prepend=dist[:1])
        with np.errstate(invalid="ignore", divide="ignore"):
            derived = np.where(w > 0, dd / np.where(w > 0, w, 1.0), np.nan)
        speed = np.where(np.isnan(speed), derived, speed)
    return np.where(speed < 0, np.nan, speed)


def prepare_samples(records: pa.Table) -> RunSamples:
    """The records of one run (RECORDS columns, any missing one all-null) as samples."""
    t = float_column(records, "elapsed_s")
    ts_ms = float_column(records, "timestamp")
    if np.isnan(t).all() and not np.isnan(ts_ms).all():
        t = (ts_ms - np.nanmin(ts_ms)) / 1000.0
    rows = np.flatnonzero(~np.isnan(t)).astype(np.int64)
    cols = {name: float_column(records, name)[rows] for name in _READ}
    t, ts_ms = t[rows], ts_ms[rows]
    if t.size > 1 and (np.diff(t) < 0).any():
        order = np.argsort(t, kind="stable")
        t, ts_ms, rows = t[order], ts_ms[order], rows[order]
        cols = {k: v[order] for k, v in cols.items()}
    w, pause = _weights(t)
    speed = _speed(cols, w)
    moving = (w > 0) & (np.isnan(speed) | (speed >= MOVING_MIN_MPS))
    cad = cols["cadence_spm"]
    running = moving & (np.isnan(cad) | (cad >= WALK_MAX_SPM))
    hr = cols["heart_rate_bpm"]
    hr_spike = hr > HR_PLAUSIBLE_MAX_BPM
    hr = np.where((hr > 0) & ~hr_spike, hr, np.nan)
    gct = cols["stance_time_ms"]
    gct_spike = (gct > STANCE_SPIKE_MS) & (speed >= STANCE_SPIKE_MIN_MPS)
    cols["stance_time_ms"] = np.where(gct_spike, np.nan, gct)
    spike = hr_spike | gct_spike
    return RunSamples(t, w, pause, speed, moving, running, spike, hr, cols, ts_ms, rows)
