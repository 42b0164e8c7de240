"""Shared fixtures: the real corpus in ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

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
