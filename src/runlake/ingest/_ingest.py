"""Ingest: the wiring of decode -> normalize -> store for a batch of files.

This module holds no stage logic of its own: it hashes each file, skips content the lake
already has, runs the stages, and turns every outcome (new, already present, skipped,
warning, error) into rows of the lake. One bad file never stops the batch. The CLI and
the Prefect flows call these same functions.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pyarrow as pa

from runlake._errors import (
    ArchiveError,
    DecodeError,
    FitError,
    InputTooLarge,
    LakeBusy,
    NotAnActivity,
    Problem,
    decode_error_class,
)
from runlake._pooling import pool_worth_it
from runlake._schemas import FILES, INGEST_ERRORS
from runlake.decode import decode_fit, decode_gpx, decode_tcx, fit_file_type, root_name
from runlake.flags import Thresholds, load_thresholds
from runlake.ingest._archives import DEFAULT_MAX_FILE_BYTES, ArchiveReader, InputFile
from runlake.ingest._derive import Measured, refresh_derived, stale_flags
from runlake.ingest._inputs import ArchiveTally, Found, find_inputs, tally_outcomes
from runlake.ingest._scan import Scan, new_files, scan_inputs
from runlake.lake._store import FileCommit, Lake, LakeLocation, validate_athlete, writer_lock
from runlake.normalize import (
    Normalized,
    SourceInfo,
    normalize_fit,
    normalize_gpx,
    normalize_tcx,
)
from runlake.query import build_catalog, catalog_path

__all__ = [
    "ACTIVITY_MESSAGES",
    "INTERNAL_ERROR",
    "FileOutcome",
    "IngestSummary",
    "InputFile",
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
    "scan_inputs",
]

Status = Literal["new", "present", "skipped", "warning", "error"]

# The FIT messages an activity needs; the rest of a file is walked but not decoded.
ACTIVITY_MESSAGES = frozenset(
    {"file_id", "session", "lap", "record", "event", "device_info", "sport", "activity", "hr"}
)
# XML root element -> format (TCX and GPX are told apart by content, not by name).
_XML_ROOTS = {"gpx": "gpx", "TrainingCenterDatabase": "tcx"}


@dataclass(frozen=True, slots=True)
class FileOutcome:
    source_path: str
    file_sha256: str | None
    status: Status
    message: str = ""
    n_activities: int = 0
    n_records: int = 0
    archive: str | None = None
    """The archive file it is a member of (None for a file on its own)."""


@dataclass(slots=True)
class IngestSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)
    derived: dict[str, object] = field(default_factory=dict)
    found: Found | None = None
    """What was found under the paths given (archives, files passed over)."""

    def archives(self) -> list[ArchiveTally]:
        """One tally per archive: its watch files and what became of them."""
        return tally_outcomes(self.found.archives if self.found else {}, self.outcomes)

    def notes(self) -> list[str]:
        """A line per path given that holds no watch file."""
        return self.found.notes() if self.found else []

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
            + (
                f", {self.found.passed_over:,} other files passed over"
                if self.found and self.found.passed_over
                else ""
            )
        )


def find_input_files(
    paths: Iterable[Path], *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> list[InputFile]:
    """Files given, and the watch files found recursively in folders given: ``.fit``,
    ``.gpx`` and ``.tcx`` in any letter case, also gzipped, and the members of zip archives
    (nested too). See :func:`runlake.ingest._inputs.find_inputs`."""
    return find_inputs(paths, max_bytes=max_file_bytes).inputs


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
    """fit, gpx, tcx or unknown: by content (FIT signature, XML root element), else suffix."""
    if len(data) >= 12 and data[8:12] == b".FIT":
        return "fit"
    suffix = path.suffix.lower()
    root = root_name(data)
    if root in _XML_ROOTS:
        return _XML_ROOTS[root]
    if suffix in (".gpx", ".tcx"):
        return suffix[1:]  # the decoder says what is wrong with it
    if root is not None:
        return "gpx"  # XML of another kind: the GPX decoder names its root element
    return "fit" if suffix == ".fit" else "unknown"


INTERNAL_ERROR = "InternalError"
"""How the message of a file that hit a bug in runlake (not in the file) starts."""


def internal_error_message(e: BaseException) -> str:
    """The outcome message of a file whose decode or normalize raised an unexpected error."""
    return (
        f"{INTERNAL_ERROR}: {type(e).__name__}: {e} (a bug in runlake, please report it "
        "with the file; the file is not marked and will be tried again)"
    )


def _decode_normalize(
    data: bytes, fmt: str, info: SourceInfo
) -> tuple[Normalized, list[Problem], str]:
    """Run decode and normalize; return the tables, the decode problems and the file type."""
    if fmt == "gpx":
        track = decode_gpx(data, source=info.source_path, on_error="warn")
        return normalize_gpx(track, info), [], "gpx"
    if fmt == "tcx":
        tcx = decode_tcx(data, source=info.source_path, on_error="warn")
        return normalize_tcx(tcx, info), [], "tcx"
    ftype = fit_file_type(data)  # from file_id alone: a monitoring file is not decoded
    if ftype is not None and ftype != "activity":
        raise NotAnActivity(f"FIT file type '{ftype}' holds no activity", source=info.source_path)
    fit = decode_fit(data, source=info.source_path, on_error="warn", messages=ACTIVITY_MESSAGES)
    fid = fit.messages.get("file_id")
    ftype = (
        str(fid["type"][0].as_py())
        if fid is not None and "type" in fid.column_names and fid.num_rows
        else None
    )
    try:
        norm = normalize_fit(fit, info)
    except NotAnActivity as e:
        if fit.problems and ftype in (None, "activity"):
            # An activity file damaged before its first session or record (a sync that
            # copied the head of a file): rejected as damaged, not skipped as "not an
            # activity", and the damage is named.
            first = fit.problems[0]
            cls = decode_error_class(first.kind)
            raise (cls if issubclass(cls, FitError) else FitError)(
                f"{e.message}: the file is damaged before any activity data ({first.message})",
                source=info.source_path,
                offset=first.offset,
            ) from e
        raise
    return norm, list(fit.problems), ftype or "activity"


def prepare_file(
    lake: Lake,
    path: InputFile | Path | str,
    athlete: str,
    *,
    source_path: str | None = None,
    now: datetime | None = None,
    pending: set[str] | frozenset[str] = frozenset(),
    reader: ArchiveReader | None = None,
) -> tuple[FileOutcome, FileCommit | None]:
    """Decode and normalize one file or archive member; what to commit for it (None:
    nothing to commit).

    Never raises for a bad file: a rejected or skipped file is committed too (its manifest
    row and its reason), so that the same bytes are not tried again. ``reader``: the
    archive reader of the batch (it keeps the last archive open), else one for this file.
    """
    inp = InputFile.of(path)
    src = source_path if source_path is not None else inp.source_path
    at = now or datetime.now(UTC)
    with nullcontext(reader) if reader is not None else ArchiveReader() as r:
        outcome, commit = _prepare(lake, inp, r, athlete=athlete, src=src, at=at, pending=pending)
    if inp.archive is not None:
        outcome = replace(outcome, archive=inp.archive)
    return outcome, commit


def _refused(
    lake: Lake,
    inp: InputFile,
    reader: ArchiveReader,
    error: ArchiveError | InputTooLarge,
    *,
    athlete: str,
    src: str,
    at: datetime,
    pending: set[str] | frozenset[str],
) -> tuple[FileOutcome, FileCommit | None]:
    """An input that cannot be read (damaged archive member, bomb...): committed under the
    sha256 of its bytes as stored, so that the next run knows it and stays quiet."""
    problem = Problem.of(error)
    try:
        sha, size = reader.stored_sha256(inp)
    except (OSError, ArchiveError) as e:
        # Nothing to key it by: reported, not committed, so a later run tries again.
        return FileOutcome(src, None, "error", f"{problem.describe()} ({e})"), None
    if sha in pending:
        return FileOutcome(src, sha, "present", "same content as another file of this batch"), None
    if lake.is_ingested(athlete, sha):
        return FileOutcome(src, sha, "present", "same content already in the lake"), None
    commit = FileCommit(
        sha256=sha,
        year=None,
        tables={},
        manifest=_manifest(
            src, sha, fmt="unknown", size=size, status="error", file_type=None, norm=None, at=at
        ),
        errors=_error_rows(src, sha, severity="error", stage="read", problems=[problem], at=at),
    )
    return FileOutcome(src, sha, "error", problem.describe()), commit


def _prepare(
    lake: Lake,
    inp: InputFile,
    reader: ArchiveReader,
    *,
    athlete: str,
    src: str,
    at: datetime,
    pending: set[str] | frozenset[str],
) -> tuple[FileOutcome, FileCommit | None]:
    try:
        data = reader.read(inp)
    except OSError as e:
        # Nothing to key it by: reported, not committed, so a later run tries again.
        return FileOutcome(src, None, "error", f"cannot read file: {e.strerror or e}"), None
    except (ArchiveError, InputTooLarge) as e:
        return _refused(lake, inp, reader, e, athlete=athlete, src=src, at=at, pending=pending)
    except Exception as e:  # noqa: BLE001 -- a bug in reading must not stop the batch
        return FileOutcome(src, None, "error", internal_error_message(e)), None
    sha = hashlib.sha256(data).hexdigest()
    if sha in pending:
        return FileOutcome(src, sha, "present", "same content as another file of this batch"), None
    if lake.is_ingested(athlete, sha):
        return FileOutcome(src, sha, "present", "same content already in the lake"), None
    fmt = _sniff(data, Path(inp.format_name))
    info = SourceInfo(file_sha256=sha, source_path=src, ingested_at=at)
    stage = "decode"

    def rejected(status: Literal["skipped", "error"], e: DecodeError) -> FileCommit:
        problem = Problem.of(e)
        return FileCommit(
            sha256=sha,
            year=None,
            tables={},
            manifest=_manifest(
                src, sha, fmt=fmt, size=len(data), status=status, file_type=None, norm=None, at=at
            ),
            errors=_error_rows(src, sha, severity=status, stage=stage, problems=[problem], at=at),
        )

    try:
        if not data:
            raise DecodeError("empty file (0 bytes)", source=src, offset=0)
        if fmt == "unknown":
            raise DecodeError(
                "not a FIT, GPX or TCX file (no '.FIT' signature, not XML)", source=src, offset=0
            )
        norm, problems, ftype = _decode_normalize(data, fmt, info)
    except NotAnActivity as e:
        return FileOutcome(src, sha, "skipped", e.message), rejected("skipped", e)
    except DecodeError as e:
        problem = Problem.of(e)
        return FileOutcome(src, sha, "error", problem.describe()), rejected("error", e)
    except Exception as e:  # noqa: BLE001 -- a bug in a stage must not stop the batch
        # Reported (not silent) and not marked: a later run, with the bug fixed, retries it.
        return FileOutcome(src, sha, "error", internal_error_message(e)), None
    problems = [*problems, *norm.problems]
    status: Status = "warning" if problems else "new"
    commit = FileCommit(
        sha256=sha,
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
    outcome = FileOutcome(
        src, sha, status, message, norm.activities.num_rows, norm.records.num_rows
    )
    return outcome, commit


def ingest_file(
    lake: Lake, path: InputFile | Path | str, athlete: str, *, source_path: str | None = None
) -> FileOutcome:
    """Ingest one file, committed on its own (a batch of one). Never raises for a bad file."""
    outcome, commit = prepare_file(lake, path, athlete, source_path=source_path)
    if commit is not None:
        lake.commit_batch(athlete, [commit])
    return outcome


# A batch is committed when it holds this many records (bounds memory, ~100 MB) or files.
BATCH_MAX_RECORDS = 400_000
BATCH_MAX_FILES = 500


def ingest_files(
    files: Sequence[InputFile | Path | str],
    *,
    lake: Lake,
    athlete: str,
    progress: Callable[[int, int, FileOutcome], None] | None = None,
    measured: Measured | None = None,
    should_stop: Callable[[], bool] | None = None,
    reader: ArchiveReader | None = None,
) -> list[FileOutcome]:
    """Ingest these files (or archive members) in committed batches; no lock, no catalog
    refresh (a task's body).

    The caller holds the writer lock (:func:`ingest_paths` does, and so do the flows).
    Memory stays bounded: a batch is committed every ``BATCH_MAX_RECORDS`` records.
    ``measured``: the run and lap metrics of the committed runs are added to it (computed
    here while the records are in memory), for :func:`finish_batch`.
    ``should_stop``: asked before each file; once it returns True, what was prepared is
    committed and the rest is left (the outcomes cover only the files handled).
    ``reader``: an archive reader that outlives this call (a worker process keeps one: its
    next batch of an archive's members goes on where this one stopped), else a new one.
    """
    athlete = validate_athlete(athlete)
    outcomes: list[FileOutcome] = []
    pending: list[FileCommit] = []
    pending_shas: set[str] = set()
    rows = 0
    # The members of an archive come in a row: the reader keeps it open.
    with nullcontext(reader) if reader is not None else ArchiveReader() as r:
        for i, f in enumerate(files, 1):
            if should_stop is not None and should_stop():
                break
            outcome, commit = prepare_file(lake, f, athlete, pending=pending_shas, reader=r)
            if commit is not None:
                pending.append(commit)
                pending_shas.add(commit.sha256)
                rows += outcome.n_records
                if measured is not None:
                    measured.add(commit.tables)
            outcomes.append(outcome)
            if pending and (rows >= BATCH_MAX_RECORDS or len(pending) >= BATCH_MAX_FILES):
                lake.commit_batch(athlete, pending)
                pending, pending_shas, rows = [], set(), 0
                if measured is not None:
                    measured.seal()
            if progress is not None:
                progress(i, len(files), outcome)
    if pending:
        lake.commit_batch(athlete, pending)
    if measured is not None:
        measured.seal()
    return outcomes


def prepare_writer(lake: Lake) -> None:
    """Clear what a killed writer left (temp files, uncommitted parts). Hold the lock."""
    lake.cleanup_temp(max_age_s=0)
    lake.recover()


def ingest_paths(
    paths: Iterable[Path],
    *,
    lake_root: LakeLocation | Lake,
    athlete: str,
    progress: Callable[[int, int, FileOutcome], None] | None = None,
    rebuild_catalog: bool = True,
    lock_timeout_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    thresholds: Thresholds | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    workers: int = 1,
) -> IngestSummary:
    """Ingest files, folders (recursively) and archives into the lake, then refresh the
    catalog.

    The lake is opened once (``lake_root``: a location, or a :class:`Lake` already open) and
    handed to every step. Holds the lake's writer lock for the whole batch (waiting up to
    ``lock_timeout_s``, forever when None; :class:`~runlake._errors.LakeBusy` when it gives
    up). When the paths hold no watch file at all, nothing is done (``found`` says so).
    ``max_file_bytes``: the largest file or archive member read (``ingest.max_file_bytes``).
    ``workers``: with more than one, many inputs (:func:`runlake._pooling.pool_worth_it`)
    are ingested in that many worker processes (:func:`runlake.ingest._pool.ingest_in_pool`);
    few stay in this process, which would spend longer starting a pool than ingesting.
    """
    athlete = validate_athlete(athlete)
    found = find_inputs(paths, max_bytes=max_file_bytes)
    if not found.inputs:
        return IngestSummary(found=found)
    lake = lake_root if isinstance(lake_root, Lake) else Lake(lake_root)
    with writer_lock(lake, holder="runlake ingest", timeout_s=lock_timeout_s, on_wait=on_wait):
        prepare_writer(lake)
        measured = Measured() if rebuild_catalog else None
        if pool_worth_it(len(found.inputs), _input_bytes(found.inputs), workers):
            from runlake.ingest._pool import ingest_in_pool  # noqa: PLC0415 -- it imports this

            outcomes = ingest_in_pool(
                found.inputs,
                lake=lake,
                athlete=athlete,
                workers=workers,
                measured=measured,
                progress=progress,
            )
        else:
            outcomes = ingest_files(
                found.inputs, lake=lake, athlete=athlete, progress=progress, measured=measured
            )
        summary = IngestSummary(outcomes, found=found)
        if rebuild_catalog:
            summary.derived = finish_batch(
                lake, athlete, summary.outcomes, thresholds=thresholds, measured=measured
            )
    return summary


def _input_bytes(inputs: Sequence[InputFile]) -> int:
    """The bytes of the files the inputs are in (an archive once)."""
    total = 0
    for path in {inp.path for inp in inputs}:
        with suppress(OSError):
            total += Path(path).stat().st_size
    return total


def finish_batch(
    lake: Lake,
    athlete: str,
    outcomes: Sequence[FileOutcome | Mapping[str, object]],
    *,
    thresholds: Thresholds | None = None,
    measured: Measured | None = None,
) -> dict[str, object]:
    """What follows a batch (hold the lock): derived tables of what changed, then the catalog
    (unless every file was already present).

    Run metrics and flags are recomputed only for the new runs and the weeks they affect
    (:func:`runlake.ingest._derive.refresh_derived`); ``measured``: the new runs' metrics computed
    at ingest (:func:`ingest_files`), so that their records are not read again.
    """
    validate_athlete(athlete)
    statuses = [o.status if isinstance(o, FileOutcome) else o.get("status") for o in outcomes]
    n_new = sum(1 for s in statuses if s in ("new", "warning"))
    derived = refresh_derived(lake, athlete, thresholds or load_thresholds(), measured=measured)
    # Nothing committed (every file already present, no derived table written): the catalog
    # stands; were it stale for another reason (a killed writer's batch), the next
    # connection rebuilds it.
    rebuild = (
        bool(derived["written"])
        or any(s != "present" for s in statuses)
        or not catalog_path(lake.fs).exists()
    )
    if rebuild:
        build_catalog(lake.fs)
    return {"catalog_rebuilt": rebuild, "new_files": n_new, **derived}


def ensure_flags_current(
    lake: Lake,
    athlete: str,
    thresholds: Thresholds,
    *,
    wait_s: float = 5.0,
    on_wait: Callable[[str], None] | None = None,
) -> str | None:
    """Make the athlete's stored flags those of ``thresholds`` before they are shown.

    When they were judged with other thresholds, by an older runlake or by a refresh that
    was interrupted (:func:`~runlake.ingest._derive.stale_flags`), they are judged again
    under the writer lock (waiting up to ``wait_s`` for another writer) and the catalog is
    rebuilt. Returns one line saying what was done, or why it could not be done now (the
    lake is busy: the flags are then shown as they are), or None when they were current.
    """
    why = stale_flags(lake, athlete, thresholds)
    if why is None:
        return None
    try:
        with writer_lock(lake, holder="runlake flags", timeout_s=wait_s, on_wait=on_wait):
            why = stale_flags(lake, athlete, thresholds)  # another writer may have done it
            if why is None:
                return None
            done = refresh_derived(lake, athlete, thresholds)
            build_catalog(lake.fs)
    except LakeBusy as e:
        return (
            f"{why}; shown as they were computed, not judged again now ({e}); "
            "`runlake flags` judges them again once the lake is free"
        )
    runs = done.get("metrics_computed", 0)
    return f"{why}: judged again with the thresholds in force ({runs} runs)"
