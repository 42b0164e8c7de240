"""The lake's table names, in the contract's order, without pyarrow.

:mod:`runlake._schemas` gives each table its schema (``TABLES``, keyed in this order, which
it checks at import). What needs only the names imports them from here: on the way to a
query (is the catalog fresh? which folders may the sandbox read?) nothing imports pyarrow,
which costs about 0.2 s of start-up with numpy.
"""

from __future__ import annotations

__all__ = ["DATA_TABLES", "DERIVED_TABLES", "TABLE_NAMES"]

DATA_TABLES: tuple[str, ...] = ("activities", "laps", "records")
"""Tables partitioned by athlete and year, written by :meth:`Lake.commit` from ``tables``."""

DERIVED_TABLES: tuple[str, ...] = (
    "run_metrics",
    "lap_metrics",
    "flags",
    "week_rules",
    "day_rules",
    "run_rules",
    "duplicates",
)
"""Tables computed from the data tables (:mod:`runlake.ingest._derive`), a file per athlete-year."""

TABLE_NAMES: tuple[str, ...] = (*DATA_TABLES, "ingest_errors", "files", *DERIVED_TABLES)
"""Every table, in the contract's order (``ingest_errors``: the batches' problems; ``files``:
their manifests). :mod:`runlake.lake` names the groups for its layout."""
