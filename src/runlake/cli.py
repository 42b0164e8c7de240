"""The ``runlake`` command: a thin layer over the functions the flows call.

Exit codes: 0 when the run did its job (files that were rejected are recorded in the lake
and reported, not failures of the run); 1 when the run itself failed (bad configuration,
unusable lake, a failing query); 2 for bad usage (also a missing or invalid thresholds
file: ``RunlakeError.exit_code``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from runlake import Config, RunlakeError, load_config

if TYPE_CHECKING:
    from runlake import Analysis, FileOutcome, IngestSummary, ResultRows, StatementResult

# Each command imports the stages it uses: `runlake --help` is quick, and a flow command
# starts Prefect's local server before the data stack (pyarrow, DuckDB) is imported.

__all__ = ["main"]

_Format = Literal["table", "csv", "json"]


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
    """A line per file that was not simply new (an archive's skipped members are only
    counted: a Garmin export holds thousands of monitoring files), one per archive, the
    totals; then a line per path that held no watch file."""
    for o in summary.outcomes:
        listed = ("error", "warning") if o.archive else ("error", "warning", "skipped")
        if o.status in listed:
            out.write(f"{o.status:>8}  {o.source_path}: {o.message}\n")
    for archive in summary.archives():
        out.write(f" archive  {archive.describe()}\n")
    if summary.outcomes:
        out.write(summary.describe() + "\n")
    for note in summary.notes():
        out.write(note + "\n")


def _cmd_ingest(args: argparse.Namespace, cfg: Config) -> int:
    from runlake import (
        estimate_inputs,
        free_cores,
        pool_worth_it,
        skip_pandas_probe,
        start_pool_server,
    )

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise RunlakeError(f"no such file or folder: {', '.join(missing)}")
    if args.workers is not None and args.workers < 1:
        raise RunlakeError(f"--workers {args.workers}: give 1 or more")
    workers = args.workers or free_cores()
    if pool_worth_it(*estimate_inputs(paths), workers):
        # Before the data stack is imported here: the fork server imports it on another core.
        start_pool_server()
    skip_pandas_probe()
    from runlake import ingest_paths, load_thresholds

    summary = ingest_paths(
        paths,
        lake_root=args.lake or cfg.lake,
        athlete=args.athlete or cfg.athlete,
        progress=_Progress(sys.stderr),
        thresholds=load_thresholds(overrides=cfg.flags_overrides),
        on_wait=_say,
        max_file_bytes=cfg.ingest_max_file_bytes,
        workers=workers,
    )
    _print_summary(summary, sys.stdout)
    # Nothing to ingest at all is a failure: most likely a wrong path or a format runlake
    # does not read, and a script must notice (an empty inbox is `sync`'s "nothing new").
    return 0 if summary.outcomes else 1


_ANALYSIS_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _what_to_run(args: argparse.Namespace) -> Analysis:
    """The SQL to run: a shipped analysis by name, a file, or the QUERY text."""
    from runlake import Analysis, list_analyses, load_analysis

    if args.file and args.query:
        raise RunlakeError("give a QUERY, an analysis NAME or --file FILE, not both")
    if args.file:
        return load_analysis(Path(args.file))
    if not args.query:
        raise RunlakeError("give a QUERY, an analysis NAME (runlake sql --list) or --file FILE")
    word = args.query.strip()
    if _ANALYSIS_NAME.fullmatch(word) and word in {a.name for a in list_analyses()}:
        return load_analysis(word)
    return Analysis.of_sql(args.query)


def _given_params(pairs: list[tuple[str, str]] | None) -> dict[str, str]:
    given: dict[str, str] = {}
    for key, value in pairs or []:
        if key in given:
            raise RunlakeError(f"--param {key} is given twice")
        given[key] = value
    return given


def _cmd_sql(args: argparse.Namespace, cfg: Config) -> int:
    from runlake import QueryError, run_statements

    if args.list:
        if args.query or args.file or args.param:
            raise RunlakeError("--list takes no QUERY, --file or --param")
        sys.stdout.write(_format_analyses(args.format))
        return 0
    analysis = _what_to_run(args)
    values = analysis.bind(_given_params(args.param), {"athlete": args.athlete or cfg.athlete})
    try:
        results = run_statements(args.lake or cfg.lake, analysis.sql, params=values, rows=True)
    except QueryError as exc:
        word = analysis.sql.strip()
        if _ANALYSIS_NAME.fullmatch(word) and "Parser Error" in str(exc):
            raise RunlakeError(
                f"no analysis named {word!r} (runlake sql --list shows them), nor a SQL statement"
            ) from exc
        raise
    sys.stdout.write(_format_results(results, args.format))
    return 0


def _format_results(results: Sequence[StatementResult[ResultRows]], fmt: _Format) -> str:
    """One result as before; several: each under its statement (table format only)."""
    from runlake import format_table

    shown = [(r.sql, t) for r in results if (t := r.table) is not None]
    if not shown:
        return ""
    if len(shown) == 1:
        return format_table(shown[0][1], fmt) + "\n"
    if fmt != "table":
        raise RunlakeError(
            f"--format {fmt} prints one result, and the query has {len(shown)} statements "
            "that return rows: run them one at a time, or use --format table"
        )
    blocks = [f"-- {sql}\n" + format_table(table, "table") for sql, table in shown]
    return "\n\n".join(blocks) + "\n"


def _format_analyses(fmt: _Format) -> str:
    from runlake import list_analyses

    analyses = list_analyses()
    if fmt == "json":
        rows = [
            {
                "name": a.name,
                "question": a.purpose,
                "params": [
                    {"name": p.name, "type": p.type, "default": p.default, "about": p.description}
                    for p in a.params
                ],
            }
            for a in analyses
        ]
        return json.dumps(rows, indent=2) + "\n"
    if fmt == "csv":
        lines = ["name,question,params"]
        for a in analyses:
            params = " ".join(p.name for p in a.params)
            lines.append(",".join(_csv_field(v) for v in (a.name, a.purpose, params)))
        return "\n".join(lines) + "\n"
    width = max(len(a.name) for a in analyses)
    out = []
    for a in analyses:
        out.append(f"{a.name:<{width}}  {a.purpose}")
        if a.params:
            out.append(
                textwrap.fill(
                    "params: " + ", ".join(p.describe() for p in a.params),
                    width=width + 2 + 60,
                    initial_indent=" " * (width + 2),
                    subsequent_indent=" " * (width + 10),
                )
            )
    out.append("")
    out.append("Run one: runlake sql NAME [--param KEY=VALUE]...  (default 'configured': the")
    out.append("configuration's ingest.athlete or RUNLAKE_ATHLETE; 'null': no limit)")
    return "\n".join(out) + "\n"


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _cmd_export(args: argparse.Namespace, cfg: Config) -> int:
    from runlake import export_view

    out = Path(args.out)
    suffixes: dict[str, Literal["parquet", "csv"]] = {".parquet": "parquet", ".csv": "csv"}
    fmt = args.format or suffixes.get(out.suffix.lower())
    if fmt is None:
        raise RunlakeError(f"--out {out}: give --format parquet or csv (or a .parquet/.csv name)")
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    rows = export_view(
        args.lake or cfg.lake,
        args.view,
        out,
        fmt=fmt,
        athlete=args.athlete,
        since=args.since,
        until=args.until,
        where=args.where,
        columns=columns,
    )
    sys.stdout.write(f"wrote {rows} row{'' if rows == 1 else 's'} of {args.view} to {out}\n")
    return 0


def _cmd_demo(args: argparse.Namespace, cfg: Config) -> int:
    """The main job on a sample: a season in an inbox, the nightly-sync flow, the lake."""
    from runlake import (
        count_flags,
        format_table,
        load_analysis,
        run_query,
        validate_athlete,
        write_season,
    )

    folder = Path(args.folder) if args.folder else cfg.demo_folder
    inbox = folder / "inbox"
    lake = str(args.lake or folder / "lake")
    athlete = validate_athlete(args.athlete or cfg.demo_athlete)
    files = write_season(inbox, start=cfg.demo_start, weeks=cfg.demo_weeks, seed=args.seed)
    sys.stdout.write(
        f"wrote {len(files)} FIT files of a {cfg.demo_weeks}-week season to {inbox}\n"
        f"running the nightly-sync flow (Prefect) on {inbox} into {lake}, athlete {athlete}\n"
    )
    sys.stdout.flush()
    from runlake_pipelines import commands

    code = commands.sync([str(inbox)], lake, athlete, name="demo sync")
    if code:
        return code
    overview = run_query(
        lake,
        "select athlete, count(*) as runs, round(sum(distance_m) / 1000, 1) as km, "
        "round(sum(duration_s) / 3600, 1) as hours, "
        "sum(case when has_running_dynamics then 1 else 0 end) as with_running_dynamics, "
        "min(start_time) as first_run, max(start_time) as last_run "
        "from runs where athlete = ? group by athlete",
        params=[athlete],
    )
    sys.stdout.write(f"\nThe lake at {lake}:\n")
    sys.stdout.write(format_table(overview, "table") + "\n")
    analysis = load_analysis("weekly_distance")
    sys.stdout.write(f"\nExample analysis, {analysis.name}: {analysis.purpose}\n")
    table = run_query(lake, analysis.sql, params=analysis.bind({}, {"athlete": athlete}))
    sys.stdout.write(format_table(table, "table") + "\n")
    flags = run_query(lake, _FLAGS_SQL, params=[athlete, date(1900, 1, 1)])
    me = commands.invoked_as()
    counted = count_flags(flags.column("severity").to_pylist())
    sys.stdout.write(
        f"\nFlags ({counted}; `{me} flags --lake {lake} --athlete {athlete}` shows them again):\n"
    )
    sys.stdout.write(format_flags(flags.to_pylist()))
    sys.stdout.write(
        f'\nYour turn: {me} sql --lake {lake} "select week_start, runs, '
        'round(distance_m / 1000, 1) as km, easy_share_pct, flag_codes from weekly_training"\n'
    )
    return 0


_FLAGS_SQL = """
select f.date, f.severity, f.code, f.value, f.threshold, f.unit, f.message,
       f.activity_id, f.week_start, r.source_path
from flags f
left join runs r on r.athlete = f.athlete and r.activity_id = f.activity_id
where f.athlete = ? and f.date >= ?
order by f.date, f.activity_id nulls last, f.code
"""


def _number(v: object) -> float:
    return float(v) if isinstance(v, int | float) else float("nan")


def format_flags(rows: list[dict[str, object]]) -> str:
    """Flags for a person: one line per flag (date, severity, code, what was seen against
    its limit in a runner's units, which run), then its message indented."""
    from runlake import flag_headline

    if not rows:
        return "no flags\n"
    out = []
    for r in rows:
        value, threshold = _number(r["value"]), _number(r["threshold"])
        seen = flag_headline(str(r["code"]), value, threshold, str(r["unit"] or ""))
        if r.get("activity_id"):
            what = f"run {Path(str(r.get('source_path') or r['activity_id'])).name}"
        else:
            what = f"week of {r['week_start']}"
        out.append(f"{r['date']}  {r['severity']:<7}  {r['code']:<25} {seen:<32} {what}")
        out.append(
            textwrap.fill(
                str(r["message"]), width=96, initial_indent="    ", subsequent_indent="    "
            )
        )
    return "\n".join(out) + "\n"


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")


_STALE_WAIT_S = 5.0
"""How long `runlake flags` waits for another writer to judge stale flags again."""


def _cmd_flags(args: argparse.Namespace, cfg: Config) -> int:
    from runlake import (
        Lake,
        build_catalog,
        count_flags,
        ensure_flags_current,
        format_table,
        load_thresholds,
        refresh_derived,
        run_query,
        validate_athlete,
        writer_lock,
    )

    location = args.lake or cfg.lake
    athlete = validate_athlete(args.athlete or cfg.athlete)
    thresholds = load_thresholds(overrides=cfg.flags_overrides)  # a bad file: exit 2
    lake = Lake(location)  # opened once: the lock, the recomputation, the catalog
    if args.recompute:
        with writer_lock(
            lake,
            holder="runlake flags --recompute",
            timeout_s=None,
            on_wait=_say,
        ):
            done = refresh_derived(lake, athlete, thresholds, full=True)
            build_catalog(lake.fs)
        sys.stderr.write(f"recomputed {done['metrics_computed']} runs\n")
    else:  # judged with other thresholds: again, or say in one line why not now
        note = ensure_flags_current(lake, athlete, thresholds, wait_s=_STALE_WAIT_S)
        if note:
            sys.stderr.write(f"runlake flags: {note}\n")
    since = args.since or date(1900, 1, 1)
    table = run_query(lake.fs, _FLAGS_SQL, params=[athlete, since])
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
        rows = table.to_pylist()
        if rows:
            sys.stdout.write(f"{count_flags(r['severity'] for r in rows)}\n")
        sys.stdout.write(format_flags(rows))
    return 0


def _report_day(text: str | None, option: str) -> date | None:
    """A report's --from or --to: YYYY-MM-DD, one line naming the option otherwise."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RunlakeError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def _cmd_report(args: argparse.Namespace, cfg: Config) -> int:
    # matplotlib is imported only here: the other commands do not pay for it.
    from runlake import (
        DEFAULT_WEEKS,
        Lake,
        default_report_name,
        ensure_flags_current,
        load_thresholds,
        validate_athlete,
        write_report,
    )

    athlete = validate_athlete(args.athlete or cfg.athlete)
    thresholds = load_thresholds(overrides=cfg.flags_overrides)  # a bad file: exit 2
    start = _report_day(args.from_day, "--from")
    end = _report_day(args.to_day, "--to")
    if args.run is not None and (start is not None or end is not None):
        raise RunlakeError("--from and --to go with the weeks report, not with --run")
    weeks = DEFAULT_WEEKS if args.weeks is None and start is None and end is None else args.weeks
    name = default_report_name(athlete, args.run, weeks, start, end)
    lake = Lake(args.lake or cfg.lake)
    # the flags shown judged with the thresholds in force: again, or one line saying why not
    note = ensure_flags_current(lake, athlete, thresholds, wait_s=_STALE_WAIT_S)
    if note:
        sys.stderr.write(f"runlake report: {note}\n")
    path = write_report(
        lake.location,
        Path(args.out) if args.out else Path(name),
        athlete=athlete,
        run_id=args.run,
        weeks=None if args.run is not None else weeks,
        start=start,
        end=end,
        thresholds=thresholds,
    )
    sys.stdout.write(f"wrote {path}\n")
    return 0


# The flow commands (pipelines/) import Prefect lazily, once their local Prefect server is
# booting: ingest, sql, flags and report never pay for it.


def _cmd_sync(args: argparse.Namespace, cfg: Config) -> int:
    inbox = [str(p) for p in (args.inbox or cfg.inbox)]
    if not any(Path(p).is_dir() for p in inbox):
        where = "--inbox" if args.inbox else "ingest.inbox"
        raise RunlakeError(f"{where}: no such folder: {', '.join(inbox)}")
    from runlake_pipelines import commands

    return commands.sync(
        args.inbox or None, str(args.lake or cfg.lake), args.athlete or cfg.athlete
    )


def _cmd_backfill(args: argparse.Namespace, cfg: Config) -> int:
    folder = Path(args.folder)
    if not folder.exists():
        raise RunlakeError(f"no such file or folder: {folder}")
    from runlake_pipelines import commands

    return commands.backfill(
        str(folder),
        str(args.lake or cfg.lake),
        args.athlete or cfg.athlete,
        workers=args.workers,
        batch_size=args.batch_size,
        dask_address=args.dask_address,
        dask_local=args.dask_local,
    )


def _cmd_serve(args: argparse.Namespace, cfg: Config) -> int:
    from runlake_pipelines import commands

    return commands.serve(cfg, inbox=args.inbox, lake=args.lake, athlete=args.athlete)


def _cmd_deploy(args: argparse.Namespace, cfg: Config) -> int:
    from runlake_pipelines import commands

    return commands.deploy(
        cfg, pool=args.pool, inbox=args.inbox, lake=args.lake, athlete=args.athlete
    )


def _cmd_deployments(args: argparse.Namespace, cfg: Config) -> int:
    from runlake_pipelines import deployment_specs

    specs = [
        asdict(s)
        for s in deployment_specs(cfg, inbox=args.inbox, lake=args.lake, athlete=args.athlete)
    ]
    if args.format == "json":
        sys.stdout.write(json.dumps(specs, indent=2) + "\n")
        return 0
    for s in specs:
        when = f"cron '{s['cron']}' ({s['timezone']})" if s["cron"] else "on demand"
        sys.stdout.write(f"{s['name']}: flow {s['flow']}, {when}\n")
        for key, value in s["parameters"].items():
            shown = ", ".join(value) if isinstance(value, list) else value
            sys.stdout.write(f"    {key:<8} {shown}\n")
    return 0


_FLOW_NOTE = (
    "A Prefect flow: it uses PREFECT_API_URL when set, else a temporary local Prefect "
    "server that ends with the command. Ctrl-C or SIGTERM stops it cleanly (exit 130 or "
    "143): what was committed stays, and the same command resumes."
)


def _lake_and_athlete(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--lake", help="lake folder or s3:// URL (default: config lake.path)")
    cmd.add_argument("--athlete", help="athlete name (default: config ingest.athlete)")


def _inbox_lake_athlete(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--inbox",
        action="append",
        metavar="DIR",
        help="inbox folder (repeatable; default: config ingest.inbox)",
    )
    _lake_and_athlete(cmd)


def _add_ingest_and_sql(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ing = sub.add_parser(
        "ingest",
        help="ingest files, folders (recursive) or archives (.zip, .gz) into the lake",
    )
    ing.add_argument("paths", nargs="+", metavar="PATH")
    ing.add_argument("--lake", help="lake folder (default: config lake.path or $RUNLAKE_LAKE)")
    ing.add_argument("--athlete", help="athlete name (default: config ingest.athlete)")
    ing.add_argument(
        "--workers",
        type=int,
        help="worker processes for many files (default: one per free core, the cores less "
        "the other work running; 1: this process only)",
    )

    sql = sub.add_parser(
        "sql",
        help="run SQL or a shipped analysis against the lake's views (read-only)",
        description="Run SQL (QUERY or --file FILE) or a shipped analysis by NAME "
        "(--list shows them) on the lake's views, read-only. Every statement's result is "
        "printed (--format table); the table rounds numbers by the unit in the column name, "
        "csv and json keep every digit.",
    )
    sql.add_argument("query", nargs="?", metavar="QUERY|NAME")
    sql.add_argument("--file", help="read the query from a file")
    sql.add_argument("--list", action="store_true", help="list the shipped analyses")
    sql.add_argument(
        "--param",
        action="append",
        type=_param_pair,
        metavar="KEY=VALUE",
        help="a parameter of the analysis ($KEY in the SQL); repeatable",
    )
    sql.add_argument("--lake", help="lake folder or s3:// URL (default: config lake.path)")
    sql.add_argument(
        "--athlete",
        help="the analyses' athlete (default: config ingest.athlete); --param athlete=... too",
    )
    sql.add_argument("--format", choices=["table", "csv", "json"], default="table")


def _add_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exp = sub.add_parser(
        "export",
        help="write a view, filtered, to a Parquet or CSV file for other tools",
        description="Write the rows of a view (runs, records, weekly_training...) to a file: "
        "Parquet (zstd) or CSV (a header, every digit, timestamps ISO 8601 in UTC, lists as "
        "JSON). Without filters, every athlete's rows.",
    )
    exp.add_argument("view", metavar="VIEW")
    exp.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    exp.add_argument(
        "--format", choices=["parquet", "csv"], help="default: from the --out name's suffix"
    )
    exp.add_argument("--lake")
    exp.add_argument("--athlete", help="only this athlete's rows (default: every athlete's)")
    exp.add_argument(
        "--since",
        type=date.fromisoformat,
        metavar="DATE",
        help="from this UTC day (YYYY-MM-DD), on the view's date, week_start, start_time, "
        "timestamp or at column",
    )
    exp.add_argument("--until", type=date.fromisoformat, metavar="DATE", help="to this UTC day")
    exp.add_argument("--where", metavar="EXPR", help="a SQL condition on the view's columns")
    exp.add_argument("--columns", metavar="A,B,...", help="only these columns, in this order")


def _param_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or _ANALYSIS_NAME.fullmatch(key.strip()) is None:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (KEY a parameter name), got {text!r}")
    return key.strip(), value


def _add_flows(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = sub.add_parser(
        "sync", help="run the nightly sync once, now (Prefect flow)", description=_FLOW_NOTE
    )
    _inbox_lake_athlete(sync)

    bf = sub.add_parser(
        "backfill",
        help="ingest a history folder in parallel (Prefect flow)",
        description=_FLOW_NOTE,
    )
    bf.add_argument(
        "folder",
        metavar="PATH",
        help="a folder of watch files (searched recursively, archives too), or an export's .zip",
    )
    _lake_and_athlete(bf)
    bf.add_argument("--workers", type=int, help="worker processes (default: config)")
    bf.add_argument("--batch-size", type=int, help="files per task (default: automatic)")
    bf.add_argument("--dask-address", help="run the tasks on a Dask cluster (tcp://host:port)")
    bf.add_argument("--dask-local", action="store_true", help="on a local Dask cluster")


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo",
        help="write a sample season into an inbox and run the nightly sync on it",
        description="Write a sample season (FIT files) into DIR/inbox, run the nightly-sync "
        "flow once on it (Prefect), then print an overview, an example query and the flags. "
        "The sample has its own lake (DIR/lake) and athlete (config demo.athlete): it never "
        "mixes with your own runs.",
    )
    demo.add_argument("folder", nargs="?", metavar="DIR", help="default: config demo.folder")
    demo.add_argument("--lake", help="default: DIR/lake")
    demo.add_argument("--athlete", help="default: config demo.athlete")
    demo.add_argument("--seed", type=int, default=0)


def _add_deployments(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    srv = sub.add_parser(
        "serve",
        help="run the nightly sync on its schedule until stopped (Prefect)",
        description="Serve the nightly-sync (config sync.cron, sync.timezone) and backfill "
        "deployments with Prefect's runner. " + _FLOW_NOTE,
    )
    _inbox_lake_athlete(srv)

    dpl = sub.add_parser(
        "deploy",
        help="register both flows on your Prefect server, for a work pool",
        description="Register the nightly-sync (with its cron schedule) and backfill "
        "deployments on the Prefect server of PREFECT_API_URL, for a work pool of type "
        "'process' (created if missing); then run `prefect worker start --pool POOL` where "
        "runlake is installed.",
    )
    dpl.add_argument("--pool", default="runlake", help="work pool name (default: runlake)")
    _inbox_lake_athlete(dpl)

    dep = sub.add_parser("deployments", help="list the deployments and their schedules")
    dep.add_argument("--format", choices=["table", "json"], default="table")
    _inbox_lake_athlete(dep)


def _add_flags_and_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fl = sub.add_parser("flags", help="show the form and fatigue flags")
    _lake_and_athlete(fl)
    fl.add_argument("--since", type=date.fromisoformat, metavar="DATE", help="YYYY-MM-DD")
    fl.add_argument("--format", choices=["table", "json"], default="table", help="default: table")
    fl.add_argument(
        "--recompute",
        action="store_true",
        help="recompute every run's metrics and flags from the records (flags judged with "
        "other thresholds are judged again without it)",
    )

    rep = sub.add_parser(
        "report", help="write a self-contained HTML report: one run, or the last weeks"
    )
    rep.add_argument("--lake")
    rep.add_argument("--athlete")
    what = rep.add_mutually_exclusive_group()
    what.add_argument("--run", metavar="ID", help="a run's activity_id (see the runs view)")
    what.add_argument(
        "--weeks",
        type=int,
        metavar="N",
        help="the last N weeks (default 12), or N weeks from --from or up to --to",
    )
    rep.add_argument(
        "--from", dest="from_day", metavar="DATE", help="weeks report: from this day's week"
    )
    rep.add_argument("--to", dest="to_day", metavar="DATE", help="weeks report: to this day's week")
    rep.add_argument("--out", metavar="FILE", help="HTML file (default: report-<athlete>-...)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="runlake",
        description="Watch files (FIT, GPX, TCX) into a Parquet lake that you query with DuckDB.",
    )
    p.add_argument("--config", help="a TOML file overriding config/runlake.toml")
    sub = p.add_subparsers(dest="command", required=True)
    _add_ingest_and_sql(sub)
    _add_export(sub)
    _add_flows(sub)
    _add_deployments(sub)
    _add_flags_and_report(sub)
    _add_demo(sub)
    return p


_FLOW_COMMANDS = frozenset({"demo", "sync", "backfill", "serve", "deploy", "deployments"})


def _require_prefect(command: str) -> None:
    if importlib.util.find_spec("prefect") is None:
        raise RunlakeError(
            f"`runlake {command}` runs a Prefect flow, and Prefect is not installed in this "
            "environment: install runlake with its dependencies (pip install runlake)"
        )


_PYARROW_FIRST = frozenset(("export", "flags", "report"))
"""Commands whose first heavy import is pyarrow (ingest and the flows start a worker pool
first, and skip the probe after it; sql imports no pyarrow, unless it rebuilds the catalog,
which never converts a value)."""

_READ_ONLY = frozenset(("sql", "export"))
"""Commands that only read the lake: a Ctrl-C leaves nothing to say about commits."""


@contextmanager
def _config_for_flows(path: str | None) -> Iterator[None]:
    """$RUNLAKE_CONFIG set to ``--config``'s file while the command runs: the flows, their
    worker processes and the runs `serve` starts load the configuration themselves, and
    must read the same file, whatever their working directory."""
    if not path:
        yield
        return
    saved = os.environ.get("RUNLAKE_CONFIG")
    os.environ["RUNLAKE_CONFIG"] = str(Path(path).resolve())
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("RUNLAKE_CONFIG", None)
        else:
            os.environ["RUNLAKE_CONFIG"] = saved


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = load_config(Path(args.config) if args.config else None)
        if args.command in _FLOW_COMMANDS:
            _require_prefect(args.command)
        if args.command in _PYARROW_FIRST:
            from runlake import skip_pandas_probe

            skip_pandas_probe()
        handler = {
            "ingest": _cmd_ingest,
            "sql": _cmd_sql,
            "export": _cmd_export,
            "demo": _cmd_demo,
            "sync": _cmd_sync,
            "backfill": _cmd_backfill,
            "serve": _cmd_serve,
            "deploy": _cmd_deploy,
            "deployments": _cmd_deployments,
            "flags": _cmd_flags,
            "report": _cmd_report,
        }[args.command]
        with _config_for_flows(args.config):
            return handler(args, cfg)
    except RunlakeError as e:
        sys.stderr.write(f"runlake: error: {e}\n")
        return e.exit_code
    except OSError as e:
        sys.stderr.write(f"runlake: error: {e}\n")
        return 1
    except KeyboardInterrupt:  # the flow commands handle Ctrl-C themselves, with more to say
        sys.stderr.write(
            ("\n" if sys.stderr.isatty() else "")  # below a progress bar
            + f"runlake {args.command}: stopped (Ctrl-C)"
            + ("\n" if args.command in _READ_ONLY else "; what was committed stays in the lake\n")
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
