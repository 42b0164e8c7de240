"""Query stage: the DuckDB catalog of views over the lake, read-only queries, result formats.

May import: runlake.lake, runlake._errors, runlake._schemas.
"""

from __future__ import annotations

from runlake.query._query import (
    CATALOG_NAME,
    COMMITTED_BY_MANIFEST,
    LakeLocation,
    QueryError,
    build_catalog,
    catalog_path,
    check_query,
    connect,
    format_table,
    run_query,
    sql_dir,
)

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
