"""Helpers shared by the query tests: a lake of sample seasons, and the CLI's output."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from runlake import ingest_paths
from runlake.cli import main
from runlake.synth import write_season

SEASON_START = dt.date(2026, 6, 1)


def season_lake(base: Path, seasons: dict[str, tuple[int, int]]) -> Path:
    """A lake under ``base`` with a sample season per athlete: ``{athlete: (weeks, seed)}``."""
    root = base / "lake"
    for athlete, (weeks, seed) in seasons.items():
        write_season(base / athlete, start=SEASON_START, weeks=weeks, seed=seed)
        ingest_paths([base / athlete], lake_root=root, athlete=athlete)
    return root


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``runlake ARGS...``: exit code, standard output, standard error."""
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err
