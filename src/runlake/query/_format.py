"""Query results as text: an aligned table, CSV or JSON (timestamps ISO 8601 in UTC).

The table is for reading: a float column whose name ends in a unit (``distance_m``,
``avg_hr_bpm``...) is shown with the decimals that unit deserves (:data:`UNIT_DECIMALS`);
CSV and JSON keep every digit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from runlake.query._connect import ResultRows

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["UNIT_DECIMALS", "format_table", "unit_decimals"]


_Fmt = Literal["table", "csv", "json"]


def _iso(value: dt.datetime | dt.date | dt.time) -> str:
    if isinstance(value, dt.datetime):
        suffix = ""
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
            suffix = "Z"
        if value.microsecond == 0:
            spec = "seconds"
        elif value.microsecond % 1000 == 0:
            spec = "milliseconds"
        else:
            spec = "microseconds"
        return value.isoformat(timespec=spec) + suffix
    return value.isoformat()


def _python_columns(table: pa.Table | ResultRows) -> Iterator[tuple[str, bool, list[object]]]:
    """(name, numeric?, values) of each column; time-zone-aware timestamps in UTC."""
    if isinstance(table, ResultRows):
        values = list(zip(*table.rows, strict=True)) or [() for _ in table.columns]
        for name, t, vals in zip(table.columns, table.types, values, strict=True):
            yield name, _DUCK_NUMERIC.fullmatch(t) is not None, list(vals)
        return
    import pyarrow as pa  # noqa: PLC0415 -- given a Table, pyarrow is loaded already

    for name, column in zip(table.column_names, table.columns, strict=True):
        t = column.type
        col = column
        if pa.types.is_timestamp(t):
            unit = "us" if t.unit == "ns" else t.unit
            col = col.cast(pa.timestamp(unit, tz="UTC" if t.tz else None), safe=False)
        numeric = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        yield name, bool(numeric), col.to_pylist()


_DUCK_NUMERIC = re.compile(
    r"U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(.*\)"
)
"""DuckDB's integer, floating and decimal types (right-aligned in the table format)."""


def _special_float(v: float) -> str | None:
    """NaN and the infinities as words (None for a finite number)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _text_float(v: float) -> str:
    """Rounded to 3 decimals for reading (3 significant digits below 0.001)."""
    if (word := _special_float(v)) is not None:
        return word
    if v != 0 and abs(v) < 0.001:
        return f"{v:.3g}"
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


UNIT_DECIMALS: dict[str, int] = {
    "_s_per_km": 0,  # pace, seconds per km
    "_kn_m": 1,  # leg spring stiffness, kN/m
    "_km": 2,
    "_m": 1,
    "_mm": 0,
    "_mps": 2,
    "_h": 2,
    "_min": 1,
    "_s": 2,
    "_ms": 0,
    "_bpm": 0,
    "_spm": 0,
    "_rpm": 0,
    "_pct": 1,
    "_w": 0,
    "_kcal": 0,
    "_c": 1,
    "_deg": 6,  # about 0.1 m
    "_ratio": 2,
    "_acwr": 2,
    "_index": 2,
}
"""Decimals shown in the table format for a float column by the unit its name ends in
(the longest suffix that matches); other float columns get up to 3 decimals."""

_SUFFIXES = sorted(UNIT_DECIMALS, key=len, reverse=True)


def unit_decimals(column: str) -> int | None:
    """The decimals the table shows for a float column named ``column`` (None: no unit)."""
    name = column.lower()
    return next((UNIT_DECIMALS[s] for s in _SUFFIXES if name.endswith(s)), None)


def _fixed_float(decimals: int) -> Callable[[float], str]:
    def text(v: float) -> str:
        if (word := _special_float(v)) is not None:
            return word
        s = f"{v:.{decimals}f}"
        return s[1:] if s.startswith("-") and not s.strip("-0.") else s

    return text


def _csv_float(v: float) -> str:
    """Full precision (``repr`` gives back the same float)."""
    word = _special_float(v)
    return word if word is not None else repr(v)


def _text_nested(v: list[object] | dict[object, object]) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_text_cell(x) for x in v) + "]"
    return "{" + ", ".join(f"{k}: {_text_cell(x)}" for k, x in v.items()) + "}"


def _csv_nested(v: list[object] | dict[object, object]) -> str:
    return json.dumps(_json_value(v), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _CellStyle:
    """How a cell is written, where the table and CSV formats differ."""

    null: str
    float_text: Callable[[float], str]
    nested: Callable[[list[object] | dict[object, object]], str]
    escape_controls: bool


_TABLE = _CellStyle("NULL", _text_float, _text_nested, escape_controls=True)
_CSV = _CellStyle("", _csv_float, _csv_nested, escape_controls=False)


def _cell(v: object, style: _CellStyle) -> str:
    """One value as text in ``style``; timestamps ISO 8601, bytes as hex."""
    if v is None:
        return style.null
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return style.float_text(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return _iso(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, list | dict):
        return style.nested(v)
    text = str(v)
    if style.escape_controls:
        text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text


def _table_style(column: str) -> _CellStyle:
    decimals = unit_decimals(column)
    return _TABLE if decimals is None else replace(_TABLE, float_text=_fixed_float(decimals))


def _text_cell(v: object) -> str:
    return _cell(v, _TABLE)


def _csv_cell(v: object) -> str:
    return _cell(v, _CSV)


def _json_value(v: object) -> object:
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(v, Decimal):
        if not v.is_finite():
            return None
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return _iso(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, list | tuple):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    return str(v)


def format_table(table: pa.Table | ResultRows, fmt: _Fmt) -> str:
    """Render ``table`` (a pyarrow Table, or a :class:`ResultRows`) as text (no trailing
    newline); the two give the same text for the same result.

    ``table``: aligned columns (numbers right-aligned, floats rounded by the unit of their
    column's name, :data:`UNIT_DECIMALS`, else to 3 decimals,
    timestamps ISO 8601 in UTC with ``Z``, nulls as ``NULL``) and a row count.
    ``csv``: a header row, then full-precision values; nulls empty.
    ``json``: an array of objects, one per line; timestamps ISO 8601 with ``Z``; nulls,
    NaN and infinities as ``null``.
    """
    cols = list(_python_columns(table))
    n = len(table.rows) if isinstance(table, ResultRows) else table.num_rows
    if fmt == "json":
        lines = [
            "  "
            + json.dumps(
                {name: _json_value(vals[i]) for name, _t, vals in cols}, ensure_ascii=False
            )
            for i in range(n)
        ]
        return "[]" if not lines else "[\n" + ",\n".join(lines) + "\n]"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([name for name, _t, _v in cols])
        for i in range(n):
            writer.writerow([_csv_cell(vals[i]) for _name, _t, vals in cols])
        return buf.getvalue().removesuffix("\n")
    if fmt == "table":
        cells = [[_cell(v, _table_style(name)) for v in vals] for name, _t, vals in cols]
        widths = [
            max([len(name), *(len(c) for c in col)])
            for (name, _t, _v), col in zip(cols, cells, strict=True)
        ]
        right = [numeric for _name, numeric, _v in cols]

        def line(values: list[str]) -> str:
            parts = [
                v.rjust(w) if r else v.ljust(w)
                for v, w, r in zip(values, widths, right, strict=True)
            ]
            return "  ".join(parts).rstrip()

        out = [line([name for name, _t, _v in cols]), line(["-" * w for w in widths])]
        out.extend(line([col[i] for col in cells]) for i in range(n))
        out.append(f"({n} row{'' if n == 1 else 's'})")
        return "\n".join(out) if cols else out[-1]
    raise ValueError(f"unknown format {fmt!r}: expected table, csv or json")
