"""``python -m fuzz``: the long fuzz campaign and kill loop, or the replay of one case.

    python -m fuzz                           # 25,000 FIT + 6,000 GPX + 6,000 TCX cases, 60 kills
    python -m fuzz --fit 2000 --gpx 500 --tcx 500 --kills 0 --seed 7
    python -m fuzz --replay fit:1:1234       # one case, in this process, with its traceback
    python -m fuzz --replay fit:1:1234 --dump case.fit

Exit code 0 when every case ended as new/warning/skipped/error/present with a message, the
scratch lakes checked out and every killed ingest left a sound lake that resumed to the
uninterrupted one; 1 otherwise (failing case ids and recipes are printed).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from fuzz._cases import CORPUS, Case, Seeds, case, load_seeds
from fuzz._crash import (
    check_lake,
    ingest_command,
    kill_loop,
    lake_digest,
    make_inbox,
    subprocess_env,
)
from fuzz._runner import FuzzReport, run_cases
from runlake._errors import DecodeError
from runlake.decode import decode_fit, decode_gpx, decode_tcx
from runlake.ingest._ingest import INTERNAL_ERROR, _decode_normalize, _sniff, ingest_file
from runlake.lake._store import Lake
from runlake.normalize import SourceInfo


def _replay(seeds: Seeds, case_id: str, dump: str | None) -> int:
    c = case(seeds, case_id)
    print(c.describe())
    if dump:
        Path(dump).write_bytes(c.data)
        print(f"wrote {len(c.data)} bytes to {dump}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / c.name
        path.write_bytes(c.data)
        t0 = time.perf_counter()
        o = ingest_file(Lake(Path(tmp) / "lake"), path, "fuzz")
        print(f"ingest_file: {o.status} in {time.perf_counter() - t0:.3f} s: {o.message}")
        if o.message.startswith(INTERNAL_ERROR):
            info = SourceInfo(o.file_sha256 or "0" * 64, str(path), datetime.now(UTC))
            _decode_normalize(c.data, _sniff(c.data, path), info)  # raises with its traceback
    for label, call in (("strict decode", _strict), ("decode of every message", _every)):
        try:
            call(c)
            print(f"{label}: ok")
        except Exception:  # noqa: BLE001 - the traceback is what is wanted
            print(f"{label}: {traceback.format_exc()}")
    return 0


def _strict(c: Case) -> None:
    try:
        if c.kind == "fit":
            decode_fit(c.data, source=c.name, on_error="raise")
        elif c.kind == "tcx":
            decode_tcx(c.data, source=c.name, on_error="raise")
        else:
            decode_gpx(c.data, source=c.name, on_error="raise")
    except DecodeError as e:
        print(f"  (raised {type(e).__name__}: {e})")


def _every(c: Case) -> None:
    if c.kind == "fit":
        try:
            decode_fit(c.data, source=c.name, messages=None)
        except DecodeError as e:
            print(f"  (raised {type(e).__name__}: {e})")


def _kills(kills: int, seed: int, workdir: Path) -> bool:
    """The kill loop on a season inbox, in rounds of ten kills; True when all held."""
    inbox = workdir / "inbox"
    make_inbox(inbox, weeks=6, seed=seed)
    env = subprocess_env()
    clean = workdir / "clean"
    t0 = time.monotonic()
    subprocess.run(ingest_command(inbox, clean, "anna", None), env=env, check=True,
                   capture_output=True)  # fmt: skip
    took = time.monotonic() - t0
    want = lake_digest(clean)
    rng = random.Random(f"kills:{seed}")
    ok, done, rounds = True, 0, 0
    while done < kills:
        rounds += 1
        lake = workdir / f"killed{rounds}"
        batch = rng.choice([None, 1, 2, 3, 5])
        cmd = ingest_command(inbox, lake, "anna", batch)
        n = min(10, kills - done)
        report = kill_loop(cmd, lake, kills=n, window_s=took, rng=rng, env=env)
        done += report.kills
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        problems = report.problems + check_lake(lake)
        if lake_digest(lake) != want:
            problems.append("the resumed lake differs from the uninterrupted one")
        print(f"  kill round {rounds} (batches of {batch or 'default'}): {report.describe()}")
        for p in problems:
            ok = False
            print(f"    {p}")
    print(f"kills: {done} kills in {rounds} rounds, {'all held' if ok else 'FAILED'}")
    return ok


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--fit", type=int, default=25_000, help="FIT cases (default 25000)")
    p.add_argument("--gpx", type=int, default=6_000, help="GPX cases (default 6000)")
    p.add_argument("--tcx", type=int, default=6_000, help="TCX cases (default 6000)")
    p.add_argument("--kills", type=int, default=60, help="kill -9 of ingests (default 60)")
    p.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    p.add_argument("--start", type=int, default=0, help="first case index (default 0)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per case (hang)")
    p.add_argument("--mem-mb", type=float, default=512.0, help="peak RSS growth per case")
    p.add_argument("--max-kb", type=int, default=4096, help="largest corpus seed file, kB")
    p.add_argument("--no-corpus", action="store_true", help="generated seed files only")
    p.add_argument("--corpus", default=str(CORPUS), help="folder with fit/, gpx/ and tcx/")
    p.add_argument("--replay", metavar="CASE_ID", help="run one case here, e.g. fit:1:1234")
    p.add_argument("--dump", metavar="FILE", help="with --replay: write the case's bytes")
    p.add_argument("--save", metavar="DIR", help="write the bytes of failing cases here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    corpus = None if args.no_corpus else Path(args.corpus)
    seeds = load_seeds(corpus, args.max_kb * 1024)
    if args.replay:
        return _replay(seeds, args.replay, args.dump)
    shm = Path("/dev/shm")  # noqa: S108 - a scratch lake in memory, in a private mkdtemp
    base = shm if shm.is_dir() else Path(tempfile.gettempdir())
    workdir = Path(tempfile.mkdtemp(prefix="runlake-fuzz-", dir=base))
    ids = [f"fit:{args.seed}:{i}" for i in range(args.start, args.start + args.fit)]
    ids += [f"gpx:{args.seed}:{i}" for i in range(args.start, args.start + args.gpx)]
    ids += [f"tcx:{args.seed}:{i}" for i in range(args.start, args.start + args.tcx)]
    ok = _campaign(args, seeds, ids, workdir / "cases") if ids else True
    shutil.rmtree(workdir, ignore_errors=True)
    if args.kills:
        print(f"kill loop: {args.kills} kill -9 of `runlake ingest` at random points", flush=True)
        kdir = Path(tempfile.mkdtemp(prefix="runlake-kills-"))
        held = _kills(args.kills, args.seed, kdir)
        if held:
            shutil.rmtree(kdir, ignore_errors=True)
        ok = ok and held
    return 0 if ok else 1


def _campaign(args: argparse.Namespace, seeds: Seeds, ids: list[str], workdir: Path) -> bool:
    """Run the cases ``ids`` on ``args.jobs`` workers; print the summary and any failures
    (and write their bytes to ``args.save``). True when no case failed."""
    print(
        f"fuzz: seed {args.seed}, {len(ids)} cases ({args.fit} FIT, {args.gpx} GPX, "
        f"{args.tcx} TCX) from "
        f"{seeds.describe()}, {args.jobs} workers, {args.timeout:g} s per case",
        flush=True,
    )
    last = [time.monotonic()]

    def progress(r: FuzzReport) -> None:
        if time.monotonic() - last[0] > 30:
            last[0] = time.monotonic()
            print(f"  {r.cases}/{len(ids)} cases, {len(r.failures)} failures", flush=True)

    report = run_cases(
        (case(seeds, i) for i in ids),
        workdir=workdir,
        jobs=args.jobs,
        timeout_s=args.timeout,
        mem_limit_mb=args.mem_mb,
        on_result=progress,
    )
    print(report.summary())
    if not report.failures:
        return True
    print("failures by signature:\n" + report.describe_signatures())
    print(report.describe_failures(limit=10))
    extra = " --no-corpus" if args.no_corpus else ""
    print(f"replay one with: python -m fuzz --replay CASE_ID --max-kb {args.max_kb}{extra}")
    if args.save:
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        for c, _ in report.failures:
            if c is not None:
                (out / c.case_id.replace(":", "_")).write_bytes(c.data)
        print(f"failing inputs written to {out}")
    return False


if __name__ == "__main__":
    sys.exit(main())
