"""The report of one run: its samples over time with the thirds of its steady part, its
averages beside Garmin's zones, its flags.

**Thirds.** The form-fade metrics compare the first and the last third of a run's *steady
part* (after a 10-minute warm-up, without 60 s after each pause and without off-pace
samples). The chart and the thirds table use the same thirds, from the run's records
(:func:`runlake.metrics.steady_thirds` and :func:`runlake.metrics.form_fade_values`, the
code the metrics use): the table shows what the ``form_fade`` flag judges (cadence and
contact time adjusted for pace, so its changes are exactly ``run_metrics``' ``*_change_pct``)
beside the plain means of the same thirds.

**Charts** (``_runcharts``): each is drawn for a screen and for a phone; the lines are broken
at pauses and stops, smoothed within each stretch of running, with robust limits
(``_series``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import matplotlib as mpl
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from runlake._errors import ReportError
from runlake.flags import Thresholds, load_thresholds
from runlake.metrics import (
    OI_REF_SPEED_MPS,
    RESUME_SKIP_S,
    WARMUP_S,
    FadeValue,
    RunThirds,
    form_fade_values,
    steady_thirds,
)
from runlake.query import LakeLocation, run_query
from runlake.report._charts import RC, WIDTHS, chart_html
from runlake.report._html import facts_html, flags_html, is_note, page_html
from runlake.report._runcharts import SMOOTH_S, Shading, run_chart, zones_chart
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
)
from runlake.report._zones import ZoneScale, garmin_zones

__all__ = ["render_run"]


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


def _shading(t: F64, thirds: RunThirds) -> Shading | None:
    """The spans of the thirds the form-fade change uses (None: not a steady run)."""
    if not thirds.steady_run or thirds.warmup_end_s is None:
        return None
    first, last = t[thirds.first], t[thirds.last]
    if np.isnan(first).all() or np.isnan(last).all():
        return None
    return Shading(
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


_FADE_ROWS: Final = {  # record column: label, display unit, factor, decimals
    "cadence_spm": ("Cadence", "steps/min", 1.0, 0),
    "stance_time_ms": ("Ground contact time", "ms", 1.0, 0),
    "vertical_oscillation_mm": ("Vertical oscillation", "cm", 0.1, 1),
}


def _pct(change: float | None) -> str:
    return "–" if change is None else f"{change:+.1f} %"


def _fade_limits(t: Thresholds) -> dict[str, float]:
    return {
        "cadence_spm": -t.form_fade_cadence_drop_pct,
        "stance_time_ms": t.form_fade_stance_time_rise_pct,
        "vertical_oscillation_mm": t.form_fade_vertical_oscillation_rise_pct,
    }


def _fade_row(v: FadeValue, limit: float) -> str | None:
    label, unit, factor, dec = _FADE_ROWS[v.column]
    if v.raw_first is None and v.first is None:
        return None

    def num(x: float | None) -> str:
        return fmt_number(None if x is None else x * factor, dec, unit)

    over = v.change_pct is not None and (
        v.change_pct < limit if limit < 0 else v.change_pct > limit
    )
    flag = ' class="judged over"' if over else ' class="judged"'
    how = "at 5:33 min/km" if v.pace_adjusted else "as measured"
    return (
        f'<tr data-value="{esc(v.column)}"><td>{esc(label)} <small>({how})</small></td>'
        f"<td>{esc(num(v.first))}</td><td>{esc(num(v.last))}</td>"
        f"<td{flag}>{_pct(v.change_pct)}</td><td>{limit:+.0f} %</td>"
        f"<td>{esc(num(v.raw_first))}</td><td>{esc(num(v.raw_last))}</td>"
        f"<td>{_pct(v.raw_change_pct)}</td></tr>"
    )


def _context_rows(rec: pa.Table, thirds: RunThirds) -> list[str]:
    """Heart rate and pace over the same thirds: not judged by form fade, shown raw."""
    out = []
    for label, col in (("Heart rate", "heart_rate_bpm"), ("Pace", "speed_mps")):
        y = floats(rec, col)
        a = _third_mean(y, thirds.first, thirds.weights)
        b = _third_mean(y, thirds.last, thirds.weights)
        if a is None or b is None or a <= 0 or b <= 0:
            continue
        if col == "speed_mps":  # pace: seconds per km, so + = slower
            first, last, change = fmt_pace(1000 / a), fmt_pace(1000 / b), (a / b - 1) * 100
        else:
            first, last = fmt_number(a, 0, "beats/min"), fmt_number(b, 0, "beats/min")
            change = (b / a - 1) * 100
        out.append(
            f'<tr data-value="{esc(col)}"><td>{esc(label)}</td>'
            '<td colspan="4" class="text"><small>not judged by form fade</small></td>'
            f"<td>{esc(first)}</td><td>{esc(last)}</td><td>{change:+.1f} %</td></tr>"
        )
    return out


def _thirds_table(rec: pa.Table, thirds: RunThirds, t: Thresholds) -> str:
    fade = form_fade_values(rec)
    if fade is None or not thirds.steady_run:
        return (
            "<p>Not a steady run (too short after the warm-up, or intervals, stops and "
            "changes of pace fill too much of it): form fade is not judged, so no thirds "
            "are marked.</p>"
        )
    limits = _fade_limits(t)
    body = [r for v in fade if (r := _fade_row(v, limits[v.column])) is not None]
    body += _context_rows(rec, thirds)
    if not body:
        return ""
    compact = "".join(
        f'<tr data-value="{esc(v.column)}"><td>{esc(_FADE_ROWS[v.column][0])}</td>'
        f'<td class="judged">{_pct(v.change_pct)} <small>(flag at {limits[v.column]:+.0f} %)'
        f"</small></td><td>{_pct(v.raw_change_pct)}</td></tr>"
        for v in fade
        if v.raw_first is not None or v.first is not None
    )
    ref = fmt_pace(1000 / OI_REF_SPEED_MPS).replace("/km", "min/km")
    return (
        '<p class="caption">The first and the last third of '
        "the steady part of the run (shaded above). <b>As the flag judges</b>: the values "
        "the form-fade flag compares, cadence and ground contact time brought to one pace "
        f"({ref}, {OI_REF_SPEED_MPS:g} m/s), since both change with pace (slowing down "
        "lengthens contact and lowers cadence without any change of form); oscillation as "
        "measured. <b>As measured</b>: the plain averages of the same thirds. Form fade is "
        f"flagged when, as judged, cadence drops by more than {t.form_fade_cadence_drop_pct:g}"
        f" %, contact time rises by more than {t.form_fade_stance_time_rise_pct:g} % or "
        f"oscillation by more than {t.form_fade_vertical_oscillation_rise_pct:g} % (– where "
        "a third has too little of the value to judge).</p>"
        '<div class="scroll thirds-wide"><table class="thirds"><thead>'
        '<tr><th></th><th colspan="4" class="group">as the flag judges</th>'
        '<th colspan="3" class="group">as measured</th></tr>'
        "<tr><th>value</th><th>first third</th><th>last third</th><th>change</th>"
        "<th>flag at</th><th>first third</th><th>last third</th><th>change</th></tr></thead>"
        "<tbody>" + "".join(body) + "</tbody></table></div>"
        # on a phone: the changes alone, last third against first
        '<table class="thirds compact"><thead><tr><th>change</th><th>as the flag judges</th>'
        "<th>as measured</th></tr></thead><tbody>" + compact + "</tbody></table>"
    )


def _facts(run: Mapping[str, object], flags: Sequence[Mapping[str, object]]) -> str:
    dist = finite(run.get("distance_m"))
    mine = [f for f in flags if f.get("activity_id") is not None]
    warnings = sum(not is_note(f) for f in mine)
    return facts_html(
        [
            ("Distance", fmt_number(None if dist is None else dist / 1000, 2, "km")),
            ("Time", fmt_hm(run.get("duration_s"))),
            ("Pace", fmt_pace(run.get("pace_s_per_km"))),
            ("Heart rate", fmt_number(run.get("avg_hr_bpm"), 0, "beats/min")),
            ("Load", fmt_number(run.get("load"), 0, "TRIMP")),
            ("Easy running", fmt_number(run.get("easy_share_pct"), 0, "% of the time")),
            ("Climb", fmt_number(run.get("total_ascent_m"), 0, "m")),
            ("Warnings", str(warnings)),
            ("Notes", str(len(mine) - warnings)),
        ]
    )


def _over_time(rec: pa.Table, thirds: RunThirds, scales: Sequence[ZoneScale]) -> str:
    shading = _shading(floats(rec, "elapsed_s"), thirds)
    by_column = {sc.column: sc for sc in scales}
    svgs: list[str] = []
    panels: list[str] = []
    for width in WIDTHS:
        svg, panels = run_chart(rec, shading, by_column, width)
        svgs.append(svg)
    return chart_html(
        "run-over-time",
        "Over the run",
        svgs,
        f"{esc(', '.join(panels))} along the run ({SMOOTH_S:.0f}-second moving average "
        "within each stretch of running). Gaps are pauses and stops: the line is not drawn "
        "across them. Each axis spans the run's usual values (the 1st to the 99th percentile "
        "of the running samples, with a margin): a walking break or a sensor spike beyond it "
        "is drawn along the edge with a red marker, and heart rates no heart can beat are "
        "left out. Pace: higher on the chart is faster. The labelled strip to the right of "
        "cadence, contact time and oscillation shows Garmin's colour zones (below). Form "
        "fade compares the <em>first third</em> (blue) with the <em>last third</em> "
        "(orange) of the steady part of the run: after the warm-up (grey, the first "
        f"{WARMUP_S / 60:.0f} minutes of moving time), without the first "
        f"{RESUME_SKIP_S:.0f} s after each stop and without stretches off the run's usual "
        "pace; each band spans its third from its first to its last steady sample.",
    )


def _zones(run: Mapping[str, object], scales: Sequence[ZoneScale]) -> str:
    svgs = [zones_chart(run, scales, w) for w in WIDTHS]
    if svgs[0] is None:
        return (
            "<h2>Garmin's colour zones</h2><p>No running dynamics on this run (no chest strap, "
            "pod or watch measured them), so there is nothing to place on the zones.</p>"
        )
    pod = (
        " The oscillation and ratio limits are those of a waist-worn pod (Garmin's chest "
        "strap zones scaled to the pod's red limits)."
        if run.get("dynamics_sensor") == "pod"
        else ""
    )
    if run.get("stance_time_ms") is None and run.get("vertical_oscillation_mm") is None:
        pod += (
            " This run has no ground contact time or vertical oscillation: no chest "
            "strap, pod or watch measured them."
        )
    return chart_html(
        "run-zones",
        "Your averages beside Garmin's colour zones",
        [s for s in svgs if s is not None],
        "The run's average (black line) on Garmin's colour bands, each with its limits: "
        "purple is the best 5 % of Garmin users' values, blue the 70th-95th percentile, "
        "green the middle (30th-69th), orange the 5th-29th percentile, red the worst 5 %. "
        "For balance, green is even (50 % on each foot). The zones compare you with other "
        f"runners; they are not personal targets.{pod} Source: Garmin owner's manuals, "
        '"Color Gauges and Running Dynamics Data"; the red limits are those of the '
        "flags (config/flags.toml).",
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

    parts = [_facts(run, flags)]
    if rec.num_rows:
        thirds = steady_thirds(rec)
        parts.append(_over_time(rec, thirds, scales))
        parts.append(_thirds_table(rec, thirds, t))
    else:
        parts.append("<p>This run has no samples (records) to draw.</p>")
    parts.append(_zones(run, scales))
    run_flags = [f for f in flags if f.get("activity_id") is not None]
    week_flags = [f for f in flags if f.get("activity_id") is None]
    parts.append(
        flags_html(
            run_flags,
            "What the flags say about this run",
            "No warnings on this run: nothing in it points to heavy legs.",
        )
    )
    if week_flags:
        parts.append(
            flags_html(
                week_flags,
                f"Flags of its week (from {fmt_day(run['week_start'])})",
                "No warnings in its week.",
            )
        )

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
