"""Flags stage: what in a runner's data can explain heavy legs, in plain words.

``run_flags`` judges one run's :class:`~runlake.metrics.RunMetrics`; ``history_flags`` judges
an athlete's weeks and days from one row per run (the RUN_METRICS columns ``date``,
``duration_s``, ``distance_m``, ``load``, ``easy_s``, ``hr_s``). Every threshold comes from
config/flags.toml (:class:`Thresholds`, :func:`load_thresholds`). A null metric never gives a
flag: missing data is not a bad value.

Week- and day-level rules (weeks start on Monday, days are UTC dates):

* ``volume_jump`` — the week's distance (its time when a run in the weeks compared has no
  distance) is more than ``volume_jump_pct`` above the highest of the ``volume_reference_weeks``
  weeks before it, and that reference is at least ``volume_min_week_km`` (``_h``).
* ``no_cutback`` — ``cutback_max_weeks`` or more weeks in a row without a cutback week. A week
  is a cutback when its volume is under ``volume_min_week_*`` or at least
  ``cutback_reduction_pct`` below the highest of the reference weeks before it. The count is
  capped at ``2 x cutback_max_weeks``.
* ``consecutive_days`` — a day that ends ``consecutive_days_min`` or more running days in a
  row; one flag per week, on the last such day of the week, with the length of the streak
  (capped at ``STREAK_CAP_DAYS``).
* ``low_easy_share`` — under ``easy_share_min_pct`` of the week's running time with heart
  rate at or below the easy ceiling, for weeks with at least ``easy_share_min_week_h`` hours
  of it.
* ``acwr_high`` — on a run day, the acute load (mean daily load of the last 7 days) over the
  chronic load (of the last 28 days, rolling averages, Gabbett 2016) above ``acwr_max``; one
  flag per week on its highest day. Judged only on days with a run 27-55 days before, so
  the chronic window holds at least four weeks of training.
* ``monotony_high`` — Foster's monotony, mean / standard deviation of the week's seven daily
  loads (rest days count 0), above ``monotony_max`` (capped at ``MONOTONY_CAP``).

Each rule looks back and forward a bounded number of days, so adding a run can change only
the flags of the weeks :func:`affected_weeks` returns.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from runlake._config import default_file, read_toml
from runlake._errors import ConfigError
from runlake._schemas import FLAGS
from runlake.metrics._metrics import RunMetrics

__all__ = [
    "ACWR_CHRONIC_DAYS",
    "ACWR_HISTORY_DAYS",
    "HISTORY_CODES",
    "MONOTONY_CAP",
    "RUN_CODES",
    "SEVERITIES",
    "STREAK_CAP_DAYS",
    "Flag",
    "Thresholds",
    "affected_weeks",
    "default_thresholds_path",
    "flags_table",
    "history_flags",
    "load_thresholds",
    "run_flags",
    "week_start",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

RUN_CODES: Final = (
    "overstriding",
    "high_vertical_oscillation",
    "ground_contact_imbalance",
    "form_fade",
    "cardiac_drift",
    "long_run_fuelling",
)
HISTORY_CODES: Final = (
    "volume_jump",
    "no_cutback",
    "consecutive_days",
    "low_easy_share",
    "acwr_high",
    "monotony_high",
)
SEVERITIES: Final = ("info", "warning", "alert")

ACWR_ACUTE_DAYS: Final = 7
ACWR_CHRONIC_DAYS: Final = 28
ACWR_HISTORY_DAYS: Final = (27, 55)
"""ACWR is judged on a day only when the athlete ran this many days before (inclusive)."""
STREAK_CAP_DAYS: Final = 28
"""Running streaks are counted back at most this many days."""
MONOTONY_CAP: Final = 10.0
"""Monotony of a week with (nearly) identical daily loads: 10 means 10 or more."""
_EPOCH = date(1970, 1, 1)


# -- thresholds ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every threshold of the flags (config/flags.toml documents each with its source)."""

    hr_max_bpm: float | None
    easy_hr_fraction: float
    form_min_moving_s: float
    overstriding_index_max: float
    vertical_oscillation_max_mm: float
    vertical_ratio_max_pct: float
    pod_vertical_oscillation_max_mm: float
    pod_vertical_ratio_max_pct: float
    vertical_ratio_min_oscillation_mm: float
    pod_vertical_ratio_min_oscillation_mm: float
    stance_balance_min_pct: float
    stance_balance_max_pct: float
    form_fade_cadence_drop_pct: float
    form_fade_stance_time_rise_pct: float
    form_fade_vertical_oscillation_rise_pct: float
    cardiac_drift_max_pct: float
    long_run_min_s: float
    carbohydrate_min_g_per_h: float
    carbohydrate_max_g_per_h: float
    volume_jump_pct: float
    volume_jump_alert_pct: float
    volume_reference_weeks: int
    volume_min_week_km: float
    volume_min_week_h: float
    cutback_reduction_pct: float
    cutback_max_weeks: int
    consecutive_days_min: int
    easy_share_min_pct: float
    easy_share_min_week_h: float
    acwr_max: float
    monotony_max: float


_SECTIONS: Final[dict[str, tuple[str, ...]]] = {
    "heart_rate": ("hr_max_bpm", "easy_hr_fraction"),
    "form": (
        "form_min_moving_s",
        "overstriding_index_max",
        "vertical_oscillation_max_mm",
        "vertical_ratio_max_pct",
        "pod_vertical_oscillation_max_mm",
        "pod_vertical_ratio_max_pct",
        "vertical_ratio_min_oscillation_mm",
        "pod_vertical_ratio_min_oscillation_mm",
        "stance_balance_min_pct",
        "stance_balance_max_pct",
        "form_fade_cadence_drop_pct",
        "form_fade_stance_time_rise_pct",
        "form_fade_vertical_oscillation_rise_pct",
    ),
    "fatigue": ("cardiac_drift_max_pct",),
    "fuelling": ("long_run_min_s", "carbohydrate_min_g_per_h", "carbohydrate_max_g_per_h"),
    "volume": (
        "volume_jump_pct",
        "volume_jump_alert_pct",
        "volume_reference_weeks",
        "volume_min_week_km",
        "volume_min_week_h",
        "cutback_reduction_pct",
        "cutback_max_weeks",
        "consecutive_days_min",
    ),
    "load": ("easy_share_min_pct", "easy_share_min_week_h", "acwr_max", "monotony_max"),
}
_INTS: Final = frozenset({"volume_reference_weeks", "cutback_max_weeks", "consecutive_days_min"})
_OPTIONAL: Final = frozenset({"hr_max_bpm"})
_KEY_SECTION = {key: section for section, keys in _SECTIONS.items() for key in keys}
assert set(_KEY_SECTION) == {f.name for f in fields(Thresholds)}


def default_thresholds_path() -> Path:
    """config/flags.toml of the source tree, else the copy shipped in the wheel."""
    return default_file("flags.toml")


def _read_toml(path: Path) -> dict[str, object]:
    return read_toml(path, "flags config")


def _merge(values: dict[str, float | int], data: Mapping[str, object], origin: str) -> None:
    for section, table in data.items():
        if section not in _SECTIONS:
            known = ", ".join(_SECTIONS)
            raise ConfigError(f"{origin}: unknown section [{section}] (known: {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        for key, value in table.items():
            name = f"{section}.{key}"
            if key not in _SECTIONS[section]:
                where = _KEY_SECTION.get(key)
                hint = f" (it belongs in [{where}])" if where else ""
                raise ConfigError(f"{origin}: unknown key {name}{hint}")
            if key in _INTS:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f"{origin}: {name} must be a whole number, not {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{origin}: {name} must be a number, not {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{origin}: {name} must be finite, not {value!r}")
            if value < 0:
                raise ConfigError(f"{origin}: {name} must not be negative, not {value!r}")
            values[key] = value


def _check(t: Thresholds) -> None:
    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{_KEY_SECTION[key]}.{key} {why}")

    if t.hr_max_bpm is not None and not 100.0 <= t.hr_max_bpm <= 250.0:
        raise bad("hr_max_bpm", f"must be between 100 and 250, not {t.hr_max_bpm}")
    if not 0.0 < t.easy_hr_fraction <= 1.0:
        raise bad("easy_hr_fraction", f"must be a fraction in (0, 1], not {t.easy_hr_fraction}")
    if t.stance_balance_min_pct >= t.stance_balance_max_pct:
        raise bad("stance_balance_min_pct", "must be below stance_balance_max_pct")
    if t.carbohydrate_min_g_per_h > t.carbohydrate_max_g_per_h:
        raise bad("carbohydrate_min_g_per_h", "must not exceed carbohydrate_max_g_per_h")
    if t.volume_jump_alert_pct < t.volume_jump_pct:
        raise bad("volume_jump_alert_pct", "must not be below volume_jump_pct")
    if t.cutback_reduction_pct >= 100.0:
        raise bad("cutback_reduction_pct", "must be under 100")
    if t.volume_reference_weeks < 1:
        raise bad("volume_reference_weeks", "must be at least 1")
    if t.cutback_max_weeks < 2:
        raise bad("cutback_max_weeks", "must be at least 2")
    if not 2 <= t.consecutive_days_min <= STREAK_CAP_DAYS:
        raise bad("consecutive_days_min", f"must be between 2 and {STREAK_CAP_DAYS}")


def load_thresholds(path: Path | None = None, overrides: Path | None = None) -> Thresholds:
    """The thresholds of ``path`` (default: config/flags.toml), then ``overrides`` on top.

    ``path`` must hold every key (``hr_max_bpm`` is optional); ``overrides`` holds only the
    keys a user changes. An unknown section or key, a wrong type, a negative or otherwise
    impossible value raises :class:`~runlake._errors.ConfigError` naming the key.
    """
    base = path or default_thresholds_path()
    values: dict[str, float | int] = {}
    _merge(values, _read_toml(base), str(base))
    for key, section in _KEY_SECTION.items():
        if key not in values and key not in _OPTIONAL:
            raise ConfigError(f"{base}: missing key {section}.{key}")
    if overrides is not None:
        _merge(values, _read_toml(overrides), str(overrides))
    kwargs: dict[str, object] = {
        key: (values[key] if key in _INTS else float(values[key])) if key in values else None
        for key in _KEY_SECTION
    }
    t = Thresholds(**kwargs)  # type: ignore[arg-type]
    _check(t)
    return t


# -- flags --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flag:
    """One row of FLAGS."""

    activity_id: str | None
    athlete: str
    date: dt.date
    week_start: dt.date
    code: str
    severity: str
    value: float
    threshold: float
    unit: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return dict(zip(_FLAG_FIELDS, astuple(self), strict=True))


_FLAG_FIELDS = tuple(f.name for f in fields(Flag))
# FLAGS has no athlete column: in the lake it is the folder (athlete=<a>), as for every table.
assert tuple(FLAGS.names) == tuple(n for n in _FLAG_FIELDS if n != "athlete"), "Flag vs FLAGS"


def flags_table(flags: Sequence[Flag]) -> pa.Table:
    """FLAGS table of ``flags`` (in order)."""
    return pa.Table.from_pylist([f.as_dict() for f in flags], schema=FLAGS)


def week_start(day: date) -> date:
    """Monday of the week of ``day``."""
    return day - timedelta(days=day.weekday())


def _pace(speed_mps: float | None) -> str:
    if speed_mps is None or speed_mps <= 0:
        return "your pace"
    secs = round(1000.0 / speed_mps)
    return f"{secs // 60}:{secs % 60:02d} min/km"


def _vol(value: float, unit: str) -> str:
    return _hm(value * 3600.0) if unit == "h" else f"{value:.1f} km"


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60.0)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


# -- run flags ----------------------------------------------------------------------------


def _over(value: float, limit: float) -> float:
    """How many times its limit a change is (to pick the worst one)."""
    return abs(value) / max(abs(limit), 1e-9)


def run_flags(m: RunMetrics, athlete: str, t: Thresholds) -> list[Flag]:
    """The flags of one run (codes in RUN_CODES). A null metric never gives a flag."""
    if m.date is None:
        return []
    day = m.date
    out: list[Flag] = []

    def flag(code: str, severity: str, seen: tuple[float, float, str], msg: str) -> None:
        value, threshold, unit = seen
        out.append(
            Flag(
                m.activity_id,
                athlete,
                day,
                week_start(day),
                code,
                severity,
                float(value),
                float(threshold),
                unit,
                msg,
            )
        )

    form = m.moving_s >= t.form_min_moving_s  # averages of a few minutes say little
    oi = m.overstriding_index
    if form and oi is not None and oi > t.overstriding_index_max:
        seen = (
            f"ground contact {m.stance_time_ms:.0f} ms at {m.cadence_spm:.0f} steps/min"
            if m.stance_time_ms is not None and m.cadence_spm is not None
            else "long ground contact at a low step rate"
        )
        flag(
            "overstriding",
            "warning",
            (oi, t.overstriding_index_max, "index"),
            f"Overstriding: {seen} at {_pace(m.steady_speed_mps)}, overstriding index "
            f"{oi:.2f} vs {t.overstriding_index_max:.2f} (1.00 = Garmin's red zone for both "
            "contact time and cadence, adjusted for pace). Likely cause: the foot lands ahead "
            "of the body and brakes every step, which loads the knees and tires the quads. "
            "Advice: take shorter, quicker steps (about 5-10 % more steps per minute at the "
            "same pace) and land with the foot under the hips.",
        )

    vo, vr = m.vertical_oscillation_mm, m.vertical_ratio_pct
    pod = m.dynamics_sensor == "pod"
    vo_max = t.pod_vertical_oscillation_max_mm if pod else t.vertical_oscillation_max_mm
    vr_max = t.pod_vertical_ratio_max_pct if pod else t.vertical_ratio_max_pct
    vr_min_vo = (
        t.pod_vertical_ratio_min_oscillation_mm if pod else t.vertical_ratio_min_oscillation_mm
    )
    sensor = "waist pod" if pod else "chest strap or watch"
    if (
        form
        and vo is not None
        and (vo > vo_max or (vr is not None and vr > vr_max and vo >= vr_min_vo))
    ):
        if vo > vo_max:
            value, threshold, unit = vo, vo_max, "mm"
            seen = f"vertical oscillation {vo / 10:.1f} cm vs {vo_max / 10:.1f} cm"
        else:
            assert vr is not None
            value, threshold, unit = vr, vr_max, "%"
            seen = f"vertical ratio {vr:.1f} % vs {vr_max:.1f} %"
        flag(
            "high_vertical_oscillation",
            "warning",
            (value, threshold, unit),
            f"High vertical oscillation: {seen} (Garmin's red zone, {sensor}). Likely cause: "
            "bouncing up and down wastes energy that should drive you forward, and every "
            "landing from higher costs the legs more. Advice: run tall and quick and light, "
            "think 'forward, not up'; strength work for the glutes and core (bridges, planks, "
            "single-leg squats) twice a week.",
        )

    bal = m.stance_time_balance_pct
    if form and bal is not None and not t.stance_balance_min_pct <= bal <= t.stance_balance_max_pct:
        low = bal < t.stance_balance_min_pct
        side, longer = ("right", 100.0 - bal) if low else ("left", bal)
        flag(
            "ground_contact_imbalance",
            "warning",
            (bal, t.stance_balance_min_pct if low else t.stance_balance_max_pct, "% left"),
            f"Ground contact imbalance: {bal:.1f} % of contact time on the left foot "
            f"({longer:.1f} % on the {side}), outside {t.stance_balance_min_pct:.1f}-"
            f"{t.stance_balance_max_pct:.1f} % (Garmin's red zone). Likely cause: one leg "
            "is weaker, tight or sore and the other does more work. Advice: if it is new or "
            "something hurts, ease off and have it looked at; otherwise single-leg strength "
            "and mobility work for the weaker side.",
        )

    fades: list[tuple[float, float, float, str]] = []  # (severity ratio, value, limit, words)
    checks = (  # (change, limit, the sign of a fade, words)
        (m.cadence_change_pct, -t.form_fade_cadence_drop_pct, -1.0, "cadence"),
        (m.stance_time_change_pct, t.form_fade_stance_time_rise_pct, 1.0, "ground contact"),
        (
            m.vertical_oscillation_change_pct,
            t.form_fade_vertical_oscillation_rise_pct,
            1.0,
            "vertical oscillation",
        ),
    )
    for change, limit, sign, words in checks:
        if change is not None and sign * change > sign * limit:
            fades.append((_over(change, limit), change, limit, words))
    if fades:
        fades.sort(reverse=True)
        _, value, limit, _ = fades[0]
        seen = ", ".join(f"{words} {v:+.1f} % (limit {lim:+.1f} %)" for _, v, lim, words in fades)
        flag(
            "form_fade",
            "warning",
            (value, limit, "%"),
            f"Form faded late in the run: {seen}, last third vs first third of the steady "
            "part, adjusted for pace. Likely cause: tired muscles (calves, glutes, hips) "
            "can no longer hold your form, often from low fuel or a run longer than your "
            "current endurance. Advice: build long runs more gradually, fuel on runs over an "
            "hour, and add strength work; finish with strides while form is still good.",
        )

    dec = m.aerobic_decoupling_pct
    if m.steady_run and dec is not None and dec > t.cardiac_drift_max_pct:
        flag(
            "cardiac_drift",
            "warning",
            (dec, t.cardiac_drift_max_pct, "%"),
            f"Cardiac drift: aerobic decoupling (pace per heartbeat, first vs second half of "
            f"the steady part) {dec:.1f} % vs {t.cardiac_drift_max_pct:.1f} %. Your heart "
            "rate rose for the same pace. Likely cause: the run was longer or faster than "
            "your aerobic base carries, or heat, dehydration or low fuel. Advice: slow the "
            "long runs to a truly easy effort, drink and take carbohydrate on the way, and "
            f"build the duration gradually; decoupling under {t.cardiac_drift_max_pct:.0f} % "
            "shows the base is there.",
        )

    if m.duration_s is not None and m.duration_s > t.long_run_min_s:
        lo, hi = t.carbohydrate_min_g_per_h, t.carbohydrate_max_g_per_h
        hours = m.duration_s / 3600.0
        flag(
            "long_run_fuelling",
            "info",
            (m.duration_s / 60.0, t.long_run_min_s / 60.0, "min"),
            f"Long run: {_hm(m.duration_s)} vs {_hm(t.long_run_min_s)}. Glycogen runs low "
            f"after about an hour, which makes legs heavy late in the run and the next day. "
            f"Advice: take {lo:.0f}-{hi:.0f} g of carbohydrate per hour (about "
            f"{lo * hours:.0f}-{hi * hours:.0f} g for this run, e.g. gels or a sports drink), "
            "starting in the first half hour, and eat carbohydrate and protein afterwards.",
        )
    return out


# -- history flags ------------------------------------------------------------------------


def _days(runs: pa.Table) -> I64:
    """UTC day number (days since 1970-01-01) of each run; -1 where unknown."""
    n = runs.num_rows
    if "date" in runs.column_names:
        d = runs.column("date").cast(pa.date32()).cast(pa.int32())
        days = np.asarray(d.to_numpy(), dtype=np.float64)
    else:
        days = np.full(n, np.nan)
    if "start_time" in runs.column_names:
        ms = runs.column("start_time").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        from_ts = np.floor(np.asarray(ms.to_numpy(), dtype=np.float64) / 86_400_000.0)
        days = np.where(np.isnan(days), from_ts, days)
    return np.where(np.isnan(days), -1, days).astype(np.int64)


def _f(runs: pa.Table, name: str) -> F64:
    if name not in runs.column_names:
        return np.full(runs.num_rows, np.nan)
    return np.asarray(runs.column(name).cast(pa.float64()).to_numpy(), dtype=np.float64)


def _day(n: int) -> date:
    return _EPOCH + timedelta(days=int(n))


def _monday(n: int) -> int:
    return n - (n + 3) % 7  # 1970-01-01 was a Thursday


def _lookahead_days(t: Thresholds) -> int:
    """Longest reach of a run into later days, over every history rule."""
    ref = t.volume_reference_weeks
    return max(
        7 * ref,  # volume_jump: the reference weeks after a run
        7 * (ref + 2 * t.cutback_max_weeks - 1),  # no_cutback: cutback status, then streak
        STREAK_CAP_DAYS - 1,  # consecutive_days
        ACWR_HISTORY_DAYS[1],  # acwr_high: the chronic window and the history rule
        ACWR_CHRONIC_DAYS - 1,
    )


def affected_weeks(new_run_dates: Iterable[date], t: Thresholds) -> tuple[date, date] | None:
    """The first and last week start whose history flags runs on these dates can change.

    A run can change only flags of its own week and of later weeks within the longest
    look-ahead of any rule; recompute ``history_flags(..., weeks=affected_weeks(...))`` and
    replace the flags of those weeks. None when no dates are given.
    """
    days = sorted(new_run_dates)
    if not days:
        return None
    first = week_start(days[0])
    last = week_start(days[-1] + timedelta(days=_lookahead_days(t)))
    return first, last


def history_flags(
    runs: pa.Table,
    athlete: str,
    t: Thresholds,
    *,
    weeks: tuple[date, date] | None = None,
) -> list[Flag]:
    """Week- and day-level flags (codes in HISTORY_CODES) of one athlete's runs.

    ``runs``: one row per run with ``date`` (or ``start_time``), ``duration_s``,
    ``distance_m``, ``load``, ``easy_s`` and ``hr_s`` (a RUN_METRICS table will do; missing
    columns count as null). ``weeks``: only flags whose week start is within these Mondays
    (inclusive) are returned; the rules still see every run.
    """
    days_all = _days(runs)
    keep = days_all >= 0
    if not keep.any():
        return []
    day = days_all[keep]
    dist_km = _f(runs, "distance_m")[keep] / 1000.0
    dur_h = _f(runs, "duration_s")[keep] / 3600.0
    load = np.nan_to_num(_f(runs, "load")[keep], nan=0.0)
    easy_s = _f(runs, "easy_s")[keep]
    hr_s = _f(runs, "hr_s")[keep]

    pad = ACWR_HISTORY_DAYS[1] + 1
    w0 = _monday(int(day.min()))
    w_last = _monday(int(day.max()))
    n_weeks = (w_last - w0) // 7 + 1
    g0 = w0 - pad  # grid: padding days before the first week, then whole weeks
    n_days = pad + 7 * n_weeks
    di = day - g0
    wk = (day - w0) // 7

    daily = np.bincount(di, weights=load, minlength=n_days)
    ran = np.bincount(di, minlength=n_days) > 0
    km = np.bincount(wk, weights=np.nan_to_num(dist_km), minlength=n_weeks)
    hours = np.bincount(wk, weights=np.nan_to_num(dur_h), minlength=n_weeks)
    no_dist = np.bincount(wk, weights=np.isnan(dist_km).astype(np.float64), minlength=n_weeks)
    has_easy = ~np.isnan(easy_s) & ~np.isnan(hr_s)
    easy_w = np.bincount(wk[has_easy], weights=easy_s[has_easy], minlength=n_weeks)
    hr_w = np.bincount(wk[has_easy], weights=hr_s[has_easy], minlength=n_weeks)
    n_runs = np.bincount(wk, minlength=n_weeks)
    last_day = np.full(n_weeks, -1, dtype=np.int64)
    np.maximum.at(last_day, wk, day)

    if weeks is not None:
        lo = (weeks[0] - _EPOCH).days
        hi = (weeks[1] - _EPOCH).days
        emit = [j for j in range(n_weeks) if lo <= w0 + 7 * j <= hi and n_runs[j] > 0]
    else:
        emit = [j for j in range(n_weeks) if n_runs[j] > 0]
    if not emit:
        return []

    out: list[Flag] = []

    def week_flag(
        j: int,
        code: str,
        sev: str,
        seen: tuple[float, float, str],
        msg: str,
        *,
        on: int | None = None,
    ) -> None:
        value, thr, unit = seen
        monday = _day(w0 + 7 * j)
        out.append(
            Flag(
                None,
                athlete,
                _day(on if on is not None else int(last_day[j])),
                monday,
                code,
                sev,
                float(value),
                float(thr),
                unit,
                msg,
            )
        )

    # -- volume: jump and cutback
    ref_n = t.volume_reference_weeks
    cutback = np.zeros(n_weeks, dtype=bool)
    volume_info: list[tuple[float, float, str] | None] = [None] * n_weeks  # vol, ref, unit
    for j in range(n_weeks):
        lo_j = max(0, j - ref_n)
        use_time = bool(no_dist[lo_j : j + 1].sum() > 0)
        vol_all = hours if use_time else km
        minimum = t.volume_min_week_h if use_time else t.volume_min_week_km
        vol = float(vol_all[j])
        ref = float(vol_all[lo_j:j].max()) if j > lo_j else math.nan
        unit = "h" if use_time else "km"
        volume_info[j] = (vol, ref, unit)
        light = vol < minimum
        reduced = (
            not math.isnan(ref)
            and ref >= minimum
            and vol <= (1.0 - t.cutback_reduction_pct / 100.0) * ref
        )
        cutback[j] = light or reduced
    streak_cap = 2 * t.cutback_max_weeks
    streak = np.zeros(n_weeks, dtype=np.int64)
    for j in range(n_weeks):
        streak[j] = 0 if cutback[j] else min(streak[j - 1] + 1 if j else 1, streak_cap)

    # -- days in a row
    idx = np.where(~ran, np.arange(n_days), -1)
    last_rest = np.maximum.accumulate(idx)  # the padding days are rest days
    run_streak = np.minimum(np.arange(n_days) - last_rest, STREAK_CAP_DAYS)

    # -- ACWR
    cum = np.concatenate([[0.0], np.cumsum(daily)])
    ar = np.arange(n_days)
    acute = (cum[ar + 1] - cum[np.maximum(ar + 1 - ACWR_ACUTE_DAYS, 0)]) / ACWR_ACUTE_DAYS
    chronic = (cum[ar + 1] - cum[np.maximum(ar + 1 - ACWR_CHRONIC_DAYS, 0)]) / ACWR_CHRONIC_DAYS
    rcum = np.concatenate([[0], np.cumsum(ran)])
    h_lo, h_hi = ACWR_HISTORY_DAYS
    history = (rcum[np.clip(ar - h_lo + 1, 0, n_days)] - rcum[np.clip(ar - h_hi, 0, n_days)]) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        acwr = np.where(ran & history & (chronic > 0), acute / np.where(chronic > 0, chronic, 1), 0)

    for j in emit:
        first_day = pad + 7 * j  # grid index of the Monday
        info = volume_info[j]
        assert info is not None
        vol, ref, unit = info
        minimum = t.volume_min_week_h if unit == "h" else t.volume_min_week_km
        if not math.isnan(ref) and ref >= minimum and vol > ref * (1 + t.volume_jump_pct / 100):
            pct = (vol / ref - 1.0) * 100.0
            sev = "alert" if pct > t.volume_jump_alert_pct else "warning"
            week_flag(
                j,
                "volume_jump",
                sev,
                (pct, t.volume_jump_pct, "%"),
                f"Volume jump: {_vol(vol, unit)} this week, {pct:.0f} % more than "
                f"{_vol(ref, unit)} (the "
                f"biggest of the {ref_n} weeks before); limit +{t.volume_jump_pct:.0f} %. "
                "Likely cause of heavy legs: muscles, tendons and bones adapt over weeks, and a "
                "sudden jump outruns their recovery. Advice: hold or lower the volume next "
                f"week, and add at most about {t.volume_jump_pct:.0f} % a week.",
            )
        if streak[j] >= t.cutback_max_weeks:
            week_flag(
                j,
                "no_cutback",
                "warning",
                (float(streak[j]), float(t.cutback_max_weeks), "weeks"),
                f"No lighter week: {streak[j]} weeks in a row without a cutback (at least "
                f"{t.cutback_reduction_pct:.0f} % less volume) vs {t.cutback_max_weeks}. "
                "Likely cause: fatigue builds up from week to week when the body never gets "
                "a lighter week to absorb the training. Advice: make next week a cutback "
                f"week with {t.cutback_reduction_pct:.0f}-30 % less running and no hard "
                "sessions, then build again.",
            )
        week_idx = np.arange(first_day, first_day + 7)
        long_days = week_idx[run_streak[week_idx] >= t.consecutive_days_min]
        if long_days.size:
            d = int(long_days[-1])
            week_flag(
                j,
                "consecutive_days",
                "warning",
                (float(run_streak[d]), float(t.consecutive_days_min), "days"),
                f"No rest day: {run_streak[d]} days of running in a row up to "
                f"{_day(g0 + d).isoformat()} vs {t.consecutive_days_min}. Likely cause: "
                "without a rest day muscles and tendons never fully recover, and the fatigue "
                "adds up. Advice: take at least one full rest day a week (or swap one run "
                "for cycling, swimming or a walk).",
                on=g0 + d,
            )
        if hr_w[j] >= t.easy_share_min_week_h * 3600.0 and hr_w[j] > 0:
            share = easy_w[j] / hr_w[j] * 100.0
            if share < t.easy_share_min_pct:
                week_flag(
                    j,
                    "low_easy_share",
                    "warning",
                    (share, t.easy_share_min_pct, "%"),
                    f"Too little easy running: {share:.0f} % of the week's running time "
                    f"({_hm(hr_w[j])} with heart rate) was easy vs {t.easy_share_min_pct:.0f} "
                    "%. Likely cause: running most days moderately hard leaves no time to "
                    "recover, so the legs stay heavy. Advice: keep about 80 % of your running "
                    "truly easy (you can talk in full sentences), and make the hard days "
                    "hard.",
                )
        ratios = acwr[week_idx]
        if ratios.max() > t.acwr_max:
            k = int(np.argmax(ratios))
            d = int(week_idx[k])
            week_flag(
                j,
                "acwr_high",
                "alert",
                (float(ratios[k]), t.acwr_max, "ratio"),
                f"Training load spike: acute:chronic load ratio {ratios[k]:.2f} vs "
                f"{t.acwr_max:.2f} on {_day(g0 + d).isoformat()} (the last 7 days' load "
                f"against the last 28 days'). Likely cause: much more training than your body "
                "is used to, the pattern most often seen before running injuries. Advice: "
                "ease off for a few days and bring the load back up gradually.",
                on=g0 + d,
            )
        week_loads = daily[week_idx]
        mean = float(week_loads.mean())
        sd = float(week_loads.std())
        if mean > 0:
            monotony = MONOTONY_CAP if sd <= 1e-9 * mean else min(mean / sd, MONOTONY_CAP)
            if monotony > t.monotony_max:
                week_flag(
                    j,
                    "monotony_high",
                    "warning",
                    (monotony, t.monotony_max, "ratio"),
                    f"Monotonous week: training monotony {monotony:.1f} vs "
                    f"{t.monotony_max:.1f} (mean daily load / its variation, Foster). Likely "
                    "cause: every day about the same load, with no easy or rest days to "
                    "recover on, which goes with staleness and illness. Advice: make the easy "
                    "days easier or shorter, keep a rest day, and vary the sessions.",
                )
    out.sort(key=lambda f: (f.week_start, f.date, HISTORY_CODES.index(f.code)))
    return out
