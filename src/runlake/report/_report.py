"""The report: one self-contained HTML page for a runner, about a run or about recent weeks.

Query stage: every number comes from the lake's views through :func:`runlake.query._query.run_query`
(``run_summary``, ``records``, ``flags``, ``weekly_training``, ``daily_load``); nothing is
decoded or written here but the HTML file. The charts are drawn with matplotlib (no pyplot,
no display: ``Figure`` objects saved as SVG) and embedded inline, so the page opens offline:
no script, no style sheet, no font and no image is fetched from anywhere (the page's
Content-Security-Policy forbids it).

* :func:`render_run` — one run: pace, heart rate, cadence, ground contact time and vertical
  oscillation over the run with the thirds used for form fade marked, the run's averages
  beside Garmin's colour zones, its flags (and its week's) in plain words.
* :func:`render_weeks` — the last N weeks of an athlete: weekly distance and time with the
  10 % line, cutback weeks, rest days, easy-running share, acute and chronic load, and every
  flag on a timeline.

**Thirds.** The form-fade metrics compare the first and the last third of a run's *steady
part* (after a 10-minute warm-up, without 60 s after each pause and without off-pace
samples). The chart and the thirds table use the same thirds, from the run's records
(:func:`runlake.metrics.steady_thirds`, the code the metrics use), and show the exact
``*_change_pct`` values of ``run_metrics`` beside the raw means.

**Colour zones.** Garmin colours each running-dynamics value by where it falls among Garmin
users' data (purple: best 5 %, blue: 70-95th percentile, green: 30-69th, orange: 5-29th,
red: worst 5 %): Garmin Forerunner 245 Owner's Manual, "Color Gauges and Running Dynamics
Data" (www8.garmin.com/manuals/webhelp/forerunner245/EN-US/GUID-EE9E7F6F-49BE-4452-82E6-
B40371D0AEC1.html; the same table is in the fenix 7 manual). The red limits come from the
flags' thresholds (config/flags.toml, so an override moves them) and ``runlake.metrics``;
the other limits are Garmin's table (:data:`GARMIN_ZONES`). For a waist-worn pod the
oscillation and ratio limits are scaled by the pod's red limit over the chest strap's.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any, Final

import matplotlib as mpl
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from runlake._errors import ReportError
from runlake.flags import Thresholds, load_thresholds
from runlake.metrics import (
    MOVING_MIN_MPS,
    OI_RED_CADENCE_SPM,
    OI_RED_GCT_MS,
    PAUSE_GAP_S,
    RESUME_SKIP_S,
    WARMUP_S,
    RunThirds,
    steady_thirds,
)
from runlake.query._query import LakeLocation, run_query

__all__ = [
    "DEFAULT_WEEKS",
    "FLAG_TITLES",
    "GARMIN_ZONES",
    "ReportError",
    "ZoneScale",
    "default_report_name",
    "garmin_zones",
    "render_run",
    "render_weeks",
    "write_report",
]

F64 = npt.NDArray[np.float64]

DEFAULT_WEEKS: Final = 12
"""Weeks in the weeks report when none are asked for."""
MAX_WEEKS: Final = 520
SMOOTH_S: Final = 30.0
"""The run charts show a moving average over this many seconds (the raw samples are noisy)."""
MAX_POINTS: Final = 1500
"""Points per line at most in the run charts (the SVG stays small; the eye sees no more)."""

FLAG_TITLES: Final[Mapping[str, str]] = {
    "overstriding": "Overstriding",
    "high_vertical_oscillation": "Bouncing (high vertical oscillation)",
    "ground_contact_imbalance": "Left/right imbalance",
    "form_fade": "Form faded late in the run",
    "cardiac_drift": "Heart rate drifted up",
    "long_run_fuelling": "Long run: fuel on the way",
    "volume_jump": "Weekly volume jumped",
    "no_cutback": "No lighter week for a while",
    "consecutive_days": "No rest day",
    "low_easy_share": "Too little easy running",
    "acwr_high": "Training load spike",
    "monotony_high": "Every day the same load",
}
"""Each flag code in plain words."""

_SEVERITY_COLOURS: Final = {"info": "#5b8cc4", "warning": "#e8912d", "alert": "#d63c30"}
_ZONE_COLOURS: Final = {
    "purple": "#8e5cc2",
    "blue": "#3a86d4",
    "green": "#3aa55d",
    "orange": "#f0a030",
    "red": "#dc4b3e",
}
_BAR: Final = "#4a7fb5"
_CUTBACK: Final = "#8cc7a1"
_JUMP: Final = "#d63c30"
_LIMIT: Final = "#222222"

_RC: Final[dict[Any, Any]] = {
    "svg.fonttype": "none",  # real <text>: selectable, searchable, small
    "svg.hashsalt": "runlake-report",  # deterministic ids
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8.0,
}


# --------------------------------------------------------------------------- zones


@dataclass(frozen=True, slots=True)
class ZoneScale:
    """Garmin's colour zones of one running-dynamics value.

    ``edges`` are the four limits between the five zones in display units, ascending;
    ``colours`` the five zones from low to high values (cadence: red is low; contact time,
    oscillation and ratio: red is high). Balance has seven bands around 50 % (its
    ``edges`` has six limits).
    """

    column: str
    label: str
    unit: str
    factor: float
    """Display value = stored value x factor (oscillation: mm -> cm)."""
    edges: tuple[float, ...]
    colours: tuple[str, ...]
    decimals: int

    def zone(self, value: float) -> str:
        """The colour of ``value`` (display units): the zone whose range holds it."""
        i = int(np.searchsorted(np.asarray(self.edges), value, side="right"))
        return self.colours[i]


GARMIN_ZONES: Final[Mapping[str, tuple[float, ...]]] = {
    # Garmin's colour-zone table (see the module docstring): the first value of each zone
    # above the red one (cadence) or below it (the others). The red limits come from the
    # thresholds. Cadence steps/min; contact time ms; oscillation cm; ratio %; balance % on
    # the left foot.
    "cadence_spm": (164.0, 174.0, 184.0),  # orange 153-163, green 164-173, blue 174-183
    "stance_time_ms": (218.0, 249.0, 278.0),  # purple <218, blue 218-248, green 249-277
    "vertical_oscillation_cm": (6.4, 8.2, 9.8),  # purple <6.4, blue 6.4-8.1, green 8.2-9.7
    "vertical_ratio_pct": (6.1, 7.5, 8.7),  # purple <6.1, blue 6.1-7.4, green 7.5-8.6
    "stance_time_balance_pct": (49.3, 50.7),  # green 49.3-50.7 (50.7 % L to 50.7 % R)
}


def garmin_zones(t: Thresholds, dynamics_sensor: str | None = None) -> list[ZoneScale]:
    """The colour zones of cadence, contact time, oscillation, ratio and balance.

    Red limits: ``OI_RED_CADENCE_SPM`` and ``OI_RED_GCT_MS`` (runlake.metrics) and the
    thresholds' oscillation, ratio and balance limits (the pod's for ``"pod"``).
    """
    pod = dynamics_sensor == "pod"
    vo_red = (t.pod_vertical_oscillation_max_mm if pod else t.vertical_oscillation_max_mm) / 10
    vr_red = t.pod_vertical_ratio_max_pct if pod else t.vertical_ratio_max_pct
    vo_scale = vo_red / (t.vertical_oscillation_max_mm / 10)
    vr_scale = vr_red / t.vertical_ratio_max_pct
    five_low_bad = ("red", "orange", "green", "blue", "purple")
    five_high_bad = ("purple", "blue", "green", "orange", "red")
    cad = GARMIN_ZONES["cadence_spm"]
    gct = GARMIN_ZONES["stance_time_ms"]
    vo = GARMIN_ZONES["vertical_oscillation_cm"]
    vr = GARMIN_ZONES["vertical_ratio_pct"]
    bal = GARMIN_ZONES["stance_time_balance_pct"]
    return [
        ZoneScale(
            "cadence_spm",
            "Cadence",
            "steps/min",
            1.0,
            (OI_RED_CADENCE_SPM, *cad),
            five_low_bad,
            0,
        ),
        ZoneScale(
            "stance_time_ms",
            "Ground contact time",
            "ms",
            1.0,
            (*gct, OI_RED_GCT_MS),
            five_high_bad,
            0,
        ),
        ZoneScale(
            "vertical_oscillation_mm",
            "Vertical oscillation",
            "cm",
            0.1,
            (*(v * vo_scale for v in vo), vo_red),
            five_high_bad,
            1,
        ),
        ZoneScale(
            "vertical_ratio_pct",
            "Vertical ratio",
            "%",
            1.0,
            (*(v * vr_scale for v in vr), vr_red),
            five_high_bad,
            1,
        ),
        ZoneScale(
            "stance_time_balance_pct",
            "Ground contact balance",
            "% left",
            1.0,
            (t.stance_balance_min_pct, bal[0], bal[1], t.stance_balance_max_pct),
            ("red", "orange", "green", "orange", "red"),
            1,
        ),
    ]


# --------------------------------------------------------------------------- small helpers


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _floats(table: pa.Table, name: str) -> F64:
    """A column as float64 with NaN for null (all NaN when the column is absent)."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = table.column(name).cast(pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _fmt(value: object, decimals: int = 0, unit: str = "") -> str:
    f = _num(value)
    if f is None:
        return "–"
    text = f"{f:,.{decimals}f}".replace(",", " ")
    return f"{text} {unit}".rstrip()


def _hm(seconds: object) -> str:
    f = _num(seconds)
    if f is None:
        return "–"
    minutes = round(f / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _pace(s_per_km: object) -> str:
    f = _num(s_per_km)
    if f is None or f <= 0:
        return "–"
    secs = round(f)
    return f"{secs // 60}:{secs % 60:02d} /km"


def _day(d: object) -> str:
    if isinstance(d, dt.datetime):
        d = d.astimezone(dt.UTC).date()
    if isinstance(d, dt.date):
        return f"{d:%a} {d.day} {d:%b %Y}"
    return "–"


def _short_day(d: dt.date) -> str:
    return f"{d.day} {d:%b}"


def _one(table: pa.Table) -> dict[str, object] | None:
    rows = table.to_pylist()
    return rows[0] if rows else None


def _smooth(y: F64, n: int) -> F64:
    """Moving average over ``n`` samples, ignoring NaN; NaN where the sample is NaN."""
    if n <= 1 or y.size == 0:
        return y
    valid = ~np.isnan(y)
    kernel = np.ones(n)
    num = np.convolve(np.where(valid, y, 0.0), kernel, mode="same")
    den = np.convolve(valid.astype(np.float64), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    out[~valid] = np.nan
    return out


def _value(value: object) -> str:
    """A flag's value or threshold with as many decimals as its size needs."""
    f = _num(value)
    if f is None:
        return "–"
    decimals = 0 if abs(f) >= 100 else 1 if abs(f) >= 10 else 2
    return f"{f:.{decimals}f}"


# --------------------------------------------------------------------------- SVG


def _svg(fig: Figure, slug: str, title: str) -> str:
    """``fig`` as an inline <svg> element: ids made unique, a <title>, scaled to its box."""
    buf = StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    if start < 0:  # pragma: no cover - matplotlib always writes one
        raise ReportError("matplotlib wrote no <svg> element")
    text = text[start:]
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    # Several SVGs share one HTML document: every id (clip paths, markers) gets the chart's
    # prefix, and so does every reference to one.
    prefix = f"c-{slug}"
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'(\b(?:xlink:)?href)="#([^"]+)"', rf'\1="#{prefix}-\2"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    head_end = text.find(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", text[:head_end], count=2)
    head += (
        f' width="100%" class="chart" role="img" data-chart="{_esc(slug)}"'
        f' aria-labelledby="{prefix}-title"'
    )
    return f'{head}>\n<title id="{prefix}-title">{_esc(title)}</title>{text[head_end + 1 :]}'


def _figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in), dpi=96, layout="constrained")


def _axes(
    fig: Figure, nrows: int, *, sharex: bool = False, ratios: Sequence[float] = ()
) -> list[Axes]:
    gridspec = {"height_ratios": list(ratios)} if ratios else None
    axs = fig.subplots(nrows, 1, squeeze=False, sharex=sharex, gridspec_kw=gridspec)
    return [a for row in axs for a in row]


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#888888")


def _chart(slug: str, title: str, svg: str, caption: str) -> str:
    """A chart with its heading and its explanation (``caption`` is HTML)."""
    return (
        f'<h2>{_esc(title)}</h2>\n<figure id="{_esc(slug)}">\n{svg}\n'
        f"<figcaption>{caption}</figcaption>\n</figure>"
    )


def _days(d: dt.date, origin: dt.date) -> float:
    """x position of a day on a date axis: days since ``origin`` (the axis' first day)."""
    return float((d - origin).days)


def _date_axis(ax: Axes, first: dt.date, last: dt.date) -> None:
    """x from ``first`` to ``last`` (positions from :func:`_days`), ticks on Mondays."""
    ax.set_xlim(-0.8, _days(last, first) + 0.8)
    mondays = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    mondays = [m for m in mondays if m.weekday() == 0]
    ax.set_xticks([_days(m, first) for m in mondays], [_short_day(m) for m in mondays])


def _line(colour: str, label: str, **kw: object) -> Line2D:
    return Line2D([], [], color=colour, label=label, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- run report


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
    t = _floats(rec, "elapsed_s")
    minutes = t / 60.0
    dts = np.diff(t)
    step = float(np.median(dts[dts > 0])) if (dts > 0).any() else 1.0
    n = max(1, round(SMOOTH_S / step))
    speed = _smooth(_floats(rec, "speed_mps"), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        pace = np.where(speed >= MOVING_MIN_MPS, 1000.0 / speed / 60.0, np.nan)
    panels: list[tuple[str, str, F64, str | None]] = [
        ("Pace", "min/km", pace, None),
        ("Heart rate", "beats/min", _smooth(_floats(rec, "heart_rate_bpm"), n), None),
        ("Cadence", "steps/min", _smooth(_floats(rec, "cadence_spm"), n), "cadence_spm"),
        ("Ground contact time", "ms", _smooth(_floats(rec, "stance_time_ms"), n), "stance_time_ms"),
        (
            "Vertical oscillation",
            "cm",
            _smooth(_floats(rec, "vertical_oscillation_mm"), n) / 10.0,
            "vertical_oscillation_mm",
        ),
    ]
    keep = [p for p in panels if p[0] in ("Pace", "Heart rate") or (~np.isnan(p[2])).any()]
    decim = max(1, math.ceil(t.size / MAX_POINTS))
    fig = _figure(10.5, 1.6 * len(keep) + 0.9)
    axs = _axes(fig, len(keep), sharex=True)
    for ax, (label, unit, y, zone_key) in zip(axs, keep, strict=True):
        ax.set_ylabel(f"{label}\n({unit})")
        if shading is not None:
            ax.axvspan(0, shading.warmup_end, color="#9a9a9a", alpha=0.18, lw=0)
            ax.axvspan(*shading.first, color="#3a86d4", alpha=0.13, lw=0)
            ax.axvspan(*shading.last, color="#e8912d", alpha=0.16, lw=0)
        if not (~np.isnan(y)).any():
            _note(ax, f"no {label.lower()} recorded")
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
                        color=_ZONE_COLOURS[colour],
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
    return _svg(fig, "run-over-time", "Over the run"), [p[0] for p in keep]


def _zones_chart(run: Mapping[str, object], scales: Sequence[ZoneScale]) -> str | None:
    """The run's averages as markers on Garmin's colour bands; None without any value."""
    rows: list[tuple[ZoneScale, float]] = []
    for sc in scales:
        v = _num(run.get(sc.column))
        if v is not None:
            rows.append((sc, v * sc.factor))
    if not rows:
        return None
    fig = _figure(10.5, 0.95 * len(rows) + 0.3)
    axs = _axes(fig, len(rows))
    for ax, (sc, value) in zip(axs, rows, strict=True):
        span = sc.edges[-1] - sc.edges[0]
        lo = min(sc.edges[0] - 0.4 * span, value - 0.05 * span)
        hi = max(sc.edges[-1] + 0.4 * span, value + 0.05 * span)
        bounds = [lo, *sc.edges, hi]
        for i, colour in enumerate(sc.colours):
            ax.fill_between(
                [bounds[i], bounds[i + 1]], 0, 1, color=_ZONE_COLOURS[colour], alpha=0.85, lw=0
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
    return _svg(fig, "run-zones", "Your averages beside Garmin's colour zones")


def _flag_items(rows: Iterable[Mapping[str, object]]) -> str:
    items = []
    for r in rows:
        code = str(r.get("code"))
        sev = str(r.get("severity"))
        title = FLAG_TITLES.get(code, code)
        unit = f" {r['unit']}" if r.get("unit") else ""
        seen = f"{_value(r.get('value'))}{unit} vs {_value(r.get('threshold'))}{unit}"
        items.append(
            f'<li class="flag {_esc(sev)}" data-code="{_esc(code)}">'
            f'<span class="sev">{_esc(sev)}</span> <strong>{_esc(title)}</strong> '
            f'<span class="when">{_esc(_day(r.get("date")))} · {_esc(code)}: {_esc(seen)}</span>'
            f"<p>{_esc(r.get('message'))}</p></li>"
        )
    return '<ul class="flags">\n' + "\n".join(items) + "\n</ul>" if items else ""


def _facts(facts: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f'<div class="fact"><span>{_esc(k)}</span><b>{_esc(v)}</b></div>' for k, v in facts
    )
    return f'<div class="facts">{cells}</div>'


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
        y = _floats(rec, col)
        a = _third_mean(y, thirds.first, thirds.weights)
        b = _third_mean(y, thirds.last, thirds.weights)
        if a is None or b is None or a <= 0 or b <= 0:
            continue
        if col == "speed_mps":  # pace: seconds per km, so + = slower
            first, last, change = _pace(1000 / a), _pace(1000 / b), (a / b - 1) * 100
        else:
            first, last = _fmt(a * factor, dec, unit), _fmt(b * factor, dec, unit)
            change = (b / a - 1) * 100
        ex = _num(run.get(exact)) if exact else None
        body.append(
            f"<tr><td>{_esc(label)}</td><td>{_esc(first)}</td><td>{_esc(last)}</td>"
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
    run = _one(run_query(lake_root, _RUN_SQL, params=[athlete, activity_id]))
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

    dist = _num(run.get("distance_m"))
    parts = [
        _facts(
            [
                ("Distance", _fmt(None if dist is None else dist / 1000, 2, "km")),
                ("Time", _hm(run.get("duration_s"))),
                ("Pace", _pace(run.get("pace_s_per_km"))),
                ("Heart rate", _fmt(run.get("avg_hr_bpm"), 0, "beats/min")),
                ("Load", _fmt(run.get("load"), 0, "TRIMP")),
                ("Easy running", _fmt(run.get("easy_share_pct"), 0, "% of the time")),
                ("Climb", _fmt(run.get("total_ascent_m"), 0, "m")),
            ]
        )
    ]
    if rec.num_rows:
        shading = _shading(_floats(rec, "elapsed_s"), thirds)
        svg, panels = _run_chart(rec, shading, {sc.column: sc for sc in scales})
        parts.append(
            _chart(
                "run-over-time",
                "Over the run",
                svg,
                f"{_esc(', '.join(panels))} along the run ({SMOOTH_S:.0f}-second moving "
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
            _chart(
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
        _flag_items(run_flags)
        or '<p class="ok">No flags on this run: nothing in it points to heavy legs.</p>'
    )
    if week_flags:
        parts.append(f"<h2>Flags of its week (from {_esc(_day(run['week_start']))})</h2>")
        parts.append(_flag_items(week_flags))

    name = Path(str(run.get("source_path") or activity_id)).name
    sub = (
        f"{_esc(athlete)} · {_esc(name)} · {_esc(run.get('sub_sport') or 'running')} · "
        f"activity {_esc(activity_id)}"
    )
    return _page(f"Run of {_day(run.get('start_time'))}", sub, parts, now)


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
    with mpl.rc_context(_RC):
        return _render_run(lake_root, athlete, activity_id, t, now)


# --------------------------------------------------------------------------- weeks report


_WEEKS_SQL = """
select * from weekly_training
where athlete = ? and week_start between ? and ?
order by week_start
"""
_DAYS_SQL = """
select date, runs, load, acute_load, chronic_load, acute_chronic_ratio
from daily_load
where athlete = ? and date between ? and ?
order by date
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


def _week_ticks(ax: Axes, weeks: Sequence[object]) -> None:
    labels = [_short_day(w) if isinstance(w, dt.date) else "" for w in weeks]
    ax.set_xticks(np.arange(len(weeks)), labels)
    ax.set_xlabel("week starting (Monday)")


def _bar_labels(ax: Axes, x: F64, values: F64, fmt: str) -> None:
    for xi, v in zip(x, values, strict=True):
        if not np.isnan(v) and v > 0:
            ax.text(xi, v, format(v, fmt), ha="center", va="bottom", fontsize=7.5, color="#333333")


def _jump_line(t: Thresholds) -> str:
    """The name of the volume_jump limit, with the user's threshold: "10 % line"."""
    return f"{t.volume_jump_pct:g} % line"


def _volume_chart(rows: Sequence[Mapping[str, object]], t: Thresholds) -> str:
    x = np.arange(len(rows), dtype=np.float64)
    fig = _figure(10.5, 5.6)
    ax_d, ax_t = _axes(fig, 2, sharex=True)
    colours = [
        _JUMP if r["is_volume_jump"] else _CUTBACK if r["is_cutback"] else _BAR for r in rows
    ]
    for ax, col, limit, factor, ylabel, fmt in (
        (ax_d, "distance_m", "distance_limit_m", 1 / 1000, "distance (km)", ".0f"),
        (ax_t, "duration_s", "duration_limit_s", 1 / 3600, "running time (h)", ".1f"),
    ):
        vals = np.array([_num(r[col]) or 0.0 for r in rows]) * factor
        lim = np.array([_num(r[limit]) or np.nan for r in rows]) * factor
        ax.bar(x, vals, color=colours, width=0.7, zorder=2)
        _bar_labels(ax, x, vals, fmt)
        ok = ~np.isnan(lim)
        ax.hlines(
            lim[ok], x[ok] - 0.45, x[ok] + 0.45, colors=_LIMIT, linestyles="--", lw=1.4, zorder=4
        )
        ax.set_ylim(0, float(np.nanmax(np.concatenate([vals, lim, [1.0]]))) * 1.15)
        ax.set_ylabel(ylabel)
    _week_ticks(ax_t, [r["week_start"] for r in rows])
    fig.legend(
        handles=[
            Patch(color=_BAR, label="week"),
            Patch(color=_CUTBACK, label="cutback week (lighter)"),
            Patch(color=_JUMP, label=f"over the {_jump_line(t)}"),
            _line(_LIMIT, f"{_jump_line(t)}: the most the week could add", ls="--"),
        ],
        loc="outside upper left",
        ncols=4,
    )
    return _svg(fig, "weeks-volume", f"Weekly distance and running time with the {_jump_line(t)}")


def _rest_easy_chart(rows: Sequence[Mapping[str, object]], t: Thresholds) -> str:
    x = np.arange(len(rows), dtype=np.float64)
    fig = _figure(10.5, 4.6)
    ax_r, ax_e = _axes(fig, 2, sharex=True)
    rest = np.array([_num(r["rest_days"]) or 0.0 for r in rows])
    ax_r.bar(x, rest, color=[_JUMP if v < 1 else "#7aa6c2" for v in rest], width=0.7, zorder=2)
    _bar_labels(ax_r, x, rest, ".0f")
    ax_r.axhline(1, color=_LIMIT, ls="--", lw=1.1, zorder=3)
    ax_r.set_ylim(0, 7.5)
    ax_r.set_yticks(range(8))
    ax_r.set_ylabel("rest days")
    easy = np.array([_num(r["easy_share_pct"]) or np.nan for r in rows])
    ok = ~np.isnan(easy)
    ax_e.bar(
        x[ok],
        easy[ok],
        width=0.7,
        zorder=2,
        color=["#3aa55d" if v >= t.easy_share_min_pct else "#e8912d" for v in easy[ok]],
    )
    _bar_labels(ax_e, x, easy, ".0f")
    ax_e.axhline(t.easy_share_min_pct, color="#2b7a46", ls=":", lw=1.6, zorder=3)
    ax_e.set_ylim(0, 108)
    ax_e.set_ylabel("easy running\n(% of time with HR)")
    if not ok.any():
        _note(ax_e, "no heart rate recorded")
    _week_ticks(ax_e, [r["week_start"] for r in rows])
    fig.legend(
        handles=[
            _line(_LIMIT, "at least one rest day a week", ls="--"),
            Patch(color=_JUMP, label="no rest day"),
            _line("#2b7a46", f"{t.easy_share_min_pct:.0f} % easy (80/20)", ls=":"),
            Patch(color="#e8912d", label="too little easy running"),
        ],
        loc="outside upper left",
        ncols=4,
    )
    return _svg(fig, "weeks-rest-easy", "Rest days and easy running per week")


def _load_chart(
    days: pa.Table,
    rows: Sequence[Mapping[str, object]],
    t: Thresholds,
    first: dt.date,
    last: dt.date,
) -> str:
    x = np.array(
        [_days(v, first) for v in days.column("date").to_pylist() if isinstance(v, dt.date)]
    )
    load = _floats(days, "load")
    acute = _floats(days, "acute_load")
    chronic = _floats(days, "chronic_load")
    ratio = _floats(days, "acute_chronic_ratio")
    fig = _figure(10.5, 6.4)
    ax_l, ax_r, ax_m = _axes(fig, 3, sharex=True, ratios=(1.5, 1.0, 0.8))
    ax_l.bar(x, np.nan_to_num(load), color="#c3d3e2", width=0.8, zorder=2)
    ax_l.plot(x, acute, color="#d6602d", lw=2.0, zorder=3)
    ax_l.plot(x, chronic, color="#1f3b57", lw=2.0, zorder=3)
    ax_l.set_ylabel("load (TRIMP)")
    ax_l.set_ylim(0, float(np.nanmax(np.concatenate([load, acute, [1.0]]))) * 1.1)
    ax_r.axhspan(0.8, 1.3, color="#3aa55d", alpha=0.15, lw=0)
    ax_r.axhline(t.acwr_max, color=_JUMP, ls="--", lw=1.3)
    ax_r.plot(x, ratio, color="#1f3b57", lw=1.7)
    ax_r.set_ylabel("acute : chronic")
    ax_r.set_ylim(0, max(float(np.nanmax(np.concatenate([ratio, [t.acwr_max]]))) * 1.15, 1.8))
    if np.isnan(ratio).all():
        _note(ax_r, "the ratio needs four weeks of history")
    weeks = [r["week_start"] for r in rows]
    mono = np.array([_num(r["monotony"]) or np.nan for r in rows])
    centres = [_days(w, first) + 3 for w in weeks if isinstance(w, dt.date)]
    ax_m.bar(
        centres,
        np.nan_to_num(mono),
        width=5.6,
        zorder=2,
        color=["#e8912d" if v > t.monotony_max else "#9bb3c9" for v in mono],
    )
    ax_m.axhline(t.monotony_max, color=_JUMP, ls=":", lw=1.6)
    ax_m.set_ylabel("monotony\n(per week)")
    ax_m.set_ylim(0, max(float(np.nanmax(np.concatenate([mono, [t.monotony_max]]))) * 1.2, 1))
    _date_axis(ax_m, first, last)
    ax_m.set_xlabel("date (ticks on Mondays)")
    fig.legend(
        handles=[
            Patch(color="#c3d3e2", label="daily load"),
            _line("#d6602d", "acute: last 7 days", lw=2),
            _line("#1f3b57", "chronic: last 28 days", lw=2),
            Patch(color="#3aa55d", alpha=0.3, label="ratio 0.8-1.3: steady build"),
            _line(_JUMP, f"ratio over {t.acwr_max:.1f}: load spike", ls="--"),
            _line(_JUMP, f"monotony over {t.monotony_max:.1f}", ls=":"),
        ],
        loc="outside upper left",
        ncols=3,
    )
    return _svg(fig, "weeks-load", "Training load: acute vs chronic, and monotony")


def _timeline_chart(flags: Sequence[Mapping[str, object]], first: dt.date, last: dt.date) -> str:
    order = list(FLAG_TITLES)
    codes = sorted(
        {str(f["code"]) for f in flags},
        key=lambda c: order.index(c) if c in order else len(order),
    )
    fig = _figure(10.5, 0.4 * max(len(codes), 1) + 1.4)
    (ax,) = _axes(fig, 1)
    for f in flags:
        day = f["date"]
        if not isinstance(day, dt.date):
            continue
        colour = _SEVERITY_COLOURS.get(str(f["severity"]), "#777777")
        marker = "o" if f.get("activity_id") else "s"
        ax.plot(
            [_days(day, first)],
            [codes.index(str(f["code"]))],
            marker=marker,
            ms=9,
            color=colour,
            ls="none",
            zorder=3,
        )
    ax.set_yticks(range(len(codes)), [FLAG_TITLES.get(c, c) for c in codes])
    ax.set_ylim(max(len(codes), 1) - 0.4, -0.6)
    _date_axis(ax, first, last)
    if not codes:
        _note(ax, "no flags in these weeks")
    fig.legend(
        handles=[
            _line("#555555", "a run", marker="o", ls="none"),
            _line("#555555", "a week or a day", marker="s", ls="none"),
            *(_line(c, s, marker="o", ls="none") for s, c in _SEVERITY_COLOURS.items()),
        ],
        loc="outside upper left",
        ncols=5,
    )
    return _svg(fig, "weeks-flags", "Every flag on the timeline")


def _weeks_table(rows: Sequence[Mapping[str, object]], t: Thresholds) -> str:
    body = []
    for r in rows:
        kind = (
            f"over the {_jump_line(t)}"
            if r["is_volume_jump"]
            else "cutback"
            if r["is_cutback"]
            else ""
        )
        codes = r.get("flag_codes")
        names = [FLAG_TITLES.get(str(c), str(c)) for c in codes] if isinstance(codes, list) else []
        dist, lim, long_run = (_num(r[k]) for k in ("distance_m", "distance_limit_m", "long_run_m"))
        week = r["week_start"]
        body.append(
            "<tr>"
            f"<td>{_esc(_short_day(week) if isinstance(week, dt.date) else week)}</td>"
            f"<td>{_esc(r['runs'])}</td>"
            f"<td>{_fmt(None if dist is None else dist / 1000, 1, 'km')}</td>"
            f"<td>{_fmt(None if lim is None else lim / 1000, 1, 'km')}</td>"
            f"<td>{_esc(_hm(r['duration_s']))}</td>"
            f"<td>{_fmt(None if long_run is None else long_run / 1000, 1, 'km')}</td>"
            f"<td>{_esc(r['rest_days'])}</td><td>{_fmt(r['easy_share_pct'], 0, '%')}</td>"
            f"<td>{_fmt(r['load'], 0)}</td><td>{_fmt(r['acute_chronic_ratio'], 2)}</td>"
            f'<td>{_fmt(r["monotony"], 1)}</td><td class="text">{_esc(kind)}</td>'
            f'<td class="text">{_esc(", ".join(names))}</td></tr>'
        )
    return (
        '<h2>The weeks in numbers</h2><div class="scroll"><table class="weeks">'
        "<caption>Weeks start on Monday "
        "(UTC). acute:chronic here is the week's load against the mean weekly load of the 4 "
        "weeks before.</caption><thead><tr><th>week</th><th>runs</th><th>distance</th>"
        f"<th>{_jump_line(t)}</th><th>time</th><th>long run</th><th>rest days</th><th>easy</th>"
        '<th>load</th><th>acute:chronic</th><th>monotony</th><th class="text">kind</th>'
        '<th class="text">flags</th></tr></thead><tbody>' + "".join(body) + "</tbody></table></div>"
    )


def _runs_table(runs: Sequence[Mapping[str, object]]) -> str:
    body = []
    for r in runs:
        codes = r.get("flag_codes")
        names = [FLAG_TITLES.get(str(c), str(c)) for c in codes] if isinstance(codes, list) else []
        dist = _num(r["distance_m"])
        body.append(
            "<tr>"
            f"<td>{_esc(_day(r['date']))}</td>"
            f'<td class="text">{_esc(Path(str(r["source_path"] or "")).name)}</td>'
            f"<td>{_fmt(None if dist is None else dist / 1000, 2, 'km')}</td>"
            f"<td>{_esc(_hm(r['duration_s']))}</td><td>{_esc(_pace(r['pace_s_per_km']))}</td>"
            f"<td>{_fmt(r['avg_hr_bpm'], 0)}</td><td>{_fmt(r['load'], 0)}</td>"
            f'<td class="text">{_esc(", ".join(names))}</td>'
            f"<td><code>{_esc(r['activity_id'])}</code></td></tr>"
        )
    return (
        '<h2>The runs</h2><div class="scroll"><table class="runs">'
        "<caption>For the pictures of one run: "
        "<code>runlake report --run ID</code>.</caption><thead><tr><th>date</th>"
        '<th class="text">file</th><th>distance</th><th>time</th><th>pace</th>'
        '<th>heart rate</th><th>load</th><th class="text">flags</th><th>ID</th></tr></thead>'
        "<tbody>" + "".join(body) + "</tbody></table></div>"
    )


def _render_weeks(
    lake_root: LakeLocation, athlete: str, weeks: int, t: Thresholds, now: dt.datetime | None
) -> str:
    last = _one(
        run_query(
            lake_root,
            "select max(week_start) as w from weekly_training where athlete = ?",
            params=[athlete],
        )
    )
    last_week = last["w"] if last else None
    if not isinstance(last_week, dt.date):
        raise ReportError(f"athlete {athlete!r} has no runs in the lake {str(lake_root)!r}")
    first_week = last_week - dt.timedelta(weeks=weeks - 1)
    last_day = last_week + dt.timedelta(days=6)
    rows = run_query(lake_root, _WEEKS_SQL, params=[athlete, first_week, last_week]).to_pylist()
    start = rows[0]["week_start"]  # the athlete's history may be shorter than the weeks asked
    first_week = start if isinstance(start, dt.date) else first_week
    days = run_query(lake_root, _DAYS_SQL, params=[athlete, first_week, last_day])
    flags = run_query(
        lake_root, _WEEK_FLAGS_SQL, params=[athlete, first_week, last_week]
    ).to_pylist()
    runs = run_query(lake_root, _RUNS_SQL, params=[athlete, first_week, last_day]).to_pylist()

    km = sum(_num(r["distance_m"]) or 0.0 for r in rows) / 1000
    secs = sum(_num(r["duration_s"]) or 0.0 for r in rows)
    parts = [
        _facts(
            [
                ("Weeks", str(len(rows))),
                ("Runs", str(len(runs))),
                ("Distance", _fmt(km, 0, "km")),
                ("Running time", _hm(secs)),
                ("Cutback weeks", str(sum(bool(r["is_cutback"]) for r in rows))),
                ("Flags", str(len(flags))),
            ]
        ),
        _chart(
            "weeks-volume",
            f"Weekly distance and running time, with the {_jump_line(t)}",
            _volume_chart(rows, t),
            "Each bar is a week (Monday to Sunday, UTC). The dashed line over a week is the "
            f"most it could have added: {t.volume_jump_pct:g} % above the biggest of the "
            f"{t.volume_reference_weeks} weeks before (no line when those weeks were under "
            f"{t.volume_min_week_km:g} km or {t.volume_min_week_h:g} h). Red: the week "
            f"went over it. Green: a cutback week, at least {t.cutback_reduction_pct:g} % "
            f"lighter than the biggest of the {t.volume_reference_weeks} weeks before (or under "
            f"{t.volume_min_week_km:g} km), which lets the body absorb the training; plans put "
            "one in every 3-4 weeks.",
        ),
        _chart(
            "weeks-rest-easy",
            "Rest days and easy running",
            _rest_easy_chart(rows, t),
            "Rest days: days of the week without a run; the body needs at least one to "
            "recover. Easy running: the share of the week's running time (with heart rate) "
            f"at or below {t.easy_hr_fraction * 100:.0f} % of your maximum heart rate; about "
            f"{t.easy_share_min_pct:.0f} % of it should be easy (Seiler's 80/20).",
        ),
        _chart(
            "weeks-load",
            "Training load: acute vs chronic",
            _load_chart(days, rows, t, first_week, last_day),
            "Load is Edwards' TRIMP: minutes in each heart-rate zone times the zone number "
            "(minutes x 2.5 for a run without heart rate). Acute load is the mean daily load "
            "of the last 7 days, chronic load that of the last 28 days. Their ratio says how "
            "the last week compares with what you are used to: 0.8-1.3 is a steady build, "
            f"over {t.acwr_max:.1f} a spike (Gabbett 2016); it needs four weeks of history. "
            "Monotony is the mean daily load of a week over its variation (Foster 1998): "
            f"over {t.monotony_max:.1f} means every day about the same, with no easy day.",
        ),
        _chart(
            "weeks-flags",
            "Every flag on the timeline",
            _timeline_chart(flags, first_week, last_day),
            "One row per kind of flag; circles are flags of a run, squares of a week or a "
            "day. Colour: blue = information, orange = warning, red = alert. What each one "
            "says is listed below.",
        ),
        _weeks_table(rows, t),
        "<h2>The flags, in plain words</h2>",
        _flag_items(flags) or '<p class="ok">No flags in these weeks.</p>',
        _runs_table(runs),
    ]
    n = len(rows)
    title = f"Your last {n} week{'s' if n != 1 else ''} of running"
    sub = f"{_esc(athlete)} · {_esc(_day(first_week))} to {_esc(_day(last_day))}"
    return _page(title, sub, parts, now)


def render_weeks(
    lake_root: LakeLocation,
    athlete: str,
    *,
    weeks: int = DEFAULT_WEEKS,
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The HTML page of ``athlete``'s last ``weeks`` weeks, up to the week of the latest run."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ReportError(f"weeks must be between 1 and {MAX_WEEKS}, not {weeks}")
    t = thresholds or load_thresholds()
    with mpl.rc_context(_RC):
        return _render_weeks(lake_root, athlete, weeks, t, now)


# --------------------------------------------------------------------------- page

_CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
  color: #1d2733; background: #f3f4f6; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 28px 48px; background: #fff; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.1em; }
h2 { font-size: 1.2em; margin: 1.8em 0 0.4em; padding-bottom: 2px;
  border-bottom: 1px solid #e3e3e3; }
.sub { color: #5a6570; margin: 0 0 1em; }
.facts { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0 20px; }
.fact { background: #eef2f6; border-radius: 6px; padding: 6px 12px; min-width: 110px; }
.fact span { display: block; font-size: 0.8em; color: #5a6570; }
.fact b { font-size: 1.1em; }
figure { margin: 8px 0 20px; }
figure svg { display: block; height: auto; }
figcaption { font-size: 0.92em; color: #38424d; max-width: 62em; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.86em; margin: 12px 0 24px; width: 100%; }
caption { text-align: left; color: #38424d; padding-bottom: 6px; }
th, td { padding: 4px 7px; border-bottom: 1px solid #e6e6e6; text-align: right;
  white-space: nowrap; vertical-align: top; }
th:first-child, td:first-child, th.text, td.text { text-align: left; }
td.text { white-space: normal; min-width: 9em; }
.scroll { overflow-x: auto; }
table.thirds { width: auto; }
ul.flags { list-style: none; padding: 0; }
li.flag { border-left: 5px solid #5b8cc4; padding: 6px 12px; margin: 10px 0;
  background: #f6f8fa; }
li.flag.warning { border-color: #e8912d; } li.flag.alert { border-color: #d63c30; }
li.flag p { margin: 4px 0 0; line-height: 1.45; }
.sev { text-transform: uppercase; font-size: 0.75em; color: #5a6570; }
.when { color: #5a6570; font-size: 0.85em; margin-left: 6px; }
.ok { color: #2b7a46; }
footer { color: #7a848e; font-size: 0.8em; margin-top: 32px; }
"""

# Nothing may be fetched: every chart is inline SVG and the style sheet is in the page.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _page(title: str, sub_html: str, parts: Sequence[str], now: dt.datetime | None) -> str:
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)} · runlake</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<main>\n<h1>{_esc(title)}</h1>\n<p class="sub">{sub_html}</p>\n{body}\n'
        f"<footer>Made by runlake on {stamp:%Y-%m-%d %H:%M} UTC from the lake's views "
        "(run_summary, records, flags, weekly_training, daily_load). Times and dates are "
        "UTC. The flags point to what can explain heavy legs; they are not a diagnosis."
        "</footer>\n</main>\n</body>\n</html>\n"
    )


def default_report_name(athlete: str, run_id: str | None = None, weeks: int | None = None) -> str:
    """``report-<athlete>-run-<id>.html`` or ``report-<athlete>-<N>-weeks.html``."""

    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", text)

    if run_id is not None:
        return f"report-{safe(athlete)}-run-{safe(run_id)}.html"
    return f"report-{safe(athlete)}-{weeks or DEFAULT_WEEKS}-weeks.html"


def write_report(
    lake_root: LakeLocation,
    out: Path,
    *,
    athlete: str,
    run_id: str | None = None,
    weeks: int = DEFAULT_WEEKS,
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """Write the report of run ``run_id``, else of the last ``weeks`` weeks, to ``out``.

    The page is written under a temporary name next to ``out`` and renamed into place.
    Returns ``out``.
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise ReportError(f"cannot write {str(out)!r}: the folder does not exist")
    if run_id is not None:
        page = render_run(lake_root, athlete, run_id, thresholds=thresholds, now=now)
    else:
        page = render_weeks(lake_root, athlete, weeks=weeks, thresholds=thresholds, now=now)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
