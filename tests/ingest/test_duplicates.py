"""One copy of each run, end to end: damaged copies, a run as FIT and as GPX, overlapping
exports, the order of ingest, a killed writer, multisport legs, real corpus copies.

Each test compares what is counted (runs, the loads, the week rules, metrics and flags) with
a reference lake that never saw the copies: the copies change nothing there, while
``activities`` and ``files`` still list every one. (The rule itself, on small tables:
tests/metrics/test_duplicates.py.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from runlake import Lake, build_catalog, ingest_paths, run_query
from runlake.flags import load_thresholds
from runlake.ingest import _derive as derive
from runlake.synth import RunSpec, season_plan, simulate, write_season

from ..conftest import FIT_DIR, requires_corpus
from ..fixtures.make_fixtures import GpxStyle, gpx_bytes

START = date(2026, 6, 1)
WEEKS = 4
STYLE = GpxStyle(tpx="v1", prefix="gpxtpx", utc_offset_h=0, atemp=False)

COUNTED = {
    "runs": "select * exclude (ingested_at) from runs order by athlete, start_time",
    "weekly_load": "select * from weekly_load order by athlete, week_start",
    "daily_load": "select * from daily_load order by athlete, date",
    "weekly_training": "select * from weekly_training order by athlete, week_start",
    "run_summary": "select * from run_summary order by athlete, start_time",
    "run_metrics": "select * from run_metrics order by athlete, activity_id",
    "lap_metrics": "select * from raw_lap_metrics order by athlete, activity_id, lap_index",
    "flags": "select * from flags order by athlete, week_start, date, code, activity_id",
}
"""What counts runs: it must not see a second copy of one."""


class Season:
    """The sample season as FIT files, and each run's spec."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = write_season(folder / "fit", start=START, weeks=WEEKS, seed=0)
        self.plan = season_plan(START, weeks=WEEKS, seed=0)

    def gpx(self, i: int, folder: Path) -> Path:
        """Run ``i`` written as GPX (the same samples as its FIT file) into ``folder``."""
        spec: RunSpec = self.plan[i]
        path = folder / self.files[i].with_suffix(".gpx").name
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gpx_bytes(simulate(spec), name=path.stem, style=STYLE))
        return path

    def outdoors(self) -> list[int]:
        """Runs with GPS (a treadmill run has no GPX)."""
        return [i for i, s in enumerate(self.plan) if s.sub_sport != "treadmill"]


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Season:
    return Season(tmp_path_factory.mktemp("dup-season"))


@pytest.fixture(scope="module")
def reference(season: Season, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The season's FIT files alone, in one batch."""
    lake = tmp_path_factory.mktemp("dup-reference") / "lake"
    ingest_paths(season.files, lake_root=lake, athlete="me")
    return lake


SUMMED_IN_SQL = {"weekly_load", "daily_load", "weekly_training"}
"""Views whose sums DuckDB adds up in any order: equal to the last bits or so, not exactly
(the same query twice on one lake can differ in the 16th digit)."""


def counted(lake: Path) -> dict[str, pa.Table]:
    return {name: run_query(lake, sql) for name, sql in COUNTED.items()}


def assert_same(got: dict[str, pa.Table], want: dict[str, pa.Table]) -> None:
    for name in COUNTED:
        a, b = got[name], want[name]
        assert a.schema == b.schema, name
        assert a.num_rows == b.num_rows, name
        if name not in SUMMED_IN_SQL:
            assert a.equals(b), name
            continue
        for column in a.column_names:
            x, y = a[column], b[column]
            if pa.types.is_floating(x.type):
                assert x.is_null().equals(y.is_null()), (name, column)
                xs = np.asarray(x.to_numpy(zero_copy_only=False), dtype=np.float64)
                ys = np.asarray(y.to_numpy(zero_copy_only=False), dtype=np.float64)
                np.testing.assert_allclose(xs, ys, rtol=1e-12, err_msg=f"{name}.{column}")
            else:
                assert x.equals(y), (name, column)


def assert_counts_once(lake: Path, reference: Path) -> None:
    assert_same(counted(lake), counted(reference))


def rows(lake: Path, sql: str) -> list[dict[str, object]]:
    return run_query(lake, sql).to_pylist()


def copies(lake: Path) -> dict[str, str]:
    """File name -> file name of its primary, for every duplicate."""
    found = rows(
        lake,
        "select a.source_path, p.source_path as primary_path from activities a "
        "join activities p on p.athlete = a.athlete and p.activity_id = a.duplicate_of",
    )
    return {Path(str(r["source_path"])).name: Path(str(r["primary_path"])).name for r in found}


def primary_ids(lake: Path) -> set[str]:
    return {str(r["activity_id"]) for r in rows(lake, "select activity_id from runs")}


# --------------------------------------------------------------------------- damaged copies


def test_a_truncated_and_a_bit_flipped_copy_are_counted_once(
    season: Season, reference: Path, tmp_path: Path
) -> None:
    cut_of, flip_of = season.files[3], season.files[7]
    data = cut_of.read_bytes()
    (tmp_path / "copies").mkdir()
    cut = tmp_path / "copies" / "cut.fit"
    cut.write_bytes(data[: len(data) // 2])  # a sync that stopped half-way
    data = bytearray(flip_of.read_bytes())
    data[len(data) // 3] ^= 0x55  # one bad byte in a record: the file CRC fails
    flip = tmp_path / "copies" / "flip.fit"
    flip.write_bytes(bytes(data))
    lake = tmp_path / "lake"
    summary = ingest_paths([*season.files, cut, flip], lake_root=lake, athlete="me")
    by_name = {Path(o.source_path).name: o for o in summary.outcomes}
    assert by_name["cut.fit"].status == "warning"  # ingested, rightly, with a warning
    assert by_name["flip.fit"].status == "warning"
    assert summary.derived["duplicates"] == 2

    assert copies(lake) == {"cut.fit": cut_of.name, "flip.fit": flip_of.name}
    assert_counts_once(lake, reference)
    # the copies are still there: every file, every activity, their records
    assert rows(lake, "select count(*) n from files") == [{"n": len(season.files) + 2}]
    assert rows(lake, "select count(*) n from activities") == [{"n": len(season.files) + 2}]
    # without the rule the bit-flipped run (a whole running session) would count twice
    flipped = "select sport, distance_m from activities where source_path = ?"
    assert (
        run_query(lake, flipped, params=[str(flip)]).to_pylist()
        == run_query(lake, flipped, params=[str(flip_of)]).to_pylist()
    )
    reasons = {
        Path(str(r["source_path"])).name: r["duplicate_reason"]
        for r in rows(lake, "select source_path, duplicate_reason from activities")
    }
    assert "started 0 s apart, 100 % of this one's time shared" in str(reasons["cut.fit"])
    assert "its file is undamaged" in str(reasons["flip.fit"])
    assert reasons[flip_of.name] is None


def test_the_same_bytes_again_are_already_present_not_a_duplicate(
    season: Season, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    ingest_paths(season.files[:3], lake_root=lake, athlete="me")
    again = tmp_path / "again" / "renamed.fit"
    again.parent.mkdir()
    again.write_bytes(season.files[1].read_bytes())
    summary = ingest_paths([again], lake_root=lake, athlete="me")
    assert [o.status for o in summary.outcomes] == ["present"]
    assert summary.derived["duplicates"] == 0
    assert rows(lake, "select count(*) n from activities") == [{"n": 3}]
    assert not (lake / "duplicates").exists()


def test_the_same_file_for_two_athletes_is_one_run_of_each(season: Season, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for athlete in ("anna", "ben"):
        ingest_paths(season.files[:4], lake_root=lake, athlete=athlete)
    assert rows(lake, "select athlete, count(*) n from runs group by all order by 1") == [
        {"athlete": "anna", "n": 4},
        {"athlete": "ben", "n": 4},
    ]
    assert rows(lake, "select count(*) n from activities where duplicate_of is not null") == [
        {"n": 0}
    ]


# --------------------------------------------------------------------------- FIT and GPX


def _fit_then_gpx(season: Season, k: int, lake: Path, gpx: Path) -> None:
    ingest_paths(season.files, lake_root=lake, athlete="me")
    ingest_paths([gpx], lake_root=lake, athlete="me")


def _gpx_then_fit(season: Season, k: int, lake: Path, gpx: Path) -> None:
    first = [f for i, f in enumerate(season.files) if i != k] + [gpx]
    ingest_paths(first, lake_root=lake, athlete="me")
    gpx_id = {str(r["activity_id"]) for r in rows(lake, "select activity_id from run_metrics")}
    gpx_id -= {r["activity_id"] for r in rows(lake, "select activity_id from runs "
                                               "where source_format = 'fit'")}  # fmt: skip
    assert len(gpx_id) == 1  # until the FIT comes, the GPX is the run: measured and judged
    ingest_paths([season.files[k]], lake_root=lake, athlete="me")
    assert not gpx_id & {str(r["activity_id"]) for r in rows(lake, "select * from run_metrics")}
    assert not gpx_id & {str(r["activity_id"]) for r in rows(lake, "select * from flags")}


@pytest.mark.parametrize("order", [_fit_then_gpx, _gpx_then_fit], ids=["fit-gpx", "gpx-fit"])
def test_a_run_as_fit_and_as_gpx_counts_the_fit_whatever_the_order(
    season: Season,
    reference: Path,
    tmp_path: Path,
    order: Callable[[Season, int, Path, Path], None],
) -> None:
    k = season.outdoors()[len(season.plan) // 2]
    gpx = season.gpx(k, tmp_path / "gpx")
    lake = tmp_path / "lake"
    order(season, k, lake, gpx)
    assert copies(lake) == {gpx.name: season.files[k].name}
    reason = rows(lake, "select duplicate_reason r from activities where source_format = 'gpx'")
    assert "FIT is preferred to GPX" in str(reason[0]["r"])
    assert_counts_once(lake, reference)
    # the incremental refresh equals a full recompute after the primary moved
    before = counted(lake)
    derive.refresh_derived(Lake(lake), "me", load_thresholds(), full=True)
    build_catalog(lake)
    assert_same(counted(lake), before)


# --------------------------------------------------------------------------- exports


def _exports(season: Season, root: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """Export A: the FIT files of the first two thirds. Export B: the last two thirds, the
    runs it shares with A as GPX where the run has GPS (else the same FIT bytes: already
    present), the others as FIT. And what B alone adds to A."""
    n = len(season.files)
    a = season.files[: 2 * n // 3]
    outdoors = set(season.outdoors())
    b_of = {
        i: season.gpx(i, root / "export-b") if i in outdoors and i < 2 * n // 3 else f
        for i, f in enumerate(season.files)
        if i >= n // 3
    }
    return a, list(b_of.values()), [b_of[i] for i in range(2 * n // 3, n)]


@pytest.mark.parametrize("a_first", [True, False], ids=["a-then-b", "b-then-a"])
def test_two_overlapping_exports_give_each_run_once(
    season: Season, tmp_path: Path, a_first: bool
) -> None:
    a, b, b_only = _exports(season, tmp_path)
    expected = tmp_path / "expected"
    ingest_paths([*a, *b_only], lake_root=expected, athlete="me")
    lake = tmp_path / "lake"
    for export in (a, b) if a_first else (b, a):
        ingest_paths(export, lake_root=lake, athlete="me")
    shared = len(a) + len(b) - len(season.files)
    gpx_copies = {n: p for n, p in copies(lake).items() if n.endswith(".gpx")}
    assert len(gpx_copies) == shared - sum(1 for f in b if f.suffix == ".fit" and f in a)
    assert all(Path(p).stem == Path(n).stem for n, p in gpx_copies.items())
    assert rows(lake, "select count(*) n from runs") == [{"n": len(season.files)}]
    assert_counts_once(lake, expected)
    # an export ingested twice: the same bytes, already present; nothing changes
    before = counted(lake)
    again = ingest_paths(b, lake_root=lake, athlete="me")
    assert {o.status for o in again.outcomes} == {"present"}
    assert_same(counted(lake), before)


def test_the_primaries_do_not_depend_on_the_order_of_ingest(season: Season, tmp_path: Path) -> None:
    """Damaged copies, GPX copies and copies of copies, ingested in three batches in two
    random orders and all at once: the same duplicates, the same counted tables."""
    files: list[Path] = list(season.files)
    for i in season.outdoors()[::3]:
        files.append(season.gpx(i, tmp_path / "gpx"))
    for i in range(0, len(season.files), 4):
        data = season.files[i].read_bytes()
        cut = tmp_path / "cut" / f"cut-{i}.fit"
        cut.parent.mkdir(exist_ok=True)
        cut.write_bytes(data[: len(data) * 2 // 3])
        files.append(cut)
    results = []
    for seed in (None, 1, 2):
        lake = tmp_path / f"lake-{seed}"
        order = list(files)
        if seed is None:
            batches: Sequence[list[Path]] = [order]
        else:
            random.Random(seed).shuffle(order)
            third = len(order) // 3
            batches = [order[:third], order[third : 2 * third], order[2 * third :]]
        for batch in batches:
            ingest_paths(batch, lake_root=lake, athlete="me")
        dups = run_query(lake, "select * from stg_duplicates order by activity_id")
        results.append((dups, counted(lake)))
    (dups0, counted0), *others = results
    assert dups0.num_rows == len(files) - len(season.files)
    for dups, tables in others:
        assert dups.equals(dups0)
        assert_same(tables, counted0)


# --------------------------------------------------------------------------- a killed writer


@pytest.mark.parametrize("dies_on", ["lap_metrics", "run_metrics", "flags"])
def test_a_writer_killed_while_the_primary_moves_is_mended(
    season: Season,
    reference: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dies_on: str,
) -> None:
    k = season.outdoors()[1]
    gpx = season.gpx(k, tmp_path / "gpx")
    lake = tmp_path / "lake"
    ingest_paths([f for i, f in enumerate(season.files) if i != k] + [gpx], lake_root=lake,
                 athlete="me")  # fmt: skip
    real = derive._write_years

    def dies(root: Lake, table: str, *args: object, **kw: object) -> None:
        if table == dies_on:
            raise OSError(28, "No space left on device")
        real(root, table, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(derive, "_write_years", dies)
    with pytest.raises(OSError, match="No space"):
        ingest_paths([season.files[k]], lake_root=lake, athlete="me")
    monkeypatch.setattr(derive, "_write_years", real)
    # the duplicates were written before the writer died; the next writer mends the rest
    again = ingest_paths([season.files[k]], lake_root=lake, athlete="me")
    assert [o.status for o in again.outcomes] == ["present"]
    assert copies(lake) == {gpx.name: season.files[k].name}
    assert_counts_once(lake, reference)


# --------------------------------------------------------------------------- real files


def _corpus(*names: str) -> list[Path]:
    paths = [FIT_DIR / n for n in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"corpus files missing: {missing}")
    return paths


FITPARSE = "dtcooper__python-fitparse__tests__files__"
ACTIVITY_VARIANTS = (
    f"{FITPARSE}Activity.fit",
    f"{FITPARSE}activity-settings.fit",  # the same activity chained after a settings file
    f"{FITPARSE}activity-unexpected-eof.fit",  # truncated
    f"{FITPARSE}activity-filecrc.fit",  # bad file CRC
    f"{FITPARSE}activity-settings-corruptheader.fit",  # garbage after the data
    f"{FITPARSE}activity-settings-nodata.fit",  # chained, second part cut
    f"{FITPARSE}activity-activity-filecrc.fit",  # two chained copies, bad CRC
)


@requires_corpus
@pytest.mark.corpus
def test_real_damaged_copies_of_one_run_give_one_run(tmp_path: Path) -> None:
    files = _corpus(*ACTIVITY_VARIANTS)
    primaries = set()
    for seed in (0, 1):
        order = list(files)
        random.Random(seed).shuffle(order)
        lake = tmp_path / f"lake-{seed}"
        for f in order:  # one file per batch: every order of arrival
            ingest_paths([f], lake_root=lake, athlete="me")
        runs = rows(lake, "select source_path from runs")
        assert len(runs) == 1
        primaries.add(Path(str(runs[0]["source_path"])).name)
        files_status = {
            Path(str(r["source_path"])).name: r["status"]
            for r in rows(lake, "select source_path, status from files")
        }
        assert files_status[next(iter(primaries))] == "ingested"  # an undamaged copy
        assert rows(lake, "select count(*) n from files") == [{"n": len(files)}]
        assert rows(lake, "select count(*) n from run_metrics") == [{"n": 1}]
    assert len(primaries) == 1  # whatever the order


@requires_corpus
@pytest.mark.corpus
def test_a_triathlon_written_twice_gives_each_leg_once(tmp_path: Path) -> None:
    first, last = _corpus(
        "muktihari__fit__testdata__from_garmin_forums__triathlon_summary_first.fit",
        "muktihari__fit__testdata__from_garmin_forums__triathlon_summary_last.fit",
    )
    lake = tmp_path / "lake"
    ingest_paths([first], lake_root=lake, athlete="me")
    legs = rows(lake, "select sport, duplicate_of from activities order by start_time")
    assert len(legs) >= 5  # swim, T1, bike, T2, run: the legs of one file stay
    assert {r["duplicate_of"] for r in legs} == {None}
    ingest_paths([last], lake_root=lake, athlete="me")
    sports = rows(
        lake,
        "select sport, count(*) n, count(duplicate_of) copies from activities "
        "group by sport order by sport",
    )
    assert all(r["n"] == 2 * r["copies"] for r in sports), sports
    # each leg of one file is the copy of the same leg of the other
    pairs = rows(
        lake,
        "select a.sport, p.sport as primary_sport, a.file_sha256 <> p.file_sha256 other_file "
        "from activities a join activities p on p.activity_id = a.duplicate_of",
    )
    assert all(r["sport"] == r["primary_sport"] and r["other_file"] for r in pairs)
    assert rows(lake, "select count(*) n from runs") == [{"n": 1}]


@requires_corpus
@pytest.mark.corpus
def test_a_multisport_file_keeps_its_legs(tmp_path: Path) -> None:
    (multi,) = _corpus("muktihari__fit__testdata__from_official_sdk__activity_multisport.fit")
    lake = tmp_path / "lake"
    ingest_paths([multi], lake_root=lake, athlete="me")
    legs = rows(lake, "select sport, duplicate_of from activities order by start_time")
    assert [r["sport"] for r in legs] == ["cycling", "running"]
    assert [r["duplicate_of"] for r in legs] == [None, None]
    assert rows(lake, "select count(*) n from runs") == [{"n": 1}]
