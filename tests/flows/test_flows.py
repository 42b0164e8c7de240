"""Prefect flows: nightly sync, resumable parallel backfill, deployments (in this process).

All tests here share one Prefect test harness (started once per test run, hermetic:
PREFECT_HOME in a temp folder) and run on one xdist worker (group "prefect"). The flow
commands as a user runs them (their own local server, the default environment, signals)
are in test_flow_commands.py.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

pytest.importorskip("prefect")

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments import run_deployment
from prefect.logging.handlers import PrefectConsoleHandler
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.testing.utilities import prefect_test_harness

from runlake import FlowError, WorkerPool, load_config, run_query
from runlake.cli import main
from runlake.lake._store import Lake, writer_lock
from runlake.synth import season_plan, write_run, write_season
from runlake_pipelines._lifeline import child_pids
from runlake_pipelines._progress import Progress, _log_console
from runlake_pipelines._specs import deployment_specs
from runlake_pipelines.deployments import to_deployments
from runlake_pipelines.flows import backfill, batch_size_for, nightly_sync

from ..conftest import REPO

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
    assert batch_size_for(40, 2) == 50  # never tiny batches (a task costs Prefect ~0.1 s)
    assert batch_size_for(100, 2) == 50  # one batch per worker
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
    # four files in the inbox: the renamed copy and two others were there already
    assert (second["files"], second["new"], second["present"], second["committed"]) == (4, 1, 3, 1)
    t0 = time.perf_counter()
    third = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert (third["files"], third["new"], third["present"], third["committed"]) == (4, 0, 4, 0)
    assert time.perf_counter() - t0 < 5  # Prefect's own cost included; the work is ~ms
    runs = run_query(lake, "select count(*) n from runs").to_pylist()
    assert runs == [{"n": 4}]


def test_sync_reads_an_export_dropped_in_the_inbox(harness: str, tmp_path: Path) -> None:
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    plan = season_plan(date(2026, 2, 2), weeks=2, seed=9)
    export = inbox / "export_1.zip"
    with zipfile.ZipFile(export, "w") as z:
        for i, spec in enumerate(plan[:3]):
            write_run(tmp_path / spec.file_name, spec)
            data = (tmp_path / spec.file_name).read_bytes()
            z.writestr(f"activities/{i}.fit.gz", gzip.compress(data))
        z.writestr("activities.csv", "Activity ID,Filename\n")
    first = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert (first["files"], first["new"], first["committed"]) == (3, 3, 3)
    assert first["archives"] == [
        f"{export}: 3 watch files: 3 new, 0 already present, 0 skipped, 0 errors; "
        "1 other files passed over"
    ]
    second = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert (second["files"], second["present"], second["committed"]) == (3, 3, 0)
    names = run_query(lake, "select source_path from files order by 1").to_pylist()
    assert [r["source_path"] for r in names] == [
        f"{export}!/activities/{i}.fit.gz" for i in range(3)
    ]


def test_sync_skips_when_another_writer_holds_the_lake(harness: str, tmp_path: Path) -> None:
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    spec = season_plan(date(2026, 2, 2), weeks=2, seed=9)[0]
    write_run(inbox / spec.file_name, spec)
    with writer_lock(Lake(lake), holder="a test backfill"):
        result = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna", lock_wait_s=0.2)
    assert result["skipped_busy"] is True
    after = nightly_sync(inbox=[str(inbox)], lake=str(lake), athlete="anna")
    assert after["new"] == 1


def test_backfill_in_parallel_batches(harness: str, season: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result = backfill(folder=str(season), lake=str(lake), athlete="anna", batch_size=7)
    n = len(list(season.glob("*.fit")))
    assert (result["files"], result["new"], result["error"]) == (n, n, 0)
    assert result["committed"] == n
    again = backfill(folder=str(season), lake=str(lake), athlete="anna", batch_size=7)
    assert (again["files"], again["present"], again["committed"]) == (n, n, 0)
    assert _task_names(harness, "backfill") >= {
        f"batch {i}/{-(-n // 7)}: 7 files" for i in range(1, n // 7 + 1)
    }


def _task_names(api: str, flow_name: str) -> set[str]:
    """The task-run names of the last run of ``flow_name`` on the harness's server."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=2,
        )
        # the last run found nothing new; the one before did the work
        deadline = time.monotonic() + 30  # task runs are recorded from events, shortly after
        while True:
            tasks = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[runs[-1].id]))
            )
            names = {t.name for t in tasks}
            if any(n.startswith("batch ") for n in names) or time.monotonic() > deadline:
                return names
            time.sleep(0.5)


def test_backfill_spreads_an_archives_members_over_the_workers(
    harness: str, season: Path, tmp_path: Path
) -> None:
    """A Garmin-style export (a zip in a zip): its members go out in batches like files."""
    runs = sorted(season.glob("*.fit"))
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
        for f in runs:
            z.write(f, f.name)
    export = tmp_path / "garmin.zip"
    uploaded = "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip"
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(inner, uploaded)
        z.writestr("DI_CONNECT/DI-Connect-Fitness/me_summarizedActivities.json", "[]")
    lake = tmp_path / "lake"
    n = len(runs)
    result = backfill(folder=str(export), lake=str(lake), athlete="anna", batch_size=7)
    assert (result["files"], result["new"], result["error"], result["committed"]) == (n, n, 0, n)
    line = f"{export}: {n} watch files: {{}} new, {{}} already present, 0 skipped, 0 errors"
    assert result["archives"] == [line.format(n, 0) + "; 1 other files passed over"]
    sources = run_query(lake, "select source_path from files order by 1").to_pylist()
    assert [r["source_path"] for r in sources] == [f"{export}!/{uploaded}!/{f.name}" for f in runs]
    again = backfill(folder=str(export), lake=str(lake), athlete="anna", batch_size=7)
    assert (again["files"], again["present"], again["committed"]) == (n, n, 0)
    assert again["archives"] == [line.format(0, n) + "; 1 other files passed over"]
    assert _task_names(harness, "backfill") >= {
        f"batch {i}/{-(-n // 7)}: 7 files" for i in range(1, n // 7 + 1)
    }
    # the same runs as loose files give the same lake
    loose = tmp_path / "loose"
    backfill(folder=str(season), lake=str(loose), athlete="anna", batch_size=7)
    digest = {k: v for k, v in _digest(lake).items() if k != "files"}
    assert digest == {k: v for k, v in _digest(loose).items() if k != "files"}


def test_backfill_killed_then_resumed_equals_uninterrupted(
    harness: str, season: Path, tmp_path: Path
) -> None:
    """The whole process group killed (a machine's crash): the next run resumes."""
    flow = backfill
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
    assert resumed["committed"] == n_files - done
    assert (resumed["files"], resumed["new"], resumed["present"]) == (n_files, n_files - done, done)
    assert _digest(killed) == _digest(clean)


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
            "dashboard_address": ":0",  # any free port: another cluster may hold 8787
        },
    )
    result = backfill.with_options(task_runner=runner)(
        folder=str(folder),
        lake=str(tmp_path / "lake"),
        athlete="anna",
        batch_size=2,
        processes=False,
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
    deployments = {d.name: d for d in to_deployments(deployment_specs(cfg))}
    schedule = deployments["nightly-sync"].schedules[0].schedule
    assert schedule.cron == "30 4 * * 1-5"
    assert schedule.timezone == "Europe/Berlin"
    assert deployments["backfill"].schedules == []


def test_deployments_command_prints_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('[sync]\ncron = "0 3 * * *"\ntimezone = "UTC"\n')
    monkeypatch.chdir(tmp_path)  # relative folders become absolute: runs start anywhere
    assert main(["--config", str(cfg_file), "deployments", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in out] == ["nightly-sync", "backfill"]
    here = tmp_path.resolve()
    assert out[0] == {
        "name": "nightly-sync",
        "flow": "nightly-sync",
        "cron": "0 3 * * *",
        "timezone": "UTC",
        "parameters": {"inbox": [str(here / "inbox")], "lake": str(here / "lake"), "athlete": "me"},
    }
    # the same flags as `runlake sync`
    args = ["--config", str(cfg_file), "deployments", "--format", "json", "--inbox", "/w/in"]
    assert main([*args, "--inbox", "/w/in2", "--lake", "/w/lake", "--athlete", "bo"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["parameters"] == {
        "inbox": ["/w/in", "/w/in2"],
        "lake": "/w/lake",
        "athlete": "bo",
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
    backfill(folder=str(season), lake=str(local), athlete="anna", batch_size=5)
    assert _digest(s3_lake) == {k: v for k, v in _digest(local).items() if k != "temp_files"}

    inbox = tmp_path / "inbox"
    spec = season_plan(date(2026, 3, 2), weeks=2, seed=21)[0]
    write_run(inbox / spec.file_name, spec)
    result = nightly_sync(inbox=[str(inbox)], lake=s3_lake, athlete="anna")
    assert (result["files"], result["new"], result["skipped_busy"]) == (1, 1, False)
    runs = run_query(s3_lake, "select count(*) as n from runs").column("n")[0].as_py()
    assert runs == n + 1


def test_deploy_registers_both_flows_and_a_worker_runs_the_sync(
    harness: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`runlake deploy` on a real server (the harness's); a process worker runs the sync."""
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    for spec in season_plan(date(2026, 2, 2), weeks=2, seed=9)[:2]:
        write_run(inbox / spec.file_name, spec)
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('[sync]\ncron = "15 4 * * *"\ntimezone = "Europe/Berlin"\n')
    pool = f"runlake-{tmp_path.name[-12:]}"
    args = ["--config", str(cfg_file), "deploy", "--pool", pool, "--inbox", str(inbox)]
    assert main([*args, "--lake", str(lake), "--athlete", "anna"]) == 0
    out = capsys.readouterr().out
    assert "deployed nightly-sync/nightly-sync: cron '15 4 * * *' (Europe/Berlin)" in out
    assert "deployed backfill/backfill: on demand" in out
    with get_client(sync_client=True) as client:
        sync = client.read_deployment_by_name("nightly-sync/nightly-sync")
        assert sync.work_pool_name == pool
        assert sync.entrypoint == "runlake_pipelines.flows.nightly_sync"
        schedule = sync.schedules[0].schedule
        assert (schedule.cron, schedule.timezone) == ("15 4 * * *", "Europe/Berlin")
        assert sync.parameters == {"inbox": [str(inbox)], "lake": str(lake), "athlete": "anna"}
        bf = client.read_deployment_by_name("backfill/backfill")
        assert (bf.work_pool_name, bf.schedules) == (pool, [])
    run = run_deployment("nightly-sync/nightly-sync", timeout=0)
    env = {**os.environ, "PREFECT_API_URL": harness}
    worker = subprocess.run(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--run-once"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert worker.returncode == 0, worker.stdout + worker.stderr
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run.id).state
    assert state is not None
    assert state.is_completed(), (state, worker.stdout, worker.stderr)
    assert len(Lake(lake).ingested_hashes("anna")) == 2


def test_deploy_needs_a_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    with temporary_settings(updates={PREFECT_API_URL: None}):
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        assert main(["deploy", "--pool", "p"]) == 1
    assert "set PREFECT_API_URL" in capsys.readouterr().err


def test_the_progress_bar_draws_on_prefects_log_console() -> None:
    """One renderer: Prefect's log lines go above the bar, not over it."""
    consoles = [
        h.console
        for name in ("prefect", None)
        for h in logging.getLogger(name).handlers
        if isinstance(h, PrefectConsoleHandler)
    ]
    assert consoles, "Prefect's console handler is not where runlake looks for it"
    assert _log_console() is consoles[0]
    with Progress(10, "files") as bar:  # not a terminal here: no bar, no output
        assert bar.enabled is False
        bar.update(5)


def _pool_workers() -> list[int]:
    """This process's pool workers: the children of its fork server."""
    mine = child_pids(os.getpid())
    servers = [p for p in mine if b"forkserver" in Path(f"/proc/{p}/cmdline").read_bytes()]
    return [w for s in servers for w in child_pids(s)]


def test_a_worker_killed_mid_batch_is_replaced_and_the_batch_redone(
    season: Path, tmp_path: Path
) -> None:
    files = sorted(str(p) for p in season.glob("*.fit"))
    lake = tmp_path / "lake"
    got: list[object] = []
    with WorkerPool(1) as pool:
        thread = threading.Thread(target=lambda: got.append(pool.run(files, str(lake), "anna")))
        thread.start()
        deadline = time.monotonic() + 60
        while not _pool_workers() and time.monotonic() < deadline:
            time.sleep(0.005)
        victims = _pool_workers()
        assert victims, "no worker started"
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        thread.join(120)
    assert len(got) == 1
    outcomes, _ = got[0]  # type: ignore[misc]
    # the batch was run again whole: what the killed worker had committed is "present"
    assert sorted(o["source_path"] for o in outcomes) == files
    assert {o["status"] for o in outcomes} <= {"new", "present"}
    assert len(Lake(lake).ingested_hashes("anna", refresh=True)) == len(files)


def test_a_shared_dask_cluster_without_a_prefect_server_is_said_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("prefect_dask")
    from runlake_pipelines import commands  # noqa: PLC0415

    commands._dask_runner("tcp://127.0.0.1:8786", None, temporary_server=True)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "PREFECT_API_URL" in err[0]
    commands._dask_runner("tcp://127.0.0.1:8786", None, temporary_server=False)
    # a cluster of this command's own: nothing to say
    commands._dask_runner(None, 2, temporary_server=True)
    assert capsys.readouterr().err == ""


def test_a_dask_address_where_no_scheduler_listens_fails_at_once_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dask's client would retry a dead address until Ctrl-C: the command checks it first,
    before it starts Prefect's server."""
    import socket  # noqa: PLC0415

    from runlake_pipelines.commands import check_dask_address  # noqa: PLC0415

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        check_dask_address(f"tcp://127.0.0.1:{port}")  # something answers: no error
        check_dask_address(f"127.0.0.1:{port}")
    started = time.monotonic()
    lake = str(tmp_path / "lake")
    address = f"tcp://127.0.0.1:{port}"
    code = main(["backfill", str(tmp_path), "--lake", lake, "--dask-address", address])
    assert code != 0
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"runlake: error: --dask-address tcp://127.0.0.1:{port}: no Dask scheduler there "
        "(Connection refused); start one (`dask scheduler`) or check the address"
    ]
    assert not (tmp_path / "lake").exists()
    with pytest.raises(FlowError, match="tcp://HOST:PORT"):
        check_dask_address("tcp://127.0.0.1")


def test_flows_read_the_config_file_given_with_config(
    harness: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`runlake --config FILE backfill`: the flow (which loads the configuration itself)
    applies FILE's settings, here ingest.max_file_bytes."""
    monkeypatch.setenv("PREFECT_API_URL", harness)
    monkeypatch.delenv("RUNLAKE_CONFIG", raising=False)
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "big.fit").write_bytes(b"\0" * (2 << 20))  # 2 MiB
    cfg = tmp_path / "mine.toml"
    cfg.write_text("[ingest]\nmax_file_bytes = 1048576\n")
    lake = str(tmp_path / "lake")
    assert main(["--config", str(cfg), "backfill", str(folder), "--lake", lake]) == 0
    assert "1 rejected" in capsys.readouterr().out
    assert "RUNLAKE_CONFIG" not in os.environ  # set for the command only
    why = run_query(lake, "select message from ingest_errors").column("message").to_pylist()
    assert len(why) == 1
    assert "more than 1 MiB (ingest.max_file_bytes): refused, not read" in why[0]
