"""The metrics of one run: its form, steady part, within-run changes, decoupling, heart
rate and load, as one RUN_METRICS row (see the package docstring for the definitions)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Final

import numpy as np
import pyarrow as pa

from runlake._schemas import RUN_METRICS
from runlake.metrics._bands import pace_bins
from runlake.metrics._form import form_by_group
from runlake.metrics._heart import heart_rate_of_runs, hr_histogram, peak_hr
from runlake.metrics._laps import lap_metrics_of
from runlake.metrics._samples import (
    FORM_COLUMNS,
    RunSamples,
    as_float,
    or_none,
    prepare_samples,
    weighted_mean,
)
from runlake.metrics._steady import decoupling, steady_part, within_run_changes

__all__ = [
    "ACTIVITY_COLUMNS",
    "METRICS_VERSION",
    "RunMetrics",
    "measure_run",
    "metrics_table",
    "run_metrics",
]

METRICS_VERSION: Final = 2
"""The version of the metric definitions: a lake whose run metrics were computed with
another has them recomputed from its records by its next refresh. 2: walking, sensor
spikes and the time after a walk left out of the steady part; temperature; pace bins."""

# Activity summary columns used when the records have none of a form value.
_ACTIVITY_AVG = {name: f"avg_{name}" for name in (*FORM_COLUMNS, "step_length_mm")}
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
    temperature_c: float | None = None
    pace_bin_s_per_km: tuple[float, ...] | None = None
    pace_bin_s: tuple[float, ...] | None = None
    pace_bin_cadence_spm: tuple[float | None, ...] | None = None
    pace_bin_stance_time_ms: tuple[float | None, ...] | None = None
    pace_bin_vertical_oscillation_mm: tuple[float | None, ...] | None = None

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in _RUN_FIELDS}


_RUN_FIELDS = tuple(f.name for f in fields(RunMetrics))
assert tuple(RUN_METRICS.names) == _RUN_FIELDS, "RunMetrics must match RUN_METRICS"


def metrics_table(rows: Sequence[RunMetrics]) -> pa.Table:
    """RUN_METRICS table of ``rows`` (in order)."""
    return pa.Table.from_pylist([r.as_dict() for r in rows], schema=RUN_METRICS)


@dataclass(frozen=True, slots=True)
class _FormValues:
    values: dict[str, float | None]  # FORM_COLUMNS, step_length_mm, overstriding_index
    step_source: str | None
    has_running_dynamics: bool
    dynamics_sensor: str | None


def _dynamics_sensor(activity: Mapping[str, object], has_vo: bool) -> str | None:
    if not has_vo:
        return None
    product = activity.get("device_product")
    if isinstance(product, str) and "pod" in product.lower():
        return "pod"
    return "chest"


def _form_values(
    s: RunSamples, activity: Mapping[str, object], dynamics_sensor: str | None
) -> _FormValues:
    """The run's form values: from its records, else the device's session averages."""
    form = form_by_group(s, np.zeros(s.t.size, dtype=np.int64), 1)
    values: dict[str, float | None] = {k: or_none(float(v[0])) for k, v in form.values.items()}
    step_source = form.step_source[0]
    has_rd = bool(
        (~np.isnan(s.cols["vertical_oscillation_mm"])).any()
        or (~np.isnan(s.cols["stance_time_ms"])).any()
    )
    for name, avg in _ACTIVITY_AVG.items():
        missing = values[name] is None or (name == "step_length_mm" and step_source != "device")
        if missing and (v := as_float(activity.get(avg))) is not None and v > 0:
            values[name] = v
            if name == "step_length_mm":
                step_source = "device"
            if name in ("vertical_oscillation_mm", "stance_time_ms"):
                has_rd = True
    has_vo = values["vertical_oscillation_mm"] is not None
    if dynamics_sensor is None:
        dynamics_sensor = _dynamics_sensor(activity, has_vo)
    elif not has_vo:
        dynamics_sensor = None
    return _FormValues(values, step_source, has_rd, dynamics_sensor)


def _start(activity: Mapping[str, object], s: RunSamples) -> datetime | None:
    start = activity.get("start_time")
    if isinstance(start, datetime):
        return start.astimezone(UTC) if start.tzinfo is not None else start.replace(tzinfo=UTC)
    if s.ts_ms.size and not np.isnan(s.ts_ms).all():
        return datetime.fromtimestamp(float(np.nanmin(s.ts_ms)) / 1000.0, tz=UTC)
    return None


@dataclass(frozen=True, slots=True)
class _HeartFields:
    peak_hr_bpm: float | None
    hr_max_bpm: float | None
    hr_s: float | None
    easy_s: float | None
    zones_s: list[float | None]
    load: float | None
    load_source: str | None
    histogram_bpm: tuple[float | None, ...]
    histogram_s: tuple[float, ...]


def _heart_fields(
    s: RunSamples,
    duration: float | None,
    *,
    hr_max_bpm: float | None,
    easy_hr_fraction: float,
) -> _HeartFields:
    """The heart-rate fields of RUN_METRICS, from the histogram exactly as rezone() does."""
    has_hr = ~np.isnan(s.hr) & (s.w > 0)
    hr_s = float(s.w[has_hr].sum())
    bpm, secs = hr_histogram(s.hr, s.w)
    heart = heart_rate_of_runs(
        bpm,
        secs,
        np.zeros(bpm.size, dtype=np.int64),
        1,
        hr_max_bpm=hr_max_bpm,
        easy_hr_fraction=easy_hr_fraction,
        hr_s=np.array([hr_s if hr_s > 0 else math.nan]),
        duration_s=np.array([math.nan if duration is None else duration]),
    )
    return _HeartFields(
        peak_hr_bpm=peak_hr(s.hr[s.w > 0]) if hr_s > 0 else None,
        hr_max_bpm=hr_max_bpm if hr_max_bpm is not None and hr_max_bpm > 0 else None,
        hr_s=hr_s if hr_s > 0 else None,
        easy_s=or_none(float(heart.easy_s[0])),
        zones_s=[or_none(float(z)) for z in heart.zones[0]],
        load=or_none(float(heart.load[0])),
        load_source=heart.load_source[0],
        histogram_bpm=tuple(None if math.isnan(b) else b for b in bpm.tolist()),
        histogram_s=tuple(secs.tolist()),
    )


def _run_metrics(
    s: RunSamples,
    activity: Mapping[str, object],
    *,
    hr_max_bpm: float | None,
    easy_hr_fraction: float,
    dynamics_sensor: str | None = None,
) -> RunMetrics:
    form = _form_values(s, activity, dynamics_sensor)
    part = steady_part(s)
    changes = within_run_changes(s, part)
    start = _start(activity, s)
    duration = as_float(activity.get("duration_s"))
    timed = float(s.w.sum())
    if duration is None and timed > 0:
        duration = timed
    v = form.values
    h = _heart_fields(s, duration, hr_max_bpm=hr_max_bpm, easy_hr_fraction=easy_hr_fraction)
    bins = pace_bins(s, part.clean)
    temperature, _ = weighted_mean(s.cols["temperature_c"], s.w, s.moving)
    return RunMetrics(
        activity_id=str(activity.get("activity_id", "")),
        start_time=start,
        date=start.date() if start is not None else None,
        duration_s=duration,
        distance_m=as_float(activity.get("distance_m")),
        moving_s=part.moving_s,
        cadence_spm=v["cadence_spm"],
        vertical_oscillation_mm=v["vertical_oscillation_mm"],
        vertical_ratio_pct=v["vertical_ratio_pct"],
        stance_time_ms=v["stance_time_ms"],
        stance_time_balance_pct=v["stance_time_balance_pct"],
        step_length_mm=v["step_length_mm"],
        step_length_source=form.step_source if v["step_length_mm"] is not None else None,
        overstriding_index=v["overstriding_index"],
        has_running_dynamics=form.has_running_dynamics,
        dynamics_sensor=form.dynamics_sensor,
        steady_s=part.steady_s,
        steady_speed_mps=or_none(part.speed_mps),
        steady_run=part.steady_run,
        cadence_change_pct=changes["cadence_spm"],
        stance_time_change_pct=changes["stance_time_ms"],
        vertical_oscillation_change_pct=changes["vertical_oscillation_mm"],
        aerobic_decoupling_pct=decoupling(s, part),
        peak_hr_bpm=h.peak_hr_bpm,
        hr_max_bpm=h.hr_max_bpm,
        hr_s=h.hr_s,
        easy_s=h.easy_s,
        hr_zone1_s=h.zones_s[0],
        hr_zone2_s=h.zones_s[1],
        hr_zone3_s=h.zones_s[2],
        hr_zone4_s=h.zones_s[3],
        hr_zone5_s=h.zones_s[4],
        load=h.load,
        load_source=h.load_source,
        hr_histogram_bpm=h.histogram_bpm,
        hr_histogram_s=h.histogram_s,
        temperature_c=or_none(temperature),
        pace_bin_s_per_km=bins.pace_s_per_km,
        pace_bin_s=bins.seconds,
        pace_bin_cadence_spm=bins.values["cadence_spm"],
        pace_bin_stance_time_ms=bins.values["stance_time_ms"],
        pace_bin_vertical_oscillation_mm=bins.values["vertical_oscillation_mm"],
    )


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
        prepare_samples(records),
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
    s = prepare_samples(records)
    m = _run_metrics(s, activity, hr_max_bpm=hr_max_bpm, easy_hr_fraction=easy_hr_fraction)
    return m, (lap_metrics_of(s, laps) if laps is not None else None)
