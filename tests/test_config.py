"""Configuration: defaults, a user's file, environment variables; clear errors."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from runlake import ConfigError, load_config


def test_defaults() -> None:
    cfg = load_config(env={})
    assert cfg.lake == Path("lake")
    assert cfg.athlete == "me"
    assert cfg.inbox == (Path("inbox"),)
    assert cfg.demo_weeks == 12
    assert cfg.demo_start == date(2026, 6, 1)
    assert cfg.ingest_max_file_bytes == 256 * 2**20


def test_user_file_then_environment(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text('[lake]\npath = "/data/lake"\n[ingest]\nathlete = "anna"\n')
    cfg = load_config(user, env={"RUNLAKE_ATHLETE": "ben", "RUNLAKE_INBOX": "/a:/b"})
    assert cfg.lake == Path("/data/lake")
    assert cfg.athlete == "ben"
    assert cfg.inbox == (Path("/a"), Path("/b"))
    user.write_text("[ingest]\nmax_file_bytes = 33554432\n")
    assert load_config(user, env={}).ingest_max_file_bytes == 32 * 2**20
    user.write_text('[lake]\npath = "/data/lake"\n[ingest]\nathlete = "anna"\n')
    assert load_config(env={"RUNLAKE_CONFIG": str(user)}).athlete == "anna"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[lake]\npaht = 'x'\n", "unknown key lake.paht"),
        ("[lakes]\npath = 'x'\n", "unknown section [lakes]"),
        ("[lake]\npath = 3\n", "lake.path must be a str, not int"),
        ("[demo]\nweeks = -2\n", "demo.weeks must be between 1 and 520"),
        ("[demo]\nweeks = true\n", "demo.weeks must be a int"),
        ("[demo]\nstart = 'soon'\n", "demo.start must be a date"),
        ("[ingest]\ninbox = 'x'\n", "ingest.inbox must be a list"),
        ("[ingest]\nmax_file_bytes = 1000\n", "ingest.max_file_bytes must be between 1 MiB"),
        ("[ingest]\nmax_file_bytes = '1G'\n", "ingest.max_file_bytes must be a int"),
        ("[lake\n", "is not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    user = tmp_path / "bad.toml"
    user.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(user, env={})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_an_object_storage_lake_stays_a_url() -> None:
    assert load_config(env={"RUNLAKE_LAKE": "s3://bucket/lake"}).lake == "s3://bucket/lake"
    assert load_config(env={"RUNLAKE_LAKE": "/data/lake"}).lake == Path("/data/lake")
    with pytest.raises(ConfigError, match=re.escape("lake.path 'gs://bucket/lake'")):
        load_config(env={"RUNLAKE_LAKE": "gs://bucket/lake"})
