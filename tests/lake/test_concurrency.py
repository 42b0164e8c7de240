"""Two writers at once never corrupt the lake; readers keep working while a writer runs.

- two ``runlake ingest`` processes on one lake: one waits for the writer lock and says so;
  the lake ends exactly as if they had run one after the other;
- a Prefect backfill holds the lake while the nightly sync fires: the sync waits or skips
  the night with a clear message, and catches up next time;
- readers (``run_query`` in a thread and in another process) answer all along: no DuckDB
  lock error, and every answer is a whole number of committed batches (the activities and
  records a query sees are exactly those its manifests list).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fuzz._crash import check_lake, ingest_command, lake_digest, subprocess_env
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness

import runlake.ingest._pool
from runlake import ingest_paths, run_query
from runlake.lake._store import LOCK_NAME, Lake, writer_lock
from runlake.synth import RunSpec, season_plan, write_run, write_season
from runlake_pipelines.flows import backfill, nightly_sync

CONSISTENT = (
    "select (select count(*) from activities) as activities, "
    "(select cast(coalesce(sum(n_activities), 0) as bigint) from files) as "
    "committed_activities, "
    "(select count(*) from records) as records, "
    "(select cast(coalesce(sum(n_records), 0) as bigint) from files) as committed_records, "
    "(select count(*) from files) as files"
)


def _runs(folder: Path, first: int, n: int) -> list[Path]:
    out = []
    for i in range(first, first + n):
        spec = RunSpec(
            start=datetime(2026, 3, 1 + i % 28, 6, i % 60, tzinfo=UTC),
            kind="easy",
            duration_s=300,
            base_speed_mps=3.0,
            base_hr_bpm=140.0,
            cadence_spm=170.0,
            seed=i,
        )
        path = folder / f"run-{i:02d}.fit"
        write_run(path, spec)
        out.append(path)
    return out


@pytest.fixture(scope="module")
def inboxes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("inboxes")
    a, b, shared = base / "a", base / "b", base / "shared"
    _runs(a, 0, 6)
    _runs(b, 6, 6)
    _runs(shared, 12, 4)
    (shared / "broken.fit").write_bytes(b"\x0e\x10not a fit file at all")
    return a, b, shared


@pytest.fixture(scope="module")
def sequential(inboxes: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    a, b, shared = inboxes
    lake = tmp_path_factory.mktemp("sequential") / "lake"
    ingest_paths([a, shared], lake_root=lake, athlete="anna")
    ingest_paths([b, shared], lake_root=lake, athlete="anna")
    return lake


class _Proc:
    """A subprocess whose stderr is read line by line as it comes."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(
            cmd,
            env=subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    def wait(self, timeout: float = 300) -> tuple[int, str, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        self._reader.join(10)
        return self.proc.returncode, out, "".join(self.err)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "runlake.cli", *args]


def test_two_ingests_at_once_wait_for_each_other(
    inboxes: tuple[Path, Path, Path], sequential: Path, tmp_path: Path
) -> None:
    a, b, shared = inboxes
    lake = tmp_path / "lake"
    with writer_lock(Lake(lake), holder="a test holding the lake"):
        p1 = _Proc(_cli("ingest", str(a), str(shared), "--lake", str(lake), "--athlete", "anna"))
        p2 = _Proc(_cli("ingest", str(b), str(shared), "--lake", str(lake), "--athlete", "anna"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (p1.err and p2.err):
            time.sleep(0.05)
        for p in (p1, p2):
            assert p.err, "a writer did not say it was waiting"
            assert p.err[0].startswith(
                "waiting for the lake's writer lock, held by a test holding the lake (pid "
            ), p.err
    results = [p1.wait(), p2.wait()]
    for rc, _, err in results:
        assert rc == 0, err
        assert "Traceback" not in err
    outs = sorted(out.splitlines()[-1] for _, out, _ in results)
    # whoever came second found the shared files already there
    assert outs == [
        "11 files: 10 new (10 activities), 0 already present, 0 skipped, 0 with warnings, 1 errors",
        "11 files: 6 new (6 activities), 5 already present, 0 skipped, 0 with warnings, 0 errors",
    ]
    assert check_lake(lake) == []
    assert lake_digest(lake) == lake_digest(sequential)


@pytest.mark.parametrize("round_", range(2))
def test_two_ingests_racing_end_as_the_sequential_lake(
    inboxes: tuple[Path, Path, Path], sequential: Path, tmp_path: Path, round_: int
) -> None:
    a, b, shared = inboxes
    lake = tmp_path / "lake"
    p1 = _Proc(_cli("ingest", str(a), str(shared), "--lake", str(lake), "--athlete", "anna"))
    p2 = _Proc(_cli("ingest", str(b), str(shared), "--lake", str(lake), "--athlete", "anna"))
    for rc, _, err in (p1.wait(), p2.wait()):
        assert rc == 0, err
    assert check_lake(lake) == []
    assert lake_digest(lake) == lake_digest(sequential)


# -- the same bytes under another name or folder: one activity -------------------------------


def test_copies_in_one_run_and_across_batches_make_one_activity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    originals = _runs(tmp_path / "a", 40, 3)
    copies = tmp_path / "z" / "deep" / "er"
    copies.mkdir(parents=True)
    for i, p in enumerate(originals):
        shutil.copyfile(p, copies / f"Copy {i} of run.FIT")
    (copies / "hardlink.fit").hardlink_to(originals[0])
    (copies / "symlink.fit").symlink_to(originals[1])
    lake = tmp_path / "lake"
    # one file per batch: the copies come in later batches than their originals
    monkeypatch.setattr("runlake.ingest._ingest.BATCH_MAX_FILES", 1)
    summary = ingest_paths([tmp_path / "a", tmp_path / "z"], lake_root=lake, athlete="anna")
    assert summary.counts == {"new": 3, "present": 5}
    # and in one batch: the second copy is 'present' before anything is committed
    monkeypatch.undo()
    lake2 = tmp_path / "lake2"
    summary2 = ingest_paths([copies, tmp_path / "a"], lake_root=lake2, athlete="anna")
    assert summary2.counts == {"new": 3, "present": 5}
    assert {o.message for o in summary2.outcomes if o.status == "present"} == {
        "same content as another file of this batch"
    }
    for root in (lake, lake2):
        row = run_query(
            root,
            "select count(*) as n, count(distinct file_sha256) as shas, "
            "(select count(*) from files) as files from activities",
        ).to_pylist()
        assert row == [{"n": 3, "shas": 3, "files": 3}]


def test_copies_ingested_at_once_by_two_processes_make_one_activity(tmp_path: Path) -> None:
    originals = _runs(tmp_path / "x", 50, 5)
    other = tmp_path / "y"
    other.mkdir()
    for i, p in enumerate(reversed(originals)):
        shutil.copyfile(p, other / f"renamed-{i}.fit")
    lake = tmp_path / "lake"
    p1 = _Proc(_cli("ingest", str(tmp_path / "x"), "--lake", str(lake), "--athlete", "anna"))
    p2 = _Proc(_cli("ingest", str(other), "--lake", str(lake), "--athlete", "anna"))
    outs = [p1.wait(), p2.wait()]
    for rc, _, err in outs:
        assert rc == 0, err
    news = sorted(int(out.splitlines()[-1].split(" new")[0].split(": ")[1]) for _, out, _ in outs)
    assert sum(news) == 5
    row = run_query(
        lake, "select count(*) as n, count(distinct file_sha256) as shas from activities"
    ).to_pylist()
    assert row == [{"n": 5, "shas": 5}]
    assert check_lake(lake) == []


_READER = """
import json, sys, time
from pathlib import Path
from runlake import run_query
lake, stop, query = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
while not stop.exists():
    try:
        row = run_query(lake, query).to_pylist()[0]
        print(json.dumps(row), flush=True)
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
"""


def _check_reads(rows: list[dict[str, object]]) -> None:
    errors = [r["error"] for r in rows if "error" in r]
    assert errors == [], errors[:3]
    last = -1
    for r in rows:
        assert r["activities"] == r["committed_activities"], r
        assert r["records"] == r["committed_records"], r
        assert int(str(r["files"])) >= last, "a reader saw the lake go backwards"
        last = int(str(r["files"]))


def test_readers_answer_while_a_writer_runs(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = _runs(tmp_path / "first", 30, 2)
    ingest_paths(first, lake_root=lake, athlete="anna")
    season = tmp_path / "season"
    n_files = len(write_season(season, start=date(2026, 1, 5), weeks=3, seed=3))
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(lake), str(stop), CONSISTENT],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    in_thread: list[dict[str, object]] = []
    done = threading.Event()

    def read_loop() -> None:
        while not done.is_set():
            try:
                in_thread.append(run_query(lake, CONSISTENT).to_pylist()[0])
            except Exception as e:  # any error is the finding
                in_thread.append({"error": f"{type(e).__name__}: {e}"})

    thread = threading.Thread(target=read_loop, daemon=True)
    thread.start()
    time.sleep(0.5)
    # the writer commits every 2 files: many commits while the readers read
    writer = subprocess.run(
        ingest_command(season, lake, "anna", 2),
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    time.sleep(0.3)
    done.set()
    thread.join(60)
    stop.touch()
    out, _ = reader.communicate(timeout=120)
    assert writer.returncode == 0, writer.stderr
    in_process = [json.loads(line) for line in out.splitlines() if line.strip()]
    print(f"reads during the write: {len(in_thread)} in a thread, {len(in_process)} in a process")
    assert len(in_thread) >= 3
    assert len(in_process) >= 3
    _check_reads(in_thread)
    _check_reads(in_process)
    final = run_query(lake, CONSISTENT).to_pylist()[0]
    assert final["files"] == n_files + 2
    assert final["activities"] == final["committed_activities"] == n_files + 2


# -- Prefect: a backfill holds the lake while the nightly sync fires ------------------------------


@pytest.fixture(scope="module")
def harness() -> Iterator[str]:
    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


@pytest.mark.xdist_group("prefect")
def test_sync_during_a_backfill_skips_then_catches_up(
    harness: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, inbox, lake = tmp_path / "history", tmp_path / "inbox", tmp_path / "lake"
    n = len(write_season(history, start=date(2025, 9, 1), weeks=4, seed=8))
    for spec in season_plan(date(2026, 2, 2), weeks=2, seed=9)[:3]:
        write_run(inbox / spec.file_name, spec)
    # The backfill's tasks wait until the first sync has tried: it must find the lake busy
    # (a backfill this small could otherwise end before the sync's flow run starts).
    # (in this process's task threads, processes=False, so that the patch applies)
    tried = threading.Event()
    ingest = runlake.ingest._pool.ingest_files

    def ingest_once_tried(*args: Any, **kwargs: Any) -> Any:
        tried.wait(120)
        return ingest(*args, **kwargs)

    monkeypatch.setattr(runlake.ingest._pool, "ingest_files", ingest_once_tried)
    result: dict[str, object] = {}

    def run_backfill() -> None:
        result.update(
            backfill(
                folder=str(history), lake=str(lake), athlete="anna", batch_size=3, processes=False
            )
        )

    thread = threading.Thread(target=run_backfill, daemon=True)
    thread.start()
    lock = lake / LOCK_NAME
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and thread.is_alive():
        if lock.exists() and '"holder": "backfill"' in lock.read_text():
            break
        time.sleep(0.01)
    assert thread.is_alive(), "the backfill ended before the sync could fire"
    busy = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna", lock_wait_s=0.2)
    tried.set()
    assert busy["skipped_busy"] is True
    # the same sync, willing to wait, runs once the backfill is done
    waited = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna", lock_wait_s=300)
    thread.join(300)
    assert (result["files"], result["new"], result["error"]) == (n, n, 0)
    assert waited["skipped_busy"] is False
    assert (waited["files"], waited["new"]) == (3, 3)
    again = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert (again["files"], again["new"], again["present"]) == (3, 0, 3)
    # the same files one after the other
    ref = tmp_path / "ref"
    ingest_paths([history], lake_root=ref, athlete="anna")
    ingest_paths([inbox], lake_root=ref, athlete="anna")
    assert check_lake(lake) == []
    assert lake_digest(lake) == lake_digest(ref)
