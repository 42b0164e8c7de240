"""Shared fixtures: the real corpus in ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import pytest

# Prefect, when a test imports it, stays hermetic and quiet: its home (database, settings)
# in a temporary folder, no analytics, warnings only. Set before anything imports Prefect.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="runlake-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FIT_DIR = DATA / "fit"
GPX_DIR = DATA / "gpx"


def corpus_available() -> bool:
    return FIT_DIR.is_dir()


def fit_inventory() -> list[dict[str, str]]:
    """Rows of fit-inventory.tsv ([] when the corpus is absent)."""
    path = DATA / "fit-inventory.tsv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def corpus_file(name_part: str) -> Path:
    """The one corpus FIT file whose name contains ``name_part`` (skips without corpus)."""
    if not corpus_available():
        pytest.skip("real watch files (../shared/data) are not present")
    hits = sorted(p for p in FIT_DIR.iterdir() if name_part in p.name)
    assert len(hits) == 1, f"{name_part!r} matches {len(hits)} corpus files"
    return hits[0]


requires_corpus = pytest.mark.skipif(
    not corpus_available(), reason="real watch files (../shared/data) are not present"
)
