"""A lake on object storage (s3://), against a local S3-compatible server (moto's).

The same commit protocol as a local lake: parts first, the manifest last; views list only
committed parts; the writer lock is a lease object. Skipped without moto and s3fs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from runlake import ingest_paths, run_query
from runlake._errors import ConfigError, LakeBusy, LakeError
from runlake.cli import main
from runlake.ingest._ingest import new_files, prepare_writer
from runlake.lake._fs import LOCK_NAME, ObjectFS, open_fs
from runlake.lake._store import Lake, writer_lock
from runlake.query import _catalog, build_catalog, catalog_path
from runlake.synth import season_plan, write_run, write_season

DIGEST = {
    "runs": "select activity_id, source_path, start_time, distance_m, duration_s, avg_hr_bpm "
    "from runs order by 1",
    "records": "select activity_id, count(*) n, sum(heart_rate_bpm) hr, "
    "sum(stance_time_ms) st from records group by 1 order by 1",
    "laps": "select activity_id, count(*) n, sum(distance_m) d from laps group by 1 order by 1",
    "files": "select file_sha256, status, n_records from files order by 1",
    "run_metrics": "select * from run_metrics order by activity_id",
    "flags": "select date, code, severity, activity_id from flags order by all",
    "weekly": "select * from weekly_load order by all",
}


def digest(lake: str | Path) -> dict[str, Any]:
    return {name: run_query(lake, sql).to_pylist() for name, sql in DIGEST.items()}


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("season")
    write_season(folder, start=date(2026, 3, 2), weeks=5, seed=11)
    return folder


@pytest.fixture(scope="module")
def local_digest(season: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    lake = tmp_path_factory.mktemp("local") / "lake"
    ingest_paths([season], lake_root=lake, athlete="anna")
    return digest(lake)


def keys(lake: str) -> list[str]:
    fs = open_fs(lake)
    assert isinstance(fs, ObjectFS)
    return sorted(k for k in fs.glob("**") if "." in k.rsplit("/", 1)[-1])  # files, not folders


def test_an_s3_lake_holds_exactly_what_a_local_lake_does(
    s3_lake: str, season: Path, local_digest: dict[str, Any]
) -> None:
    summary = ingest_paths([season], lake_root=s3_lake, athlete="anna")
    assert summary.counts["new"] == len(list(season.glob("*.fit")))
    got = digest(s3_lake)
    assert got["runs"], "the season has runs"
    assert got["flags"], "the season is built to raise flags"
    # Same rows, values and flags as the same files in a local folder (catalog cached locally).
    for name in DIGEST:
        assert got[name] == local_digest[name], name
    assert catalog_path(s3_lake).is_file()
    # The bucket holds the lake's layout, and no temporary object ever.
    names = keys(s3_lake)
    assert any(k.startswith("records/athlete=anna/year=2026/part-") for k in names)
    assert any(k == "flags/athlete=anna/year=2026/flags.parquet" for k in names)
    assert not [k for k in names if k.endswith(".tmp")]
    assert not [k for k in names if k.endswith(LOCK_NAME)], "the lock is released"


def test_an_s3_catalog_rebuild_reads_no_footer_twice(
    s3_lake: str, season: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_paths([season], lake_root=s3_lake, athlete="anna")
    read: list[str] = []
    real = _catalog._columns_by_file

    def spy(con: Any, source: str) -> dict[str, tuple[str, ...]]:
        read.append(source)
        return real(con, source)

    monkeypatch.setattr(_catalog, "_columns_by_file", spy)
    build_catalog(s3_lake)  # nothing new: every part and derived file known by its stamp
    assert read == []
    assert run_query(s3_lake, "select count(*) as n from run_metrics").column("n")[0].as_py() > 0


def test_reingesting_into_s3_is_a_no_op(s3_lake: str, season: Path) -> None:
    ingest_paths([season], lake_root=s3_lake, athlete="anna")
    before = keys(s3_lake)
    again = ingest_paths([season], lake_root=s3_lake, athlete="anna", rebuild_catalog=False)
    assert set(again.counts) == {"present"}
    assert keys(s3_lake) == before
    assert new_files([season], lake=Lake(s3_lake), athlete="anna") == []


def test_a_killed_s3_batch_is_invisible_and_redone(
    s3_lake: str, season: Path, monkeypatch: pytest.MonkeyPatch, local_digest: dict[str, Any]
) -> None:
    files = sorted(season.glob("*.fit"))
    ingest_paths(files[:3], lake_root=s3_lake, athlete="anna")
    n_before = run_query(s3_lake, "select count(*) n from records").column("n")[0].as_py()
    real = ObjectFS.write_parquet

    def dies_at_the_manifest(
        self: ObjectFS, table: pa.Table, rel: str, *, sync: bool = True
    ) -> None:
        if rel.startswith("files/"):
            raise KeyboardInterrupt("killed")
        real(self, table, rel, sync=sync)

    monkeypatch.setattr(ObjectFS, "write_parquet", dies_at_the_manifest)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths(files[3:], lake_root=s3_lake, athlete="anna")
    monkeypatch.undo()
    orphans = [k for k in keys(s3_lake) if k.startswith("records/")]
    assert len(orphans) == 2, "the killed batch's records part is in the bucket"
    # ...but no view reads it, and the files count as not ingested
    n_after = run_query(s3_lake, "select count(*) n from records").column("n")[0].as_py()
    assert n_after == n_before
    # the read path for tools reading the objects themselves: the committed files only
    committed = Lake(s3_lake).committed_files("records")
    assert len(committed) == 1
    assert committed[0].startswith(f"{s3_lake}/records/athlete=anna/year=2026/part-")
    s3 = open_fs(s3_lake)._arrow_fs
    dataset = ds.dataset(
        [u.removeprefix("s3://") for u in committed],
        filesystem=s3,
        format="parquet",
        partitioning="hive",
        partition_base_dir=f"{s3_lake.removeprefix('s3://')}/records",
    )
    direct = dataset.to_table(columns=["activity_id", "athlete"])
    assert direct.num_rows == n_before
    assert set(direct.column("athlete").to_pylist()) == {"anna"}
    assert len(new_files([season], lake=Lake(s3_lake), athlete="anna")) == len(files) - 3
    # the next writer removes the orphan and redoes the files: the lake of an uninterrupted run
    prepare_writer(Lake(s3_lake))
    assert len([k for k in keys(s3_lake) if k.startswith("records/")]) == 1
    ingest_paths([season], lake_root=s3_lake, athlete="anna")
    got = digest(s3_lake)
    assert got["records"] == local_digest["records"]
    assert got["files"] == local_digest["files"]
    assert got["flags"] == local_digest["flags"]


def test_the_s3_writer_lock_is_a_lease(s3_lake: str) -> None:
    fs = ObjectFS(s3_lake.removeprefix("s3://"), lease_s=2.0)
    with writer_lock(fs, holder="first writer"):
        info = json.loads(fs.read_bytes(LOCK_NAME))
        assert info["holder"] == "first writer"
        with (
            pytest.raises(LakeBusy, match="first writer"),
            writer_lock(Lake(s3_lake), holder="second", timeout_s=0),
        ):
            pass
        # the heartbeat renews the lease: still held after several lease lengths
        time.sleep(4.5)
        assert json.loads(fs.read_bytes(LOCK_NAME))["expires"] > time.time()
        with pytest.raises(LakeBusy), writer_lock(Lake(s3_lake), holder="second", timeout_s=0):
            pass
    assert not fs.exists(LOCK_NAME)
    with writer_lock(Lake(s3_lake), holder="second", timeout_s=0):
        pass


def test_a_dead_writers_lease_is_taken_over_once_it_expires(s3_lake: str) -> None:
    fs = open_fs(s3_lake)
    stale = {"pid": 1, "host": "gone", "holder": "killed", "since": 0, "expires": time.time()}
    fs.write_bytes(LOCK_NAME, json.dumps(stale).encode())
    with writer_lock(Lake(s3_lake), holder="next", timeout_s=0):
        assert json.loads(fs.read_bytes(LOCK_NAME))["holder"] == "next"
    fresh = {**stale, "expires": time.time() + 60}
    fs.write_bytes(LOCK_NAME, json.dumps(fresh).encode())
    told: list[str] = []
    with (
        pytest.raises(LakeBusy, match=r"killed \(pid 1 on gone"),
        writer_lock(Lake(s3_lake), holder="next", timeout_s=2.0, on_wait=told.append),
    ):
        pass
    assert len(told) == 1


def test_of_two_writers_racing_for_the_lock_one_wins(s3_lake: str) -> None:
    held: list[str] = []
    errors: list[BaseException] = []
    inside = threading.Lock()
    overlaps: list[int] = []

    def writer(name: str) -> None:
        try:
            with writer_lock(Lake(s3_lake), holder=name, poll_s=0.05):
                if not inside.acquire(blocking=False):
                    overlaps.append(1)
                    return
                held.append(name)
                time.sleep(0.2)
                inside.release()
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert not overlaps
    assert sorted(held) == ["w0", "w1", "w2", "w3"]


def test_bad_object_storage_locations_are_clear(s3_endpoint: str) -> None:
    with pytest.raises(LakeError, match="unsupported storage 'gs'"):
        Lake("gs://bucket/lake")
    with pytest.raises(LakeError, match="bucket 'no-such-bucket' does not exist"):
        Lake("s3://no-such-bucket/lake")
    with pytest.raises(LakeError, match="expected s3://bucket"):
        Lake("s3://bucket/../lake")


def test_lease_length_from_the_environment_is_checked(
    s3_lake: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNLAKE_S3_LEASE_S", "soon")
    with pytest.raises(ConfigError, match="RUNLAKE_S3_LEASE_S='soon'"):
        open_fs(s3_lake)
    monkeypatch.setenv("RUNLAKE_S3_LEASE_S", "5")
    fs = open_fs(s3_lake)
    assert isinstance(fs, ObjectFS)
    assert fs.lease_s == 5.0


def test_the_cli_ingests_into_and_queries_an_s3_lake(
    s3_lake: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = tmp_path / "inbox"
    for spec in season_plan(date(2026, 2, 2), weeks=2, seed=3)[:2]:
        write_run(inbox / spec.file_name, spec)
    assert main(["ingest", str(inbox), "--lake", s3_lake, "--athlete", "cli"]) == 0
    capsys.readouterr()
    assert main(["sql", "select count(*) as n from runs", "--lake", s3_lake]) == 0
    assert "2" in capsys.readouterr().out
    # the sandbox: nothing outside the lake's table folders is readable
    bucket = s3_lake.removeprefix("s3://").split("/")[0]
    open_fs(f"s3://{bucket}/other").write_bytes("x.csv", b"a\n1\n")
    assert main(["sql", f"select * from 's3://{bucket}/other/x.csv'", "--lake", s3_lake]) == 1
    assert "Permission Error" in capsys.readouterr().err


KILLED_AT_THE_MANIFEST = """
import os, signal
from pathlib import Path
from runlake import ingest_paths
from runlake.lake._fs import ObjectFS

real = ObjectFS.write_parquet

def write_parquet(self, table, rel, *, sync=True):
    if rel.startswith("files/"):
        os.kill(os.getpid(), signal.SIGKILL)
    real(self, table, rel, sync=sync)

ObjectFS.write_parquet = write_parquet
ingest_paths([Path({season!r})], lake_root={lake!r}, athlete="anna")
"""


def test_kill_9_mid_batch_then_resume_gives_the_uninterrupted_lake(
    s3_lake: str, season: Path, local_digest: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer process killed (SIGKILL) with its batch's parts up and no manifest yet."""
    monkeypatch.setenv("RUNLAKE_S3_LEASE_S", "20")  # outlasts the checks on a busy machine
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    script = KILLED_AT_THE_MANIFEST.format(season=str(season), lake=s3_lake)
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    fs = open_fs(s3_lake)
    assert fs.glob("records/athlete=anna/year=*/part-*.parquet"), "killed too late"
    assert not fs.glob("files/athlete=anna/part-*.parquet"), "killed after the commit"
    assert fs.exists(LOCK_NAME), "the dead writer's lease is left behind"
    assert run_query(s3_lake, "select count(*) n from records").column("n")[0].as_py() == 0

    told: list[str] = []
    summary = ingest_paths([season], lake_root=s3_lake, athlete="anna", on_wait=told.append)
    assert len(told) == 1, "the next writer waited for the lease to expire"
    assert summary.counts["new"] == len(list(season.glob("*.fit")))
    assert digest(s3_lake) == local_digest
