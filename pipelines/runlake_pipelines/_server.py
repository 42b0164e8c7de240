"""A temporary local Prefect server for one command (standard library only).

With no ``PREFECT_API_URL``, the flow commands start Prefect's own server with Prefect's
public command, ``prefect server start`` (no UI), on a free port of 127.0.0.1, and point
this process at it. It is started before Prefect is imported here, so that it boots
(seconds: it imports Prefect's whole server, then opens its database in ``PREFECT_HOME``)
while this process imports Prefect and the worker pool imports runlake.

The server:
- ends with this process, however it ends: it runs under :mod:`runlake_pipelines._lifeline`, in a
  session of its own (a terminal's Ctrl-C goes to the command, which stops it);
- is stopped by :meth:`LocalServer.stop`, which the command registers with ``atexit``
  when it starts the server (before it imports Prefect), so that it runs after Prefect's
  own exit hooks have sent the last logs and events to it;
- writes its output to a temporary file, shown when it fails to start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import IO

from runlake import ServerError

__all__ = ["LocalServer"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """``prefect server start`` in a child process: :meth:`start`, :meth:`wait`, :meth:`stop`."""

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        """``settings``: Prefect settings for the server, unless the user set them."""
        self.settings = dict(settings or {})
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> str:
        """Launch the server (returns at once with its API URL; :meth:`wait` waits for it)."""
        env = {**self.settings, **os.environ}
        env.pop("PREFECT_API_URL", None)
        self._log = tempfile.TemporaryFile(prefix="runlake-prefect-server-")  # noqa: SIM115 -- open while the server runs
        command = [sys.executable, "-m", "prefect", "server", "start", "--no-ui"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runlake_pipelines._lifeline", str(os.getpid()), "--", *command],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.api_url

    def wait(
        self,
        timeout_s: float,
        *,
        slow_after_s: float = 10.0,
        on_slow: Callable[[], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> str:
        """Wait until the server answers; return its API URL.

        ``on_slow`` is called once if that takes more than ``slow_after_s`` (Prefect's first
        run on a machine creates its database). ``stop``: give up (ServerError) when it
        returns True. Raises ServerError when the server exits or does not answer in time.
        """
        started = time.monotonic()
        warned = False
        while True:
            if self.process is None:
                raise ServerError("Prefect's local server was not started")
            code = self.process.poll()
            if code is not None:
                detail = self._output_tail()
                self.stop()
                raise ServerError(
                    f"Prefect's local server exited with code {code}"
                    + (f": {detail}" if detail else "")
                )
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=1) as resp:  # noqa: S310 -- our own http://127.0.0.1 URL
                    if resp.status == 200:
                        return self.api_url
            except (urllib.error.URLError, OSError):
                pass
            waited = time.monotonic() - started
            if stop is not None and stop():
                raise ServerError("interrupted while Prefect's local server was starting")
            if waited > timeout_s:
                self.stop()
                raise ServerError(
                    f"Prefect's local server did not answer within {timeout_s:g} s "
                    "(a busy machine? PREFECT_HOME on a slow disk?)"
                )
            if not warned and waited > slow_after_s and on_slow is not None:
                on_slow()
                warned = True
            time.sleep(0.05)

    def _output_tail(self, lines: int = 5) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace")
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:])

    def kill(self) -> None:
        """End the server at once (SIGKILL, no wait): the command is ending right now."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``). Safe to call twice."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
