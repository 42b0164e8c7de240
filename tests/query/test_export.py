"""`runlake export`: a view, filtered, into Parquet or CSV for other tools; values are
parameters, the view a name of the catalog, a failed export leaves no file."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from runlake import QueryError, export_view, run_query

from .conftest import SEASON_START, run_cli, season_lake

pl = pytest.importorskip("polars")
START = SEASON_START


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return season_lake(tmp_path_factory.mktemp("export"), {"me": (2, 0), "you": (2, 3)})


def export(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(["export", *args], capsys)


def test_a_filtered_view_to_parquet_keeps_types_and_values(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.parquet"
    args = ["runs", "--lake", str(lake), "--out", str(out), "--athlete", "me"]
    rc, said, _ = export([*args, "--since", "2026-06-08", "--until", "2026-06-14"], capsys)
    assert rc == 0
    expected = run_query(
        lake,
        "select * from runs where athlete = 'me' and start_time >= '2026-06-08' "
        "and start_time < '2026-06-15' order by activity_id",
    )
    assert said == f"wrote {expected.num_rows} rows of runs to {out}\n"
    got = pq.read_table(out).sort_by("activity_id")
    assert expected.num_rows >= 4
    assert got.schema == expected.schema
    assert got.equals(expected)
    assert got.schema.field("start_time").type == pa.timestamp("us", tz="UTC")
    assert not list(tmp_path.glob(".*"))  # no temporary file left


def test_records_to_csv_with_where_and_columns_keep_every_digit(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fast.csv"
    rc, _, _ = export(
        ["records", "--lake", str(lake), "--out", str(out), "--where", "speed_mps > 3.5 and "
         "heart_rate_bpm is not null", "--columns", "activity_id,timestamp,speed_mps,athlete"],
        capsys,
    )  # fmt: skip
    assert rc == 0
    expected = run_query(
        lake,
        "select activity_id, timestamp, speed_mps, athlete from records where speed_mps > 3.5 "
        "and heart_rate_bpm is not null order by all",
    )
    frame = pl.read_csv(out, try_parse_dates=True).sort(["activity_id", "timestamp"])
    assert frame.columns == ["activity_id", "timestamp", "speed_mps", "athlete"]
    assert frame.height == expected.num_rows > 100
    assert frame["speed_mps"].to_list() == expected.column("speed_mps").to_pylist()
    first = expected.column("timestamp")[0].as_py()
    assert frame["timestamp"][0] == first
    assert out.read_text().splitlines()[1].split(",")[1].endswith("Z")  # UTC, ISO 8601


def test_lists_are_json_in_csv_and_lists_in_parquet(lake: Path, tmp_path: Path) -> None:
    csv_out, pq_out = tmp_path / "w.csv", tmp_path / "w.parquet"
    columns = ["week_start", "flag_codes"]
    n = export_view(lake, "weekly_training", csv_out, fmt="csv", athlete="me", columns=columns)
    assert n == export_view(lake, "weekly_training", pq_out, athlete="me") == 2
    expected = (
        run_query(
            lake,
            "select week_start, flag_codes from weekly_training where athlete = 'me' order by 1",
        )
        .column("flag_codes")
        .to_pylist()
    )
    got = pcsv.read_csv(csv_out).sort_by("week_start").column("flag_codes").to_pylist()
    assert [json.loads(g) for g in got] == expected
    assert pq.read_table(pq_out).sort_by("week_start").column("flag_codes").to_pylist() == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no view named 'nope'; the views: activities, daily_load, files"),
        (["runs; drop view runs"], "no view named 'runs; drop view runs'"),
        (["runs", "--columns", "athlete,nope"], "no column nope; the columns: activity_id"),
        (["runs", "--where", "1=1; drop view runs"], "--where '1=1; drop view runs': Parser"),
        (["runs", "--where", "true) union all (select * from runs"], "Parser Error"),
        (["runs", "--where", "nope > 1"], 'Referenced column "nope" not found'),
        (["weekly_load", "--since", "2026-06-01", "--columns", "runs"], None),
        (["files", "--since", "2026-06-01"], "the view has none of date, week_start"),
    ],
)
def test_bad_views_columns_and_filters_are_refused_in_one_line(
    lake: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str | None,
) -> None:
    out = tmp_path / "x.csv"
    rc, said, err = export([*args, "--lake", str(lake), "--out", str(out)], capsys)
    if message is None:  # weekly_load filters on week_start
        assert rc == 0, err
        return
    assert (rc, said) == (1, "")
    assert err.startswith("runlake: error: ")
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_values_are_parameters_and_a_failed_export_leaves_the_old_file(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs.csv"
    sneaky = "x' or '1'='1"
    rc, said, _ = export(
        ["runs", "--lake", str(lake), "--out", str(out), "--athlete", sneaky], capsys
    )
    assert rc == 0
    assert said.startswith("wrote 0 rows")
    assert out.read_text().startswith('"activity_id","file_sha256",')
    before = out.read_bytes()
    # fails while rows stream out (a cast error on the first matching row)
    with pytest.raises(QueryError, match="Conversion Error"):
        export_view(lake, "runs", out, fmt="csv", where="cast(source_path as integer) > 0")
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["runs.csv"]


def test_the_format_comes_from_the_name_or_is_asked_for(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = export(["runs", "--lake", str(lake), "--out", str(tmp_path / "x.txt")], capsys)
    assert rc == 1
    assert "give --format parquet or csv" in err
    out = tmp_path / "x.txt"
    assert (
        export(["runs", "--lake", str(lake), "--out", str(out), "--format", "csv"], capsys)[0] == 0
    )
    assert out.read_text().startswith('"activity_id"')
    rc, _, err = export(
        ["runs", "--lake", str(lake), "--out", str(tmp_path / "no" / "x.csv")], capsys
    )
    assert rc == 1
    assert "no such folder" in err
