"""Values read from the views, as numbers and as text for the page."""

from __future__ import annotations

import datetime as dt
import html
import math

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "F64",
    "esc",
    "finite",
    "first_row",
    "floats",
    "fmt_day",
    "fmt_hm",
    "fmt_number",
    "fmt_pace",
    "fmt_short_day",
    "fmt_value",
    "moving_average",
]

F64 = npt.NDArray[np.float64]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def floats(table: pa.Table, name: str) -> F64:
    """A column as float64 with NaN for null (all NaN when the column is absent)."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = table.column(name).cast(pa.float64())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)


def finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def fmt_number(value: object, decimals: int = 0, unit: str = "") -> str:
    f = finite(value)
    if f is None:
        return "–"
    text = f"{f:,.{decimals}f}".replace(",", " ")
    return f"{text} {unit}".rstrip()


def fmt_hm(seconds: object) -> str:
    f = finite(seconds)
    if f is None:
        return "–"
    minutes = round(f / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def fmt_pace(s_per_km: object) -> str:
    f = finite(s_per_km)
    if f is None or f <= 0:
        return "–"
    secs = round(f)
    return f"{secs // 60}:{secs % 60:02d} /km"


def fmt_day(d: object) -> str:
    if isinstance(d, dt.datetime):
        d = d.astimezone(dt.UTC).date()
    if isinstance(d, dt.date):
        return f"{d:%a} {d.day} {d:%b %Y}"
    return "–"


def fmt_short_day(d: dt.date) -> str:
    return f"{d.day} {d:%b}"


def first_row(table: pa.Table) -> dict[str, object] | None:
    rows = table.to_pylist()
    return rows[0] if rows else None


def moving_average(y: F64, n: int) -> F64:
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


def fmt_value(value: object) -> str:
    """A flag's value or threshold with as many decimals as its size needs."""
    f = finite(value)
    if f is None:
        return "–"
    decimals = 0 if abs(f) >= 100 else 1 if abs(f) >= 10 else 2
    return f"{f:.{decimals}f}"
