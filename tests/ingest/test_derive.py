"""Metrics and flags in the lake: computed on ingest, incremental, crash-safe, shown by the CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from runlake import Lake, build_catalog, ingest_paths, run_query, writer_lock
from runlake.cli import main
from runlake.flags import load_thresholds
from runlake.ingest import _derive as derive
from runlake.synth import season_plan, write_season

START = date(2026, 6, 1)
RUN_CODES = {
    "overstriding",
    "high_vertical_oscillation",
    "ground_contact_imbalance",
    "form_fade",
    "cardiac_drift",
}


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    folder = tmp_path_factory.mktemp("season")
    files = write_season(folder, start=START, weeks=12, seed=0)
    return folder, files


def _flags(lake: Path) -> list[dict[str, object]]:
    t = run_query(
        lake,
        "select f.code, f.date, f.week_start, f.severity, round(f.value, 6) as value, "
        "r.source_path from flags f left join runs r using (athlete, activity_id) "
        "order by f.date, f.code, r.source_path",
    )
    return [
        {**r, "source_path": Path(str(r["source_path"])).name if r["source_path"] else None}
        for r in t.to_pylist()
    ]


def test_form_flags_land_on_the_problem_runs_and_nowhere_else(
    season: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    folder, files = season
    lake = tmp_path / "lake"
    summary = ingest_paths([folder], lake_root=lake, athlete="me")
    assert summary.derived["metrics_computed"] == len(files)
    run_flags = {(f["code"], f["source_path"]) for f in _flags(lake) if f["code"] in RUN_CODES}
    kinds = {(code, str(name).rsplit("-", 1)[-1].removesuffix(".fit")) for code, name in run_flags}
    assert kinds == {
        ("high_vertical_oscillation", "bouncy"),
        ("overstriding", "overstriding"),
        ("ground_contact_imbalance", "asymmetric"),
        ("form_fade", "fading"),
        ("cardiac_drift", "fading"),
    }
    metrics = run_query(lake, "select count(*) n, count(overstriding_index) o from run_metrics")
    assert metrics.to_pylist() == [{"n": len(files), "o": len(files) - 2}]  # 2 runs lack RD
    fuel = [f for f in _flags(lake) if f["code"] == "long_run_fuelling"]
    assert fuel
    assert all(f["severity"] == "info" for f in fuel)
    laps = run_query(lake, "select count(overstriding_index) n from laps").to_pylist()[0]["n"]
    assert laps > len(files)


def test_adding_a_run_recomputes_only_what_it_affects(
    season: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    folder, files = season
    plan = season_plan(START, weeks=12, seed=0)
    last = max(range(len(files)), key=lambda i: plan[i].start)
    middle = len(files) // 2
    held_back = {files[middle], files[last]}
    lake = tmp_path / "lake"
    ingest_paths([f for f in files if f not in held_back], lake_root=lake, athlete="me")
    one = ingest_paths([files[middle]], lake_root=lake, athlete="me")
    assert one.derived["metrics_computed"] == 1
    first, stop = (date.fromisoformat(d) for d in one.derived["flag_window"])
    assert first <= plan[middle].start.date() <= stop
    # the weeks it can affect (the 90 days the personal baselines look back), not all
    assert (stop - first).days <= 13 * 7
    ingest_paths([files[last]], lake_root=lake, athlete="me")

    full = tmp_path / "full"
    ingest_paths([folder], lake_root=full, athlete="me")
    assert _flags(lake) == _flags(full)


def test_incremental_batches_equal_a_full_recompute_exactly(
    season: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    """Metrics measured at ingest and zones recomputed from the histograms while the
    estimated maximum heart rate moves give, to the last bit, what a full recompute from the
    records gives."""
    _folder, files = season
    lake = tmp_path / "lake"
    maxima = []
    for part in (files[0::3], files[1::3], files[2::3]):
        done = ingest_paths(part, lake_root=lake, athlete="me").derived
        maxima.append(done["hr_max_bpm"])
    assert len(set(maxima)) > 1  # the estimate moved between batches: runs were re-zoned
    queries = {
        "runs": "select * exclude (year) from run_metrics order by activity_id",
        "laps": "select * exclude (athlete, year) from raw_lap_metrics "
        "order by activity_id, lap_index",
        "flags": "select * exclude (year) from flags order by all",
        "run_rules": "select * exclude (year) from run_rules order by activity_id",
        "week_rules": "select * exclude (year) from stg_week_rules order by week_start",
        "day_rules": "select * exclude (year) from stg_day_rules order by date",
    }
    incremental = {k: run_query(lake, q) for k, q in queries.items()}
    assert incremental["run_rules"].num_rows == len(files)
    assert incremental["run_rules"]["usual_stance_time_ms"].null_count < len(files)
    again = derive.refresh_derived(Lake(lake), "me", load_thresholds(), full=True)
    assert again["metrics_computed"] == len(files)
    build_catalog(lake)
    for name, q in queries.items():
        assert run_query(lake, q).equals(incremental[name]), name
    assert incremental["runs"]["hr_histogram_bpm"].null_count == 0


def test_a_refresh_killed_half_way_is_redone(
    season: tuple[Path, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, files = season
    lake = tmp_path / "lake"
    ingest_paths(files[:-5], lake_root=lake, athlete="me")
    real = derive._write_years

    def die_on_flags(root: Path, table: str, *args: object, **kw: object) -> None:
        if table == "flags":
            raise OSError(28, "No space left on device")
        real(root, table, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(derive, "_write_years", die_on_flags)
    with pytest.raises(OSError, match="No space"):
        ingest_paths(files[-5:], lake_root=lake, athlete="me")
    monkeypatch.setattr(derive, "_write_years", real)
    state = json.loads((lake / ".state" / "derive-me.json").read_text())
    assert state["dirty"] is not None  # the window to redo was noted before writing
    # the next writer finds nothing new to compute but redoes the noted window
    done = derive.refresh_derived(Lake(lake), "me", load_thresholds())
    assert done["metrics_computed"] == 0
    assert done["flag_window"] == state["dirty"]
    full = tmp_path / "full"
    ingest_paths([folder], lake_root=full, athlete="me")
    assert _flags(lake) == _flags(full)


def test_flags_command_table_json_since_and_recompute(
    season: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _files = season
    lake = tmp_path / "lake"
    ingest_paths([folder], lake_root=lake, athlete="me")
    assert main(["flags", "--lake", str(lake), "--athlete", "me"]) == 0
    out = capsys.readouterr().out
    assert "high_vertical_oscillation" in out
    assert "run " in out
    assert "bouncy.fit" in out
    assert "Advice" in out
    assert (
        main(
            [
                "flags",
                "--lake",
                str(lake),
                "--athlete",
                "me",
                "--format",
                "json",
                "--since",
                "2026-08-01",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert rows
    assert all(r["date"] >= "2026-08-01" for r in rows)
    assert {"code", "severity", "value", "threshold", "unit", "message"} <= rows[0].keys()

    overrides = tmp_path / "mine.toml"
    overrides.write_text(
        "[form]\nvertical_oscillation_max_mm = 140.0\nvertical_ratio_max_pct = 15.0\n"
    )
    cfg = tmp_path / "runlake.toml"
    cfg.write_text(f'[flags]\noverrides = "{overrides}"\n')
    assert (
        main(["--config", str(cfg), "flags", "--lake", str(lake), "--athlete", "me", "--recompute"])
        == 0
    )
    out = capsys.readouterr().out
    assert "high_vertical_oscillation" not in out
    assert "overstriding" in out


def test_no_flag_comes_from_missing_data(tmp_path: Path) -> None:
    """Runs without running dynamics or heart rate get no form or drift flags."""
    from runlake.synth import RunSpec, write_run  # noqa: PLC0415

    spec = RunSpec(
        start=season_plan(START, weeks=2)[0].start,
        kind="bouncy",
        duration_s=3000,
        base_speed_mps=2.9,
        base_hr_bpm=145.0,
        cadence_spm=172.0,
        running_dynamics=False,
        seed=3,
    )
    write_run(tmp_path / "in" / "bouncy-no-rd.fit", spec)
    lake = tmp_path / "lake"
    ingest_paths([tmp_path / "in"], lake_root=lake, athlete="me")
    codes = {f["code"] for f in _flags(lake)}
    assert not codes & {"overstriding", "high_vertical_oscillation", "ground_contact_imbalance"}
    row = run_query(lake, "select step_length_source, stance_time_ms from run_metrics")
    assert row.to_pylist() == [{"step_length_source": "derived", "stance_time_ms": None}]
    assert isinstance(pa.array([1]), pa.Array)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_flags_are_judged_again_when_the_thresholds_change(
    season: tuple[Path, list[Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After changing a threshold, `runlake flags` shows the new judgement (saying so in one
    line), equal to a full recompute; when another writer holds the lake it says why the
    flags shown are the old ones."""
    folder, _files = season
    lake = tmp_path / "lake"
    ingest_paths([folder], lake_root=lake, athlete="me")
    args = ["flags", "--lake", str(lake), "--athlete", "me"]
    assert main(args) == 0
    before = capsys.readouterr()
    assert "high_vertical_oscillation" in before.out
    assert before.err == ""  # judged with the thresholds in force: nothing to say
    mine = _write(
        tmp_path / "mine.toml",
        "[form]\nvertical_oscillation_max_mm = 140.0\nvertical_ratio_max_pct = 15.0\n",
    )
    monkeypatch.setenv("RUNLAKE_FLAGS", str(mine))
    t = load_thresholds(overrides=mine)
    assert derive.stale_flags(Lake(lake), "me", t) == (
        "the flags were computed with other thresholds than those in force"
    )
    assert main(args) == 0
    after = capsys.readouterr()
    assert "high_vertical_oscillation" not in after.out
    assert after.err.count("\n") == 1
    assert "other thresholds than those in force: judged again" in after.err
    assert derive.stale_flags(Lake(lake), "me", t) is None
    # the same as a full recompute with those thresholds
    full = tmp_path / "full"
    ingest_paths([folder], lake_root=full, athlete="me", thresholds=t)
    assert _flags(lake) == _flags(full)
    assert main(args) == 0
    assert capsys.readouterr().err == ""  # now current
    # another writer holds the lake: the old flags, and one line saying why
    monkeypatch.setenv(
        "RUNLAKE_FLAGS", str(_write(tmp_path / "b.toml", "[load]\nacwr_max = 1.2\n"))
    )
    monkeypatch.setattr("runlake.cli._STALE_WAIT_S", 0.2)
    with writer_lock(Lake(lake), holder="a backfill"):
        assert main(args) == 0
    busy = capsys.readouterr()
    assert busy.err.count("\n") == 1
    assert "shown as they were" in busy.err
    assert "a backfill" in busy.err
    assert "overstriding" in busy.out


@pytest.mark.parametrize("command", ["flags", "ingest", "report"])
def test_a_missing_or_bad_thresholds_file_is_one_line_and_exit_2(
    command: str,
    season: tuple[Path, list[Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _folder, files = season
    lake = tmp_path / "lake"
    args = {
        "flags": ["flags", "--lake", str(lake)],
        "ingest": ["ingest", str(files[0]), "--lake", str(lake)],
        "report": ["report", "--lake", str(lake), "--out", str(tmp_path / "r.html")],
    }[command]
    monkeypatch.setenv("RUNLAKE_FLAGS", str(tmp_path / "missing.toml"))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == f"runlake: error: flags config {tmp_path / 'missing.toml'} does not exist\n"
    monkeypatch.setenv("RUNLAKE_FLAGS", str(_write(tmp_path / "bad.toml", "[load]\nacwr = 1\n")))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("runlake: error: ")
    assert "unknown key load.acwr" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()


def test_a_lake_judged_by_an_older_runlake_is_mended(
    season: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    """No fingerprint in the note (an older runlake wrote it): the next refresh recomputes
    every run from its records and judges every week, as a fresh lake would."""
    folder, files = season
    lake = tmp_path / "lake"
    ingest_paths(files[:-1], lake_root=lake, athlete="me")
    (lake / ".state" / "derive-me.json").write_text('{"dirty": null}')
    t = load_thresholds()
    assert derive.stale_flags(Lake(lake), "me", t) == "the flags were computed by an older runlake"
    done = ingest_paths(files[-1:], lake_root=lake, athlete="me").derived
    assert done["metrics_computed"] == len(files)
    assert derive.stale_flags(Lake(lake), "me", t) is None
    full = tmp_path / "full"
    ingest_paths([folder], lake_root=full, athlete="me")
    assert _flags(lake) == _flags(full)


def test_an_older_run_backfilled_later_equals_a_full_recompute(
    season: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    """A run from 200 days before the season, ingested after it: the season's first month is
    now judged for long-run spikes (the history reaches 30 days before it), far outside the
    new run's own weeks; incremental equals a full recompute, run rules included."""
    from runlake.synth import RunSpec, write_run  # noqa: PLC0415

    folder, _files = season
    early = tmp_path / "early"
    first = season_plan(START, weeks=12)[0]
    write_run(
        early / "early.fit",
        RunSpec(
            start=first.start - timedelta(days=200),
            kind="easy",
            duration_s=1800,
            base_speed_mps=2.9,
            base_hr_bpm=145.0,
            cadence_spm=172.0,
            seed=11,
        ),
    )
    lake = tmp_path / "lake"
    ingest_paths([folder], lake_root=lake, athlete="me")
    before = run_query(lake, "select count(*) n from flags where code = 'long_run_spike'")
    done = ingest_paths([early], lake_root=lake, athlete="me").derived
    window = [date.fromisoformat(d) for d in done["flag_window"]]
    assert window[1] >= START + timedelta(days=30)  # the season's first month judged again
    full = tmp_path / "full"
    ingest_paths([folder, early], lake_root=full, athlete="me")
    assert _flags(lake) == _flags(full)
    q = "select * exclude (year) from run_rules order by activity_id"
    assert run_query(lake, q).equals(run_query(full, q))
    after = run_query(lake, "select count(*) n from flags where code = 'long_run_spike'")
    assert after["n"][0].as_py() > before["n"][0].as_py()  # the first month's spikes, now
