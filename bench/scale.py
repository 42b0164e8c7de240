"""``python -m bench.scale``: how runlake's cost grows with the work (issue 16, item 5).

Measurements of the installed ``runlake`` command as a user runs it (the user's
default environment, Prefect's start-up and shut-down included), into a fresh lake:

1. **One athlete, longer and longer histories** (``--years 2,5,10,20``): ``runlake backfill``
   of each generated history (``runlake.synth.write_history``, about 315 runs a year),
   then the shipped views and analyses timed on the lake it made.
2. **Many athletes** (``--athletes 100 --athlete-years 2``): one lake, one ``runlake
   backfill --athlete aNNN`` per athlete, one after the other, each timed, so the cost of
   the k-th athlete shows whether adding athletes gets dearer as the lake grows; the views
   are timed again at each checkpoint (``--checkpoints 10,25,50,100``).
3. **The Dask path on object storage** (``--dask-athletes N``): the first N athletes
   again, each ``runlake backfill --dask-address`` on one Dask ``LocalCluster`` this script
   starts, into a lake on moto's S3 server (started here, in a thread, as the tests do).
   Skipped with a message when moto, s3fs or prefect-dask is missing.
4. **The part count** (a probe in DuckDB alone): the catalog's ``read_parquet`` of every
   committed part, with ``union_by_name``, over 30 to 3,000 parts: what every query and
   every catalog build pays per part of the whole lake (docs/scale.md).

Wall time; CPU time summed over the command and every process it starts (sampled from
/proc every 0.1 s, as ``python -m bench`` does; for Dask, the cluster's workers and this
process, which runs the S3 server, are counted apart). Queries run through
``runlake.run_query`` (a read-only connection per call, what ``runlake sql`` does, without
the command's start-up): median of ``--query-repeat`` runs after one untimed run.

The generated files are cached under ``bench/.cache/scale/`` (``RUNLAKE_BENCH_CACHE``
moves it; git ignores it); the lakes are made under a temporary folder and removed.
Run it under ``nice -n 10`` on a shared machine. ``--quick``: 1 and 2 years, 4 athletes of
1 year, 2 of them on Dask.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.__main__ import _NOT_THE_USERS, CACHE, REPO, TreeRun, machine, run_tree
from runlake import load_analysis, run_query
from runlake.lake._store import list_committed
from runlake.query import build_catalog
from runlake.synth import write_history

SCALE_CACHE = CACHE / "scale"
RUNLAKE = str(Path(sys.executable).with_name("runlake"))
SEED_BASE = 1000  # athlete i's history is seed SEED_BASE + i; the single athlete's seed 0

# -- the generated histories ------------------------------------------------------------------


def _generate(folder: Path, years: int, seed: int) -> int:
    marker = folder / ".complete"
    if marker.is_file() and len(list(folder.glob("*.fit"))) == int(marker.read_text()):
        return int(marker.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    n = len(write_history(folder, years=years, seed=seed))
    marker.write_text(str(n))
    return n


def history_folder(years: int, seed: int) -> Path:
    return SCALE_CACHE / f"history-{years}y-seed{seed}"


def generate_all(jobs: list[tuple[int, int]], processes: int) -> None:
    """Every (years, seed) history not cached yet, ``processes`` at a time."""
    todo = [(y, s) for y, s in jobs if not (history_folder(y, s) / ".complete").is_file()]
    if not todo:
        return
    print(f"generating {len(todo)} histories into {SCALE_CACHE} (kept for later runs)...")
    t = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        futures = [pool.submit(_generate, history_folder(y, s), y, s) for y, s in todo]
        files = sum(f.result() for f in futures)
    print(f"  {files} files in {time.perf_counter() - t:.0f} s")


def fit_files(folder: Path) -> int:
    return int((folder / ".complete").read_text())


def megabytes(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.fit")) / 1e6


# -- the queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    params: Callable[[str], list[object] | dict[str, object] | None]


def _analysis(name: str, **more: str) -> Query:
    a = load_analysis(name)
    return Query(f"{name} (analysis)", a.sql, lambda athlete: a.bind({"athlete": athlete, **more}))


def queries() -> list[Query]:
    """The shipped views and analyses, for one athlete (the first) and over the whole lake."""
    return [
        Query(
            "weekly_training, one athlete",
            "select * from weekly_training where athlete = ? order by week_start",
            lambda a: [a],
        ),
        Query(
            "runs, one athlete",
            "select * from runs where athlete = ? order by start_time",
            lambda a: [a],
        ),
        _analysis("weekly_distance", weeks="52"),
        _analysis("longest_runs"),
        _analysis("ground_contact_by_pace_band"),  # the per-record scan of `python -m bench`
        Query(
            "runs, whole lake: count and distance per athlete",
            "select athlete, count(*) as n, sum(distance_m) as m from runs group by all",
            lambda a: None,
        ),
        Query(
            "records, whole lake: per-record scan",
            "select athlete, count(*) as n, avg(heart_rate_bpm) as hr, avg(stance_time_ms) as st "
            "from records group by all",
            lambda a: None,
        ),
    ]


LIGHT = ("weekly_training, one athlete", "runs, whole lake: count and distance per athlete")


def time_queries(
    lake: str, athlete: str, repeat: int, only: Sequence[str] | None = None
) -> dict[str, float]:
    """Median wall seconds of each query (after one untimed run); ``only``: these names."""
    out: dict[str, float] = {}
    for q in queries():
        if only is not None and q.name not in only:
            continue
        run = functools.partial(run_query, lake, q.sql, params=q.params(athlete))
        run()
        walls = []
        for _ in range(repeat):
            t = time.perf_counter()
            run()
            walls.append(time.perf_counter() - t)
        out[q.name] = statistics.median(walls)
    return out


def counts(lake: str) -> tuple[int, int]:
    """(runs, records) in the lake."""
    runs = run_query(lake, "select count(*) as n from runs").column("n")[0].as_py()
    recs = run_query(lake, "select count(*) as n from records").column("n")[0].as_py()
    return int(runs), int(recs)


def catalog_build_s(lake: str, repeat: int = 3) -> tuple[float, int]:
    """Median wall seconds of ``build_catalog`` (what every command ends with), and the
    committed Parquet parts its views list."""
    _manifests, parts = list_committed(lake)
    walls = []
    for _ in range(repeat):
        t = time.perf_counter()
        build_catalog(lake)
        walls.append(time.perf_counter() - t)
    return statistics.median(walls), sum(len(v) for v in parts.values())


# -- one command -------------------------------------------------------------------------------


def user_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The user's default environment (none of the PREFECT_* settings the tests set)."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_THE_USERS}
    env.update(extra or {})
    return env


_DONE = re.compile(r"backfill: (\d+) files")


def backfill(
    folder: Path, lake: str, athlete: str, workers: int, env: dict[str, str], *more: str
) -> TreeRun:
    cmd = [RUNLAKE, "backfill", str(folder), "--lake", lake, "--athlete", athlete]
    cmd += ["--workers", str(workers), *more]
    run = run_tree(cmd, env)
    expected = fit_files(folder)
    got = _DONE.search(run.output)
    if run.returncode != 0 or got is None or int(got.group(1)) != expected:
        print(run.output[-4000:])
        raise SystemExit(f"runlake backfill of {folder} into {lake} failed")
    return run


def load_text(run: TreeRun) -> str:
    return " ".join(f"{x:.1f}" for x in run.load_before)


# -- the table ---------------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    head: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def text(self) -> str:
        widths = [max(len(r[i]) for r in [self.head, *self.rows]) for i in range(len(self.head))]
        lines = [self.title, "  ".join(h.rjust(w) for h, w in zip(self.head, widths, strict=True))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in self.rows]
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.head) + " |"]
        lines.append("|" + "---|" * len(self.head))
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def ms(s: float) -> str:
    return f"{s * 1000:.0f}"


def ingest_head() -> list[str]:
    return [
        "size",
        "files",
        "MB",
        "runs",
        "M records",
        "wall s",
        "CPU s",
        "ms wall/file",
        "ms CPU/file",
        "load",
    ]


def ingest_row(size: str, n_files: int, mb: float, lake: str, wall: float, cpu: float) -> list[str]:
    runs, records = counts(lake)
    return [
        size,
        str(n_files),
        f"{mb:.0f}",
        str(runs),
        f"{records / 1e6:.1f}",
        f"{wall:.1f}",
        f"{cpu:.1f}",
        f"{wall / n_files * 1000:.1f}",
        f"{cpu / n_files * 1000:.1f}",
        " ".join(f"{x:.1f}" for x in os.getloadavg()),
    ]


def query_table(title: str, results: list[tuple[str, int, dict[str, float]]]) -> Table:
    """Query times (ms) per size, and per 1,000 runs of the lake."""
    names = list(results[0][2])
    table = Table(title, ["query", *[f"{size} ms" for size, _, _ in results]])
    for name in names:
        table.rows.append([name, *[ms(t[name]) for _, _, t in results]])
    table.rows.append(["(runs in the lake)", *[str(n) for _, n, _ in results]])
    return table


# -- 1. one athlete ----------------------------------------------------------------------------


def single_athlete(args: argparse.Namespace, tmp: Path, tables: list[Table]) -> None:
    ingest = Table(
        "One athlete: `runlake backfill` of the whole history into a new lake", ingest_head()
    )
    results: list[tuple[str, int, dict[str, float]]] = []
    for years in args.years:
        folder = history_folder(years, 0)
        lake = str(tmp / f"single-{years}y")
        n = fit_files(folder)
        print(f"\none athlete, {years} years ({n} files): runlake backfill ...", flush=True)
        run = backfill(folder, lake, "solo", args.workers, user_env())
        print(
            f"  {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s CPU in {run.processes} processes, "
            f"peak RSS {run.peak_rss_mb:.0f} MB, load before {load_text(run)}",
            flush=True,
        )
        ingest.rows.append(
            ingest_row(f"{years} y", n, megabytes(folder), lake, run.wall_s, run.cpu_s)
        )
        q = time_queries(lake, "solo", args.query_repeat)
        for name, t in q.items():
            print(f"  {name}: {ms(t)} ms")
        results.append((f"{years} y", counts(lake)[0], q))
        shutil.rmtree(lake, ignore_errors=True)
    tables.append(ingest)
    tables.append(query_table("One athlete: query time (median wall, ms)", results))


# -- 2. many athletes --------------------------------------------------------------------------


def athletes(
    args: argparse.Namespace,
    lake: str,
    n_athletes: int,
    env: dict[str, str],
    extra: Sequence[str],
    label: str,
) -> tuple[Table, Table, Table, list[tuple[str, int, dict[str, float]]]]:
    """One backfill per athlete into ``lake``; the tables of ingest and per-athlete cost."""
    ingest = Table(f"{label}: `runlake backfill`, one athlete after the other", ingest_head())
    marginal = Table(
        f"{label}: the cost of one athlete's backfill as the lake grows",
        ["athletes before", "files", "wall s", "CPU s", "ms wall/file", "load before"],
    )
    catalog = Table(
        f"{label}: `build_catalog` (the end of every command) as the lake grows",
        ["athletes", "Parquet parts listed", "ms"],
    )
    results: list[tuple[str, int, dict[str, float]]] = []
    wall = cpu = 0.0
    n_files = 0
    mb = 0.0
    checkpoints = sorted({c for c in args.checkpoints if c <= n_athletes} | {n_athletes})
    for i in range(n_athletes):
        folder = history_folder(args.athlete_years, SEED_BASE + i)
        run = backfill(folder, lake, f"a{i:03d}", args.workers, env, *extra)
        files = fit_files(folder)
        wall += run.wall_s
        cpu += run.cpu_s
        n_files += files
        mb += megabytes(folder)
        print(
            f"  athlete {i + 1}/{n_athletes}: {files} files, {run.wall_s:.1f} s wall, "
            f"{run.cpu_s:.1f} s CPU, load before {load_text(run)}",
            flush=True,
        )
        if i in (0, 1) or i + 1 in checkpoints:
            marginal.rows.append(
                [
                    str(i),
                    str(files),
                    f"{run.wall_s:.1f}",
                    f"{run.cpu_s:.1f}",
                    f"{run.wall_s / files * 1000:.1f}",
                    load_text(run),
                ]
            )
        if i + 1 in checkpoints:
            ingest.rows.append(ingest_row(f"{i + 1} athletes", n_files, mb, lake, wall, cpu))
            if not lake.startswith("s3://"):
                build_s, parts = catalog_build_s(lake)
                print(f"    build_catalog: {build_s * 1000:.0f} ms for {parts} parts", flush=True)
                catalog.rows.append([str(i + 1), str(parts), ms(build_s)])
            only = LIGHT if lake.startswith("s3://") else None
            q = time_queries(lake, "a000", args.query_repeat, only)
            print("    " + ", ".join(f"{k}: {ms(v)} ms" for k, v in q.items()), flush=True)
            results.append((f"{i + 1} ath.", counts(lake)[0], q))
    return ingest, marginal, catalog, results


def many_athletes(args: argparse.Namespace, tmp: Path, tables: list[Table]) -> None:
    lake = str(tmp / "athletes")
    print(
        f"\n{args.athletes} athletes of {args.athlete_years} years, one lake, "
        "one `runlake backfill` each",
        flush=True,
    )
    ingest, marginal, catalog, results = athletes(
        args, lake, args.athletes, user_env(), (), "Many athletes, local lake"
    )
    tables += [
        ingest,
        marginal,
        catalog,
        query_table("Many athletes: query time (median wall, ms)", results),
    ]
    shutil.rmtree(lake, ignore_errors=True)


# -- 3. Dask and S3 ----------------------------------------------------------------------------


def _missing_for_dask() -> str | None:
    for module in ("moto.server", "s3fs", "prefect_dask", "distributed"):
        try:
            __import__(module)
        except ImportError:
            return module
    return None


@contextlib.contextmanager
def s3_server() -> Iterator[dict[str, str]]:
    """moto's S3 server in a thread of this process (as tests/conftest.py starts it)."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415  (optional)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _children_cpu(pids: list[int]) -> float:
    from bench.__main__ import _cpu_rss, _descendants  # noqa: PLC0415

    total = 0.0
    for pid in pids:
        for p in _descendants(pid):
            got = _cpu_rss(p)
            total += got[0] if got is not None else 0.0
    return total


def dask_s3(args: argparse.Namespace, tmp: Path, tables: list[Table]) -> None:
    missing = _missing_for_dask()
    if missing is not None:
        print(f"\nDask on S3 skipped: {missing} is not installed (pip install -e '.[dev]')")
        return
    import s3fs  # noqa: PLC0415  (optional)
    from distributed import LocalCluster  # noqa: PLC0415  (optional)

    n = args.dask_athletes
    print(
        f"\nDask: {n} athletes of {args.athlete_years} years, each `runlake backfill "
        f"--dask-address` on one LocalCluster ({args.workers} worker processes, 1 thread "
        "each), lake on moto's S3 server in this process",
        flush=True,
    )
    from runlake_pipelines._server import LocalServer  # noqa: PLC0415

    # One Prefect server for all the commands: the cluster's workers keep the Prefect
    # client of the first task they run, so with a temporary server per command they would
    # report to the first command's server, gone (see docs/scale.md).
    server = LocalServer()
    server.start()
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        api = server.wait(180.0)
        aws = stack.enter_context(s3_server())
        os.environ["PREFECT_API_URL"] = api
        bucket = f"scale-{uuid.uuid4().hex[:12]}"
        s3fs.S3FileSystem(skip_instance_cache=True).mkdir(bucket)
        lake = f"s3://{bucket}/lake"
        os.environ["RUNLAKE_CACHE"] = str(tmp / "s3-cache")  # the catalog's local cache
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        try:
            worker_pids = [int(w.pid) for w in cluster.workers.values() if w.pid]
            cpu_before = _children_cpu(worker_pids)
            here_before = time.process_time()
            env = user_env(
                {**aws, "RUNLAKE_CACHE": os.environ["RUNLAKE_CACHE"], "PREFECT_API_URL": api}
            )
            ingest, marginal, _, results = athletes(
                args,
                lake,
                n,
                env,
                ("--dask-address", str(cluster.scheduler_address)),
                "Dask on S3",
            )
            workers_cpu = _children_cpu(worker_pids) - cpu_before
            here_cpu = time.process_time() - here_before
        finally:
            cluster.close()
    note = (
        f"CPU s: the commands only; the Dask workers took {workers_cpu:.0f} s more, this "
        f"process (moto's S3 server, the queries) {here_cpu:.0f} s"
    )
    print(f"  {note}")
    ingest.title += f" ({note})"
    tables += [ingest, marginal, query_table("Dask on S3: query time (median wall, ms)", results)]


# -- 4. the cost of the lake's part count, in DuckDB alone ------------------------------------


def parts_probe(
    tmp: Path, tables: list[Table], sizes: Sequence[int] = (30, 300, 1200, 3000)
) -> None:
    """The catalog's ``read_parquet([every part], hive_partitioning, union_by_name)`` over a
    growing number of parts (30 an athlete): a view's creation and a one-athlete count."""
    import duckdb  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    rng = np.random.default_rng(0)
    part = pa.table({f"c{i}": rng.random(3000) for i in range(40)})
    paths: list[str] = []
    table = Table(
        "The part count: `read_parquet` of every part as the catalog writes it (median ms)",
        ["parts", "create view", "one athlete", "one athlete, no union_by_name", "all rows"],
    )
    print("\nparts probe: DuckDB alone, 30 parts an athlete", flush=True)
    for n in sizes:
        for i in range(len(paths), n):
            folder = tmp / "probe" / f"athlete=a{i // 30:03d}" / "year=2021"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, folder / f"part-{i:05d}.parquet")
            paths.append(str(folder / f"part-{i:05d}.parquet"))
        files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
        cells = [str(n)]
        for union, sql in (
            ("true", "create or replace view v as select * from src"),
            ("true", "select count(*) from v where athlete = 'a000'"),
            ("false", "select count(*) from v where athlete = 'a000'"),
            ("true", "select count(*) from v"),
        ):
            source = (
                f"read_parquet({files}, hive_partitioning = true, hive_types = "
                f"{{'athlete': 'VARCHAR', 'year': 'INTEGER'}}, union_by_name = {union})"
            )
            con = duckdb.connect()
            con.execute(f"create view v as select * from {source}")
            walls = []
            for _ in range(3):
                t = time.perf_counter()
                con.execute(sql.replace("from src", f"from {source}")).fetchall()
                walls.append(time.perf_counter() - t)
            con.close()
            cells.append(ms(statistics.median(walls)))
        print("  " + "  ".join(cells), flush=True)
        table.rows.append(cells)
    tables.append(table)


# -- main --------------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="small sizes: a run of a few minutes")
    p.add_argument("--years", type=_ints, help="one athlete's histories (default 2,5,10,20)")
    p.add_argument("--athletes", type=int, help="athletes in the many-athlete lake (default 100)")
    p.add_argument("--athlete-years", type=int, help="years of each athlete (default 2)")
    p.add_argument(
        "--checkpoints", type=_ints, help="athletes at which to time the views (10,25,50,100)"
    )
    p.add_argument("--dask-athletes", type=int, help="athletes on Dask and S3 (default 10)")
    p.add_argument("--workers", type=int, default=2, help="backfill workers (default 2)")
    p.add_argument("--query-repeat", type=int, help="timed runs of each query (default 5)")
    p.add_argument(
        "--skip", action="append", default=[], choices=["single", "athletes", "dask", "probe"]
    )
    p.add_argument("--generate-only", action="store_true", help="only write the cached files")
    p.add_argument("--markdown", type=Path, help="also write the tables as markdown here")
    args = p.parse_args(argv)
    q = args.quick
    args.years = args.years or ([1, 2] if q else [2, 5, 10, 20])
    args.athletes = args.athletes if args.athletes is not None else (4 if q else 100)
    args.athlete_years = args.athlete_years or (1 if q else 2)
    args.checkpoints = args.checkpoints or ([2, 4] if q else [10, 25, 50, 100])
    args.dask_athletes = args.dask_athletes if args.dask_athletes is not None else (2 if q else 10)
    args.query_repeat = args.query_repeat or (3 if q else 5)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    jobs = [(y, 0) for y in args.years] if "single" not in args.skip else []
    n_multi = max(
        args.athletes if "athletes" not in args.skip else 0,
        args.dask_athletes if "dask" not in args.skip else 0,
    )
    jobs += [(args.athlete_years, SEED_BASE + i) for i in range(n_multi)]
    generate_all(jobs, processes=max(1, len(os.sched_getaffinity(0))))
    if args.generate_only:
        return 0
    info: dict[str, Any] = machine()
    print("runlake scale benchmark (issue 16)")
    for k, v in info.items():
        print(f"  {k}: {v}")
    tables: list[Table] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="runlake-scale-") as tmp_name:
        tmp = Path(tmp_name)
        if "single" not in args.skip:
            single_athlete(args, tmp, tables)
        if "athletes" not in args.skip and args.athletes:
            many_athletes(args, tmp, tables)
        if "dask" not in args.skip and args.dask_athletes:
            dask_s3(args, tmp, tables)
        if "probe" not in args.skip:
            parts_probe(tmp, tables)
    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["took"] = f"{time.perf_counter() - started:.0f} s"
    print(f"\nresults ({info['took']}; load average at end {info['load average at end']}):\n")
    print("\n\n".join(t.text() for t in tables))
    if args.markdown:
        head = "\n".join(f"- {k}: {v}" for k, v in info.items())
        args.markdown.write_text(head + "\n\n" + "\n\n".join(t.markdown() for t in tables) + "\n")
        print(f"\nwrote {args.markdown}")
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
