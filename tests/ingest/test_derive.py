"""Metrics and flags in the lake: computed on ingest, incremental, crash-safe, shown by the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from runlake import Lake, build_catalog, ingest_paths, run_query
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
    }
    incremental = {k: run_query(lake, q) for k, q in queries.items()}
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
