"""Worker processes for an ingest of many files: `runlake ingest` and the backfill flow.

A :class:`WorkerPool` is a standard-library ``ProcessPoolExecutor`` whose workers are
forked from a fork server (``multiprocessing``'s "forkserver" start method) that imported
runlake once (:func:`runlake._pooling.start_pool_server`). Each worker ingests whole
batches and commits them itself (:func:`ingest_batch_here`), under the writer lock its
command holds; the command merges the outcomes and the metrics measured and refreshes the
derived tables once. The Prefect flows hand their batches to the same pool (they never
import Prefect into the workers).

Helper processes end with the command: the fork server and each worker ask for SIGKILL
when their parent dies, and they ignore Ctrl-C and SIGTERM meant for the command: a stop
reaches them through an event, and they finish the file they are on and commit what they
have (:func:`runlake.ingest._ingest.ingest_files`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, Self

from runlake._pooling import CONTEXT, PRELOAD, die_with_parent, start_pool_server
from runlake.ingest._archives import ArchiveReader, InputFile
from runlake.ingest._derive import Measured
from runlake.ingest._ingest import FileOutcome, ingest_files
from runlake.ingest._scan import identify
from runlake.lake._store import Lake

__all__ = [
    "BatchResult",
    "WorkerPool",
    "active_pool",
    "ingest_batch_here",
    "ingest_in_pool",
    "start_pool_server",
]

BatchResult = tuple[list[dict[str, Any]], Measured]
"""A batch's outcomes (as dicts) and the metrics of its new runs."""


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
    server = sys.modules.get(PRELOAD)
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
    inline path, given an open lake).

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
    """``workers`` processes for ingest batches; :meth:`run` a batch, :meth:`stop` them."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._stop = CONTEXT.Event()
        self._files_done: Synchronized[int] = CONTEXT.Value("q", 0)
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
            mp_context=CONTEXT,
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
        return self.result(*self.submit(files, lake, athlete), files, lake, athlete)

    def submit(
        self, files: Sequence[InputFile | str], lake: str, athlete: str
    ) -> tuple[int, Future[BatchResult]]:
        """Queue a batch; (the executor's generation, the future) for :meth:`result`."""
        with self._lock:
            if self._executor is None:
                raise RuntimeError("the worker pool is not running")
            future = self._executor.submit(ingest_batch_here, files, lake, athlete)
            return self._generation, future

    def result(
        self,
        generation: int,
        future: Future[BatchResult],
        files: Sequence[InputFile | str],
        lake: str,
        athlete: str,
    ) -> BatchResult:
        """The batch's result; run again once on a new executor if a worker was killed
        (files already committed are skipped by content hash)."""
        try:
            return future.result()
        except BrokenProcessPool:
            if self.stopping:
                return [], Measured()
            with self._lock:  # one new executor for all the batches that met the broken one
                if self._executor is not None and self._generation == generation:
                    self._executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = self._new_executor()
                    self._generation += 1
            return self.submit(files, lake, athlete)[1].result()


_active: WorkerPool | None = None


def active_pool() -> WorkerPool | None:
    """The pool of the flow running in this process (None: run batches inline)."""
    return _active


# -- `runlake ingest` of many files -----------------------------------------------------------

BATCHES_PER_WORKER = 3
_PER_FILE_BYTES = 64 << 10
"""A file's fixed cost in bytes' worth of work, when batches are cut by size."""


def _cost(inp: InputFile) -> int:
    try:
        size = 0 if inp.members else Path(inp.path).stat().st_size
    except OSError:
        size = 0
    return size + _PER_FILE_BYTES


def _cut(todo: list[tuple[int, InputFile]], n: int) -> list[list[tuple[int, InputFile]]]:
    """``todo`` in about ``n`` runs of neighbouring inputs, of about equal cost."""
    costs = [_cost(inp) for _, inp in todo]
    target = sum(costs) / max(n, 1)
    batches: list[list[tuple[int, InputFile]]] = [[]]
    spent = 0.0
    for item, cost in zip(todo, costs, strict=True):
        if batches[-1] and spent + cost / 2 > target:
            batches.append([])
            spent = 0.0
        batches[-1].append(item)
        spent += cost
    return batches


def _known(
    inputs: Sequence[InputFile], lake: Lake, athlete: str
) -> tuple[list[FileOutcome | None], list[tuple[int, InputFile]]]:
    """The inputs whose content the lake has, or an earlier input has (their outcomes), and
    the others (to do, with their places). Workers commit in parallel: a content seen twice
    must go to one of them only."""
    slots: list[FileOutcome | None] = [None] * len(inputs)
    todo: list[tuple[int, InputFile]] = []
    seen: set[str] = set()
    with ArchiveReader() as reader:
        for i, inp in enumerate(inputs):
            sha = identify(reader, inp)
            if sha is not None and (sha in seen or lake.is_ingested(athlete, sha)):
                why = "as another file of this batch" if sha in seen else "already in the lake"
                slots[i] = FileOutcome(
                    inp.source_path, sha, "present", f"same content {why}", archive=inp.archive
                )
            else:
                todo.append((i, inp))
            if sha is not None:
                seen.add(sha)
    return slots, todo


def ingest_in_pool(
    inputs: Sequence[InputFile],
    *,
    lake: Lake,
    athlete: str,
    workers: int,
    measured: Measured | None = None,
    progress: Callable[[int, int, FileOutcome], None] | None = None,
) -> list[FileOutcome]:
    """Ingest ``inputs`` in ``workers`` processes (the caller holds the writer lock); the
    outcomes in the order of ``inputs``, as :func:`~runlake.ingest._ingest.ingest_files`
    gives them.

    Ctrl-C asks the workers to commit what they have and return, then goes on up
    (KeyboardInterrupt) once they have.
    """
    slots, todo = _known(inputs, lake, athlete)
    done = 0

    def tell(outcome: FileOutcome) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(inputs), outcome)

    for outcome in slots:
        if outcome is not None:
            tell(outcome)
    batches = _cut(todo, workers * BATCHES_PER_WORKER) if todo else []
    with WorkerPool(workers) as pool:
        queued = [
            (batch, pool.submit([inp for _, inp in batch], lake.location, athlete))
            for batch in batches
        ]
        try:
            for batch, (generation, future) in queued:
                files = [inp for _, inp in batch]
                outcomes, part = pool.result(generation, future, files, lake.location, athlete)
                for (i, _inp), got in zip(batch, outcomes, strict=False):
                    slots[i] = FileOutcome(**got)
                    tell(slots[i])  # type: ignore[arg-type]
                if measured is not None:
                    measured.extend(part)
        except KeyboardInterrupt:
            pool.stop()  # each worker commits what it prepared; the pool's exit waits
            raise
    lake.ingested_hashes(athlete, refresh=True)  # the workers committed
    return [o for o in slots if o is not None]
