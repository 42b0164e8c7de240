"""Child processes that end with their parent, even when the parent is killed with SIGKILL.

The flow commands start helper processes: Prefect's local API server, the fork server of
the worker pool and its workers. None of them may outlive the command, however it ends
(a normal exit, Ctrl-C, ``kill -9``). On Linux each asks the kernel for a signal when its
parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); the parent is the *thread* that
created the child, so these processes are started from the main thread. Elsewhere the
request is a no-op and a normal exit still stops them.

Standard library only (``die_with_parent`` is runlake's, from a module that imports no
more): it runs before Prefect is imported, and in processes that never import it.
``python -m runlake_pipelines._lifeline PID -- CMD...`` runs ``CMD`` with this guarantee
towards ``PID`` (the server is started that way: no ``preexec_fn``, which is unsafe in a
process with threads).
"""

from __future__ import annotations

import os
import sys

from runlake import die_with_parent

__all__ = ["SERVE_PID_ENV", "child_pids", "die_with_parent", "die_with_serve"]

SERVE_PID_ENV = "RUNLAKE_SERVE_PID"
"""Set by `runlake serve` for the flow runs it starts as child processes."""


def die_with_serve() -> bool:
    """In a flow run that `runlake serve` started (its direct child): end with it.

    Returns whether this process is such a flow run.
    """
    serve_pid = os.environ.get(SERVE_PID_ENV, "")
    if serve_pid.isdigit() and int(serve_pid) == os.getppid():
        die_with_parent(int(serve_pid))
        return True
    return False


def child_pids(parent_pid: int) -> list[int]:
    """The live child processes of ``parent_pid`` (Linux /proc; [] elsewhere)."""
    out: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent_pid and fields[0] != b"Z":
            out.append(int(entry))
    return out


def _main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: python -m runlake_pipelines._lifeline PARENT_PID -- COMMAND...\n")
        raise SystemExit(2)
    die_with_parent(int(argv[0]))
    os.execvp(argv[2], argv[2:])  # the death signal survives exec  # noqa: S606


if __name__ == "__main__":
    _main(sys.argv[1:])
