"""Heart rate of a run: the histogram (seconds at each heart rate), Edwards' zones, easy
time, the load (TRIMP), the peak, and the athlete's maximum (see the package docstring)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from runlake.metrics._samples import F64, HR_PLAUSIBLE_MAX_BPM, I64, as_float, float_column

__all__ = [
    "DURATION_LOAD_PER_MIN",
    "EDWARDS_ZONES",
    "HR_COVERAGE_MIN",
    "HR_MAX_PLAUSIBLE",
    "PEAK_HR_SAMPLES",
    "HeartRate",
    "estimate_hr_max",
    "heart_rate_of_runs",
    "hr_histogram",
    "peak_hr",
    "rezone",
]

HR_COVERAGE_MIN: Final = 0.8
"""Heart rate must cover this share of the time for decoupling and for a heart-rate load."""
PEAK_HR_SAMPLES: Final = 5
"""``peak_hr_bpm`` is the highest heart rate held for this many consecutive samples."""
EDWARDS_ZONES: Final = (0.5, 0.6, 0.7, 0.8, 0.9)
"""Lower bounds of Edwards' five heart-rate zones, fractions of maximum heart rate."""
DURATION_LOAD_PER_MIN: Final = 2.5
"""Load per timer minute of a run without heart rate (an easy run: Edwards zone 2-3)."""
HR_MAX_PLAUSIBLE: Final = (120.0, HR_PLAUSIBLE_MAX_BPM)
"""Per-run maxima outside this range are sensor errors for ``estimate_hr_max``."""


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
class HeartRate:
    zones: F64  # (runs, 5) seconds in Edwards' zones 1-5 (NaN: not computable)
    easy_s: F64
    load: F64
    load_source: list[str | None]


def heart_rate_of_runs(
    bpm: F64,
    secs: F64,
    run: I64,
    n: int,
    *,
    hr_max_bpm: float | None,
    easy_hr_fraction: float,
    hr_s: F64,
    duration_s: F64,
) -> HeartRate:
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
    return HeartRate(zones, easy, load, source)


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
    heart = heart_rate_of_runs(
        np.asarray(bpm_lists.flatten().to_numpy(zero_copy_only=False), dtype=np.float64),
        _col_values(table["hr_histogram_s"]),
        run,
        n,
        hr_max_bpm=hr_max_bpm,
        easy_hr_fraction=easy_hr_fraction,
        hr_s=float_column(table, "hr_s"),
        duration_s=float_column(table, "duration_s"),
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


def peak_hr(hr: F64) -> float | None:
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


def estimate_hr_max(run_max_hr_bpm: Iterable[float | None]) -> float | None:
    """An athlete's maximum heart rate from the maxima of their runs.

    Pass ``activities.max_hr_bpm`` (or ``RunMetrics.peak_hr_bpm``) of the athlete's runs.
    Values outside ``HR_MAX_PLAUSIBLE`` are sensor errors and ignored; with three or more
    runs the second-highest maximum is returned (one strap spike cannot set it), else the
    highest; None without any.
    """
    lo, hi = HR_MAX_PLAUSIBLE
    vals = sorted(v for x in run_max_hr_bpm if (v := as_float(x)) is not None and lo <= v <= hi)
    if not vals:
        return None
    return vals[-2] if len(vals) >= 3 else vals[-1]
