"""History flags: the week- and day-level flags, read off the judged weeks (:mod:`._weeks`).

One function per rule; each returns what it saw in one week, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa

from runlake.flags._flag import HISTORY_CODES, Flag, Seen, hours_minutes
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
        f"Volume jump: {_volume(vol, time_basis)} this week, {pct:.0f} % more than "
        f"{_volume(ref, time_basis)} (the biggest of the {t.volume_reference_weeks} weeks "
        f"before); limit +{t.volume_jump_pct:.0f} %. Likely cause of heavy legs: muscles, "
        "tendons and bones adapt over weeks, and a sudden jump outruns their recovery. "
        "Advice: hold or lower the volume next week, and add at most about "
        f"{t.volume_jump_pct:.0f} % a week.",
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
        f"No lighter week: {streak} weeks in a row without a cutback (at least "
        f"{t.cutback_reduction_pct:.0f} % less volume) vs {t.cutback_max_weeks}. "
        "Likely cause: fatigue builds up from week to week when the body never gets "
        "a lighter week to absorb the training. Advice: make next week a cutback "
        f"week with {t.cutback_reduction_pct:.0f}-30 % less running and no hard "
        "sessions, then build again.",
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
        f"No rest day: {streak} days of running in a row up to "
        f"{on.isoformat()} vs {t.consecutive_days_min}. Likely cause: "
        "without a rest day muscles and tendons never fully recover, and the fatigue "
        "adds up. Advice: take at least one full rest day a week (or swap one run "
        "for cycling, swimming or a walk).",
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
        f"({hours_minutes(hr_s)} with heart rate) was easy vs {t.easy_share_min_pct:.0f} "
        "%. Likely cause: running most days moderately hard leaves no time to "
        "recover, so the legs stay heavy. Advice: keep about 80 % of your running "
        "truly easy (you can talk in full sentences), and make the hard days "
        "hard.",
    )


def _acwr_high(w: Weeks, j: int, t: Thresholds) -> Seen | None:
    days = w.days_of_week(j)
    ratios = w.acwr[days]
    if ratios.max() <= t.acwr_max:
        return None
    k = int(np.argmax(ratios))
    on = w.grid_day(int(days[k]))
    return Seen(
        "acwr_high",
        "alert",
        float(ratios[k]),
        t.acwr_max,
        "ratio",
        f"Training load spike: acute:chronic load ratio {ratios[k]:.2f} vs "
        f"{t.acwr_max:.2f} on {on.isoformat()} (the last 7 days' load "
        f"against the last 28 days'). Likely cause: much more training than your body "
        "is used to, the pattern most often seen before running injuries. Advice: "
        "ease off for a few days and bring the load back up gradually.",
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
        f"Monotonous week: training monotony {monotony:.1f} vs "
        f"{t.monotony_max:.1f} (mean daily load / its variation, Foster). Likely "
        "cause: every day about the same load, with no easy or rest days to "
        "recover on, which goes with staleness and illness. Advice: make the easy "
        "days easier or shorter, keep a rest day, and vary the sessions.",
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
