"""Prefect's local API server, started before Prefect is imported (standard library only).

With no ``PREFECT_API_URL``, the flows need a local API server that the process-pool
workers share (see :func:`pipelines.flows.shared_api_server`). The server takes seconds to
boot (it imports Prefect's whole server, then opens its database), and so does importing
Prefect in this process and in the workers. :class:`ApiServer` starts the same server
Prefect's ``SubprocessASGIServer`` starts (Prefect's ``create_app`` under uvicorn, UI off,
in ephemeral mode), but without importing Prefect first, so that the server boots while
this process and the workers import Prefect.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["ApiServer"]

# What Prefect's SubprocessASGIServer sets for its server (prefect 3.8, server/api/server.py).
_SERVER_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}
_PORT_IN_USE = 3  # uvicorn's exit code when it cannot bind


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _site_dir() -> str:
    """The folder Prefect is installed in, found without importing it."""
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        raise RuntimeError("Prefect is not installed: pip install 'runlake[flows]'")
    return str(Path(spec.origin).parent.parent)


class ApiServer:
    """A local Prefect API server in a child process: :meth:`start`, :meth:`wait`, :meth:`stop`."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        """Launch the server (returns at once; :meth:`wait` waits until it answers)."""
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                _site_dir(),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={**env, **_SERVER_ENV},
        )

    def wait(self, timeout_s: float) -> str:
        """Wait until the server answers its health check; return its API URL."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None:
                raise RuntimeError("the Prefect API server was not started")
            code = self.process.poll()
            if code == _PORT_IN_USE:  # someone took the port between our check and its bind
                self.start()
                continue
            if code is not None:
                raise RuntimeError(f"the Prefect API server exited with code {code}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=1) as resp:  # noqa: S310 -- our own http://127.0.0.1 URL
                    if resp.status == 200:
                        return self.api_url
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the Prefect API server did not answer within {timeout_s:g} s")

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 5 s)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
