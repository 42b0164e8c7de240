"""Form values per lap: the same averages as the run's, over each lap's running samples."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from runlake._schemas import LAP_METRICS
from runlake.metrics._form import form_by_group
from runlake.metrics._samples import I64, RunSamples, float_column, prepare_samples

__all__ = ["lap_metrics", "lap_metrics_of"]


def lap_metrics(records: pa.Table, laps: pa.Table) -> pa.Table:
    """LAP_METRICS of one activity: the form averages of each lap's running samples.

    ``laps``: the LAPS rows of the activity (``activity_id``, ``lap_index``, ``start_time``).
    A sample belongs to the last lap starting at or before its time.
    """
    if laps.num_rows == 0:
        return LAP_METRICS.empty_table()
    return lap_metrics_of(prepare_samples(records), laps)


def _lap_of_samples(s: RunSamples, laps: pa.Table) -> I64:
    """The lap (row of ``laps``) of each sample; -1 before the first lap."""
    n_laps = laps.num_rows
    if not s.t.size:
        return np.zeros(0, dtype=np.int64)
    lap_start = float_column(laps, "start_time")
    order = np.argsort(np.where(np.isnan(lap_start), -np.inf, lap_start), kind="stable")
    starts = lap_start[order]
    pos = np.searchsorted(starts, np.where(np.isnan(s.ts_ms), -np.inf, s.ts_ms), "right") - 1
    return np.where(pos >= 0, order[np.clip(pos, 0, n_laps - 1)], -1).astype(np.int64)


def lap_metrics_of(s: RunSamples, laps: pa.Table) -> pa.Table:
    """LAP_METRICS of one activity from its prepared samples."""
    n_laps = laps.num_rows
    if n_laps == 0:
        return LAP_METRICS.empty_table()
    group = _lap_of_samples(s, laps)
    form = form_by_group(s, group, n_laps)
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
