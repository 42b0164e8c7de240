"""``python -m bench``: runlake's speed figures (issue 6), with fitparse and fitdecode run
on the same files in the same process, printed as one table: figure, runlake, baseline,
ratio, target, pass/fail, peak memory.

Decoding is timed as CPU time of this process (the decoders are single-threaded, so this
is their time on one core, and other work on the machine does not inflate it; on an idle
machine it equals the wall time, which is printed too); the ingest, the backfill and the
queries as wall time. Every figure is the median of several runs; runlake and a baseline
are run alternately, so both meet the same machine.

The backfill (``runlake backfill``, the Prefect flow, Prefect's start-up and shut-down
included) runs as the user runs it: the installed command, the user's default environment
(no PREFECT_* settings), of 100 files and of the whole history, each after one untimed run
(which creates Prefect's database on a machine that has none): its wall time, the CPU time
and the peak memory of all its processes (sampled from /proc), and the load average before
each run are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import importlib.metadata
import io
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from runlake import DecodeError, decode_fit, ingest_paths, load_analysis, run_query
from runlake.ingest._ingest import ACTIVITY_MESSAGES
from runlake.synth import write_history

REPO = Path(__file__).resolve().parents[1]
# Generated history and Prefect's database for the backfill (RUNLAKE_BENCH_CACHE moves it).
CACHE = Path(os.environ.get("RUNLAKE_BENCH_CACHE") or REPO / "bench" / ".cache")
CORPUS = REPO.parent / "shared" / "data" / "fit"
ATHLETE = "bench"
NAMES = sorted(ACTIVITY_MESSAGES)  # what every decoder is asked for
TARGET_RATIO = 200.0
TARGET_RECORDS_PER_S = 1e6
# Issue 16: the decoder alone against fitparse on the real corpus, and on its small files
# (under SMALL_BYTES), where the cost per message and per column dominates.
TARGET_CORPUS_RATIO = 400.0
TARGET_SMALL_RECORDS_PER_S = 2e6
SMALL_BYTES = 100_000

Files = list[tuple[str, bytes]]


# -- measuring ------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Timing:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    result: object = None

    def run(self, fn: Callable[[], object]) -> None:
        gc.collect()
        w, c = time.perf_counter(), time.process_time()
        self.result = fn()
        self.cpu.append(time.process_time() - c)
        self.wall.append(time.perf_counter() - w)

    @property
    def median(self) -> float:
        return statistics.median(self.cpu)

    def describe(self) -> str:
        cpu = " ".join(f"{t:.3f}" for t in self.cpu)
        return f"CPU {cpu} s (wall median {statistics.median(self.wall):.3f} s)"


def measure(fn: Callable[[], object], repeat: int, *, warm_up: bool = True) -> Timing:
    """``repeat`` timed runs, after one untimed run (runlake's caches of parsed definitions
    and decoding plans fill on the first files, as in any long-running ingest)."""
    if warm_up:
        fn()
    timing = Timing()
    for _ in range(repeat):
        timing.run(fn)
    return timing


def measure_pair(
    ours: Callable[[], object], theirs: Callable[[], object], repeat: int, base_repeat: int
) -> tuple[Timing, Timing]:
    """runlake (after an untimed run) and a baseline, alternately."""
    ours()
    a, b = Timing(), Timing()
    for i in range(max(repeat, base_repeat)):
        if i < repeat:
            a.run(ours)
        if i < base_repeat:
            b.run(theirs)
    return a, b


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The baselines warn (deprecated datetime calls, CRC problems): keep the output clean."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -- the decoders, each asked for the messages an activity needs ----------------------------


@dataclass
class Decoded:
    records: int = 0
    failed: int = 0


def decode_runlake(files: Files, messages: Collection[str] | None = ACTIVITY_MESSAGES) -> Decoded:
    """runlake: one Arrow table per message, CRCs checked."""
    out = Decoded()
    for name, data in files:
        try:
            fit = decode_fit(data, source=name, messages=messages)
        except DecodeError:
            out.failed += 1
            continue
        records = fit.messages.get("record")
        out.records += records.num_rows if records is not None else 0
    return out


def decode_fitparse(files: Files) -> Decoded:
    """fitparse: every message an activity needs, as a dict of values; CRC checked."""
    import fitparse  # noqa: PLC0415  (an optional baseline)

    out = Decoded()
    with quiet():
        for _name, data in files:
            try:
                for msg in fitparse.FitFile(data, check_crc=True).get_messages(NAMES):
                    msg.get_values()
                    out.records += msg.name == "record"
            except Exception:
                out.failed += 1
    return out


def decode_fitdecode(files: Files) -> Decoded:
    """fitdecode: the same messages' fields as a dict; CRC checked."""
    import fitdecode  # noqa: PLC0415  (an optional baseline)

    out = Decoded()
    wanted = set(NAMES)
    with quiet():
        for _name, data in files:
            try:
                with fitdecode.FitReader(
                    io.BytesIO(data), check_crc=fitdecode.CrcCheck.ENABLED
                ) as reader:
                    for frame in reader:
                        if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.name in wanted:
                            {f.name: f.value for f in frame.fields}
                            out.records += frame.name == "record"
            except Exception:
                out.failed += 1
    return out


BASELINES: list[tuple[str, Callable[[Files], Decoded], float | None]] = [
    ("fitparse", decode_fitparse, TARGET_RATIO),
    ("fitdecode", decode_fitdecode, None),
]


def available(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


# -- inputs ---------------------------------------------------------------------------------


def load(paths: Sequence[Path]) -> Files:
    return [(str(p), p.read_bytes()) for p in paths]


def megabytes(files: Files) -> float:
    return sum(len(d) for _n, d in files) / 1e6


def size_sample(files: Files, target_mb: float) -> Files:
    """Every k-th file in order of size (small and large files both in), about
    ``target_mb`` in all; deterministic."""
    total = megabytes(files)
    if total <= target_mb:
        return list(files)
    k = math.ceil(total / target_mb)
    ordered = sorted(files, key=lambda f: (len(f[1]), f[0]))
    return ordered[k // 2 :: k]


def history(years: int) -> list[Path]:
    """The generated history (runlake.synth.write_history), cached under CACHE."""
    folder = CACHE / f"history-{years}y-seed0"
    marker = folder / ".complete"
    if marker.is_file():
        paths = sorted(folder.glob("*.fit"))
        if len(paths) == int(marker.read_text()):
            return paths
    shutil.rmtree(folder, ignore_errors=True)
    print(f"generating a {years}-year history into {folder} (kept for later runs)...")
    t = time.perf_counter()
    paths = sorted(write_history(folder, years=years, seed=0))
    marker.write_text(str(len(paths)))
    print(f"  {len(paths)} files in {time.perf_counter() - t:.1f} s")
    return paths


# -- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    runlake: str
    baseline: str = "-"
    ratio: str = "-"
    target: str = "-"
    verdict: str = "info"
    rss_mb: float = field(default_factory=peak_rss_mb)


def secs(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def check(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def ratio_row(
    figure: str, ours: float, theirs: float, name: str, target: float | None, note: str = ""
) -> Row:
    ratio = theirs / ours
    return Row(
        figure,
        secs(ours),
        f"{name} {secs(theirs)}{note}",
        f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x",
        f">= {target:.0f}x" if target else "-",
        check(ratio >= target) if target else "info",
    )


def rate_row(
    figure: str,
    records: int,
    seconds: float,
    megabytes: float,
    target: float = TARGET_RECORDS_PER_S,
) -> Row:
    rate = records / seconds
    return Row(
        figure,
        f"{rate / 1e6:.2f} M records/s ({megabytes / seconds:.0f} MB/s)",
        target=f">= {target / 1e6:.0f} M/s",
        verdict=check(rate >= target),
    )


def text_table(rows: list[Row]) -> str:
    head = ("figure", "runlake", "baseline", "ratio", "target", "pass/fail", "peak RSS")
    cells = [
        (r.figure, r.runlake, r.baseline, r.ratio, r.target, r.verdict, f"{r.rss_mb:.0f} MB")
        for r in rows
    ]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join(lines)


def markdown_table(rows: list[Row]) -> str:
    out = [
        "| figure | runlake | baseline | ratio | target | pass/fail | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    out += [
        f"| {r.figure} | {r.runlake} | {r.baseline} | {r.ratio} | {r.target} | {r.verdict} "
        f"| {r.rss_mb:.0f} MB |"
        for r in rows
    ]
    return "\n".join(out)


def machine() -> dict[str, str]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "pyarrow": version("pyarrow"),
        "duckdb": version("duckdb"),
        "fitparse": f"python-fitparse {version('python-fitparse')}",
        "fitdecode": version("fitdecode"),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# -- the figures ----------------------------------------------------------------------------


def corpus_figures(args: argparse.Namespace, rows: list[Row]) -> None:
    paths = sorted(p for p in CORPUS.iterdir() if p.suffix.lower() == ".fit")
    files = load(paths)
    total_mb = megabytes(files)
    print(f"\ncorpus: {len(files)} FIT files, {total_mb:.1f} MB ({CORPUS})")
    whole = measure(lambda: decode_runlake(files), args.repeat)
    got = whole.result
    assert isinstance(got, Decoded)
    print(
        f"  runlake, all files: {whole.describe()}; {got.records} records, "
        f"{got.failed} files rejected"
    )
    every = measure(lambda: decode_runlake(files, None), args.repeat)
    print(f"  runlake, all files, every message: {every.describe()}")
    sample = files if args.full_baseline else size_sample(files, args.sample_mb)
    sample_mb = megabytes(sample)
    in_full = len(sample) == len(files)
    where = "every file" if in_full else f"sample of {len(sample)} files, {sample_mb:.1f} MB"
    for name, fn, has_target in BASELINES:
        if not available(name):
            print(f"  {name} is not installed: skipped")
            continue
        # issue 16: the decoder alone, on the corpus, against fitparse
        target = TARGET_CORPUS_RATIO if has_target else None
        ours, theirs, _ = decode_pair(args, name, fn, sample, where)
        print(f"    {name}: {theirs.median / sample_mb:.2f} s/MB")
        rows.append(
            ratio_row(f"FIT decode, corpus, {where}", ours.median, theirs.median, name, target)
        )
        if not in_full:
            extrapolated = theirs.median / sample_mb * total_mb
            rows.append(
                ratio_row(
                    f"FIT decode, corpus, all {len(files)} files ({total_mb:.0f} MB)",
                    whole.median,
                    extrapolated,
                    name,
                    target,
                    " (extrapolated per MB from the sample)",
                )
            )
            if name == "fitparse":
                rows.append(
                    ratio_row(
                        "  the same, runlake decoding every message (not only an activity's)",
                        every.median,
                        extrapolated,
                        name,
                        None,
                        " (extrapolated)",
                    )
                )
    rows.append(
        rate_row("FIT decode, corpus: records/s on one core", got.records, whole.median, total_mb)
    )
    small_files_figures(args, rows, files)


def small_files_figures(args: argparse.Namespace, rows: list[Row], files: Files) -> None:
    """The corpus files under SMALL_BYTES (issue 16): records/s on one core, and the ratio to
    fitparse on the same files (alternately, in this process)."""
    small = [(n, d) for n, d in files if len(d) < SMALL_BYTES]
    mb = megabytes(small)
    where = f"corpus files under {SMALL_BYTES // 1000} KB ({len(small)} files, {mb:.1f} MB)"
    ours = measure(lambda: decode_runlake(small), args.repeat)
    got = ours.result
    assert isinstance(got, Decoded)
    print(f"  {where}: runlake {ours.describe()}; {got.records} records")
    rows.append(
        rate_row(
            f"FIT decode, {where}: records/s on one core",
            got.records,
            ours.median,
            mb,
            TARGET_SMALL_RECORDS_PER_S,
        )
    )
    if available("fitparse"):
        pair, theirs, _ = decode_pair(args, "fitparse", decode_fitparse, small, where)
        rows.append(ratio_row(f"FIT decode, {where}", pair.median, theirs.median, "fitparse", None))


def decode_pair(
    args: argparse.Namespace,
    name: str,
    fn: Callable[[Files], Decoded],
    sample: Files,
    where: str,
) -> tuple[Timing, Timing, Decoded]:
    """runlake and the baseline ``name`` on ``sample``, alternately; prints both."""
    ours, theirs = measure_pair(
        lambda: decode_runlake(sample),
        functools.partial(fn, sample),
        args.repeat,
        args.baseline_repeat,
    )
    res = theirs.result
    assert isinstance(res, Decoded)
    print(f"  {where}: runlake {ours.describe()}")
    print(
        f"  {where}: {name} {theirs.describe()}; {res.records} records, {res.failed} files failed"
    )
    return ours, theirs, res


def history_figures(args: argparse.Namespace, rows: list[Row], paths: list[Path]) -> None:
    files = load(paths)
    total_mb = megabytes(files)
    print(f"\nhistory: {len(files)} generated FIT files, {total_mb:.1f} MB")
    step = max(1, len(files) // args.history_sample)
    sample = files[::step][: args.history_sample]
    sample_mb = megabytes(sample)
    where = f"sample of {len(sample)} files, {sample_mb:.1f} MB"
    for name, fn, target in BASELINES:
        if not available(name):
            continue
        ours, theirs, _ = decode_pair(args, name, fn, sample, where)
        rows.append(
            ratio_row(f"FIT decode, history, {where}", ours.median, theirs.median, name, target)
        )
    whole = measure(lambda: decode_runlake(files), args.repeat)
    got = whole.result
    assert isinstance(got, Decoded)
    print(
        f"  runlake, all {len(files)} files: {whole.describe()}; {got.records} records, "
        f"{got.failed} rejected"
    )
    rows.append(
        rate_row(
            f"FIT decode, history, all {len(files)} files ({got.records / 1e6:.1f} M records, "
            f"{secs(whole.median)}): records/s on one core",
            got.records,
            whole.median,
            total_mb,
        )
    )


def ingest_child(history_dir: Path, lake: Path) -> None:
    """Run in a fresh interpreter: ingest the history, print seconds and peak RSS as JSON."""
    t = time.perf_counter()
    summary = ingest_paths([history_dir], lake_root=lake, athlete=ATHLETE)
    seconds = time.perf_counter() - t
    statuses: dict[str, int] = {}
    for o in summary.outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    print(json.dumps({"seconds": seconds, "rss_mb": peak_rss_mb(), "statuses": statuses}))


# -- a command and all its processes ----------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it (Linux /proc; what has exited is left out)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    todo += [
                        int(c)
                        for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                    ]
    return out


def _cpu_rss(pid: int) -> tuple[float, int] | None:
    """CPU seconds (user + system) and resident bytes of one process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the command name: state ppid ... utime (14th field) stime (15th) ... rss (24th)
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[21]) * _PAGE


@dataclass
class TreeRun:
    wall_s: float
    cpu_s: float  # summed over the processes (each last seen at most `poll_s` before it ended)
    peak_rss_mb: float  # the largest sum of resident memory over the processes at one moment
    peak_process_mb: float  # the largest single process
    processes: int
    returncode: int
    load_before: tuple[float, float, float]
    output: str


def run_tree(cmd: list[str], env: dict[str, str], poll_s: float = 0.1, cwd: Path = REPO) -> TreeRun:
    """Run ``cmd``; wall time, and CPU and memory of it and every process it starts."""
    load = os.getloadavg()
    cpu: dict[int, float] = {}
    peak = peak_one = 0
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            total = 0
            for pid in _descendants(proc.pid):
                got = _cpu_rss(pid)
                if got is not None:
                    cpu[pid] = max(cpu.get(pid, 0.0), got[0])
                    total += got[1]
                    peak_one = max(peak_one, got[1])
            peak = max(peak, total)
            time.sleep(poll_s)
        wall = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    return TreeRun(
        wall,
        sum(cpu.values()),
        peak / 2**20,
        peak_one / 2**20,
        len(cpu),
        proc.returncode,
        load,
        output,
    )


def lake_figures(args: argparse.Namespace, rows: list[Row], paths: list[Path]) -> None:
    history_dir = paths[0].parent
    with tempfile.TemporaryDirectory(prefix="runlake-bench-") as tmp:
        lake = Path(tmp) / "lake"
        print(f"\ningest: {len(paths)} files into a new lake, sequential, in its own process")
        cmd = [sys.executable, "-m", "bench", "--ingest-child", str(history_dir), str(lake)]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr)
            rows.append(Row("ingest (sequential)", "failed", verdict="FAIL"))
            return
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"  {result['seconds']:.1f} s wall, statuses {result['statuses']}, "
            f"peak RSS {result['rss_mb']:.0f} MB"
        )
        row = Row(
            f"ingest of the {args.years}-year history ({len(paths)} files), sequential "
            "(`runlake ingest`, for comparison)",
            secs(result["seconds"]) + " wall",
        )
        row.rss_mb = result["rss_mb"]
        rows.append(row)
        pace = load_analysis("ground_contact_by_pace_band")
        queries: list[tuple[str, str, list[object] | dict[str, object] | None, float]] = [
            (
                "query: weekly load of one athlete",
                "select * from weekly_load where athlete = ? order by week_start",
                [ATHLETE],
                0.1,
            ),
            (
                "query: per-record scan, ground contact by pace band",
                pace.sql,
                pace.bind({"athlete": ATHLETE}),
                1.0,
            ),
        ]
        for figure, sql, params, limit in queries:
            timing = measure(
                functools.partial(run_query, lake, sql, params=params), args.query_repeat
            )
            took = statistics.median(timing.wall)
            n = getattr(timing.result, "num_rows", 0)
            print(
                f"  {figure}: {' '.join(f'{t * 1000:.0f}' for t in timing.wall)} ms wall, {n} rows"
            )
            rows.append(
                Row(
                    figure,
                    secs(took) + " wall",
                    target=f"< {secs(limit)}",
                    verdict=check(took < limit),
                )
            )


TARGET_BACKFILL_100_S = 8.0
TARGET_BACKFILL_S = 20.0


# What the test suite and earlier benchmarks set to keep Prefect quiet or fast, and a user
# does not: the backfill is measured without them, as a user runs it.
_NOT_THE_USERS = (
    "PREFECT_API_URL",
    "PREFECT_HOME",
    "PREFECT_LOGGING_LEVEL",
    "PREFECT_LOGGING_TO_API_ENABLED",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "DO_NOT_TRACK",
)


def _first_files(paths: list[Path], n: int) -> Path:
    """A folder of links to the first ``n`` history files (cached)."""
    folder = CACHE / f"{paths[0].parent.name}-first{n}"
    if len(list(folder.glob("*.fit"))) != n:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for p in paths[:n]:
            (folder / p.name).symlink_to(p)
    return folder


def _backfill_runs(folder: Path, n_files: int, repeat: int) -> list[TreeRun] | None:
    """``runlake backfill`` of ``folder`` into new lakes: one untimed run, then ``repeat``."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_THE_USERS}
    runs: list[TreeRun] = []
    with tempfile.TemporaryDirectory(prefix="runlake-bench-") as tmp:
        for i in range(repeat + 1):
            lake = Path(tmp) / f"lake{i}"
            cmd = [str(Path(sys.executable).with_name("runlake")), "backfill", str(folder)]
            cmd += ["--lake", str(lake), "--athlete", ATHLETE, "--workers", "2"]
            run = run_tree(cmd, env)
            if run.returncode != 0 or f"backfill: {n_files} files" not in run.output:
                print(run.output)
                return None
            shutil.rmtree(lake, ignore_errors=True)
            label = "warm-up" if i == 0 else f"run {i}"
            print(
                f"  {label}: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s CPU in "
                f"{run.processes} processes, peak RSS {run.peak_rss_mb:.0f} MB "
                f"(largest process {run.peak_process_mb:.0f} MB), load before "
                + " ".join(f"{x:.2f}" for x in run.load_before)
            )
            if i:
                runs.append(run)
    return runs


def backfill_figures(args: argparse.Namespace, rows: list[Row], paths: list[Path]) -> None:
    """``runlake backfill`` as a user runs it: 100 files, then the whole history.

    The user's default environment (no PREFECT_* settings, Prefect's home in ~/.prefect);
    Prefect's start-up and shut-down included. The untimed first run of each creates
    Prefect's database if this machine has none yet.
    """
    figures = [
        (_first_files(paths, 100), 100, TARGET_BACKFILL_100_S, "a backfill of 100 files"),
        (paths[0].parent, len(paths), TARGET_BACKFILL_S, f"the {args.years}-year history"),
    ]
    for folder, n_files, target, what in figures:
        print(
            f"\nbackfill: `runlake backfill` of {what} ({n_files} files) into a new lake, "
            "2 workers, the user's default environment; one untimed run first"
        )
        runs = _backfill_runs(folder, n_files, args.backfill_repeat)
        if runs is None:
            rows.append(Row(f"backfill of {what} (`runlake backfill`)", "failed", verdict="FAIL"))
            continue
        took = statistics.median(r.wall_s for r in runs)
        row = Row(
            f"`runlake backfill` of {what} ({n_files} files), 2 workers, start to exit, "
            "default environment",
            f"{secs(took)} wall (median of {len(runs)}; "
            + ", ".join(f"{r.wall_s:.1f}" for r in runs)
            + f" s; CPU {statistics.median(r.cpu_s for r in runs):.0f} s)",
            target=f"<= {target:.0f} s",
            verdict=check(took <= target),
        )
        row.rss_mb = max(r.peak_rss_mb for r in runs)
        rows.append(row)


# -- GPX and TCX (issue 14) ------------------------------------------------------------------

DATA = CORPUS.parent
TARGET_GPX_RATIO = 5.0  # GPX against gpxpy.parse, TCX against the tests' reference reader
TARGET_FIT_INGEST_RATIO = 60.0
TARGET_STARTUP_S = 0.3
TARGET_POINTS_VS_FIT = 2.0


def _runlake_cmd() -> str:
    return str(Path(sys.executable).with_name("runlake"))


def ingest_runs(
    folder: Path, repeat: int, table: str = "records", *, empty: bool = False
) -> tuple[list[TreeRun], int]:
    """``runlake ingest <folder>`` into a fresh lake, as installed: wall time of each run
    (start-up included) and the rows of ``table`` it wrote. ``empty``: a folder with no
    watch file, which the command reports with exit status 1 after its start-up."""
    runs: list[TreeRun] = []
    rows = 0
    with tempfile.TemporaryDirectory(prefix="runlake-bench-") as tmp:
        for i in range(repeat):
            lake = Path(tmp) / f"lake{i}"
            run = run_tree(
                [_runlake_cmd(), "ingest", str(folder), "--lake", str(lake), "--athlete", ATHLETE],
                dict(os.environ),
            )
            if empty and run.returncode == 1 and "no watch files" in run.output:
                runs.append(run)
                continue
            if run.returncode != 0:
                print(run.output)
                raise SystemExit(f"runlake ingest {folder} failed")
            if table is not None:
                got = run_query(lake, f"select count(*) as n from {table}")
                rows = int(got.column("n")[0].as_py())
            shutil.rmtree(lake, ignore_errors=True)
            runs.append(run)
    return runs, rows


def _walls(runs: list[TreeRun]) -> str:
    walls = ", ".join(f"{r.wall_s:.2f}" for r in runs)
    return f"{walls} s wall (CPU " + ", ".join(f"{r.cpu_s:.2f}" for r in runs) + ")"


def _gpxpy_parse(files: Files) -> int:
    """gpxpy.parse alone, on the standard library's parser (faster than on lxml, which
    gpxpy picks when it is installed, as it is with runlake): the stricter baseline."""
    import xml.etree.ElementTree as ET  # noqa: PLC0415

    import gpxpy  # noqa: PLC0415  (a dev dependency)
    import gpxpy.parser  # noqa: PLC0415

    gpxpy.parser.mod_etree = ET  # type: ignore[attr-defined]
    n = 0
    for _name, data in files:
        text = data[3:].decode() if data.startswith(b"\xef\xbb\xbf") else data.decode()
        gpx = gpxpy.parse(text)
        n += sum(len(s.points) for t in gpx.tracks for s in t.segments)
    return n


def _tcx_reference(files: Files) -> int:
    """The tests' reference TCX reader (stdlib ElementTree, tests/decode/test_tcx_crosscheck)."""
    from tests.decode.test_tcx_crosscheck import reference  # noqa: PLC0415

    n = 0
    for _name, data in files:
        with contextlib.suppress(Exception):
            n += len(reference(data)[2])
    return n


def _tcxreader(paths: list[Path]) -> int:
    from tcxreader.tcxreader import TCXReader  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415

    n = 0
    with quiet():
        for p in paths:
            with contextlib.suppress(Exception):
                n += len(TCXReader().read(str(p)).trackpoints)
    return n


def _decode_all(files: Files, decode: Callable[..., object]) -> int:
    n = 0
    for name, data in files:
        with contextlib.suppress(DecodeError):
            got = decode(data, source=name)
            n += got.points.num_rows  # type: ignore[attr-defined]
    return n


def _one_run_folder() -> Path:
    """A folder holding one generated 30-minute run (cached)."""
    from runlake.synth import RunSpec, write_run  # noqa: PLC0415

    folder = CACHE / "one-run"
    if not any(folder.glob("*.fit")):
        folder.mkdir(parents=True, exist_ok=True)
        spec = RunSpec(
            start=datetime(2026, 3, 2, 7, 0, tzinfo=UTC),
            kind="easy",
            duration_s=1800,
            base_speed_mps=3.0,
            base_hr_bpm=140.0,
            cadence_spm=170.0,
            seed=1,
        )
        write_run(folder / spec.file_name, spec)
    return folder


def startup_figures(args: argparse.Namespace, rows: list[Row]) -> None:
    """`runlake --help` and `runlake sql "select 1"` (on a lake of one run), start to exit,
    5 runs each, alternately: the median wall time (target) and the CPU time."""
    with tempfile.TemporaryDirectory(prefix="runlake-bench-") as tmp:
        lake = Path(tmp) / "lake"
        cmd = [_runlake_cmd(), "ingest", str(_one_run_folder()), "--lake", str(lake)]
        subprocess.run([*cmd, "--athlete", ATHLETE], check=True, capture_output=True)
        commands = {
            "`runlake --help`": [_runlake_cmd(), "--help"],
            '`runlake sql "select 1"` (a lake of one run)': [
                _runlake_cmd(),
                "sql",
                "select 1",
                "--lake",
                str(lake),
            ],
        }
        runs: dict[str, list[TreeRun]] = {k: [] for k in commands}
        for _ in range(args.repeat + 1):
            for what, command in commands.items():
                runs[what].append(run_tree(command, dict(os.environ), poll_s=0.01))
        print("\nstart-up (the first run of each untimed):")
        for what, all_runs in runs.items():
            got = all_runs[1:]
            wall = statistics.median(r.wall_s for r in got)
            cpu = statistics.median(r.cpu_s for r in got)
            print(f"  {what}: {_walls(got)}; load before {got[0].load_before[0]:.1f}")
            rows.append(
                Row(
                    f"start-up: {what}, start to exit",
                    f"{secs(wall)} wall, {secs(cpu)} CPU (median of {len(got)})",
                    target=f"< {secs(TARGET_STARTUP_S)} wall",
                    verdict=check(wall < TARGET_STARTUP_S),
                )
            )


def xml_figures(args: argparse.Namespace, rows: list[Row]) -> None:
    """GPX and TCX (issue 14): `runlake ingest` of the corpus files, start-up included,
    against gpxpy.parse alone (and the TCX reference reader), and points/s against FIT
    records/s, in one run."""
    from runlake import decode_gpx, decode_tcx  # noqa: PLC0415

    n = args.xml_repeat
    one = _one_run_folder()
    startup, _ = ingest_runs(one, n)
    start_s = statistics.median(r.wall_s for r in startup)
    print(f"\n`runlake ingest` of one run (start-up, derived tables, catalog): {_walls(startup)}")
    rows.append(
        Row(
            "`runlake ingest` of one run: start-up, derived tables and catalog",
            f"{secs(start_s)} wall, {secs(statistics.median(r.cpu_s for r in startup))} CPU",
        )
    )
    fit_files = load(sorted(p for p in (DATA / "fit").iterdir() if p.suffix.lower() == ".fit"))
    fit_mb = megabytes(fit_files)
    sample = fit_files if args.full_baseline else size_sample(fit_files, args.sample_mb)
    sample_mb = megabytes(sample)
    fitparse = Timing()
    fit_runs: list[TreeRun] = []
    for _ in range(n):  # alternately: both meet the same machine
        more, fit_records = ingest_runs(DATA / "fit", 1)
        fit_runs += more
        if available("fitparse") and len(fitparse.cpu) < args.baseline_repeat:
            fitparse.run(functools.partial(decode_fitparse, sample))
    fit_s = statistics.median(r.wall_s for r in fit_runs)
    fit_cpu = statistics.median(r.cpu_s for r in fit_runs)
    fit_rate = fit_records / fit_s
    fit_cpu_rate = fit_records / fit_cpu
    print(f"FIT corpus: `runlake ingest` {_walls(fit_runs)}, {fit_records} records")
    rows.append(
        Row(
            f"FIT: `runlake ingest` of the corpus ({fit_records} records), start to exit",
            f"{secs(fit_s)} wall, {secs(fit_cpu)} CPU; {fit_rate / 1e3:.0f} k records/s",
        )
    )
    if fitparse.cpu:
        where = "" if len(sample) == len(fit_files) else " (extrapolated per MB from a sample)"
        scale = fit_mb / sample_mb
        print(
            f"fitparse alone, {len(sample)} files, {sample_mb:.1f} MB: {fitparse.describe()}; "
            f"x {scale:.2f} for the corpus's {fit_mb:.1f} MB"
        )
        for what, ours, theirs in (
            ("wall", fit_s, statistics.median(fitparse.wall) * scale),
            ("CPU", fit_cpu, statistics.median(fitparse.cpu) * scale),
        ):
            rows.append(
                ratio_row(
                    f"FIT: `runlake ingest` of the corpus ({len(fit_files)} files, "
                    f"{fit_mb:.0f} MB), start to exit, {what} time (all its processes), "
                    "against fitparse decoding alone",
                    ours,
                    theirs,
                    f"fitparse alone ({what})",
                    TARGET_FIT_INGEST_RATIO,
                    where,
                )
            )
    for kind, decode, baseline_name in (
        ("gpx", decode_gpx, "gpxpy.parse"),
        ("tcx", decode_tcx, "reference reader (ElementTree)"),
    ):
        paths = sorted(p for p in (DATA / kind).iterdir() if p.suffix.lower() == f".{kind}")
        rate = (fit_rate, fit_cpu_rate)
        _xml_rows(args, rows, kind, DATA / kind, paths, baseline_name, rate, start_s, decode=decode)
        if args.xml_copies > 1:
            with tempfile.TemporaryDirectory(prefix="runlake-bench-") as tmp:
                copies = _distinct_copies(paths, Path(tmp), args.xml_copies)
                _xml_rows(args, rows, kind, Path(tmp), copies, baseline_name, rate, start_s)


def _distinct_copies(paths: list[Path], folder: Path, n: int) -> list[Path]:
    """``n`` copies of each XML file, the k-th with k spaces after its root element's
    name: the same points, another content hash (the lake takes each copy as a file of its
    own, as a larger history would be), still plain for the fast scan."""
    out: list[Path] = []
    for k in range(1, n + 1):
        for p in paths:
            data = p.read_bytes()
            root = _ROOT_TAG.search(data)
            if root is None:
                continue
            copy = folder / f"{p.stem}-{k}{p.suffix}"
            copy.write_bytes(data[: root.end()] + b" " * k + data[root.end() :])
            out.append(copy)
    return out


_ROOT_TAG = re.compile(rb"<[A-Za-z][^\s/>]*")


def _xml_rows(
    args: argparse.Namespace,
    rows: list[Row],
    kind: str,
    folder: Path,
    paths: list[Path],
    baseline_name: str,
    fit_rates: tuple[float, float],
    start_s: float,
    *,
    decode: Callable[..., object] | None = None,
) -> None:
    """`runlake ingest` of ``folder`` (the files ``paths``) against the baseline reader on
    the same files, alternately; points/s against FIT's records/s; ``decode``: also the
    decoder alone."""
    n = args.xml_repeat
    fit_rate, fit_cpu_rate = fit_rates
    files = load(paths)
    mb = megabytes(files)
    baseline = _gpxpy_parse if kind == "gpx" else _tcx_reference
    base = Timing()
    runs: list[TreeRun] = []
    for _ in range(n):  # alternately: both meet the same machine
        more, points = ingest_runs(folder, 1)
        runs += more
        base.run(functools.partial(baseline, files))
    ours = statistics.median(r.wall_s for r in runs)
    theirs = statistics.median(base.wall)
    label = kind.upper()
    what = "the corpus" if folder == DATA / kind else f"the corpus x {args.xml_copies} (copies)"
    print(
        f"{label} {what}: {len(files)} files, {mb:.1f} MB; `runlake ingest` {_walls(runs)} "
        f"({points} points); {baseline_name} alone {base.describe()}"
    )
    rows.append(
        ratio_row(
            f"{label}: `runlake ingest` of {what} ({len(files)} files, {mb:.0f} MB, "
            f"{points} points), start-up included, fresh lake",
            ours,
            theirs,
            f"{baseline_name} alone",
            TARGET_GPX_RATIO,
        )
    )
    rows.append(
        ratio_row(
            f"{label}: the same, CPU time of `runlake ingest` (all its processes) against "
            f"{baseline_name} alone (CPU): fair on a busy machine",
            statistics.median(r.cpu_s for r in runs),
            statistics.median(base.cpu),
            f"{baseline_name} alone (CPU)",
            TARGET_GPX_RATIO,
        )
    )
    rate = points / ours
    cpu_rate = points / statistics.median(r.cpu_s for r in runs)
    # the start-up run's wall time can exceed this one's on a machine whose load moves
    steady = (
        f"{points / (ours - start_s) / 1e3:.0f} k/s after start-up"
        if ours > start_s
        else "start-up run slower than this one: load moved"
    )
    rows.append(
        Row(
            f"{label}: points/s end to end ({what}), against FIT records/s end to end",
            f"{rate / 1e3:.0f} k points/s ({steady})",
            f"FIT {fit_rate / 1e3:.0f} k records/s",
            f"{fit_rate / rate:.1f}x slower",
            f"<= {TARGET_POINTS_VS_FIT:.0f}x",
            check(fit_rate / rate <= TARGET_POINTS_VS_FIT),
        )
    )
    rows.append(
        Row(
            f"{label}: the same per CPU second of `runlake ingest`",
            f"{cpu_rate / 1e3:.0f} k points per CPU s",
            f"FIT {fit_cpu_rate / 1e3:.0f} k records per CPU s",
            f"{fit_cpu_rate / cpu_rate:.1f}x slower",
            f"<= {TARGET_POINTS_VS_FIT:.0f}x",
            check(fit_cpu_rate / cpu_rate <= TARGET_POINTS_VS_FIT),
        )
    )
    if decode is None:
        return
    decoded = measure(functools.partial(_decode_all, files, decode), n)
    print(f"decode_{kind} alone {decoded.describe()}")
    rows.append(
        ratio_row(
            f"{label}: decode_{kind} alone (CPU), every corpus file",
            decoded.median,
            statistics.median(base.cpu),
            f"{baseline_name} alone (CPU)",
            None,
        )
    )
    if kind == "tcx" and available("tcxreader"):
        other = measure(functools.partial(_tcxreader, paths), n, warm_up=False)
        rows.append(
            ratio_row(
                "TCX: decode_tcx alone (CPU) against tcxreader 0.4.11 (which drops points)",
                decoded.median,
                other.median,
                "tcxreader",
                None,
            )
        )


# -- main -----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="small samples, fewer runs, a 1-year history"
    )
    parser.add_argument(
        "--corpus-only",
        action="store_true",
        help="only the real corpus (no generated history, ingest, queries)",
    )
    parser.add_argument("--years", type=int, help="years of generated history (default 5)")
    parser.add_argument("--repeat", type=int, help="runs of each runlake figure (default 5)")
    parser.add_argument(
        "--baseline-repeat", type=int, help="runs of each baseline figure (default 3)"
    )
    parser.add_argument(
        "--sample-mb", type=float, help="corpus sample the baselines decode (default 4 MB)"
    )
    parser.add_argument(
        "--history-sample", type=int, help="generated files the baselines decode (default 30)"
    )
    parser.add_argument(
        "--full-baseline",
        action="store_true",
        help="run the baselines on the whole corpus (minutes)",
    )
    parser.add_argument(
        "--backfill-repeat", type=int, help="timed runs of `runlake backfill` (default 3)"
    )
    parser.add_argument(
        "--backfill-only", action="store_true", help="only the backfill (generated history)"
    )
    parser.add_argument(
        "--xml-only",
        action="store_true",
        help="only `runlake ingest` of the corpus: FIT against fitparse, GPX against gpxpy, "
        "TCX against the reference reader",
    )
    parser.add_argument("--xml-repeat", type=int, help="runs of each GPX/TCX figure (default 5)")
    parser.add_argument(
        "--xml-copies",
        type=int,
        help="GPX/TCX also on this many distinct copies of the corpus (default 10; 1: none)",
    )
    parser.add_argument(
        "--startup-only",
        action="store_true",
        help='only the start-up of `runlake --help` and `runlake sql "select 1"`',
    )
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown here")
    parser.add_argument("--ingest-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ingest_child:
        ingest_child(*args.ingest_child)
        return 0
    quick = args.quick
    args.years = args.years or (1 if quick else 5)
    args.repeat = args.repeat or (3 if quick else 5)
    args.baseline_repeat = args.baseline_repeat or (1 if quick else 3)
    args.sample_mb = args.sample_mb or (1.0 if quick else 4.0)
    args.history_sample = args.history_sample or (5 if quick else 30)
    args.query_repeat = 5 if quick else 9
    args.backfill_repeat = args.backfill_repeat or (1 if quick else 3)
    args.xml_repeat = args.xml_repeat or (3 if quick else 5)
    args.xml_copies = args.xml_copies or (1 if quick else 10)

    info = machine()
    print("runlake benchmark (issue 6)")
    for k, v in info.items():
        print(f"  {k}: {v}")
    rows: list[Row] = []
    started = time.perf_counter()
    if args.xml_only:
        xml_figures(args, rows)
    elif args.startup_only:
        startup_figures(args, rows)
    elif args.backfill_only:
        backfill_figures(args, rows, history(args.years))
    elif CORPUS.is_dir():
        corpus_figures(args, rows)
        startup_figures(args, rows)
        xml_figures(args, rows)
    else:
        print(f"\nno corpus at {CORPUS}: corpus figures skipped")
    only = args.corpus_only or args.backfill_only or args.xml_only or args.startup_only
    if not only:
        paths = history(args.years)
        history_figures(args, rows, paths)
        lake_figures(args, rows, paths)
        backfill_figures(args, rows, paths)
    print(
        f"\nresults after {time.perf_counter() - started:.0f} s. Decoding: median CPU time "
        "of this process on one core; ingest, backfill, queries: median wall time. Peak RSS: "
        "this process so far (the ingest: its own process; the backfill: all its processes "
        "together, at their peak).\n"
    )
    table = text_table(rows)
    print(table)
    if args.markdown:
        header = "\n".join(f"- {k}: {v}" for k, v in info.items())
        args.markdown.write_text(f"{header}\n\n{markdown_table(rows)}\n")
        print(f"\nwrote {args.markdown}")
    return 1 if any(r.verdict == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
