"""Prefect flows: nightly sync, resumable parallel backfill, deployments.

All tests here share one Prefect test harness (started once per test run, hermetic:
PREFECT_HOME in a temp folder) and run on one xdist worker (group "prefect").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("prefect")

from pipelines._server import ApiServer
from pipelines.deployments import deployment_specs, to_deployments
from pipelines.flows import backfill, batch_size_for, nightly_sync, shared_api_server
from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.testing.utilities import prefect_test_harness

from runlake import load_config, run_query
from runlake._store import Lake, writer_lock
from runlake.cli import main
from runlake.synth import season_plan, write_run, write_season

from .conftest import REPO

pytestmark = pytest.mark.xdist_group("prefect")


@pytest.fixture(scope="session")
def harness() -> Iterator[str]:
    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("season")
    write_season(folder, start=date(2026, 1, 5), weeks=6, seed=4)
    return folder


def _digest(lake: Path | str) -> dict[str, object]:
    """What a lake holds, independent of when it was written."""
    q = {
        "activities": "select activity_id, n_records, distance_m from activities order by 1",
        "records": "select activity_id, count(*) n, sum(heart_rate_bpm) hr from records "
        "group by 1 order by 1",
        "laps": "select activity_id, count(*) n from laps group by 1 order by 1",
        "files": "select file_sha256, status, n_records from files order by 1",
    }
    out: dict[str, object] = {k: run_query(lake, v).to_pylist() for k, v in q.items()}
    if isinstance(lake, Path):
        out["temp_files"] = sorted(str(p) for p in lake.rglob(".*.tmp"))
    return out


def test_batch_size_amortises_prefect_overhead() -> None:
    assert batch_size_for(1500, 2) == 188  # about four tasks per worker
    assert batch_size_for(40, 2) == 25  # never tiny batches
    assert batch_size_for(1500, 2, configured=10) == 10


def test_sync_picks_up_exactly_the_new_files(harness: str, tmp_path: Path) -> None:
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    plan = season_plan(date(2026, 2, 2), weeks=2, seed=9)
    for spec in plan[:3]:
        write_run(inbox / spec.file_name, spec)
    first = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert (first["files"], first["new"]) == (3, 3)
    # a renamed copy is not new; one really new file is
    (inbox / plan[0].file_name).rename(inbox / "renamed.fit")
    write_run(inbox / plan[3].file_name, plan[3])
    second = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert (second["files"], second["new"]) == (1, 1)
    t0 = time.perf_counter()
    third = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert third["files"] == 0
    assert time.perf_counter() - t0 < 5  # Prefect's own cost included; the work is ~ms
    runs = run_query(lake, "select count(*) n from runs").to_pylist()
    assert runs == [{"n": 4}]


def test_sync_skips_when_another_writer_holds_the_lake(harness: str, tmp_path: Path) -> None:
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    spec = season_plan(date(2026, 2, 2), weeks=2, seed=9)[0]
    write_run(inbox / spec.file_name, spec)
    with writer_lock(lake, holder="a test backfill"):
        result = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna", lock_wait_s=0.2)
    assert result["skipped_busy"] is True
    after = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert after["new"] == 1


def test_backfill_in_parallel_batches(harness: str, season: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    flow = backfill.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    result = flow(folder=str(season), lake=str(lake), athlete="anna", batch_size=7)
    n = len(list(season.glob("*.fit")))
    assert (result["files"], result["new"], result["error"]) == (n, n, 0)
    again = flow(folder=str(season), lake=str(lake), athlete="anna", batch_size=7)
    assert again["files"] == 0


def test_backfill_killed_then_resumed_equals_uninterrupted(
    harness: str, season: Path, tmp_path: Path
) -> None:
    flow = backfill.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))
    clean = tmp_path / "clean"
    flow(folder=str(season), lake=str(clean), athlete="anna", batch_size=5)
    n_files = len(list(season.glob("*.fit")))

    killed = tmp_path / "killed"
    env = {**os.environ, "PREFECT_API_URL": harness, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [
        sys.executable,
        "-m",
        "runlake.cli",
        "backfill",
        str(season),
        "--lake",
        str(killed),
        "--athlete",
        "anna",
        "--workers",
        "2",
        "--batch-size",
        "3",
    ]
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    markers = killed / "files" / "athlete=anna"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = len(list(markers.glob("*.parquet"))) if markers.is_dir() else 0
            if done >= 3:
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = len(Lake(killed).ingested_hashes("anna"))
    assert 3 <= done < n_files, f"killed after {done} of {n_files} files"

    resumed = flow(folder=str(season), lake=str(killed), athlete="anna", batch_size=5)
    assert resumed["files"] == n_files - done
    assert _digest(killed) == _digest(clean)


def test_the_early_api_server_is_prefects_and_stops(
    harness: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server the CLI starts before it imports Prefect (here on the harness's database,
    migrated already): it answers, it stops, and it is not used when an API is configured."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    db = str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value())
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", db)
    server = ApiServer()
    server.start()
    try:
        url = server.wait(180)
        with urllib.request.urlopen(f"{url}/health", timeout=10) as resp:
            assert resp.status == 200
    finally:
        server.stop()
    assert server.process is None
    unused = ApiServer()
    unused.start()
    with shared_api_server(unused) as got:  # the harness's API is configured
        assert got is None
    assert unused.process is None


def test_backfill_on_a_local_dask_cluster(harness: str, tmp_path: Path) -> None:
    dask = pytest.importorskip("prefect_dask")
    DaskTaskRunner = dask.DaskTaskRunner

    folder = tmp_path / "runs"
    for spec in season_plan(date(2026, 3, 2), weeks=2, seed=2)[:6]:
        write_run(folder / spec.file_name, spec)
    runner = DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": 2,
            "threads_per_worker": 1,
            "processes": False,
            "dashboard_address": None,
        },
    )
    result = backfill.with_options(task_runner=runner)(
        folder=str(folder), lake=str(tmp_path / "lake"), athlete="anna", batch_size=2
    )
    assert (result["files"], result["new"]) == (6, 6)


def test_deployment_schedule_is_what_config_says(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text(
        '[sync]\ncron = "30 4 * * 1-5"\ntimezone = "Europe/Berlin"\n'
        '[ingest]\nathlete = "anna"\ninbox = ["/mnt/watch"]\n'
    )
    cfg = load_config(cfg_file, env={})
    specs = {s.name: s for s in deployment_specs(cfg)}
    sync = specs["nightly-sync"]
    assert (sync.cron, sync.timezone) == ("30 4 * * 1-5", "Europe/Berlin")
    assert sync.parameters["athlete"] == "anna"
    assert sync.parameters["inbox"] == ["/mnt/watch"]
    assert specs["backfill"].cron is None
    deployments = {d.name: d for d in to_deployments(cfg)}
    schedule = deployments["nightly-sync"].schedules[0].schedule
    assert schedule.cron == "30 4 * * 1-5"
    assert schedule.timezone == "Europe/Berlin"
    assert deployments["backfill"].schedules == []


def test_deployments_command_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('[sync]\ncron = "0 3 * * *"\ntimezone = "UTC"\n')
    assert main(["--config", str(cfg_file), "deployments", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in out] == ["nightly-sync", "backfill"]
    assert out[0] == {
        "name": "nightly-sync",
        "flow": "nightly-sync",
        "cron": "0 3 * * *",
        "timezone": "UTC",
        "parameters": {"inbox": ["inbox"], "lake": "lake", "athlete": "me"},
    }


def test_backfill_and_sync_on_an_s3_lake(
    harness: str, s3_lake: str, season: Path, tmp_path: Path
) -> None:
    """Process-pool workers commit to object storage; the sync then adds one new run."""
    env = {**os.environ, "PREFECT_API_URL": harness, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "runlake.cli", "backfill", str(season), "--lake", s3_lake]
    cmd += ["--athlete", "anna", "--workers", "2", "--batch-size", "5"]
    done = subprocess.run(
        cmd, check=False, env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    n = len(list(season.glob("*.fit")))
    assert len(Lake(s3_lake).ingested_hashes("anna")) == n

    local = tmp_path / "local"
    backfill.with_options(task_runner=ThreadPoolTaskRunner(max_workers=2))(
        folder=str(season), lake=str(local), athlete="anna", batch_size=5
    )
    assert _digest(s3_lake) == {k: v for k, v in _digest(local).items() if k != "temp_files"}

    inbox = tmp_path / "inbox"
    spec = season_plan(date(2026, 3, 2), weeks=2, seed=21)[0]
    write_run(inbox / spec.file_name, spec)
    result = nightly_sync(inbox=[str(inbox)], lake=s3_lake, athlete="anna")
    assert (result["files"], result["new"], result["skipped_busy"]) == (1, 1, False)
    runs = run_query(s3_lake, "select count(*) as n from runs").column("n")[0].as_py()
    assert runs == n + 1
