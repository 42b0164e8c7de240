"""The flow commands as a user runs them: `runlake backfill`, `sync`, `serve`, `demo`.

Each runs the installed command in a subprocess with the user's default environment: no
PREFECT_API_URL (the command starts its own temporary Prefect server), none of the quiet
settings the rest of the suite sets (logging level, telemetry switches), in a session of
its own as a terminal would start it. The one exception is PREFECT_HOME, a temporary
folder for the whole test run instead of ~/.prefect (its first command creates Prefect's
database there). What is checked is what a user meets: the exit code, the time from the
last piece of work to the exit, one clean line on Ctrl-C or SIGTERM, no traceback, no
process left behind, and a lake that equals an uninterrupted one.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from fuzz._crash import lake_digest

from runlake import ingest_paths
from runlake.lake._store import Lake
from runlake.synth import season_plan, write_history, write_run, write_season

from ..conftest import REPO

pytestmark = [pytest.mark.xdist_group("flow-commands"), pytest.mark.slow]

# What the rest of the suite sets to keep Prefect quiet, and a user does not.
_QUIET = (
    "PREFECT_API_URL",
    "PREFECT_LOGGING_LEVEL",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "DO_NOT_TRACK",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
    "PREFECT_UI_URL",
)
# What a user must never see from these commands.
_NOISE = (
    "Traceback",
    "Error logging to API",
    "telemetry",
    "View at",
    "Starting temporary server",  # Prefect's own server: ours was not used
    "was never awaited",
)


def _runlake() -> list[str]:
    script = Path(sys.executable).with_name("runlake")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "runlake.cli"]


def _user_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _QUIET}


@dataclass
class Command:
    """A command running in its own session; its output lines with their arrival times."""

    proc: subprocess.Popen[str]
    lines: list[tuple[float, str, str]] = field(default_factory=list)  # (time, stream, text)

    def text(self, stream: str | None = None) -> str:
        return "".join(t for _, s, t in self.lines if stream in (None, s))

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.proc.poll() is not None and re.search(pattern, self.text()) is None:
                time.sleep(0.2)  # the readers may still be draining
                if re.search(pattern, self.text()) is None:
                    break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not seen; output:\n{self.text()}")

    def finish(self, timeout_s: float) -> tuple[int, float]:
        """Exit code and the time the process exited."""
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"still running after {timeout_s} s:\n{self.text()}") from None
        ended = time.monotonic()
        for t in self._readers:
            t.join(10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return code, ended

    _readers: list[threading.Thread] = field(default_factory=list)


def start(*args: str, cwd: Path = REPO) -> Command:
    proc = subprocess.Popen(
        [*_runlake(), *args],
        env=_user_env(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's job
    )
    cmd = Command(proc)

    def read(stream: str) -> None:
        pipe = proc.stdout if stream == "out" else proc.stderr
        assert pipe is not None
        for line in pipe:
            cmd.lines.append((time.monotonic(), stream, line))

    cmd._readers = [threading.Thread(target=read, args=(s,), daemon=True) for s in ("out", "err")]
    for t in cmd._readers:
        t.start()
    return cmd


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z":
            alive.add(pid)
    return alive


def _gone_within(pids: set[int], timeout_s: float) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


def _assert_clean(cmd: Command) -> None:
    out = cmd.text()
    for noise in _NOISE:
        assert noise not in out, f"{noise!r} in the output:\n{out}"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A year of runs (~300 files): long enough to interrupt a backfill half-way."""
    folder = tmp_path_factory.mktemp("history")
    write_history(folder, years=1, seed=3)
    return folder


@pytest.fixture(scope="module")
def reference(history: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The lake of an uninterrupted ingest of the history."""
    lake = tmp_path_factory.mktemp("reference") / "lake"
    ingest_paths([history], lake_root=lake, athlete="anna")
    return lake_digest(lake)


@pytest.fixture(scope="module")
def warm_prefect(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One sync first: the first start of Prefect's server creates its database (once)."""
    inbox = tmp_path_factory.mktemp("warm-inbox")
    cmd = start("sync", "--inbox", str(inbox), "--lake", str(inbox.parent / "warm-lake"))
    code, _ = cmd.finish(300)
    assert code == 0, cmd.text()


def _committed(lake: Path) -> int:
    return len(Lake(lake).ingested_hashes("anna", refresh=True)) if lake.exists() else 0


def _backfill_under_way(args: list[str], lake: Path) -> tuple[Command, set[int]]:
    """A backfill in small batches that has committed 10 files; its helper processes."""
    cmd = start(*args, "--batch-size", "10")
    deadline = time.monotonic() + 180
    while _committed(lake) < 10 and time.monotonic() < deadline and cmd.proc.poll() is None:
        time.sleep(0.05)
    return cmd, _descendants(cmd.proc.pid)


def test_backfill_exits_seconds_after_its_work(warm_prefect: None, tmp_path: Path) -> None:
    folder, lake = tmp_path / "runs", tmp_path / "lake"
    n = len(write_season(folder, start=date(2026, 1, 5), weeks=4, seed=5))
    cmd = start("backfill", str(folder), "--lake", str(lake), "--athlete", "anna")
    code, ended = cmd.finish(180)
    assert code == 0, cmd.text()
    summary = [t for t, s, line in cmd.lines if s == "out" and line.startswith("backfill:")]
    assert summary, cmd.text()
    assert f"backfill: {n} files: {n} new" in cmd.text("out")
    assert ended - summary[0] < 4.0, f"exited {ended - summary[0]:.1f} s after its summary"
    _assert_clean(cmd)
    assert "Finished in state Completed()" in cmd.text("err")  # Prefect's logs, as usual
    assert re.search(r"Task run 'batch 1/\d+: \d+ files'", cmd.text("err"))


def test_sync_of_an_empty_inbox_is_quick_and_quiet(warm_prefect: None, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cmd = start("sync", "--inbox", str(inbox), "--lake", str(tmp_path / "lake"))
    code, _ = cmd.finish(120)
    assert code == 0, cmd.text()
    assert "sync: 0 files" in cmd.text("out")
    _assert_clean(cmd)
    # one new run, then nothing new again
    spec = season_plan(date(2026, 2, 2), weeks=2, seed=2)[0]
    write_run(inbox / spec.file_name, spec)
    cmd = start("sync", "--inbox", str(inbox), "--lake", str(tmp_path / "lake"))
    assert cmd.finish(120)[0] == 0, cmd.text()
    assert "sync: 1 file: 1 new (1 activity), 0 already present" in cmd.text("out")
    _assert_clean(cmd)


def test_a_bad_thresholds_file_stops_a_flow_command_before_it_ingests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUNLAKE_FLAGS naming a missing file: one line, exit 2, nothing ingested, no server
    left behind (checked while the server boots, before the flow runs)."""
    inbox = tmp_path / "inbox"
    spec = season_plan(date(2026, 2, 2), weeks=2, seed=2)[0]
    write_run(inbox / spec.file_name, spec)
    missing = tmp_path / "mine.toml"
    monkeypatch.setenv("RUNLAKE_FLAGS", str(missing))
    cmd = start("sync", "--inbox", str(inbox), "--lake", str(tmp_path / "lake"))
    helpers = _descendants(cmd.proc.pid)
    code, _ = cmd.finish(120)
    assert code == 2, cmd.text()
    err = cmd.text("err").splitlines()
    assert err[-1] == f"runlake: error: flags config {missing} does not exist"
    assert "Traceback" not in cmd.text()
    assert not (tmp_path / "lake").exists()
    assert not _gone_within(helpers, 30)


@pytest.mark.parametrize(
    ("how", "code", "name"),
    [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")],
)
def test_a_stopped_backfill_says_what_it_committed_and_resumes(
    warm_prefect: None,
    history: Path,
    reference: dict[str, object],
    tmp_path: Path,
    how: int,
    code: int,
    name: str,
) -> None:
    lake = tmp_path / "lake"
    args = ["backfill", str(history), "--lake", str(lake), "--athlete", "anna"]
    cmd, helpers = _backfill_under_way(args, lake)
    sent = time.monotonic()
    if how == signal.SIGINT:
        os.killpg(cmd.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    else:
        os.kill(cmd.proc.pid, signal.SIGTERM)  # what `kill` or a service manager does
    got, ended = cmd.finish(30)
    assert got == code, cmd.text()
    assert ended - sent < 10
    err = cmd.text("err")
    stops = [line for line in err.splitlines() if "stopped (" in line]
    assert len(stops) == 1, err
    found = re.fullmatch(
        rf"runlake backfill: stopped \({name}\): (\d+) of (\d+) new files committed; "
        "run the same command again to resume",
        stops[0],
    )
    assert found, stops[0]
    n_files = len(list(history.glob("*.fit")))
    committed = int(found.group(1))
    assert 10 <= committed < n_files
    assert int(found.group(2)) == n_files
    assert committed == _committed(lake)  # what it says is what the lake holds
    assert "Cancelled" in err
    assert "backfill:" not in cmd.text("out")  # the stop line is all it says
    _assert_clean(cmd)
    assert _gone_within(helpers, 5) == set()

    again = start(*args)
    assert again.finish(180)[0] == 0, again.text()
    assert f"backfill: {n_files} files: {n_files - committed} new" in again.text("out")
    assert f"{committed} already present" in again.text("out")
    assert lake_digest(lake) == reference


def test_kill_9_leaves_no_process_and_the_next_run_resumes(
    warm_prefect: None, history: Path, reference: dict[str, object], tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    args = ["backfill", str(history), "--lake", str(lake), "--athlete", "anna"]
    cmd, helpers = _backfill_under_way(args, lake)
    # the server, the fork server, its workers (and multiprocessing's resource tracker)
    assert len(helpers) >= 4, helpers
    os.kill(cmd.proc.pid, signal.SIGKILL)
    cmd.finish(30)
    assert _gone_within(helpers, 10) == set(), "processes outlived the command"
    done = _committed(lake)
    assert 10 <= done < len(list(history.glob("*.fit")))
    again = start(*args)
    assert again.finish(180)[0] == 0, again.text()
    _assert_clean(again)
    assert lake_digest(lake) == reference


def test_demo_runs_the_nightly_sync_on_its_own_lake(warm_prefect: None, tmp_path: Path) -> None:
    cfg = tmp_path / "demo.toml"
    cfg.write_text('[demo]\nweeks = 3\nstart = "2026-01-05"\n')
    folder = tmp_path / "demo"
    cmd = start("--config", str(cfg), "demo", str(folder), cwd=tmp_path)
    code, _ = cmd.finish(180)
    assert code == 0, cmd.text()
    out = cmd.text("out")
    n_files = len(list((folder / "inbox").glob("*.fit")))
    assert n_files > 10
    assert f"wrote {n_files} FIT files of a 3-week season to {folder / 'inbox'}" in out
    assert f"demo sync: {n_files} files: {n_files} new" in out
    assert "Example analysis, weekly_distance: How far and how long did I run" in out
    assert "2026-01-05" in out
    assert "Flow run" in cmd.text("err")  # it ran as a Prefect flow
    # the command it suggests can be typed as it is (runlake is not on PATH here)
    suggested = re.search(r"Your turn: (\S+) sql --lake", out)
    assert suggested, out
    assert shutil.which(suggested.group(1)) or (tmp_path / suggested.group(1)).is_file()
    _assert_clean(cmd)
    # its own lake, its own athlete; nothing in the user's default lake
    assert _committed(folder / "lake") == 0  # not "anna"
    assert len(Lake(folder / "lake").ingested_hashes("demo")) == n_files
    assert not (tmp_path / "lake").exists()


@pytest.fixture
def served(warm_prefect: None, tmp_path: Path) -> Iterator[tuple[Command, str, Path, Path]]:
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    cmd = start("serve", "--inbox", str(inbox), "--lake", str(lake), "--athlete", "anna")
    try:
        api = cmd.wait_for(r"Prefect API (http://127\.0\.0\.1:\d+/api)", 180).group(1)
        yield cmd, api, inbox, lake
    finally:
        if cmd.proc.poll() is None:
            os.killpg(cmd.proc.pid, signal.SIGKILL)
            cmd.proc.wait()


def test_serve_runs_the_sync_and_stops_on_ctrl_c(
    served: tuple[Command, str, Path, Path],
) -> None:
    cmd, api, inbox, lake = served
    spec = season_plan(date(2026, 2, 2), weeks=2, seed=2)[0]
    write_run(inbox / spec.file_name, spec)
    run = subprocess.run(
        [sys.executable, "-m", "prefect", "deployment", "run", "nightly-sync/nightly-sync"],
        env={**_user_env(), "PREFECT_API_URL": api},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    deadline = time.monotonic() + 120
    while _committed(lake) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _committed(lake) == 1, cmd.text()
    cmd.wait_for(r"Finished in state Completed", 60)
    helpers = _descendants(cmd.proc.pid)
    sent = time.monotonic()
    os.killpg(cmd.proc.pid, signal.SIGINT)
    code, ended = cmd.finish(30)
    assert code == 130, cmd.text()
    assert ended - sent < 10
    assert len([x for x in cmd.text("err").splitlines() if "stopped (Ctrl-C)" in x]) == 1
    _assert_clean(cmd)
    assert _gone_within(helpers, 5) == set()


def test_serve_stops_on_sigterm(served: tuple[Command, str, Path, Path]) -> None:
    cmd, _, _, _ = served
    helpers = _descendants(cmd.proc.pid)
    sent = time.monotonic()
    os.kill(cmd.proc.pid, signal.SIGTERM)
    code, ended = cmd.finish(30)
    assert code == 143, cmd.text()
    assert ended - sent < 10
    assert "runlake serve: stopped (SIGTERM)" in cmd.text("err")
    _assert_clean(cmd)
    assert _gone_within(helpers, 5) == set()


def test_ctrl_c_in_ingest_is_one_line_too(history: Path, tmp_path: Path) -> None:
    cmd = start("ingest", str(history), "--lake", str(tmp_path / "lake"), "--athlete", "anna")
    time.sleep(2.5)  # importing, then decoding (the whole ingest takes several seconds)
    assert cmd.proc.poll() is None, cmd.text()
    os.killpg(cmd.proc.pid, signal.SIGINT)
    code, _ = cmd.finish(30)
    assert code == 130, cmd.text()
    assert cmd.text("err").strip().splitlines()[-1] == (
        "runlake ingest: stopped (Ctrl-C); what was committed stays in the lake"
    )
    _assert_clean(cmd)
