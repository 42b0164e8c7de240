"""A view, filtered, into a Parquet or CSV file for other tools (``runlake export``).

The rows come from the same read-only, sandboxed connection as every query; the filters are
built as DuckDB expressions (values are constants, never SQL text); ``where`` is parsed as
one expression, so it cannot close the query and add another. The file is written in
streamed batches under a temporary name and renamed into place: a failed export leaves no
partial file.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb

from runlake._errors import QueryError
from runlake.lake._fs import LakeFS, LakeLocation
from runlake.query._connect import connect, interruptible

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["TIME_COLUMNS", "ExportFormat", "export_view"]

ExportFormat = Literal["parquet", "csv"]
TIME_COLUMNS = ("date", "week_start", "start_time", "timestamp", "at")
"""The column ``since``/``until`` filter on: the first of these a view has."""
_BATCH_ROWS = 64 * 1024
_C = duckdb.ColumnExpression
_K = duckdb.ConstantExpression


def _views(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select view_name from duckdb_views() where database_name = 'lake' and not internal "
        "order by view_name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def _relation(con: duckdb.DuckDBPyConnection, view: str) -> duckdb.DuckDBPyRelation:
    views = _views(con)
    if view not in views:
        shown = [v for v in views if not v.startswith(("raw_", "stg_"))]
        raise QueryError(f"no view named {view!r}; the views: {', '.join(shown)}")
    return con.table(view)


def _time_filter(
    rel: duckdb.DuckDBPyRelation, since: dt.date | None, until: dt.date | None
) -> duckdb.DuckDBPyRelation:
    """``since``/``until`` (UTC days, inclusive) on the view's first time column."""
    if since is None and until is None:
        return rel
    types = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
    col = next((c for c in TIME_COLUMNS if c in types), None)
    if col is None:
        raise QueryError(f"--since/--until: the view has none of {', '.join(TIME_COLUMNS)}")

    def bound(day: dt.date) -> object:
        if types[col] == "DATE":
            return day
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)

    if since is not None:
        rel = rel.filter(_C(col) >= _K(bound(since)))
    if until is not None:
        rel = rel.filter(_C(col) < _K(bound(until + dt.timedelta(days=1))))
    return rel


def _where(rel: duckdb.DuckDBPyRelation, where: str) -> duckdb.DuckDBPyRelation:
    """``where`` parsed as one expression (a second statement or a closing parenthesis is
    a parser error), on the sandboxed connection."""
    try:
        return rel.filter(where)
    except duckdb.Error as exc:
        raise QueryError(f"--where {where!r}: {exc}") from exc


def _select(
    rel: duckdb.DuckDBPyRelation, columns: Sequence[str] | None, fmt: ExportFormat
) -> duckdb.DuckDBPyRelation:
    """The chosen columns; for CSV, lists and structs as JSON text."""
    names = list(columns) if columns else list(rel.columns)
    unknown = [c for c in names if c not in rel.columns]
    if unknown:
        raise QueryError(f"no column {', '.join(unknown)}; the columns: {', '.join(rel.columns)}")
    types = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
    exprs = []
    for c in names:
        nested = types[c].endswith("]") or types[c].startswith(("STRUCT", "MAP"))
        if fmt == "csv" and nested:
            as_json = duckdb.FunctionExpression("to_json", _C(c))
            exprs.append(as_json.cast(duckdb.sqltypes.VARCHAR).alias(c))
        else:
            exprs.append(_C(c))
    return rel.select(*exprs)


def _write(reader: pa.RecordBatchReader, path: Path, fmt: ExportFormat) -> int:
    # pyarrow here only: `import runlake.query` is on the way to every query
    import pyarrow.csv as pcsv  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    rows = 0
    if fmt == "parquet":
        with pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        return rows
    options = pcsv.WriteOptions(quoting_style="needed")
    with pcsv.CSVWriter(path, reader.schema, write_options=options) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _target(out: Path) -> Path:
    out = Path(out).expanduser()
    if out.is_dir():
        raise QueryError(f"--out {str(out)!r} is a folder: give a file name")
    if not out.parent.is_dir():
        raise QueryError(f"--out {str(out)!r}: no such folder {str(out.parent)!r}")
    return out


def export_view(
    lake_root: LakeLocation | LakeFS,
    view: str,
    out: Path,
    *,
    fmt: ExportFormat = "parquet",
    athlete: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    where: str | None = None,
    columns: Sequence[str] | None = None,
) -> int:
    """Write the rows of ``view`` to ``out`` (Parquet, zstd; or CSV with a header, every
    digit, timestamps ISO 8601 in UTC, lists as JSON) and return how many were written.

    Filters: ``athlete``; ``since``/``until`` (UTC days, inclusive) on the view's first
    column of :data:`TIME_COLUMNS`; ``where``, one SQL expression over its columns;
    ``columns``, the columns to keep. Raises :class:`QueryError` for an unknown view or
    column, a bad filter or an unusable ``out``.
    """
    if fmt not in ("parquet", "csv"):
        raise QueryError(f"unknown export format {fmt!r}: expected parquet or csv")
    target = _target(out)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    with connect(lake_root) as con, interruptible(con):
        try:
            rel = _relation(con, view)
            if athlete is not None:
                if "athlete" not in rel.columns:
                    raise QueryError(f"--athlete: the view {view} has no athlete column")
                rel = rel.filter(_C("athlete") == _K(athlete))
            rel = _time_filter(rel, since, until)
            if where:
                rel = _where(rel, where)
            reader = _select(rel, columns, fmt).to_arrow_reader(_BATCH_ROWS)
            rows = _write(reader, tmp, fmt)
            os.replace(tmp, target)
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc
        finally:
            tmp.unlink(missing_ok=True)
    return rows
