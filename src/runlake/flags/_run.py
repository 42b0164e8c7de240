"""Run flags: what one run's metrics say about form, fatigue and fuelling.

One function per rule; each returns what it saw (:class:`Seen`) or None. A null metric never
gives a flag: missing data is not a bad value.
"""

from __future__ import annotations

from collections.abc import Callable

from runlake.flags._flag import Flag, Seen, hours_minutes, pace_per_km
from runlake.flags._thresholds import Thresholds
from runlake.metrics import RunMetrics

__all__ = ["run_flags"]


def _form_counts(m: RunMetrics, t: Thresholds) -> bool:
    """Form averages of a few minutes say little: judged only on long enough runs."""
    return m.moving_s >= t.form_min_moving_s


def _overstriding(m: RunMetrics, t: Thresholds) -> Seen | None:
    oi = m.overstriding_index
    if not _form_counts(m, t) or oi is None or oi <= t.overstriding_index_max:
        return None
    seen = (
        f"ground contact {m.stance_time_ms:.0f} ms at {m.cadence_spm:.0f} steps/min"
        if m.stance_time_ms is not None and m.cadence_spm is not None
        else "long ground contact at a low step rate"
    )
    return Seen(
        "overstriding",
        "warning",
        oi,
        t.overstriding_index_max,
        "index",
        f"Overstriding: {seen} at {pace_per_km(m.steady_speed_mps)}, overstriding index "
        f"{oi:.2f} vs {t.overstriding_index_max:.2f} (1.00 = Garmin's red zone for both "
        "contact time and cadence, adjusted for pace). Likely cause: the foot lands ahead "
        "of the body and brakes every step, which loads the knees and tires the quads. "
        "Advice: take shorter, quicker steps (about 5-10 % more steps per minute at the "
        "same pace) and land with the foot under the hips.",
    )


def _vertical_oscillation(m: RunMetrics, t: Thresholds) -> Seen | None:
    vo, vr = m.vertical_oscillation_mm, m.vertical_ratio_pct
    pod = m.dynamics_sensor == "pod"
    vo_max = t.pod_vertical_oscillation_max_mm if pod else t.vertical_oscillation_max_mm
    vr_max = t.pod_vertical_ratio_max_pct if pod else t.vertical_ratio_max_pct
    vr_min_vo = (
        t.pod_vertical_ratio_min_oscillation_mm if pod else t.vertical_ratio_min_oscillation_mm
    )
    if not _form_counts(m, t) or vo is None:
        return None
    if vo > vo_max:
        value, threshold, unit = vo, vo_max, "mm"
        seen = f"vertical oscillation {vo / 10:.1f} cm vs {vo_max / 10:.1f} cm"
    elif vr is not None and vr > vr_max and vo >= vr_min_vo:
        value, threshold, unit = vr, vr_max, "%"
        seen = f"vertical ratio {vr:.1f} % vs {vr_max:.1f} %"
    else:
        return None
    sensor = "waist pod" if pod else "chest strap or watch"
    return Seen(
        "high_vertical_oscillation",
        "warning",
        value,
        threshold,
        unit,
        f"High vertical oscillation: {seen} (Garmin's red zone, {sensor}). Likely cause: "
        "bouncing up and down wastes energy that should drive you forward, and every "
        "landing from higher costs the legs more. Advice: run tall and quick and light, "
        "think 'forward, not up'; strength work for the glutes and core (bridges, planks, "
        "single-leg squats) twice a week.",
    )


def _imbalance(m: RunMetrics, t: Thresholds) -> Seen | None:
    bal = m.stance_time_balance_pct
    lo, hi = t.stance_balance_min_pct, t.stance_balance_max_pct
    if not _form_counts(m, t) or bal is None or lo <= bal <= hi:
        return None
    low = bal < lo
    side, longer = ("right", 100.0 - bal) if low else ("left", bal)
    return Seen(
        "ground_contact_imbalance",
        "warning",
        bal,
        lo if low else hi,
        "% left",
        f"Ground contact imbalance: {bal:.1f} % of contact time on the left foot "
        f"({longer:.1f} % on the {side}), outside {lo:.1f}-{hi:.1f} % (Garmin's red zone). "
        "Likely cause: one leg is weaker, tight or sore and the other does more work. "
        "Advice: if it is new or something hurts, ease off and have it looked at; otherwise "
        "single-leg strength and mobility work for the weaker side.",
    )


def _times_limit(value: float, limit: float) -> float:
    """How many times its limit a change is (to pick the worst one)."""
    return abs(value) / max(abs(limit), 1e-9)


def _form_fade(m: RunMetrics, t: Thresholds) -> Seen | None:
    fades: list[tuple[float, float, float, str]] = []  # (times the limit, value, limit, words)
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
            fades.append((_times_limit(change, limit), change, limit, words))
    if not fades:
        return None
    fades.sort(reverse=True)
    _, value, limit, _ = fades[0]
    seen = ", ".join(f"{words} {v:+.1f} % (limit {lim:+.1f} %)" for _, v, lim, words in fades)
    return Seen(
        "form_fade",
        "warning",
        value,
        limit,
        "%",
        f"Form faded late in the run: {seen}, last third vs first third of the steady "
        "part, adjusted for pace. Likely cause: tired muscles (calves, glutes, hips) "
        "can no longer hold your form, often from low fuel or a run longer than your "
        "current endurance. Advice: build long runs more gradually, fuel on runs over an "
        "hour, and add strength work; finish with strides while form is still good.",
    )


def _cardiac_drift(m: RunMetrics, t: Thresholds) -> Seen | None:
    dec = m.aerobic_decoupling_pct
    if not m.steady_run or dec is None or dec <= t.cardiac_drift_max_pct:
        return None
    return Seen(
        "cardiac_drift",
        "warning",
        dec,
        t.cardiac_drift_max_pct,
        "%",
        f"Cardiac drift: aerobic decoupling (pace per heartbeat, first vs second half of "
        f"the steady part) {dec:.1f} % vs {t.cardiac_drift_max_pct:.1f} %. Your heart "
        "rate rose for the same pace. Likely cause: the run was longer or faster than "
        "your aerobic base carries, or heat, dehydration or low fuel. Advice: slow the "
        "long runs to a truly easy effort, drink and take carbohydrate on the way, and "
        f"build the duration gradually; decoupling under {t.cardiac_drift_max_pct:.0f} % "
        "shows the base is there.",
    )


def _long_run_fuelling(m: RunMetrics, t: Thresholds) -> Seen | None:
    if m.duration_s is None or m.duration_s <= t.long_run_min_s:
        return None
    lo, hi = t.carbohydrate_min_g_per_h, t.carbohydrate_max_g_per_h
    hours = m.duration_s / 3600.0
    return Seen(
        "long_run_fuelling",
        "info",
        m.duration_s / 60.0,
        t.long_run_min_s / 60.0,
        "min",
        f"Long run: {hours_minutes(m.duration_s)} vs {hours_minutes(t.long_run_min_s)}. "
        "Glycogen runs low after about an hour, which makes legs heavy late in the run and "
        f"the next day. Advice: take {lo:.0f}-{hi:.0f} g of carbohydrate per hour (about "
        f"{lo * hours:.0f}-{hi * hours:.0f} g for this run, e.g. gels or a sports drink), "
        "starting in the first half hour, and eat carbohydrate and protein afterwards.",
    )


_RULES: tuple[Callable[[RunMetrics, Thresholds], Seen | None], ...] = (
    _overstriding,
    _vertical_oscillation,
    _imbalance,
    _form_fade,
    _cardiac_drift,
    _long_run_fuelling,
)
"""In the order of RUN_CODES."""


def run_flags(m: RunMetrics, athlete: str, t: Thresholds) -> list[Flag]:
    """The flags of one run (codes in RUN_CODES, in that order)."""
    if m.date is None:
        return []
    day = m.date
    out: list[Flag] = []
    for rule in _RULES:
        seen = rule(m, t)
        if seen is not None:
            out.append(seen.flag(m.activity_id, athlete, day))
    return out
