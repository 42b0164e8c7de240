"""The week rules, computed once: each week's and day's numbers that the history flags judge.

From one row per run (the RUN_METRICS columns ``date`` or ``start_time``, ``duration_s``,
``distance_m``, ``load``, ``easy_s``, ``hr_s``; missing columns count as null) and the
user's :class:`Thresholds`, :func:`judge_weeks` computes, over every week from the athlete's
first run to the last (weeks start on Monday, days are UTC dates):

* the volume of each week (its distance, or its time when a run in it or in the
  ``volume_reference_weeks`` weeks before has no distance), the highest of those reference
  weeks, the change against it and the 10 % line (``volume_jump_pct``), whether the week broke
  it (``volume_jump``), whether it was a rest week (under ``volume_min_week_km`` (``_h``): a
  week off, or nearly) or a cutback week (a lighter week of running: at least the minimum,
  and at least ``cutback_reduction_pct`` below the reference) and how many weeks in a row
  went without either (capped at ``2 x cutback_max_weeks``; ``no_cutback``);
* each day's running streak (capped at ``STREAK_CAP_DAYS``; ``consecutive_days``) and its
  acute:chronic load ratio (7- over 28-day rolling means, Gabbett 2016; ``acwr_high``),
  judged only where it means something: on a day with a run in each of the
  ``ACWR_HISTORY_WEEKS`` weeks before the 7-day window (so not on a return after a break of
  two weeks or more, nor with under four weeks of running behind the window);
* each day's exponentially weighted acute and chronic loads and their ratio (Williams et
  al. 2017, Br J Sports Med 51:209: ``lambda = 2 / (N + 1)`` for N = 7 and 28 days), shown
  as a trend beside the rolling ratio, judged on the same days; no flag reads them;
* each week's easy share (``low_easy_share``) and Foster's monotony (``monotony_high``).

:func:`week_rules_table` is the same judgement as a WEEK_RULES table, which the lake stores
and the ``weekly_training`` view reads: the view shows what the flags judged, with the
user's thresholds; :func:`day_rules_of` gives the day-level numbers (rolling loads, their
ratio, streaks) as DAY_RULES, which the ``daily_load`` view reads. Each rule looks back
and forward a bounded number of days, so adding a run can change only the flags of the
weeks :func:`affected_weeks` returns (the run rules that read the runs before, in
:mod:`._recent`, included); the exponentially weighted loads decay but never end, so the
day rules after those weeks are rewritten too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from runlake._schemas import DAY_RULES, WEEK_RULES
from runlake.flags._flag import week_start
from runlake.flags._thresholds import STREAK_CAP_DAYS, Thresholds

__all__ = [
    "ACWR_ACUTE_DAYS",
    "ACWR_CHRONIC_DAYS",
    "ACWR_HISTORY_WEEKS",
    "EWMA_ACUTE_LAMBDA",
    "EWMA_CHRONIC_LAMBDA",
    "MONOTONY_CAP",
    "Weeks",
    "affected_weeks",
    "day_of",
    "day_rules_of",
    "judge_weeks",
    "week_rules_of",
    "week_rules_table",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

ACWR_ACUTE_DAYS: Final = 7
ACWR_CHRONIC_DAYS: Final = 28
ACWR_HISTORY_WEEKS: Final = 4
"""The acute:chronic ratio of a day is judged only when each of the 4 weeks (7-day blocks)
before its 7-day acute window, days d-34 to d-7, holds a run: four weeks of running behind
the window (the chronic load is built), and no break of 14 days or more among them (a
break that long empties a block). Else the ratio is null: the first run after a break,
whose 28 days hold only its own week, would show 4.0 by construction."""
EWMA_ACUTE_LAMBDA: Final = 2.0 / (ACWR_ACUTE_DAYS + 1)
"""Williams et al. 2017: the weight of today's load in the acute EWMA (N = 7 days)."""
EWMA_CHRONIC_LAMBDA: Final = 2.0 / (ACWR_CHRONIC_DAYS + 1)
"""... and in the chronic EWMA (N = 28 days)."""
MONOTONY_CAP: Final = 10.0
"""Monotony of a week with (nearly) identical daily loads: 10 means 10 or more."""
_EPOCH = date(1970, 1, 1)
_HISTORY_REACH_DAYS = ACWR_ACUTE_DAYS * (ACWR_HISTORY_WEEKS + 1) - 1
"""How far back the ratio's history rule looks: d-34."""
_PAD_DAYS = _HISTORY_REACH_DAYS + 1
"""Rest days on the day grid before the first week: every look-back starts on the grid."""


def day_of(n: int) -> date:
    """The date of day number ``n`` (days since 1970-01-01)."""
    return _EPOCH + timedelta(days=int(n))


def _monday(n: int) -> int:
    return n - (n + 3) % 7  # 1970-01-01 was a Thursday


def _day_numbers(runs: pa.Table) -> I64:
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


def _floats(runs: pa.Table, name: str) -> F64:
    if name not in runs.column_names:
        return np.full(runs.num_rows, np.nan)
    return np.asarray(runs.column(name).cast(pa.float64()).to_numpy(), dtype=np.float64)


def _sum_by(index: I64, weights: F64, n: int) -> F64:
    return np.asarray(np.bincount(index, weights=weights, minlength=n), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Weeks:
    """One athlete's weeks as the rules judge them.

    Week arrays have one value per week from ``first_monday`` on; day arrays one per day of
    the grid, which starts ``pad`` rest days before ``first_monday`` (grid day ``pad + 7 j``
    is the Monday of week ``j``). Volumes are in metres or seconds, as ``use_time`` says.
    """

    first_monday: int
    """Day number of the first week's Monday."""
    pad: int
    runs: I64
    last_run_day: I64
    """Day number of the week's last run (-1 without runs)."""
    distance_m: F64
    duration_s: F64
    use_time: BOOL
    volume: F64
    prior_max_distance_m: F64
    """Highest weekly distance of the reference weeks before (nan for the first week)."""
    prior_max_duration_s: F64
    reference: F64
    """prior_max_duration_s or prior_max_distance_m, as ``use_time`` says."""
    minimum: F64
    """The week minimum of the basis (a reference under it sets no 10 % line)."""
    is_volume_jump: BOOL
    volume_change_pct: F64
    is_rest_week: BOOL
    """Under the week minimum: a week off, or nearly."""
    is_cutback: BOOL
    """A lighter week of running: not a rest week, and cut back enough."""
    weeks_without_cutback: I64
    easy_s: F64
    hr_s: F64
    monotony: F64
    """Foster's monotony of the seven daily loads (nan without load)."""
    daily_load: F64
    run_streak_days: I64
    ran: BOOL
    """The day has a run."""
    acute_load: F64
    chronic_load: F64
    acute_chronic_ratio: F64
    """acute / chronic where judged (ACWR_HISTORY_WEEKS) and chronic > 0, else nan."""
    ewma_acute_load: F64
    ewma_chronic_load: F64
    ewma_ratio: F64
    """ewma acute / ewma chronic on the days the rolling ratio is judged, else nan."""

    @property
    def acwr(self) -> F64:
        """The acute:chronic ratio where the rule judges it (a run day), else 0."""
        judged = self.ran & ~np.isnan(self.acute_chronic_ratio)
        return np.where(judged, self.acute_chronic_ratio, 0.0)

    @property
    def n_weeks(self) -> int:
        return int(self.runs.size)

    def monday(self, j: int) -> date:
        return day_of(self.first_monday + 7 * j)

    def grid_day(self, i: int) -> date:
        return day_of(self.first_monday - self.pad + i)

    def days_of_week(self, j: int) -> I64:
        first = self.pad + 7 * j
        return np.arange(first, first + 7)


def _reference_max(values: F64, ref_n: int) -> F64:
    """Highest value of the ``ref_n`` weeks before each week (nan for the first)."""
    out = np.full(values.size, np.nan)
    for j in range(1, values.size):
        out[j] = values[max(0, j - ref_n) : j].max()
    return out


def _time_basis(no_distance: F64, ref_n: int) -> BOOL:
    """Weeks judged on time: a run of the week or of the reference weeks has no distance."""
    with_runs = np.concatenate([[0.0], np.cumsum(no_distance)])
    j = np.arange(no_distance.size)
    return np.asarray(with_runs[j + 1] - with_runs[np.maximum(j - ref_n, 0)] > 0, dtype=np.bool_)


def _cutback_streaks(rested: BOOL, t: Thresholds) -> I64:
    """Weeks in a row without a cutback or a rest week (``rested``), capped."""
    cap = 2 * t.cutback_max_weeks
    streak = np.zeros(rested.size, dtype=np.int64)
    for j in range(rested.size):
        streak[j] = 0 if rested[j] else min(streak[j - 1] + 1 if j else 1, cap)
    return streak


def _judged_days(ran: BOOL) -> BOOL:
    """Days whose load ratio means something: a run in each of the ACWR_HISTORY_WEEKS weeks
    before the acute window (see ACWR_HISTORY_WEEKS)."""
    n = ran.size
    ar = np.arange(n)
    rcum = np.concatenate([[0], np.cumsum(ran)])
    judged = np.ones(n, dtype=np.bool_)
    for k in range(1, ACWR_HISTORY_WEEKS + 1):
        last = ar - ACWR_ACUTE_DAYS * k  # the block's last day, d - 7k
        first = last - ACWR_ACUTE_DAYS + 1
        runs = rcum[np.clip(last + 1, 0, n)] - rcum[np.clip(first, 0, n)]
        judged &= runs > 0
    return judged


def _ratio(acute: F64, chronic: F64, judged: BOOL) -> F64:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(judged & (chronic > 0), acute / np.where(chronic > 0, chronic, 1), np.nan)


def _rolling_loads(daily: F64, judged: BOOL) -> tuple[F64, F64, F64]:
    """Acute and chronic loads of each day, and their ratio where it is judged (else nan)."""
    cum = np.concatenate([[0.0], np.cumsum(daily)])
    ar = np.arange(daily.size)
    acute = (cum[ar + 1] - cum[np.maximum(ar + 1 - ACWR_ACUTE_DAYS, 0)]) / ACWR_ACUTE_DAYS
    chronic = (cum[ar + 1] - cum[np.maximum(ar + 1 - ACWR_CHRONIC_DAYS, 0)]) / ACWR_CHRONIC_DAYS
    return acute, chronic, _ratio(acute, chronic, judged)


def _ewma(daily: F64, lam: float) -> F64:
    """Williams et al. 2017: ``ewma[d] = lam x load[d] + (1 - lam) x ewma[d - 1]``, from 0
    on the grid's first day (a rest day before the first run)."""
    out = np.empty(daily.size)
    prev = 0.0
    keep = 1.0 - lam
    for i, x in enumerate(daily.tolist()):
        prev = lam * x + keep * prev
        out[i] = prev
    return out


def _monotony(daily: F64, pad: int, n_weeks: int) -> F64:
    loads = daily[pad : pad + 7 * n_weeks].reshape(n_weeks, 7)
    mean = loads.mean(axis=1)
    sd = loads.std(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(sd <= 1e-9 * mean, MONOTONY_CAP, np.minimum(mean / sd, MONOTONY_CAP))
    return np.where(mean > 0, ratio, np.nan)


def judge_weeks(runs: pa.Table, t: Thresholds) -> Weeks | None:
    """Every week's and day's numbers of the history rules; None without a dated run."""
    days_all = _day_numbers(runs)
    keep = days_all >= 0
    if not keep.any():
        return None
    day = days_all[keep]
    dist_m = _floats(runs, "distance_m")[keep]
    dur_s = _floats(runs, "duration_s")[keep]
    load = np.nan_to_num(_floats(runs, "load")[keep], nan=0.0)
    easy_s = _floats(runs, "easy_s")[keep]
    hr_s = _floats(runs, "hr_s")[keep]

    w0 = _monday(int(day.min()))
    n_weeks = (_monday(int(day.max())) - w0) // 7 + 1
    n_days = _PAD_DAYS + 7 * n_weeks
    di = day - (w0 - _PAD_DAYS)
    wk = (day - w0) // 7

    daily = _sum_by(di, load, n_days)
    ran = np.bincount(di, minlength=n_days) > 0
    metres = _sum_by(wk, np.nan_to_num(dist_m), n_weeks)
    seconds = _sum_by(wk, np.nan_to_num(dur_s), n_weeks)
    no_dist = _sum_by(wk, np.isnan(dist_m).astype(np.float64), n_weeks)
    has_easy = ~np.isnan(easy_s) & ~np.isnan(hr_s)
    last_day = np.full(n_weeks, -1, dtype=np.int64)
    np.maximum.at(last_day, wk, day)

    ref_n = t.volume_reference_weeks
    use_time = _time_basis(no_dist, ref_n)
    prior_m, prior_s = _reference_max(metres, ref_n), _reference_max(seconds, ref_n)
    volume = np.where(use_time, seconds, metres)
    reference = np.where(use_time, prior_s, prior_m)
    minimum = np.where(use_time, t.volume_min_week_h * 3600.0, t.volume_min_week_km * 1e3)
    with np.errstate(invalid="ignore", divide="ignore"):
        judged = reference >= minimum  # False where reference is nan
        change = np.where(judged, (volume / np.where(judged, reference, 1.0) - 1.0) * 100.0, np.nan)
    is_jump = judged & (volume > reference * (1 + t.volume_jump_pct / 100))
    reduced = judged & (volume <= (1.0 - t.cutback_reduction_pct / 100.0) * reference)
    is_rest = volume < minimum
    is_cutback = ~is_rest & reduced

    last_rest = np.maximum.accumulate(np.where(~ran, np.arange(n_days), -1))  # pad days rest
    judged_days = _judged_days(ran)
    acute, chronic, ratio = _rolling_loads(daily, judged_days)
    ewma_acute = _ewma(daily, EWMA_ACUTE_LAMBDA)
    ewma_chronic = _ewma(daily, EWMA_CHRONIC_LAMBDA)
    return Weeks(
        first_monday=w0,
        pad=_PAD_DAYS,
        runs=np.bincount(wk, minlength=n_weeks),
        last_run_day=last_day,
        distance_m=metres,
        duration_s=seconds,
        use_time=use_time,
        volume=volume,
        prior_max_distance_m=prior_m,
        prior_max_duration_s=prior_s,
        reference=reference,
        minimum=minimum,
        is_volume_jump=is_jump,
        volume_change_pct=change,
        is_rest_week=is_rest,
        is_cutback=is_cutback,
        weeks_without_cutback=_cutback_streaks(is_cutback | is_rest, t),
        easy_s=_sum_by(wk[has_easy], easy_s[has_easy], n_weeks),
        hr_s=_sum_by(wk[has_easy], hr_s[has_easy], n_weeks),
        monotony=_monotony(daily, _PAD_DAYS, n_weeks),
        daily_load=daily,
        run_streak_days=np.minimum(np.arange(n_days) - last_rest, STREAK_CAP_DAYS),
        ran=ran,
        acute_load=acute,
        chronic_load=chronic,
        acute_chronic_ratio=ratio,
        ewma_acute_load=ewma_acute,
        ewma_chronic_load=ewma_chronic,
        ewma_ratio=_ratio(ewma_acute, ewma_chronic, judged_days),
    )


def _or_null(values: F64) -> pa.Array:
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def week_rules_table(runs: pa.Table, t: Thresholds) -> pa.Table:
    """WEEK_RULES: one row per week from the first run's week to the last run's."""
    return week_rules_of(judge_weeks(runs, t), t)


def week_rules_of(w: Weeks | None, t: Thresholds) -> pa.Table:
    """WEEK_RULES of weeks already judged (:func:`judge_weeks`)."""
    if w is None:
        return WEEK_RULES.empty_table()
    jump = 1 + t.volume_jump_pct / 100
    prior_m, prior_s = w.prior_max_distance_m, w.prior_max_duration_s
    with np.errstate(invalid="ignore"):
        m_limit = np.where(prior_m >= t.volume_min_week_km * 1e3, jump * prior_m, np.nan)
        s_limit = np.where(prior_s >= t.volume_min_week_h * 3600.0, jump * prior_s, np.nan)
    weeks = np.arange(w.n_weeks)
    return pa.table(
        {
            "week_start": pa.array(w.first_monday + 7 * weeks, pa.int32()).cast(pa.date32()),
            "volume_basis": pa.array(np.where(w.use_time, "time", "distance"), pa.string()),
            "prior_max_distance_m": _or_null(prior_m),
            "distance_limit_m": _or_null(m_limit),
            "prior_max_duration_s": _or_null(prior_s),
            "duration_limit_s": _or_null(s_limit),
            "volume_change_pct": _or_null(w.volume_change_pct),
            "is_volume_jump": pa.array(w.is_volume_jump, pa.bool_()),
            "is_rest_week": pa.array(w.is_rest_week, pa.bool_()),
            "is_cutback": pa.array(w.is_cutback, pa.bool_()),
            "weeks_without_cutback": pa.array(w.weeks_without_cutback, pa.int32()),
            "monotony": _or_null(w.monotony),
        },
        schema=WEEK_RULES,
    )


def day_rules_of(w: Weeks | None) -> pa.Table:
    """DAY_RULES of weeks already judged: every day of the judged weeks."""
    if w is None:
        return DAY_RULES.empty_table()
    grid = slice(w.pad, w.pad + 7 * w.n_weeks)
    days = np.arange(w.first_monday, w.first_monday + 7 * w.n_weeks)
    return pa.table(
        {
            "date": pa.array(days, pa.int32()).cast(pa.date32()),
            "acute_load": pa.array(w.acute_load[grid], pa.float64()),
            "chronic_load": pa.array(w.chronic_load[grid], pa.float64()),
            "acute_chronic_ratio": _or_null(w.acute_chronic_ratio[grid]),
            "run_streak_days": pa.array(w.run_streak_days[grid], pa.int32()),
            "ewma_acute_load": pa.array(w.ewma_acute_load[grid], pa.float64()),
            "ewma_chronic_load": pa.array(w.ewma_chronic_load[grid], pa.float64()),
            "ewma_acute_chronic_ratio": _or_null(w.ewma_ratio[grid]),
        },
        schema=DAY_RULES,
    )


def _lookahead_days(t: Thresholds) -> int:
    """Longest reach of a run into later days, over every rule that reads earlier runs."""
    ref = t.volume_reference_weeks
    return max(
        7 * ref,  # volume_jump: the reference weeks after a run
        7 * (ref + 2 * t.cutback_max_weeks - 1),  # no_cutback: cutback status, then streak
        STREAK_CAP_DAYS - 1,  # consecutive_days
        _HISTORY_REACH_DAYS,  # acwr_high: the history rule
        ACWR_CHRONIC_DAYS - 1,  # ... and the chronic window
        t.long_run_spike_days,  # long_run_spike: the days before a run
        t.baseline_days,  # form_off_baseline: the days of the baseline
    )


def affected_weeks(new_run_dates: Iterable[date], t: Thresholds) -> tuple[date, date] | None:
    """The first and last week start whose week rules and flags runs on these dates can change.

    A run can change only its own week and later weeks within the longest look-ahead of any
    rule (the run rules that read earlier runs included); recompute those weeks and replace
    them. None when no dates are given.
    """
    days = sorted(new_run_dates)
    if not days:
        return None
    first = week_start(days[0])
    last = week_start(days[-1] + timedelta(days=_lookahead_days(t)))
    return first, last
