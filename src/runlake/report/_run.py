"""The report of one run: its samples over time with the thirds of its steady part, its
averages beside Garmin's zones, its flags.

**Thirds.** The form-fade metrics compare the first and the last third of a run's *steady
part* (after a 10-minute warm-up, without 60 s after each pause and without off-pace
samples). The chart and the thirds table use the same thirds, from the run's records
(:func:`runlake.metrics.steady_thirds`, the code the metrics use), and show the exact
``*_change_pct`` values of ``run_metrics`` beside the raw means.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import matplotlib as mpl
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from matplotlib.ticker import FuncFormatter

from runlake._errors import ReportError
from runlake.flags import Thresholds, load_thresholds
from runlake.metrics import (
    MOVING_MIN_MPS,
    PAUSE_GAP_S,
    RESUME_SKIP_S,
    WARMUP_S,
    RunThirds,
    steady_thirds,
)
from runlake.query import LakeLocation, run_query
from runlake.report._charts import RC, axes, chart_html, figure, note, svg_of
from runlake.report._html import facts_html, flag_items, page_html
from runlake.report._values import (
    F64,
    esc,
    finite,
    first_row,
    floats,
    fmt_day,
    fmt_hm,
    fmt_number,
    fmt_pace,
    moving_average,
)
from runlake.report._zones import ZONE_COLOURS, ZoneScale, garmin_zones

__all__ = ["MAX_POINTS", "SMOOTH_S", "render_run"]
SMOOTH_S: Final = 30.0
"""The run charts show a moving average over this many seconds (the raw samples are noisy)."""
MAX_POINTS: Final = 1500
"""Points per line at most in the run charts (the SVG stays small; the eye sees no more)."""


_RUN_SQL = "select * from run_summary where athlete = ? and activity_id = ?"
_RECORDS_SQL = """
select elapsed_s, "timestamp", distance_m, speed_mps, heart_rate_bpm, cadence_spm,
       stance_time_ms, vertical_oscillation_mm, vertical_ratio_pct, stance_time_balance_pct
from records
where athlete = ? and activity_id = ? and year = ?
order by "timestamp"
"""
_RUN_FLAGS_SQL = """
select activity_id, date, week_start, code, severity, value, threshold, unit, message
from flags
where athlete = ? and (activity_id = ? or (activity_id is null and week_start = ?))
order by activity_id nulls last, date, code
"""


@dataclass(frozen=True, slots=True)
class _Shading:
    """Where the run chart shades the warm-up and the thirds (elapsed minutes)."""

    warmup_end: float
    first: tuple[float, float]
    last: tuple[float, float]


def _shading(t: F64, thirds: RunThirds) -> _Shading | None:
    """The spans of the thirds the form-fade change uses (None: not a steady run)."""
    if not thirds.steady_run or thirds.warmup_end_s is None:
        return None
    first, last = t[thirds.first], t[thirds.last]
    if np.isnan(first).all() or np.isnan(last).all():
        return None
    return _Shading(
        thirds.warmup_end_s / 60.0,
        (float(np.nanmin(first)) / 60.0, float(np.nanmax(first)) / 60.0),
        (float(np.nanmin(last)) / 60.0, float(np.nanmax(last)) / 60.0),
    )


def _third_mean(y: F64, mask: npt.NDArray[np.bool_], w: F64) -> float | None:
    ok = mask & ~np.isnan(y)
    ws = float(w[ok].sum())
    if ws <= 0:
        return None
    return float((y[ok] * w[ok]).sum() / ws)


def _with_breaks(t: F64, y: F64, step_s: float) -> tuple[F64, F64]:
    """Minutes and values with a NaN in each pause, so the line is not drawn across it."""
    gap = np.flatnonzero(np.diff(t) > PAUSE_GAP_S + step_s) + 1
    return np.insert(t, gap, np.nan) / 60.0, np.insert(y, gap, np.nan)


def _pace_label(v: float, _pos: object = None) -> str:
    secs = round(v * 60)
    return f"{secs // 60}:{secs % 60:02d}"


def _run_chart(
    rec: pa.Table, shading: _Shading | None, scales: Mapping[str, ZoneScale]
) -> tuple[str, list[str]]:
    """The over-the-run chart (SVG) and the names of the panels drawn."""
    t = floats(rec, "elapsed_s")
    minutes = t / 60.0
    dts = np.diff(t)
    step = float(np.median(dts[dts > 0])) if (dts > 0).any() else 1.0
    n = max(1, round(SMOOTH_S / step))
    speed = moving_average(floats(rec, "speed_mps"), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        pace = np.where(speed >= MOVING_MIN_MPS, 1000.0 / speed / 60.0, np.nan)
    panels: list[tuple[str, str, F64, str | None]] = [
        ("Pace", "min/km", pace, None),
        ("Heart rate", "beats/min", moving_average(floats(rec, "heart_rate_bpm"), n), None),
        ("Cadence", "steps/min", moving_average(floats(rec, "cadence_spm"), n), "cadence_spm"),
        (
            "Ground contact time",
            "ms",
            moving_average(floats(rec, "stance_time_ms"), n),
            "stance_time_ms",
        ),
        (
            "Vertical oscillation",
            "cm",
            moving_average(floats(rec, "vertical_oscillation_mm"), n) / 10.0,
            "vertical_oscillation_mm",
        ),
    ]
    keep = [p for p in panels if p[0] in ("Pace", "Heart rate") or (~np.isnan(p[2])).any()]
    decim = max(1, math.ceil(t.size / MAX_POINTS))
    fig = figure(10.5, 1.6 * len(keep) + 0.9)
    axs = axes(fig, len(keep), sharex=True)
    for ax, (label, unit, y, zone_key) in zip(axs, keep, strict=True):
        ax.set_ylabel(f"{label}\n({unit})")
        if shading is not None:
            ax.axvspan(0, shading.warmup_end, color="#9a9a9a", alpha=0.18, lw=0)
            ax.axvspan(*shading.first, color="#3a86d4", alpha=0.13, lw=0)
            ax.axvspan(*shading.last, color="#e8912d", alpha=0.16, lw=0)
        if not (~np.isnan(y)).any():
            note(ax, f"no {label.lower()} recorded")
            ax.set_yticks([])
            continue
        lo, hi = (float(v) for v in np.nanpercentile(y, [1, 99]))
        pad = max((hi - lo) * 0.15, 0.5 if label != "Pace" else 0.05)
        lo, hi = lo - pad, hi + pad
        ax.plot(*_with_breaks(t[::decim], y[::decim], decim * step), color="#1f3b57", lw=1.0)
        ax.set_ylim(lo, hi)
        if zone_key is not None and zone_key in scales:
            # Garmin's colour zones as a strip along the right edge of the panel.
            sc = scales[zone_key]
            bounds = [-math.inf, *sc.edges, math.inf]
            for i, colour in enumerate(sc.colours):
                b0, b1 = max(bounds[i], lo), min(bounds[i + 1], hi)
                if b1 > b0:
                    ax.axhspan(
                        b0,
                        b1,
                        xmin=1.004,
                        xmax=1.018,
                        color=ZONE_COLOURS[colour],
                        lw=0,
                        clip_on=False,
                    )
        if label == "Pace":
            ax.invert_yaxis()
            ax.yaxis.set_major_formatter(FuncFormatter(_pace_label))
    if shading is not None:
        top = axs[0]
        for (x0, x1), text in (
            ((0.0, shading.warmup_end), "warm-up"),
            (shading.first, "first third"),
            (shading.last, "last third"),
        ):
            top.text(
                (x0 + x1) / 2,
                1.03,
                text,
                transform=top.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8.5,
                color="#333333",
            )
    axs[-1].set_xlabel("time since the start (minutes)")
    axs[0].set_xlim(min(float(np.nanmin(minutes)), 0.0), max(float(np.nanmax(minutes)), 1.0))
    return svg_of(fig, "run-over-time", "Over the run"), [p[0] for p in keep]


def _zones_chart(run: Mapping[str, object], scales: Sequence[ZoneScale]) -> str | None:
    """The run's averages as markers on Garmin's colour bands; None without any value."""
    rows: list[tuple[ZoneScale, float]] = []
    for sc in scales:
        v = finite(run.get(sc.column))
        if v is not None:
            rows.append((sc, v * sc.factor))
    if not rows:
        return None
    fig = figure(10.5, 0.95 * len(rows) + 0.3)
    axs = axes(fig, len(rows))
    for ax, (sc, value) in zip(axs, rows, strict=True):
        span = sc.edges[-1] - sc.edges[0]
        lo = min(sc.edges[0] - 0.4 * span, value - 0.05 * span)
        hi = max(sc.edges[-1] + 0.4 * span, value + 0.05 * span)
        bounds = [lo, *sc.edges, hi]
        for i, colour in enumerate(sc.colours):
            ax.fill_between(
                [bounds[i], bounds[i + 1]], 0, 1, color=ZONE_COLOURS[colour], alpha=0.85, lw=0
            )
            ax.text(
                (bounds[i] + bounds[i + 1]) / 2,
                0.5,
                colour,
                ha="center",
                va="center",
                fontsize=7.5,
                color="white",
            )
        for e in sc.edges:
            ax.text(
                e,
                -0.08,
                f"{e:.{sc.decimals}f}",
                ha="center",
                va="top",
                fontsize=7.5,
                color="#444444",
            )
        ax.vlines(value, -0.02, 1.02, color="black", lw=2.2, zorder=4)
        ax.plot([value], [1.22], marker="v", ms=9, color="black", zorder=5)
        ax.annotate(
            f"{value:.{sc.decimals}f} {sc.unit}: {sc.zone(value)}",
            (value, 1.22),
            xytext=(9, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=9,
            fontweight="bold",
            zorder=6,
        )
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.45, 1.5)
        ax.set_yticks([])
        ax.set_xticks([])
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_ylabel(f"{sc.label}\n({sc.unit})", rotation=0, ha="right", va="center")
    return svg_of(fig, "run-zones", "Your averages beside Garmin's colour zones")


def _thirds_table(
    rec: pa.Table, thirds: RunThirds, run: Mapping[str, object], t: Thresholds
) -> str:
    if not thirds.steady_run:
        return (
            "<p>Not a steady run (too short after the warm-up, or intervals, stops and "
            "changes of pace fill too much of it): form fade is not judged, so no thirds "
            "are marked.</p>"
        )
    rows = [
        ("Cadence", "cadence_spm", "steps/min", 1.0, 0, "cadence_change_pct"),
        ("Ground contact time", "stance_time_ms", "ms", 1.0, 0, "stance_time_change_pct"),
        (
            "Vertical oscillation",
            "vertical_oscillation_mm",
            "cm",
            0.1,
            1,
            "vertical_oscillation_change_pct",
        ),
        ("Heart rate", "heart_rate_bpm", "beats/min", 1.0, 0, None),
        ("Pace", "speed_mps", "/km", 1.0, 0, None),
    ]
    body = []
    for label, col, unit, factor, dec, exact in rows:
        y = floats(rec, col)
        a = _third_mean(y, thirds.first, thirds.weights)
        b = _third_mean(y, thirds.last, thirds.weights)
        if a is None or b is None or a <= 0 or b <= 0:
            continue
        if col == "speed_mps":  # pace: seconds per km, so + = slower
            first, last, change = fmt_pace(1000 / a), fmt_pace(1000 / b), (a / b - 1) * 100
        else:
            first, last = fmt_number(a * factor, dec, unit), fmt_number(b * factor, dec, unit)
            change = (b / a - 1) * 100
        ex = finite(run.get(exact)) if exact else None
        body.append(
            f"<tr><td>{esc(label)}</td><td>{esc(first)}</td><td>{esc(last)}</td>"
            f"<td>{change:+.1f} %</td><td>{'–' if ex is None else f'{ex:+.1f} %'}</td></tr>"
        )
    if not body:
        return ""
    return (
        '<table class="thirds"><caption>First third against last third of the steady part '
        "of the run (shaded above; raw values), and the form-fade change the flags use: the "
        "same thirds, cadence and contact time adjusted for pace (– where a third has too "
        "little of the value to judge). A drop in cadence over "
        f"{t.form_fade_cadence_drop_pct:g} %, a rise in contact time over "
        f"{t.form_fade_stance_time_rise_pct:g} % or in oscillation over "
        f"{t.form_fade_vertical_oscillation_rise_pct:g} % is flagged as form fade.</caption>"
        "<thead><tr><th>value</th><th>first third</th><th>last third</th><th>change</th>"
        "<th>form-fade change</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _render_run(
    lake_root: LakeLocation, athlete: str, activity_id: str, t: Thresholds, now: dt.datetime | None
) -> str:
    run = first_row(run_query(lake_root, _RUN_SQL, params=[athlete, activity_id]))
    if run is None:
        raise ReportError(
            f"no run {activity_id!r} for athlete {athlete!r}; list the runs with: runlake sql "
            f'"select activity_id, start_time, distance_m from runs where athlete = '
            f"'{athlete}' order by start_time desc\""
        )
    rec = run_query(lake_root, _RECORDS_SQL, params=[athlete, activity_id, run["year"]])
    flags = run_query(
        lake_root, _RUN_FLAGS_SQL, params=[athlete, activity_id, run["week_start"]]
    ).to_pylist()
    sensor = run.get("dynamics_sensor")
    scales = garmin_zones(t, sensor if isinstance(sensor, str) else None)
    thirds = steady_thirds(rec)

    dist = finite(run.get("distance_m"))
    parts = [
        facts_html(
            [
                ("Distance", fmt_number(None if dist is None else dist / 1000, 2, "km")),
                ("Time", fmt_hm(run.get("duration_s"))),
                ("Pace", fmt_pace(run.get("pace_s_per_km"))),
                ("Heart rate", fmt_number(run.get("avg_hr_bpm"), 0, "beats/min")),
                ("Load", fmt_number(run.get("load"), 0, "TRIMP")),
                ("Easy running", fmt_number(run.get("easy_share_pct"), 0, "% of the time")),
                ("Climb", fmt_number(run.get("total_ascent_m"), 0, "m")),
            ]
        )
    ]
    if rec.num_rows:
        shading = _shading(floats(rec, "elapsed_s"), thirds)
        svg, panels = _run_chart(rec, shading, {sc.column: sc for sc in scales})
        parts.append(
            chart_html(
                "run-over-time",
                "Over the run",
                svg,
                f"{esc(', '.join(panels))} along the run ({SMOOTH_S:.0f}-second moving "
                "average of the samples). Pace: higher on the chart is faster. The strip to "
                "the right of cadence, contact time and oscillation shows Garmin's colour "
                "zones (below). Form fade compares the <em>first third</em> (blue) with the "
                "<em>last third</em> (orange) of the steady part of the run: after the "
                f"warm-up (grey, the first {WARMUP_S / 60:.0f} minutes of moving time), "
                f"without the first {RESUME_SKIP_S:.0f} s after each stop and without "
                "stretches off the run's usual pace; each band spans its third from its "
                "first to its last steady sample.",
            )
        )
        parts.append(_thirds_table(rec, thirds, run, t))
    else:
        parts.append("<p>This run has no samples (records) to draw.</p>")

    zones = _zones_chart(run, scales)
    if zones is not None:
        pod = (
            " The oscillation and ratio limits are those of a waist-worn pod (Garmin's chest "
            "strap zones scaled to the pod's red limits)."
            if sensor == "pod"
            else ""
        )
        if run.get("stance_time_ms") is None and run.get("vertical_oscillation_mm") is None:
            pod += (
                " This run has no ground contact time or vertical oscillation: no chest "
                "strap, pod or watch measured them."
            )
        parts.append(
            chart_html(
                "run-zones",
                "Your averages beside Garmin's colour zones",
                zones,
                "The run's average (black line) on Garmin's colour bands: purple is the best 5 "
                "% of Garmin users' values, blue the 70th-95th percentile, green the middle "
                "(30th-69th), orange the 5th-29th percentile, red the worst 5 %. For balance, "
                "green is even (50 % on each foot). The zones compare you with other runners; "
                f"they are not personal targets.{pod} Source: Garmin owner's manuals, "
                '"Color Gauges and Running Dynamics Data"; the red limits are those of the '
                "flags (config/flags.toml).",
            )
        )
    else:
        parts.append(
            "<h2>Garmin's colour zones</h2><p>No running dynamics on this run (no chest strap, "
            "pod or watch measured them), so there is nothing to place on the zones.</p>"
        )

    run_flags = [f for f in flags if f.get("activity_id") is not None]
    week_flags = [f for f in flags if f.get("activity_id") is None]
    parts.append("<h2>What the flags say about this run</h2>")
    parts.append(
        flag_items(run_flags)
        or '<p class="ok">No flags on this run: nothing in it points to heavy legs.</p>'
    )
    if week_flags:
        parts.append(f"<h2>Flags of its week (from {esc(fmt_day(run['week_start']))})</h2>")
        parts.append(flag_items(week_flags))

    name = Path(str(run.get("source_path") or activity_id)).name
    sub = (
        f"{esc(athlete)} · {esc(name)} · {esc(run.get('sub_sport') or 'running')} · "
        f"activity {esc(activity_id)}"
    )
    return page_html(f"Run of {fmt_day(run.get('start_time'))}", sub, parts, now)


def render_run(
    lake_root: LakeLocation,
    athlete: str,
    activity_id: str,
    *,
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The HTML page of one run (``runs.activity_id``) of ``athlete``."""
    t = thresholds or load_thresholds()
    with mpl.rc_context(RC):
        return _render_run(lake_root, athlete, activity_id, t, now)
