"""The report of an athlete's weeks: volume against the jump line, cutbacks, rest days and
weeks, easy share, acute and chronic load, and every flag on a timeline.

**Which weeks.** The last ``weeks`` weeks up to the week of the latest run (default
:data:`DEFAULT_WEEKS`), or the weeks from ``start`` and/or to ``end`` (Monday to Sunday, UTC;
``weeks`` counts from ``start`` or back from ``end`` when only one is given). The range is
clipped to the athlete's history (the first run's week to the last run's); weeks without a
run inside it are shown as rest weeks.

**Load trend.** The acute:chronic chart draws ``daily_load``'s exponentially weighted pair
(Williams et al. 2017) when the view has its columns (:data:`EWMA_COLUMNS`), else the rolling
7- and 28-day loads and their ratio, with the caveat of Impellizzeri et al. (2020).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import matplotlib as mpl
import numpy as np
import pyarrow as pa
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from runlake._errors import ReportError
from runlake.flags import Thresholds, load_thresholds
from runlake.query import LakeLocation, run_query
from runlake.report._charts import (
    BAR,
    CUTBACK,
    JUMP,
    LIMIT,
    PHONE_IN,
    RC,
    SEVERITY_COLOURS,
    WIDE_IN,
    WIDTHS,
    Width,
    axes,
    chart_html,
    date_axis,
    days_since,
    figure,
    legend_line,
    note,
    svg_of,
)
from runlake.report._html import FLAG_TITLES, facts_html, flag_title, flags_html, is_note, page_html
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
    fmt_short_day,
)

__all__ = ["DEFAULT_WEEKS", "EWMA_COLUMNS", "MAX_WEEKS", "WeekRange", "render_weeks", "week_range"]

DEFAULT_WEEKS: Final = 12
"""Weeks in the weeks report when none are asked for."""
MAX_WEEKS: Final = 520


_WEEKS_SQL = """
select * from weekly_training
where athlete = ? and week_start between ? and ?
order by week_start
"""
EWMA_COLUMNS: Final = ("ewma_acute_load", "ewma_chronic_load", "ewma_acute_chronic_ratio")
"""``daily_load``'s exponentially weighted acute and chronic loads and their ratio (Williams
et al. 2017): drawn instead of the rolling ones when the view has all three."""
_ROLLING_COLUMNS: Final = ("acute_load", "chronic_load", "acute_chronic_ratio")
_DAYS_SQL = """
select * from daily_load
where athlete = ? and date between ? and ?
order by date
"""
_SPAN_SQL = """
select min(week_start) as first_week, max(week_start) as last_week
from weekly_training where athlete = ?
"""
_WEEK_FLAGS_SQL = """
select activity_id, date, week_start, code, severity, value, threshold, unit, message
from flags
where athlete = ? and week_start between ? and ?
order by date, activity_id nulls last, code
"""
_RUNS_SQL = """
select activity_id, start_time, date, source_path, distance_m, duration_s, pace_s_per_km,
       avg_hr_bpm, load, flag_codes
from run_summary
where athlete = ? and date between ? and ?
order by start_time
"""


_REST: Final = "#eceff2"


def _every(n: int, width: Width) -> int:
    """Label every k-th of ``n`` ticks: at most 14 labels on a screen, 6 on a phone."""
    most = 6 if width == "phone" else 14
    return max(1, -(-n // most))


def _week_ticks(ax: Axes, weeks: Sequence[object], width: Width) -> None:
    k = _every(len(weeks), width)
    labels = [
        fmt_short_day(w) if isinstance(w, dt.date) and i % k == 0 else ""
        for i, w in enumerate(weeks)
    ]
    ax.set_xticks(np.arange(len(weeks)), labels)
    ax.set_xlabel("week starting (Monday)")


def _bar_labels(ax: Axes, x: F64, values: F64, fmt: str, width: Width) -> None:
    if width == "phone" and x.size > 8:
        return  # no room: the axis tells
    for xi, v in zip(x, values, strict=True):
        if not np.isnan(v) and v > 0:
            ax.text(xi, v, format(v, fmt), ha="center", va="bottom", fontsize=7.5, color="#333333")


def _rest_weeks(ax: Axes, rows: Sequence[Mapping[str, object]], label: bool) -> None:
    """A grey band over each week without a run (labelled "no run" on ``label``)."""
    for i, r in enumerate(rows):
        if not r["runs"]:
            ax.axvspan(i - 0.5, i + 0.5, color=_REST, lw=0, zorder=0)
            if label:
                ax.text(
                    i, 0.04, "no run", transform=ax.get_xaxis_transform(), rotation=90,
                    ha="center", va="bottom", fontsize=7, color="#7a848e",
                )  # fmt: skip


def _jump_line(t: Thresholds) -> str:
    """The name of the volume_jump limit, with the user's threshold: "10 % line"."""
    return f"{t.volume_jump_pct:g} % line"


def _size(width: Width, height_in: float) -> tuple[float, float]:
    return (PHONE_IN, height_in * 0.9) if width == "phone" else (WIDE_IN, height_in)


def _legend(fig: Figure, handles: Sequence[Artist], width: Width, ncols: int) -> None:
    fig.legend(
        handles=list(handles), loc="outside upper left", ncols=2 if width == "phone" else ncols
    )


def _volume_chart(rows: Sequence[Mapping[str, object]], t: Thresholds, width: Width) -> str:
    x = np.arange(len(rows), dtype=np.float64)
    fig = figure(*_size(width, 5.6))
    ax_d, ax_t = axes(fig, 2, sharex=True)
    colours = [JUMP if r["is_volume_jump"] else CUTBACK if r["is_cutback"] else BAR for r in rows]
    for ax, col, limit, factor, ylabel, fmt in (
        (ax_d, "distance_m", "distance_limit_m", 1 / 1000, "distance (km)", ".0f"),
        (ax_t, "duration_s", "duration_limit_s", 1 / 3600, "running time (h)", ".1f"),
    ):
        _rest_weeks(ax, rows, label=ax is ax_d and len(rows) <= (16 if width == "wide" else 8))
        vals = np.array([finite(r[col]) or 0.0 for r in rows]) * factor
        lim = np.array([finite(r[limit]) or np.nan for r in rows]) * factor
        ax.bar(x, vals, color=colours, width=0.7, zorder=2)
        _bar_labels(ax, x, vals, fmt, width)
        ok = ~np.isnan(lim)
        ax.hlines(
            lim[ok], x[ok] - 0.45, x[ok] + 0.45, colors=LIMIT, linestyles="--", lw=1.4, zorder=4
        )
        ax.set_ylim(0, float(np.nanmax(np.concatenate([vals, lim, [1.0]]))) * 1.15)
        ax.set_ylabel(ylabel)
    ax_d.set_xlim(-0.6, len(rows) - 0.4)
    _week_ticks(ax_t, [r["week_start"] for r in rows], width)
    _legend(
        fig,
        [
            Patch(color=BAR, label="week"),
            Patch(color=CUTBACK, label="cutback week (lighter)"),
            Patch(color=JUMP, label=f"over the {_jump_line(t)}"),
            legend_line(
                LIMIT,
                _jump_line(t) + ("" if width == "phone" else ": the most the week could add"),
                ls="--",
            ),
            Patch(color=_REST, label="week without a run"),
        ],
        width,
        5,
    )
    title = f"Weekly distance and running time with the {_jump_line(t)}"
    return svg_of(fig, "weeks-volume", title, width)


def _rest_easy_chart(rows: Sequence[Mapping[str, object]], t: Thresholds, width: Width) -> str:
    x = np.arange(len(rows), dtype=np.float64)
    fig = figure(*_size(width, 4.6))
    ax_r, ax_e = axes(fig, 2, sharex=True)
    rest = np.array([finite(r["rest_days"]) or 0.0 for r in rows])
    _rest_weeks(ax_r, rows, label=False)
    _rest_weeks(ax_e, rows, label=False)
    ax_r.bar(x, rest, color=[JUMP if v < 1 else "#7aa6c2" for v in rest], width=0.7, zorder=2)
    _bar_labels(ax_r, x, rest, ".0f", width)
    ax_r.axhline(1, color=LIMIT, ls="--", lw=1.1, zorder=3)
    ax_r.set_ylim(0, 7.5)
    ax_r.set_yticks(range(8))
    ax_r.set_ylabel("rest days")
    easy = np.array([finite(r["easy_share_pct"]) or np.nan for r in rows])
    ok = ~np.isnan(easy)
    ax_e.bar(
        x[ok],
        easy[ok],
        width=0.7,
        zorder=2,
        color=["#3aa55d" if v >= t.easy_share_min_pct else "#e8912d" for v in easy[ok]],
    )
    _bar_labels(ax_e, x, easy, ".0f", width)
    ax_e.axhline(t.easy_share_min_pct, color="#2b7a46", ls=":", lw=1.6, zorder=3)
    ax_e.set_ylim(0, 108)
    ax_e.set_ylabel("easy running\n(% of time with HR)")
    if not ok.any():
        note(ax_e, "no heart rate recorded")
    ax_r.set_xlim(-0.6, len(rows) - 0.4)
    _week_ticks(ax_e, [r["week_start"] for r in rows], width)
    _legend(
        fig,
        [
            legend_line(LIMIT, "at least one rest day a week", ls="--"),
            Patch(color=JUMP, label="no rest day"),
            legend_line("#2b7a46", f"{t.easy_share_min_pct:.0f} % easy (80/20)", ls=":"),
            Patch(color="#e8912d", label="too little easy running"),
        ],
        width,
        4,
    )
    return svg_of(fig, "weeks-rest-easy", "Rest days and easy running per week", width)


def has_ewma(days: pa.Table) -> bool:
    """Whether ``daily_load`` has the exponentially weighted pair (:data:`EWMA_COLUMNS`)."""
    return all(c in days.column_names for c in EWMA_COLUMNS)


def _load_chart(
    days: pa.Table,
    rows: Sequence[Mapping[str, object]],
    t: Thresholds,
    span: tuple[dt.date, dt.date],
    width: Width,
) -> str:
    first, last = span
    x = np.array(
        [days_since(v, first) for v in days.column("date").to_pylist() if isinstance(v, dt.date)]
    )
    ewma = has_ewma(days)
    acute, chronic, ratio = (floats(days, c) for c in (EWMA_COLUMNS if ewma else _ROLLING_COLUMNS))
    load = floats(days, "load")
    fig = figure(*_size(width, 6.4))
    ax_l, ax_r, ax_m = axes(fig, 3, sharex=True, ratios=(1.5, 1.0, 0.8))
    ax_l.bar(x, np.nan_to_num(load), color="#c3d3e2", width=0.8, zorder=2)
    ax_l.plot(x, acute, color="#d6602d", lw=2.0, zorder=3)
    ax_l.plot(x, chronic, color="#1f3b57", lw=2.0, zorder=3)
    ax_l.set_ylabel("load (TRIMP)")
    ax_l.set_ylim(0, float(np.nanmax(np.concatenate([load, acute, [1.0]]))) * 1.1)
    ax_r.axhspan(0.8, 1.3, color="#3aa55d", alpha=0.15, lw=0)
    ax_r.axhline(t.acwr_max, color=JUMP, ls="--", lw=1.3)
    ax_r.plot(x, ratio, color="#1f3b57", lw=1.7)
    ax_r.set_ylabel("acute : chronic")
    ax_r.set_ylim(0, max(float(np.nanmax(np.concatenate([ratio, [t.acwr_max]]))) * 1.15, 1.8))
    if np.isnan(ratio).all():
        note(ax_r, "no ratio yet: it needs four weeks of running before")
    weeks = [r["week_start"] for r in rows]
    mono = np.array([finite(r["monotony"]) or np.nan for r in rows])
    centres = [days_since(w, first) + 3 for w in weeks if isinstance(w, dt.date)]
    ax_m.bar(
        centres,
        np.nan_to_num(mono),
        width=5.6,
        zorder=2,
        color=["#e8912d" if v > t.monotony_max else "#9bb3c9" for v in mono],
    )
    ax_m.axhline(t.monotony_max, color=JUMP, ls=":", lw=1.6)
    ax_m.set_ylabel("monotony\n(per week)")
    ax_m.set_ylim(0, max(float(np.nanmax(np.concatenate([mono, [t.monotony_max]]))) * 1.2, 1))
    date_axis(ax_m, first, last, every=_every(len(weeks), width))
    ax_m.set_xlabel("date (ticks on Mondays)")
    kind = "exponentially weighted, " if ewma else ""
    _legend(
        fig,
        [
            Patch(color="#c3d3e2", label="daily load"),
            legend_line("#d6602d", f"acute: {kind}last 7 days", lw=2),
            legend_line("#1f3b57", f"chronic: {kind}last 28 days", lw=2),
            Patch(color="#3aa55d", alpha=0.3, label="ratio 0.8-1.3: steady build"),
            legend_line(JUMP, f"ratio over {t.acwr_max:.1f}: load spike", ls="--"),
            legend_line(JUMP, f"monotony over {t.monotony_max:.1f}", ls=":"),
        ],
        width,
        3,
    )
    return svg_of(fig, "weeks-load", "Training load: acute vs chronic, and monotony", width)


def _timeline_chart(
    flags: Sequence[Mapping[str, object]], span: tuple[dt.date, dt.date], width: Width
) -> str:
    first, last = span
    order = list(FLAG_TITLES)
    codes = sorted(
        {str(f["code"]) for f in flags},
        key=lambda c: order.index(c) if c in order else len(order),
    )
    phone = width == "phone"
    fig = figure(*_size(width, 0.4 * max(len(codes), 1) + (1.9 if phone else 1.4)))
    (ax,) = axes(fig, 1)
    for f in flags:
        day = f["date"]
        if not isinstance(day, dt.date):
            continue
        colour = SEVERITY_COLOURS.get(str(f["severity"]), "#777777")
        marker = "o" if f.get("activity_id") else "s"
        ax.plot(
            [days_since(day, first)],
            [codes.index(str(f["code"]))],
            marker=marker,
            ms=8 if phone else 9,
            color=colour,
            ls="none",
            zorder=3,
        )
    # On a phone the names go above their rows: the dates keep the width.
    names = [flag_title(c) for c in codes]
    ax.set_yticks(range(len(codes)), [] if phone else names)
    if phone:
        for i, name in enumerate(names):
            ax.text(
                0.0, i - 0.32, name, transform=ax.get_yaxis_transform(), fontsize=7.5,
                va="bottom", ha="left", color="#333333",
            )  # fmt: skip
    ax.set_ylim(max(len(codes), 1) - 0.4, -0.8 if phone else -0.6)
    date_axis(ax, first, last, every=_every((last - first).days // 7 + 1, width))
    if not codes:
        note(ax, "no flags in these weeks")
    _legend(
        fig,
        [
            legend_line("#555555", "a run", marker="o", ls="none"),
            legend_line("#555555", "a week or a day", marker="s", ls="none"),
            *(
                legend_line(c, "note" if s == "info" else s, marker="o", ls="none")
                for s, c in SEVERITY_COLOURS.items()
            ),
        ],
        width,
        5,
    )
    return svg_of(fig, "weeks-flags", "Every flag on the timeline", width)


def _weeks_table(rows: Sequence[Mapping[str, object]], t: Thresholds) -> str:
    body = []
    for r in rows:
        kind = (
            "no run"
            if not r["runs"]
            else f"over the {_jump_line(t)}"
            if r["is_volume_jump"]
            else "cutback"
            if r["is_cutback"]
            else ""
        )
        codes = r.get("flag_codes")
        names = [flag_title(str(c)) for c in codes] if isinstance(codes, list) else []
        dist, lim, long_run = (
            finite(r[k]) for k in ("distance_m", "distance_limit_m", "long_run_m")
        )
        week = r["week_start"]
        body.append(
            "<tr>"
            f"<td>{esc(fmt_short_day(week) if isinstance(week, dt.date) else week)}</td>"
            f"<td>{esc(r['runs'])}</td>"
            f"<td>{fmt_number(None if dist is None else dist / 1000, 1, 'km')}</td>"
            f"<td>{fmt_number(None if lim is None else lim / 1000, 1, 'km')}</td>"
            f"<td>{esc(fmt_hm(r['duration_s']))}</td>"
            f"<td>{fmt_number(None if long_run is None else long_run / 1000, 1, 'km')}</td>"
            f"<td>{esc(r['rest_days'])}</td><td>{fmt_number(r['easy_share_pct'], 0, '%')}</td>"
            f"<td>{fmt_number(r['load'], 0)}</td><td>{fmt_number(r['acute_chronic_ratio'], 2)}</td>"
            f'<td>{fmt_number(r["monotony"], 1)}</td><td class="text">{esc(kind)}</td>'
            f'<td class="text">{esc(", ".join(names))}</td></tr>'
        )
    return (
        '<h2>The weeks in numbers</h2><p class="caption">Weeks start on Monday (UTC). '
        "acute:chronic here is the week's load against the mean weekly load of the 4 weeks "
        'before.</p><div class="scroll"><table class="weeks">'
        "<thead><tr><th>week</th><th>runs</th><th>distance</th>"
        f"<th>{_jump_line(t)}</th><th>time</th><th>long run</th><th>rest days</th><th>easy</th>"
        '<th>load</th><th>acute:chronic</th><th>monotony</th><th class="text">kind</th>'
        '<th class="text">flags</th></tr></thead><tbody>' + "".join(body) + "</tbody></table></div>"
    )


def _runs_table(runs: Sequence[Mapping[str, object]]) -> str:
    body = []
    for r in runs:
        codes = r.get("flag_codes")
        names = [flag_title(str(c)) for c in codes] if isinstance(codes, list) else []
        dist = finite(r["distance_m"])
        body.append(
            "<tr>"
            f"<td>{esc(fmt_day(r['date']))}</td>"
            f'<td class="text">{esc(Path(str(r["source_path"] or "")).name)}</td>'
            f"<td>{fmt_number(None if dist is None else dist / 1000, 2, 'km')}</td>"
            f"<td>{esc(fmt_hm(r['duration_s']))}</td><td>{esc(fmt_pace(r['pace_s_per_km']))}</td>"
            f"<td>{fmt_number(r['avg_hr_bpm'], 0)}</td><td>{fmt_number(r['load'], 0)}</td>"
            f'<td class="text">{esc(", ".join(names))}</td>'
            f"<td><code>{esc(r['activity_id'])}</code></td></tr>"
        )
    return (
        '<h2>The runs</h2><p class="caption">For the pictures of one run: '
        '<code>runlake report --run ID</code>.</p><div class="scroll"><table class="runs">'
        "<thead><tr><th>date</th>"
        '<th class="text">file</th><th>distance</th><th>time</th><th>pace</th>'
        '<th>heart rate</th><th>load</th><th class="text">flags</th><th>ID</th></tr></thead>'
        "<tbody>" + "".join(body) + "</tbody></table></div>"
    )


@dataclass(frozen=True, slots=True)
class WeekRange:
    """The weeks a report shows: Mondays ``first`` to ``last``; ``asked``: the user gave
    dates (else the last weeks up to the latest run); ``clipped``: the dates asked went beyond
    the athlete's history (``history``: its first and last week)."""

    first: dt.date
    last: dt.date
    asked: bool
    clipped: bool
    history: tuple[dt.date, dt.date]

    @property
    def weeks(self) -> int:
        return (self.last - self.first).days // 7 + 1


def _monday(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def week_range(
    lake_root: LakeLocation,
    athlete: str,
    *,
    weeks: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> WeekRange:
    """The weeks to show (see the module docstring); a ReportError names what is wrong."""
    if weeks is not None and start is not None and end is not None:
        raise ReportError("give at most two of --weeks, --from and --to")
    if weeks is not None and not 1 <= weeks <= MAX_WEEKS:
        raise ReportError(f"weeks must be between 1 and {MAX_WEEKS}, not {weeks}")
    if start is not None and end is not None and start > end:
        raise ReportError(f"--from {start.isoformat()} is after --to {end.isoformat()}")
    span = first_row(run_query(lake_root, _SPAN_SQL, params=[athlete]))
    h0, h1 = (span or {}).get("first_week"), (span or {}).get("last_week")
    if not isinstance(h0, dt.date) or not isinstance(h1, dt.date):
        raise ReportError(f"athlete {athlete!r} has no runs in the lake {str(lake_root)!r}")
    n = weeks or DEFAULT_WEEKS
    if start is not None:
        first = _monday(start)
        last = _monday(end) if end is not None else (
            first + dt.timedelta(weeks=n - 1) if weeks is not None else h1
        )  # fmt: skip
    else:
        last = _monday(end) if end is not None else h1
        first = last - dt.timedelta(weeks=n - 1)
    if (last - first).days // 7 + 1 > MAX_WEEKS:
        raise ReportError(
            f"at most {MAX_WEEKS} weeks in one report, not {(last - first).days // 7 + 1}"
        )
    asked = start is not None or end is not None
    if last < h0 or first > h1:
        raise ReportError(
            f"athlete {athlete!r} has no runs from {fmt_day(first)} to "
            f"{fmt_day(last + dt.timedelta(days=6))}: the runs in the lake are from "
            f"{fmt_day(h0)} to {fmt_day(h1 + dt.timedelta(days=6))}"
        )
    clipped = asked and (first < h0 or last > h1)
    return WeekRange(max(first, h0), min(last, h1), asked, clipped, (h0, h1))


def _facts(
    rows: Sequence[Mapping[str, object]],
    runs: Sequence[Mapping[str, object]],
    flags: Sequence[Mapping[str, object]],
) -> str:
    km = sum(finite(r["distance_m"]) or 0.0 for r in rows) / 1000
    secs = sum(finite(r["duration_s"]) or 0.0 for r in rows)
    warnings = sum(not is_note(f) for f in flags)
    return facts_html(
        [
            ("Weeks", str(len(rows))),
            ("Runs", str(len(runs))),
            ("Distance", fmt_number(km, 0, "km")),
            ("Running time", fmt_hm(secs)),
            ("Weeks without a run", str(sum(not r["runs"] for r in rows))),
            ("Cutback weeks", str(sum(bool(r["is_cutback"]) and bool(r["runs"]) for r in rows))),
            ("Warnings", str(warnings)),
            ("Notes", str(len(flags) - warnings)),
        ]
    )


def _load_caption(t: Thresholds, ewma: bool) -> str:
    how = (
        "Acute and chronic load are exponentially weighted means of the daily load (Williams "
        "et al. 2017), over about the last 7 and 28 days: recent days count most and a day "
        "does not drop out of the mean all at once."
        if ewma
        else "Acute load is the mean daily load of the last 7 days, chronic load that of "
        "the last 28 days."
    )
    return (
        "Load is Edwards' TRIMP: minutes in each heart-rate zone times the zone number "
        f"(minutes x 2.5 for a run without heart rate). {how} Their ratio, as a trend, says "
        "how the last week compares with what you are used to: 0.8-1.3 is a steady build, "
        f"over {t.acwr_max:.1f} a spike (Gabbett 2016). The acwr_high flag judges the 7- over "
        "28-day ratio, and only on a day with a run in each of the 4 weeks before its last 7 "
        "days: after a break or early in a history the ratio says nothing. "
        "<b>Read it as a trend, not a forecast</b>: the ratio does not predict injuries "
        "(Impellizzeri et al. 2020). Monotony is the mean daily load of a week over its "
        f"variation (Foster 1998): over {t.monotony_max:.1f} means every day about the same, "
        "with no easy day."
    )


def _charts(
    rows: Sequence[Mapping[str, object]],
    days: pa.Table,
    flags: Sequence[Mapping[str, object]],
    t: Thresholds,
    span: tuple[dt.date, dt.date],
) -> list[str]:
    return [
        chart_html(
            "weeks-volume",
            f"Weekly distance and running time, with the {_jump_line(t)}",
            [_volume_chart(rows, t, w) for w in WIDTHS],
            "Each bar is a week (Monday to Sunday, UTC); a grey week had no run. The dashed "
            f"line over a week is the most it could have added: {t.volume_jump_pct:g} % above "
            f"the biggest of the {t.volume_reference_weeks} weeks before (no line when those "
            f"weeks were under {t.volume_min_week_km:g} km or {t.volume_min_week_h:g} h). Red: "
            "the week went over it. Green: a cutback week, a week of running at least "
            f"{t.cutback_reduction_pct:g} % lighter than the biggest of the "
            f"{t.volume_reference_weeks} weeks before, which lets the body absorb the "
            "training (plans put one in every 3-4 weeks); a week under "
            f"{t.volume_min_week_km:g} km is a rest week, not a cutback.",
        ),
        chart_html(
            "weeks-rest-easy",
            "Rest days and easy running",
            [_rest_easy_chart(rows, t, w) for w in WIDTHS],
            "Rest days: days of the week without a run; the body needs at least one to "
            "recover. Easy running: the share of the week's running time (with heart rate) "
            f"at or below {t.easy_hr_fraction * 100:.0f} % of your maximum heart rate; about "
            f"{t.easy_share_min_pct:.0f} % of it should be easy (Seiler's 80/20).",
        ),
        chart_html(
            "weeks-load",
            "Training load: acute vs chronic",
            [_load_chart(days, rows, t, span, w) for w in WIDTHS],
            _load_caption(t, has_ewma(days)),
        ),
        chart_html(
            "weeks-flags",
            "Every flag on the timeline",
            [_timeline_chart(flags, span, w) for w in WIDTHS],
            "One row per kind of flag; circles are flags of a run, squares of a week or a "
            "day. Colour: blue = a note (advice, not a warning), orange = warning, red = "
            "alert. What each one says is listed below.",
        ),
    ]


def _render_weeks(
    lake_root: LakeLocation, athlete: str, wr: WeekRange, t: Thresholds, now: dt.datetime | None
) -> str:
    first_week, last_week = wr.first, wr.last
    last_day = last_week + dt.timedelta(days=6)
    rows = run_query(lake_root, _WEEKS_SQL, params=[athlete, first_week, last_week]).to_pylist()
    days = run_query(lake_root, _DAYS_SQL, params=[athlete, first_week, last_day])
    flags = run_query(
        lake_root, _WEEK_FLAGS_SQL, params=[athlete, first_week, last_week]
    ).to_pylist()
    runs = run_query(lake_root, _RUNS_SQL, params=[athlete, first_week, last_day]).to_pylist()
    parts = [
        _facts(rows, runs, flags),
        *_charts(rows, days, flags, t, (first_week, last_day)),
        _weeks_table(rows, t),
        flags_html(flags, "The flags, in plain words", "No warnings in these weeks."),
        _runs_table(runs),
    ]
    n = len(rows)
    plural = "s" if n != 1 else ""
    title = f"{n} week{plural} of running" if wr.asked else f"Your last {n} week{plural} of running"
    sub = f"{esc(athlete)} · {esc(fmt_day(first_week))} to {esc(fmt_day(last_day))}"
    if wr.clipped:
        h0, h1 = wr.history
        sub += (
            f" (the runs in the lake are from {esc(fmt_day(h0))} to "
            f"{esc(fmt_day(h1 + dt.timedelta(days=6)))})"
        )
    return page_html(title, sub, parts, now)


def render_weeks(
    lake_root: LakeLocation,
    athlete: str,
    *,
    weeks: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The HTML page of ``athlete``'s weeks: the last ``weeks`` (default
    :data:`DEFAULT_WEEKS`) up to the week of the latest run, or those from ``start`` and/or
    to ``end`` (see :func:`week_range`)."""
    wr = week_range(lake_root, athlete, weeks=weeks, start=start, end=end)
    t = thresholds or load_thresholds()
    with mpl.rc_context(RC):
        return _render_weeks(lake_root, athlete, wr, t, now)
