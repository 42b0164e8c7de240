"""The query stage: the DuckDB catalog, the analysts' views and result formatting."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from runlake import ingest_paths
from runlake._errors import LakeError
from runlake._schemas import ACTIVITIES, INGEST_ERRORS, LAPS, RECORDS
from runlake.lake._store import FileCommit, Lake
from runlake.query import (
    CATALOG_NAME,
    QueryError,
    ResultRows,
    _catalog,
    build_catalog,
    connect,
    format_table,
    load_analysis,
    run_query,
    run_statements,
    sql_dir,
)
from runlake.synth import write_season

from .conftest import SEASON_START, season_lake

UTC_MS = pa.timestamp("ms", tz="UTC")
REPO = Path(__file__).resolve().parents[2]


def sha(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest()


def ts(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def commit_activity(
    lake: Lake,
    athlete: str,
    tag: str,
    start: dt.datetime,
    *,
    sport: str = "running",
    distance_m: float | None = 10_000.0,
    duration_s: float | None = 3000.0,
    avg_hr_bpm: float | None = 150.0,
    samples: list[tuple[float, float | None]] | None = None,
) -> str:
    """Commit one file holding one session, one lap and records (speed_mps, stance_time_ms)."""
    h = sha(tag)
    aid = f"{h[:16]}-0"
    samples = samples if samples is not None else [(3.0, 250.0), (3.1, 248.0)]
    act = pa.table(
        {
            "activity_id": [aid],
            "file_sha256": [h],
            "session_index": pa.array([0], pa.int16()),
            "source_path": [f"{tag}.fit"],
            "source_format": ["fit"],
            "sport": [sport],
            "start_time": pa.array([start], UTC_MS),
            "distance_m": [distance_m],
            "duration_s": [duration_s],
            "avg_hr_bpm": [avg_hr_bpm],
            "developer_fields": pa.array([["Power"]], pa.list_(pa.string())),
        }
    )
    lap = pa.table(
        {
            "activity_id": [aid],
            "lap_index": pa.array([0], pa.int16()),
            "start_time": pa.array([start], UTC_MS),
            "distance_m": [distance_m],
        }
    )
    rec = pa.table(
        {
            "activity_id": [aid] * len(samples),
            "timestamp": pa.array(
                [start + dt.timedelta(seconds=i) for i in range(len(samples))], UTC_MS
            ),
            "speed_mps": [s for s, _ in samples],
            "stance_time_ms": [g for _, g in samples],
        }
    )
    man = pa.table(
        {
            "file_sha256": [h],
            "source_path": [f"{tag}.fit"],
            "status": ["ingested"],
            "n_activities": [1],
            "year": [start.year],
        }
    )
    err = pa.table(
        {"file_sha256": [h], "severity": ["warning"], "stage": ["decode"], "message": ["m"]}
    )
    lake.commit_batch(
        athlete,
        [
            FileCommit(
                sha256=h,
                year=start.year,
                tables={"activities": act, "laps": lap, "records": rec},
                manifest=man,
                errors=err,
            )
        ],
    )
    return h


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """anna: two runs (weeks of 2024-05-06 and 2024-05-13) and a ride; ben: one run in 2023."""
    lk = Lake(tmp_path / "lake")
    commit_activity(lk, "anna", "a1", ts(2024, 5, 6, 2, 0, 0), avg_hr_bpm=150.0)
    commit_activity(
        lk,
        "anna",
        "a2",
        ts(2024, 5, 12, 23, 0, 0),
        distance_m=5000.0,
        duration_s=1000.0,
        avg_hr_bpm=170.0,
    )
    commit_activity(lk, "anna", "a3", ts(2024, 5, 8, 12, 0, 0), sport="cycling")
    commit_activity(lk, "ben", "b1", ts(2023, 12, 31, 9, 0, 0), distance_m=21_097.5)
    return lk


def scalar(con: duckdb.DuckDBPyConnection, q: str) -> object:
    row = con.execute(q).fetchone()
    assert row is not None
    return row[0]


def describe(root: Path, view: str) -> list[tuple[str, str]]:
    with connect(root) as con:
        return [(r[0], r[1]) for r in con.execute(f"describe {view}").fetchall()]


# --------------------------------------------------------------------------- views

PART = [("athlete", "VARCHAR"), ("year", "INTEGER")]
TS = "TIMESTAMP WITH TIME ZONE"


def expected_activities() -> list[tuple[str, str]]:
    duck = {
        "string": "VARCHAR",
        "double": "DOUBLE",
        "int16": "SMALLINT",
        "int32": "INTEGER",
        "bool": "BOOLEAN",
        "timestamp[ms, tz=UTC]": TS,
        "list<item: string>": "VARCHAR[]",
    }
    copies = [("duplicate_of", "VARCHAR"), ("duplicate_reason", "VARCHAR")]
    return [(f.name, duck[str(f.type)]) for f in ACTIVITIES] + copies + PART


EMPTY_LAKE_VIEWS = {
    "activities": expected_activities(),
    "runs": expected_activities(),
    "records": [
        ("activity_id", "VARCHAR"),
        ("timestamp", TS),
        *[(n, "DOUBLE") for n in RECORDS.names[2:]],
        *PART,
    ],
    "laps": [
        ("activity_id", "VARCHAR"),
        ("lap_index", "SMALLINT"),
        ("start_time", TS),
        *[(n, "DOUBLE") for n in LAPS.names[3:]],
        *PART,
        ("start_date", "DATE"),
        ("sport", "VARCHAR"),
        ("sub_sport", "VARCHAR"),
        ("activity_start_time", TS),
        ("moving_s", "DOUBLE"),
        ("form_step_length_mm", "DOUBLE"),
        ("step_length_source", "VARCHAR"),
        ("overstriding_index", "DOUBLE"),
    ],
    "flags": [
        ("activity_id", "VARCHAR"),
        ("date", "DATE"),
        ("week_start", "DATE"),
        ("code", "VARCHAR"),
        ("severity", "VARCHAR"),
        ("value", "DOUBLE"),
        ("threshold", "DOUBLE"),
        ("unit", "VARCHAR"),
        ("message", "VARCHAR"),
        *PART,
    ],
    "ingest_errors": [
        ("source_path", "VARCHAR"),
        ("file_sha256", "VARCHAR"),
        ("severity", "VARCHAR"),
        ("stage", "VARCHAR"),
        ("message", "VARCHAR"),
        ("byte_offset", "BIGINT"),
        ("at", TS),
        ("athlete", "VARCHAR"),
    ],
    "weekly_load": [
        ("athlete", "VARCHAR"),
        ("week_start", "DATE"),
        ("runs", "BIGINT"),
        ("distance_m", "DOUBLE"),
        ("duration_s", "DOUBLE"),
        ("long_run_m", "DOUBLE"),
        ("avg_hr_bpm", "DOUBLE"),
    ],
}


@pytest.mark.parametrize("view", sorted(EMPTY_LAKE_VIEWS))
def test_views_answer_on_an_empty_lake(tmp_path: Path, view: str) -> None:
    root = Lake(tmp_path / "lake").root
    assert describe(root, view) == EMPTY_LAKE_VIEWS[view]
    assert run_query(root, f"select count(*) as n from {view}").column("n").to_pylist() == [0]


def test_ingest_errors_columns_follow_the_schema() -> None:
    assert [n for n, _ in EMPTY_LAKE_VIEWS["ingest_errors"]] == [*INGEST_ERRORS.names, "athlete"]


VIEWS = [
    "raw_activities", "raw_laps", "raw_records", "raw_ingest_errors", "raw_files",
    "stg_activities", "stg_laps", "stg_records", "stg_ingest_errors", "stg_files",
    "activities", "runs", "records", "laps", "ingest_errors", "files", "weekly_load",
]  # fmt: skip


def test_empty_and_populated_views_have_the_same_columns_and_types(
    tmp_path: Path, lake: Lake
) -> None:
    empty = Lake(tmp_path / "empty").root
    for view in VIEWS:
        assert describe(empty, view) == describe(lake.root, view), view


def test_views_hold_the_data(lake: Lake) -> None:
    with connect(lake.root) as con:
        assert con.execute(
            "select athlete, year, sport, distance_m, developer_fields from activities "
            "order by athlete, start_time"
        ).fetchall() == [
            ("anna", 2024, "running", 10_000.0, ["Power"]),
            ("anna", 2024, "cycling", 10_000.0, ["Power"]),
            ("anna", 2024, "running", 5000.0, ["Power"]),
            ("ben", 2023, "running", 21_097.5, ["Power"]),
        ]
        assert scalar(con, "select count(*) from runs") == 3
        assert scalar(con, "select count(*) from runs where sport <> 'running'") == 0
        assert scalar(con, "select count(*) from records") == 8
        assert con.execute(
            "select athlete, start_date, sport from laps where athlete = 'ben'"
        ).fetchall() == [("ben", dt.date(2023, 12, 31), "running")]
        assert con.execute(
            "select athlete, count(*) from ingest_errors group by all order by 1"
        ).fetchall() == [("anna", 3), ("ben", 1)]
        assert scalar(con, "select count(*) from files") == 4


def test_weekly_load_weeks_start_monday_utc_whatever_the_session_time_zone(lake: Lake) -> None:
    with connect(lake.root) as con:
        # 2024-05-06 02:00 UTC is Sunday evening in Los Angeles: still the week of Monday 6 May.
        con.execute("set TimeZone = 'America/Los_Angeles'")
        rows = con.execute("select * from weekly_load order by athlete, week_start").fetchall()
    assert rows == [
        ("anna", dt.date(2024, 5, 6), 2, 15_000.0, 4000.0, 10_000.0, 155.0),
        ("ben", dt.date(2023, 12, 25), 1, 21_097.5, 3000.0, 21_097.5, 150.0),
    ]


def test_weekly_load_heart_rate_ignores_runs_without_it(tmp_path: Path) -> None:
    lk = Lake(tmp_path / "lake")
    commit_activity(lk, "anna", "h1", ts(2024, 1, 1, 8, 0, 0), avg_hr_bpm=140.0, duration_s=600.0)
    commit_activity(lk, "anna", "h2", ts(2024, 1, 2, 8, 0, 0), avg_hr_bpm=None, duration_s=900.0)
    commit_activity(lk, "anna", "h3", ts(2024, 1, 3, 8, 0, 0), avg_hr_bpm=None, distance_m=None)
    t = run_query(lk.root, "select runs, distance_m, duration_s, avg_hr_bpm from weekly_load")
    assert t.to_pylist() == [
        {"runs": 3, "distance_m": 20_000.0, "duration_s": 4500.0, "avg_hr_bpm": 140.0}
    ]


def test_runs_and_the_loads_count_the_primaries_and_activities_shows_every_copy(
    lake: Lake,
) -> None:
    """The views follow the duplicates table (the rule that fills it: tests/metrics and
    tests/ingest test_duplicates.py): a second copy of anna's first run, marked a duplicate."""
    first = f"{sha('a1')[:16]}-0"
    copy = commit_activity(lake, "anna", "a1-copy", ts(2024, 5, 6, 2, 0, 5), distance_m=9000.0)
    copy_id = f"{copy[:16]}-0"
    q = "select count(*) as n, sum(distance_m) as m from runs where athlete = 'anna'"
    assert run_query(lake.root, q).to_pylist() == [{"n": 3, "m": 24_000.0}]  # counted twice
    lake.write_year(
        "duplicates",
        "anna",
        2024,
        pa.table(
            {"activity_id": [copy_id], "duplicate_of": [first], "duplicate_reason": ["a copy"]}
        ),
    )
    assert run_query(lake.root, q).to_pylist() == [{"n": 2, "m": 15_000.0}]
    weeks = run_query(lake.root, "select week_start, runs, distance_m from weekly_load "
                      "where athlete = 'anna' order by week_start").to_pylist()  # fmt: skip
    assert weeks == [
        {"week_start": dt.date(2024, 5, 6), "runs": 2, "distance_m": 15_000.0},
    ]
    marked = run_query(
        lake.root,
        "select activity_id, duplicate_of, duplicate_reason from activities "
        "where athlete = 'anna' and sport = 'running' order by start_time, activity_id",
    ).to_pylist()
    assert marked == [
        {"activity_id": first, "duplicate_of": None, "duplicate_reason": None},
        {"activity_id": copy_id, "duplicate_of": first, "duplicate_reason": "a copy"},
        {"activity_id": f"{sha('a2')[:16]}-0", "duplicate_of": None, "duplicate_reason": None},
    ]
    assert run_query(lake.root, "select count(*) as n from files").to_pylist() == [{"n": 5}]
    # one athlete's duplicates say nothing of another's (the same file gives both one id)
    lake.write_year(
        "duplicates",
        "ben",
        2024,
        pa.table({"activity_id": [first], "duplicate_of": [copy_id], "duplicate_reason": ["x"]}),
    )
    assert run_query(lake.root, q).to_pylist() == [{"n": 2, "m": 15_000.0}]


def test_commit_twice_gives_no_duplicate_rows(lake: Lake) -> None:
    q = "select (select count(*) from activities), (select count(*) from records), " \
        "(select count(*) from laps), (select count(*) from files), " \
        "(select count(*) from ingest_errors)"  # fmt: skip
    with connect(lake.root) as con:
        before = con.execute(q).fetchall()
    assert before == [(4, 8, 4, 4, 4)]
    with pytest.raises(ValueError, match="already committed"):
        commit_activity(lake, "anna", "a1", ts(2024, 5, 6, 2, 0, 0), avg_hr_bpm=150.0)
    with connect(lake.root) as con:
        assert con.execute(q).fetchall() == before


def test_second_athlete_stays_separate_and_partitions_are_pruned(lake: Lake) -> None:
    with connect(lake.root) as con:
        assert con.execute(
            "select athlete, count(*) from records group by athlete order by athlete"
        ).fetchall() == [("anna", 6), ("ben", 2)]
        assert con.execute("select distinct athlete from runs order by 1").fetchall() == [
            ("anna",),
            ("ben",),
        ]
        plan = con.execute(
            "explain analyze select count(*) from records where athlete = 'ben'"
        ).fetchall()[0][1]
    m = re.search(r"Scanning Files: (\d+)/(\d+)", plan)
    assert m is not None, plan
    assert (int(m.group(1)), int(m.group(2))) == (1, 4)


# --------------------------------------------------------------------------- catalog


def test_catalog_is_rebuilt_when_a_table_gets_its_first_file(tmp_path: Path) -> None:
    lk = Lake(tmp_path / "lake")
    assert run_query(lk.root, "select count(*) as n from runs").column("n").to_pylist() == [0]
    old = connect(lk.root)  # stays open across the rebuild
    commit_activity(lk, "anna", "a1", ts(2024, 5, 6, 2, 0, 0))
    assert run_query(lk.root, "select count(*) as n from runs").column("n").to_pylist() == [1]
    assert scalar(old, "select count(*) from runs") == 0  # the old catalog, unchanged
    old.close()


def test_catalog_is_rebuilt_when_a_table_loses_its_last_file(lake: Lake) -> None:
    assert run_query(lake.root, "select count(*) as n from laps").column("n").to_pylist() == [4]
    shutil.rmtree(lake.root / "laps")
    assert run_query(lake.root, "select count(*) as n from laps").column("n").to_pylist() == [0]


def test_catalog_meta_records_the_build(lake: Lake) -> None:
    path = build_catalog(lake.root)
    assert path == lake.root / CATALOG_NAME
    assert [p.name for p in lake.root.iterdir() if p.name.startswith(".")] == []
    with connect(lake.root) as con:
        row = con.execute("select lake_root, tables_with_files from _catalog_meta").fetchone()
    assert row is not None
    root, tables = row
    assert root == str(lake.root)
    assert tables == ["activities", "laps", "records", "ingest_errors", "files"]


def test_catalog_is_rebuilt_when_the_contract_changes(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = build_catalog(lake.root)
    before = catalog.stat().st_mtime_ns
    run_query(lake.root, "select 1")
    assert catalog.stat().st_mtime_ns == before  # fresh: kept
    changed = _catalog._contract_source() + b"\n# a column added\n"
    monkeypatch.setattr(_catalog, "_contract_source", lambda: changed)
    run_query(lake.root, "select 1")
    assert catalog.stat().st_mtime_ns != before


def _spy_footer_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files (or globs) whose footers each catalog build reads from now on."""
    read: list[str] = []
    real = _catalog._columns_by_file

    def spy(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, tuple[str, ...]]:
        read.extend(re.findall(r"'([^']*)'", source))
        return real(con, source)

    monkeypatch.setattr(_catalog, "_columns_by_file", spy)
    return read


def test_a_rebuild_reads_the_footers_of_the_new_parts_only(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_catalog(lake.root)
    read = _spy_footer_reads(monkeypatch)
    commit_activity(lake, "ben", "b2", ts(2024, 1, 7, 9, 0, 0), distance_m=5000.0)
    build_catalog(lake.root)
    parts = [f for f in read if "/part-" in f]  # the batched tables' explicit lists
    assert parts, "the new batch's parts are read"
    # the new batch's part of each table and its manifest, none of the four earlier batches
    assert len({p.rsplit("/part-", 1)[1] for p in parts}) == 1
    assert len(parts) == 5  # activities, laps, records, ingest_errors, files
    assert all("athlete=ben" in p for p in parts)
    t = run_query(lake.root, "select count(*) as n from activities where athlete = 'ben'")
    assert t.column("n").to_pylist() == [2]
    with duckdb.connect(str(lake.root / CATALOG_NAME), read_only=True) as con:
        recorded = scalar(con, "select count(*) from _catalog_parts")
    assert recorded == 5 * 5  # five batches, five files each


def test_a_rebuild_reads_the_derived_files_written_since_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = season_lake(tmp_path, {"me": (2, 0)})
    read = _spy_footer_reads(monkeypatch)
    write_season(tmp_path / "you", start=SEASON_START, weeks=2, seed=3)
    ingest_paths([tmp_path / "you"], lake_root=root, athlete="you")
    derived = [f for f in read if "/run_metrics/" in f or "/week_rules/" in f]
    assert derived, "the new athlete's derived files are read"
    assert all("athlete=you" in f for f in derived), derived
    assert not any("*" in f for f in read)  # no glob: the files are named
    t = run_query(root, "select athlete, count(*) as n from run_metrics group by 1 order by 1")
    assert t.column("athlete").to_pylist() == ["me", "you"]


def _spy_reuse(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each build reused the previous catalog's models."""
    reused: list[bool] = []
    real = _catalog._reusable_copy

    def spy(*args: Any) -> duckdb.DuckDBPyConnection | None:
        con = real(*args)
        reused.append(con is not None)
        return con

    monkeypatch.setattr(_catalog, "_reusable_copy", spy)
    return reused


def test_a_rebuild_keeps_the_models_and_replaces_the_raw_views(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_catalog(lake.root)
    reused = _spy_reuse(monkeypatch)
    commit_activity(lake, "ben", "b2", ts(2024, 1, 7, 9, 0, 0), distance_m=5000.0)
    t = run_query(lake.root, "select athlete, count(*) as n from runs group by 1 order by 1")
    assert reused == [True]
    assert t.to_pylist() == [{"athlete": "anna", "n": 2}, {"athlete": "ben", "n": 2}]
    # the same views as a build from nothing (the raw views' text the same: the models'
    # as DuckDB renders them, which orders an EXCLUDE list as it likes)
    q = "select view_name, sql from duckdb_views() where not internal"
    with connect(lake.root) as con:
        kept = dict(con.execute(q).fetchall())
    (lake.root / CATALOG_NAME).unlink()
    with connect(lake.root) as con:
        fresh = dict(con.execute(q).fetchall())
    assert set(kept) == set(fresh)
    assert {v: kept[v] for v in kept if v.startswith("raw_")} == {
        v: fresh[v] for v in fresh if v.startswith("raw_")
    }
    assert reused == [True, False]


def test_what_a_session_added_to_the_catalog_is_gone_after_a_rebuild(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_catalog(lake.root)
    with connect(lake.root, read_only=False) as con:
        con.execute("create view mine as select 1 as x")
    reused = _spy_reuse(monkeypatch)
    commit_activity(lake, "ben", "b2", ts(2024, 1, 7, 9, 0, 0), distance_m=5000.0)
    with connect(lake.root) as con:
        views = {r[0] for r in con.execute("select view_name from duckdb_views()").fetchall()}
    assert reused == [False]
    assert "mine" not in views
    assert "runs" in views


def test_catalog_is_rebuilt_when_the_lake_is_moved(tmp_path: Path, lake: Lake) -> None:
    build_catalog(lake.root)
    moved = tmp_path / "moved" / "lake2"
    moved.parent.mkdir()
    shutil.move(lake.root, moved)
    catalog = moved / CATALOG_NAME
    before = catalog.stat().st_mtime_ns
    t = run_query(moved, "select athlete, count(*) as n from runs group by 1 order by 1")
    assert t.to_pylist() == [{"athlete": "anna", "n": 2}, {"athlete": "ben", "n": 1}]
    assert catalog.stat().st_mtime_ns != before  # absolute paths: rebuilt for its new place
    # the catalog opened by hand, from anywhere, with nothing to set
    with duckdb.connect(str(catalog), read_only=True) as con:
        assert scalar(con, "select count(*) from records") == 8


def test_catalog_works_from_another_working_directory(
    tmp_path: Path, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(lake.root.parent)
    rel = Path(lake.root.name)
    assert run_query(rel, "select count(*) as n from records").column("n").to_pylist() == [8]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_query(lake.root, "select count(*) as n from laps").column("n").to_pylist() == [4]
    with connect(lake.root) as con:
        assert scalar(con, "select count(*) from read_parquet('files/*/*.parquet')") == 4


def test_read_only_connection_rejects_writes(lake: Lake) -> None:
    with connect(lake.root) as con:
        for stmt in ["create table x(i int)", "drop view runs", "create view y as select 1"]:
            with pytest.raises(duckdb.Error, match="read-only"):
                con.execute(stmt)
        assert scalar(con, "select count(*) from runs") == 3
    with pytest.raises(QueryError, match="read-only"):
        run_query(lake.root, "drop view runs")


def test_query_errors_carry_duckdbs_message(lake: Lake) -> None:
    with pytest.raises(QueryError, match="nope"):
        run_query(lake.root, "select * from nope")
    with pytest.raises(QueryError, match="Parser Error"):
        run_query(lake.root, "selec 1")


def test_run_query_params(lake: Lake) -> None:
    t = run_query(
        lake.root,
        "select count(*) as n from runs where athlete = ? and year = ?",
        params=["anna", 2024],
    )
    assert t.column("n").to_pylist() == [2]


def test_missing_lake_is_a_lake_error(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match="does not exist"):
        connect(tmp_path / "nowhere")
    (tmp_path / "f").write_text("x")
    with pytest.raises(LakeError, match="not a folder"):
        run_query(tmp_path / "f", "select 1")
    assert not (tmp_path / "nowhere").exists()


def test_sql_models_are_found_and_documented() -> None:
    root = sql_dir()
    assert Path(str(root)) == REPO / "sql"
    files = sorted((REPO / "sql").rglob("*.sql"))
    assert len(files) >= 15
    for f in files:
        assert f.read_text().startswith("-- "), f  # a header comment
    for f in [*(REPO / "sql" / "staging").glob("*.sql"), *(REPO / "sql" / "marts").glob("*.sql")]:
        assert f"create or replace view {f.stem} as" in f.read_text(), f
    readme = (REPO / "sql" / "README.md").read_text()
    for view in VIEWS[5:]:
        assert f"`{view}`" in readme, view


@pytest.mark.parametrize("name", sorted(p.stem for p in (REPO / "sql" / "analyses").glob("*.sql")))
def test_analyses_run(lake: Lake, name: str) -> None:
    analysis = load_analysis(name)

    def run(athlete: str) -> pa.Table:
        return run_query(lake.root, analysis.sql, params=analysis.bind({"athlete": athlete}))

    t = pa.concat_tables([run("anna"), run("ben")])
    if name == "ground_contact_by_pace_band":
        # 3.1 m/s = 323 s/km (5:00 band), 3.0 m/s = 333 s/km (5:30 band); the ride is left out
        assert t.select(["athlete", "pace_band", "samples", "avg_stance_time_ms"]).to_pylist() == [
            {"athlete": "anna", "pace_band": "5:00 /km", "samples": 2, "avg_stance_time_ms": 248.0},
            {"athlete": "anna", "pace_band": "5:30 /km", "samples": 2, "avg_stance_time_ms": 250.0},
            {"athlete": "ben", "pace_band": "5:00 /km", "samples": 1, "avg_stance_time_ms": 248.0},
            {"athlete": "ben", "pace_band": "5:30 /km", "samples": 1, "avg_stance_time_ms": 250.0},
        ]
    elif name == "longest_runs":
        assert t.select(["athlete", "rank", "distance_km", "duration", "pace"]).to_pylist() == [
            {"athlete": "anna", "rank": 1, "distance_km": 10.0, "duration": "00:50:00",
             "pace": "5:00 /km"},
            {"athlete": "anna", "rank": 2, "distance_km": 5.0, "duration": "00:16:40",
             "pace": "3:20 /km"},
            {"athlete": "ben", "rank": 1, "distance_km": 21.1, "duration": "00:50:00",
             "pace": "2:22 /km"},
        ]  # fmt: skip
    elif name == "weekly_distance":
        assert t.num_rows == 24  # 12 weeks x 2 athletes, weeks without runs included
        weeks = t.column("week_start").to_pylist()
        assert all(w.weekday() == 0 for w in weeks)
    else:
        assert t.num_columns > 0


# --------------------------------------------------------------------------- formatting


def small_table() -> pa.Table:
    return pa.table(
        {
            "athlete": ["anna", "ben", None],
            "distance_m": [10_000.5, 3.14159, None],
            "runs": pa.array([2, 10, None], pa.int64()),
            "start_time": pa.array(
                [ts(2024, 5, 6, 7, 8, 9), dt.datetime(2024, 5, 6, 7, 8, 9, 250_000, dt.UTC), None],
                UTC_MS,
            ),
            "ok": [True, False, None],
        }
    )


def test_format_table_text() -> None:
    assert format_table(small_table(), "table") == (
        "athlete  distance_m  runs  start_time                ok\n"
        "-------  ----------  ----  ------------------------  -----\n"
        "anna        10000.5     2  2024-05-06T07:08:09Z      true\n"
        "ben             3.1    10  2024-05-06T07:08:09.250Z  false\n"
        "NULL           NULL  NULL  NULL                      NULL\n"
        "(3 rows)"
    )


def test_format_table_csv() -> None:
    assert format_table(small_table(), "csv") == (
        "athlete,distance_m,runs,start_time,ok\n"
        "anna,10000.5,2,2024-05-06T07:08:09Z,true\n"
        "ben,3.14159,10,2024-05-06T07:08:09.250Z,false\n"
        ",,,,"
    )


def test_format_table_json() -> None:
    assert format_table(small_table(), "json") == (
        "[\n"
        '  {"athlete": "anna", "distance_m": 10000.5, "runs": 2, '
        '"start_time": "2024-05-06T07:08:09Z", "ok": true},\n'
        '  {"athlete": "ben", "distance_m": 3.14159, "runs": 10, '
        '"start_time": "2024-05-06T07:08:09.250Z", "ok": false},\n'
        '  {"athlete": null, "distance_m": null, "runs": null, "start_time": null, "ok": null}\n'
        "]"
    )


def test_format_table_of_a_query_result(lake: Lake) -> None:
    t = run_query(
        lake.root,
        "select athlete, week_start, runs, distance_m, avg_hr_bpm, "
        "timestamptz '2024-05-06 09:00:00+02' as t, 1.5::decimal(4,1) as d, "
        "'nan'::double as x from weekly_load order by athlete",
    )
    assert format_table(t, "json") == (
        "[\n"
        '  {"athlete": "anna", "week_start": "2024-05-06", "runs": 2, "distance_m": 15000.0, '
        '"avg_hr_bpm": 155.0, "t": "2024-05-06T07:00:00Z", "d": 1.5, "x": null},\n'
        '  {"athlete": "ben", "week_start": "2023-12-25", "runs": 1, "distance_m": 21097.5, '
        '"avg_hr_bpm": 150.0, "t": "2024-05-06T07:00:00Z", "d": 1.5, "x": null}\n'
        "]"
    )
    assert format_table(t, "table").splitlines()[2] == (
        "anna     2024-05-06     2     15000.0         155  2024-05-06T07:00:00Z  1.5  NaN"
    )


_EVERY_KIND = (
    "select athlete, week_start, runs, distance_m, avg_hr_bpm, "
    "timestamptz '2024-05-06 09:00:00.25+02' as t, "
    "timestamp_ns '2020-01-01 00:00:00.123456789' as tn, time '10:00:01' as tod, "
    "1.5::decimal(4,1) as d, 3::tinyint as small, 2::ubigint as big, 1.25::float as f, "
    "'nan'::double as x, 'inf'::double as pinf, [1.5, null] as l, {'k': 1} as s, "
    "'\\x01'::blob as b, 'a\tb' as txt, true as ok, null::int as n "
    "from weekly_load order by athlete"
)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_rows_and_arrow_results_print_the_same(lake: Lake, fmt: str) -> None:
    # `runlake sql` prints DuckDB's Python values (no pyarrow on its way); a Python user
    # formats a pyarrow Table: the same result gives the same text.
    [arrow] = run_statements(lake.root, _EVERY_KIND)
    [rows] = run_statements(lake.root, _EVERY_KIND, rows=True)
    assert isinstance(rows.table, ResultRows)
    assert isinstance(arrow.table, pa.Table)
    assert rows.table.types[:4] == ("VARCHAR", "DATE", "BIGINT", "DOUBLE")
    text = format_table(rows.table, fmt)
    assert text == format_table(arrow.table, fmt)
    assert "2024-05-06T07:00:00.250Z" in text
    assert "2020-01-01T00:00:00.123456" in text
    if fmt == "table":
        _header, _rule, first, *_ = text.splitlines()
        assert first.split()[:5] == ["anna", "2024-05-06", "2", "15000.0", "155"]
        assert "a\\tb" in first


def test_a_query_on_a_fresh_catalog_imports_no_pyarrow(lake: Lake) -> None:
    # `runlake sql`'s start-up: pyarrow with numpy is about 0.2 s of a 0.3 s budget.
    build_catalog(lake.root)
    script = (
        "import sys\n"
        "from runlake.cli import main\n"
        f"rc = main(['sql', '--lake', {str(lake.root)!r}, "
        "'select athlete, distance_m, week_start from weekly_load order by athlete'])\n"
        "print(rc, sorted(m for m in ('pyarrow', 'numpy', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.splitlines()[2].split()[:2] == ["anna", "15000.0"]
    assert out.splitlines()[-1] == "0 []"


def test_rows_of_an_empty_result_and_of_set(lake: Lake) -> None:
    results = run_statements(
        lake.root, "set threads = 1; select runs from weekly_load where false", rows=True
    )
    assert results[0].table is None
    empty = results[1].table
    assert empty == ResultRows(("runs",), ("BIGINT",), [])
    assert empty is not None
    assert format_table(empty, "table") == "runs\n----\n(0 rows)"
    assert format_table(empty, "json") == "[]"


def test_format_table_empty_and_unknown() -> None:
    empty = pa.table({"a": pa.array([], pa.int64())})
    assert format_table(empty, "json") == "[]"
    assert format_table(empty, "csv") == "a"
    assert format_table(empty, "table") == "a\n-\n(0 rows)"
    with pytest.raises(ValueError, match="unknown format"):
        format_table(empty, "xml")  # type: ignore[arg-type]


def test_no_catalog_temp_files_are_left(lake: Lake) -> None:
    build_catalog(lake.root)
    build_catalog(lake.root)
    leftovers = [n for n in os.listdir(lake.root) if n.startswith(".") or n.endswith(".wal")]
    assert leftovers == []
