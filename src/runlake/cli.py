"""The ``runlake`` command: a thin layer over the functions the flows call.

Exit codes: 0 when the run did its job (files that were rejected are recorded in the lake
and reported, not failures of the run); 1 when the run itself failed (bad configuration,
unusable lake, a failing query); 2 for bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from runlake._config import Config, load_config
from runlake._errors import RunlakeError
from runlake._ingest import FileOutcome, IngestSummary, ingest_paths
from runlake._query import format_table, run_query, sql_dir
from runlake.synth import write_season

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
        lake_root=Path(args.lake) if args.lake else cfg.lake,
        athlete=args.athlete or cfg.athlete,
        progress=_Progress(sys.stderr),
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
    table = run_query(Path(args.lake) if args.lake else cfg.lake, query)
    sys.stdout.write(format_table(table, args.format))
    if not format_table(table, args.format).endswith("\n"):
        sys.stdout.write("\n")
    return 0


def _cmd_demo(args: argparse.Namespace, cfg: Config) -> int:
    folder = Path(args.folder) if args.folder else cfg.demo_folder
    lake = Path(args.lake) if args.lake else cfg.lake
    athlete = args.athlete or cfg.athlete
    files = write_season(folder, start=cfg.demo_start, weeks=cfg.demo_weeks, seed=args.seed)
    sys.stdout.write(
        f"wrote {len(files)} FIT files of a {cfg.demo_weeks}-week season to {folder}\n"
    )
    summary = ingest_paths(
        [folder], lake_root=lake, athlete=athlete, progress=_Progress(sys.stderr)
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
        handler = {"ingest": _cmd_ingest, "sql": _cmd_sql, "demo": _cmd_demo}[args.command]
        return handler(args, cfg)
    except RunlakeError as e:
        sys.stderr.write(f"runlake: error: {e}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"runlake: error: {e}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
