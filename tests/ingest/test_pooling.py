"""How many workers a command starts (runlake._pooling.free_cores)."""

from __future__ import annotations

import builtins
import io
from typing import Any

import pytest

from runlake import _pooling


def _machine(
    monkeypatch: pytest.MonkeyPatch, *, cores: int, load1: float, proc_loadavg: str | None
) -> None:
    monkeypatch.setattr(_pooling, "available_cores", lambda: cores)
    monkeypatch.setattr(_pooling.os, "getloadavg", lambda: (load1, load1, load1))
    real_open = builtins.open

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if file == "/proc/loadavg":
            if proc_loadavg is None:
                raise FileNotFoundError(file)
            return io.StringIO(proc_loadavg)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)


@pytest.mark.parametrize(
    ("load1", "proc_loadavg", "expected"),
    [
        # idle: every core
        (0.1, "0.10 0.20 0.30 1/120 999", 2),
        # busy until a moment ago (the load average trails), nothing else running now
        (1.3, "1.30 0.90 0.50 1/120 999", 2),
        # another process running now, and for the last minute: one core is taken
        (1.0, "1.00 1.00 1.00 2/120 999", 1),
        # a process started just now, on a machine idle for the last minute: not yet load
        (0.1, "0.10 0.10 0.10 3/120 999", 2),
        # heavily loaded: one worker
        (6.0, "6.00 6.00 6.00 7/120 999", 1),
        # no /proc/loadavg (not Linux): the load average alone
        (1.0, None, 1),
    ],
)
def test_free_cores_counts_the_other_work_now_and_over_the_last_minute(
    monkeypatch: pytest.MonkeyPatch, load1: float, proc_loadavg: str | None, expected: int
) -> None:
    _machine(monkeypatch, cores=2, load1=load1, proc_loadavg=proc_loadavg)
    assert _pooling.free_cores() == expected
