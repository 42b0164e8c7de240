"""History flags: the week- and day-level flags, read off the judged weeks (:mod:`._weeks`).

One function per rule; each returns what it saw in one week, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa

from runlake.flags._flag import HISTORY_CODES, Flag, Seen, hours_minutes, limit
from runlake.flags._thresholds import Thresholds
from runlake.flags._weeks import Weeks, day_of, judge_weeks

__all__ = ["history_flags", "history_flags_of"]


def _volume(value: float, time_basis: bool) -> str:
    """A week's volume in words: seconds or metres."""
    return hours_minutes(value) if time_basis else f"{value / 1000:.1f} km"


def _volume_jump(w: Weeks, j: int, t: Thresholds) -> Seen | None:
    if not w.is_volume_jump[j]:
        return None
    pct = float(w.volume_change_pct[j])
    vol, ref, time_basis = float(w.volume[j]), float(w.reference[j]), bool(w.use_time[j])
    return Seen(
        "volume_jump",
        "alert" if pct > t.volume_jump_alert_pct else "warning",
        pct,
        t.volume_jump_pct,
        "%",
        f"Volume jump: {_volume(vol, time_basis)} this week, "
        f"{limit(pct, t.volume_jump_pct, '%', signed=True)} over "
        f"{_volume(ref, time_basis)}, the biggest of the {t.volume_reference_weeks} weeks "
        "before. Likely cause of heavy legs: muscles, tendons and bones adapt over weeks, "
        "and a sudden jump outruns their recovery. Advice: hold or lower the volume next "
        f"week, and add at most about {t.volume_jump_pct:.0f} % a week.",
    )


def _no_cutback(w: Weeks, j: int, t: Thresholds) -> Seen | None:
    streak = int(w.weeks_without_cutback[j])
    if streak < t.cutback_max_weeks:
        return None
    return Seen(
        "no_cutback",
        "warning",
        float(streak),
        float(t.cutback_max_weeks),
        "weeks",
        f"No lighter week: {limit(streak, t.cutback_max_weeks, 'weeks')} in a row without a "
        f"cutback (at least {t.cutback_reduction_pct:.0f} % less volume) or a rest week. "
        "Likely cause: fatigue builds up from week to week when the body never gets a "
        "lighter week to absorb the training. Advice: make next week a cutback week with "
        f"{t.cutback_reduction_pct:.0f}-30 % less running and no hard sessions, then build "
        "again.",
    )


def _consecutive_days(w: Weeks, j: int, t: Thresholds) -> Seen | None:
    days = w.days_of_week(j)
    long_days = days[w.run_streak_days[days] >= t.consecutive_days_min]
    if not long_days.size:
        return None
    d = int(long_days[-1])
    streak = int(w.run_streak_days[d])
    on = w.grid_day(d)
    return Seen(
        "consecutive_days",
        "warning",
        float(streak),
        float(t.consecutive_days_min),
        "days",
        f"No rest day: {limit(streak, t.consecutive_days_min, 'days')} of running in a row "
        f"up to {on.isoformat()}. Likely cause: without a rest day muscles and tendons never "
        "fully recover, and the fatigue adds up. Advice: take at least one full rest day a "
        "week (or swap one run for cycling, swimming or a walk).",
        on,
    )


def _low_easy_share(w: Weeks, j: int, t: Thresholds) -> Seen | None:
    hr_s = float(w.hr_s[j])
    if hr_s < t.easy_share_min_week_h * 3600.0 or hr_s <= 0:
        return None
    share = float(w.easy_s[j]) / hr_s * 100.0
    if share >= t.easy_share_min_pct:
        return None
    return Seen(
        "low_easy_share",
        "warning",
        share,
        t.easy_share_min_pct,
        "%",
        f"Too little easy running: {share:.0f} % of the week's running time "
        f"({hours_minutes(hr_s)} with heart rate) was easy (at least "
        f"{t.easy_share_min_pct:.0f} %). Likely cause: running most days moderately hard "
        "leaves no time to recover, so the legs stay heavy. Advice: keep about 80 % of your "
        "running truly easy (you can talk in full sentences), and make the hard days hard.",
    )


def _acwr_high(w: Weeks, j: int, t: Thresholds) -> Seen | None:
    """A warning, not an alert: the ratio is contested (Impellizzeri et al. 2020) and in
    5,205 runners a higher one did not go with more injuries (Frandsen et al. 2025); it is
    judged only with four weeks of running behind it (ACWR_HISTORY_WEEKS)."""
    days = w.days_of_week(j)
    ratios = w.acwr[days]
    if ratios.max() <= t.acwr_max:
        return None
    k = int(np.argmax(ratios))
    on = w.grid_day(int(days[k]))
    return Seen(
        "acwr_high",
        "warning",
        float(ratios[k]),
        t.acwr_max,
        "ratio",
        f"Load spike: the last 7 days' load against the last 28 days', "
        f"{limit(float(ratios[k]), t.acwr_max, 'ratio')}, on {on.isoformat()}. Likely cause: "
        "more training than your body is used to. A rough guide only: the ratio's link with "
        "injuries is disputed (Impellizzeri et al. 2020), and in 5,205 runners a higher one "
        "did not go with more injuries (Frandsen et al. 2025); one run much longer than your "
        "usual did (see long_run_spike). Advice: if your legs feel heavy, ease off for a few "
        "days.",
        on,
    )


def _monotony_high(w: Weeks, j: int, t: Thresholds) -> Seen | None:
    monotony = float(w.monotony[j])
    if not monotony > t.monotony_max:  # nan: no load that week
        return None
    return Seen(
        "monotony_high",
        "warning",
        monotony,
        t.monotony_max,
        "ratio",
        f"Monotonous week: training {limit(monotony, t.monotony_max, 'monotony')} (mean "
        "daily load / its variation, Foster). Likely cause: every day about the same load, "
        "with no easy or rest days to recover on, which goes with staleness and illness. "
        "Advice: make the easy days easier or shorter, keep a rest day, and vary the "
        "sessions.",
    )


_RULES: tuple[Callable[[Weeks, int, Thresholds], Seen | None], ...] = (
    _volume_jump,
    _no_cutback,
    _consecutive_days,
    _low_easy_share,
    _acwr_high,
    _monotony_high,
)
"""In the order of HISTORY_CODES."""


def history_flags(
    runs: pa.Table,
    athlete: str,
    t: Thresholds,
    *,
    weeks: tuple[date, date] | None = None,
) -> list[Flag]:
    """Week- and day-level flags (codes in HISTORY_CODES) of one athlete's runs.

    ``runs``: one row per run (see :func:`~runlake.flags.judge_weeks`). ``weeks``: only flags
    of weeks with a run whose Monday is within these dates (inclusive) are returned; the rules
    still see every run.
    """
    return history_flags_of(judge_weeks(runs, t), athlete, t, weeks=weeks)


def history_flags_of(
    w: Weeks | None, athlete: str, t: Thresholds, *, weeks: tuple[date, date] | None = None
) -> list[Flag]:
    """:func:`history_flags` of weeks already judged (:func:`judge_weeks`)."""
    if w is None:
        return []
    out: list[Flag] = []
    for j in range(w.n_weeks):
        monday = w.monday(j)
        if w.runs[j] == 0 or (weeks is not None and not weeks[0] <= monday <= weeks[1]):
            continue
        last_run = day_of(int(w.last_run_day[j]))
        for rule in _RULES:
            seen = rule(w, j, t)
            if seen is not None:
                out.append(seen.flag(None, athlete, last_run))
    out.sort(key=lambda f: (f.week_start, f.date, HISTORY_CODES.index(f.code)))
    return out
