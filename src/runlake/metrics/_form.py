"""Form values of a run or a lap: time-weighted means over the running samples, and the
overstriding index (see the package docstring for the definitions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from runlake.metrics._samples import (
    F64,
    FORM_COLUMNS,
    I64,
    WALK_MAX_SPM,
    RunSamples,
    group_mean,
)

__all__ = [
    "OI_CADENCE_SPM_PER_MPS",
    "OI_GCT_MS_PER_MPS",
    "OI_RED_CADENCE_SPM",
    "OI_RED_GCT_MS",
    "OI_REF_SPEED_MPS",
    "OI_SPEED_RANGE_MPS",
    "Form",
    "form_by_group",
    "pace_adjusted",
]

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


def pace_adjusted(s: RunSamples) -> tuple[F64, F64]:
    """Contact time and cadence brought to the reference speed (see the docstring)."""
    lo, hi = OI_SPEED_RANGE_MPS
    dv = np.clip(np.where(np.isnan(s.speed), OI_REF_SPEED_MPS, s.speed), lo, hi)
    dv = dv - OI_REF_SPEED_MPS
    gct = s.cols["stance_time_ms"] + OI_GCT_MS_PER_MPS * dv
    cad = s.cols["cadence_spm"] - OI_CADENCE_SPM_PER_MPS * dv
    return gct, cad


def _overstriding(s: RunSamples) -> F64:
    """Per-sample overstriding index (NaN without contact time or cadence)."""
    gct, cad = pace_adjusted(s)
    ok = (s.cols["stance_time_ms"] > 0) & (s.cols["cadence_spm"] >= WALK_MAX_SPM) & (cad > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        oi = (gct / OI_RED_GCT_MS) * (OI_RED_CADENCE_SPM / np.where(ok, cad, 1.0))
    return np.where(ok, oi, np.nan)


def _derived_step_mm(s: RunSamples) -> F64:
    """Step length from speed and cadence (NaN without cadence)."""
    cad = s.cols["cadence_spm"]
    with np.errstate(invalid="ignore", divide="ignore"):
        step = s.speed * 60_000.0 / cad
    return np.where(cad > 0, step, np.nan)


@dataclass(frozen=True, slots=True)
class Form:
    values: dict[str, F64]  # per group: FORM_COLUMNS, step_length_mm, overstriding_index
    step_source: list[str | None]  # per group: "device", "derived" or None


def form_by_group(s: RunSamples, group: I64, n: int) -> Form:
    """The form values of ``n`` groups of samples (``group``: each sample's, -1: none)."""
    g = np.where(s.running, group, -1)
    values: dict[str, F64] = {}
    for name in FORM_COLUMNS:
        values[name], _ = group_mean(s.cols[name], s.w, g, n)
    device, dev_cover = group_mean(s.cols["step_length_mm"], s.w, g, n)
    derived, der_cover = group_mean(_derived_step_mm(s), s.w, g, n)
    values["step_length_mm"] = np.where(dev_cover > 0, device, derived)
    source: list[str | None] = [
        "device" if d > 0 else ("derived" if e > 0 else None)
        for d, e in zip(dev_cover.tolist(), der_cover.tolist(), strict=True)
    ]
    values["overstriding_index"], _ = group_mean(_overstriding(s), s.w, g, n)
    return Form(values, source)
