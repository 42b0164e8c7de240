"""The flow commands (`runlake sync`, `backfill`, `serve`, `deploy`, `demo`) as a user meets them.

Each runs a flow of :mod:`runlake_pipelines.flows` through :func:`flow_session`, which
- takes Ctrl-C and SIGTERM (:mod:`runlake_pipelines._interrupt`): one line saying what was
  committed and how to resume, exit code 130 or 143, no traceback;
- finds the Prefect API: ``PREFECT_API_URL`` (environment or Prefect profile) when the user
  has a server, else a temporary local server for this command (:mod:`runlake_pipelines._server`),
  booted while this process imports Prefect, gone when the command ends;
- starts the worker pool's fork server early, for a backfill (:mod:`runlake.ingest._pool`).

This module imports Prefect only inside its functions, after the server was started.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runlake import Config, FlowError, ServerError
from runlake_pipelines import _settings
from runlake_pipelines._interrupt import INTERRUPT
from runlake_pipelines._lifeline import SERVE_PID_ENV, child_pids
from runlake_pipelines._server import LocalServer

__all__ = [
    "FlowError",
    "Session",
    "backfill",
    "deploy",
    "flow_session",
    "invoked_as",
    "serve",
    "summary_text",
    "sync",
]

_STARTUP_TIMEOUT_S = 180.0


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _startup_timeout() -> float:
    # Prefect's own setting for how long its temporary server may take to start.
    raw = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "")
    try:
        return max(float(raw), 10.0) if raw else _STARTUP_TIMEOUT_S
    except ValueError:
        return _STARTUP_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class Session:
    api_url: str
    server_pid: int | None  # the temporary local server's process (None: the user's server)


def _check_thresholds() -> None:
    """The flags' thresholds the flows will load: a missing or invalid file stops the
    command (ThresholdsError: one line, exit 2) before anything is ingested."""
    from runlake import load_config, load_thresholds

    load_thresholds(overrides=load_config().flags_overrides)


@contextmanager
def flow_session(command: str, *, pool: bool = False, one_run: bool = True) -> Iterator[Session]:
    """Signals, the Prefect API and (``pool``) the worker pool for one flow command.

    ``one_run``: the command runs one flow run (not `serve`): its server needs fewer services.

    Call it before anything imports Prefect: the local server and the fork server are
    started first, and Prefect is imported while they boot; the thresholds are checked
    then too (:func:`_check_thresholds`).
    """
    INTERRUPT.command = f"runlake {command}"
    with INTERRUPT.handling():
        server: LocalServer | None = None
        if not os.environ.get("PREFECT_API_URL"):
            server = LocalServer(_settings.ONE_RUN_SERVER if one_run else None)
            server.start()
            atexit.register(server.stop)  # after Prefect's exit hooks: its last logs arrive
            INTERRUPT.on_hard_exit(server.kill)
        url = _connect(server, before_wait=_start_pool if pool else None)
        process = server.process if server is not None else None
        with _local_settings(local=process is not None):
            yield Session(url, process.pid if process is not None else None)


@contextmanager
def _local_settings(*, local: bool) -> Iterator[None]:
    """With the temporary server: no flow-run heartbeats (they tell a server that outlives
    a run that it crashed; this one ends with the run, and a run's end waits up to a
    second for its heartbeat thread)."""
    if not local:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _start_pool() -> None:
    # After Prefect's import here, so the two do not compete with the booting server
    # for the same two cores; ready long before the first batch.
    from runlake import skip_pandas_probe, start_pool_server

    start_pool_server()
    skip_pandas_probe()


def _connect(server: LocalServer | None, *, before_wait: Callable[[], None] | None) -> str:
    """Point Prefect at the configured API, else at ``server`` once it answers.

    ``before_wait`` runs once Prefect is imported, before waiting for the server.
    """
    from prefect.context import refresh_global_settings_context
    from prefect.settings import PREFECT_API_URL

    configured = PREFECT_API_URL.value()
    if before_wait is not None:
        before_wait()
    _check_thresholds()  # while the server boots
    if server is None or configured:  # the environment, or the user's Prefect profile
        if server is not None:
            server.stop()
        return str(configured)
    _say(f"{INTERRUPT.command}: starting a temporary local Prefect server...")
    os.environ["PREFECT_API_URL"] = server.api_url
    _settings.apply(_settings.LOCAL_SERVER)
    refresh_global_settings_context()  # Prefect's threads read the global settings
    try:
        return server.wait(
            _startup_timeout(),
            on_slow=lambda: _say(
                f"{INTERRUPT.command}: still starting: Prefect's first start on a machine "
                "creates its database (up to a minute, once)..."
            ),
            stop=INTERRUPT.requested,
        )
    except ServerError as e:
        if INTERRUPT.requested():
            INTERRUPT.hard_exit()
        raise FlowError(str(e)) from None


def _outcome(state: Any, name: str) -> dict[str, Any]:
    """The flow's summary from its final state; FlowError if it failed."""
    if state.is_completed() or state.is_cancelled():
        result = state.result(raise_on_failure=False)
        if isinstance(result, dict):
            return result
    message = state.message or state.name
    raise FlowError(f"the {name} flow run ended {state.name}: {message}")


def _finished(name: str, result: dict[str, Any], *, lake: str, athlete: str) -> int:
    """Print the flow's summary, or the one stop line; the command's exit code."""
    if result.get("interrupted"):
        sys.stderr.write(INTERRUPT.line())
        return INTERRUPT.exit_code
    sys.stdout.write(summary_text(name, result, lake=lake, athlete=athlete))
    sys.stdout.flush()
    return 0


def _n(n: object, one: str, many: str | None = None) -> str:
    count = int(n) if isinstance(n, int) else 0
    return f"{count} {one}" if count == 1 else f"{count} {many or one + 's'}"


def invoked_as() -> str:
    """How to type this command again: `runlake` when that is on PATH, else its path."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if Path(argv0).name != "runlake":
        return "runlake"
    on_path = shutil.which("runlake")
    if on_path and Path(on_path).resolve() == Path(argv0).resolve():
        return "runlake"
    rel = os.path.relpath(argv0)
    return rel if not rel.startswith("..") else str(Path(argv0).resolve())


def summary_text(name: str, result: dict[str, Any], *, lake: str, athlete: str) -> str:
    """What a flow command prints when its flow has run."""
    if result.get("skipped_busy"):
        return f"{name}: skipped, another writer holds the lake (see the log)\n"
    lines = [
        f"{name}: {_n(result['files'], 'file')}: {result['new']} new "
        f"({_n(result['activities'], 'activity', 'activities')}), "
        f"{result['present']} already present, {result['skipped']} skipped, "
        f"{result['warning']} with warnings, {result['error']} rejected"
    ]
    lines += [f"   archive {line}" for line in result.get("archives", [])]
    lines += [f"   {note}" for note in result.get("notes", [])]
    if result["error"]:
        lines.append(
            "   the rejected files and why are in the log above and in the ingest_errors view"
        )
    flags = result.get("flags")
    if isinstance(flags, list) and flags:
        from runlake import count_flags  # the flow has run: the data stack is loaded

        since = min(str(f["date"]) for f in flags)
        lines.append(
            f"   new flags: {count_flags(str(f['severity']) for f in flags)}: "
            f"{invoked_as()} flags --lake {lake} --athlete {athlete} --since {since}"
        )
    return "\n".join(lines) + "\n"


def sync(inbox: Sequence[str] | None, lake: str, athlete: str, *, name: str = "sync") -> int:
    """`runlake sync`: the nightly-sync flow once, now."""
    with flow_session(name):
        from runlake_pipelines.flows import nightly_sync

        state = nightly_sync(
            inbox=list(inbox) if inbox else None, lake=lake, athlete=athlete, return_state=True
        )
        return _finished(name, _outcome(state, "nightly-sync"), lake=lake, athlete=athlete)


def backfill(
    folder: str,
    lake: str,
    athlete: str,
    *,
    workers: int | None,
    batch_size: int | None,
    dask_address: str | None = None,
    dask_local: bool = False,
) -> int:
    """`runlake backfill`: the backfill flow, on this machine's worker pool or on Dask."""
    on_dask = bool(dask_address or dask_local)
    if dask_address:
        check_dask_address(dask_address)  # before Prefect's server: a typo fails at once
    with flow_session("backfill", pool=not on_dask) as session:
        from runlake_pipelines.flows import backfill as flow

        if on_dask:
            runner = _dask_runner(
                dask_address, workers, temporary_server=session.server_pid is not None
            )
            flow = flow.with_options(task_runner=runner)
        state = flow(
            folder=folder,
            lake=lake,
            athlete=athlete,
            batch_size=batch_size,
            workers=workers,
            processes=not on_dask,
            return_state=True,
        )
        return _finished("backfill", _outcome(state, "backfill"), lake=lake, athlete=athlete)


DASK_CONNECT_TIMEOUT_S = 10.0


def check_dask_address(address: str) -> None:
    """FlowError unless something accepts a connection at a ``tcp://`` or ``tls://``
    scheduler address (host:port alone is read as tcp) within DASK_CONNECT_TIMEOUT_S.

    Dask's client would retry a dead address until Ctrl-C; other schemes are left to it.
    """
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in ("tcp", "tls"):
        return
    host, colon, port = rest.rstrip("/").rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit():
        raise FlowError(f"--dask-address {address}: give the scheduler as tcp://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=DASK_CONNECT_TIMEOUT_S):
            pass
    except OSError as e:
        why = "no answer" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        raise FlowError(
            f"--dask-address {address}: no Dask scheduler there ({why}); start one "
            "(`dask scheduler`) or check the address"
        ) from None


def _dask_runner(address: str | None, workers: int | None, *, temporary_server: bool) -> Any:
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError:
        raise FlowError(
            "--dask-address/--dask-local need prefect-dask: pip install 'runlake[dask]'"
        ) from None
    if address:
        if temporary_server:
            # Measured (docs/scale.md): a cluster's workers keep the Prefect client of the
            # first command that used them; its temporary server gone, later commands'
            # task events are lost (the ingest itself completes).
            sys.stderr.write(
                "runlake backfill: note: this command runs on a temporary Prefect server; "
                "when several commands share this Dask cluster, run one "
                "(`prefect server start`) and set PREFECT_API_URL, or later commands' task "
                "events are lost\n"
            )
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": workers or 2, "threads_per_worker": 1, "processes": True},
    )


def serve(
    cfg: Config, *, inbox: Sequence[str] | None, lake: str | None, athlete: str | None
) -> int:
    """`runlake serve`: run the schedules until Ctrl-C or SIGTERM (exit 130 or 143)."""
    with flow_session("serve", one_run=False) as session:
        from runlake_pipelines.deployments import deployment_specs, serve_deployments

        specs = deployment_specs(cfg, inbox=inbox, lake=lake, athlete=athlete)
        # The flow runs are this process's children; they end with it (flows._started).
        os.environ[SERVE_PID_ENV] = str(os.getpid())

        def running() -> list[int]:
            return [p for p in child_pids(os.getpid()) if p != session.server_pid]

        def forward() -> None:  # a flow run stops cleanly on SIGTERM, committing what it has
            for pid in running():
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

        INTERRUPT.describe(
            lambda: "every run that finished is in the lake, a running one committed what it had",
            hint="start it again to resume the schedules",
        )
        INTERRUPT.on_stop(forward)
        INTERRUPT.busy_while(lambda: bool(running()))
        for s in specs:
            when = f"cron '{s.cron}' ({s.timezone})" if s.cron else "on demand"
            _say(f"runlake serve: {s.name}: {when}, lake {s.parameters['lake']}")
        _say(f"runlake serve: Prefect API {session.api_url}; Ctrl-C stops")
        serve_deployments(specs)
    INTERRUPT.hard_exit()  # serve returned: only a stop ends it
    return INTERRUPT.exit_code


def deploy(cfg: Config, *, pool: str, **overrides: Any) -> int:
    """`runlake deploy`: register both flows on the user's Prefect server for ``pool``."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise FlowError(
            "runlake deploy registers the flows on a Prefect server: set PREFECT_API_URL "
            "(for example http://127.0.0.1:4200/api after `prefect server start`), or use "
            "`runlake serve`, which needs no server"
        )
    from runlake_pipelines.deployments import deploy_to_pool, deployment_specs

    specs = deployment_specs(cfg, **overrides)
    for name, s in zip(deploy_to_pool(specs, pool), specs, strict=True):
        when = f"cron '{s.cron}' ({s.timezone})" if s.cron else "on demand"
        sys.stdout.write(f"deployed {name}: {when}, work pool {pool!r}\n")
    sys.stdout.write(
        f"start a worker where runlake is installed: prefect worker start --pool {pool}\n"
    )
    return 0
