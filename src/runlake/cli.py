"""The ``runlake`` command: a thin layer over the functions the flows call.

Exit codes: 0 when the run did its job (files that were rejected are recorded in the lake
and reported, not failures of the run); 1 when the run itself failed (bad configuration,
unusable lake, a failing query); 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from runlake._config import Config, load_config
from runlake._derive import refresh_derived
from runlake._errors import RunlakeError
from runlake._flags import load_thresholds
from runlake._ingest import FileOutcome, IngestSummary, ingest_paths
from runlake._query import build_catalog, format_table, run_query, sql_dir
from runlake._store import validate_athlete, writer_lock
from runlake.synth import write_season

if TYPE_CHECKING:
    from pipelines._server import ApiServer

__all__ = ["main"]


class _Progress:
    """A one-line progress bar on a terminal; nothing when stderr is not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, done: int, total: int, outcome: FileOutcome) -> None:
        if not self.enabled or total == 0:
            return
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        name = Path(outcome.source_path).name[-30:]
        self.stream.write(f"\r[{bar}] {done}/{total} {name:<30}")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def _print_summary(summary: IngestSummary, out: TextIO) -> None:
    for o in summary.outcomes:
        if o.status in ("error", "warning", "skipped"):
            out.write(f"{o.status:>8}  {o.source_path}: {o.message}\n")
    out.write(summary.describe() + "\n")


def _cmd_ingest(args: argparse.Namespace, cfg: Config) -> int:
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise RunlakeError(f"no such file or folder: {', '.join(missing)}")
    summary = ingest_paths(
        paths,
        lake_root=args.lake or cfg.lake,
        athlete=args.athlete or cfg.athlete,
        progress=_Progress(sys.stderr),
        thresholds=load_thresholds(overrides=cfg.flags_overrides),
        on_wait=_say,
    )
    _print_summary(summary, sys.stdout)
    return 0


def _cmd_sql(args: argparse.Namespace, cfg: Config) -> int:
    if args.file:
        query = Path(args.file).read_text(encoding="utf-8")
    elif args.query:
        query = args.query
    else:
        raise RunlakeError("give a QUERY or --file FILE")
    table = run_query(args.lake or cfg.lake, query)
    sys.stdout.write(format_table(table, args.format))
    if not format_table(table, args.format).endswith("\n"):
        sys.stdout.write("\n")
    return 0


def _cmd_demo(args: argparse.Namespace, cfg: Config) -> int:
    folder = Path(args.folder) if args.folder else cfg.demo_folder
    lake = args.lake or cfg.lake
    athlete = args.athlete or cfg.athlete
    files = write_season(folder, start=cfg.demo_start, weeks=cfg.demo_weeks, seed=args.seed)
    sys.stdout.write(
        f"wrote {len(files)} FIT files of a {cfg.demo_weeks}-week season to {folder}\n"
    )
    summary = ingest_paths(
        [folder],
        lake_root=lake,
        athlete=athlete,
        progress=_Progress(sys.stderr),
        thresholds=load_thresholds(overrides=cfg.flags_overrides),
    )
    _print_summary(summary, sys.stdout)
    overview = run_query(
        lake,
        "select athlete, count(*) as runs, round(sum(distance_m) / 1000, 1) as km, "
        "round(sum(duration_s) / 3600, 1) as hours, "
        "sum(case when has_running_dynamics then 1 else 0 end) as with_running_dynamics, "
        "min(start_time) as first_run, max(start_time) as last_run "
        "from runs group by athlete order by athlete",
    )
    sys.stdout.write(f"\nThe lake at {lake}:\n")
    sys.stdout.write(format_table(overview, "table") + "\n")
    analysis = cfg_sql_path("weekly_distance.sql")
    sys.stdout.write(f"\nExample analyst query ({analysis.name}):\n")
    table = run_query(lake, analysis.read_text(encoding="utf-8"))
    sys.stdout.write(format_table(table, "table") + "\n")
    flags = run_query(lake, _FLAGS_SQL, params=[validate_athlete(athlete), date(1900, 1, 1)])
    sys.stdout.write(f"\nFlags ({flags.num_rows}; `runlake flags` shows them again):\n")
    sys.stdout.write(format_flags(flags.to_pylist()))
    return 0


_FLAGS_SQL = """
select f.date, f.severity, f.code, f.value, f.threshold, f.unit, f.message,
       f.activity_id, f.week_start, r.source_path
from flags f
left join runs r on r.athlete = f.athlete and r.activity_id = f.activity_id
where f.athlete = ? and f.date >= ?
order by f.date, f.activity_id nulls last, f.code
"""


def _num(v: object) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def format_flags(rows: list[dict[str, object]]) -> str:
    """Flags for a person: one line per flag (date, severity, code, value vs threshold,
    which run), then its message indented."""
    if not rows:
        return "no flags\n"
    out = []
    for r in rows:
        unit = f" {r['unit']}" if r.get("unit") else ""
        seen = f"{_num(r['value'])}{unit} vs {_num(r['threshold'])}{unit}"
        if r.get("activity_id"):
            what = f"run {Path(str(r.get('source_path') or r['activity_id'])).name}"
        else:
            what = f"week of {r['week_start']}"
        out.append(f"{r['date']}  {r['severity']:<7}  {r['code']:<26} {seen:<24} {what}")
        out.append(
            textwrap.fill(
                str(r["message"]), width=96, initial_indent="    ", subsequent_indent="    "
            )
        )
    return "\n".join(out) + "\n"


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")


def _cmd_flags(args: argparse.Namespace, cfg: Config) -> int:
    lake = args.lake or cfg.lake
    athlete = validate_athlete(args.athlete or cfg.athlete)
    if args.recompute:
        thresholds = load_thresholds(overrides=cfg.flags_overrides)
        with writer_lock(
            lake,
            holder="runlake flags --recompute",
            timeout_s=None,
            on_wait=_say,
        ):
            done = refresh_derived(lake, athlete, thresholds, full=True)
            build_catalog(lake)
        sys.stderr.write(f"recomputed {done['metrics_computed']} runs\n")
    since = args.since or date(1900, 1, 1)
    table = run_query(lake, _FLAGS_SQL, params=[athlete, since])
    if args.format == "json":
        cols = [
            "date",
            "week_start",
            "activity_id",
            "code",
            "severity",
            "value",
            "threshold",
            "unit",
            "message",
        ]
        sys.stdout.write(format_table(table.select(cols), "json") + "\n")
    else:
        sys.stdout.write(format_flags(table.to_pylist()))
    return 0


def _cmd_report(args: argparse.Namespace, cfg: Config) -> int:
    # matplotlib is imported only here: the other commands do not pay for it.
    from runlake._report import DEFAULT_WEEKS, default_report_name, write_report

    athlete = validate_athlete(args.athlete or cfg.athlete)
    weeks = DEFAULT_WEEKS if args.weeks is None else args.weeks
    out = Path(args.out) if args.out else Path(default_report_name(athlete, args.run, weeks))
    path = write_report(
        args.lake or cfg.lake,
        out,
        athlete=athlete,
        run_id=args.run,
        weeks=weeks,
        thresholds=load_thresholds(overrides=cfg.flags_overrides),
    )
    sys.stdout.write(f"wrote {path}\n")
    return 0


# The flow commands import Prefect (pipelines/) lazily: ingest, sql and demo never pay for it.


def _cmd_sync(args: argparse.Namespace, cfg: Config) -> int:
    inbox = [str(p) for p in (args.inbox or cfg.inbox)]
    if not any(Path(p).is_dir() for p in inbox):
        where = "--inbox" if args.inbox else "ingest.inbox"
        raise RunlakeError(f"{where}: no such folder: {', '.join(inbox)}")
    from pipelines.flows import nightly_sync

    result = nightly_sync(
        inbox=args.inbox or None,
        lake=args.lake or str(cfg.lake),
        athlete=args.athlete or cfg.athlete,
    )
    sys.stdout.write(_flow_summary("sync", result))
    return 0


def _cmd_backfill(args: argparse.Namespace, cfg: Config) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise RunlakeError(f"no such folder: {folder}")
    # The local API server boots (seconds) while Prefect is imported here and in the workers.
    from pipelines._server import ApiServer

    server = None if os.environ.get("PREFECT_API_URL") else ApiServer()
    if server is not None:
        server.start()
    try:
        return _backfill(args, cfg, folder, server)
    finally:
        if server is not None:
            server.stop()


def _backfill(args: argparse.Namespace, cfg: Config, folder: Path, server: ApiServer | None) -> int:
    from pipelines.flows import (
        ForkServerTaskRunner,
        backfill,
        shared_api_server,
        start_fork_server,
    )

    flow = backfill
    warm = None
    if args.dask_address or args.dask_local:
        from prefect_dask.task_runners import DaskTaskRunner

        runner: Any = (
            DaskTaskRunner(address=args.dask_address)
            if args.dask_address
            else DaskTaskRunner(
                cluster_class="distributed.LocalCluster",
                cluster_kwargs={
                    "n_workers": args.workers or cfg.backfill_workers,
                    "threads_per_worker": 1,
                    "processes": True,
                },
            )
        )
        flow = backfill.with_options(task_runner=runner)
    else:
        workers = args.workers or cfg.backfill_workers
        pool: Any = ForkServerTaskRunner(max_workers=workers)  # typed for thread futures
        flow = backfill.with_options(task_runner=pool)
        warm = start_fork_server  # the workers' imports, while the API server boots
    with shared_api_server(server, while_booting=warm, flow_heartbeats=False):
        result = flow(
            folder=str(folder),
            lake=args.lake or str(cfg.lake),
            athlete=args.athlete or cfg.athlete,
            batch_size=args.batch_size,
            workers=args.workers,
        )
    sys.stdout.write(_flow_summary("backfill", result))
    return 0


def _flow_summary(name: str, result: dict[str, object]) -> str:
    if result.get("skipped_busy"):
        return f"{name}: skipped, another writer holds the lake (see the log)\n"
    lines = [
        f"{name}: {result['files']} files: {result['new']} new ({result['activities']} "
        f"activities), {result['present']} already present, {result['skipped']} skipped, "
        f"{result['warning']} with warnings, {result['error']} errors"
    ]
    errors = result.get("errors")
    if isinstance(errors, list):
        lines += [f"   error  {e}" for e in errors]
    return "\n".join(lines) + "\n"


def _cmd_serve(args: argparse.Namespace, cfg: Config) -> int:
    from pipelines.deployments import serve_deployments
    from pipelines.flows import shared_api_server

    with shared_api_server():
        serve_deployments(cfg)
    return 0


def _cmd_deployments(args: argparse.Namespace, cfg: Config) -> int:
    from pipelines.deployments import deployment_specs

    specs = [asdict(s) for s in deployment_specs(cfg)]
    if args.format == "json":
        sys.stdout.write(json.dumps(specs, indent=2) + "\n")
    else:
        for s in specs:
            when = f"cron '{s['cron']}' ({s['timezone']})" if s["cron"] else "on demand"
            sys.stdout.write(f"{s['name']:<14} flow {s['flow']:<14} {when}  {s['parameters']}\n")
    return 0


def cfg_sql_path(name: str) -> Path:
    return Path(str(sql_dir() / "analyses" / name))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="runlake",
        description="Watch files (FIT, GPX) into a Parquet lake that you query with DuckDB.",
    )
    p.add_argument("--config", help="a TOML file overriding config/runlake.toml")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="ingest files or folders (recursive) into the lake")
    ing.add_argument("paths", nargs="+", metavar="PATH")
    ing.add_argument("--lake", help="lake folder (default: config lake.path or $RUNLAKE_LAKE)")
    ing.add_argument("--athlete", help="athlete name (default: config ingest.athlete)")

    sql = sub.add_parser("sql", help="run SQL against the lake's views (read-only)")
    sql.add_argument("query", nargs="?", metavar="QUERY")
    sql.add_argument("--file", help="read the query from a file, e.g. sql/analyses/X.sql")
    sql.add_argument("--lake")
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")

    sync = sub.add_parser("sync", help="run the nightly sync once, now (Prefect flow)")
    sync.add_argument("--inbox", action="append", help="inbox folder (repeatable)")
    sync.add_argument("--lake")
    sync.add_argument("--athlete")

    bf = sub.add_parser("backfill", help="ingest a history folder in parallel (Prefect flow)")
    bf.add_argument("folder", metavar="DIR")
    bf.add_argument("--lake")
    bf.add_argument("--athlete")
    bf.add_argument("--workers", type=int, help="worker processes (default: config)")
    bf.add_argument("--batch-size", type=int, help="files per task (default: automatic)")
    bf.add_argument("--dask-address", help="run the tasks on a Dask cluster (tcp://host:port)")
    bf.add_argument("--dask-local", action="store_true", help="on a local Dask cluster")

    sub.add_parser("serve", help="serve the deployments with their schedules (Prefect)")

    dep = sub.add_parser("deployments", help="list the deployments and their schedules")
    dep.add_argument("--format", choices=["table", "json"], default="table")

    fl = sub.add_parser("flags", help="show the form and fatigue flags")
    fl.add_argument("--lake")
    fl.add_argument("--athlete")
    fl.add_argument("--since", type=date.fromisoformat, metavar="DATE", help="YYYY-MM-DD")
    fl.add_argument("--format", choices=["table", "json"], default="table")
    fl.add_argument(
        "--recompute",
        action="store_true",
        help="recompute every run's metrics and flags (after changing thresholds)",
    )

    rep = sub.add_parser(
        "report", help="write a self-contained HTML report: one run, or the last weeks"
    )
    rep.add_argument("--lake")
    rep.add_argument("--athlete")
    what = rep.add_mutually_exclusive_group()
    what.add_argument("--run", metavar="ID", help="a run's activity_id (see the runs view)")
    what.add_argument("--weeks", type=int, metavar="N", help="the last N weeks (default 12)")
    rep.add_argument("--out", metavar="FILE", help="HTML file (default: report-<athlete>-...)")

    demo = sub.add_parser("demo", help="write a sample season and ingest it")
    demo.add_argument("folder", nargs="?", metavar="DIR")
    demo.add_argument("--lake")
    demo.add_argument("--athlete")
    demo.add_argument("--seed", type=int, default=0)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = load_config(Path(args.config) if args.config else None)
        handler = {
            "ingest": _cmd_ingest,
            "sql": _cmd_sql,
            "demo": _cmd_demo,
            "sync": _cmd_sync,
            "backfill": _cmd_backfill,
            "serve": _cmd_serve,
            "deployments": _cmd_deployments,
            "flags": _cmd_flags,
            "report": _cmd_report,
        }[args.command]
        return handler(args, cfg)
    except RunlakeError as e:
        sys.stderr.write(f"runlake: error: {e}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"runlake: error: {e}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
