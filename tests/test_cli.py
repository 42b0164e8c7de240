"""The command line: a thin layer over ingest_paths / run_query, with honest exit codes."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runlake.cli import _Progress, main
from runlake.ingest._ingest import FileOutcome
from runlake.synth import RunSpec, write_run

from .conftest import REPO


def _run(spec_seed: int, folder: Path, name: str) -> None:
    write_run(
        folder / name,
        RunSpec(
            start=datetime(2026, 4, 6 + spec_seed, 7, 0, tzinfo=UTC),
            kind="easy",
            duration_s=1200,
            base_speed_mps=3.0,
            base_hr_bpm=140.0,
            cadence_spm=170.0,
            seed=spec_seed,
        ),
    )


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    d = tmp_path / "inbox"
    _run(1, d, "a.fit")
    _run(2, d / "sub", "b.FIT")
    (d / "broken.fit").write_bytes(b"\x0e\x10garbage")
    (d / "notes.txt").write_text("not a watch file")
    return d


def test_ingest_prints_a_summary_and_exits_0_with_rejected_files(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    assert main(["ingest", str(inbox), "--lake", str(lake), "--athlete", "anna"]) == 0
    out = capsys.readouterr().out
    assert "3 files: 2 new (2 activities), 0 already present, 0 skipped" in out
    assert "1 errors" in out
    assert "broken.fit" in out
    assert main(["ingest", str(inbox), "--lake", str(lake), "--athlete", "anna"]) == 0
    assert "0 new (0 activities), 3 already present" in capsys.readouterr().out


def test_sql_json_and_csv(inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake = tmp_path / "lake"
    main(["ingest", str(inbox), "--lake", str(lake), "--athlete", "anna"])
    capsys.readouterr()
    q = "select athlete, count(*) as runs from runs group by athlete"
    assert main(["sql", "--lake", str(lake), "--format", "json", q]) == 0
    assert json.loads(capsys.readouterr().out) == [{"athlete": "anna", "runs": 2}]
    assert main(["sql", "--lake", str(lake), "--format", "csv", q]) == 0
    assert capsys.readouterr().out.splitlines() == ["athlete,runs", "anna,2"]
    analysis = REPO / "sql" / "analyses" / "weekly_distance.sql"
    args = ["sql", "--lake", str(lake), "--file", str(analysis), "--param", "athlete=anna"]
    assert main([*args, "--format", "csv", "--param", "weeks=2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "athlete,week_start,runs,distance_km,duration_h,long_run_km,avg_hr_bpm"
    # both runs (7 and 8 April) in the week of Monday 6 April, the week before empty
    assert [line.split(",")[:3] for line in out[1:]] == [
        ["anna", "2026-03-30", "0"],
        ["anna", "2026-04-06", "2"],
    ]


def test_sql_is_read_only_and_errors_are_clear(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    main(["ingest", str(inbox), "--lake", str(lake), "--athlete", "anna"])
    capsys.readouterr()
    assert main(["sql", "--lake", str(lake), "drop view runs"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runlake: error:")
    assert "Traceback" not in err
    assert main(["sql", "--lake", str(lake), "select * from no_such_view"]) == 1
    assert "no_such_view" in capsys.readouterr().err


def test_missing_path_and_bad_athlete_fail_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(tmp_path / "nope"), "--lake", str(tmp_path / "l")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["ingest", str(tmp_path), "--lake", str(tmp_path / "l"), "--athlete", "../x"]) == 1
    assert "athlete" in capsys.readouterr().err


def test_bad_config_is_reported_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[lake]\npath = 3\n")
    assert main(["--config", str(cfg), "ingest", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "lake.path must be a str" in err
    assert "Traceback" not in err


def test_lake_defaults_to_the_environment(
    inbox: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lake = tmp_path / "envlake"
    monkeypatch.setenv("RUNLAKE_LAKE", str(lake))
    monkeypatch.setenv("RUNLAKE_ATHLETE", "carla")
    assert main(["ingest", str(inbox / "a.fit")]) == 0
    capsys.readouterr()
    assert main(["sql", "--format", "csv", "select athlete from runs"]) == 0
    assert capsys.readouterr().out.splitlines() == ["athlete", "carla"]
    assert (lake / "catalog.duckdb").is_file()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal() -> None:
    tty, pipe = _Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = _Progress(stream)
        for i in (1, 2):
            bar(i, 2, FileOutcome(f"/x/run{i}.fit", None, "new"))
    assert "[###############---------------] 1/2 run1.fit" in tty.getvalue()
    assert tty.getvalue().endswith("\n")
    assert pipe.getvalue() == ""


def test_console_script_is_installed_or_module_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "runlake.cli", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    for cmd in ("ingest", "sql", "demo"):
        assert cmd in proc.stdout


def test_a_flow_command_without_prefect_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "prefect" else real(name)
    )
    assert main(["sync", "--inbox", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runlake: error: `runlake sync` runs a Prefect flow, and Prefect")
    assert "Traceback" not in err


_PANDAS_AFTER = """
import sys
from runlake.cli import main
code = main(sys.argv[1:])
loaded = "pandas" in sys.modules
import pyarrow as pa
frame = pa.table({"x": [1, 2]}).to_pandas()  # explicit pandas work still finds pandas
print(code, loaded, int(frame["x"].sum()))
"""


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas not installed")
@pytest.mark.parametrize("command", ["ingest", "sql"])
def test_commands_do_not_load_pandas_where_it_is_installed(command: str, tmp_path: Path) -> None:
    """pyarrow's first conversion imports pandas (0.25 s) just to ask whether the value is a
    pandas object; a command answers that probe with "no" (runlake._startup)."""
    lake = tmp_path / "lake"
    fixture = REPO / "tests" / "fixtures" / "easy-dynamics-power.fit"
    args = ["ingest", str(fixture), "--lake", str(lake), "--athlete", "me"]
    if command == "sql":
        assert main(args) == 0
        args = ["sql", "select * from runs", "--lake", str(lake)]
    got = subprocess.run(
        [sys.executable, "-c", _PANDAS_AFTER, *args], capture_output=True, text=True, check=True
    )
    assert got.stdout.split()[-3:] == ["0", "False", "3"]
