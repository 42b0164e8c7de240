"""Crash safety: a writer killed at any point leaves a lake that opens, answers and resumes.

The kill loop (``fuzz/_crash.py``) starts ``python -m runlake.cli ingest`` on an inbox (a
season of runs plus the usual broken files), SIGKILLs it after a random delay within the
time an uninterrupted run takes, checks the lake as a reader sees it, and starts it again
on the same lake. After the kills an uninterrupted run must leave exactly the lake of a run
that was never killed. ``python -m fuzz --kills N`` runs the long version.
"""

from __future__ import annotations

import random
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fuzz._crash import (
    check_lake,
    ingest_command,
    kill_loop,
    lake_digest,
    make_inbox,
    subprocess_env,
)

from runlake import ingest_paths, run_query
from runlake.lake import _fs as _lakefs
from runlake.lake._layout import batch_of
from runlake.lake._store import Lake
from runlake.synth import RunSpec, write_run

SEED = 20260607


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    make_inbox(folder, weeks=2)
    return folder


def _finish(cmd: list[str]) -> float:
    t0 = time.monotonic()
    proc = subprocess.run(
        cmd, env=subprocess_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def clean(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The lake of an uninterrupted run, and how long that run took."""
    lake = tmp_path_factory.mktemp("clean") / "lake"
    took = _finish(ingest_command(inbox, lake, "anna", None))
    assert check_lake(lake) == []
    return lake, took


def _no_leftovers(lake: Path) -> None:
    assert not list(lake.rglob("*.tmp"))
    assert not list(lake.rglob("*.wal"))
    committed = Lake(lake).committed_batches("anna")
    for p in lake.rglob("part-*.parquet"):
        assert batch_of(str(p)) in committed, f"orphan part {p}"
        pq.read_metadata(p)


@pytest.mark.parametrize(
    ("batch_files", "kills"),
    [(None, 5), (2, 7)],
    ids=["stock-cli", "batches-of-2"],
)
def test_killed_ingests_resume_to_the_uninterrupted_lake(
    inbox: Path, clean: tuple[Path, float], tmp_path: Path, batch_files: int | None, kills: int
) -> None:
    clean_lake, took = clean
    lake = tmp_path / "lake"
    cmd = ingest_command(inbox, lake, "anna", batch_files)
    rng = random.Random(f"{SEED}:{batch_files}")
    report = kill_loop(
        cmd, lake, kills=kills, window_s=took, rng=rng, env=subprocess_env(), check=True
    )
    print(report.describe())
    assert report.problems == [], "\n".join(report.problems)
    _finish(cmd)
    assert check_lake(lake) == []
    assert lake_digest(lake) == lake_digest(clean_lake)
    _no_leftovers(lake)
    # and a further run has nothing left to do
    again = ingest_paths([inbox], lake_root=lake, athlete="anna")
    assert again.counts["present"] == len(again.outcomes)


def _spec(seed: int) -> RunSpec:
    return RunSpec(
        start=datetime(2026, 2, seed, 7, 0, tzinfo=UTC),
        kind="easy",
        duration_s=300,
        base_speed_mps=3.0,
        base_hr_bpm=140.0,
        cadence_spm=170.0,
        seed=seed,
    )


def test_parts_without_a_manifest_are_invisible_then_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "in" / "first.fit"
    second = tmp_path / "in2" / "second.fit"
    write_run(first, _spec(1))
    write_run(second, _spec(2))
    root = tmp_path / "lake"
    ingest_paths([first], lake_root=root, athlete="anna")
    n_records = run_query(root, "select count(*) as n from records").column("n")[0].as_py()

    # the writer dies after the batch's parts and before its manifest (the commit)
    real = _lakefs.write_parquet_atomic

    def dies_at_the_manifest(table: pa.Table, path: Path, *, sync: bool = True) -> None:
        if path.parent.parent.name == "files":
            raise KeyboardInterrupt("killed")
        real(table, path, sync=sync)

    monkeypatch.setattr(_lakefs, "write_parquet_atomic", dies_at_the_manifest)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths([second], lake_root=root, athlete="anna")
    monkeypatch.undo()
    # the batch's parts are staged: not under a part name, read by no view nor glob
    assert all(
        batch_of(str(p)) in Lake(root).committed_batches("anna")
        for p in root.rglob("part-*.parquet")
    )
    orphans = list(root.rglob(f"*{_lakefs.STAGED_SUFFIX}"))
    assert {p.parts[-4] for p in orphans} == {"activities", "laps", "records"}
    # a temporary file of a write in progress: not a part, not read
    (root / "records" / "athlete=anna" / "year=2026" / ".part-x.parquet.1234.tmp").write_bytes(
        b"PAR1 half written"
    )
    # readers see only committed rows
    counts = run_query(
        root,
        "select (select count(*) from activities) a, (select count(*) from records) r, "
        "(select count(*) from laps where activity_id not in (select activity_id from "
        "activities)) stray",
    ).to_pylist()
    assert counts == [{"a": 1, "r": n_records, "stray": 0}]
    assert check_lake(root) == []
    # the next writer removes the orphans and the temporary file, then redoes the file
    again = ingest_paths([second], lake_root=root, athlete="anna")
    assert [o.status for o in again.outcomes] == ["new"]
    assert not any(p.exists() for p in orphans)
    assert not list(root.rglob("*.tmp"))
    assert run_query(root, "select count(*) as n from activities").column("n")[0].as_py() == 2
    _no_leftovers(root)
