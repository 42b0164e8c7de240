"""The catalog in other tools: plain DuckDB from any folder, read-only, while a writer runs;
pandas and polars through DuckDB; a moved or copied lake.

The catalog's views name the lake's files by absolute path, so a client needs no setting
(docs/lake.md, "Reading the lake from other tools"); runlake rebuilds the catalog when the
lake is opened from another place.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from fuzz._crash import ingest_command, subprocess_env

from runlake import ingest_paths, run_query
from runlake.query import CATALOG_NAME
from runlake.synth import write_season

START = dt.date(2026, 6, 1)
TOTALS = (
    "select count(*) as runs, round(sum(distance_m), 3) as distance_m, "
    "(select count(*) from records) as records, "
    "(select cast(sum(n_records) as bigint) from files) as committed_records from runs"
)


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("season")


@pytest.fixture(scope="module")
def lake(season: Path) -> Path:
    """The athlete ``me``: the first 2 weeks of a sample season."""
    write_season(season / "inbox", start=START, weeks=2, seed=0)
    root = season / "lake"
    ingest_paths([season / "inbox"], lake_root=root, athlete="me")
    return root


def totals(lake: Path) -> tuple[object, ...]:
    row = run_query(lake, TOTALS).to_pylist()[0]
    return tuple(row.values())


def test_plain_duckdb_opens_the_catalog_from_any_folder(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = totals(lake)
    assert expected[0] == len(list((lake.parent / "inbox").glob("*.fit")))
    assert expected[2] == expected[3]
    monkeypatch.chdir(tmp_path)  # nothing of the lake here
    with duckdb.connect(str(lake / CATALOG_NAME), read_only=True) as con:
        assert con.execute(TOTALS).fetchone() == expected
        weeks = con.execute("select count(*) from weekly_training where athlete = 'me'").fetchone()
        assert weeks == (2,)
    # and attached into another database, under any name
    with duckdb.connect() as con:
        con.execute(f"attach '{lake / CATALOG_NAME}' as runlake (read_only)")
        assert con.execute("select count(*) from runlake.runs").fetchone() == (expected[0],)


def test_pandas_and_polars_read_the_views_through_duckdb(
    lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    runs = run_query(lake, "select activity_id, distance_m, start_time from runs order by 1")
    monkeypatch.chdir(tmp_path)
    with duckdb.connect(str(lake / CATALOG_NAME), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        query = "select activity_id, distance_m, start_time from runs order by 1"
        frame = con.sql(query).df()
        assert isinstance(frame, pd.DataFrame)
        assert frame["activity_id"].tolist() == runs.column("activity_id").to_pylist()
        assert frame["distance_m"].tolist() == runs.column("distance_m").to_pylist()
        assert str(frame["start_time"].dt.tz) == "UTC"
        first = runs.column("start_time")[0].as_py()
        assert frame["start_time"].iloc[0].to_pydatetime() == first
        polars_frame = con.sql(query).pl()
        assert isinstance(polars_frame, pl.DataFrame)
        assert polars_frame["distance_m"].to_list() == runs.column("distance_m").to_pylist()
        assert polars_frame["start_time"].dtype.time_zone == "UTC"


def test_an_open_reader_keeps_working_while_a_writer_replaces_the_catalog(
    lake: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "lake"
    shutil.copytree(lake, mine)
    before = totals(mine)
    reader = duckdb.connect(str(mine / CATALOG_NAME), read_only=True)
    try:
        assert reader.execute(TOTALS).fetchone() == before
        more = write_season(tmp_path / "more", start=START + dt.timedelta(weeks=2), weeks=2)
        ingest_paths([tmp_path / "more"], lake_root=mine, athlete="me")
        after = totals(mine)
        assert after[0] == before[0] + len(more)  # type: ignore[operator]
        # the open reader still has the catalog it opened: the same, whole answer
        assert reader.execute(TOTALS).fetchone() == before
    finally:
        reader.close()
    with duckdb.connect(str(mine / CATALOG_NAME), read_only=True) as con:
        assert con.execute(TOTALS).fetchone() == after


_PLAIN_READER = """
import json, sys, duckdb
from pathlib import Path
catalog, stop, query = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
while not stop.exists():
    try:
        with duckdb.connect(catalog, read_only=True) as con:
            print(json.dumps(list(con.execute(query).fetchone())), flush=True)
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
"""


def test_plain_duckdb_readers_answer_while_a_writer_commits(lake: Path, tmp_path: Path) -> None:
    """A process opening the catalog afresh in a loop (another working directory) while
    an ingest commits every 2 files and replaces the catalog: no error, whole batches."""
    mine = tmp_path / "lake"
    shutil.copytree(lake, mine)
    write_season(tmp_path / "more", start=START + dt.timedelta(weeks=2), weeks=2, seed=4)
    stop = tmp_path / "stop"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    reader = subprocess.Popen(
        [sys.executable, "-c", _PLAIN_READER, str(mine / CATALOG_NAME), str(stop), TOTALS],
        cwd=elsewhere,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        writer = subprocess.run(
            ingest_command(tmp_path / "more", mine, "me", 2),
            env=subprocess_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=120)
    assert writer.returncode == 0, writer.stderr
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    errors = [a for a in answers if isinstance(a, dict)]
    assert errors == []
    assert len(answers) >= 3
    runs = [a[0] for a in answers]
    assert runs == sorted(runs), "a reader saw the lake go backwards"
    assert all(a[2] == a[3] for a in answers), "a reader saw part of a batch"
    assert runs[-1] == totals(mine)[0]


def test_a_moved_lake_gets_its_catalog_rebuilt(lake: Path, tmp_path: Path) -> None:
    old = tmp_path / "old" / "lake"
    shutil.copytree(lake, old)
    expected = totals(old)
    new = tmp_path / "new" / "lake"
    new.parent.mkdir()
    shutil.move(old, new)
    # a plain client opening the old catalog fails, naming where the files were
    with (
        duckdb.connect(str(new / CATALOG_NAME), read_only=True) as con,
        pytest.raises(duckdb.IOException, match=str(old)),
    ):
        con.sql("select count(*) from runs").fetchall()
    # runlake notices the move and rebuilds the catalog for the new place
    assert totals(new) == expected
    meta = run_query(new, "select lake_root from _catalog_meta").to_pylist()
    assert meta == [{"lake_root": str(new)}]
    with duckdb.connect(str(new / CATALOG_NAME), read_only=True) as con:
        assert con.execute(TOTALS).fetchone() == expected


def test_a_copied_lake_reads_its_own_files_once_runlake_has_opened_it(
    lake: Path, tmp_path: Path
) -> None:
    original = tmp_path / "original"
    shutil.copytree(lake, original)
    n = totals(original)[0]  # its catalog names its own files
    assert isinstance(n, int)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    more = write_season(tmp_path / "more", start=START + dt.timedelta(weeks=2), weeks=2)
    ingest_paths([tmp_path / "more"], lake_root=copy, athlete="me")
    with duckdb.connect(str(copy / CATALOG_NAME), read_only=True) as con:
        assert con.execute("select count(*) from runs").fetchone() == (n + len(more),)
        (view,) = con.execute(
            "select sql from duckdb_views() where view_name = 'raw_activities'"
        ).fetchone() or ("",)
    assert f"'{copy}/activities/athlete=me/" in view
    assert f"{original}/" not in view
    with duckdb.connect(str(original / CATALOG_NAME), read_only=True) as con:
        assert con.execute("select count(*) from runs").fetchone() == (n,)
