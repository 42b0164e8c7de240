"""Ingest: the wiring of decode -> normalize -> store for a batch of files.

This module holds no stage logic of its own: it hashes each file, skips content the lake
already has, runs the stages, and turns every outcome (new, already present, skipped,
warning, error) into rows of the lake. One bad file never stops the batch. The CLI and
the Prefect flows call these same functions.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa

from runlake._errors import DecodeError, NotAnActivity, Problem
from runlake._normalize import Normalized, SourceInfo, normalize_fit, normalize_gpx
from runlake._query import build_catalog
from runlake._schemas import FILES, INGEST_ERRORS
from runlake._store import Lake, validate_athlete
from runlake.decode import decode_fit, decode_gpx

__all__ = [
    "ACTIVITY_MESSAGES",
    "FileOutcome",
    "IngestSummary",
    "find_input_files",
    "ingest_file",
    "ingest_paths",
]

Status = Literal["new", "present", "skipped", "warning", "error"]

# The FIT messages an activity needs; the rest of a file is walked but not decoded.
ACTIVITY_MESSAGES = frozenset(
    {"file_id", "session", "lap", "record", "event", "device_info", "sport", "activity"}
)
_SUFFIXES = (".fit", ".gpx")


@dataclass(frozen=True, slots=True)
class FileOutcome:
    source_path: str
    file_sha256: str | None
    status: Status
    message: str = ""
    n_activities: int = 0
    n_records: int = 0


@dataclass(slots=True)
class IngestSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    def describe(self) -> str:
        c = self.counts
        acts = sum(o.n_activities for o in self.outcomes)
        return (
            f"{len(self.outcomes)} files: {c['new']} new ({acts} activities), "
            f"{c['present']} already present, {c['skipped']} skipped, "
            f"{c['warning']} with warnings, {c['error']} errors"
        )


def find_input_files(paths: Iterable[Path]) -> list[Path]:
    """Files given, and .fit/.gpx files (any case) found recursively in folders given."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _SUFFIXES)
            )
        else:
            found.append(p)
    return found


def _error_rows(
    src: str,
    sha: str | None,
    *,
    severity: str,
    stage: str,
    problems: Sequence[Problem],
    at: datetime,
) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "source_path": src,
                "file_sha256": sha,
                "severity": severity,
                "stage": stage,
                "message": p.describe(),
                "byte_offset": p.offset,
                "at": at,
            }
            for p in problems
        ],
        schema=INGEST_ERRORS,
    )


def _manifest(
    src: str,
    sha: str,
    *,
    fmt: str,
    size: int,
    status: str,
    file_type: str | None,
    norm: Normalized | None,
    at: datetime,
) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "file_sha256": sha,
                "source_path": src,
                "source_format": fmt,
                "size_bytes": size,
                "status": status,
                "file_type": file_type,
                "n_activities": 0 if norm is None else norm.activities.num_rows,
                "n_records": 0 if norm is None else norm.records.num_rows,
                "year": None if norm is None else norm.year,
                "ingested_at": at,
            }
        ],
        schema=FILES,
    )


def _sniff(data: bytes, path: Path) -> str:
    if len(data) >= 12 and data[8:12] == b".FIT":
        return "fit"
    if path.suffix.lower() == ".gpx":
        return "gpx"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "gpx"
    return "fit" if path.suffix.lower() == ".fit" else "unknown"


def _decode_normalize(
    data: bytes, fmt: str, info: SourceInfo
) -> tuple[Normalized, list[Problem], str]:
    """Run decode and normalize; return the tables, the decode problems and the file type."""
    if fmt == "gpx":
        track = decode_gpx(data, source=info.source_path, on_error="warn")
        norm = normalize_gpx(track, info)
        return norm, [], "gpx"
    fit = decode_fit(data, source=info.source_path, on_error="warn", messages=ACTIVITY_MESSAGES)
    fid = fit.messages.get("file_id")
    ftype = (
        str(fid["type"][0].as_py())
        if fid is not None and "type" in fid.column_names and fid.num_rows
        else None
    )
    norm = normalize_fit(fit, info)
    return norm, list(fit.problems), ftype or "activity"


def ingest_file(
    lake: Lake,
    path: Path,
    athlete: str,
    *,
    source_path: str | None = None,
    now: datetime | None = None,
) -> FileOutcome:
    """Ingest one file into the lake for ``athlete``. Never raises for a bad file."""
    src = source_path if source_path is not None else str(path)
    at = now or datetime.now(UTC)
    try:
        data = path.read_bytes()
    except OSError as e:
        # Nothing to key it by: reported, not committed, so a later run tries again.
        return FileOutcome(src, None, "error", f"cannot read file: {e.strerror or e}")
    sha = hashlib.sha256(data).hexdigest()
    if lake.is_ingested(athlete, sha):
        return FileOutcome(src, sha, "present", "same content already in the lake")
    fmt = _sniff(data, path)
    info = SourceInfo(file_sha256=sha, source_path=src, ingested_at=at)
    stage = "decode"
    try:
        if not data:
            raise DecodeError("empty file (0 bytes)", source=src, offset=0)
        if fmt == "unknown":
            raise DecodeError(
                "not a FIT or GPX file (no '.FIT' signature, not XML)", source=src, offset=0
            )
        norm, problems, ftype = _decode_normalize(data, fmt, info)
    except NotAnActivity as e:
        problem = Problem(type(e).__name__, e.message, e.offset)
        lake.commit(
            athlete,
            sha,
            year=None,
            tables={},
            manifest=_manifest(
                src,
                sha,
                fmt=fmt,
                size=len(data),
                status="skipped",
                file_type=None,
                norm=None,
                at=at,
            ),
            errors=_error_rows(
                src, sha, severity="skipped", stage=stage, problems=[problem], at=at
            ),
        )
        return FileOutcome(src, sha, "skipped", e.message)
    except DecodeError as e:
        problem = Problem(type(e).__name__, e.message, e.offset)
        lake.commit(
            athlete,
            sha,
            year=None,
            tables={},
            manifest=_manifest(
                src, sha, fmt=fmt, size=len(data), status="error", file_type=None, norm=None, at=at
            ),
            errors=_error_rows(src, sha, severity="error", stage=stage, problems=[problem], at=at),
        )
        return FileOutcome(src, sha, "error", problem.describe())
    problems = [*problems, *norm.problems]
    status: Status = "warning" if problems else "new"
    lake.commit(
        athlete,
        sha,
        year=norm.year,
        tables={"activities": norm.activities, "laps": norm.laps, "records": norm.records},
        manifest=_manifest(
            src,
            sha,
            fmt=fmt,
            size=len(data),
            status="warning" if problems else "ingested",
            file_type=ftype,
            norm=norm,
            at=at,
        ),
        errors=(
            _error_rows(src, sha, severity="warning", stage=stage, problems=problems, at=at)
            if problems
            else None
        ),
    )
    message = "; ".join(p.describe() for p in problems)
    return FileOutcome(src, sha, status, message, norm.activities.num_rows, norm.records.num_rows)


def ingest_paths(
    paths: Iterable[Path],
    *,
    lake_root: Path,
    athlete: str,
    progress: Callable[[int, int, FileOutcome], None] | None = None,
    rebuild_catalog: bool = True,
) -> IngestSummary:
    """Ingest files and folders (recursively) into the lake, then refresh the catalog."""
    athlete = validate_athlete(athlete)
    lake = Lake(lake_root)
    lake.cleanup_temp()
    files = find_input_files(paths)
    summary = IngestSummary()
    seen: set[str] = set()
    for i, f in enumerate(files, 1):
        outcome = ingest_file(lake, f, athlete)
        if outcome.file_sha256 in seen and outcome.status == "present":
            outcome = FileOutcome(
                outcome.source_path,
                outcome.file_sha256,
                "present",
                "same content as another file of this batch",
            )
        if outcome.file_sha256:
            seen.add(outcome.file_sha256)
        summary.outcomes.append(outcome)
        if progress is not None:
            progress(i, len(files), outcome)
    if rebuild_catalog:
        build_catalog(lake.root)
    return summary
