"""Form values per pace bin: a run's cadence, ground contact and vertical oscillation at each
pace it ran, so that a run can be set beside the runner's own usual values at the same pace
(the flags' personal baselines: runlake.flags._recent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from runlake.metrics._samples import BOOL, RunSamples, group_mean

__all__ = ["BIN_COLUMNS", "BIN_SPEED_RANGE_MPS", "PACE_BIN_S_PER_KM", "PaceBins", "pace_bins"]

PACE_BIN_S_PER_KM: Final = 5.0
"""Width of a pace bin, s/km: the flags join bins into bands of a multiple of it."""
BIN_SPEED_RANGE_MPS: Final = (2.0, 7.0)
"""Speeds binned (8:20 to 2:23 min/km): slower is a shuffle, faster a GPS glitch."""
BIN_COLUMNS: Final = ("cadence_spm", "stance_time_ms", "vertical_oscillation_mm")
"""The form values kept per bin."""


@dataclass(frozen=True, slots=True)
class PaceBins:
    """One run's clean running time per pace bin (ascending), and its form values there."""

    pace_s_per_km: tuple[float, ...]
    """Lower edge of each bin, s/km (a multiple of PACE_BIN_S_PER_KM)."""
    seconds: tuple[float, ...]
    values: dict[str, tuple[float | None, ...]]
    """Per BIN_COLUMNS: the time-weighted mean in each bin (None: no value there)."""


def pace_bins(s: RunSamples, clean: BOOL) -> PaceBins:
    """The ``clean`` samples (the steady part before its pace filter: running after the
    warm-up, away from stops and walks, no sensor spike) within BIN_SPEED_RANGE_MPS, by pace
    bin."""
    lo, hi = BIN_SPEED_RANGE_MPS
    with np.errstate(invalid="ignore"):
        ok = clean & (s.speed >= lo) & (s.speed <= hi) & (s.w > 0)
    if not ok.any():
        return PaceBins((), (), dict.fromkeys(BIN_COLUMNS, ()))
    pace = 1000.0 / s.speed[ok]
    edges, group = np.unique(np.floor(pace / PACE_BIN_S_PER_KM), return_inverse=True)
    group = group.reshape(-1).astype(np.int64)
    w = s.w[ok]
    seconds = np.bincount(group, weights=w, minlength=edges.size)
    values: dict[str, tuple[float | None, ...]] = {}
    for name in BIN_COLUMNS:
        mean, _ = group_mean(s.cols[name][ok], w, group, edges.size)
        values[name] = tuple(None if np.isnan(v) else float(v) for v in mean.tolist())
    return PaceBins(
        tuple(float(e) * PACE_BIN_S_PER_KM for e in edges.tolist()),
        tuple(float(x) for x in seconds.tolist()),
        values,
    )
