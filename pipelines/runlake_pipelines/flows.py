"""The flows. Each is thin wiring: find the files, hand them to tasks in batches, finish.

Resumability comes from the lake itself: every file is committed keyed by its content
hash, with its batch's manifest written last. A backfill stopped at any point (Ctrl-C,
SIGTERM, kill -9) and started again skips what was committed and redoes what was not.
Ctrl-C or SIGTERM stop it cleanly: the workers commit what they have, the flow run ends
Cancelled with what was committed (:mod:`runlake_pipelines._interrupt`).

Prefect's public API only: tasks on its ``ThreadPoolTaskRunner``, each handing its batch
to a standard-library process pool (:mod:`runlake_pipelines._pool`) whose workers never import
Prefect.
"""

from __future__ import annotations

import queue
import signal
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
from prefect.states import Cancelled, Completed
from prefect.task_runners import ThreadPoolTaskRunner

from runlake import (
    InputFile,
    Lake,
    LakeBusy,
    Measured,
    Scan,
    count_flags,
    finish_batch,
    is_url,
    load_config,
    load_thresholds,
    prepare_writer,
    run_query,
    scan_inputs,
    validate_athlete,
    writer_lock,
)
from runlake_pipelines._interrupt import INTERRUPT, stop_requested
from runlake_pipelines._lifeline import die_with_serve
from runlake_pipelines._pool import BatchResult, WorkerPool, active_pool, ingest_batch_here
from runlake_pipelines._progress import Progress

__all__ = ["backfill", "batch_size_for", "finish", "ingest_batch", "nightly_sync"]

# Prefect costs tens of ms per task run (and the server more): with ~5-20 ms of work per
# file, a batch must hold tens of files for the work to dominate.
MIN_BATCH = 50
TASKS_PER_WORKER = 4

# Threads only wait for their batch's worker process; typed Any (Prefect's generic
# runner types are invariant in the future type the decorator expects).
_THREADS: Any = ThreadPoolTaskRunner()


def batch_size_for(n_files: int, workers: int, configured: int = 0) -> int:
    """Files per task: the configured size, else about four tasks per worker (>= 50 files)."""
    if configured > 0:
        return configured
    if n_files == 0:
        return MIN_BATCH
    return max(MIN_BATCH, -(-n_files // (max(workers, 1) * TASKS_PER_WORKER)))


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``; ``many`` when the plural is not ``word + "s"``."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def _batch_name() -> str:
    params = task_run.parameters
    return f"batch {params['number']}/{params['of']}: {plural(len(params['files']), 'file')}"


@task(cache_policy=NO_CACHE, task_run_name=_batch_name, retries=1, retry_delay_seconds=2)
def ingest_batch(
    files: list[InputFile], lake: Lake | str, athlete: str, number: int = 1, of: int = 1
) -> BatchResult | State[BatchResult]:
    """Ingest one batch of files or archive members (the flow holds the lake's writer lock).

    In the flow's worker pool when there is one (a backfill), else here: the nightly sync
    hands its open :class:`Lake`, a Dask worker gets the lake's location. Returns the
    outcomes and the run and lap metrics of the new runs, measured while their records are
    in memory, for :func:`finish`; a state holding them and saying so when a stop cut the
    batch short.
    """
    pool = active_pool()
    if pool is not None:
        result = pool.run(files, lake.location if isinstance(lake, Lake) else lake, athlete)
    else:
        result = ingest_batch_here(files, lake, athlete, should_stop=stop_requested)
    done = len(result[0])
    if done < len(files):  # Completed, with why: Prefect logs a Cancelled task as an error
        return Completed(message=f"stopped after {done} of {len(files)} files", data=result)
    return result


def _batch_result(state_or_result: object) -> BatchResult:
    """What an ingest_batch future resolved to (a stopped batch's partial result too)."""
    if isinstance(state_or_result, BaseException):
        raise state_or_result
    return state_or_result  # type: ignore[return-value]


@task(cache_policy=NO_CACHE, task_run_name="finish: metrics, flags, catalog")
def finish(
    lake: Lake, athlete: str, outcomes: list[dict[str, Any]], measured: Measured | None = None
) -> dict[str, Any]:
    """Metrics and flags the new runs affect, then the catalog: once per flow run."""
    cfg = load_config()
    thresholds = load_thresholds(overrides=cfg.flags_overrides)
    return finish_batch(lake, athlete, outcomes, thresholds=thresholds, measured=measured)


def _resolve(lake: str | None, athlete: str | None) -> tuple[Lake, str, Any]:
    """The lake (opened once, at an absolute location), athlete and config of a flow run.

    The flow hands the Lake to the lock, the recovery, the scan and :func:`finish`; the
    batches get its location (they run in worker processes, or on Dask) and open it once.
    """
    if die_with_serve():  # serve handles Ctrl-C, and stops its flow runs with SIGTERM
        INTERRUPT.only(signal.SIGTERM)
    cfg = load_config()
    where = lake or str(cfg.lake)
    # Absolute, so that worker processes (or Dask workers) find the same folder.
    where = where if is_url(where) else str(Path(where).expanduser().resolve())
    return Lake(where), validate_athlete(athlete or cfg.athlete), cfg


def _summary(outcomes: list[dict[str, Any]], scan: Scan | None = None) -> dict[str, Any]:
    """Counts over the input files (archive members too): the ones ingested now
    (``outcomes``) and, from ``scan``, the ones whose content the lake had already (they
    were not opened); a line per archive; a line per folder without watch files."""
    counts = Counter(str(o["status"]) for o in outcomes)
    known = scan.present if scan is not None else 0
    return {
        "files": len(outcomes) + known,
        **{k: counts.get(k, 0) for k in ("new", "present", "skipped", "warning", "error")},
        "present": counts.get("present", 0) + known,
        "activities": sum(int(o["n_activities"]) for o in outcomes),
        "errors": [
            f"{o['source_path']}: {o['message']}" for o in outcomes if o["status"] == "error"
        ],
        "archives": [a.describe() for a in scan.archive_tallies(outcomes)] if scan else [],
        "notes": list(scan.notes) if scan is not None else [],
        "passed_over": scan.passed_over if scan is not None else 0,
    }


def _log_outcome(log: Any, what: str, result: dict[str, Any]) -> None:
    log.info(
        "%s: %s new, %d already present, %d skipped, %s, %s",
        what,
        plural(result["new"] + result["warning"], "file"),
        result["present"],
        result["skipped"],
        plural(result["warning"], "warning"),
        plural(result["error"], "rejected file"),
    )
    for line in result.get("archives", []):
        log.info("archive %s", line)
    for err in result["errors"]:
        log.warning("rejected %s", err)


@contextmanager
def _stoppable(note: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop this flow's work cleanly (see :mod:`runlake_pipelines._interrupt`).

    Prefect handles SIGTERM itself while a flow runs; this takes it back for the block.
    """
    INTERRUPT.describe(note)
    with INTERRUPT.handling():
        INTERRUPT.busy_while(lambda: True)  # from here a stop commits what it has
        yield


def _ended(result: dict[str, Any]) -> dict[str, Any] | State[Any]:
    """The flow's return: its summary, or when it was stopped a state holding it.

    Cancelled for a runlake command (which says so in one line); Completed with the same
    message in a deployment's flow run (`serve`, a worker), whose engine logs a returned
    Cancelled state as a crash with a traceback.
    """
    if not stop_requested():
        return result
    result["interrupted"] = True
    message = f"stopped: {plural(result['committed'], 'file')} committed"
    if INTERRUPT.command is None:
        return Completed(message=message, data=result)
    return Cancelled(message=message, data=result)


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
    the_lake, athlete, cfg = _resolve(lake, athlete)
    folders = [Path(p) for p in (inbox or [str(p) for p in cfg.inbox])]
    wait = cfg.sync_lock_wait_s if lock_wait_s is None else lock_wait_s
    missing = [str(p) for p in folders if not p.exists()]
    if missing:
        log.warning("inbox folder(s) missing, nothing to sync from them: %s", ", ".join(missing))
    folders = [p for p in folders if p.exists()]
    outcomes: list[dict[str, Any]] = []
    try:
        with writer_lock(the_lake, holder="nightly-sync", timeout_s=wait, on_wait=log.info):
            prepare_writer(the_lake)
            scan = scan_inputs(
                folders,
                lake=the_lake,
                athlete=athlete,
                max_file_bytes=cfg.ingest_max_file_bytes,
            )
            files = scan.todo
            if not files:
                where = ", ".join(map(str, folders)) or "(no inbox)"
                log.info("nothing new in %s (%s)", where, plural(scan.found, "watch file"))
                for line in scan.notes:
                    log.info("%s", line)
                return {**_summary([], scan), "committed": 0, "flags": [], "skipped_busy": False}
            note = f"{{}} of {plural(len(files), 'new file')} committed"
            with _stoppable(lambda: note.format(len(outcomes))):
                future = ingest_batch.submit(files, the_lake, athlete)
                outcomes, measured = _batch_result(future.result(raise_on_failure=False))
                done = finish(the_lake, athlete, outcomes, measured)
                # judged again with other thresholds: the new runs' flags are what is new
                window = None if done.get("judged_again") else done.get("flag_window")
                flags = _new_flags(the_lake, athlete, outcomes, window)
    except LakeBusy as e:
        log.warning("sync skipped: %s", e)
        return {**_summary([]), "committed": 0, "flags": [], "skipped_busy": True}
    result = {**_summary(outcomes, scan), **done, "committed": len(outcomes), "flags": flags}
    result["skipped_busy"] = False
    _log_outcome(log, "synced", result)
    if done.get("judged_again"):
        log.info("the thresholds (or runlake's rules) changed: every run and week judged again")
    if result["flags"]:
        codes = Counter(str(f["code"]) for f in result["flags"])
        log.info(
            "new flags: %s: %s (`runlake flags` tells what was seen and what to do)",
            count_flags(str(f["severity"]) for f in result["flags"]),
            ", ".join(f"{c} x{n}" if n > 1 else c for c, n in sorted(codes.items())),
        )
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
    """Ingest a whole history folder (or an export's zip) in parallel batches; safe to
    interrupt and re-run. Archive members are spread over the workers like files.

    ``workers`` batches run at a time (config ``backfill.workers``), each in a worker
    process of this machine, or with ``processes=False`` in the task runner's own workers
    (a Dask cluster: ``backfill.with_options(task_runner=DaskTaskRunner(...))``).
    """
    log = get_run_logger()
    the_lake, athlete, cfg = _resolve(lake, athlete)
    n_workers = max(1, workers or cfg.backfill_workers)
    with writer_lock(the_lake, holder="backfill", timeout_s=None, on_wait=log.info):
        prepare_writer(the_lake)
        scan = scan_inputs(
            [Path(folder)], lake=the_lake, athlete=athlete, max_file_bytes=cfg.ingest_max_file_bytes
        )
        files = scan.todo
        size = batch_size_for(len(files), n_workers, batch_size or cfg.backfill_batch_size)
        batches = [files[i : i + size] for i in range(0, len(files), size)]
        for line in scan.notes:
            log.warning("%s", line)
        log.info(
            "backfill: %s (%d already in the lake), %s of up to %d",
            plural(len(files), "new file"),
            scan.present,
            plural(len(batches), "batch", "batches"),
            size,
        )
        outcomes: list[dict[str, Any]] = []
        measured = Measured()
        note = f"{{}} of {plural(len(files), 'new file')} committed"
        with _stoppable(lambda: note.format(len(outcomes))), _pool(processes, n_workers):
            with Progress(len(files), "files") as bar:
                pool = active_pool()

                def tick() -> None:  # between two batches: the files the workers handled
                    bar.update(pool.files_done if pool is not None else len(outcomes))

                runs = _run_batches(batches, the_lake.location, athlete, n_workers, tick)
                for part, part_measured in runs:
                    outcomes.extend(part)
                    measured.extend(part_measured)
                    tick()
                    if not bar.enabled:  # on a terminal the bar tells it
                        log.info("backfill: %d/%d files done", len(outcomes), len(files))
            done = finish(the_lake, athlete, outcomes, measured)
    result = {**_summary(outcomes, scan), **done, "committed": len(outcomes)}
    result["to_do"] = len(files)
    _log_outcome(log, "backfill stopped" if stop_requested() else "backfill done", result)
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
    batches: list[list[InputFile]],
    lake: str,
    athlete: str,
    in_flight: int,
    tick: Callable[[], None],
) -> Iterator[BatchResult]:
    """Run the batches as tasks, ``in_flight`` at a time; yield each result as it is done.

    ``tick`` is called about 5 times a second while waiting. After a stop, no new batch
    starts; the running ones commit what they have.
    """
    finished: queue.SimpleQueue[PrefectFuture[Any]] = queue.SimpleQueue()
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
        yield _batch_result(future.result(raise_on_failure=False))
        if todo and not stop_requested():
            submit()
            running += 1


def _new_flags(
    lake: Lake, athlete: str, outcomes: list[dict[str, Any]], window: object
) -> list[dict[str, Any]]:
    """The flags of the new runs, and the week flags of the weeks they affected."""
    prefixes = [str(o["file_sha256"])[:16] for o in outcomes if o["status"] in ("new", "warning")]
    if not prefixes:
        return []
    first, last = window if isinstance(window, list) else ("9999-12-31", "0001-01-01")
    rows = run_query(
        lake.fs,
        "select cast(date as varchar) as date, code, severity, message from flags "
        "where athlete = ? and (list_contains(?, substr(activity_id, 1, 16)) "
        "or (activity_id is null and week_start between cast(? as date) and cast(? as date))) "
        "order by date, code",
        params=[athlete, prefixes, first, last],
    )
    return list(rows.to_pylist())
