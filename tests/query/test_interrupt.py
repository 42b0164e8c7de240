"""Ctrl-C stops a long query: `runlake sql` ends at once with exit 130 and one line.

Python sees SIGINT only between bytecodes, so without help a DuckDB query runs on to its
end (here: minutes) after the user pressed Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runlake import ingest_paths

FIXTURES = Path(__file__).parent.parent / "fixtures"
LONG_QUERY = "select count(*) from range(100000000000) t(i) where i % 7 = 3"


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_stops_a_long_query(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest_paths([FIXTURES / "easy-pause-autolap.fit"], lake_root=lake, athlete="me")
    proc = subprocess.Popen(
        [sys.executable, "-m", "runlake.cli", "sql", "--lake", str(lake), LONG_QUERY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal's foreground process: SIGINT not ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        # the start-up takes about 1 s of CPU; past 3 s the query is running
        deadline = time.monotonic() + 120
        while _cpu_s(proc.pid) < 3.0:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the query never got going"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["runlake sql: stopped (Ctrl-C)"]
    assert out == ""
