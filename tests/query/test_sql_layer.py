"""The analysts' SQL layer: an invariant per view on a sample season, every analysis runs.

The views (sql/marts/daily_load.sql, weekly_training.sql, run_summary.sql) are checked
against independent computations: sums over the runs view, numpy over the daily loads, and
runlake.flags.history_flags, whose rules the weekly columns restate in SQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from runlake import ingest_paths, load_analysis, run_query
from runlake.cli import main
from runlake.flags import history_flags, load_thresholds
from runlake.synth import season_plan, write_season

REPO = Path(__file__).resolve().parents[2]
SQL = REPO / "sql"
START = dt.date(2026, 6, 1)
NEW_VIEWS = ("daily_load", "weekly_training", "run_summary")
ANALYSES = sorted(p.stem for p in (SQL / "analyses").glob("*.sql"))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """me: the 12-week sample season. gap: 6 weeks (another seed) without its third week."""
    root = tmp_path_factory.mktemp("sql-layer")
    season = write_season(root / "me", start=START, weeks=12, seed=0)
    assert len(season) == 60
    other = write_season(root / "gap", start=START, weeks=6, seed=1)
    plan = season_plan(START, weeks=6, seed=1)
    third = {START + dt.timedelta(weeks=2) + dt.timedelta(days=i) for i in range(7)}
    dropped = [f for f, spec in zip(other, plan, strict=True) if spec.start.date() in third]
    assert dropped
    for f in dropped:
        f.unlink()
    lake = root / "lake"
    ingest_paths([root / "me"], lake_root=lake, athlete="me")
    ingest_paths([root / "gap"], lake_root=lake, athlete="gap")
    return lake


def rows(lake: Path, sql: str, params: list[object] | None = None) -> list[dict[str, object]]:
    return run_query(lake, sql, params=params).to_pylist()


def analysis(lake: Path, name: str, **given: str) -> list[dict[str, object]]:
    """The rows of a shipped analysis, for athlete ``me`` unless ``athlete`` is given."""
    a = load_analysis(name)
    return run_query(lake, a.sql, params=a.bind(given, {"athlete": "me"})).to_pylist()


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def f(value: object) -> float:
    assert isinstance(value, int | float), value
    return float(value)


def daily_loads(lake: Path, athlete: str) -> dict[dt.date, float]:
    """Each day's load from run_metrics, summed in Python."""
    out: dict[dt.date, float] = defaultdict(float)
    for r in rows(lake, "select date, load from run_metrics where athlete = ?", [athlete]):
        assert isinstance(r["date"], dt.date)
        out[r["date"]] += f(r["load"])
    return out


# --------------------------------------------------------------------------- documentation


@pytest.mark.parametrize("view", NEW_VIEWS)
def test_every_column_of_the_new_views_is_documented(lake: Path, view: str) -> None:
    readme = (SQL / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(f"### `{view}`") :]
    section = section[: section.find("\n### ", 1)]
    columns = [r["column_name"] for r in rows(lake, f"describe {view}")]
    missing = [c for c in columns if f"`{c}`" not in section]
    assert not missing, f"{view}: undocumented columns {missing}"
    header = (SQL / "marts" / f"{view}.sql").read_text(encoding="utf-8")
    assert header.startswith(f"-- {view}:")
    assert "Grain:" in header


@pytest.mark.parametrize("view", NEW_VIEWS)
def test_the_new_views_answer_on_an_empty_lake(tmp_path: Path, view: str) -> None:
    (tmp_path / "empty").mkdir()
    t = run_query(tmp_path / "empty", f"select count(*) as n from {view}")
    assert t.column("n").to_pylist() == [0]


# --------------------------------------------------------------------------- daily_load


def test_daily_load_has_every_day_of_every_week_and_the_runs_sums(lake: Path) -> None:
    for athlete in ("me", "gap"):
        days = rows(lake, "select * from daily_load where athlete = ? order by date", [athlete])
        dates = [d["date"] for d in days]
        assert isinstance(dates[0], dt.date)
        assert isinstance(dates[-1], dt.date)
        assert dates[0].weekday() == 0
        assert dates[-1].weekday() == 6
        assert dates == [dates[0] + dt.timedelta(days=i) for i in range(len(dates))]
        runs = rows(
            lake,
            "select count(*) as n, sum(distance_m) as m, sum(duration_s) as s, "
            "min(start_time) as first, max(start_time) as last from runs where athlete = ?",
            [athlete],
        )[0]
        assert sum(int(f(d["runs"])) for d in days) == runs["n"]
        assert sum(f(d["distance_m"]) for d in days) == pytest.approx(f(runs["m"]))
        assert sum(f(d["duration_s"]) for d in days) == pytest.approx(f(runs["s"]))
        first, last = runs["first"], runs["last"]
        assert isinstance(first, dt.datetime)
        assert isinstance(last, dt.datetime)
        assert dates[0] == monday(first.date())
        assert dates[-1] == monday(last.date()) + dt.timedelta(days=6)
        rest = [d for d in days if d["runs"] == 0]
        assert rest
        assert all(d["load"] == 0 and d["run_streak_days"] == 0 for d in rest)


def test_daily_load_rolling_loads_and_streaks_match_numpy(lake: Path) -> None:
    days = rows(lake, "select * from daily_load where athlete = 'me' order by date")
    per_day = daily_loads(lake, "me")
    load = np.array([per_day.get(d["date"], 0.0) for d in days])  # type: ignore[arg-type]
    assert [f(d["load"]) for d in days] == pytest.approx(list(load))
    padded = np.concatenate([np.zeros(27), load])
    acute = np.convolve(padded, np.ones(7), "valid")[21:] / 7
    chronic = np.convolve(padded, np.ones(28), "valid") / 28
    assert [f(d["acute_load"]) for d in days] == pytest.approx(list(acute))
    assert [f(d["chronic_load"]) for d in days] == pytest.approx(list(chronic))
    ran = np.array([f(d["runs"]) > 0 for d in days])
    # exponentially weighted: the weights lambda (1 - lambda)^k of the loads k days before
    weights = {n: 2 / (n + 1) * (1 - 2 / (n + 1)) ** np.arange(len(days)) for n in (7, 28)}
    ewma = {
        n: [float(w[: i + 1][::-1] @ load[: i + 1]) for i in range(len(days))]
        for n, w in weights.items()
    }
    assert [f(d["ewma_acute_load"]) for d in days] == pytest.approx(ewma[7])
    assert [f(d["ewma_chronic_load"]) for d in days] == pytest.approx(ewma[28])
    for i, d in enumerate(days):
        # judged with a run in each of the four weeks before the 7 days: days i-34 .. i-7
        history = all(
            ran[max(0, i - 7 * k - 6) : max(0, i - 7 * k + 1)].any() for k in (1, 2, 3, 4)
        )
        if history:
            assert f(d["acute_chronic_ratio"]) == pytest.approx(acute[i] / chronic[i])
            assert f(d["ewma_acute_chronic_ratio"]) == pytest.approx(ewma[7][i] / ewma[28][i])
        else:
            assert d["acute_chronic_ratio"] is None
            assert d["ewma_acute_chronic_ratio"] is None
        streak = 0
        while i - streak >= 0 and ran[i - streak]:
            streak += 1
        assert d["run_streak_days"] == streak
    assert any(d["acute_chronic_ratio"] is not None for d in days)
    assert max(int(f(d["run_streak_days"])) for d in days) == 6


# --------------------------------------------------------------------------- weekly_training


def test_weekly_training_weeks_hold_their_runs(lake: Path) -> None:
    for athlete in ("me", "gap"):
        weeks = rows(
            lake, "select * from weekly_training where athlete = ? order by week_start", [athlete]
        )
        runs = rows(lake, "select * from runs where athlete = ?", [athlete])
        by_week: dict[dt.date, list[dict[str, object]]] = defaultdict(list)
        for r in runs:
            start = r["start_time"]
            assert isinstance(start, dt.datetime)
            by_week[monday(start.astimezone(dt.UTC).date())].append(r)
        starts = [w["week_start"] for w in weeks]
        assert starts == [starts[0] + dt.timedelta(weeks=i) for i in range(len(starts))]  # type: ignore[operator]
        assert set(by_week) <= set(starts)
        for w in weeks:
            mine = by_week.get(w["week_start"], [])  # type: ignore[arg-type]
            assert w["runs"] == len(mine)
            assert f(w["distance_m"]) == pytest.approx(sum(f(r["distance_m"]) for r in mine))
            assert f(w["duration_s"]) == pytest.approx(sum(f(r["duration_s"]) for r in mine))
            days = {r["start_time"].astimezone(dt.UTC).date() for r in mine}  # type: ignore[union-attr]
            assert w["run_days"] == len(days)
            assert w["rest_days"] == 7 - len(days)
            if mine:
                assert f(w["long_run_m"]) == max(f(r["distance_m"]) for r in mine)
            else:  # a week off: nothing was run, a true zero; a rest week, not a cutback
                assert (w["distance_m"], w["load"], w["long_run_m"]) == (0.0, 0.0, None)
                assert w["is_rest_week"] is True
                assert w["is_cutback"] is False
                assert w["monotony"] is None
    gap_weeks = rows(lake, "select runs from weekly_training where athlete = 'gap'")
    assert [w["runs"] for w in gap_weeks].count(0) == 1


def test_weekly_training_easy_share_monotony_and_strain(lake: Path) -> None:
    weeks = rows(lake, "select * from weekly_training where athlete = 'me' order by week_start")
    metrics = rows(lake, "select date, easy_s, hr_s, load from run_metrics where athlete = 'me'")
    per_day = daily_loads(lake, "me")
    for w in weeks:
        start = w["week_start"]
        assert isinstance(start, dt.date)
        mine = [m for m in metrics if monday(m["date"]) == start]  # type: ignore[arg-type]
        easy = sum(f(m["easy_s"]) for m in mine)
        hr = sum(f(m["hr_s"]) for m in mine)
        share = f(w["easy_share_pct"])
        assert 0.0 <= share <= 100.0
        assert share == pytest.approx(100 * easy / hr)
        loads = np.array([per_day.get(start + dt.timedelta(days=i), 0.0) for i in range(7)])
        assert f(w["load"]) == pytest.approx(loads.sum())
        monotony = min(loads.mean() / loads.std(), 10.0)
        assert f(w["monotony"]) == pytest.approx(monotony)
        assert f(w["strain"]) == pytest.approx(loads.sum() * monotony)
    assert (
        min(f(w["easy_share_pct"]) for w in weeks) < 90 < max(f(w["easy_share_pct"]) for w in weeks)
    )


def test_weekly_training_ten_percent_line_cutbacks_and_ratio(lake: Path) -> None:
    weeks = rows(lake, "select * from weekly_training where athlete = 'me' order by week_start")
    dist = [f(w["distance_m"]) for w in weeks]
    load = [f(w["load"]) for w in weeks]
    for j, w in enumerate(weeks):
        prior = dist[max(0, j - 4) : j]
        if not prior:
            assert w["prior_max_distance_m"] is None
            assert w["distance_limit_m"] is None
            assert w["is_volume_jump"] is False
            continue
        assert f(w["prior_max_distance_m"]) == max(prior)
        assert f(w["distance_limit_m"]) == pytest.approx(1.1 * max(prior))
        assert w["volume_basis"] == "distance"
        assert f(w["volume_change_pct"]) == pytest.approx((dist[j] / max(prior) - 1) * 100)
        assert w["is_volume_jump"] is (dist[j] > 1.1 * max(prior))
        assert w["is_rest_week"] is (dist[j] < 10_000)
        assert w["is_cutback"] is (10_000 <= dist[j] <= 0.8 * max(prior))
        if j >= 4 and all(f(x["runs"]) > 0 for x in weeks[j - 4 : j]):
            assert f(w["acute_chronic_ratio"]) == pytest.approx(load[j] / np.mean(load[j - 4 : j]))
        else:
            assert w["acute_chronic_ratio"] is None
    # gap: 6 weeks without its third: no week has four weeks of running before it
    gap = rows(lake, "select * from weekly_training where athlete = 'gap' order by week_start")
    assert len(gap) == 6
    assert all(w["acute_chronic_ratio"] is None for w in gap)
    kinds = [(w["is_volume_jump"], w["is_cutback"]) for w in weeks]
    assert kinds.count((True, False)) == 1  # the sample season's one volume jump (week 2)
    assert kinds.count((False, True)) == 3  # and its three cutback weeks


def _history(lake: Path, athlete: str, **changes: float) -> dict[str, dict[dt.date, float]]:
    """history_flags on the lake's run_metrics with some thresholds changed: code -> week."""
    t = dataclasses.replace(load_thresholds(), **changes)  # type: ignore[arg-type]
    runs = run_query(
        lake,
        "select date, start_time, duration_s, distance_m, load, easy_s, hr_s from run_metrics "
        "where athlete = ? order by start_time",
        params=[athlete],
    )
    out: dict[str, dict[dt.date, float]] = defaultdict(dict)
    for flag in history_flags(runs, athlete, t):
        out[flag.code][flag.week_start] = flag.value
    return out


def test_weekly_training_agrees_with_the_flag_rules(lake: Path) -> None:
    """The SQL restates _flags' rules: lowered thresholds make every week a witness."""
    for athlete in ("me", "gap"):
        weeks = rows(
            lake, "select * from weekly_training where athlete = ? order by week_start", [athlete]
        )
        by_week = {w["week_start"]: w for w in weeks}
        ran = [w for w in weeks if f(w["runs"]) > 0]  # flags are given to weeks with runs

        # volume_jump with the defaults: exactly the weeks over the 10 % line
        flagged = _history(lake, athlete)
        jumps = {w["week_start"] for w in ran if w["is_volume_jump"]}
        assert set(flagged.get("volume_jump", {})) == jumps
        for week, pct in flagged.get("volume_jump", {}).items():
            assert f(by_week[week]["volume_change_pct"]) == pytest.approx(pct)
        in_view = {
            r["week_start"]
            for r in rows(
                lake,
                "select week_start from flags where athlete = ? and code = 'volume_jump'",
                [athlete],
            )
        }
        assert in_view == jumps

        # monotony over 0: every week with load is flagged with its monotony as the value
        mono = _history(lake, athlete, monotony_max=0.0)["monotony_high"]
        assert set(mono) == {w["week_start"] for w in ran}
        for week, value in mono.items():
            assert f(by_week[week]["monotony"]) == pytest.approx(value)

        # acwr over 0: every judged week is flagged with the peak daily ratio of its run days
        acwr = _history(lake, athlete, acwr_max=0.0)["acwr_high"]
        assert acwr
        for w in ran:
            if w["week_start"] in acwr:
                assert f(w["peak_daily_acwr"]) == pytest.approx(acwr[w["week_start"]])
            else:
                assert w["peak_daily_acwr"] is None

        # no cutback after 2 weeks: the streak of weeks without is_cutback, as the flag counts
        streaks = _history(lake, athlete, cutback_max_weeks=2)["no_cutback"]
        streak = 0
        expected = {}
        for w in weeks:
            streak = 0 if w["is_cutback"] or w["is_rest_week"] else min(streak + 1, 4)
            if streak >= 2 and f(w["runs"]) > 0:
                expected[w["week_start"]] = float(streak)
        assert streaks == expected

        # consecutive days from 2: the streak on the week's last day with one of 2 or more
        days = _history(lake, athlete, consecutive_days_min=2)["consecutive_days"]
        expected_days: dict[dt.date, float] = {}
        for d in rows(
            lake,
            "select week_start, run_streak_days as n from daily_load "
            "where athlete = ? and run_streak_days >= 2 order by date",
            [athlete],
        ):
            assert isinstance(d["week_start"], dt.date)
            expected_days[d["week_start"]] = min(f(d["n"]), 28.0)
        assert days == expected_days
        assert len(days) >= 5


def test_weekly_training_flag_codes_are_the_weeks_flags(lake: Path) -> None:
    weeks = rows(lake, "select week_start, flag_codes, n_flags from weekly_training")
    flags = rows(lake, "select week_start, code from flags where athlete = 'me'")
    codes: dict[object, list[str]] = defaultdict(list)
    for fl in flags:
        codes[fl["week_start"]].append(str(fl["code"]))
    mine = rows(
        lake, "select week_start, flag_codes, n_flags from weekly_training where athlete = 'me'"
    )
    assert len(weeks) > len(mine)
    for w in mine:
        got = codes.get(w["week_start"], [])
        assert w["flag_codes"] == sorted(set(got))
        assert w["n_flags"] == len(got)
    # the sample season: 7 warnings (its four form problems, the fading run's drift,
    # its volume jump, the overstriding run off the runner's usual) and 10 fuelling notes
    assert sum(int(f(w["n_flags"])) for w in mine) == len(flags) == 17


# --------------------------------------------------------------------------- run_summary


def test_run_summary_is_one_row_per_run_with_its_flags(lake: Path) -> None:
    summary = rows(lake, "select * from run_summary where athlete = 'me'")
    runs = {r["activity_id"]: r for r in rows(lake, "select * from runs where athlete = 'me'")}
    assert sorted(str(s["activity_id"]) for s in summary) == sorted(str(k) for k in runs)
    flags: dict[object, list[str]] = defaultdict(list)
    for fl in rows(
        lake, "select activity_id, code from flags where athlete = 'me' and activity_id is not null"
    ):
        flags[fl["activity_id"]].append(str(fl["code"]))
    for s in summary:
        run = runs[s["activity_id"]]
        assert f(s["pace_s_per_km"]) == pytest.approx(
            f(run["duration_s"]) / f(run["distance_m"]) * 1000
        )
        assert s["flag_codes"] == sorted(flags.get(s["activity_id"], []))
        assert 0 <= f(s["easy_share_pct"]) <= 100
        start = run["start_time"]
        assert isinstance(start, dt.datetime)
        assert s["week_start"] == monday(start.astimezone(dt.UTC).date())
    fading = [s for s in summary if str(s["source_path"]).endswith("fading.fit")]
    assert [s["flag_codes"] for s in fading] == [
        ["cardiac_drift", "form_fade", "long_run_fuelling"]
    ]


# --------------------------------------------------------------------------- analyses


@pytest.mark.parametrize("name", ANALYSES)
def test_every_analysis_runs_and_answers_on_the_season(lake: Path, name: str) -> None:
    text = (SQL / "analyses" / f"{name}.sql").read_text(encoding="utf-8")
    assert re.match(r"-- Question: [A-Z][^\n]{10,85}\?\n", text)  # one line: its purpose
    assert re.search(r"^-- Columns:", text, flags=re.MULTILINE)
    for athlete in ("me", "gap"):
        got = analysis(lake, name, athlete=athlete)
        assert got
        assert {r["athlete"] for r in got} == {athlete}


def test_weeks_that_broke_the_10_percent_rule_and_what_followed(lake: Path) -> None:
    got = analysis(lake, "weeks_that_broke_the_10_percent_rule")
    assert [r["week_start"] for r in got] == [START + dt.timedelta(weeks=1)]
    (r,) = got
    nxt = rows(
        lake,
        "select * from weekly_training where athlete = 'me' and week_start = ?",
        [START + dt.timedelta(weeks=2)],
    )[0]
    assert r["next_week_start"] == nxt["week_start"]
    assert r["next_distance_km"] == round(f(nxt["distance_m"]) / 1000, 2)
    assert r["next_flag_codes"] == nxt["flag_codes"]
    assert "volume_jump" in r["flag_codes"]  # type: ignore[operator]
    assert f(r["change_pct"]) > 10


def test_vertical_oscillation_thirds_follow_the_steady_metric(lake: Path) -> None:
    got = analysis(lake, "vertical_oscillation_last_third_of_long_runs")
    long_runs = rows(
        lake, "select count(*) as n from runs where athlete = 'me' and duration_s >= 3600"
    )[0]["n"]
    mine = [r for r in got if r["athlete"] == "me"]
    assert len(mine) == long_runs == 12
    for r in mine:
        assert f(r["duration_min"]) >= 60
        assert abs(f(r["vo_change_pct"]) - f(r["steady_vo_change_pct"])) < 1.0
        assert r["rises"] is False  # the season's long runs hold their oscillation


def test_ground_contact_by_pace_band_over_time_compares_bands_with_themselves(
    lake: Path,
) -> None:
    got = analysis(lake, "ground_contact_by_pace_band_over_time") + analysis(
        lake, "ground_contact_by_pace_band_over_time", athlete="gap"
    )
    firsts: dict[tuple[object, object], object] = {}
    for r in got:
        assert f(r["samples"]) >= 300
        key = (r["athlete"], r["pace_band_s_per_km"])
        if key not in firsts:
            firsts[key] = r["month"]
            assert r["stance_time_change_ms"] == 0
    months = {r["month"] for r in got if r["athlete"] == "me"}
    assert months == {dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 8, 1)}


def test_cardiac_drift_by_run_length_counts_every_steady_run(lake: Path) -> None:
    mine = analysis(lake, "cardiac_drift_by_run_length")
    n = rows(
        lake,
        "select count(*) as n from run_metrics where athlete = 'me' and steady_run "
        "and aerobic_decoupling_pct is not null",
    )[0]["n"]
    assert sum(int(f(r["runs"])) for r in mine) == n
    assert sum(int(f(r["runs_over_5_pct"])) for r in mine) == 1  # the fading long run
    assert all(f(r["max_decoupling_pct"]) >= f(r["avg_decoupling_pct"]) for r in mine)
    assert not any(math.isnan(f(r["avg_decoupling_pct"])) for r in mine)


def test_runlake_sql_runs_an_analysis_by_name_or_file(
    lake: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNLAKE_ATHLETE", raising=False)  # the configured athlete: me
    path = SQL / "analyses" / "weeks_that_broke_the_10_percent_rule.sql"
    assert main(["sql", "--lake", str(lake), "--format", "csv", "--file", str(path)]) == 0
    mine = capsys.readouterr().out.splitlines()
    assert mine[0].startswith("athlete,week_start,distance_km,prior_max_km,limit_km")
    assert [line.split(",")[:2] for line in mine[1:]] == [["me", "2026-06-08"]]
    name = "weeks_that_broke_the_10_percent_rule"
    args = ["sql", name, "--lake", str(lake), "--format", "csv", "--param", "athlete=gap"]
    assert main(args) == 0
    gap = capsys.readouterr().out.splitlines()
    # gap's jump is followed by its week off (the -100 % of the next week): a rest week
    assert [line.split(",")[:2] for line in gap[1:]] == [["gap", "2026-06-08"]]
    assert ",-100.0,false,true," in gap[1]
    # a date range that leaves the jump week out
    assert main([*args, "--param", "since=2026-06-15"]) == 0
    assert capsys.readouterr().out.splitlines() == gap[:1]


def test_weekly_training_follows_the_users_thresholds(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """volume_jump_pct = 3 and flags --recompute: the view's jumps are the flags' jumps."""
    mine = tmp_path / "lake"
    shutil.copytree(lake, mine)
    overrides = tmp_path / "flags.toml"
    overrides.write_text("[volume]\nvolume_jump_pct = 3\n", encoding="utf-8")
    config = tmp_path / "runlake.toml"
    config.write_text(f"[flags]\noverrides = {str(overrides)!r}\n", encoding="utf-8")
    assert main(["--config", str(config), "flags", "--recompute", "--lake", str(mine)]) == 0
    capsys.readouterr()
    weeks = rows(mine, "select * from weekly_training where athlete = 'me' order by week_start")
    jumps = {w["week_start"] for w in weeks if w["is_volume_jump"]}
    flagged = {
        r["week_start"]
        for r in rows(
            mine, "select week_start from flags where athlete = 'me' and code = 'volume_jump'"
        )
    }
    assert flagged == jumps
    assert len(jumps) > 1  # the defaults give the sample season one jump
    for w in weeks:
        if w["distance_limit_m"] is not None:
            assert f(w["distance_limit_m"]) == pytest.approx(1.03 * f(w["prior_max_distance_m"]))
    limits = {
        r["threshold"]
        for r in rows(
            mine, "select threshold from flags where athlete = 'me' and code = 'volume_jump'"
        )
    }
    assert limits == {3.0}
