"""Ingest: the orchestration. It finds the inputs (files, gzipped files, members of zip
archives), calls the stages in order for a batch of them (decode -> normalize -> metrics ->
lake), then keeps the derived tables up to date (metrics -> flags -> lake) and rebuilds the
catalog. The CLI and the Prefect flows call it.

May import: every stage but report.
"""

from __future__ import annotations

from runlake.ingest._archives import ArchiveReader, InputFile
from runlake.ingest._derive import (
    DERIVED_TABLES,
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

__all__ = [
    "ACTIVITY_MESSAGES",
    "DERIVED_TABLES",
    "INTERNAL_ERROR",
    "ArchiveReader",
    "ArchiveTally",
    "FileOutcome",
    "IngestSummary",
    "InputFile",
    "Measured",
    "Scan",
    "ensure_flags_current",
    "find_input_files",
    "finish_batch",
    "ingest_file",
    "ingest_files",
    "ingest_paths",
    "internal_error_message",
    "new_files",
    "prepare_file",
    "prepare_writer",
    "refresh_derived",
    "scan_inputs",
    "stale_flags",
]
