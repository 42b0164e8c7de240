"""Ingest: the orchestration. It finds the inputs (files, gzipped files, members of zip
archives), calls the stages in order for a batch of them (decode -> normalize -> metrics ->
lake; many files in a pool of worker processes, ``_pool``), then keeps the derived tables
up to date (metrics -> flags -> lake) and rebuilds the catalog. The CLI and the Prefect
flows call it.

May import: every stage but report.
"""

from __future__ import annotations

from runlake.ingest._archives import ArchiveReader, InputFile
from runlake.ingest._derive import (
    Measured,
    refresh_derived,
    stale_flags,
)
from runlake.ingest._ingest import (
    ACTIVITY_MESSAGES,
    INTERNAL_ERROR,
    FileOutcome,
    IngestSummary,
    Scan,
    ensure_flags_current,
    find_input_files,
    finish_batch,
    ingest_file,
    ingest_files,
    ingest_paths,
    internal_error_message,
    new_files,
    prepare_file,
    prepare_writer,
    scan_inputs,
)
from runlake.ingest._inputs import ArchiveTally
from runlake.ingest._pool import (
    BatchResult,
    WorkerPool,
    active_pool,
    ingest_batch_here,
    ingest_in_pool,
)

__all__ = [
    "ACTIVITY_MESSAGES",
    "INTERNAL_ERROR",
    "ArchiveReader",
    "ArchiveTally",
    "BatchResult",
    "FileOutcome",
    "IngestSummary",
    "InputFile",
    "Measured",
    "Scan",
    "WorkerPool",
    "active_pool",
    "ensure_flags_current",
    "find_input_files",
    "finish_batch",
    "ingest_batch_here",
    "ingest_file",
    "ingest_files",
    "ingest_in_pool",
    "ingest_paths",
    "internal_error_message",
    "new_files",
    "prepare_file",
    "prepare_writer",
    "refresh_derived",
    "scan_inputs",
    "stale_flags",
]
