"""Imported only by the worker pool's fork server, as its preload (see :mod:`._pool`).

Importing it makes the importing process the fork server: it ends with the command that
started it, even on ``kill -9`` (:mod:`runlake_pipelines._lifeline`), ignores Ctrl-C and SIGTERM
meant for the command (Python's fork server ignores SIGINT already), and imports runlake
once for all the workers it forks. Nothing else may import it.
"""

from __future__ import annotations

import os
import signal

from runlake_pipelines._lifeline import die_with_parent

__all__ = ["SERVER_PID"]

SERVER_PID = os.getpid()
"""This fork server's pid, which the workers forked from it inherit."""

_parent = os.environ.get("RUNLAKE_POOL_PARENT", "")
if _parent.isdigit():
    die_with_parent(int(_parent))
signal.signal(signal.SIGTERM, signal.SIG_IGN)

import runlake_pipelines._pool  # noqa: E402, F401 -- the workers' code and runlake, imported once
