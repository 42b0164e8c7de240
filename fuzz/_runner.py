"""Run fuzz cases in a worker process, each under a time bound and a memory watch.

The worker (a ``spawn``-ed process, so a wedged or crashed decoder never takes the caller
with it) ingests every case into a scratch lake with :func:`runlake.ingest._ingest.ingest_file` —
decode, normalize and the store's commit — and checks the outcome. Some cases are also
decoded in ``raise`` mode and with every message type. The parent waits for each answer at
most ``timeout_s``: no answer is a *hang* (the worker is killed and replaced), a dead worker
a *crash*. The worker resets the kernel's peak-RSS counter before each case
(``/proc/self/clear_refs``) and reports how far the case pushed it; more than
``mem_limit_mb`` is a *memory* failure, and an address-space limit keeps a runaway
allocation from taking the machine down (it surfaces as a MemoryError, also a failure).
Every ``check_every`` cases the scratch lake is checked (catalog, views, row counts against
the outcomes) and replaced by an empty one.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import queue
import re
import resource
import shutil
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from fuzz._cases import Case, _generated_fit
from runlake._errors import DecodeError
from runlake.decode import decode_fit, decode_gpx, decode_tcx
from runlake.ingest._ingest import _decode_normalize, _sniff, prepare_file
from runlake.lake._store import FileCommit, Lake
from runlake.normalize import SourceInfo
from runlake.query import run_query

__all__ = ["FuzzReport", "Worker", "run_cases"]

STATUSES = frozenset({"new", "warning", "skipped", "error", "present"})


# --------------------------------------------------------------------------- worker side


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _warning_detail(caught: list[warnings.WarningMessage]) -> str:
    w = caught[0]
    more = f" (and {len(caught) - 1} more)" if len(caught) > 1 else ""
    return (
        f'File "{w.filename}", line {w.lineno}, in warning\n'
        f"{w.category.__name__}: {w.message}{more}"
    )


def _traceback_of(data: bytes, path: Path) -> str:
    """The traceback behind an InternalError outcome (decode and normalize run again)."""
    info = SourceInfo(hashlib.sha256(data).hexdigest(), str(path), datetime.now(UTC))
    try:
        _decode_normalize(data, _sniff(data, path), info)
    except Exception:  # noqa: BLE001 - the traceback is what is wanted
        return traceback.format_exc()
    return "InternalError outcome, but decode and normalize ran without an error the 2nd time"


class _Scratch:
    """The worker's state: a scratch lake and what was committed to it."""

    def __init__(self, workdir: Path, batch: int = 64) -> None:
        self.workdir = workdir
        self.batch = batch
        self.n_lake = 0
        self.expect: Counter[str] = Counter()
        self.seen: set[str] = set()
        self.cases: list[str] = []
        self.pending: list[tuple[str, FileCommit, Counter[str]]] = []
        self._new_lake()

    def _new_lake(self) -> None:
        self.n_lake += 1
        self.root = self.workdir / f"lake{self.n_lake}"
        self.lake = Lake(self.root)
        self.expect = Counter()
        self.seen = set()
        self.cases = []
        self.pending = []

    def flush(self) -> list[tuple[str, str]]:
        """Commit the pending files as one batch, like ``ingest_files``: (case, problem)s."""
        items, self.pending = self.pending, []
        if not items:
            return []
        late: list[tuple[str, str]] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.lake.commit_batch("fuzz", [c for _, c, _ in items])
            if caught:
                late.append((items[0][0], _warning_detail(caught)))
        except Exception:  # noqa: BLE001 - find the file(s) the store refused
            for case_id, commit, counts in items:
                try:
                    self.lake.commit_batch("fuzz", [commit])
                except Exception:  # noqa: BLE001 - what the store raises is the finding
                    late.append((case_id, traceback.format_exc()))
                    self.expect.subtract(counts)
        for case_id, commit, _ in items:
            if not self.lake.is_ingested("fuzz", commit.sha256) and not any(
                cid == case_id for cid, _ in late
            ):
                late.append((case_id, "committed, but not marked as ingested"))
        return late

    def run(self, case_id: str, kind: str, name: str, data: bytes, extra: bool) -> dict[str, Any]:
        folder = self.workdir / "in"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        out: dict[str, Any] = {"case_id": case_id, "failure": None, "detail": ""}
        rss0 = _status_kb("VmRSS")
        measured = _reset_peak()
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                o, commit = prepare_file(self.lake, path, "fuzz", pending=self.pending_shas)
                out.update(status=o.status, message=o.message, n_activities=o.n_activities)
                out["n_records"] = o.n_records
                problem = self._check_outcome(case_id, o, sha, commit)
                if o.message.startswith("InternalError"):
                    out["failure"], out["detail"] = "exception", _traceback_of(data, path)
                elif problem:
                    out["failure"], out["detail"] = "outcome", problem
                elif extra:
                    self._extra_decodes(kind, data, name)
            if caught and out["failure"] is None:
                # The suite runs with warnings as errors: a warning on bad input is a bug too.
                out["failure"], out["detail"] = "warning", _warning_detail(caught)
            if len(self.pending) >= self.batch:
                out["late"] = self.flush()
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            out.setdefault("status", "exception")
            out["failure"] = "exception"
            out["detail"] = traceback.format_exc()
        out["seconds"] = time.perf_counter() - t0
        out["peak_mb"] = (_status_kb("VmHWM") - rss0) / 1024 if measured else 0.0
        path.unlink(missing_ok=True)
        self.cases.append(case_id)
        return out

    @property
    def pending_shas(self) -> set[str]:
        return {c.sha256 for _, c, _ in self.pending}

    def _check_outcome(self, case_id: str, o: Any, sha: str, commit: FileCommit | None) -> str:
        if o.status not in STATUSES:
            return f"unknown status {o.status!r}"
        if o.status != "new" and not o.message:
            return f"status {o.status} without a message"
        if o.message.startswith("InternalError"):
            return f"internal error: {o.message}"
        if o.status == "present":
            if sha not in self.seen:
                return "'present' for content this lake never saw"
            return ""
        if o.file_sha256 != sha:
            return f"sha256 {o.file_sha256} is not the file's {sha}"
        if o.n_activities < 0 or o.n_records < 0:
            return "negative counts"
        if o.status in ("new", "warning") and o.n_activities == 0:
            return f"status {o.status} with no activity"
        if commit is None or commit.sha256 != sha:
            return "nothing to commit for a file that is not 'present'"
        counts: Counter[str] = Counter(
            files=1,
            activities=o.n_activities,
            records=o.n_records,
            error_files=int(o.status != "new"),
        )
        self.seen.add(sha)
        self.expect.update(counts)
        self.pending.append((case_id, commit, counts))
        return ""

    def _extra_decodes(self, kind: str, data: bytes, name: str) -> None:
        """Strict decoding only raises runlake's decode errors; so does decoding everything."""
        if kind == "fit":
            with contextlib.suppress(DecodeError):
                decode_fit(data, source=name, on_error="raise")
            with contextlib.suppress(DecodeError):
                decode_fit(data, source=name, on_error="warn", messages=None)
        elif kind == "tcx":
            with contextlib.suppress(DecodeError):
                decode_tcx(data, source=name, on_error="raise")
        else:
            with contextlib.suppress(DecodeError):
                decode_gpx(data, source=name, on_error="raise")

    def check_lake(self) -> dict[str, Any]:
        """The scratch lake answers every view and holds exactly what the outcomes said."""
        out: dict[str, Any] = {"failure": None, "detail": "", "cases": list(self.cases)}
        out["late"] = self.flush()
        try:
            got = {
                "files": "select count(*) as n from files",
                "activities": "select count(*) as n from activities",
                "records": "select count(*) as n from records",
                "error_files": "select count(distinct file_sha256) as n from ingest_errors",
            }
            counts = {k: run_query(self.root, q).column("n")[0].as_py() for k, q in got.items()}
            for view in ("runs", "laps", "weekly_load"):
                run_query(self.root, f"select count(*) from {view}")
            want = {k: self.expect[k] for k in got}
            if counts != want:
                out["failure"] = "lake"
                out["detail"] = f"the lake holds {counts}, the outcomes said {want}"
            temps = [str(p) for p in self.root.rglob("*.tmp")]
            if temps:
                out["failure"], out["detail"] = "lake", f"temporary files left: {temps[:5]}"
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            out["failure"], out["detail"] = "lake", traceback.format_exc()
        shutil.rmtree(self.root, ignore_errors=True)
        self._new_lake()
        return out


def _serve(conn: Connection, workdir: str, as_limit_mb: int) -> None:
    scratch = _Scratch(Path(workdir))
    # Warm up every library (decoders, pyarrow, DuckDB) before measuring anything.
    name, data = _generated_fit()[0]
    scratch.run("warmup", "fit", name, data, True)
    scratch.check_lake()
    if as_limit_mb > 0:
        limit = _status_kb("VmSize") * 1024 + as_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    conn.send(("ready", _status_kb("VmRSS") / 1024))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        if msg[0] == "case":
            conn.send(scratch.run(*msg[1:]))
        elif msg[0] == "check":
            conn.send(scratch.check_lake())


# --------------------------------------------------------------------------- parent side


class Worker:
    """A fuzz worker process; replaced when a case hangs or kills it."""

    def __init__(
        self, workdir: Path, *, timeout_s: float, mem_limit_mb: float, as_limit_mb: int = 6144
    ) -> None:
        self.workdir = Path(workdir)
        self.timeout_s = timeout_s
        self.mem_limit_mb = mem_limit_mb
        self.as_limit_mb = as_limit_mb
        self.restarts = 0
        self._ctx = multiprocessing.get_context("spawn")
        self._start()

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conn, child = self._ctx.Pipe()
        self.proc = self._ctx.Process(
            target=_serve, args=(child, str(self.workdir), self.as_limit_mb), daemon=True
        )
        self.proc.start()
        child.close()
        if not self.conn.poll(180):
            self._kill()
            raise RuntimeError("the fuzz worker did not start within 180 s")
        tag, self.base_rss_mb = self.conn.recv()
        assert tag == "ready"

    def _kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(10)
        self.conn.close()

    def _restart(self) -> None:
        self._kill()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.restarts += 1
        self._start()

    def _ask(self, msg: tuple[Any, ...], timeout_s: float) -> dict[str, Any]:
        self.conn.send(msg)
        if not self.conn.poll(timeout_s):
            self._restart()
            return {"failure": "hang", "detail": f"no answer within {timeout_s:g} s"}
        try:
            answer: dict[str, Any] = self.conn.recv()
        except EOFError:
            code = self.proc.exitcode
            self._restart()
            return {"failure": "crash", "detail": f"the worker died (exit code {code})"}
        return answer

    def run(self, case: Case, *, extra: bool) -> dict[str, Any]:
        msg = ("case", case.case_id, case.kind, case.name, case.data, extra)
        res = self._ask(msg, self.timeout_s)
        res.setdefault("case_id", case.case_id)
        res.setdefault("status", res.get("failure"))
        if res["failure"] is None and res.get("peak_mb", 0.0) > self.mem_limit_mb:
            res["failure"] = "memory"
            res["detail"] = (
                f"peak RSS grew by {res['peak_mb']:.0f} MB on a {len(case.data)}-byte file"
            )
        return res

    def check(self) -> dict[str, Any]:
        return self._ask(("check",), max(self.timeout_s, 120))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.proc.join(10)
        self._kill()


_FRAME = re.compile(r'File "([^"]*/runlake/[^"]*)", line (\d+), in (\w+)')


def signature(kind: str, detail: str) -> str:
    """``kind: ExceptionType at runlake/<file>:<line> (<function>)`` for a traceback."""
    frames = _FRAME.findall(detail)
    lines = [ln for ln in detail.strip().splitlines() if ln.strip()]
    exc = lines[-1].split(":")[0].strip() if lines else ""
    if not frames:
        return f"{kind}: {exc or detail[:80]}"
    path, line, func = frames[-1]
    short = path[path.rindex("/runlake/") + 1 :]
    return f"{kind}: {exc} at {short}:{line} ({func})"


@dataclass
class FuzzReport:
    cases: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[Case | None, dict[str, Any]]] = field(default_factory=list)
    lake_checks: int = 0
    slowest: tuple[float, str] = (0.0, "")
    slowest_per_mb: tuple[float, str] = (0.0, "")
    peak_mb: tuple[float, str] = (0.0, "")
    bytes_total: int = 0
    wall_s: float = 0.0
    restarts: int = 0

    def add(self, case: Case, res: dict[str, Any]) -> None:
        self.cases += 1
        self.bytes_total += len(case.data)
        self.statuses[str(res.get("status"))] += 1
        secs = float(res.get("seconds", 0.0))
        if secs > self.slowest[0]:
            self.slowest = (secs, case.case_id)
        per_mb = secs / max(len(case.data) / 1e6, 0.01)  # files under 10 kB count as 10 kB
        if per_mb > self.slowest_per_mb[0]:
            self.slowest_per_mb = (per_mb, case.case_id)
        peak = float(res.get("peak_mb", 0.0))
        if peak > self.peak_mb[0]:
            self.peak_mb = (peak, case.case_id)
        if res.get("failure"):
            self.failures.append((case, res))

    def summary(self) -> str:
        st = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.cases} cases ({self.bytes_total / 1e6:.1f} MB) in {self.wall_s:.1f} s: {st}; "
            f"{self.lake_checks} lake checks; {len(self.failures)} failures; "
            f"slowest {self.slowest[0] * 1000:.0f} ms ({self.slowest[1]}), "
            f"slowest per MB {self.slowest_per_mb[0]:.2f} s/MB ({self.slowest_per_mb[1]}), "
            f"largest peak RSS growth {self.peak_mb[0]:.0f} MB ({self.peak_mb[1]}); "
            f"worker restarts {self.restarts}"
        )

    def signatures(self) -> dict[str, list[str]]:
        """Failures grouped by kind, exception and the innermost runlake frame -> case ids."""
        groups: dict[str, list[str]] = {}
        for case, res in self.failures:
            key = signature(str(res["failure"]), str(res["detail"]))
            groups.setdefault(key, []).append(case.case_id if case is not None else "lake")
        return groups

    def describe_signatures(self) -> str:
        return "\n".join(
            f"{len(ids):5d} x {key}   e.g. {', '.join(ids[:3])}"
            for key, ids in sorted(self.signatures().items(), key=lambda kv: -len(kv[1]))
        )

    def describe_failures(self, limit: int = 20) -> str:
        lines = []
        for case, res in self.failures[:limit]:
            what = case.describe() if case is not None else "lake check"
            lines.append(f"[{res['failure']}] {what}\n    {str(res['detail']).strip()}")
        more = len(self.failures) - limit
        if more > 0:
            lines.append(f"... and {more} more")
        return "\n".join(lines)


def run_cases(
    cases: Iterable[Case],
    *,
    workdir: Path,
    jobs: int = 1,
    timeout_s: float = 30.0,
    mem_limit_mb: float = 512.0,
    check_every: int = 300,
    extra_every: int = 3,
    on_result: Callable[[FuzzReport], None] | None = None,
) -> FuzzReport:
    """Run ``cases`` on ``jobs`` worker processes; the report holds every failure."""
    t0 = time.perf_counter()
    pool = _Pool(jobs, check_every, extra_every, on_result)
    workers = [
        Worker(workdir / f"w{k}", timeout_s=timeout_s, mem_limit_mb=mem_limit_mb)
        for k in range(jobs)
    ]
    threads = [threading.Thread(target=pool.work, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    for case in cases:
        pool.put(case, threads)
    for _ in threads:
        pool.put(None, threads)
    for t in threads:
        t.join()
    report = pool.report
    report.wall_s = time.perf_counter() - t0
    if os.environ.get("FUZZ_KEEP_WORKDIR") is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


class _Pool:
    """The cases handed to the worker threads (one per worker process), and the report
    they fill."""

    def __init__(
        self,
        jobs: int,
        check_every: int,
        extra_every: int,
        on_result: Callable[[FuzzReport], None] | None,
    ) -> None:
        self.report = FuzzReport()
        self.lock = threading.Lock()
        self.todo: queue.Queue[Case | None] = queue.Queue(maxsize=4 * jobs)
        self.check_every = check_every
        self.extra_every = extra_every
        self.on_result = on_result

    def late(self, recent: dict[str, Case], res: dict[str, Any]) -> None:
        """Failures found when a batch of earlier cases was committed (lock held)."""
        for case_id, detail in res.get("late", []):
            failure = {"case_id": case_id, "failure": "commit", "detail": detail}
            self.report.failures.append((recent.get(case_id), failure))

    def checked(self, recent: dict[str, Case], check: dict[str, Any]) -> None:
        """A check of the worker's scratch lake (lock held)."""
        self.report.lake_checks += 1
        self.late(recent, check)
        if check["failure"]:
            self.report.failures.append((None, check))

    def work(self, worker: Worker) -> None:
        """One worker thread: run cases until the ``None`` that ends the queue."""
        done = 0
        recent: dict[str, Case] = {}
        try:
            while (case := self.todo.get()) is not None:
                digest = hashlib.sha256(case.case_id.encode()).hexdigest()
                extra = int(digest, 16) % self.extra_every == 0
                recent[case.case_id] = case
                res = worker.run(case, extra=extra)
                done += 1
                check = worker.check() if done % self.check_every == 0 else None
                with self.lock:
                    self.report.add(case, res)
                    self.late(recent, res)
                    if check is not None:
                        self.checked(recent, check)
                    if self.on_result is not None:
                        self.on_result(self.report)
                if check is not None or len(recent) > 4 * 64:
                    recent = {} if check is not None else dict(list(recent.items())[-128:])
            check = worker.check()
            with self.lock:
                self.checked(recent, check)
        finally:
            with self.lock:
                self.report.restarts += worker.restarts
            worker.close()

    def put(self, item: Case | None, threads: list[threading.Thread]) -> None:
        while True:
            try:
                self.todo.put(item, timeout=1.0)
                return
            except queue.Full:
                if not any(t.is_alive() for t in threads):
                    raise RuntimeError("every fuzz worker thread died") from None
