"""Ctrl-C and SIGTERM for the flow commands (standard library only).

While the command is busy (ingesting), the first signal asks the work to stop:
:meth:`Interrupt.requested` turns True, the ingest workers finish the file they are on
and commit what they have, and the command ends with one line saying what was committed,
exit code 128 + the signal (130 for Ctrl-C, 143 for SIGTERM). When it is not busy
(starting, waiting for the lake's lock), or on a second signal, or when the grace period
runs out, the process ends at once with that line: everything the lake holds was
committed whole, and helper processes end with it (:mod:`runlake_pipelines._lifeline`).

The signal handler only writes a byte to a pipe (it runs between two bytecodes of the
main thread, which may hold any lock at that moment); a watcher thread does the rest.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

__all__ = ["INTERRUPT", "Interrupt", "stop_requested"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class Interrupt:
    """What a flow command does on SIGINT/SIGTERM; one per process (:data:`INTERRUPT`)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.grace_s = 8.0
        self.command: str | None = None  # set by a flow command; a flow run alone says nothing
        self._stopping = threading.Event()
        self._note: Callable[[], str] = lambda: "nothing was committed"
        self._hint = "run the same command again to resume"
        self._on_stop: list[Callable[[], None]] = []
        self._on_hard_exit: list[Callable[[], None]] = []
        self._busy: Callable[[], bool] = lambda: False
        self._pipe: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.signals: tuple[int, ...] = _SIGNALS

    # -- what the command tells it ---------------------------------------------------------

    def describe(self, note: Callable[[], str], *, hint: str | None = None) -> None:
        """``note()`` says what was committed so far (asked when the line is printed)."""
        self._note = note
        if hint is not None:
            self._hint = hint

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in the watcher thread) when the first signal arrives."""
        with self._lock:
            self._on_stop.append(callback)
            late = self._stopping.is_set()
        if late:
            callback()

    def on_hard_exit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` just before the process ends at once."""
        self._on_hard_exit.append(callback)

    def only(self, signum: int) -> None:
        """Stop on ``signum`` only, and ignore the other (main thread; elsewhere a no-op).

        A flow run that `runlake serve` started gets SIGTERM from serve; the Ctrl-C of the
        terminal is serve's to handle, and would otherwise count as a second signal.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        self.signals = (signum,)
        for other in _SIGNALS:
            if other != signum:
                signal.signal(other, signal.SIG_IGN)

    def busy_while(self, busy: Callable[[], bool]) -> None:
        """After the first signal, wait (up to the grace period) while ``busy()`` is True.

        Not busy: the process ends at once. Busy for good (``lambda: True``): the command
        ends by itself once its work has stopped, the grace period is the backstop.
        """
        self._busy = busy

    # -- what the work asks ----------------------------------------------------------------

    def requested(self) -> bool:
        """True once a stop was asked for."""
        return self._stopping.is_set()

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    def line(self, *, in_flight: bool = False) -> str:
        """The one line the command prints when it stops."""
        how = _NAMES.get(self.signum or signal.SIGINT, f"signal {self.signum}")
        note = self._note()
        if in_flight:  # ended at once while workers were committing: maybe a few more
            note = f"at least {note}"
        return f"{self.command or 'runlake'}: stopped ({how}): {note}; {self._hint}\n"

    # -- the machinery ---------------------------------------------------------------------

    @contextlib.contextmanager
    def handling(self) -> Iterator[Interrupt]:
        """Handle SIGINT and SIGTERM while in this block (main thread; elsewhere a no-op).

        Nested blocks are fine: Prefect installs its own SIGTERM handler while a flow runs,
        so the flow re-enters this block to take it back, then gives Prefect's back.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        self._start_watcher()
        previous = {s: signal.signal(s, self._handler) for s in self.signals}
        try:
            yield self
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                os.write(self._pipe[1], b"!")

    def _start_watcher(self) -> None:
        if self._pipe is not None:
            return
        self._pipe = os.pipe()
        threading.Thread(target=self._watch, name="runlake-interrupt", daemon=True).start()

    def _watch(self) -> None:
        assert self._pipe is not None
        read_fd = self._pipe[0]
        os.read(read_fd, 1)  # the first signal
        with self._lock:
            self._stopping.set()
            callbacks = list(self._on_stop)
        for callback in callbacks:
            with contextlib.suppress(Exception):
                callback()
        deadline = time.monotonic() + self.grace_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([read_fd], [], [], min(left, 0.1))
            if ready:  # a second signal: now
                break
            if not self._busy():
                break
        self.hard_exit()

    def hard_exit(self) -> None:
        """Print the line (in a command) and end the process now; its helpers end with it."""
        for callback in self._on_hard_exit:
            with contextlib.suppress(Exception):
                callback()
        if self.command is not None:
            with contextlib.suppress(Exception):
                os.write(2, self.line(in_flight=self._busy()).encode())
        os._exit(self.exit_code)


INTERRUPT = Interrupt()
"""The process's one :class:`Interrupt`: the CLI sets it up, the flows ask it."""


def stop_requested() -> bool:
    """True once this process was asked to stop (picklable: it travels with the tasks)."""
    return INTERRUPT.requested()
