"""The lake's table names, in the contract's order, without pyarrow.

:mod:`runlake._schemas` gives each table its schema (``TABLES``, keyed in this order, which
it checks at import). What needs only the names imports them from here: on the way to a
query (is the catalog fresh? which folders may the sandbox read?) nothing imports pyarrow,
which costs about 0.2 s of start-up with numpy.
"""

from __future__ import annotations

__all__ = ["TABLE_NAMES"]

TABLE_NAMES: tuple[str, ...] = (
    "activities",
    "laps",
    "records",
    "ingest_errors",
    "files",
    "run_metrics",
    "lap_metrics",
    "flags",
    "week_rules",
    "day_rules",
    "run_rules",
    "duplicates",
)
