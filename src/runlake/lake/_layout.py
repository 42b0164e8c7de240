"""The lake's folder layout, without pyarrow: which tables are partitioned how, where their
parts and manifests are, and which batches are whole (:func:`list_committed`).

:mod:`runlake.lake._store` writes this layout; the query stage reads it on its way to a query
without importing pyarrow (see :mod:`runlake._tables`).
"""

from __future__ import annotations

from runlake._tables import DATA_TABLES, DERIVED_TABLES
from runlake.lake._fs import STAGED_SUFFIX, LakeFS, LakeLocation, open_fs, unstaged_rel

__all__ = [
    "BATCHED_TABLES",
    "DATA_TABLES",
    "DERIVED_TABLES",
    "PARTITIONED_BY_YEAR",
    "batch_of",
    "list_committed",
]

PARTITIONED_BY_YEAR: frozenset[str] = frozenset((*DATA_TABLES, *DERIVED_TABLES))
"""Tables with a ``year=<y>`` folder level under ``athlete=<a>`` (the others have none)."""

BATCHED_TABLES: tuple[str, ...] = (*DATA_TABLES, "ingest_errors")
"""Tables written in batches, whose parts count once the batch's manifest (``files``) exists."""


def batch_of(rel: str) -> str:
    return rel.rsplit("/", 1)[-1].removeprefix("part-").removesuffix(".parquet")


def _batch_key(rel: str) -> tuple[str, str]:
    """(``athlete=<a>``, batch) of a part or manifest: batch names are per athlete."""
    athlete = next((d for d in rel.split("/") if d.startswith("athlete=")), "")
    return athlete, batch_of(rel)


def _parts_pattern(table: str) -> str:
    year = "year=*/" if table in PARTITIONED_BY_YEAR else ""
    return f"{table}/athlete=*/{year}part-*.parquet"


def _staged_pattern(table: str) -> str:
    year = "year=*/" if table in PARTITIONED_BY_YEAR else ""
    return f"{table}/athlete=*/{year}.part-*.parquet{STAGED_SUFFIX}"


def list_committed(
    location: LakeLocation | LakeFS,
) -> tuple[list[str], dict[str, list[str]]]:
    """The manifests of the whole committed batches, and each batched table's parts of them
    (paths relative to the lake, sorted).

    Listed in this order, each listing after the one before ended: manifests, staged parts,
    parts. A batch listed with its manifest has all of its parts staged or published (they
    are staged before the manifest); one with a part still staged is left out (its renames
    are running, or a killed writer left them to the next writer); a part renamed between
    the listings is seen by the later one. So every batch listed is whole.
    """
    fs = open_fs(location)
    manifests = fs.glob("files/athlete=*/part-*.parquet")
    unfinished: set[tuple[str, str]] = set()
    if fs.stages:
        for table in BATCHED_TABLES:
            unfinished |= {_batch_key(unstaged_rel(r)) for r in fs.glob(_staged_pattern(table))}
    whole = {_batch_key(m) for m in manifests} - unfinished
    parts = {
        t: [r for r in fs.glob(_parts_pattern(t)) if _batch_key(r) in whole] for t in BATCHED_TABLES
    }
    return [m for m in manifests if _batch_key(m) in whole], parts
