"""The flags on generated histories, as a runner would meet them: each scenario of
runlake.synth (a break and return, a long-run spike, walking junk, a hot long run, a sparse
history, heavy legs) written as FIT files, ingested, and read back from the views."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from runlake import ingest_paths, run_query
from runlake.flags import NOTE_CODES, load_thresholds
from runlake.metrics import run_metrics
from runlake.synth import scenario_plan, simulate, write_scenario
from tests.conftest import activity_of, records_of

START = date(2026, 3, 2)
# The scenarios' runner never runs hard, so a maximum estimated from their runs would call
# every run hard: give the runner's maximum, as a user would.
T = dataclasses.replace(load_thresholds(), hr_max_bpm=190.0)


@pytest.fixture(scope="module")
def lake_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            root = tmp_path_factory.mktemp(name)
            write_scenario(root / "in", name, start=START)
            ingest_paths([root / "in"], lake_root=root / "lake", athlete="me", thresholds=T)
            made[name] = root / "lake"
        return made[name]

    return make


def rows(lake: Path, sql: str, params: list[object] | None = None) -> list[dict[str, Any]]:
    return run_query(lake, sql, params=params).to_pylist()


def flags(lake: Path) -> list[dict[str, Any]]:
    return rows(
        lake,
        "select f.*, r.start_time from flags f left join runs r using (athlete, activity_id) "
        "order by f.date, f.code",
    )


def last_run(lake: Path) -> dict[str, Any]:
    return rows(lake, "select * from run_summary order by start_time desc limit 1")[0]


def test_break_and_return(lake_of: Callable[[str], Path]) -> None:
    """No load-ratio alarm and no long-run spike when coming back after five weeks off; the
    weeks off are rest weeks, not cutbacks."""
    lake = lake_of("break_and_return")
    plan = scenario_plan("break_and_return", START)
    back = min(r.start.date() for r in plan if r.start.date() > START + timedelta(weeks=9))
    assert not [f for f in flags(lake) if f["code"] in ("acwr_high", "long_run_spike")]
    days = {d["date"]: d for d in rows(lake, "select * from daily_load order by date")}
    first = days[back]
    # the rolling ratio would read 4.0 by construction (its 28 days hold only this week)...
    assert first["acute_load"] / first["chronic_load"] == pytest.approx(4.0)
    # ...so it is not judged until four weeks of running are behind the window again
    for d in range(28):
        assert days[back + timedelta(days=d)]["acute_chronic_ratio"] is None
        assert days[back + timedelta(days=d)]["ewma_acute_chronic_ratio"] is None
    assert days[back + timedelta(days=28)]["acute_chronic_ratio"] is not None
    assert first["ewma_acute_load"] > first["ewma_chronic_load"] > 0  # the trend, shown
    rules = rows(lake, "select r.* from run_rules r join runs using (athlete, activity_id)")
    by_date = {r["date"]: r for r in rules}
    assert by_date[back]["long_run_basis"] is None  # no run in the 30 days before
    assert by_date[back]["long_run_change_pct"] is None
    weeks = rows(lake, "select * from weekly_training order by week_start")
    off = [w for w in weeks if w["runs"] == 0]
    assert len(off) == 5
    assert all(w["is_rest_week"] and not w["is_cutback"] for w in off)
    assert not any(w["is_cutback"] for w in weeks)


def test_long_run_spike(lake_of: Callable[[str], Path]) -> None:
    """A warning on the run 50 % longer than any of the 30 days before, an alert on the one
    150 % longer; the study's bands in the message; the usual runs, nothing."""
    lake = lake_of("long_run_spike")
    spikes = [f for f in flags(lake) if f["code"] == "long_run_spike"]
    assert [(f["severity"], f["date"].weekday()) for f in spikes] == [
        ("warning", 6),
        ("alert", 6),
    ]
    rules = {r["activity_id"]: r for r in rows(lake, "select * from run_rules")}
    runs = {r["activity_id"]: r for r in rows(lake, "select * from runs")}
    for f in spikes:
        rule = rules[f["activity_id"]]
        assert f["value"] == pytest.approx(rule["long_run_change_pct"])
        longest = max(
            r["distance_m"]
            for r in runs.values()
            if timedelta(0) < f["start_time"] - r["start_time"] <= timedelta(days=30)
        )
        assert rule["prior_longest_m"] == longest
        this = runs[f["activity_id"]]["distance_m"]
        assert f["value"] == pytest.approx((this / longest - 1) * 100)
        assert "1.64 times (10-30 % longer)" in f["message"]
    assert 40 < spikes[0]["value"] < 60 < 100 < spikes[1]["value"]
    # the weekly 10 % rule sees the same weeks: both are kept (README, "long_run_spike")
    jumps = {f["week_start"] for f in flags(lake) if f["code"] == "volume_jump"}
    assert {f["week_start"] for f in spikes} == jumps


def test_walking_junk(lake_of: Callable[[str], Path]) -> None:
    """The run whose second half is walked, with spikes: no drift, no fade; the same run
    without the junk still shows both."""
    lake = lake_of("walking_junk")
    junk = last_run(lake)
    assert junk["steady_run"] is False
    assert junk["aerobic_decoupling_pct"] is None
    assert junk["cadence_change_pct"] is None
    assert junk["flag_codes"] == []
    spec = scenario_plan("walking_junk", START)[-1]
    clean = dataclasses.replace(spec, walk_from_s=0, spikes=False)
    s = simulate(clean)
    m = run_metrics(records_of(s, "c"), activity_of(s, "c"), hr_max_bpm=190.0, easy_hr_fraction=0.8)
    assert m.steady_run is True
    assert m.aerobic_decoupling_pct is not None
    assert m.aerobic_decoupling_pct > T.cardiac_drift_max_pct
    assert m.cadence_change_pct is not None
    assert m.cadence_change_pct < -T.form_fade_cadence_drop_pct


def test_hot_long_run(lake_of: Callable[[str], Path]) -> None:
    """31 °C for 2 h 10 min: a hydration note and a fuelling note (not warnings), and the
    drift names the heat as a likely cause."""
    lake = lake_of("hot_long_run")
    run = last_run(lake)
    assert run["temperature_c"] == pytest.approx(31.0, abs=0.2)
    mine = {f["code"]: f for f in flags(lake) if f["activity_id"] == run["activity_id"]}
    assert set(mine) == {"hydration", "long_run_fuelling", "cardiac_drift", "form_fade"}
    hot = mine["hydration"]
    assert (hot["severity"], hot["unit"], hot["threshold"]) == ("info", "°C", 28.0)
    assert hot["value"] == pytest.approx(run["temperature_c"])
    assert hot["message"].startswith("Hot run (31 °C on the watch): drink on the way")
    assert mine["long_run_fuelling"]["message"] == (
        "2 h 10 min run: take 30-60 g of carbohydrate an hour next time (Jeukendrup 2014)."
    )
    assert "Likely cause: the heat (31 °C on the watch)" in mine["cardiac_drift"]["message"]
    warnings = [f for f in flags(lake) if f["severity"] != "info"]
    assert all(f["code"] not in NOTE_CODES for f in warnings)


def test_sparse_history(lake_of: Callable[[str], Path]) -> None:
    """Weeks of nothing or a couple of short runs: rest weeks, never cutbacks, never a week
    without a cutback."""
    lake = lake_of("sparse")
    weeks = rows(lake, "select * from weekly_training order by week_start")
    assert len(weeks) >= 14  # from the first run's week to the last's
    assert not any(w["is_cutback"] for w in weeks)
    assert all(w["is_rest_week"] for w in weeks)
    assert max(w["weeks_without_cutback"] for w in weeks) == 0
    codes = {f["code"] for f in flags(lake)}
    assert not codes & {"no_cutback", "acwr_high", "volume_jump"}


def test_heavy_legs(lake_of: Callable[[str], Path]) -> None:
    """Longer ground contact and fewer steps at the usual pace, still inside Garmin's
    colours: only the runner's own baseline says so."""
    lake = lake_of("heavy_legs")
    heavy = last_run(lake)
    assert heavy["flag_codes"] == ["form_off_baseline"]
    (f,) = [f for f in flags(lake) if f["activity_id"] == heavy["activity_id"]]
    rule = rows(lake, "select * from run_rules where activity_id = ?", [heavy["activity_id"]])[0]
    assert rule["baseline_runs"] >= T.baseline_min_runs
    assert rule["stance_time_departure_sd"] > T.baseline_departure_sd
    assert rule["cadence_departure_sd"] < -T.baseline_departure_sd
    # 12 % longer contact than this run's own would be; its own varies run to run (+-4 %)
    assert 1.07 < rule["band_stance_time_ms"] / rule["usual_stance_time_ms"] < 1.17
    assert "ground contact" in f["message"]
    assert "cadence" in f["message"]
    assert f["message"].count("vs your usual") == 2
    # no run before it is off its usual, nor outside Garmin's colours
    others = [g for g in flags(lake) if g["activity_id"] not in (None, heavy["activity_id"])]
    assert not [g for g in others if g["code"] in ("form_off_baseline", "overstriding")]
    for r in rows(lake, "select * from run_rules where baseline_runs is not null"):
        for value in ("cadence", "stance_time", "vertical_oscillation"):
            sd = r[f"{value}_departure_sd"]
            assert sd is None or math.isfinite(sd)
