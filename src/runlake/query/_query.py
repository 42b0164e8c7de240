"""The query stage: a DuckDB catalog of views over the Parquet lake, and result formatting.

``<lake>/catalog.duckdb`` holds only views.  The raw views (``raw_<table>``) read Parquet
files through *relative* paths; every connection made by :func:`connect` sets
``file_search_path`` to the lake folder, so the lake can be moved and queried from any
working directory (measured on DuckDB 2.0: file lists, globs, hive partitioning and
partition pruning all work through ``file_search_path``).  Opening ``catalog.duckdb`` by
hand works from the lake folder itself, or after ``SET file_search_path = '<lake>'``.

The raw views of the batched tables (activities, laps, records, ingest_errors, files) list
exactly the parts of the batches committed when the catalog was built (a batch is committed
when its manifest exists): a killed writer's leftovers and a batch still being written are
never read, and every query sees whole batches. The derived tables are read through globs.

The catalog is rebuilt into a new file which then replaces the old one (readers that have
it open keep the old one).  :func:`connect` rebuilds it when it is missing or stale: the SQL
models or schemas changed, a batch was committed, or a table gained its first file or lost
its last one (a view over no files is a typed empty select).  ``_catalog_meta`` records what
it was built from.
"""

from __future__ import annotations

import csv
import datetime as dt
import graphlib
import hashlib
import io
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from runlake._errors import LakeError, QueryError
from runlake._schemas import TABLES
from runlake.lake._fs import LakeFS, LakeLocation, ObjectFS, open_fs
from runlake.lake._store import DATA_TABLES, PARTITIONED_BY_YEAR

__all__ = [
    "CATALOG_NAME",
    "COMMITTED_BY_MANIFEST",
    "LakeLocation",
    "QueryError",
    "build_catalog",
    "catalog_path",
    "check_query",
    "connect",
    "format_table",
    "run_query",
    "sql_dir",
]

CATALOG_NAME = "catalog.duckdb"
COMMITTED_BY_MANIFEST: frozenset[str] = frozenset((*DATA_TABLES, "ingest_errors"))
"""Tables written in batches whose rows count only once the batch's manifest exists."""
_CATALOG_FORMAT = 2
_MODEL_DIRS = ("staging", "marts")
_DB_ALIAS = "lake"


# --------------------------------------------------------------------------- sql models


def sql_dir() -> Traversable:
    """The folder of SQL models: the repository's ``sql/`` if present, else the packaged copy."""
    repo_sql = Path(__file__).resolve().parents[3] / "sql"
    if repo_sql.is_dir():
        return repo_sql
    return resources.files("runlake") / "_sql"


@dataclass(frozen=True, slots=True)
class _Model:
    name: str
    path: str
    sql: str


def _strip_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", " ", sql)


def _load_models(root: Traversable) -> list[_Model]:
    models: list[_Model] = []
    for sub in _MODEL_DIRS:
        folder = root / sub
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir(), key=lambda t: t.name):
            if not f.name.endswith(".sql") or not f.is_file():
                continue
            name = f.name.removesuffix(".sql")
            text = f.read_text(encoding="utf-8")
            head = re.match(
                r"\s*create\s+or\s+replace\s+view\s+(\w+)\s+as\b",
                _strip_comments(text),
                flags=re.IGNORECASE,
            )
            if head is None or head.group(1).lower() != name:
                raise LakeError(
                    f"sql model {sub}/{f.name} must start with 'create or replace view {name} as'"
                )
            models.append(_Model(name, f"{sub}/{f.name}", text))
    if not models:
        raise LakeError(f"no SQL models found under {root} ({', '.join(_MODEL_DIRS)})")
    return models


def _model_order(models: list[_Model]) -> list[_Model]:
    """Dependency order (a model after the models it selects from); ties alphabetical."""
    by_name = {m.name: m for m in models}
    graph: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for m in models:
        body = _strip_comments(m.sql).lower()
        ctes = set(re.findall(r"\b(\w+)\s+as\s*\(", body))
        refs = set(re.findall(r"\b(?:from|join)\s+(\w+)", body))
        graph.add(m.name, *sorted((refs & by_name.keys()) - ctes - {m.name}))
    try:
        graph.prepare()
    except graphlib.CycleError as exc:
        raise LakeError(f"sql models depend on each other in a cycle: {exc.args[1]}") from exc
    order: list[str] = []
    while graph.is_active():
        ready = sorted(graph.get_ready())
        order.extend(ready)
        graph.done(*ready)
    return [by_name[n] for n in order]


# --------------------------------------------------------------------------- raw views


_DUCK_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.large_string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int8(): "TINYINT",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT",
    pa.uint16(): "USMALLINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
    pa.binary(): "BLOB",
}


def _duck_type(t: pa.DataType) -> str:
    """The DuckDB type DuckDB gives a Parquet column written by pyarrow with type ``t``."""
    if t in _DUCK_TYPES:
        return _DUCK_TYPES[t]
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE" if t.tz is not None else "TIMESTAMP"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"{_duck_type(t.value_type)}[]"
    raise LakeError(f"no DuckDB type mapping for {t}")


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _glob(table: str) -> str:
    if table in PARTITIONED_BY_YEAR:
        return f"{table}/athlete=*/year=*/*.parquet"
    return f"{table}/athlete=*/*.parquet"


def _list_files(fs: LakeFS) -> dict[str, tuple[str, ...]]:
    """Every table's files (relative to the lake): the manifests first, the parts after.

    The glob skips nothing DuckDB would read: both match dot-files; temp files end in .tmp.
    """
    order = ["files", *(t for t in TABLES if t != "files")]
    return {t: tuple(fs.glob(_glob(t))) for t in order}


def _athlete_dir(rel: str) -> str:
    return next((part for part in rel.split("/") if part.startswith("athlete=")), "")


def _committed_parts(state: _State) -> dict[str, list[str]]:
    """The parts of committed batches, per batched table (paths relative to the lake).

    A batch's parts are all renamed into place before its manifest is written, and the
    manifests were listed before the parts (:func:`_list_files`): so every batch listed is
    complete, and parts of batches without a manifest (a killed writer's leftovers, a batch
    in flight) are left out.
    """
    keys = {(_athlete_dir(m), m.rsplit("/", 1)[-1]) for m in state.manifests}
    out: dict[str, list[str]] = {"files": list(state.manifests)}
    for table in sorted(COMMITTED_BY_MANIFEST):
        rels = state.files.get(table, ())
        out[table] = sorted(r for r in rels if (_athlete_dir(r), r.rsplit("/", 1)[-1]) in keys)
    return out


def _raw_view_sql(
    table: str, schema: pa.Schema, files: list[str] | None, name: Callable[[str], str]
) -> str:
    """The raw view of ``table``: over exactly ``files``, or its glob when None.

    ``name`` turns a path relative to the lake into what the view stores.
    """
    view = f"raw_{table}"
    partitions = [("athlete", "VARCHAR")]
    if table in PARTITIONED_BY_YEAR:
        partitions.append(("year", "INTEGER"))
    if files is None or files:
        source = (
            _quote_str(name(_glob(table)))
            if files is None
            else "[" + ", ".join(_quote_str(name(f)) for f in files) + "]"
        )
        hive_types = ", ".join(f"{_quote_str(n)}: {_quote_str(t)}" for n, t in partitions)
        return (
            f"create or replace view {view} as select * from read_parquet("
            f"{source}, hive_partitioning = true, "
            f"hive_types = {{{hive_types}}}, union_by_name = true)"
        )
    cols = [(f.name, _duck_type(f.type)) for f in schema] + partitions
    select = ", ".join(f"cast(null as {t}) as {_quote_ident(n)}" for n, t in cols)
    return f"create or replace view {view} as select {select} where false"


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True, slots=True)
class _State:
    fingerprint: str
    tables_with_files: tuple[str, ...]
    committed: str
    """sha256 of the committed manifests' names: a new commit makes the catalog stale."""
    manifests: tuple[str, ...] = field(default=(), compare=False)
    files: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)


def _lake_fs(location: LakeLocation | LakeFS) -> LakeFS:
    fs = open_fs(location)
    root = fs.local_root
    if root is None:
        if isinstance(fs, ObjectFS):
            fs.check()
        return fs
    if not root.exists():
        raise LakeError(f"lake folder {str(root)!r} does not exist")
    if not root.is_dir():
        raise LakeError(f"lake folder {str(root)!r} is not a folder")
    if "," in str(root):
        # file_search_path is a comma-separated list: a comma cannot be part of the path.
        raise LakeError(f"lake folder {str(root)!r}: a comma in the path is not supported")
    return fs


def catalog_path(location: LakeLocation | LakeFS) -> Path:
    """Where the catalog of a lake is: ``<lake>/catalog.duckdb`` for a local lake.

    A lake on object storage keeps its catalog in a local cache folder
    (``$RUNLAKE_CACHE``, else ``$XDG_CACHE_HOME/runlake``, else ``~/.cache/runlake``),
    one per lake URL: DuckDB opens database files only from a local disk.
    """
    fs = open_fs(location)
    if fs.local_root is not None:
        return fs.local_root / CATALOG_NAME
    cache = os.environ.get("RUNLAKE_CACHE")
    if cache:
        base = Path(cache).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "runlake"
    key = hashlib.sha256(fs.location.encode()).hexdigest()[:16]
    return base / "catalogs" / key / CATALOG_NAME


def _view_name(fs: LakeFS) -> Callable[[str], str]:
    """How views name files: relative to the lake folder (movable), or by full URL."""
    if fs.local_root is not None:
        return lambda rel: rel
    return fs.uri


def _current_state(fs: LakeFS, models: list[_Model]) -> _State:
    h = hashlib.sha256(f"catalog-format-{_CATALOG_FORMAT}\n".encode())
    if fs.local_root is None:  # a local lake's catalog names files relative to it
        h.update(f"{fs.location}\n".encode())
    for name, schema in TABLES.items():
        h.update(f"{name}:{[(f.name, str(f.type)) for f in schema]}\n".encode())
    for m in models:
        h.update(f"{m.path}\n{m.sql}\n".encode())
    files = _list_files(fs)
    manifests = tuple(r for r in files["files"] if r.rsplit("/", 1)[-1].startswith("part-"))
    committed = hashlib.sha256("\n".join(manifests).encode()).hexdigest()
    with_files = tuple(t for t in TABLES if files[t])
    return _State(h.hexdigest(), with_files, committed, manifests, files)


def _setup(con: duckdb.DuckDBPyConnection, fs: LakeFS) -> None:
    fs.register(con)
    con.execute("set TimeZone = 'UTC'")


def build_catalog(location: LakeLocation | LakeFS) -> Path:
    """Build the lake's catalog (views only) afresh and return its path.

    The new catalog is written under a temporary name beside the old one, checkpointed,
    closed and renamed over it, so open readers are never disturbed.
    """
    fs = _lake_fs(location)
    models = _model_order(_load_models(sql_dir()))
    state = _current_state(fs, models)
    target = catalog_path(fs)
    folder = target.parent
    tmp = folder / f".catalog.{secrets.token_hex(6)}.duckdb.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(tmp))
    except (OSError, duckdb.Error) as exc:
        raise LakeError(f"cannot create a catalog in {str(folder)!r}: {exc}") from exc
    try:
        _setup(con, fs)
        parts = _committed_parts(state)
        name = _view_name(fs)
        for table, schema in TABLES.items():
            files = parts.get(table, None if table in state.tables_with_files else [])
            con.execute(_raw_view_sql(table, schema, files, name))
        for m in models:
            try:
                con.execute(m.sql)
            except duckdb.Error as exc:
                raise LakeError(f"sql model {m.path} failed: {exc}") from exc
        con.execute(
            "create table _catalog_meta (format integer, fingerprint varchar, "
            "lake_root varchar, tables_with_files varchar[], committed varchar, "
            "built_at timestamptz)"
        )
        con.execute(
            "insert into _catalog_meta values (?, ?, ?, ?, ?, now())",
            [
                _CATALOG_FORMAT,
                state.fingerprint,
                fs.location,
                list(state.tables_with_files),
                state.committed,
            ],
        )
        con.execute("checkpoint")
        con.close()
        # A WAL left by a read-write session of the old catalog must not be replayed onto
        # the new file.
        Path(f"{target}.wal").unlink(missing_ok=True)
        os.replace(tmp, target)
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    return target


def _read_state(con: duckdb.DuckDBPyConnection) -> _State | None:
    try:
        row = con.execute(
            f"select format, fingerprint, tables_with_files, committed "
            f"from {_DB_ALIAS}._catalog_meta"
        ).fetchone()
    except (duckdb.CatalogException, duckdb.BinderException):
        return None
    if row is None or row[0] != _CATALOG_FORMAT:
        return None
    return _State(str(row[1]), tuple(row[2]), str(row[3]))


def _attach(con: duckdb.DuckDBPyConnection, catalog: Path, read_only: bool) -> None:
    mode = " (read_only)" if read_only else ""
    try:
        con.execute(f"attach {_quote_str(str(catalog))} as {_DB_ALIAS}{mode}")
    except duckdb.Error as exc:
        raise LakeError(f"cannot open the catalog {str(catalog)!r}: {exc}") from exc


def connect(
    lake_root: LakeLocation | LakeFS, *, read_only: bool = True
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection on the lake's catalog, with its views as the default schema.

    Builds the catalog when it is missing or stale.  The connection is an in-memory DuckDB
    with the catalog attached (read-only by default) as ``lake`` and selected by ``USE``,
    ``TimeZone`` set to UTC, and the lake's files readable: ``file_search_path`` set to
    the lake folder, or the object store registered (through fsspec).  Attaching
    (rather than opening the file directly) bypasses DuckDB's per-process cache of open
    databases, so a rebuilt catalog is seen even while older connections are open.
    With ``read_only=False`` the catalog is attached read-write (exclusive lock; anything
    you create in it is lost at the next rebuild — prefer ``temp`` objects).
    """
    fs = _lake_fs(lake_root)
    catalog = catalog_path(fs)
    models = _model_order(_load_models(sql_dir()))
    con = duckdb.connect(":memory:")
    try:
        _setup(con, fs)
        fresh = False
        if catalog.exists():
            _attach(con, catalog, read_only)
            fresh = _read_state(con) == _current_state(fs, models)
            if not fresh:
                con.execute(f"detach {_DB_ALIAS}")
        if not fresh:
            try:
                build_catalog(fs)
            except OSError as exc:
                raise LakeError(f"cannot build the catalog of {fs.location!r}: {exc}") from exc
            _attach(con, catalog, read_only)
        con.execute(f"use {_DB_ALIAS}")
        if read_only:
            _sandbox(con, fs)
    except BaseException:
        con.close()
        raise
    return con


def _sandbox(con: duckdb.DuckDBPyConnection, fs: LakeFS) -> None:
    """Files only from the lake's table folders; no extensions; settings locked.

    DuckDB checks a relative path as written and again once resolved through
    ``file_search_path``, so each table folder of a local lake is allowed both ways. (A
    relative path that does not exist in the lake falls back to the working directory: a
    folder there named like a table is readable too.) Allowed folders can also be written
    to, which is why :func:`run_query` refuses every statement that is not a query.
    """
    if fs.local_root is not None:
        allowed = [d for t in TABLES for d in (f"{t}/", fs.uri(t) + "/")]
    else:
        allowed = [fs.uri(t) + "/" for t in TABLES]
    con.execute("set allowed_directories = ?", [allowed])
    con.execute("set allowed_configs = ?", [list(_FREE_SETTINGS)])
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


# Settings a sandboxed connection may still change: they touch no file and no permission.
_FREE_SETTINGS = (
    "TimeZone",
    "Calendar",
    "threads",
    "memory_limit",
    "default_order",
    "default_null_order",
    "preserve_insertion_order",
    "enable_progress_bar",
    "max_expression_depth",
)


_EXPLAIN = re.compile(r"\s*explain\s*(?:\([^)]*\))?\s*(?:analy[sz]e\b)?(.*)", re.I | re.S)


def _is_query(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> bool:
    """A SELECT (also WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE), or EXPLAIN of one.

    SET is allowed too: the sandbox locks every setting but the harmless ones.
    """
    if statement.type in (duckdb.StatementType.SELECT, duckdb.StatementType.SET):
        return True
    if statement.type != duckdb.StatementType.EXPLAIN:
        return False
    m = _EXPLAIN.match(_strip_comments(statement.query))
    if m is None:
        return False
    inner = con.extract_statements(m.group(1))
    return bool(inner) and all(s.type == duckdb.StatementType.SELECT for s in inner)


def check_query(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Raise :class:`QueryError` unless every statement of ``query`` only reads."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from exc
    for st in statements:
        if not _is_query(con, st):
            raise QueryError(
                "the lake is read-only here: only queries run (SELECT, WITH, FROM, DESCRIBE, "
                f"SHOW, SUMMARIZE, EXPLAIN, SET), not {st.type.name}"
            )


def run_query(
    lake_root: LakeLocation | LakeFS, query: str, *, params: list[object] | None = None
) -> pa.Table:
    """Run ``query`` (with ``?`` / ``$name`` ``params``) on a read-only, sandboxed connection.

    Only queries run (:func:`check_query`); files outside the lake's tables cannot be read
    (:func:`connect`). Raises :class:`QueryError` with DuckDB's message when the SQL fails.
    """
    with connect(lake_root) as con:
        check_query(con, query)
        try:
            rel = con.sql(query, params=params)
            if rel is None:
                return pa.table({})
            return rel.to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc


# --------------------------------------------------------------------------- formatting

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


def _prepare(table: pa.Table) -> Iterator[tuple[str, pa.DataType, list[object]]]:
    """Columns as Python lists; time-zone-aware timestamps converted to UTC."""
    for name, column in zip(table.column_names, table.columns, strict=True):
        t = column.type
        col = column
        if pa.types.is_timestamp(t):
            unit = "us" if t.unit == "ns" else t.unit
            col = pc.cast(col, pa.timestamp(unit, tz="UTC" if t.tz else None), safe=False)
        yield name, t, col.to_pylist()


def _is_numeric(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def _text_float(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v != 0 and abs(v) < 0.001:
        return f"{v:.3g}"
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def _text_cell(v: object) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _text_float(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return _iso(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, list):
        return "[" + ", ".join(_text_cell(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_text_cell(x)}" for k, x in v.items()) + "}"
    return str(v).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


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


def _csv_cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return _iso(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, list | dict):
        return json.dumps(_json_value(v), ensure_ascii=False)
    return str(v)


def format_table(table: pa.Table, fmt: _Fmt) -> str:
    """Render ``table`` as text (no trailing newline).

    ``table``: aligned columns (numbers right-aligned, floats rounded to 3 decimals,
    timestamps ISO 8601 in UTC with ``Z``, nulls as ``NULL``) and a row count.
    ``csv``: a header row, then full-precision values; nulls empty.
    ``json``: an array of objects, one per line; timestamps ISO 8601 with ``Z``; nulls,
    NaN and infinities as ``null``.
    """
    cols = list(_prepare(table))
    n = table.num_rows
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
        cells = [[_text_cell(v) for v in vals] for _name, _t, vals in cols]
        widths = [
            max([len(name), *(len(c) for c in col)])
            for (name, _t, _v), col in zip(cols, cells, strict=True)
        ]
        right = [_is_numeric(t) for _name, t, _v in cols]

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
