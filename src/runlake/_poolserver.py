"""Imported only by the worker pool's fork server, as its preload (see :mod:`runlake.ingest._pool`).

Importing it makes the importing process the fork server: it ends with the command that
started it, even on ``kill -9`` (:func:`runlake._pooling.die_with_parent`), ignores Ctrl-C
and SIGTERM meant for the command (Python's fork server ignores SIGINT already), and
imports runlake's data stack once for all the workers it forks. Nothing else may import it.
"""

from __future__ import annotations

import os
import signal

from runlake._pooling import PARENT_ENV, die_with_parent
from runlake._startup import skip_pandas_probe

__all__ = ["SERVER_PID"]

SERVER_PID = os.getpid()
"""This fork server's pid, which the workers forked from it inherit."""

_parent = os.environ.get(PARENT_ENV, "")
if _parent.isdigit():
    die_with_parent(int(_parent))
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)  # also inherited from the command (_pooling)

skip_pandas_probe()
import runlake.ingest._pool  # noqa: E402, F401 -- the workers' code and the data stack, once
