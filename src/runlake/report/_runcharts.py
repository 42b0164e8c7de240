"""The charts of the run report: the run over time (with the thirds of its steady part and
Garmin's colour zones beside each form panel) and its averages on Garmin's colour bands."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from runlake.report._charts import PHONE_IN, WIDE_IN, Width, axes, figure, note, svg_of
from runlake.report._series import (
    PACE_RANGE_S_PER_KM,
    Line,
    Track,
    despiked,
    line_of,
    plausible,
    robust_limits,
    smooth,
    track_of,
)
from runlake.report._values import F64, finite, floats
from runlake.report._zones import ZONE_COLOURS, ZoneScale

__all__ = [
    "MAX_POINTS",
    "SMOOTH_S",
    "Panel",
    "Shading",
    "run_chart",
    "run_panels",
    "zone_bands",
    "zones_chart",
]

SMOOTH_S: Final = 20.0
"""The run charts show a moving mean over this many seconds (the raw samples are noisy)."""
MAX_POINTS: Final = {"wide": 1500, "phone": 600}
"""Points per line at most in the run charts (the SVG stays small; the eye sees no more)."""
_LINE: Final = "#1f3b57"
_EDGE: Final = "#c0392b"


@dataclass(frozen=True, slots=True)
class Shading:
    """Where the run chart shades the warm-up and the thirds (elapsed minutes)."""

    warmup_end: float
    first: tuple[float, float]
    last: tuple[float, float]


@dataclass(frozen=True, slots=True)
class Panel:
    """One panel of the over-the-run chart: its values smoothed, its limits."""

    label: str
    unit: str
    values: F64  # smoothed, display units (pace: minutes per km), NaN where not drawn
    limits: tuple[float, float] | None  # None: nothing recorded
    zone_key: str | None  # the ZoneScale.column of its colour zones


# label, record column, unit, factor to display units, smallest span of the axis, zones
_FORM: Final = (
    ("Heart rate", "heart_rate_bpm", "beats/min", 1.0, 10.0, None),
    ("Cadence", "cadence_spm", "steps/min", 1.0, 6.0, "cadence_spm"),
    ("Ground contact time", "stance_time_ms", "ms", 1.0, 20.0, "stance_time_ms"),
    ("Vertical oscillation", "vertical_oscillation_mm", "cm", 0.1, 1.0, "vertical_oscillation_mm"),
)


def run_panels(rec: pa.Table) -> tuple[Track, list[Panel]]:
    """The panels of a run's records: pace and heart rate always, each form value recorded.

    Values are dropped when implausible, smoothed over ``SMOOTH_S`` within each stretch of
    running (``runlake.report._series``), and given robust limits.
    """
    t = floats(rec, "elapsed_s")
    speed = floats(rec, "speed_mps")
    track = track_of(t, speed, floats(rec, "cadence_spm"))
    with np.errstate(invalid="ignore", divide="ignore"):
        pace_raw = plausible("pace_s_per_km", np.where(speed > 0, 1000.0 / speed, np.nan))
    speed = np.where(np.isnan(pace_raw), np.nan, speed)
    with np.errstate(invalid="ignore", divide="ignore"):
        speed_s = smooth(track, speed, SMOOTH_S)
        pace = np.where(speed_s > 0, 1000.0 / speed_s / 60.0, np.nan)
        pace_d = 1000.0 / despiked(track, speed) / 60.0
    fastest, slowest = (v / 60.0 for v in PACE_RANGE_S_PER_KM)
    limits = robust_limits(pace_d, track.running, min_span=0.5)
    if limits is not None:
        limits = (max(limits[0], fastest), min(limits[1], slowest))
    panels = [Panel("Pace", "min/km", pace, limits, None)]
    for label, col, unit, factor, min_span, zone_key in _FORM:
        clean = plausible(col, floats(rec, col))
        y = smooth(track, clean, SMOOTH_S) * factor
        if label != "Heart rate" and np.isnan(y).all():
            continue  # not recorded: no empty panel
        lim = robust_limits(despiked(track, clean) * factor, track.running, min_span=min_span)
        panels.append(Panel(label, unit, y, lim, zone_key))
    return track, panels


def _pace_label(v: float, _pos: object = None) -> str:
    secs = round(v * 60)
    return f"{secs // 60}:{secs % 60:02d}"


def zone_bands(sc: ZoneScale) -> list[tuple[float, float, str, str]]:
    """Garmin's bands of one scale: (from, to, colour, label), e.g. ``green 164-173``."""
    bounds = [-math.inf, *sc.edges, math.inf]

    def num(v: float) -> str:
        return f"{v:.{sc.decimals}f}"

    out = []
    for i, colour in enumerate(sc.colours):
        lo, hi = bounds[i], bounds[i + 1]
        if math.isinf(lo):
            text = f"{colour} <{num(hi)}"
        elif math.isinf(hi):
            text = f"{colour} ≥{num(lo)}"
        else:
            text = f"{colour} {num(lo)}–{num(hi)}"
        out.append((lo, hi, colour, text))
    return out


def _zone_strip(ax: Axes, sc: ZoneScale, lo: float, hi: float, phone: bool) -> None:
    """Garmin's colour zones as a labelled strip along the right edge of a panel."""
    span = hi - lo
    trans = ax.get_yaxis_transform()
    for b0, b1, colour, text in zone_bands(sc):
        y0, y1 = max(b0, lo), min(b1, hi)
        if y1 <= y0:
            continue
        ax.axhspan(y0, y1, xmin=1.006, xmax=1.024, color=ZONE_COLOURS[colour], lw=0, clip_on=False)
        if (y1 - y0) >= 0.11 * span:
            ax.text(
                1.035,
                (y0 + y1) / 2,
                text,
                transform=trans,
                ha="left",
                va="center",
                fontsize=6.5 if phone else 7.5,
                color="#333333",
                clip_on=False,
            )


def _draw_line(ax: Axes, line: Line, inverted: bool) -> None:
    ax.plot(line.minutes, line.values, color=_LINE, lw=1.0)
    # Beyond the limits: one marker on the edge per stretch (pace: the axis is inverted).
    for xs, y, marker in ((line.above, line.hi, "^"), (line.below, line.lo, "v")):
        if xs.size:
            shown = {"^": "v", "v": "^"}[marker] if inverted else marker
            ax.plot(
                xs, np.full(xs.size, y), ls="none", marker=shown, ms=4.5, color=_EDGE,
                clip_on=False, zorder=5,
            )  # fmt: skip


def _shade(axs: Sequence[Axes], shading: Shading | None, phone: bool) -> None:
    if shading is None:
        return
    for ax in axs:
        ax.axvspan(0, shading.warmup_end, color="#9a9a9a", alpha=0.18, lw=0)
        ax.axvspan(*shading.first, color="#3a86d4", alpha=0.13, lw=0)
        ax.axvspan(*shading.last, color="#e8912d", alpha=0.16, lw=0)
    top = axs[0]
    spans = [(shading.first, "first third"), (shading.last, "last third")]
    if not phone or shading.warmup_end >= 0.15 * shading.last[1]:  # else no room: grey only
        spans.insert(0, ((0.0, shading.warmup_end), "warm-up"))
    for (x0, x1), text in spans:
        top.text(
            (x0 + x1) / 2,
            1.03,
            text,
            transform=top.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=7.5 if phone else 8.5,
            color="#333333",
        )


def run_chart(
    rec: pa.Table,
    shading: Shading | None,
    scales: Mapping[str, ZoneScale],
    width: Width,
) -> tuple[str, list[str]]:
    """The over-the-run chart (SVG) and the names of the panels drawn."""
    phone = width == "phone"
    track, panels = run_panels(rec)
    fig = figure(PHONE_IN if phone else WIDE_IN, (1.45 if phone else 1.6) * len(panels) + 0.9)
    axs = axes(fig, len(panels), sharex=True)
    _shade(axs, shading, phone)
    for ax, p in zip(axs, panels, strict=True):
        ax.set_ylabel(f"{p.label}\n({p.unit})", fontsize=8 if phone else 9)
        if p.limits is None:
            note(ax, f"no {p.label.lower()} recorded")
            ax.set_yticks([])
            continue
        lo, hi = p.limits
        _draw_line(ax, line_of(track, p.values, p.limits, MAX_POINTS[width]), p.label == "Pace")
        ax.set_ylim(lo, hi)
        if p.zone_key is not None and p.zone_key in scales:
            _zone_strip(ax, scales[p.zone_key], lo, hi, phone)
        if p.label == "Pace":
            ax.invert_yaxis()
            ax.yaxis.set_major_formatter(FuncFormatter(_pace_label))
        if phone:
            ax.locator_params(axis="y", nbins=4)
    axs[-1].set_xlabel("time since the start (minutes)")
    minutes = track.t / 60.0
    if (~np.isnan(minutes)).any():
        axs[0].set_xlim(min(float(np.nanmin(minutes)), 0.0), max(float(np.nanmax(minutes)), 1.0))
    return svg_of(fig, "run-over-time", "Over the run", width), [p.label for p in panels]


def zones_chart(run: Mapping[str, object], scales: Sequence[ZoneScale], width: Width) -> str | None:
    """The run's averages as markers on Garmin's colour bands; None without any value."""
    phone = width == "phone"
    rows: list[tuple[ZoneScale, float]] = []
    for sc in scales:
        v = finite(run.get(sc.column))
        if v is not None:
            rows.append((sc, v * sc.factor))
    if not rows:
        return None
    fig = figure(PHONE_IN if phone else WIDE_IN, (1.25 if phone else 0.95) * len(rows) + 0.3)
    axs = axes(fig, len(rows))
    for ax, (sc, value) in zip(axs, rows, strict=True):
        _zones_row(ax, sc, value, phone)
    return svg_of(fig, "run-zones", "Your averages beside Garmin's colour zones", width)


def _zones_row(ax: Axes, sc: ZoneScale, value: float, phone: bool) -> None:
    span = sc.edges[-1] - sc.edges[0]
    lo = min(sc.edges[0] - 0.4 * span, value - 0.05 * span)
    hi = max(sc.edges[-1] + 0.4 * span, value + 0.05 * span)
    for b0, b1, colour, text in zone_bands(sc):
        x0, x1 = max(b0, lo), min(b1, hi)
        ax.fill_between([x0, x1], 0, 1, color=ZONE_COLOURS[colour], alpha=0.85, lw=0)
        name, _, limits = text.partition(" ")
        ax.text(
            (x0 + x1) / 2,
            0.5,
            f"{name}\n{limits}",
            ha="center",
            va="center",
            fontsize=6.5 if phone else 7.5,
            color="white",
            linespacing=1.25,
        )
    ax.vlines(value, -0.02, 1.02, color="black", lw=2.2, zorder=4)
    ax.plot([value], [1.22], marker="v", ms=9, color="black", zorder=5)
    right = value > (lo + hi) / 2 and phone
    ax.annotate(
        f"{value:.{sc.decimals}f} {sc.unit}: {sc.zone(value)}",
        (value, 1.22),
        xytext=(-9 if right else 9, 0),
        textcoords="offset points",
        ha="right" if right else "left",
        va="center",
        fontsize=8 if phone else 9,
        fontweight="bold",
        zorder=6,
    )
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.15, 1.5)
    ax.set_yticks([])
    ax.set_xticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    if phone:  # the label above the bar: the bar keeps the whole width
        ax.set_title(f"{sc.label} ({sc.unit})", loc="left", fontsize=8.5, pad=2)
    else:
        ax.set_ylabel(f"{sc.label}\n({sc.unit})", rotation=0, ha="right", va="center")
