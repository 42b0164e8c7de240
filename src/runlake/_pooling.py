"""Worker processes that end with their parent, and the fork server they are forked from.

Standard library only: a command starts the fork server (which imports runlake's data
stack once, for all the workers it forks) before it imports anything heavy itself, so the
two imports run on two cores at once. The worker pool itself is
:mod:`runlake.ingest._pool`; the Prefect flows use the same pool.

Helper processes never outlive the command, however it ends (a normal exit, Ctrl-C,
``kill -9``): on Linux each asks the kernel for SIGKILL when its parent dies
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``; the parent is the *thread* that created the child,
so they are started from the main thread). Elsewhere the request is a no-op and a normal
exit still stops them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from multiprocessing import forkserver, resource_tracker
from multiprocessing.context import BaseContext
from pathlib import Path

__all__ = [
    "CONTEXT",
    "POOL_MIN_BYTES",
    "POOL_MIN_FILES",
    "PRELOAD",
    "available_cores",
    "die_with_parent",
    "estimate_inputs",
    "free_cores",
    "pool_worth_it",
    "start_pool_server",
]

PRELOAD = "runlake._poolserver"
"""The module the fork server imports (once) before it forks workers."""
PARENT_ENV = "RUNLAKE_POOL_PARENT"
CONTEXT: BaseContext = multiprocessing.get_context("forkserver")

POOL_MIN_FILES = 16
POOL_MIN_BYTES = 4 << 20
"""Below this many input files or bytes an ingest runs in its own process: a pool costs
a fork server's start-up (~0.5 s of CPU on another core) before its first file."""

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> bool:
    """Get SIGKILL when the parent process dies; exit now if ``parent_pid`` is gone already.

    Returns False where the kernel offers no such signal (not Linux).
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    # The parent may have died between our fork and the prctl: then we were re-parented.
    if os.getppid() != parent_pid:
        os._exit(1)
    return True


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def free_cores() -> int:
    """The cores not already busy (at least 1): this process's cores less the other work,
    as ``make --load-average`` judges it, where other work is the load average of the last
    minute, or the processes running elsewhere right now when there are fewer.

    Measured on a shared 2-core machine (load 3-7): two processes in parallel ran at
    55-70 % of the speed of one alone, and a pool of two costs ~35 % more CPU than one
    process (the fork server's imports, each worker's own caches), so a pool there was
    slower than one process; on idle cores it is faster (docs/benchmarks.md). The load
    average trails by a minute: a machine busy until a moment ago is idle now, and the
    running processes say so."""
    cores = available_cores()
    try:
        load = os.getloadavg()[0]
    except OSError:
        return cores
    running = _running_elsewhere()
    if running is not None:
        load = min(load, running)
    return max(1, min(cores, round(cores - load)))


def _running_elsewhere() -> int | None:
    """Processes running or ready to run right now, this one left out (Linux's
    /proc/loadavg); None where that is not known."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            running = f.read().split()[3].split("/")[0]
        return max(0, int(running) - 1)
    except (OSError, IndexError, ValueError):
        return None


def pool_worth_it(n_files: int, n_bytes: int, workers: int) -> bool:
    """Whether ``n_files`` inputs of ``n_bytes`` in all are worth a worker pool."""
    return workers > 1 and n_files >= POOL_MIN_FILES and n_bytes >= POOL_MIN_BYTES


def estimate_inputs(paths: Iterable[Path]) -> tuple[int, int]:
    """Files and bytes under ``paths`` (every file, watch file or not), counted until they
    reach the pool's thresholds: a few ``stat`` calls to decide early whether to start the
    fork server."""
    files = size = 0
    for path in paths:
        if path.is_file():
            files, size = files + 1, size + path.stat().st_size
            continue
        for folder, _dirs, names in os.walk(path):
            for name in names:
                try:
                    size += os.stat(os.path.join(folder, name)).st_size
                except OSError:
                    continue
                files += 1
                if files >= POOL_MIN_FILES and size >= POOL_MIN_BYTES:
                    return files, size
    return files, size


def start_pool_server() -> None:
    """Start the fork server now, from the main thread (returns at once; idempotent).

    It imports runlake's data stack while this process goes on, so the workers forked
    later start ready.
    """
    os.environ[PARENT_ENV] = str(os.getpid())
    with _sigint_ignored():  # inherited: a Ctrl-C during their start-up is the command's
        _quiet_resource_tracker()
        CONTEXT.set_forkserver_preload([PRELOAD])
        forkserver.ensure_running()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while helper processes are started (they inherit it: Python's fork
    server ignores SIGINT only once it has imported its preload)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


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
