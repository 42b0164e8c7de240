"""Summary values of an activity or lap: the device's where it wrote them, else computed
from the records (nothing invented: a value neither has stays null)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from runlake.normalize._columns import nan_max, nan_mean, to_numpy
from runlake.normalize._geo import ascent_descent

__all__ = [
    "MESSAGE_FIELDS",
    "RecordColumns",
    "merge_summary",
    "summary_from_message",
    "summary_from_records",
]

_MEANS = {
    "avg_hr_bpm": "heart_rate_bpm",
    "avg_cadence_spm": "cadence_spm",
    "avg_cadence_rpm": "cadence_rpm",
    "avg_power_w": "power_w",
    "avg_vertical_oscillation_mm": "vertical_oscillation_mm",
    "avg_vertical_ratio_pct": "vertical_ratio_pct",
    "avg_stance_time_ms": "stance_time_ms",
    "avg_stance_time_balance_pct": "stance_time_balance_pct",
    "avg_step_length_mm": "step_length_mm",
}
_MAXES = {"max_speed_mps": "speed_mps", "max_hr_bpm": "heart_rate_bpm"}


class RecordColumns:
    """An activity's record columns as numpy arrays, converted only when asked for.

    ``cols``: the contract record columns of the file; ``ts``: their times in seconds
    (``"t"``); ``mask``: the samples of this activity (None: all of them).
    """

    def __init__(self, cols: dict[str, pa.Array], ts: np.ndarray, mask: np.ndarray | None):
        self._cols = cols
        self._ts = ts
        self._mask = mask
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            arr = self._ts if key == "t" else to_numpy(self._cols[key])
            self._cache[key] = arr if self._mask is None else arr[self._mask]
        return self._cache[key]


def _span(values: np.ndarray) -> float | None:
    """Largest minus smallest value (None with fewer than two values)."""
    ok = values[~np.isnan(values)]
    return float(ok.max() - ok.min()) if ok.size >= 2 else None


def summary_from_records(rec: RecordColumns, have: dict[str, object]) -> dict[str, float | None]:
    """Summary values computed from an activity's samples where the device wrote none.

    Only the values missing from ``have`` (the device's) are computed.
    """
    out: dict[str, float | None] = {}

    def missing(key: str) -> bool:
        return have.get(key) is None

    if missing("elapsed_s"):
        out["elapsed_s"] = _span(rec["t"])
    if missing("distance_m"):
        out["distance_m"] = _span(rec["distance_m"])
    for key, col in _MEANS.items():
        if missing(key):
            out[key] = nan_mean(rec[col])
    for key, col in _MAXES.items():
        if missing(key):
            out[key] = nan_max(rec[col])
    if missing("total_ascent_m") or missing("total_descent_m"):
        up, down = ascent_descent(rec["altitude_m"])
        if missing("total_ascent_m"):
            out["total_ascent_m"] = up
        if missing("total_descent_m"):
            out["total_descent_m"] = down
    return out


# The fields of a session or lap message that summary_from_message reads.
MESSAGE_FIELDS = frozenset(
    {
        "start_time",
        "timestamp",
        "total_timer_time",
        "total_elapsed_time",
        "total_distance",
        "enhanced_avg_speed",
        "avg_speed",
        "enhanced_max_speed",
        "max_speed",
        "avg_heart_rate",
        "max_heart_rate",
        "avg_running_cadence",
        "avg_cadence",
        "avg_fractional_cadence",
        "avg_power",
        "avg_vertical_oscillation",
        "avg_vertical_ratio",
        "avg_stance_time",
        "avg_stance_time_balance",
        "avg_step_length",
        "total_ascent",
        "total_descent",
        "total_calories",
    }
)


def summary_from_message(row: dict[str, object], foot: bool) -> dict[str, object]:
    """Summary values of a FIT session or lap message in SI units (None where not written)."""

    def num(*names: str) -> float | None:
        for name in names:
            v = row.get(name)
            if isinstance(v, int | float) and not (isinstance(v, float) and np.isnan(v)):
                return float(v)
        return None

    def positive(*names: str) -> float | None:
        # Devices write 0 for "no sensor" in these averages: 0 bpm or 0 W over a session is
        # missing data, not a value.
        v = num(*names)
        return v if v is not None and v > 0 else None

    cad = positive("avg_running_cadence", "avg_cadence")
    if cad is not None:
        cad += num("avg_fractional_cadence") or 0.0
    return {
        "start_time": row.get("start_time") or row.get("timestamp"),
        "duration_s": num("total_timer_time"),
        "elapsed_s": num("total_elapsed_time"),
        "distance_m": num("total_distance"),
        "avg_speed_mps": num("enhanced_avg_speed", "avg_speed"),
        "max_speed_mps": num("enhanced_max_speed", "max_speed"),
        "avg_hr_bpm": positive("avg_heart_rate"),
        "max_hr_bpm": positive("max_heart_rate"),
        "avg_cadence_spm": cad * 2.0 if cad is not None and foot else None,
        "avg_cadence_rpm": cad if cad is not None and not foot else None,
        "avg_power_w": positive("avg_power"),
        "avg_vertical_oscillation_mm": positive("avg_vertical_oscillation"),
        "avg_vertical_ratio_pct": positive("avg_vertical_ratio"),
        "avg_stance_time_ms": positive("avg_stance_time"),
        "avg_stance_time_balance_pct": positive("avg_stance_time_balance"),
        "avg_step_length_mm": positive("avg_step_length"),
        "total_ascent_m": num("total_ascent"),
        "total_descent_m": num("total_descent"),
        "total_calories_kcal": num("total_calories"),
    }


def merge_summary(
    device: dict[str, object], computed: dict[str, float | None]
) -> dict[str, object]:
    """The device's summary, completed with the computed values where it has none."""
    out = dict(device)
    for k, v in computed.items():
        if out.get(k) is None:
            out[k] = v
    if out.get("duration_s") is None:
        out["duration_s"] = out.get("elapsed_s")
    if out.get("avg_speed_mps") is None:
        dist, dur = out.get("distance_m"), out.get("duration_s")
        if isinstance(dist, float) and isinstance(dur, float) and dur > 0:
            out["avg_speed_mps"] = dist / dur
    return out
