"""Run flags: what one run's metrics, and the runs before it, say about form, fatigue, load
and fuelling.

One function per rule; each returns what it saw (:class:`Seen`) or None. A null metric never
gives a flag: missing data is not a bad value. The rules that compare a run with the runs
before it (``form_off_baseline``, ``long_run_spike``) read its :class:`Recent`
(:mod:`._recent`); without one they see nothing. The notes (``long_run_fuelling``,
``hydration``) are one line each, severity info.
"""

from __future__ import annotations

from collections.abc import Callable

from runlake.flags._flag import Flag, Seen, hours_minutes, limit, pace_per_km
from runlake.flags._recent import NO_RECENT, Recent
from runlake.flags._thresholds import Thresholds
from runlake.metrics import RunMetrics

__all__ = ["run_flags"]


def _form_counts(m: RunMetrics, t: Thresholds) -> bool:
    """Form averages of a few minutes say little: judged only on long enough runs."""
    return m.moving_s >= t.form_min_moving_s


def _hot(m: RunMetrics, t: Thresholds) -> bool:
    return m.temperature_c is not None and m.temperature_c >= t.hot_run_min_c


def _overstriding(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
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
        f"Overstriding: {seen} at {pace_per_km(m.steady_speed_mps)}, "
        f"{limit(oi, t.overstriding_index_max, 'index')} (1.00 = Garmin's red zone for both, "
        "pace-adjusted). Likely cause: the foot lands ahead of the body and brakes every "
        "step, which loads the knees and tires the quads. Advice: shorter, quicker steps "
        "(5-10 % more steps a minute at the same pace), the foot landing under the hips.",
    )


def _vertical_oscillation(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
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
        seen = f"vertical oscillation {limit(vo, vo_max, 'mm')}"
    elif vr is not None and vr > vr_max and vo >= vr_min_vo:
        value, threshold, unit = vr, vr_max, "%"
        seen = f"vertical ratio {limit(vr, vr_max, '%')}"
    else:
        return None
    sensor = "waist pod" if pod else "chest strap or watch"
    return Seen(
        "high_vertical_oscillation",
        "warning",
        value,
        threshold,
        unit,
        f"Bouncing: {seen}, Garmin's red zone ({sensor}). Likely cause: energy goes up "
        "instead of forward, and every landing from higher costs the legs more. Advice: run "
        "tall, quick and light ('forward, not up'); strength work for the glutes and core "
        "(bridges, planks, single-leg squats) twice a week.",
    )


def _imbalance(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
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
        f"Left/right imbalance: {bal:.1f} % of ground contact on the left foot "
        f"({longer:.1f} % on the {side}; limits {lo:.1f}-{hi:.1f} %, Garmin's red zone). "
        "Likely cause: one leg is weaker, tight or sore and the other does more work. "
        "Advice: if it is new or something hurts, ease off and have it looked at; otherwise "
        "single-leg strength and mobility work for the weaker side.",
    )


def _times_limit(value: float, limit_: float) -> float:
    """How many times its limit a change is (to pick the worst one)."""
    return abs(value) / max(abs(limit_), 1e-9)


def _form_fade(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
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
    for change, lim, sign, words in checks:
        if change is not None and sign * change > sign * lim:
            fades.append((_times_limit(change, lim), change, lim, words))
    if not m.steady_run or not fades:
        return None
    fades.sort(reverse=True)
    _, value, worst, _ = fades[0]
    seen = ", ".join(f"{w} {limit(v, lim, '%', signed=True)}" for _, v, lim, w in fades)
    return Seen(
        "form_fade",
        "warning",
        value,
        worst,
        "%",
        f"Form faded late in the run: {seen}, the last third of the steady part against the "
        "first, pace-adjusted. Likely cause: tired muscles (calves, glutes, hips) no longer "
        "hold your form, often from low fuel or a run longer than your current endurance. "
        "Advice: build long runs gradually, fuel on the long ones, add strength work.",
    )


# Heavy legs move each form value this way: (sign, the form-fade limit's key).
_HEAVY: dict[str, tuple[float, str, str]] = {
    "cadence_spm": (-1.0, "form_fade_cadence_drop_pct", "cadence"),
    "stance_time_ms": (1.0, "form_fade_stance_time_rise_pct", "ground contact"),
    "vertical_oscillation_mm": (1.0, "form_fade_vertical_oscillation_rise_pct", "oscillation"),
}


def _in_units(name: str, x: float) -> str:
    if name == "vertical_oscillation_mm":
        return f"{x / 10:.1f} cm"
    return f"{x:.0f} ms" if name == "stance_time_ms" else f"{x:.0f} steps/min"


def _pace_band(lo_s_per_km: float, width: float) -> str:
    """``5:45-6:00 min/km``."""
    fast = pace_per_km(1000.0 / lo_s_per_km).removesuffix(" min/km")
    return f"{fast}-{pace_per_km(1000.0 / (lo_s_per_km + width))}"


def _form_off_baseline(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
    moved: list[tuple[float, float, float, str]] = []  # (departure, change, limit, words)
    for name, (sign, key, words) in _HEAVY.items():
        u = r.form.get(name)
        change = u.change_pct if u is not None else None
        if u is None or u.departure_sd is None or change is None or u.value is None:
            continue
        lim = sign * float(getattr(t, key))
        if sign * u.departure_sd > t.baseline_departure_sd and sign * change > sign * lim:
            usual = u.usual if u.usual is not None else 0.0
            seen = (
                f"{words} {_in_units(name, u.value)} vs your usual {_in_units(name, usual)} "
                f"({change:+.1f} %, {abs(u.departure_sd):.1f} x your usual spread)"
            )
            moved.append((abs(u.departure_sd), change, lim, seen))
    if not _form_counts(m, t) or not moved or r.band_s_per_km is None:
        return None
    moved.sort(reverse=True)
    _, change, lim, _ = moved[0]
    pace = _pace_band(r.band_s_per_km, t.baseline_pace_band_s_per_km)
    return Seen(
        "form_off_baseline",
        "warning",
        change,
        lim,
        "%",
        f"Form off your usual: {'; '.join(s for *_, s in moved)} at {pace}, against your "
        f"{r.baseline_runs} runs at that pace in the {t.baseline_days} days before. Likely "
        "cause: heavy legs (a hard week, little sleep, a cold coming, or a niggle). Advice: "
        "a few easy days; if it does not come back, or something hurts, have it looked at.",
    )


def _cardiac_drift(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
    dec = m.aerobic_decoupling_pct
    if not m.steady_run or dec is None or dec <= t.cardiac_drift_max_pct:
        return None
    heat = (
        f"the heat ({m.temperature_c:.0f} °C on the watch), and "
        if _hot(m, t) and m.temperature_c is not None
        else ""
    )
    return Seen(
        "cardiac_drift",
        "warning",
        dec,
        t.cardiac_drift_max_pct,
        "%",
        f"Heart rate drifted up: aerobic decoupling {limit(dec, t.cardiac_drift_max_pct, '%')}"
        ", pace per heartbeat in the second half of the steady part against the first. Likely "
        f"cause: {heat}a run longer or faster than your aerobic base carries, dehydration or "
        "low fuel. Advice: slow the long runs to a truly easy effort, drink and take "
        "carbohydrate on the way, and build the duration gradually.",
    )


def _long_run_spike(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
    change = r.long_run_change_pct
    if change is None or change <= t.long_run_spike_pct:
        return None
    on_time = r.long_run_basis == "time"
    if on_time:
        this = hours_minutes(m.duration_s or 0.0)
        before = hours_minutes(r.prior_longest_s or 0.0)
    else:
        this = f"{(m.distance_m or 0.0) / 1000:.1f} km"
        before = f"{(r.prior_longest_m or 0.0) / 1000:.1f} km"
    days = t.long_run_spike_days
    return Seen(
        "long_run_spike",
        "alert" if change > t.long_run_spike_alert_pct else "warning",
        change,
        t.long_run_spike_pct,
        "%",
        f"Long run spike: {this}, {change:.0f} % longer than your longest run of the {days} "
        f"days before ({before}; limit +{t.long_run_spike_pct:.0f} %). In 5,205 runners "
        "(Garmin-RUNSAFE, Frandsen et al. 2025), a run over 10 % longer than the longest of "
        "the 30 days before raised the overuse-injury rate 1.64 times (10-30 % longer), 1.52 "
        "times (30-100 %) and 2.28 times (over 100 %). Advice: an easy few days now; next "
        "time grow the long run by at most 10 % over your longest of the last month.",
    )


def _long_run_fuelling(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
    if m.duration_s is None or m.duration_s <= t.long_run_min_s:
        return None
    if m.duration_s > t.ultra_run_min_s:
        band, start = f"up to {t.carbohydrate_ultra_max_g_per_h:.0f} g", t.ultra_run_min_s
        kind = " (a glucose-fructose mix)"
    else:
        band = f"{t.carbohydrate_min_g_per_h:.0f}-{t.carbohydrate_max_g_per_h:.0f} g"
        start, kind = t.long_run_min_s, ""
    return Seen(
        "long_run_fuelling",
        "info",
        m.duration_s / 60.0,
        start / 60.0,
        "min",
        f"{hours_minutes(m.duration_s)} run: take {band} of carbohydrate an hour{kind} "
        "next time (Jeukendrup 2014).",
    )


def _hydration(m: RunMetrics, r: Recent, t: Thresholds) -> Seen | None:
    duration = m.duration_s or 0.0
    hot = _hot(m, t) and duration >= t.hot_run_min_s and m.temperature_c is not None
    if not hot and duration <= t.hydration_long_run_min_s:
        return None
    advice = (
        "drink on the way, with salt (a sports drink); weigh yourself before and after: "
        "lose under 2 % of your weight, and never gain (ACSM 2007)."
    )
    if hot and m.temperature_c is not None:
        return Seen(
            "hydration",
            "info",
            m.temperature_c,
            t.hot_run_min_c,
            "°C",
            f"Hot run ({m.temperature_c:.0f} °C on the watch): {advice}",
        )
    return Seen(
        "hydration",
        "info",
        duration / 60.0,
        t.hydration_long_run_min_s / 60.0,
        "min",
        f"{hours_minutes(duration)} run: {advice}",
    )


_RULES: tuple[Callable[[RunMetrics, Recent, Thresholds], Seen | None], ...] = (
    _overstriding,
    _vertical_oscillation,
    _imbalance,
    _form_fade,
    _form_off_baseline,
    _cardiac_drift,
    _long_run_spike,
    _long_run_fuelling,
    _hydration,
)
"""In the order of RUN_CODES."""


def run_flags(
    m: RunMetrics, athlete: str, t: Thresholds, recent: Recent | None = None
) -> list[Flag]:
    """The flags of one run (codes in RUN_CODES, in that order). ``recent``: what it is
    compared with from the runs before it (:func:`~runlake.flags.judge_recent`); None:
    nothing, so no ``long_run_spike`` or ``form_off_baseline``."""
    if m.date is None:
        return []
    day = m.date
    r = NO_RECENT if recent is None else recent
    out: list[Flag] = []
    for rule in _RULES:
        seen = rule(m, r, t)
        if seen is not None:
            out.append(seen.flag(m.activity_id, athlete, day))
    return out
