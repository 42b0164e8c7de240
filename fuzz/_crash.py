"""Crash safety: kill -9 a ``runlake ingest`` at random points, check the lake, resume.

Used by ``tests/lake/test_crash.py`` (a dozen kills) and ``python -m fuzz --kills N`` (many).
After every kill the lake must open, every view answer, no temporary or half-written file
be visible, no uncommitted row show in a view nor a part of an uncommitted batch be under a
part name (what readers of the Parquet folders read); the final, uninterrupted run must leave
exactly the lake a run that was never killed leaves.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from runlake._schemas import TABLES
from runlake.query import COMMITTED_BY_MANIFEST, connect
from runlake.query._catalog import table_glob
from runlake.synth import write_season

__all__ = [
    "KillReport",
    "check_lake",
    "ingest_command",
    "kill_loop",
    "lake_digest",
    "make_inbox",
    "subprocess_env",
]

VIEWS = ("activities", "runs", "records", "laps", "ingest_errors", "files", "weekly_load")
DERIVED_VIEWS = ("run_metrics", "lap_metrics", "flags")
"""Views of derived tables, compared too when the catalog has them."""


def make_inbox(folder: Path, *, weeks: int = 3, seed: int = 5) -> list[Path]:
    """A season of generated runs plus the broken files a real inbox gets."""
    files = write_season(folder / "season", start=date(2026, 1, 5), weeks=weeks, seed=seed)
    good = files[0].read_bytes()
    bad = folder / "bad"
    bad.mkdir(parents=True, exist_ok=True)
    (bad / "empty.fit").write_bytes(b"")
    (bad / "truncated.fit").write_bytes(good[: len(good) // 3])
    (bad / "foreign.fit").write_bytes(b"%PDF-1.4" + bytes(range(256)) * 4)
    (bad / "broken.gpx").write_bytes(b"<gpx><trk><trkseg><trkpt lat='1' lon='2'>")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x10
    (bad / "bitflip.fit").write_bytes(bytes(flipped))
    (bad / "copy of first run.fit").write_bytes(good)  # same content, other name
    return sorted(p for p in folder.rglob("*") if p.is_file())


def ingest_command(inbox: Path, lake: Path, athlete: str, batch_files: int | None) -> list[str]:
    """``python -m runlake.cli ingest``; with ``batch_files``, commit every that many files."""
    args = ["ingest", str(inbox), "--lake", str(lake), "--athlete", athlete]
    if batch_files is None:
        return [sys.executable, "-m", "runlake.cli", *args]
    code = (
        "import sys, runlake.ingest._ingest as i; "
        f"i.BATCH_MAX_FILES = {int(batch_files)}; "
        "from runlake.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    return [sys.executable, "-c", code, *args]


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def _views(con: duckdb.DuckDBPyConnection) -> list[str]:
    names = {r[0] for r in con.execute("select view_name from duckdb_views()").fetchall()}
    return [v for v in (*VIEWS, *DERIVED_VIEWS) if v in names]


def _rounded(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    # Sums over files committed in other batches add up in another order: last-bit noise.
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows]


def lake_digest(lake: Path) -> dict[str, object]:
    """What a lake holds, independent of when it was written (no ingest times)."""
    q = {
        "activities": "select activity_id, file_sha256, source_path, n_records, distance_m, "
        "avg_hr_bpm, year from activities order by all",
        "records": "select activity_id, count(*), sum(heart_rate_bpm), min(timestamp), "
        "max(timestamp) from records group by all order by all",
        "laps": "select activity_id, count(*), sum(distance_m) from laps group by all order by all",
        "files": "select file_sha256, status, n_activities, n_records, year, source_format "
        "from files order by all",
        "ingest_errors": "select file_sha256, severity, stage, message, byte_offset "
        "from ingest_errors order by all",
        "weekly_load": "select * from weekly_load order by all",
    }
    out: dict[str, object] = {}
    with connect(lake) as con:
        for k, v in q.items():
            out[k] = _rounded(con.execute(v).fetchall())
        for view in _views(con):
            if view in DERIVED_VIEWS:
                out[view] = _rounded(con.execute(f"select * from {view} order by all").fetchall())
    return out


def check_lake(lake: Path) -> list[str]:
    """What is wrong with the lake as a reader sees it now (empty: nothing)."""
    problems: list[str] = []
    if not lake.exists():
        return problems
    # every Parquet file is whole (temporary files are dot-named and end in .tmp)
    for p in lake.rglob("*.parquet"):
        try:
            pq.read_table(p)
        except Exception as e:  # noqa: BLE001 - any failure to read is the finding
            problems.append(f"unreadable part {p.relative_to(lake)}: {e}")
    problems += _parts_without_a_manifest(lake)
    try:
        with connect(lake) as con:
            for table in TABLES:
                pattern = str(lake / table_glob(table))
                batched = table in COMMITTED_BY_MANIFEST or table == "files"
                for (f,) in con.execute("select file from glob(?)", [pattern]).fetchall():
                    name = Path(f).name
                    if name.startswith(".") or (batched and not name.startswith("part-")):
                        problems.append(f"a view's glob sees {f}")
            for view in _views(con):
                con.execute(f"select count(*) from {view}").fetchall()
            row = con.execute(
                "select (select count(*) from activities), "
                "(select coalesce(sum(n_activities), 0) from files), "
                "(select count(*) from records), "
                "(select coalesce(sum(n_records), 0) from files), "
                "(select count(*) from activities where file_sha256 not in "
                "(select file_sha256 from files))"
            ).fetchone()
    except Exception as e:  # noqa: BLE001 - the lake must open and answer
        problems.append(f"the lake does not answer: {type(e).__name__}: {e}")
        return problems
    assert row is not None
    acts, acts_in_files, recs, recs_in_files, orphans = row
    if acts != acts_in_files or recs != recs_in_files or orphans:
        problems.append(
            f"uncommitted rows visible: {acts} activities / {acts_in_files} committed, "
            f"{recs} records / {recs_in_files} committed, {orphans} without a manifest"
        )
    return problems


def _parts_without_a_manifest(lake: Path) -> list[str]:
    """Parts that a reader of the Parquet folders (pyarrow, polars, a DuckDB glob) would read
    although their batch is not committed: none may be under a part name."""
    committed = {(p.parent.name, p.name) for p in lake.glob("files/athlete=*/part-*.parquet")}
    return [
        f"a reader of the folders sees {p.relative_to(lake)}, whose batch has no manifest"
        for table in sorted(COMMITTED_BY_MANIFEST)
        for p in sorted((lake / table).rglob("part-*.parquet"))
        if (next(d for d in p.parts if d.startswith("athlete=")), p.name) not in committed
    ]


@dataclass
class KillReport:
    kills: int = 0
    phases: Counter[str] = field(default_factory=Counter)
    """Where the kills landed: what the killed run had done."""
    problems: list[str] = field(default_factory=list)
    runs_to_finish: int = 0

    def describe(self) -> str:
        ph = ", ".join(f"{k} {v}" for k, v in sorted(self.phases.items()))
        return f"{self.kills} kills ({ph}); {len(self.problems)} problems"


def _state(lake: Path) -> tuple[int, int, int]:
    """(manifests, data parts, temporary files) on disk now."""
    if not lake.exists():
        return 0, 0, 0
    manifests = len(list(lake.glob("files/athlete=*/part-*.parquet")))
    parts = sum(1 for p in lake.rglob("part-*.parquet") if not p.parts[-3].startswith("files"))
    temps = len(list(lake.rglob(".*.tmp")))
    return manifests, parts, temps


def kill_loop(
    cmd: list[str],
    lake: Path,
    *,
    kills: int,
    window_s: float,
    rng: random.Random,
    env: dict[str, str],
    check: bool = True,
) -> KillReport:
    """Start ``cmd``, SIGKILL its process group after a random delay, check; ``kills`` times.

    Each run resumes what the killed one left; when a run finished before its kill, the
    lake is wiped so that the next kill lands in a run with work to do again.
    """
    report = KillReport()
    for k in range(kills):
        before = _state(lake)
        delay = rng.uniform(0.0, window_s)
        proc = subprocess.Popen(
            cmd,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        after = _state(lake)
        if finished:
            phase = "finished before the kill"
        elif after[0] > before[0]:
            phase = "after committing a batch"
        elif after[1] > before[1] or after[2] > before[2]:
            phase = "while writing a batch"
        else:
            phase = "before writing"
        report.kills += 1
        report.phases[phase] += 1
        if check:
            report.problems += [f"kill {k + 1} after {delay:.2f} s: {p}" for p in check_lake(lake)]
        if finished:
            shutil.rmtree(lake, ignore_errors=True)
    return report
