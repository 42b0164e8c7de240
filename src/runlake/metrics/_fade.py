"""The form-fade values of one run, as the thirds table of a report shows them: the first
and last thirds of the steady part, pace-adjusted (what ``run_metrics`` and the
``form_fade`` flag judge) and raw, side by side.

Computed with the metrics' own code (:func:`steady_part`, :func:`pace_adjusted`,
:func:`within_run_changes`), so ``FadeValue.change_pct`` is exactly the run's
``*_change_pct`` in ``run_metrics``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa

from runlake.metrics._form import pace_adjusted
from runlake.metrics._samples import BOOL, F64, or_none, prepare_samples, weighted_mean
from runlake.metrics._steady import steady_part, within_run_changes

__all__ = ["FADE_COLUMNS", "FadeValue", "form_fade_values"]

FADE_COLUMNS = ("cadence_spm", "stance_time_ms", "vertical_oscillation_mm")
"""The record columns whose within-run change the ``form_fade`` flag judges, in its order."""


@dataclass(frozen=True, slots=True)
class FadeValue:
    """One value's first and last third of the steady part (record units: steps/min, ms, mm).

    ``first``, ``last`` and ``change_pct`` are what the flag judges: cadence and contact
    time brought to the reference speed (``OI_REF_SPEED_MPS``), oscillation as measured;
    ``change_pct`` is None where ``run_metrics`` has null (a third with too little of the
    value). ``raw_*`` are the plain time-weighted means of the same thirds.
    """

    column: str
    pace_adjusted: bool
    first: float | None
    last: float | None
    change_pct: float | None
    raw_first: float | None
    raw_last: float | None
    raw_change_pct: float | None


def _mean(x: F64, w: F64, mask: BOOL) -> float | None:
    mean, cover = weighted_mean(x, w, mask)
    return or_none(mean) if cover > 0 else None


def _pct(first: float | None, last: float | None) -> float | None:
    if first is None or last is None or first <= 0:
        return None
    change = (last / first - 1.0) * 100.0
    return change if math.isfinite(change) else None


def form_fade_values(records: pa.Table) -> list[FadeValue] | None:
    """The form-fade values of one run's records (RECORDS columns, sorted by time), in the
    order of :data:`FADE_COLUMNS`; None when the run is not a steady run (no form fade)."""
    s = prepare_samples(records)
    part = steady_part(s)
    if not part.steady_run:
        return None
    changes = within_run_changes(s, part)
    gct_adj, cad_adj = pace_adjusted(s)
    judged = {
        "cadence_spm": cad_adj,
        "stance_time_ms": gct_adj,
        "vertical_oscillation_mm": s.cols["vertical_oscillation_mm"],
    }
    out = []
    for col in FADE_COLUMNS:
        raw = s.cols[col]
        raw_first = _mean(raw, s.w, part.first_third)
        raw_last = _mean(raw, s.w, part.last_third)
        out.append(
            FadeValue(
                column=col,
                pace_adjusted=col != "vertical_oscillation_mm",
                first=_mean(judged[col], s.w, part.first_third),
                last=_mean(judged[col], s.w, part.last_third),
                change_pct=changes[col],
                raw_first=raw_first,
                raw_last=raw_last,
                raw_change_pct=_pct(raw_first, raw_last),
            )
        )
    return out
