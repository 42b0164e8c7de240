"""Ingest end to end: golden values from the generator, idempotence, every corpus edge case."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from runlake import LakeError, decode_fit, ingest_paths, run_query
from runlake.ingest._ingest import ingest_file
from runlake.lake._store import Lake
from runlake.synth import (
    RunSpec,
    encode_run,
    expected_laps,
    expected_summary,
    simulate,
    write_run,
    write_season,
)

from ..conftest import DATA, corpus_file, requires_corpus

START = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


def _spec(**kw: object) -> RunSpec:
    base: dict[str, object] = {
        "start": START,
        "kind": "easy",
        "duration_s": 1800,
        "base_speed_mps": 2.9,
        "base_hr_bpm": 142.0,
        "cadence_spm": 172.0,
        "seed": 7,
    }
    base.update(kw)
    return RunSpec(**base)  # type: ignore[arg-type]


def _one(lake: Path, sql: str) -> dict[str, object]:
    rows = run_query(lake, sql).to_pylist()
    assert len(rows) == 1, rows
    return rows[0]


# -- golden values ------------------------------------------------------------------------------

SUMMARY_KEYS = [
    "duration_s",
    "elapsed_s",
    "distance_m",
    "avg_speed_mps",
    "max_speed_mps",
    "avg_hr_bpm",
    "max_hr_bpm",
    "avg_cadence_spm",
    "avg_vertical_oscillation_mm",
    "avg_stance_time_ms",
    "avg_stance_time_balance_pct",
    "avg_step_length_mm",
    "avg_vertical_ratio_pct",
    "total_ascent_m",
]


@pytest.mark.parametrize(
    "spec",
    [
        _spec(),
        _spec(kind="long", duration_s=5400, pause_s=95, seed=3),
        _spec(kind="workout", duration_s=3000, power=True, seed=11),
        _spec(running_dynamics=False, hr_dropout_s=6, sub_sport="treadmill", seed=5),
    ],
    ids=["easy", "long-with-pause", "workout-power", "no-dynamics-treadmill"],
)
def test_generated_run_has_its_exact_summary(tmp_path: Path, spec: RunSpec) -> None:
    samples = write_run(tmp_path / "in" / "run.fit", spec)
    want = expected_summary(samples)
    lake = tmp_path / "lake"
    summary = ingest_paths([tmp_path / "in"], lake_root=lake, athlete="anna")
    assert summary.counts["new"] == 1, summary.describe()
    got = _one(lake, "select * from runs")
    for key in SUMMARY_KEYS:
        if want.get(key) is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), key
    assert got["n_records"] == want["n_records"]
    assert got["start_time"] == spec.start
    assert got["sport"] == "running"
    assert got["sub_sport"] == spec.sub_sport
    assert got["athlete"] == "anna"
    assert got["has_running_dynamics"] is spec.running_dynamics
    # per-record values, including the nulls of a heart-rate dropout
    rec = run_query(
        lake,
        "select heart_rate_bpm, cadence_spm, speed_mps, stance_time_ms, elapsed_s "
        "from records order by timestamp",
    ).to_pydict()
    assert len(rec["speed_mps"]) == want["n_records"]
    assert rec["speed_mps"] == pytest.approx(samples.speed_mps.tolist(), abs=1e-9)
    assert rec["cadence_spm"] == pytest.approx(samples.cadence_spm.tolist(), abs=1e-9)
    hr = samples.heart_rate_bpm
    assert [v is None for v in rec["heart_rate_bpm"]] == [bool(x != x) for x in hr.tolist()]
    if spec.hr_dropout_s:
        assert rec["heart_rate_bpm"][0] is None
    if spec.running_dynamics:
        assert samples.stance_time_ms is not None
        assert rec["stance_time_ms"] == pytest.approx(samples.stance_time_ms.tolist(), abs=1e-9)
    else:
        assert set(rec["stance_time_ms"]) == {None}
    assert rec["elapsed_s"][0] == 0.0
    assert rec["elapsed_s"][-1] == pytest.approx(want["elapsed_s"])
    # laps: one per lap message with the device's values
    laps = run_query(lake, "select * from laps order by lap_index").to_pylist()
    want_laps = expected_laps(samples)
    assert len(laps) == len(want_laps)
    for got_lap, want_lap in zip(laps, want_laps, strict=True):
        assert got_lap["distance_m"] == pytest.approx(want_lap["distance_m"])
        assert got_lap["avg_hr_bpm"] == pytest.approx(want_lap["avg_hr_bpm"])


def test_season_ingests_every_run_once(tmp_path: Path) -> None:
    files = write_season(tmp_path / "season", start=date(2026, 6, 1), weeks=4, seed=1)
    lake = tmp_path / "lake"
    first = ingest_paths([tmp_path / "season"], lake_root=lake, athlete="anna")
    assert first.counts["new"] == len(files)
    assert first.counts["error"] == 0
    row = _one(lake, "select count(*) as n, count(distinct activity_id) as ids from runs")
    assert row == {"n": len(files), "ids": len(files)}
    weekly = run_query(lake, "select * from weekly_load order by week_start").to_pylist()
    total = _one(lake, "select sum(distance_m) as d from runs")["d"]
    assert sum(w["distance_m"] for w in weekly) == pytest.approx(total)


# -- idempotence --------------------------------------------------------------------------------


def _snapshot(lake: Path) -> dict[str, int]:
    out = {}
    for view in ("activities", "laps", "records", "ingest_errors"):
        out[view] = _one(lake, f"select count(*) as n from {view}")["n"]
    return out


def test_same_file_twice_and_under_another_name_changes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "a" / "run.fit"
    write_run(src, _spec())
    lake = tmp_path / "lake"
    ingest_paths([src], lake_root=lake, athlete="anna")
    before = _snapshot(lake)
    files_before = sorted(p.relative_to(lake) for p in lake.rglob("*.parquet"))

    copy = tmp_path / "b" / "renamed copy.FIT"
    copy.parent.mkdir()
    shutil.copyfile(src, copy)
    catalog = (lake / "catalog.duckdb").stat().st_mtime_ns
    again = ingest_paths([src, copy], lake_root=lake, athlete="anna")
    assert [o.status for o in again.outcomes] == ["present", "present"]
    # nothing written, derived tables included: the catalog stands
    assert again.derived["written"] is False
    assert again.derived["catalog_rebuilt"] is False
    assert (lake / "catalog.duckdb").stat().st_mtime_ns == catalog
    assert _snapshot(lake) == before
    assert sorted(p.relative_to(lake) for p in lake.rglob("*.parquet")) == files_before
    # the source path stays the one of the first ingest
    assert _one(lake, "select source_path from activities")["source_path"] == str(src)


def test_athletes_are_separate(tmp_path: Path) -> None:
    src = tmp_path / "run.fit"
    write_run(src, _spec())
    lake = tmp_path / "lake"
    ingest_paths([src], lake_root=lake, athlete="anna")
    second = ingest_paths([src], lake_root=lake, athlete="ben")
    assert second.counts["new"] == 1
    rows = run_query(lake, "select athlete, count(*) n from activities group by 1 order by 1")
    assert rows.to_pylist() == [{"athlete": "anna", "n": 1}, {"athlete": "ben", "n": 1}]


@pytest.mark.parametrize("bad", ["../escape", "a/b", ".hidden", "", "x" * 65])
def test_athlete_name_cannot_escape_the_lake(tmp_path: Path, bad: str) -> None:
    with pytest.raises(LakeError):
        ingest_paths([tmp_path], lake_root=tmp_path / "lake", athlete=bad)
    assert not (tmp_path / "escape").exists()


# -- bad input never stops the batch ------------------------------------------------------------


def test_bad_files_are_recorded_and_good_ones_ingested(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    good = write_run(inbox / "good.fit", _spec())
    data = (inbox / "good.fit").read_bytes()
    (inbox / "empty.fit").write_bytes(b"")
    (inbox / "truncated.fit").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0x40
    (inbox / "bitflip.fit").write_bytes(bytes(flipped))
    (inbox / "foreign.fit").write_bytes(b"%PDF-1.4 not a watch file at all" * 10)
    (inbox / "broken.gpx").write_bytes(b"<gpx><trk><trkseg><trkpt lat='1' lon='2'>")
    lake = tmp_path / "lake"
    summary = ingest_paths([inbox], lake_root=lake, athlete="anna")
    by_name = {Path(o.source_path).name: o for o in summary.outcomes}
    assert by_name["good.fit"].status == "new"
    assert by_name["empty.fit"].status == "error"
    assert "empty file" in by_name["empty.fit"].message
    assert by_name["foreign.fit"].status == "error"
    assert "not a FIT" in by_name["foreign.fit"].message
    assert by_name["broken.gpx"].status == "error"
    assert "malformed XML" in by_name["broken.gpx"].message
    # a watch that died mid-run: salvaged, with a warning naming the byte offset
    assert by_name["truncated.fit"].status == "warning"
    assert "FitTruncatedError" in by_name["truncated.fit"].message
    assert "at byte" in by_name["truncated.fit"].message
    assert by_name["truncated.fit"].n_records > 0
    assert by_name["bitflip.fit"].status == "warning"
    assert "CRC" in by_name["bitflip.fit"].message
    errors = run_query(
        lake, "select source_path, severity, stage, message from ingest_errors order by 1"
    ).to_pylist()
    assert {Path(str(e["source_path"])).name for e in errors} == {
        "empty.fit",
        "truncated.fit",
        "bitflip.fit",
        "foreign.fit",
        "broken.gpx",
    }
    assert (
        good.n_records
        == _one(lake, "select n_records from activities where source_path like '%good.fit'")[
            "n_records"
        ]
    )
    # nothing half-written anywhere
    assert not list(lake.rglob("*.tmp"))
    for p in lake.rglob("*.parquet"):
        pq.read_metadata(p)


def test_unreadable_file_is_reported_not_committed(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    outcome = ingest_file(lake, tmp_path / "missing.fit", "anna")
    assert outcome.status == "error"
    assert "cannot read" in outcome.message


# -- one test per edge case of ../shared/data/README.md ---------------------------------------

EDGE_CASES = [
    # (file name part, expected status, text in the message or "" , at least n activities)
    ("activity-unexpected-eof.fit", "warning", "FitTruncatedError", 1),
    ("activity-settings-nodata.fit", "warning", "FitTruncatedError", 1),
    ("strava-android-app-201.10", "warning", "undefined local message 11", 1),
    ("__activity-filecrc.fit", "warning", "file CRC", 1),
    ("activity-activity-filecrc.fit", "warning", "file CRC", 1),
    ("610464_bad_crc.fit", "warning", "header CRC", 1),
    ("ELEMNT_ROAM_Unterminated.fit", "warning", "FitTruncatedError", 1),
    ("nick.fit", "warning", "FitTruncatedError", 1),
    ("activity-settings-corruptheader.fit", "warning", "not a FIT header", 1),
    ("610464_no_defmsg.fit", "error", "undefined local message 0", 0),
    ("._empty.fit", "error", "not a FIT file", 0),
    ("coros-pace-2-cycling-misaligned-fields.fit", "warning", "not a multiple", 1),
    ("compressed-speed-distance.fit", "warning", "LocalTimeAsUtc", 1),
    ("sample_mulitple_header.fit", "new", "", 2),
    ("2825367441.fit", "new", "", 1),
    ("ZeroHeaderCrc.fit", "new", "", 1),
    ("Settings.fit", "skipped", "holds no activity", 0),
    ("MonitoringFile.fit", "skipped", "holds no activity", 0),
    ("WorkoutRepeatSteps.fit", "skipped", "holds no activity", 0),
]


@requires_corpus
@pytest.mark.corpus
@pytest.mark.parametrize(
    ("part", "status", "text", "n_act"), EDGE_CASES, ids=[c[0] for c in EDGE_CASES]
)
def test_corpus_edge_case(tmp_path: Path, part: str, status: str, text: str, n_act: int) -> None:
    if part == "Settings.fit":
        path = corpus_file("python-fitparse__tests__files__Settings.fit")
    else:
        path = corpus_file(part)
    lake = Lake(tmp_path / "lake")
    outcome = ingest_file(lake, path, "corpus")
    assert outcome.status == status, outcome
    assert text in outcome.message
    assert outcome.n_activities >= n_act
    assert lake.is_ingested("corpus", str(outcome.file_sha256))
    again = ingest_file(lake, path, "corpus")
    assert again.status == "present"


@requires_corpus
@pytest.mark.corpus
def test_chained_file_with_seven_segments_keeps_all_records(tmp_path: Path) -> None:
    path = corpus_file("2825367441.fit")
    fit = decode_fit(path.read_bytes(), source=str(path))
    assert fit.n_segments == 7
    lake = tmp_path / "lake"
    ingest_paths([path], lake_root=lake, athlete="corpus")
    row = _one(lake, "select sum(n_records) as n, min(sport) as sport from activities")
    assert row["n"] == fit.messages["record"].num_rows
    assert row["sport"] == "running"


@requires_corpus
@pytest.mark.corpus
def test_stryd_developer_fields_become_columns(tmp_path: Path) -> None:
    path = corpus_file("running-with-developer-data.fit")
    lake = tmp_path / "lake"
    ingest_paths([path], lake_root=lake, athlete="corpus")
    row = _one(
        lake,
        "select count(power_w) p, count(form_power_w) fp, count(leg_spring_stiffness_kn_m) lss,"
        " avg(form_power_w) afp, count(*) n from records",
    )
    assert row["n"] > 1000
    assert row["p"] > 0.9 * row["n"]
    assert row["fp"] > 0.9 * row["n"]
    assert row["lss"] > 0.9 * row["n"]
    assert 40 < row["afp"] < 120  # Stryd form power of a runner, watts


@requires_corpus
@pytest.mark.corpus
def test_multisport_file_gives_one_activity_per_session(tmp_path: Path) -> None:
    path = corpus_file("triathlon_summary_last.fit")
    lake = tmp_path / "lake"
    ingest_paths([path], lake_root=lake, athlete="corpus")
    sports = run_query(lake, "select sport from activities order by start_time").to_pydict()
    assert sports["sport"] == ["swimming", "transition", "cycling", "transition", "running"]
    runs = _one(lake, "select avg_cadence_spm, avg_stance_time_ms, n_records from runs")
    assert runs["avg_cadence_spm"] > 150  # steps per minute, both feet
    assert runs["avg_stance_time_ms"] > 200
    recs = _one(
        lake,
        "select count(*) n from records r join runs a using (activity_id) "
        "where r.timestamp < a.start_time",
    )
    assert recs["n"] == 0


@requires_corpus
@pytest.mark.corpus
def test_real_run_with_running_dynamics(tmp_path: Path) -> None:
    path = corpus_file("garmin-fenix-5-run.fit")
    lake = tmp_path / "lake"
    ingest_paths([path], lake_root=lake, athlete="corpus")
    row = _one(lake, "select * from runs")
    assert row["device_manufacturer"] == "garmin"
    assert row["device_product"] == "fenix5"
    assert row["has_running_dynamics"] is True
    assert row["start_time"].tzinfo is not None


@requires_corpus
@pytest.mark.corpus
def test_whole_corpus_every_file_handled(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    summary = ingest_paths([DATA], lake_root=lake, athlete="corpus")
    assert summary.outcomes, "no corpus files found"
    errors = [o for o in summary.outcomes if o.status == "error"]
    fit_errors = [o for o in errors if "/fit/" in o.source_path]
    assert len(fit_errors) <= 3, fit_errors
    # the TCX files broken on purpose (see tests/decode/test_tcx_crosscheck.py), no other
    assert sorted(Path(o.source_path).name for o in errors if "/tcx/" in o.source_path) == [
        "aricooperdavis__Huawei-TCX-Converter__Development Tools__Invalid_TCX.tcx",
        "corriporai__runpandas__runpandas__tests__io__data__tcx__malformed.tcx",
    ]
    assert len(errors) == len(fit_errors) + 2, errors
    assert any(o.source_path.endswith("activities/12866632127.fit.gz") for o in summary.outcomes)
    assert all(o.message for o in summary.outcomes if o.status != "new" and o.status != "present")
    # every FIT activity file with running sessions in the inventory gave a running activity
    running = "from activities where sport = 'running' and n_records > 0"
    assert _one(lake, f"select count(*) n {running}")["n"] >= 37
    # and runs has one copy of each (tests/ingest/test_duplicates.py: which are copies)
    copies = _one(lake, f"select count(*) n {running} and duplicate_of is not null")["n"]
    assert copies > 0
    runs = _one(lake, "select count(*) n from runs where n_records > 0")["n"]
    assert runs == _one(lake, f"select count(*) n {running}")["n"] - copies
    # missing is null, never zero
    zeros = _one(
        lake,
        "select count(*) filter (where heart_rate_bpm = 0) hr0, "
        "count(*) filter (where latitude_deg = 0 and longitude_deg = 0) pos0 from records",
    )
    assert zeros == {"hr0": 0, "pos0": 0}
    assert (
        _one(
            lake,
            "select min(start_time) > timestamp '1980-01-01' ok "
            "from activities where source_format = 'fit'",
        )["ok"]
        is True
    )
    stamp = datetime.now(UTC) + timedelta(days=1)
    assert _one(lake, "select max(start_time) as m from activities")["m"] < stamp


def test_time_jumps_are_kept_and_reported(tmp_path: Path) -> None:
    samples = simulate(_spec())
    ts = samples.timestamp.copy()
    ts[900:] -= 60  # the clock jumps back a minute half-way
    path = tmp_path / "jump.fit"
    path.write_bytes(encode_run(replace(samples, timestamp=ts)))
    lake = Lake(tmp_path / "lake")
    outcome = ingest_file(lake, path, "anna")
    assert outcome.status == "warning"
    assert "TimeAnomaly: sample times jump 1 backwards (largest 59 s)" in outcome.message
    assert outcome.n_records == samples.n_records


_TCX = (
    '<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
    'TrainingCenterDatabase/v2"><Activities><Activity Sport="{sport}"><Id>{t}:00Z</Id>'
    '<Lap StartTime="{t}:00Z"><TotalTimeSeconds>2</TotalTimeSeconds><Track>'
    "<Trackpoint><Time>{t}:00Z</Time><HeartRateBpm><Value>120</Value></HeartRateBpm>"
    "</Trackpoint><Trackpoint><Time>{t}:02Z</Time></Trackpoint></Track></Lap></Activity>"
    "</Activities></TrainingCenterDatabase>"
)


def test_tcx_files_are_found_and_told_from_gpx_by_content(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "run.TCX").write_text(_TCX.format(sport="Running", t="2024-05-01T06:00"))
    # a TCX document under a .gpx name is read as TCX (by its root element)
    (inbox / "sub" / "ride.gpx").write_text(_TCX.format(sport="Biking", t="2024-05-02T06:00"))
    shutil.copy(Path(__file__).parents[1] / "fixtures" / "easy-tpx-v1.gpx", inbox / "a.gpx")
    (inbox / "notes.txt").write_text("not a watch file")
    lake = tmp_path / "lake"
    summary = ingest_paths([inbox], lake_root=lake, athlete="anna")
    assert sorted((Path(o.source_path).name, o.status) for o in summary.outcomes) == [
        ("a.gpx", "new"),
        ("ride.gpx", "new"),
        ("run.TCX", "new"),
    ]
    rows = run_query(
        lake,
        "select source_format, sport, n_records, avg_hr_bpm, duration_s from activities "
        "order by start_time",
    ).to_pylist()
    assert [(r["source_format"], r["sport"], r["n_records"]) for r in rows] == [
        ("tcx", "running", 2),
        ("tcx", "cycling", 2),
        ("gpx", "running", 181),  # 2026
    ]
    assert [(r["avg_hr_bpm"], r["duration_s"]) for r in rows[:2]] == [(120.0, 2.0), (120.0, 2.0)]
    files = run_query(lake, "select source_format, file_type from files order by 1").to_pylist()
    assert [(f["source_format"], f["file_type"]) for f in files] == [
        ("gpx", "gpx"),
        ("tcx", "tcx"),
        ("tcx", "tcx"),
    ]
