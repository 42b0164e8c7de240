"""The backfill's progress bar on a terminal, with Prefect's log lines printed above it.

One renderer: the bar is drawn by rich on the console of Prefect's own console log handler,
so a log line printed while the bar is shown goes above it instead of over it. With no
terminal (cron, a log file, a test) there is no bar; the flow's log lines tell progress.
"""

from __future__ import annotations

import logging
import sys

from prefect.logging.handlers import PrefectConsoleHandler
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

__all__ = ["Progress"]


def _log_console() -> Console:
    """The console Prefect's log lines are printed on (a new one on stderr if none)."""
    for handler in logging.getLogger("prefect").handlers:
        if isinstance(handler, PrefectConsoleHandler):
            return handler.console
    return Console(file=sys.stderr)


class Progress:
    """``with Progress(total, "files") as bar: bar.advance(n)``; nothing off a terminal."""

    def __init__(self, total: int, unit: str) -> None:
        console = _log_console()
        self.enabled = total > 0 and console.is_terminal
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._bar.add_task("ingest", total=total)

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.stop()

    def advance(self, n: int) -> None:
        self._bar.advance(self._task, n)
