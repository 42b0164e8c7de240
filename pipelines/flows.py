"""The flows. Each is thin wiring: find the files, hand them to tasks in batches, finish.

Resumability comes from the lake itself: every file is committed on its own, keyed by its
content hash, with its marker written last. A backfill killed at any point (Ctrl-C,
kill -9) and started again skips what was committed and redoes what was not.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict
from multiprocessing import forkserver
from pathlib import Path
from typing import Any, Self

from prefect import flow, get_run_logger, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.context import refresh_global_settings_context
from prefect.futures import as_completed
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    temporary_settings,
)
from prefect.task_runners import (
    ProcessPoolTaskRunner,
    TaskRunner,
    _initialize_process_pool_worker,
)

from pipelines._server import ApiServer
from runlake import LakeBusy, load_config, run_query
from runlake._derive import Measured
from runlake._flags import load_thresholds
from runlake._ingest import finish_batch, ingest_files, new_files, prepare_writer
from runlake._lakefs import is_url
from runlake._store import validate_athlete, writer_lock

__all__ = [
    "ForkServerTaskRunner",
    "backfill",
    "batch_size_for",
    "ingest_batch",
    "nightly_sync",
    "shared_api_server",
    "start_fork_server",
]

# Prefect costs about 0.25 s per task run with a process pool here (stack notes): with
# ~5-20 ms of work per file, a batch must hold tens of files for the work to dominate.
MIN_BATCH = 25
TASKS_PER_WORKER = 4


@contextmanager
def shared_api_server(
    server: ApiServer | None = None,
    *,
    startup_timeout_s: int = 120,
    while_booting: Callable[[], None] | None = None,
    flow_heartbeats: bool = True,
) -> Iterator[str | None]:
    """Give worker processes this process's Prefect API.

    With no ``PREFECT_API_URL``, Prefect starts a temporary server per process: every
    process-pool worker would start (and migrate) one of its own, 20-30 s each. Starting one
    here and exporting its URL lets the workers share it. Yields the URL (None when an API
    was configured already; ``server`` is then stopped unused).

    ``server``: one started already (:class:`pipelines._server.ApiServer`, which the CLI
    starts before it imports Prefect, so that both boot at once). ``while_booting`` runs
    once the URL is exported and before the server answers (the CLI starts its worker
    processes there). ``flow_heartbeats=False`` turns off flow-run heartbeats, which let a
    server that outlives a run tell that it crashed: this server stops with the run (and a
    run's end waits up to a second for its heartbeat thread).
    """
    if os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value():
        if server is not None:
            server.stop()
        yield None
        return
    if server is None:
        server = ApiServer()
        server.start()
    _export_api_url(server.api_url)
    try:
        if while_booting is not None:
            while_booting()
        url = server.wait(startup_timeout_s)
        _export_api_url(url)  # another port if the first was taken meanwhile
        settings: dict[Any, Any] = {PREFECT_API_URL: url}
        if not flow_heartbeats:
            settings[PREFECT_FLOWS_HEARTBEAT_FREQUENCY] = None
        with temporary_settings(settings):
            yield url
    finally:
        _export_api_url(None)
        server.stop()


def _export_api_url(url: str | None) -> None:
    """Set (None: remove) ``PREFECT_API_URL`` for child processes and for every thread here.

    Threads that Prefect starts (the process pool's log and event forwarding, heartbeats)
    read the process-global settings, not the caller's context: with no URL there they
    would start a server of their own.
    """
    if url is None:
        os.environ.pop("PREFECT_API_URL", None)
    else:
        os.environ["PREFECT_API_URL"] = url
    refresh_global_settings_context()


# What every task's process needs: imported once by the fork server, inherited by each worker.
_WORKER_MODULES = ["pipelines.flows", "prefect.engine", "prefect.task_engine"]


def start_fork_server() -> None:
    """Start the fork server of :class:`ForkServerTaskRunner` now (returns at once).

    It imports Prefect and runlake while this process goes on (the CLI starts it while the
    API server boots), so that the workers forked later start ready.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_WORKER_MODULES)
    forkserver.ensure_running()


class ForkServerTaskRunner(ProcessPoolTaskRunner):
    """Prefect's ProcessPoolTaskRunner, its worker processes forked from a fork server.

    Prefect spawns each worker as a new interpreter that imports Prefect and runlake again
    (2-4 s of CPU each, on a 2-core machine as long as a quarter of the backfill). Here a
    fork server imports them once (:func:`start_fork_server`, ``multiprocessing``'s
    "forkserver" start method: the server is single-threaded when it forks, so this is as
    safe as spawning) and every worker is a copy of it. All else is Prefect's runner: the
    tasks run in these processes through Prefect's task engine, their logs and events are
    forwarded to this process the same way.
    """

    def __enter__(self) -> Self:
        # ProcessPoolTaskRunner.__enter__ (prefect 3.8), with another multiprocessing context.
        # Not start_fork_server(): Prefect also enters a copy of this runner in each worker
        # (to rebuild the flow's context there), where no process is ever started.
        TaskRunner.__enter__(self)
        mp_context = multiprocessing.get_context("forkserver")
        mp_context.set_forkserver_preload(_WORKER_MODULES)
        self._subprocess_message_queue = mp_context.Queue()
        self._message_forwarding_thread = threading.Thread(
            target=self._forward_subprocess_messages,
            name="ProcessPoolTaskRunnerMessageForwarder",
            daemon=True,
        )
        self._message_forwarding_thread.start()
        try:
            self._executor = ProcessPoolExecutor(
                max_workers=self._max_workers,
                mp_context=mp_context,
                initializer=_initialize_process_pool_worker,
                initargs=(
                    self._subprocess_message_queue,
                    getattr(self, "_initializer", None),
                    getattr(self, "_initargs", ()),
                ),
            )
            self._resolver_executor = ThreadPoolExecutor(max_workers=self._max_workers)
        except Exception:
            if self._executor is not None:
                self._executor.shutdown(cancel_futures=True, wait=True)
                self._executor = None
            self._stop_message_forwarding()
            raise
        return self


def batch_size_for(n_files: int, workers: int, configured: int = 0) -> int:
    """Files per task: the configured size, else about four tasks per worker (>= 25 files)."""
    if configured > 0:
        return configured
    if n_files == 0:
        return MIN_BATCH
    return max(MIN_BATCH, math.ceil(n_files / (max(workers, 1) * TASKS_PER_WORKER)))


@task(cache_policy=NO_CACHE, task_run_name="ingest {athlete}: {files[0]}")
def ingest_batch(
    files: list[str], lake: str, athlete: str
) -> tuple[list[dict[str, Any]], Measured]:
    """Ingest one batch of files (the lake's writer lock is held by the flow).

    Returns the outcomes and the run and lap metrics of the new runs, measured here while
    their records are in memory (in parallel), for :func:`finish`.
    """
    measured = Measured()
    outcomes = ingest_files(
        [Path(f) for f in files], lake_root=lake, athlete=athlete, measured=measured
    )
    return [asdict(o) for o in outcomes], measured


@task(cache_policy=NO_CACHE)
def finish(
    lake: str, athlete: str, outcomes: list[dict[str, Any]], measured: Measured | None = None
) -> dict[str, Any]:
    """Metrics and flags the new runs affect, then the catalog: once per flow run."""
    cfg = load_config()
    thresholds = load_thresholds(overrides=cfg.flags_overrides)
    return finish_batch(lake, athlete, outcomes, thresholds=thresholds, measured=measured)


def _resolve(lake: str | None, athlete: str | None) -> tuple[str, str, Any]:
    cfg = load_config()
    where = lake or str(cfg.lake)
    # Absolute, so that worker processes (or Dask workers) find the same folder.
    where = where if is_url(where) else str(Path(where).expanduser().resolve())
    return where, validate_athlete(athlete or cfg.athlete), cfg


def _summary(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(str(o["status"]) for o in outcomes)
    return {
        "files": len(outcomes),
        **{k: counts.get(k, 0) for k in ("new", "present", "skipped", "warning", "error")},
        "activities": sum(int(o["n_activities"]) for o in outcomes),
        "errors": [
            f"{o['source_path']}: {o['message']}" for o in outcomes if o["status"] == "error"
        ],
    }


@flow(name="nightly-sync", log_prints=False)
def nightly_sync(
    inbox: list[str] | None = None,
    lake: str | None = None,
    athlete: str | None = None,
    lock_wait_s: float | None = None,
) -> dict[str, Any]:
    """Ingest what is new in the inbox folder(s), then refresh what the new runs affect.

    Waits ``lock_wait_s`` (config ``sync.lock_wait_s``) for a running backfill; when it is
    still busy, this night is skipped and the next one picks the files up.
    """
    log = get_run_logger()
    lake, athlete, cfg = _resolve(lake, athlete)
    folders = [Path(p) for p in (inbox or [str(p) for p in cfg.inbox])]
    wait = cfg.sync_lock_wait_s if lock_wait_s is None else lock_wait_s
    missing = [str(p) for p in folders if not p.exists()]
    if missing:
        log.warning("inbox folder(s) missing, nothing to sync from them: %s", ", ".join(missing))
    folders = [p for p in folders if p.exists()]
    try:
        with writer_lock(lake, holder="nightly-sync", timeout_s=wait, on_wait=log.info):
            prepare_writer(lake)
            files = new_files(folders, lake_root=lake, athlete=athlete)
            if not files:
                log.info("nothing new in %s", ", ".join(map(str, folders)) or "(no inbox)")
                return {**_summary([]), "skipped_busy": False}
            outcomes, measured = ingest_batch.fn([str(f) for f in files], lake, athlete)
            done = finish.fn(lake, athlete, outcomes, measured)
    except LakeBusy as e:
        log.warning("sync skipped: %s", e)
        return {**_summary([]), "skipped_busy": True}
    result = {**_summary(outcomes), **done, "skipped_busy": False}
    log.info(
        "synced %d new file(s): %d new, %d warnings, %d skipped, %d errors",
        len(files),
        result["new"],
        result["warning"],
        result["skipped"],
        result["error"],
    )
    for err in result["errors"]:
        log.warning("rejected %s", err)
    result["flags"] = _new_flags(lake, athlete, outcomes, result.get("flag_window"))
    for f in result["flags"]:
        log.info("flag %s %s (%s): %s", f["date"], f["code"], f["severity"], f["message"])
    return result


@flow(name="backfill", log_prints=False)
def backfill(
    folder: str,
    lake: str | None = None,
    athlete: str | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Ingest a whole history folder in parallel batches; safe to interrupt and re-run."""
    log = get_run_logger()
    lake, athlete, cfg = _resolve(lake, athlete)
    n_workers = workers or cfg.backfill_workers
    with writer_lock(lake, holder="backfill", timeout_s=None, on_wait=log.info):
        prepare_writer(lake)
        files = [str(f) for f in new_files([Path(folder)], lake_root=lake, athlete=athlete)]
        size = batch_size_for(len(files), n_workers, batch_size or cfg.backfill_batch_size)
        batches = [files[i : i + size] for i in range(0, len(files), size)]
        log.info(
            "backfill: %d new file(s) in %d batch(es) of up to %d", len(files), len(batches), size
        )
        outcomes: list[dict[str, Any]] = []
        measured = Measured()
        futures = ingest_batch.map(batches, lake=unmapped(lake), athlete=unmapped(athlete))
        bar = _Bar(len(files))
        for fut in as_completed(futures):
            part, part_measured = fut.result()
            outcomes.extend(part)
            measured.extend(part_measured)
            bar.advance(len(part))
            log.info("backfill: %d/%d files done", len(outcomes), len(files))
        done = finish.fn(lake, athlete, outcomes, measured)
    result = {**_summary(outcomes), **done}
    log.info(
        "backfill done: %d new, %d present, %d warnings, %d skipped, %d errors",
        result["new"],
        result["present"],
        result["warning"],
        result["skipped"],
        result["error"],
    )
    return result


def _new_flags(
    lake: str, athlete: str, outcomes: list[dict[str, Any]], window: object
) -> list[dict[str, Any]]:
    """The flags of the new runs, and the week flags of the weeks they affected."""
    prefixes = [str(o["file_sha256"])[:16] for o in outcomes if o["status"] in ("new", "warning")]
    if not prefixes:
        return []
    first, last = window if isinstance(window, list) else ("9999-12-31", "0001-01-01")
    rows = run_query(
        lake,
        "select cast(date as varchar) as date, code, severity, message from flags "
        "where athlete = ? and (list_contains(?, substr(activity_id, 1, 16)) "
        "or (activity_id is null and week_start between cast(? as date) and cast(? as date))) "
        "order by date, code",
        params=[athlete, prefixes, first, last],
    )
    return list(rows.to_pylist())


class _Bar:
    """A progress bar on a terminal (stderr); Prefect's logs tell the rest."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.enabled = sys.stderr.isatty() and total > 0

    def advance(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / self.total)
        sys.stderr.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total}")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()
