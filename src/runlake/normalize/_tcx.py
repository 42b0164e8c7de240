"""Normalize a decoded TCX file: one activity per ``<Activity>``, its laps, its trackpoints.

The laps become a table with the FIT lap field names :func:`summary_from_message` reads
(``total_timer_time``, ``total_distance``, ``enhanced_max_speed``...), so one summary code
path serves FIT and TCX; each activity's device summary is made from its laps (sums, the
largest maximum, time-weighted averages) where every lap has the value, and completed from
the trackpoints by :func:`assemble` where it has not.

Decisions where TCX writers differ (each with a test in tests/normalize/test_tcx.py):

- **Distance**: the device's ``DistanceMeters`` where the activity has any above 0 (an
  Apple Watch app writes 0 throughout); else the cumulative great-circle distance between
  positions, as for GPX.
- **Speed**: TPX ``Speed`` where the activity has any above 0; else distance over time
  between trackpoints.
- **Cadence**: on foot, TPX ``RunCadence`` (else the trackpoint ``Cadence``) is strides per
  minute and doubled into steps; a writer whose running cadence is above
  :data:`STRIDES_MAX_SPM` strides per minute at the median wrote steps already (Huawei's
  converter): taken as steps, with a warning. Otherwise ``Cadence`` is revolutions/min.
- **MaximumSpeed**: a lap's value above :data:`MAX_SPEED_MPS` is not m/s (Strava writes
  metres per hour: 16200 for 4.5 m/s; MapMyRide writes 138 for a bike ride): ignored with
  a warning, and the maximum comes from the trackpoints.
- **Lap time**: a ``TotalTimeSeconds`` of 0, or under a tenth of the time its trackpoints
  span (an app that wrote minutes), is not the lap's time: ignored with a warning (the
  activity's time then comes from its trackpoints).
- **Sport**: Running -> running, Biking -> cycling, Other -> generic; a writer's own value
  is read by its words (``TrailRun`` -> running/trail, ``VirtualRide`` ->
  cycling/virtual_activity, ``Treadmill`` -> running/treadmill, ``Walk``, ``Hike``,
  ``Swim``, ``Row``...).
- A heart rate of 0 is a strap that lost contact (null), a position of exactly 0/0 no GPS
  fix (null, in the decoder).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from runlake._errors import NotAnActivity, Problem, ProblemKind
from runlake.decode import TcxActivity, TcxFile
from runlake.normalize._assemble import (
    FOOT_SPORTS,
    LAP_SESSION,
    Normalized,
    Sessions,
    SourceInfo,
    assemble,
    time_anomalies,
)
from runlake.normalize._columns import from_numpy, timestamp_seconds, to_numpy
from runlake.normalize._geo import haversine_m

__all__ = ["MAX_SPEED_MPS", "STRIDES_MAX_SPM", "normalize_tcx", "tcx_sport"]

MAX_SPEED_MPS = 100.0
"""A lap ``MaximumSpeed`` above this (360 km/h) is not in m/s."""
STRIDES_MAX_SPM = 120.0
"""A running cadence above this at the median is steps per minute, not strides."""
_LAP_TIME_SHARE = 0.1
"""A lap time under this share of its trackpoints' time span is not in seconds."""

_SPORT_WORDS: tuple[tuple[str, str, str | None], ...] = (
    # (word in the lower-cased Sport value, sport, sub-sport); the first match wins, so the
    # words that say the most come first (TrailRun, IndoorRowing, VirtualRun)
    ("treadmill", "running", "treadmill"),
    ("trail", "running", "trail"),
    ("row", "rowing", None),
    ("run", "running", None),
    ("walk", "walking", None),
    ("hik", "hiking", None),
    ("swim", "swimming", None),
    ("ski", "cross_country_skiing", None),
    ("virtual", "cycling", "virtual_activity"),
    ("indoor", "cycling", "indoor_cycling"),
    ("bik", "cycling", None),
    ("cycl", "cycling", None),
    ("ride", "cycling", None),
)
_MANUFACTURERS: tuple[tuple[str, str], ...] = (
    ("garmin", "garmin"),
    ("forerunner", "garmin"),
    ("edge", "garmin"),
    ("fenix", "garmin"),
    ("fēnix", "garmin"),
    ("vívoactive", "garmin"),
    ("vivoactive", "garmin"),
    ("polar", "polar"),
    ("suunto", "suunto"),
    ("tomtom", "tomtom"),
    ("huawei", "huawei"),
    ("fitbit", "fitbit"),
    ("wahoo", "wahoo_fitness"),
    ("coros", "coros"),
)
_MS_UTC = pa.timestamp("ms", tz="UTC")


def tcx_sport(value: str | None) -> tuple[str, str | None]:
    """(FIT sport, sub-sport) of a TCX ``Sport`` attribute."""
    key = (value or "").strip().lower()
    if key in ("running", "biking", "other", ""):
        return {"running": "running", "biking": "cycling"}.get(key, "generic"), None
    for word, sport, sub in _SPORT_WORDS:
        if word in key:
            return sport, sub
    return "generic", None


def _device(activity: TcxActivity) -> tuple[str | None, str | None]:
    """(manufacturer, product) from ``<Creator>``: the manufacturer where the name says it."""
    name = activity.creator_name
    lowered = (name or "").lower()
    maker = next((m for word, m in _MANUFACTURERS if word in lowered), None)
    return maker, name or activity.creator_product_id


def _blocks(which: np.ndarray, n: int) -> list[np.ndarray]:
    """The trackpoint indices of each activity."""
    return [np.flatnonzero(which == i) for i in range(n)]


def _distance(lat: np.ndarray, lon: np.ndarray, device: np.ndarray) -> np.ndarray:
    """The device's cumulative distance where it wrote one (not all 0: some apps write 0
    throughout); else from positions (as GPX)."""
    if np.nanmax(device, initial=0.0) > 0:
        return device
    step = haversine_m(lat, lon)
    return np.concatenate(([0.0], np.cumsum(np.nan_to_num(step))))[: lat.size]


def _speed(ts: np.ndarray, dist: np.ndarray, device: np.ndarray) -> np.ndarray:
    """TPX Speed where the activity has it (not all 0); else distance over time between
    trackpoints."""
    if np.nanmax(device, initial=0.0) > 0 or ts.size < 2:
        return device
    dt = np.diff(ts)
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(dt > 0, np.diff(dist) / dt, np.nan)
    return np.concatenate(([np.nan], step))


def _strides(run: np.ndarray, cad: np.ndarray) -> tuple[np.ndarray, bool]:
    """A foot activity's cadence in strides/min, and whether the file wrote steps/min."""
    raw = run if (~np.isnan(run)).any() else cad
    moving = raw[raw > 0]
    steps = moving.size > 0 and float(np.median(moving)) > STRIDES_MAX_SPM
    return (raw / 2.0 if steps else raw), steps


class _Points:
    """The TCX trackpoints as contract record columns, made activity by activity."""

    def __init__(self, pts: pa.Table, sports: list[str], problems: list[Problem]) -> None:
        self.ts = timestamp_seconds(pts["timestamp"].combine_chunks())
        self.which = np.asarray(pts["activity"].to_numpy(), dtype=np.int64)
        self.lap = np.asarray(pts["lap"].to_numpy(), dtype=np.int64)
        self.steps_mode = [False] * len(sports)
        col = {name: to_numpy(pts[name].combine_chunks()) for name in pts.column_names[1:-2]}
        n = pts.num_rows
        dist, speed, spm, rpm = (np.full(n, np.nan) for _ in range(4))
        for i, idx in enumerate(_blocks(self.which, len(sports))):
            if not idx.size:
                continue
            d = _distance(
                col["latitude_deg"][idx], col["longitude_deg"][idx], col["distance_m"][idx]
            )
            dist[idx] = d
            speed[idx] = _speed(self.ts[idx], d, col["speed_mps"][idx])
            if sports[i] in FOOT_SPORTS:
                strides, self.steps_mode[i] = _strides(
                    col["run_cadence_raw"][idx], col["cadence_raw"][idx]
                )
                spm[idx] = strides * 2.0
            else:
                rpm[idx] = col["cadence_raw"][idx]
        if any(self.steps_mode):
            problems.append(
                Problem(
                    ProblemKind.TCX,
                    f"running cadence above {STRIDES_MAX_SPM:.0f} at the median: taken as "
                    "steps per minute (not strides)",
                )
            )
        hr = col["heart_rate_bpm"]
        nulls = from_numpy(np.full(n, np.nan))
        self.cols: dict[str, pa.Array] = {
            "timestamp": pts["timestamp"].combine_chunks(),
            "distance_m": from_numpy(dist),
            "speed_mps": from_numpy(speed),
            "heart_rate_bpm": from_numpy(np.where(hr == 0.0, np.nan, hr)),
            "cadence_spm": from_numpy(spm),
            "cadence_rpm": from_numpy(rpm),
            "power_w": from_numpy(col["power_w"]),
            "vertical_oscillation_mm": nulls,
            "stance_time_ms": nulls,
            "stance_time_balance_pct": nulls,
            "step_length_mm": nulls,
            "vertical_ratio_pct": nulls,
            "latitude_deg": from_numpy(col["latitude_deg"]),
            "longitude_deg": from_numpy(col["longitude_deg"]),
            "altitude_m": from_numpy(col["altitude_m"]),
            "temperature_c": nulls,
            "form_power_w": nulls,
            "leg_spring_stiffness_kn_m": nulls,
            "air_power_w": nulls,
        }


def _lap_values(laps: pa.Table, pts: _Points, problems: list[Problem]) -> dict[str, np.ndarray]:
    """The laps' numbers, the implausible ones (MaximumSpeed, lap times) set to NaN."""
    v = {name: to_numpy(laps[name].combine_chunks()) for name in laps.column_names[2:]}
    fast = v["maximum_speed_raw"] > MAX_SPEED_MPS
    if fast.any():
        problems.append(
            Problem(
                ProblemKind.TCX,
                f"{int(fast.sum())} laps with a MaximumSpeed over {MAX_SPEED_MPS:.0f} "
                f"(largest {float(v['maximum_speed_raw'][fast].max()):.0f}), not m/s "
                "(Strava writes m/h): ignored, the maximum taken from the trackpoints",
            )
        )
        v["maximum_speed_raw"] = np.where(fast, np.nan, v["maximum_speed_raw"])
    span = _lap_spans(laps, pts)
    t = v["total_time_s"]
    short = (t <= 0) | (t < _LAP_TIME_SHARE * span)
    if short.any():
        problems.append(
            Problem(
                ProblemKind.TCX,
                f"{int(short.sum())} laps whose TotalTimeSeconds is 0 or under a tenth of "
                "their trackpoints' time span: ignored, the time taken from the trackpoints",
            )
        )
        v["total_time_s"] = np.where(short, np.nan, t)
        zero_distance = short & (v["distance_m"] == 0)
        v["distance_m"] = np.where(zero_distance, np.nan, v["distance_m"])
    return v


def _lap_spans(laps: pa.Table, pts: _Points) -> np.ndarray:
    """Seconds between the first and last trackpoint of each lap (0 without points)."""
    n = laps.num_rows
    if not pts.ts.size or not n:
        return np.zeros(n)
    # laps are numbered per activity in the decoder: the file-wide row of each point's lap
    lap_act = np.asarray(laps["activity"].to_numpy(), dtype=np.int64)
    first_row = np.concatenate(([0], np.cumsum(np.bincount(lap_act))))
    row = first_row[pts.which] + pts.lap
    ok = ~np.isnan(pts.ts) & (row < n)
    hi, lo = np.full(n, -np.inf), np.full(n, np.inf)
    np.maximum.at(hi, row[ok], pts.ts[ok])
    np.minimum.at(lo, row[ok], pts.ts[ok])
    return np.where(hi >= lo, hi - lo, 0.0)


def _weighted(values: np.ndarray, weights: np.ndarray) -> float | None:
    """The time-weighted mean of lap averages (None unless every lap has both)."""
    if not values.size or np.isnan(values).any() or np.isnan(weights).any():
        return None
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else None


def _all(values: np.ndarray, how: str) -> float | None:
    """Sum or max of a lap column, when every lap has it (else None: computed from records)."""
    if not values.size or np.isnan(values).any():
        return None
    return float(values.sum() if how == "sum" else values.max())


def _fit_laps(
    laps: pa.Table, v: dict[str, np.ndarray], foot: np.ndarray, steps: np.ndarray
) -> dict[str, np.ndarray]:
    """The lap columns under the FIT lap field names summary_from_message reads.

    ``foot``/``steps``: per lap, whether its activity is on foot, and wrote steps/min."""
    run_cad = np.where(
        np.isnan(v["avg_run_cadence_raw"]), v["cadence_raw"], v["avg_run_cadence_raw"]
    )
    return {
        "total_timer_time": v["total_time_s"],
        "total_distance": v["distance_m"],
        "enhanced_max_speed": v["maximum_speed_raw"],
        "enhanced_avg_speed": v["avg_speed_mps"],
        "total_calories": v["calories_kcal"],
        "avg_heart_rate": v["avg_heart_rate_bpm"],
        "max_heart_rate": v["max_heart_rate_bpm"],
        "avg_running_cadence": np.where(foot, np.where(steps, run_cad / 2.0, run_cad), np.nan),
        "avg_cadence": np.where(foot, np.nan, v["cadence_raw"]),
        "avg_power": v["avg_power_w"],
    }


def _session_row(
    act: TcxActivity, sport: tuple[str, str | None], start: float, fit: dict[str, np.ndarray]
) -> dict[str, object]:
    """An activity's device summary (FIT session names), made from its laps ``fit``."""
    t = fit["total_timer_time"]
    row: dict[str, object] = {
        "sport": sport[0],
        "sub_sport": sport[1],
        "start_time": datetime.fromtimestamp(start, tz=UTC),
        "total_timer_time": _all(t, "sum"),
        "total_distance": _all(fit["total_distance"], "sum"),
        "enhanced_max_speed": _all(fit["enhanced_max_speed"], "max"),
        "total_calories": _all(fit["total_calories"], "sum"),
        "max_heart_rate": _all(fit["max_heart_rate"], "max"),
    }
    for name in ("avg_heart_rate", "avg_running_cadence", "avg_cadence", "avg_power"):
        row[name] = _weighted(fit[name], t)
    return row


def _starts(tcx: TcxFile, laps: pa.Table, pts: _Points) -> np.ndarray:
    """Each activity's start (UTC seconds): its Id, else its first lap, else first point."""
    lap_start = timestamp_seconds(laps["start_time"].combine_chunks())
    lap_act = np.asarray(laps["activity"].to_numpy(), dtype=np.int64)
    starts = np.full(len(tcx.activities), np.nan)
    for i, act in enumerate(tcx.activities):
        if act.start_time is not None:
            starts[i] = act.start_time.timestamp()
            continue
        for candidate in (lap_start[lap_act == i], pts.ts[pts.which == i]):
            ok = candidate[~np.isnan(candidate)]
            if ok.size:
                starts[i] = float(ok.min())
                break
    return starts


def normalize_tcx(tcx: TcxFile, info: SourceInfo) -> Normalized:
    """The contract tables of a decoded TCX file: one activity per ``<Activity>``.

    Raises NotAnActivity when no activity has a time (no Id, lap start or trackpoint)."""
    problems = list(tcx.problems)
    sports = [tcx_sport(a.sport) for a in tcx.activities]
    names = [s for s, _ in sports]
    pts = _Points(tcx.points, names, problems)
    starts = _starts(tcx, tcx.laps, pts)
    if np.isnan(starts).all():
        raise NotAnActivity("no time in any TCX activity (no Id, lap or trackpoint time)",
                            source=info.source_path)  # fmt: skip
    starts = np.where(np.isnan(starts), np.nanmin(starts), starts)
    v = _lap_values(tcx.laps, pts, problems)
    lap_act = np.asarray(tcx.laps["activity"].to_numpy(), dtype=np.int64)
    foot = np.array([n in FOOT_SPORTS for n in names], dtype=bool)
    steps = np.array(pts.steps_mode, dtype=bool)
    fit = _fit_laps(tcx.laps, v, foot[lap_act], steps[lap_act])
    rows = [
        _session_row(act, sports[i], float(starts[i]), {k: c[lap_act == i] for k, c in fit.items()})
        for i, act in enumerate(tcx.activities)
    ]
    anomaly = time_anomalies(pts.ts)
    if anomaly is not None:
        problems.append(anomaly)
    laps = pa.table(
        {
            "start_time": tcx.laps["start_time"],
            **{k: from_numpy(c) for k, c in fit.items()},
            LAP_SESSION: pa.array(lap_act, type=pa.int64()),
        }
    )
    sessions = Sessions(
        rows=rows,
        sports=names,
        starts=starts,
        which=pts.which,
        rec_ts=pts.ts,
        cols=pts.cols,
        summaries_from_device=True,
    )
    return assemble(
        sessions,
        info=info,
        source_format="tcx",
        device=_device(tcx.activities[0]),
        laps=laps,
        dev_names=[],
        problems=problems,
    )
