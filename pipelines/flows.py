"""The flows. Each is thin wiring: find the files, hand them to tasks in batches, finish.

Resumability comes from the lake itself: every file is committed keyed by its content
hash, with its batch's manifest written last. A backfill stopped at any point (Ctrl-C,
SIGTERM, kill -9) and started again skips what was committed and redoes what was not.
Ctrl-C or SIGTERM stop it cleanly: the workers commit what they have, the flow run ends
Cancelled with what was committed (:mod:`pipelines._interrupt`).

Prefect's public API only: tasks on its ``ThreadPoolTaskRunner``, each handing its batch
to a standard-library process pool (:mod:`pipelines._pool`) whose workers never import
Prefect.
"""

from __future__ import annotations

import queue
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.runtime import task_run
from prefect.states import Cancelled
from prefect.task_runners import ThreadPoolTaskRunner

from pipelines._interrupt import INTERRUPT, stop_requested
from pipelines._lifeline import die_with_serve
from pipelines._pool import BatchResult, WorkerPool, active_pool, ingest_batch_here
from pipelines._progress import Progress
from runlake import LakeBusy, load_config, run_query
from runlake._derive import Measured
from runlake._flags import load_thresholds
from runlake._ingest import finish_batch, new_files, prepare_writer
from runlake._lakefs import is_url
from runlake._store import validate_athlete, writer_lock

__all__ = ["backfill", "batch_size_for", "finish", "ingest_batch", "nightly_sync"]

# Prefect costs tens of ms per task run (and the server more): with ~5-20 ms of work per
# file, a batch must hold tens of files for the work to dominate.
MIN_BATCH = 25
TASKS_PER_WORKER = 4

# Threads only wait for their batch's worker process; typed Any (Prefect's generic
# runner types are invariant in the future type the decorator expects).
_THREADS: Any = ThreadPoolTaskRunner()


def batch_size_for(n_files: int, workers: int, configured: int = 0) -> int:
    """Files per task: the configured size, else about four tasks per worker (>= 25 files)."""
    if configured > 0:
        return configured
    if n_files == 0:
        return MIN_BATCH
    return max(MIN_BATCH, -(-n_files // (max(workers, 1) * TASKS_PER_WORKER)))


def _batch_name() -> str:
    params = task_run.parameters
    return f"batch {params['number']}/{params['of']}: {len(params['files'])} files"


@task(cache_policy=NO_CACHE, task_run_name=_batch_name, retries=1, retry_delay_seconds=2)
def ingest_batch(
    files: list[str], lake: str, athlete: str, number: int = 1, of: int = 1
) -> BatchResult:
    """Ingest one batch of files (the flow holds the lake's writer lock).

    In the flow's worker pool when there is one (a backfill), else here (the nightly sync,
    or a Dask worker). Returns the outcomes and the run and lap metrics of the new runs,
    measured while their records are in memory, for :func:`finish`.
    """
    pool = active_pool()
    if pool is not None:
        return pool.run(files, lake, athlete)
    return ingest_batch_here(files, lake, athlete, should_stop=stop_requested)


@task(cache_policy=NO_CACHE, task_run_name="finish: metrics, flags, catalog")
def finish(
    lake: str, athlete: str, outcomes: list[dict[str, Any]], measured: Measured | None = None
) -> dict[str, Any]:
    """Metrics and flags the new runs affect, then the catalog: once per flow run."""
    cfg = load_config()
    thresholds = load_thresholds(overrides=cfg.flags_overrides)
    return finish_batch(lake, athlete, outcomes, thresholds=thresholds, measured=measured)


def _resolve(lake: str | None, athlete: str | None) -> tuple[str, str, Any]:
    """The lake (absolute), athlete and config of a flow run that starts."""
    die_with_serve()
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


@contextmanager
def _stoppable(note: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop this flow's work cleanly (see :mod:`pipelines._interrupt`).

    Prefect handles SIGTERM itself while a flow runs; this takes it back for the block.
    """
    INTERRUPT.describe(note)
    with INTERRUPT.handling():
        INTERRUPT.busy_while(lambda: True)  # from here a stop commits what it has
        yield


def _ended(result: dict[str, Any]) -> dict[str, Any] | State[Any]:
    """The flow's return: its summary, or a Cancelled state holding it when it was stopped."""
    if not stop_requested():
        return result
    result["interrupted"] = True
    return Cancelled(message=f"stopped: {result['committed']} file(s) committed", data=result)


# The flow and task functions refer to module functions only (no object of this process,
# such as INTERRUPT): a Dask task runner pickles them by value.


@flow(name="nightly-sync", log_prints=False)
def nightly_sync(
    inbox: list[str] | None = None,
    lake: str | None = None,
    athlete: str | None = None,
    lock_wait_s: float | None = None,
) -> Any:
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
    outcomes: list[dict[str, Any]] = []
    try:
        with writer_lock(lake, holder="nightly-sync", timeout_s=wait, on_wait=log.info):
            prepare_writer(lake)
            files = new_files(folders, lake_root=lake, athlete=athlete)
            if not files:
                log.info("nothing new in %s", ", ".join(map(str, folders)) or "(no inbox)")
                return {**_summary([]), "committed": 0, "skipped_busy": False}
            with _stoppable(lambda: f"{len(outcomes)} of {len(files)} new file(s) committed"):
                outcomes, measured = ingest_batch([str(f) for f in files], lake, athlete)
                done = finish(lake, athlete, outcomes, measured)
    except LakeBusy as e:
        log.warning("sync skipped: %s", e)
        return {**_summary([]), "committed": 0, "skipped_busy": True}
    result = {**_summary(outcomes), **done, "committed": len(outcomes), "skipped_busy": False}
    log.info(
        "synced %d new file(s): %d new, %d warnings, %d skipped, %d errors",
        len(outcomes),
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
    return _ended(result)


@flow(name="backfill", log_prints=False, task_runner=_THREADS)
def backfill(
    folder: str,
    *,
    lake: str | None = None,
    athlete: str | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    processes: bool = True,
) -> Any:
    """Ingest a whole history folder in parallel batches; safe to interrupt and re-run.

    ``workers`` batches run at a time (config ``backfill.workers``), each in a worker
    process of this machine, or with ``processes=False`` in the task runner's own workers
    (a Dask cluster: ``backfill.with_options(task_runner=DaskTaskRunner(...))``).
    """
    log = get_run_logger()
    lake, athlete, cfg = _resolve(lake, athlete)
    n_workers = max(1, workers or cfg.backfill_workers)
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
        note = f"{{}} of {len(files)} new file(s) committed"
        with _stoppable(lambda: note.format(len(outcomes))), _pool(processes, n_workers):
            with Progress(len(files), "files") as bar:
                pool = active_pool()

                def tick() -> None:  # between two batches: the files the workers handled
                    bar.update(pool.files_done if pool is not None else len(outcomes))

                for part, part_measured in _run_batches(batches, lake, athlete, n_workers, tick):
                    outcomes.extend(part)
                    measured.extend(part_measured)
                    tick()
                    log.info("backfill: %d/%d files done", len(outcomes), len(files))
            done = finish(lake, athlete, outcomes, measured)
    result = {**_summary(outcomes), **done, "committed": len(outcomes), "to_do": len(files)}
    log.info(
        "backfill %s: %d new, %d present, %d warnings, %d skipped, %d errors",
        "stopped" if stop_requested() else "done",
        result["new"],
        result["present"],
        result["warning"],
        result["skipped"],
        result["error"],
    )
    return _ended(result)


@contextmanager
def _pool(processes: bool, workers: int) -> Iterator[None]:
    if not processes:
        yield
        return
    with WorkerPool(workers) as pool:
        INTERRUPT.on_stop(pool.stop)
        yield


def _run_batches(
    batches: list[list[str]],
    lake: str,
    athlete: str,
    in_flight: int,
    tick: Callable[[], None],
) -> Iterator[BatchResult]:
    """Run the batches as tasks, ``in_flight`` at a time; yield each result as it is done.

    ``tick`` is called about 5 times a second while waiting. After a stop, no new batch
    starts; the running ones commit what they have.
    """
    finished: queue.SimpleQueue[PrefectFuture[BatchResult]] = queue.SimpleQueue()
    todo = list(enumerate(batches, 1))
    todo.reverse()
    running = 0

    def submit() -> None:
        number, files = todo.pop()
        future = ingest_batch.submit(files, lake, athlete, number=number, of=len(batches))
        future.add_done_callback(finished.put)

    while todo and running < in_flight:
        submit()
        running += 1
    while running:
        try:
            future = finished.get(timeout=0.2)
        except queue.Empty:
            tick()
            continue
        running -= 1
        yield future.result()
        if todo and not stop_requested():
            submit()
            running += 1


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
