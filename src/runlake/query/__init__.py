"""Query stage: the DuckDB catalog of views over the lake, read-only queries, result formats.

One module a job: ``_models`` (the SQL models), ``_catalog`` (the catalog file and its raw
views), ``_connect`` (connections, the sandbox, running queries), ``_format`` (results as
text), ``_analyses`` (the shipped analyses, their headers and parameters), ``_export``
(a view into a Parquet or CSV file).

May import: runlake.lake, runlake._errors, runlake._schemas, runlake._tables.

On the way to a query nothing imports pyarrow (0.2 s of start-up with numpy): results come
as Python values (``run_statements(..., rows=True)``) and pyarrow loads only when a Table is
asked for, a catalog is (re)built or a view exported.
"""

from __future__ import annotations

from runlake._errors import QueryError
from runlake.lake import LakeLocation
from runlake.query._analyses import Analysis, AnalysisParam, list_analyses, load_analysis
from runlake.query._catalog import CATALOG_NAME, COMMITTED_BY_MANIFEST, build_catalog, catalog_path
from runlake.query._connect import (
    ResultRows,
    StatementResult,
    check_query,
    connect,
    run_query,
    run_statements,
)
from runlake.query._export import TIME_COLUMNS, export_view
from runlake.query._format import UNIT_DECIMALS, format_table
from runlake.query._models import sql_dir

__all__ = [
    "CATALOG_NAME",
    "COMMITTED_BY_MANIFEST",
    "TIME_COLUMNS",
    "UNIT_DECIMALS",
    "Analysis",
    "AnalysisParam",
    "LakeLocation",
    "QueryError",
    "ResultRows",
    "StatementResult",
    "build_catalog",
    "catalog_path",
    "check_query",
    "connect",
    "export_view",
    "format_table",
    "list_analyses",
    "load_analysis",
    "run_query",
    "run_statements",
    "sql_dir",
]
