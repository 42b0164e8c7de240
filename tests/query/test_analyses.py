"""`runlake sql` for analysts: shipped analyses by name with parameters, every statement's
result, numbers rounded by unit for reading, and a folder that is not a lake refused."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from runlake import (
    Analysis,
    LakeError,
    QueryError,
    list_analyses,
    load_analysis,
    run_query,
)
from runlake.cli import main
from runlake.query import UNIT_DECIMALS, format_table, run_statements

from ..conftest import REPO
from .conftest import SEASON_START, run_cli, season_lake

START = SEASON_START
ANALYSES = sorted(p.stem for p in (REPO / "sql" / "analyses").glob("*.sql"))


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``me``: a 3-week sample season; ``you``: 2 weeks of another seed."""
    return season_lake(tmp_path_factory.mktemp("analyses"), {"me": (3, 0), "you": (2, 2)})


def sql(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(["sql", *args], capsys)


def one_line_error(rc: int, out: str, err: str) -> str:
    """The error line (DuckDB's own messages may add lines: a hint, the position)."""
    assert rc == 1
    assert out == ""
    assert err.startswith("runlake: error: ")
    assert "Traceback" not in err
    if "Error: " not in err.split("runlake: error: ", 1)[1]:  # not one of DuckDB's
        assert err.count("\n") == 1, err
    return err.splitlines()[0]


# --------------------------------------------------------------------------- the shipped ones


def test_every_analysis_follows_the_header_convention() -> None:
    shipped = list_analyses()
    assert [a.name for a in shipped] == ANALYSES
    for a in shipped:
        first = a.sql.splitlines()[0]
        assert first == f"-- Question: {a.purpose}"
        assert a.purpose.endswith("?")
        assert len(first) <= 100
        declared = [p.name for p in a.params]
        used = set(re.findall(r"\$(\w+)", re.sub(r"--[^\n]*", "", a.sql)))
        assert set(declared) == used, a.name  # each declared parameter is used, and back
        assert declared[0] == "athlete", a.name
        assert a.params[0].default == "configured"
        for p in a.params:
            assert p.description, (a.name, p.name)


def test_list_shows_each_analysis_with_its_question(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rc, out, _ = sql(["--list"], capsys)
    assert rc == 0
    for a in list_analyses():
        line = next(li for li in out.splitlines() if li.startswith(a.name + " "))
        assert line.split(None, 1)[1] == a.purpose
    rc, out, _ = sql(["--list", "--format", "json"], capsys)
    listed = json.loads(out)
    assert [a["name"] for a in listed] == ANALYSES
    weekly = next(a for a in listed if a["name"] == "weekly_distance")
    assert {"name": "weeks", "type": "integer", "default": "12"}.items() <= weekly["params"][
        1
    ].items()


def _csv(out: str) -> list[dict[str, str]]:
    lines = out.splitlines()
    head = lines[0].split(",")
    return [dict(zip(head, li.split(","), strict=False)) for li in lines[1:]]


def test_an_analysis_runs_by_name_for_the_configured_athlete(
    lake: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNLAKE_ATHLETE", "you")
    rc, out, _ = sql(["longest_runs", "--lake", str(lake), "--format", "csv"], capsys)
    assert rc == 0
    got = _csv(out)
    expected = run_query(
        lake,
        "select distance_m from runs where athlete = 'you' order by distance_m desc limit 10",
    ).column("distance_m")
    assert [r["athlete"] for r in got] == ["you"] * 10
    assert [float(r["distance_km"]) for r in got] == [
        round(d / 1000, 2) for d in expected.to_pylist()
    ]
    # --athlete, as in the other commands, and --param override it
    rc, out, _ = sql(
        ["longest_runs", "--lake", str(lake), "--format", "csv", "--athlete", "me"], capsys
    )
    assert {r["athlete"] for r in _csv(out)} == {"me"}
    rc, out, _ = sql(
        ["longest_runs", "--lake", str(lake), "--format", "csv", "--param", "athlete=me"], capsys
    )
    assert {r["athlete"] for r in _csv(out)} == {"me"}


def test_parameters_fill_the_date_range_and_counts(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--lake", str(lake), "--format", "csv", "--param", "athlete=me"]
    rc, out, _ = sql(
        ["longest_runs", *base, "--param", "since=2026-06-08", "--param", "until=2026-06-14",
         "--param", "top=3"],
        capsys,
    )  # fmt: skip
    assert rc == 0
    got = _csv(out)
    assert [r["rank"] for r in got] == ["1", "2", "3"]
    days = [dt.date.fromisoformat(r["start_time"][:10]) for r in got]
    assert all(dt.date(2026, 6, 8) <= d <= dt.date(2026, 6, 14) for d in days)
    week2 = (
        run_query(
            lake,
            "select max(distance_m) as d from runs where athlete = 'me' "
            "and start_time >= '2026-06-08' and start_time < '2026-06-15'",
        )
        .column("d")[0]
        .as_py()
    )
    assert float(got[0]["distance_km"]) == round(week2 / 1000, 2)
    rc, out, _ = sql(
        ["weekly_distance", *base, "--param", "weeks=2", "--param", "until=2026-06-10"], capsys
    )
    assert [r["week_start"] for r in _csv(out)] == ["2026-06-01", "2026-06-08"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no analysis named 'nope' (runlake sql --list shows them), nor a SQL"),
        (["longest_runs", "--param", "tpo=3"], "longest_runs has no parameter tpo (its "),
        (["longest_runs", "--param", "top=three"], "parameter top='three': expected a whole"),
        (["longest_runs", "--param", "since=2026-13-01"], "expected a date, YYYY-MM-DD"),
        (["longest_runs", "--param", "top=1", "--param", "top=2"], "--param top is given twice"),
        (["select $x as x"], "no value given for the parameter $x"),
        (["select 1", "--param", "x=1"], "the query has no parameter $x"),
        (["select 1; select * from nope"], "statement 2 of 2: Catalog Error"),
        (["--list", "select 1"], "--list takes no QUERY"),
        ([], "give a QUERY, an analysis NAME (runlake sql --list) or --file FILE"),
    ],
)
def test_bad_names_parameters_and_statements_give_one_line(
    lake: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    err = one_line_error(*sql([*args, "--lake", str(lake)], capsys))
    assert message in err


def test_a_malformed_param_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["sql", "longest_runs", "--param", "top"])
    assert exit_.value.code == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_a_file_of_ones_own_declares_typed_and_required_parameters(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.sql"
    mine.write_text(
        "-- Question: How many runs since a day?\n"
        "-- param: day date the first UTC day counted\n"
        "select count(*) as runs from runs where athlete = 'me' and start_time >= $day\n"
    )
    err = one_line_error(*sql(["--file", str(mine), "--lake", str(lake)], capsys))
    assert "needs the parameter day (date, required)" in err
    rc, out, _ = sql(
        ["--file", str(mine), "--lake", str(lake), "--format", "json", "--param", "day=2026-06-15"],
        capsys,
    )
    assert rc == 0
    n = (
        run_query(
            lake,
            "select count(*) as n from runs where athlete = 'me' and start_time >= '2026-06-15'",
        )
        .column("n")[0]
        .as_py()
    )
    assert json.loads(out) == [{"runs": n}]
    # SQL without declarations: parameters come as text
    rc, out, _ = sql(
        ["select $who as who", "--lake", str(lake), "--format", "csv", "--param", "who=me"], capsys
    )
    assert out.splitlines() == ["who", "me"]


def test_bind_types_defaults_and_configured_values() -> None:
    a = load_analysis("longest_runs")
    assert a.bind({"since": "2026-06-01"}, {"athlete": "me"}) == {
        "athlete": "me",
        "since": dt.date(2026, 6, 1),
        "until": None,
        "top": 10,
    }
    with pytest.raises(QueryError, match="no configured value for athlete"):
        a.bind({})
    free = Analysis.of_sql("select $a::int + 1 as b")
    assert free.bind({"a": "2"}) == {"a": "2"}


# --------------------------------------------------------------------------- statements


def test_every_statement_result_is_printed_under_its_statement(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = (
        "select count(*) as runs from runs where athlete = 'me';\n"
        "set threads = 1; -- no result\n"
        "select athlete, count(*) as n from runs group by 1 order by 1"
    )
    rc, out, _ = sql([query, "--lake", str(lake)], capsys)
    assert rc == 0
    n_me = run_query(lake, "select count(*) as n from runs where athlete = 'me'")["n"][0].as_py()
    n_you = run_query(lake, "select count(*) as n from runs where athlete = 'you'")["n"][0].as_py()
    assert out == (
        "-- select count(*) as runs from runs where athlete = 'me'\n"
        f"runs\n----\n{n_me:>4}\n(1 row)\n\n"
        "-- select athlete, count(*) as n from runs group by 1 order by 1\n"
        "athlete   n\n-------  --\n"
        f"me       {n_me:>2}\nyou      {n_you:>2}\n(2 rows)\n"
    )
    results = run_statements(lake, query)
    assert [r.table is None for r in results] == [False, True, False]
    err = one_line_error(
        *sql(["select 1; select 2", "--lake", str(lake), "--format", "json"], capsys)
    )
    assert "--format json prints one result, and the query has 2 statements" in err


# --------------------------------------------------------------------------- display


def test_the_table_rounds_by_unit_and_csv_json_keep_every_digit() -> None:
    t = pa.table(
        {
            "distance_m": [3147.226],
            "duration_s": [1234.5678],
            "avg_hr_bpm": [154.6],
            "cadence_spm": [171.49],
            "pace_s_per_km": [331.7],
            "avg_speed_mps": [3.01449],
            "stance_time_ms": [248.51],
            "vertical_ratio_pct": [8.04],
            "latitude_deg": [47.123456789],
            "leg_spring_stiffness_kn_m": [10.06],
            "load": [87.12345],
            "runs": pa.array([3], pa.int64()),
            "change_pct": [-0.04],
        }
    )
    assert format_table(t, "table").splitlines()[2].split() == [
        "3147.2", "1234.57", "155", "171", "332", "3.01", "249", "8.0", "47.123457", "10.1",
        "87.123", "3", "0.0",
    ]  # fmt: skip
    assert format_table(t, "csv").splitlines()[1].split(",")[:3] == [
        "3147.226", "1234.5678", "154.6",
    ]  # fmt: skip
    assert json.loads(format_table(t, "json"))[0]["distance_m"] == 3147.226
    assert UNIT_DECIMALS["_m"] == 1


# --------------------------------------------------------------------------- not a lake


def _snapshot(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_a_folder_that_is_not_a_lake_is_refused_and_left_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "documents"
    (folder / "photos").mkdir(parents=True)
    (folder / "notes.txt").write_text("my notes")
    before = _snapshot(folder)
    for args in (["select 1"], ["longest_runs", "--param", "athlete=me"]):
        err = one_line_error(*sql([*args, "--lake", str(folder)], capsys))
        assert "is not a runlake lake" in err
    assert main(["flags", "--lake", str(folder), "--athlete", "me"]) == 1
    assert "is not a runlake lake" in capsys.readouterr().err
    with pytest.raises(LakeError, match="is not a runlake lake"):
        run_query(folder, "select 1")
    assert _snapshot(folder) == before


def test_an_empty_folder_and_a_lake_in_the_making_are_lakes(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "new"
    empty.mkdir()
    rc, out, _ = sql(
        ["select count(*) as n from runs", "--lake", str(empty), "--format", "csv"], capsys
    )
    assert (rc, out) == (0, "n\n0\n")
    assert (empty / "catalog.duckdb").is_file()
    # a lake without its catalog (deleted, or never built) is still a lake
    copy = tmp_path / "copy"
    shutil.copytree(lake, copy)
    (copy / "catalog.duckdb").unlink()
    rc, out, _ = sql(
        ["select count(*) as n from files", "--lake", str(copy), "--format", "csv"], capsys
    )
    assert rc == 0
    assert int(out.splitlines()[1]) == len(list((lake.parent / "me").glob("*.fit"))) + len(
        list((lake.parent / "you").glob("*.fit"))
    )
