"""Charts as inline SVG: matplotlib figures without pyplot or a display, and their shared style."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from io import StringIO
from typing import Any, Final, Literal

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from runlake._errors import ReportError
from runlake.report._values import esc, fmt_short_day

__all__ = [
    "BAR",
    "CUTBACK",
    "JUMP",
    "LIMIT",
    "PHONE_IN",
    "RC",
    "SEVERITY_COLOURS",
    "WIDE_IN",
    "WIDTHS",
    "Width",
    "axes",
    "chart_html",
    "date_axis",
    "days_since",
    "figure",
    "legend_line",
    "note",
    "svg_of",
]

SEVERITY_COLOURS: Final = {"info": "#5b8cc4", "warning": "#e8912d", "alert": "#d63c30"}
BAR: Final = "#4a7fb5"
CUTBACK: Final = "#8cc7a1"
JUMP: Final = "#d63c30"
LIMIT: Final = "#222222"

Width = Literal["wide", "phone"]
"""Each chart is drawn twice: for a screen (``wide``) and for a phone (``phone``, narrower
so that its text stays readable at 420 px); the page's style sheet shows one of them."""
WIDE_IN: Final = 10.5
"""Width of a wide chart, inches at 96 dpi (the page's content is at most 1044 px)."""
WIDTHS: Final[tuple[Width, ...]] = ("wide", "phone")
PHONE_IN: Final = 4.3
"""Width of a phone chart: scaled to a phone's 390-410 px, its text keeps its size."""

RC: Final[dict[Any, Any]] = {
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


# --------------------------------------------------------------------------- SVG


def svg_of(fig: Figure, slug: str, title: str, width: Width = "wide") -> str:
    """``fig`` as an inline <svg> element: ids made unique, a <title>, scaled to its box.

    The element keeps matplotlib's ``viewBox`` and gets ``width="100%"``: it scales to the
    width of the page. ``width`` is the variant (its class: ``chart wide`` or ``chart phone``).
    """
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
    prefix = f"c-{slug}" if width == "wide" else f"c-{slug}-{width}"
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'(\b(?:xlink:)?href)="#([^"]+)"', rf'\1="#{prefix}-\2"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    head_end = text.find(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", text[:head_end], count=2)
    head += (
        f' width="100%" class="chart {width}" role="img" data-chart="{esc(slug)}"'
        f' aria-labelledby="{prefix}-title"'
    )
    return f'{head}>\n<title id="{prefix}-title">{esc(title)}</title>{text[head_end + 1 :]}'


def figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in), dpi=96, layout="constrained")


def axes(
    fig: Figure, nrows: int, *, sharex: bool = False, ratios: Sequence[float] = ()
) -> list[Axes]:
    gridspec = {"height_ratios": list(ratios)} if ratios else None
    axs = fig.subplots(nrows, 1, squeeze=False, sharex=sharex, gridspec_kw=gridspec)
    return [a for row in axs for a in row]


def note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#888888")


def chart_html(slug: str, title: str, svgs: Sequence[str], caption: str) -> str:
    """A chart (its variants, see :data:`Width`) with its heading and its explanation
    (``caption`` is HTML)."""
    body = "\n".join(svgs)
    return (
        f'<h2>{esc(title)}</h2>\n<figure id="{esc(slug)}">\n{body}\n'
        f"<figcaption>{caption}</figcaption>\n</figure>"
    )


def days_since(d: dt.date, origin: dt.date) -> float:
    """x position of a day on a date axis: days since ``origin`` (the axis' first day)."""
    return float((d - origin).days)


def date_axis(ax: Axes, first: dt.date, last: dt.date, every: int = 1) -> None:
    """x from ``first`` to ``last`` (positions from :func:`days_since`), ticks on Mondays,
    labelled every ``every`` weeks."""
    ax.set_xlim(-0.8, days_since(last, first) + 0.8)
    mondays = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    mondays = [m for m in mondays if m.weekday() == 0]
    ax.set_xticks(
        [days_since(m, first) for m in mondays],
        [fmt_short_day(m) if i % every == 0 else "" for i, m in enumerate(mondays)],
    )


def legend_line(colour: str, label: str, **kw: object) -> Line2D:
    return Line2D([], [], color=colour, label=label, **kw)  # type: ignore[arg-type]
