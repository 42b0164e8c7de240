"""The backfill's progress bar on a terminal, with Prefect's log lines printed above it.

One renderer: the bar is drawn by rich on the console of Prefect's own console log handler,
so a log line printed while the bar is shown goes above it instead of over it. With no
terminal (cron, a log file, a test) there is no bar; the flow's log lines tell progress.
The bar is drawn only when the flow updates it (no thread of its own), and a bar that
cannot be drawn is dropped: it never fails the backfill.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from prefect.logging.handlers import PrefectConsoleHandler
from rich.console import Console
from rich.default_styles import DEFAULT_STYLES
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.theme import Theme

__all__ = ["Progress"]

# Prefect's console theme holds only its log styles; the bar's come from rich's defaults.
_BAR_THEME = Theme({k: v for k, v in DEFAULT_STYLES.items() if k.startswith(("bar.", "progress."))})


def _log_console() -> Console:
    """The console Prefect's log lines are printed on (a new one on stderr if none)."""
    for name in ("prefect", None):  # Prefect's logging.yml puts it on the root logger
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler):
                return handler.console
    return Console(file=sys.stderr)


class Progress:
    """``with Progress(total, "files") as bar: bar.update(done)``; nothing off a terminal."""

    def __init__(self, total: int, unit: str) -> None:
        self._console = _log_console()
        self.enabled = total > 0 and self._console.is_terminal
        self._bar = RichProgress(
            TextColumn("ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
            auto_refresh=False,
        )
        self._task = self._bar.add_task("ingest", total=total)
        self._done = 0
        self._themed = False

    def __enter__(self) -> Progress:
        if self.enabled:
            self._console.push_theme(_BAR_THEME)
            self._themed = True
            self._guard(self._bar.start)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._themed:
            self._guard(self._bar.stop)
            self._console.pop_theme()
            self._themed = False

    def update(self, done: int) -> None:
        """Show ``done`` of the total (never less than shown already)."""
        if not self.enabled or done <= self._done:
            return
        self._done = done

        def draw() -> None:
            self._bar.update(self._task, completed=done)
            self._bar.refresh()

        self._guard(draw)

    def _guard(self, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:  # noqa: BLE001 -- a bar is never worth a failed backfill
            self.enabled = False
