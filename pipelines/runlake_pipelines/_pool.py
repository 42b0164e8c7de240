"""The backfill's worker processes: a standard-library process pool that knows only runlake.

Prefect runs the per-batch tasks on threads (its public ``ThreadPoolTaskRunner``: retries,
states and names as usual); each task hands its batch to one :class:`WorkerPool`, a
``concurrent.futures.ProcessPoolExecutor`` whose workers are forked from a fork server
(``multiprocessing``'s "forkserver" start method) that imported runlake once. The workers
never import Prefect or talk to its API, so they start in a fraction of a second.

Helper processes end with the command: the fork server and each worker ask for SIGKILL
when their parent dies (:mod:`runlake_pipelines._lifeline`), and they ignore Ctrl-C and SIGTERM
meant for the command: a stop reaches them through an event, and they finish the file
they are on and commit what they have (:func:`runlake.ingest._ingest.ingest_files`).

Standard library and runlake only: the fork server is started before Prefect is imported.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from multiprocessing import forkserver, resource_tracker
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from typing import Any, Self

from runlake import ArchiveReader, InputFile, Lake, Measured, ingest_files
from runlake_pipelines._lifeline import die_with_parent

__all__ = ["BatchResult", "WorkerPool", "active_pool", "ingest_batch_here", "start_pool_server"]

BatchResult = tuple[list[dict[str, Any]], Measured]
"""A batch's outcomes (as dicts) and the metrics of its new runs."""

_PRELOAD = "runlake_pipelines._poolserver"
_PARENT_ENV = "RUNLAKE_POOL_PARENT"
_CTX = multiprocessing.get_context("forkserver")


def start_pool_server() -> None:
    """Start the fork server now, from the main thread (returns at once; idempotent).

    It imports runlake while this process goes on (the CLI calls this while Prefect's
    server boots), so the workers forked later start ready.
    """
    os.environ[_PARENT_ENV] = str(os.getpid())
    _quiet_resource_tracker()
    _CTX.set_forkserver_preload([_PRELOAD])
    forkserver.ensure_running()


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with its stderr on /dev/null.

    After a hard stop (a second Ctrl-C, kill -9) it frees the pool's semaphores, as it
    should, and would warn on the user's terminal about each "leaked" one.
    """
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        resource_tracker.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# -- in the worker processes -----------------------------------------------------------------

_stop_event: Event | None = None
_files_done: Synchronized[int] | None = None
_reader: ArchiveReader | None = None
"""The worker's archive reader, kept from batch to batch: its next batch of a compressed
archive inside an archive goes on forward instead of inflating it again from the start."""


def _init_worker(stop: Event, files_done: Synchronized[int]) -> None:
    global _stop_event, _files_done, _reader
    _stop_event, _files_done, _reader = stop, files_done, ArchiveReader()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server = sys.modules.get(_PRELOAD)
    die_with_parent(getattr(server, "SERVER_PID", None) or os.getppid())


def _stopped() -> bool:
    return _stop_event is not None and _stop_event.is_set()


def _count_file(done: int, total: int, outcome: object) -> None:
    if _files_done is not None:
        with _files_done.get_lock():
            _files_done.value += 1


def ingest_batch_here(
    files: Sequence[InputFile | str],
    lake: Lake | str,
    athlete: str,
    should_stop: Callable[[], bool] = _stopped,
) -> BatchResult:
    """Ingest one batch in this process (a worker's job, given the lake's location; also the
    inline path, given the flow's open lake).

    ``files``: files or archive members (an :class:`~runlake.InputFile` pickles as its
    archive's path and member names: the worker opens the archive itself).
    """
    measured = Measured()
    outcomes = ingest_files(
        files,
        lake=lake if isinstance(lake, Lake) else Lake(lake),
        athlete=athlete,
        measured=measured,
        should_stop=should_stop,
        progress=_count_file,
        reader=_reader,  # None outside a worker (the inline path): one for this batch
    )
    return [asdict(o) for o in outcomes], measured


# -- in the command's process ----------------------------------------------------------------


class WorkerPool:
    """``workers`` processes for the ingest tasks; :meth:`run` a batch, :meth:`stop` them."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._stop = _CTX.Event()
        self._files_done: Synchronized[int] = _CTX.Value("q", 0)
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0  # which executor: one replacement per broken one
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        global _active  # noqa: PLW0603 -- the tasks (threads of this process) find it here
        start_pool_server()
        self._executor = self._new_executor()
        _active = self
        return self

    def __exit__(self, *exc: object) -> None:
        global _active  # noqa: PLW0603
        _active = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_CTX,
            initializer=_init_worker,
            initargs=(self._stop, self._files_done),
        )

    def stop(self) -> None:
        """Ask every worker to commit what it has and return (thread-safe)."""
        self._stop.set()

    @property
    def files_done(self) -> int:
        """Files the workers have handled so far (for a progress bar)."""
        return int(self._files_done.value)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, files: Sequence[InputFile | str], lake: str, athlete: str) -> BatchResult:
        """Ingest a batch in a worker process; a broken pool (a worker killed) is replaced."""
        generation, future = self._submit(files, lake, athlete)
        try:
            return future.result()
        except BrokenProcessPool:
            if self.stopping:
                return [], Measured()
            with self._lock:  # one new executor for all the tasks that met the broken one
                if self._executor is not None and self._generation == generation:
                    self._executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = self._new_executor()
                    self._generation += 1
            return self._submit(files, lake, athlete)[1].result()

    def _submit(
        self, files: Sequence[InputFile | str], lake: str, athlete: str
    ) -> tuple[int, Future[BatchResult]]:
        with self._lock:
            if self._executor is None:
                raise RuntimeError("the worker pool is not running")
            future = self._executor.submit(ingest_batch_here, files, lake, athlete)
            return self._generation, future


_active: WorkerPool | None = None


def active_pool() -> WorkerPool | None:
    """The pool of the flow running in this process (None: run batches inline)."""
    return _active
