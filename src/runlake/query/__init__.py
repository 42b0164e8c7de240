"""Query stage: the DuckDB catalog of views over the lake, read-only queries, result formats.

One module a job: ``_models`` (the SQL models), ``_catalog`` (the catalog file and its raw
views), ``_connect`` (connections, the sandbox, running queries), ``_format`` (results as
text).

May import: runlake.lake, runlake._errors, runlake._schemas.
"""

from __future__ import annotations

from runlake._errors import QueryError
from runlake.lake import LakeLocation
from runlake.query._catalog import CATALOG_NAME, COMMITTED_BY_MANIFEST, build_catalog, catalog_path
from runlake.query._connect import check_query, connect, run_query
from runlake.query._format import format_table
from runlake.query._models import sql_dir

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
