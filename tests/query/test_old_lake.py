"""A lake written by an older runlake: its files lack columns the contract has since gained.

Read-only commands must still answer before the next write mends the lake: each raw view
has the contract's columns, a column the files lack reading as null.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from runlake import build_catalog, run_query
from runlake.cli import main

from .conftest import season_lake

DROPPED = ("temperature_c", "pace_bin_cadence_spm")


def _as_older_runlake_wrote_it(lake: Path) -> int:
    """Rewrite every run_metrics file without the DROPPED columns; the number of rows."""
    rows = 0
    for path in sorted((lake / "run_metrics").rglob("*.parquet")):
        table = pq.read_table(path, partitioning=None)
        table = table.drop_columns([c for c in DROPPED if c in table.column_names])
        pq.write_table(table, path)
        rows += table.num_rows
    return rows


def _union_by_name(lake: Path) -> dict[str, bool]:
    """Whether the catalog's raw view of each of three tables reads with union_by_name."""
    con = duckdb.connect(str(lake / "catalog.duckdb"), read_only=True)
    try:
        got = {}
        for table in ("records", "run_metrics", "flags"):
            row = con.execute(
                "select sql from duckdb_views() where view_name = ?", [f"raw_{table}"]
            ).fetchone()
            assert row is not None
            got[table] = "union_by_name = true" in row[0].lower()
        return got
    finally:
        con.close()


def test_an_older_lakes_views_answer_with_nulls_where_its_files_lack_a_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = season_lake(tmp_path, {"me": (3, 5)})
    before = run_query(lake, "select count(*) from run_summary").column(0)[0].as_py()
    assert before > 0
    had = run_query(lake, "select count(pace_bin_cadence_spm) from raw_run_metrics").column(0)
    # files that all hold the contract's columns are read by name, footers unopened by a query
    assert _union_by_name(lake) == dict.fromkeys(("records", "run_metrics", "flags"), False)
    rows = _as_older_runlake_wrote_it(lake)
    assert rows == before
    build_catalog(lake)
    got = run_query(
        lake,
        "select count(*) as n, count(temperature_c) as t, count(pace_bin_cadence_spm) as c "
        "from raw_run_metrics",
    ).to_pylist()
    assert got == [{"n": rows, "t": 0, "c": 0}]
    assert _union_by_name(lake) == {"records": False, "run_metrics": True, "flags": False}
    assert had[0].as_py() > 0  # the column was there, and is now null: not a no-op
    summary = run_query(lake, "select count(*) as n from run_summary").to_pylist()
    assert summary == [{"n": before}]
    # the command a user runs, in one line per result, no traceback
    assert main(["sql", "--lake", str(lake), "select count(*) as n from runs"]) == 0
    assert "Traceback" not in capsys.readouterr().err
