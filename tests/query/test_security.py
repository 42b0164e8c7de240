"""No one escapes the lake: read-only SQL, sandboxed files, names stored as data, bad config.

- ``runlake sql`` (``run_query``) runs queries only, on a read-only catalog, in a DuckDB
  sandbox that reads files from the lake's table folders and nowhere else;
- file names with quotes, semicolons or SQL in them are data, never SQL;
- athlete names (flag, environment, config) cannot point outside the lake;
- a bad configuration stops the command at start, naming the key, with exit code 1 and no
  traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runlake import ConfigError, LakeError, ingest_paths, load_config, run_query
from runlake.cli import main
from runlake.query import QueryError, connect
from runlake.synth import RunSpec, write_run

from ..conftest import REPO


def _run(folder: Path, name: str, seed: int = 1) -> Path:
    path = folder / name
    write_run(
        path,
        RunSpec(
            start=datetime(2026, 5, 4 + seed, 7, 0, tzinfo=UTC),
            kind="easy",
            duration_s=300,
            base_speed_mps=3.0,
            base_hr_bpm=140.0,
            cadence_spm=170.0,
            seed=seed,
        ),
    )
    return path


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sec")
    _run(base / "in", "a.fit", 1)
    _run(base / "in", "b.fit", 2)
    root = base / "lake"
    summary = ingest_paths([base / "in"], lake_root=root, athlete="anna")
    assert summary.counts["new"] == 2
    (base / "outside").mkdir()
    (base / "outside" / "secret.csv").write_text("secret,value\nroot,42\n")
    return root


def _sql(lake: Path, query: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(["sql", "--lake", str(lake), "--format", "csv", query])
    out, err = capsys.readouterr()
    return rc, out, err


# -- runlake sql: queries only, files of the lake only -------------------------------------------


def _refused(lake: Path) -> list[tuple[str, str, Path | None]]:
    """(statement, text expected in the error, a file that must not appear)."""
    outside = lake.parent / "outside"
    return [
        ("drop view runs", "read-only", None),
        ("create table t (i integer)", "read-only", None),
        ("create view v as select 1", "read-only", None),
        ("create temp table t as select 1", "read-only", None),
        ("insert into files select * from files", "read-only", None),
        ("delete from files", "read-only", None),
        ("update files set status = 'x'", "read-only", None),
        ("select 1; drop view runs", "read-only", None),
        (f"attach '{outside / 'other.duckdb'}' as other", "read-only", outside / "other.duckdb"),
        ("detach lake", "read-only", None),
        (f"copy (select * from runs) to '{outside / 'out.csv'}'", "read-only", outside / "out.csv"),
        (
            f"copy (select * from records) to '{lake / 'records' / 'evil.parquet'}'",
            "read-only",
            lake / "records" / "evil.parquet",
        ),
        (
            f"explain analyze copy (select 1) to '{outside / 'x.csv'}'",
            "read-only",
            outside / "x.csv",
        ),
        (f"export database '{outside / 'dump'}'", "read-only", outside / "dump"),
        ("install httpfs", "read-only", None),
        ("load httpfs", "read-only", None),
        ("checkpoint", "read-only", None),
        ("pragma enable_profiling", "read-only", None),
        ("select * from read_csv('/etc/passwd')", "Permission Error", None),
        ("select * from read_text('/etc/hostname')", "Permission Error", None),
        (f"select * from read_csv('{outside / 'secret.csv'}')", "Permission Error", None),
        ("select * from read_text('records/../../outside/secret.csv')", "Permission Error", None),
        (
            f"select * from read_text('{lake}/records/../../outside/secret.csv')",
            "Permission Error",
            None,
        ),
        ("select * from glob('/etc/*')", "Permission Error", None),
        ("select * from read_text('/proc/self/environ')", "Permission Error", None),
        ("set enable_external_access = true", "locked", None),
        ("set allowed_directories = ['/']", "locked", None),
        ("set file_search_path = '/etc'", "locked", None),
        ("reset enable_external_access", "locked", None),
    ]


def test_sql_refuses_writes_and_files_outside_the_lake(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for statement, expected, must_not_exist in _refused(lake):
        rc, out, err = _sql(lake, statement, capsys)
        assert rc == 1, (statement, out)
        assert err.startswith("runlake: error:"), (statement, err)
        assert expected in err, (statement, err)
        assert "Traceback" not in err
        assert "root:" not in out + err
        assert "secret" not in out
        if must_not_exist is not None:
            assert not must_not_exist.exists(), statement
    # nothing changed: every view still answers with the same rows
    rc, out, _ = _sql(lake, "select count(*) as n from runs", capsys)
    assert (rc, out.splitlines()) == (0, ["n", "2"])
    assert sorted(p.name for p in (lake.parent / "outside").iterdir()) == ["secret.csv"]


def test_sql_still_answers_queries_and_reads_the_lake_files(
    lake: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allowed = {
        "select count(*) as n from runs": ["n", "2"],
        "with r as (select * from runs) select count(*) as n from r": ["n", "2"],
        "from runs select count(*) as n": ["n", "2"],
        "select count(*) as n from read_parquet('activities/athlete=*/year=*/*.parquet')": [
            "n",
            "2",
        ],
        "set TimeZone = 'Europe/Berlin'; select count(*) as n from runs": ["n", "2"],
    }
    for query, want in allowed.items():
        rc, out, err = _sql(lake, query, capsys)
        assert (rc, out.splitlines()) == (0, want), (query, err)
    for query in ["describe runs", "summarize runs", "show tables", "explain select * from runs"]:
        rc, out, err = _sql(lake, query, capsys)
        assert rc == 0, (query, err)


def test_run_query_is_sandboxed_like_the_cli(lake: Path) -> None:
    with pytest.raises(QueryError, match=r"read-only here: .* not DROP"):
        run_query(lake, "drop view runs")
    with pytest.raises(QueryError, match="Permission Error"):
        run_query(lake, "select * from read_csv(?)", params=[str(lake.parent / "outside" / "x")])
    # the connection analysts open by hand reads the lake, not the rest of the disk
    with connect(lake) as con:
        assert con.execute("select count(*) from runs").fetchone() == (2,)
        with pytest.raises(Exception, match="Permission Error"):
            con.execute("select * from read_text('/etc/passwd')")


# -- names are data -----------------------------------------------------------------------------

NASTY_NAMES = [
    "x'; drop view runs; --.fit",
    "a\"b'c.fit",
    "'); copy (select 42) to 'pwned.csv'; --.fit",
    "run $(touch pwned) `id`.fit",
    "line\nbreak.fit",
    "tab\there %s %d {0}.fit",
    "ünïcødé 跑步 🏃.fit",
    "semi;colon,comma.fit",
]


def test_file_names_with_sql_in_them_are_stored_verbatim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = tmp_path / "in'; drop table x; --"
    paths = [_run(inbox, name, seed) for seed, name in enumerate(NASTY_NAMES, 1)]
    broken = inbox / "'); select 1; --.gpx"
    broken.write_text("<gpx><trk>")
    lake = tmp_path / "lake"
    assert main(["ingest", str(inbox), "--lake", str(lake), "--athlete", "anna"]) == 0
    capsys.readouterr()
    got = run_query(lake, "select source_path from activities order by source_path")
    assert got.column("source_path").to_pylist() == sorted(str(p) for p in paths)
    errors = run_query(lake, "select source_path, severity from ingest_errors").to_pylist()
    assert errors == [{"source_path": str(broken), "severity": "error"}]
    for p in [*paths, broken]:
        rows = run_query(
            lake, "select count(*) as n from files where source_path = ?", params=[str(p)]
        )
        assert rows.column("n").to_pylist() == [1], p
    assert run_query(lake, "select count(*) as n from runs").column("n").to_pylist() == [8]
    assert not list(tmp_path.rglob("pwned*"))
    assert not (REPO / "pwned.csv").exists()


def test_lake_path_with_quotes_and_semicolons_works(tmp_path: Path) -> None:
    src = _run(tmp_path / "in", "a.fit")
    lake = tmp_path / "la'ke; drop view runs; --"
    ingest_paths([src], lake_root=lake, athlete="anna")
    assert run_query(lake, "select count(*) as n from runs").column("n").to_pylist() == [1]
    with pytest.raises(LakeError, match="comma"):
        ingest_paths([src], lake_root=tmp_path / "a,b", athlete="anna")


# -- athlete names and paths stay inside the lake ------------------------------------------------

BAD_ATHLETES = ["..", "../x", "a/../../x", "/etc", ".hidden", "a\x00b", "a b", "a=b", "é", "x" * 65]


@pytest.mark.parametrize("how", ["flag", "env", "config"])
def test_bad_athlete_names_never_write_outside_the_lake(
    tmp_path: Path,
    how: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = _run(tmp_path / "in", "a.fit")
    lake = tmp_path / "sub" / "lake"
    before = sorted(p for p in tmp_path.rglob("*") if lake not in p.parents and p != lake)
    for bad in BAD_ATHLETES:
        argv = ["ingest", str(src), "--lake", str(lake)]
        monkeypatch.delenv("RUNLAKE_ATHLETE", raising=False)
        if how == "flag":
            argv += ["--athlete", bad]
        elif how == "env":
            if "\x00" in bad:
                continue  # an environment variable cannot hold a NUL byte
            monkeypatch.setenv("RUNLAKE_ATHLETE", bad)
        else:
            cfg = tmp_path / "c.toml"
            cfg.write_text(f"[ingest]\nathlete = {bad!r}\n".replace("\\x00", "\\u0000"))
            argv = ["--config", str(cfg), *argv]
        assert main(argv) == 1, bad
        err = capsys.readouterr().err
        assert "invalid athlete name" in err, (bad, err)
        assert "Traceback" not in err
        if how == "config":
            (tmp_path / "c.toml").unlink()
    after = sorted(p for p in tmp_path.rglob("*") if lake not in p.parents and p != lake)
    assert after == before
    assert not lake.exists() or not list(lake.rglob("*.parquet"))


def test_everything_an_ingest_writes_is_under_the_lake(tmp_path: Path) -> None:
    src = _run(tmp_path / "in", "a.fit")
    lake = tmp_path / "x" / ".." / "lake"
    snapshot = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    ingest_paths([tmp_path / "in"], lake_root=lake, athlete="anna")
    new = [p for p in tmp_path.rglob("*") if p not in snapshot]
    root = (tmp_path / "lake").resolve()
    assert new
    assert all(p.resolve() == root or root in p.resolve().parents for p in new), new
    assert src.stat().st_mtime_ns == snapshot[src]  # inputs are only read


# -- bad configuration: at start, naming the key, exit 1, no traceback ---------------------------

BAD_CONFIGS = [
    ("[lake]\npaht = 'x'\n", "unknown key lake.paht"),
    ("[nope]\nx = 1\n", "unknown section [nope]"),
    ("[lake]\npath = 3\n", "lake.path must be a str"),
    ("[sync]\nlock_wait_s = 'soon'\n", "sync.lock_wait_s must be a float"),
    ("[sync]\nlock_wait_s = -1.0\n", "sync.lock_wait_s must not be negative"),
    ("[backfill]\nworkers = 0\n", "backfill.workers must be between 1 and 256"),
    ("[backfill]\nbatch_size = -3\n", "backfill.batch_size must be 0"),
    ("[ingest]\ninbox = 'inbox'\n", "ingest.inbox must be a list"),
    ("[sync]\ntimezone = 'Mars/Olympus'\n", "sync.timezone 'Mars/Olympus' is not a known"),
    ("[sync]\ncron = 'every night'\n", "sync.cron must have 5 fields"),
    ("[lake]\npath = ''\n", "lake.path must not be empty"),
    ("lake = 'x'\n", "[lake] must be a table"),
    ("[lake\n", "is not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_bad_config_is_reported_at_start(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _run(tmp_path / "in", "a.fit")
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    lake = tmp_path / "lake"
    rc = main(["--config", str(cfg), "ingest", str(src), "--lake", str(lake)])
    err = capsys.readouterr().err
    assert rc == 1
    assert message in err, err
    assert err.startswith("runlake: error:")
    assert "Traceback" not in err
    assert not lake.exists()  # stopped before anything was written


def test_bad_flag_thresholds_are_reported_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _run(tmp_path / "in", "a.fit")
    lake = tmp_path / "lake"
    overrides = tmp_path / "flags.toml"
    overrides.write_text("[heart_rate]\neasy_hr_fraction = -0.5\n")
    cfg = tmp_path / "c.toml"
    for value, message in [
        (str(overrides), "heart_rate.easy_hr_fraction must not be negative"),
        (str(tmp_path / "none.toml"), "none.toml does not exist"),
    ]:
        cfg.write_text(f"[flags]\noverrides = {value!r}\n")
        # bad usage: exit 2 (issue 15), one line
        assert main(["--config", str(cfg), "ingest", str(src), "--lake", str(lake)]) == 2
        err = capsys.readouterr().err
        assert message in err, err
        assert err.count("\n") == 1
        assert "Traceback" not in err
        assert not lake.exists()


def test_sync_without_any_inbox_folder_is_reported_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[ingest]\ninbox = [{str(tmp_path / 'gone')!r}]\n")
    assert main(["--config", str(cfg), "sync", "--lake", str(tmp_path / "lake")]) == 1
    err = capsys.readouterr().err
    assert err == f"runlake: error: ingest.inbox: no such folder: {tmp_path / 'gone'}\n"
    assert main(["sync", "--inbox", str(tmp_path / "nope"), "--lake", str(tmp_path)]) == 1
    assert "--inbox: no such folder" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_an_integer_where_a_float_is_expected_is_fine(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[sync]\nlock_wait_s = 5\n")
    assert load_config(cfg, env={}).sync_lock_wait_s == 5.0


def test_missing_folders_and_files_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "none.toml"), "sql", "select 1"]) == 1
    assert "none.toml does not exist" in capsys.readouterr().err
    monkeypatch.setenv("RUNLAKE_CONFIG", str(tmp_path / "gone.toml"))
    assert main(["sql", "select 1"]) == 1
    assert "gone.toml does not exist" in capsys.readouterr().err
    monkeypatch.delenv("RUNLAKE_CONFIG")
    assert main(["sql", "--lake", str(tmp_path / "nolake"), "select 1"]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["ingest", str(tmp_path / "file"), "--lake", str(tmp_path / "file")]) == 1
    assert "is not a folder" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_bad_config_in_a_real_process_prints_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[backfill]\nworkers = 'many'\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-m", "runlake.cli", "--config", str(cfg), "sql", "select 1"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"runlake: error: {cfg}: backfill.workers must be a int, not str ('many')"
    ]
