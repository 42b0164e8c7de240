"""Connections on a lake's catalog (rebuilt when stale), sandboxed for reading, and the
queries run on them."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import duckdb

from runlake._errors import LakeError, QueryError
from runlake._tables import TABLE_NAMES
from runlake.lake._fs import LakeFS, LakeLocation
from runlake.query._catalog import (
    DB_ALIAS,
    attach_catalog,
    build_catalog,
    catalog_path,
    check_is_lake,
    current_state,
    lake_fs,
    read_state,
    setup_connection,
)
from runlake.query._models import load_models, model_order, sql_dir, strip_comments

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ResultRows",
    "StatementResult",
    "check_query",
    "connect",
    "interruptible",
    "run_query",
    "run_statements",
]


def connect(
    lake_root: LakeLocation | LakeFS, *, read_only: bool = True
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection on the lake's catalog, with its views as the default schema.

    Builds the catalog when it is missing or stale; a folder that is not a lake
    (:func:`~runlake.query._catalog.check_is_lake`) is refused first, untouched.  The
    connection is an in-memory DuckDB with the catalog attached (read-only by default) as
    ``lake`` and selected by ``USE``, ``TimeZone`` set to UTC, and the lake's files
    readable: ``file_search_path`` set to the lake folder, or the object store registered
    (through fsspec).  Attaching
    (rather than opening the file directly) bypasses DuckDB's per-process cache of open
    databases, so a rebuilt catalog is seen even while older connections are open.
    With ``read_only=False`` the catalog is attached read-write (exclusive lock; anything
    you create in it is lost at the next rebuild — prefer ``temp`` objects).
    """
    fs = lake_fs(lake_root)
    check_is_lake(fs)
    catalog = catalog_path(fs)
    models = model_order(load_models(sql_dir()))
    con = duckdb.connect(":memory:")
    try:
        setup_connection(con, fs)
        fresh = False
        if catalog.exists():
            attach_catalog(con, catalog, read_only)
            fresh = read_state(con) == current_state(fs, models)
            if not fresh:
                con.execute(f"detach {DB_ALIAS}")
        if not fresh:
            try:
                build_catalog(fs)
            except OSError as exc:
                raise LakeError(f"cannot build the catalog of {fs.location!r}: {exc}") from exc
            attach_catalog(con, catalog, read_only)
        con.execute(f"use {DB_ALIAS}")
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
        allowed = [d for t in TABLE_NAMES for d in (f"{t}/", fs.uri(t) + "/")]
    else:
        allowed = [fs.uri(t) + "/" for t in TABLE_NAMES]
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
    m = _EXPLAIN.match(strip_comments(statement.query))
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


@contextmanager
def interruptible(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Ctrl-C stops the query running on ``con``, then raises :class:`KeyboardInterrupt`.

    Python sees a signal only between bytecodes, so a long DuckDB query would otherwise run
    on to its end after Ctrl-C. In the main thread, while the block runs, SIGINT interrupts
    the connection instead (``con.interrupt()``); the query fails, and the block's error is
    replaced by the KeyboardInterrupt the caller expects. Elsewhere (a thread, a process
    that ignores SIGINT) nothing changes.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    hit: list[int] = []

    def on_sigint(signum: int, _frame: object) -> None:
        hit.append(signum)
        con.interrupt()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    except BaseException:
        if hit:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if hit:
        raise KeyboardInterrupt


def run_query(
    lake_root: LakeLocation | LakeFS,
    query: str,
    *,
    params: list[object] | Mapping[str, object] | None = None,
) -> pa.Table:
    """Run ``query`` (with ``?`` / ``$name`` ``params``) on a read-only, sandboxed connection.

    Several statements: the last one's result (:func:`run_statements` gives each one's).

    Only queries run (:func:`check_query`); files outside the lake's tables cannot be read
    (:func:`connect`). Raises :class:`QueryError` with DuckDB's message when the SQL fails.
    """
    with connect(lake_root) as con, interruptible(con):
        check_query(con, query)
        try:
            rel = con.sql(query, params=params)
            if rel is None:
                import pyarrow as pa  # noqa: PLC0415 -- the query path starts without it

                return pa.table({})
            return rel.to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class ResultRows:
    """A result as the Python values DuckDB gives (no pyarrow): what ``runlake sql`` prints.

    Timestamps with a time zone are aware datetimes in UTC (the connection's time zone).
    """

    columns: tuple[str, ...]
    types: tuple[str, ...]
    """DuckDB's type of each column (``DOUBLE``, ``DECIMAL(9,2)``, ``TIMESTAMP WITH TIME ZONE``)"""
    rows: list[tuple[Any, ...]]


def _rows(rel: duckdb.DuckDBPyRelation) -> ResultRows:
    return ResultRows(tuple(rel.columns), tuple(str(t) for t in rel.types), rel.fetchall())


def _arrow(rel: duckdb.DuckDBPyRelation) -> pa.Table:
    return rel.to_arrow_table()


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StatementResult(Generic[T]):
    """One statement of a query and what it returned (None: a statement without rows, SET)."""

    sql: str
    """The statement, comments removed and white space collapsed."""
    table: T | None
    """A pyarrow Table, or :class:`ResultRows` (``run_statements(..., rows=True)``)."""


def _statement_text(query: str) -> str:
    return " ".join(strip_comments(query).split()).rstrip(";").rstrip()


def _check_params(statements: list[duckdb.Statement], given: Mapping[str, object]) -> None:
    used: set[str] = set()
    for st in statements:
        used |= set(st.named_parameters)
    unused = sorted(set(given) - used)
    if unused:
        raise QueryError(f"the query has no parameter {', '.join('$' + n for n in unused)}")
    missing = sorted(used - set(given))
    if missing:
        raise QueryError(f"no value given for the parameter {', '.join('$' + n for n in missing)}")


@overload
def run_statements(
    lake_root: LakeLocation | LakeFS,
    query: str,
    *,
    params: Mapping[str, object] | None = None,
    rows: Literal[False] = False,
) -> list[StatementResult[pa.Table]]: ...


@overload
def run_statements(
    lake_root: LakeLocation | LakeFS,
    query: str,
    *,
    params: Mapping[str, object] | None = None,
    rows: Literal[True],
) -> list[StatementResult[ResultRows]]: ...


def run_statements(
    lake_root: LakeLocation | LakeFS,
    query: str,
    *,
    params: Mapping[str, object] | None = None,
    rows: bool = False,
) -> list[StatementResult[pa.Table]] | list[StatementResult[ResultRows]]:
    """Run every statement of ``query`` in order, on one read-only, sandboxed connection,
    and return each one's result (SET and the like give None): a pyarrow Table, or with
    ``rows=True`` the Python values (:class:`ResultRows`; pyarrow is not imported).

    ``params``: the values of its ``$name`` parameters (each statement gets the ones it
    uses). Raises :class:`QueryError` when there is no statement, a parameter is missing or
    unused, or a statement fails (naming which, when there are several); nothing is
    returned then.
    """
    if rows:
        return _run_each(lake_root, query, params, _rows)
    return _run_each(lake_root, query, params, _arrow)


def _run_each(
    lake_root: LakeLocation | LakeFS,
    query: str,
    params: Mapping[str, object] | None,
    fetch: Callable[[duckdb.DuckDBPyRelation], T],
) -> list[StatementResult[T]]:
    given = dict(params or {})
    with connect(lake_root) as con, interruptible(con):
        check_query(con, query)
        statements = con.extract_statements(query)
        if not statements:
            raise QueryError("no SQL statement to run")
        _check_params(statements, given)
        out: list[StatementResult[T]] = []
        for i, st in enumerate(statements, 1):
            values = {k: given[k] for k in st.named_parameters}
            try:
                rel = con.sql(st, params=values or None)
                has_rows = rel is not None and st.type != duckdb.StatementType.SET
                table = fetch(rel) if has_rows and rel is not None else None
            except duckdb.Error as exc:
                where = f"statement {i} of {len(statements)}: " if len(statements) > 1 else ""
                raise QueryError(where + str(exc)) from exc
            out.append(StatementResult(_statement_text(st.query), table))
    return out
