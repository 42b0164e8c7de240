"""Readers of the Parquet folders themselves (pyarrow datasets, polars, pandas, a DuckDB
glob) never see a part of a batch that is not committed.

A batch's parts are staged under dot-names ending in ``.staged.tmp``, its manifest is
written (the commit), then the parts are renamed into place. A writer is killed with
SIGKILL (a real kill, in its own process) just before its manifest, and just after the
first of its renames; after each kill every direct reader sees only rows of committed
files, and the next writer ends with the lake of an uninterrupted run.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from fuzz._crash import check_lake, lake_digest, subprocess_env

from runlake import ingest_paths, run_query
from runlake.lake import DATA_TABLES, STAGED_SUFFIX, Lake
from runlake.synth import write_season

pd = pytest.importorskip("pandas")  # the dev extras have both
pl = pytest.importorskip("polars")

ATHLETE = "anna"

_KILLED_WRITER = """
import os, signal, sys
import runlake.ingest._ingest as ingest
import runlake.lake._fs as fs
ingest.BATCH_MAX_FILES = 2
where = sys.argv.pop(1)
real_write, real_publish = fs.write_parquet_atomic, fs.LocalFS.publish
commits = []

def write(table, path, *, sync=True):
    if path.parent.parent.name == "files":
        commits.append(path)
        if where == "manifest" and len(commits) == 2:
            os.kill(os.getpid(), signal.SIGKILL)  # the 2nd batch: staged, not committed
    real_write(table, path, sync=sync)

def publish(self, rels):
    if where == "publish" and len(commits) == 2:
        first = rels[0]
        os.replace(self.local_root / fs.staged_rel(first), self.local_root / first)
        os.kill(os.getpid(), signal.SIGKILL)  # committed, one part renamed, the rest staged
    real_publish(self, rels)

fs.write_parquet_atomic = write
fs.LocalFS.publish = publish
from runlake.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    write_season(folder, start=date(2026, 3, 2), weeks=2, seed=7)
    return folder


@pytest.fixture(scope="module")
def clean(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    lake = tmp_path_factory.mktemp("clean") / "lake"
    ingest_paths([inbox], lake_root=lake, athlete=ATHLETE)
    return lake_digest(lake)


def kill_writer(inbox: Path, lake: Path, where: str) -> None:
    args = ["ingest", str(inbox), "--lake", str(lake), "--athlete", ATHLETE]
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, where, *args],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr  # SIGKILL


def committed_prefixes(lake: Path) -> set[str]:
    """The sha256 prefixes (activity ids begin with them) of every file a manifest lists,
    read from the manifests directly."""
    manifests = sorted((lake / "files").rglob("part-*.parquet"))
    shas = pq.read_table(manifests, columns=["file_sha256"]) if manifests else None
    return {s[:16] for s in shas.column("file_sha256").to_pylist()} if shas else set()


def direct_reads(lake: Path) -> dict[str, dict[str, set[str]]]:
    """The activity ids that each direct reader sees in each data table."""
    seen: dict[str, dict[str, set[str]]] = {}
    for table in DATA_TABLES:
        folder = lake / table
        glob = f"{folder}/**/*.parquet"
        seen[table] = {
            "pyarrow": set(
                ds.dataset(folder, format="parquet", partitioning="hive")
                .to_table(columns=["activity_id"])
                .column("activity_id")
                .to_pylist()
            ),
            "pandas": set(pd.read_parquet(folder, columns=["activity_id"])["activity_id"]),
            "polars": set(
                pl.scan_parquet(glob, hive_partitioning=True)
                .select("activity_id")
                .collect()["activity_id"]
                .to_list()
            ),
            "duckdb": {
                r[0]
                for r in duckdb.sql(
                    "select distinct activity_id from read_parquet(?, hive_partitioning = true)",
                    params=[glob],
                ).fetchall()
            },
        }
    return seen


def only_committed(lake: Path) -> set[str]:
    """Check every direct reader; the activity ids they see (they all agree)."""
    committed = committed_prefixes(lake)
    ids: set[str] = set()
    for table, readers in direct_reads(lake).items():
        for reader, got in readers.items():
            stray = {a for a in got if a[:16] not in committed}
            assert not stray, f"{reader} sees uncommitted rows of {table}: {sorted(stray)[:3]}"
        assert len({frozenset(v) for v in readers.values()}) == 1, (table, readers)
        ids |= readers["pyarrow"]
    return ids


def view_ids(lake: Path) -> set[str]:
    return set(run_query(lake, "select activity_id from activities").column(0).to_pylist())


def staged(lake: Path) -> list[Path]:
    return sorted(lake.rglob(f"*{STAGED_SUFFIX}"))


def test_a_writer_killed_before_its_manifest_leaves_nothing_a_direct_reader_sees(
    inbox: Path, clean: dict[str, object], tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    kill_writer(inbox, lake, "manifest")
    assert staged(lake), "the killed batch's parts are staged"
    assert {p.parts[-4] for p in staged(lake)} >= {"activities", "laps", "records"}
    seen = only_committed(lake)
    assert seen == view_ids(lake)  # what runlake's views show, no more
    assert len(seen) == 2  # the first batch of 2 files
    assert check_lake(lake) == []
    # the next writer removes the staged parts and redoes the files
    ingest_paths([inbox], lake_root=lake, athlete=ATHLETE)
    assert staged(lake) == []
    assert lake_digest(lake) == clean
    assert only_committed(lake) == view_ids(lake)


def test_a_writer_killed_while_publishing_shows_only_committed_parts(
    inbox: Path, clean: dict[str, object], tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    kill_writer(inbox, lake, "publish")
    left = staged(lake)
    assert left, "the committed batch's other parts are still staged"
    # direct readers see rows of committed files only (the renamed part's batch is committed)
    seen = only_committed(lake)
    # runlake's views and committed_files leave the unfinished batch out until it is whole
    before = view_ids(lake)
    assert len(before) == 2
    assert seen > before
    files = Lake(lake).committed_files("activities")
    assert all(Path(f).is_absolute() and f.startswith(str(lake)) for f in files)
    by_list = pl.scan_parquet(files, hive_partitioning=True).collect()
    assert set(by_list["activity_id"].to_list()) == before
    assert set(by_list["athlete"].to_list()) == {ATHLETE}
    assert check_lake(lake) == []
    # the next writer finishes the renames (the batch was committed), then goes on
    ingest_paths([inbox], lake_root=lake, athlete=ATHLETE)
    assert staged(lake) == []
    assert lake_digest(lake) == clean
    assert only_committed(lake) == view_ids(lake)


def test_committed_files_reads_with_pyarrow_and_duckdb(inbox: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest_paths(sorted(inbox.glob("*.fit"))[:3], lake_root=lake, athlete=ATHLETE)
    n = run_query(lake, "select count(*) as n from records").column("n")[0].as_py()
    files = Lake(lake).committed_files("records")
    dataset = ds.dataset(
        files, format="parquet", partitioning="hive", partition_base_dir=str(lake / "records")
    )
    t = dataset.to_table(columns=["activity_id", "athlete", "year"])
    assert t.num_rows == n
    assert set(t.column("year").to_pylist()) == {2026}
    got = duckdb.sql(
        "select count(*) from read_parquet(?, hive_partitioning = true)", params=[files]
    ).fetchall()
    assert got == [(n,)]
    assert len(Lake(lake).committed_files("run_metrics")) == 1
    with pytest.raises(Exception, match="unknown table 'nope'"):
        Lake(lake).committed_files("nope")
