"""Finding the watch files under the paths given: loose, gzipped, and inside zip archives.

Folders are searched recursively for watch files (``.fit``, ``.gpx``, ``.tcx``, in any
letter case, also ``.gz``) and zip archives, whose members are listed (nested zips too)
without extracting anything. What is not a watch file (an export's JSON, CSV, PDF and
images, macOS ``__MACOSX/`` and ``._*`` junk) is passed over and counted. A file named
explicitly is always taken. Archive formats runlake does not read (``.tar.gz``, ``.7z``...)
become inputs that are rejected with a one-line reason.

:class:`ArchiveTally` counts an archive's members and what became of them: the summary
line per archive of ``runlake ingest`` and of the flows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runlake.ingest._archives import (
    DEFAULT_MAX_FILE_BYTES,
    MAX_NESTING,
    ArchiveReader,
    InputFile,
    Member,
    classify,
    unsafe_name,
)

__all__ = [
    "ArchiveTally",
    "Found",
    "Lister",
    "find_inputs",
    "list_archive",
    "tally_outcomes",
    "walk_paths",
]

WATCH_FILES = ".fit, .gpx or .tcx files (also .gz, or in .zip archives)"


@dataclass(slots=True)
class ArchiveTally:
    """One archive file: its watch-file members (nested archives included) and their fate."""

    archive: str
    members: int = 0
    """Watch files found in it."""
    passed_over: int = 0
    """Other members (JSON, CSV, images...): not read."""
    new: int = 0
    """Ingested (with or without warnings)."""
    present: int = 0
    skipped: int = 0
    errors: int = 0

    def count(self, status: str) -> None:
        """Count one member's outcome (``new``, ``warning``, ``present``, ``skipped``...)."""
        if status in ("new", "warning"):
            self.new += 1
        elif status == "present":
            self.present += 1
        elif status == "skipped":
            self.skipped += 1
        else:
            self.errors += 1

    def describe(self) -> str:
        other = f"; {self.passed_over:,} other files passed over" if self.passed_over else ""
        return (
            f"{self.archive}: {self.members:,} watch files: {self.new:,} new, "
            f"{self.present:,} already present, {self.skipped:,} skipped, "
            f"{self.errors:,} errors{other}"
        )

    def copy(self) -> ArchiveTally:
        return ArchiveTally(**{k: getattr(self, k) for k in self.__slots__})


def tally_outcomes(
    archives: Mapping[str, ArchiveTally], outcomes: Iterable[Any]
) -> list[ArchiveTally]:
    """The archives' tallies with the outcomes (FileOutcome or dicts) of their members."""
    out = {k: v.copy() for k, v in archives.items()}
    for o in outcomes:
        archive = o.get("archive") if isinstance(o, dict) else getattr(o, "archive", None)
        if archive is not None:
            status = o["status"] if isinstance(o, dict) else o.status
            out.setdefault(archive, ArchiveTally(archive)).count(str(status))
    return list(out.values())


@dataclass(slots=True)
class Found:
    """The inputs under the paths given, and what was passed over."""

    inputs: list[InputFile] = field(default_factory=list)
    archives: dict[str, ArchiveTally] = field(default_factory=dict)
    passed_over: int = 0
    """Files and members that are not watch files (not read)."""
    empty: list[tuple[str, int]] = field(default_factory=list)
    """Paths given that hold no watch file, with how many other files they hold."""

    def notes(self) -> list[str]:
        """One line per path given that holds no watch file."""
        return [
            f"{path}: no watch files found ({WATCH_FILES})"
            + (f"; {n:,} other files passed over" if n else "")
            for path, n in self.empty
        ]


def walk_paths(paths: Iterable[Path]) -> Iterator[tuple[Path, Path, bool]]:
    """(path given, file, named explicitly) for every file under the paths given.

    A folder's files come sorted by path (symbolic links to folders are not followed,
    macOS ``__MACOSX`` folders are skipped); a path that is not a folder is yielded as it
    is (it may not exist: reading it says so).
    """
    for given in paths:
        if not given.is_dir():
            yield given, given, True
            continue
        found: list[Path] = []
        for root, dirs, files in os.walk(given):
            dirs[:] = [d for d in dirs if d != "__MACOSX"]
            found.extend(Path(root) / name for name in files)
        for f in sorted(found):
            if f.is_file():
                yield given, f, False


def list_archive(
    reader: ArchiveReader, path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> tuple[list[InputFile], int]:
    """The watch files in the zip at ``path`` (nested zips opened) and how many other
    members it has. A zip that cannot be opened is itself one input (reading it says why)."""
    inputs: list[InputFile] = []
    other = _list_zip(reader, path, (), max_bytes, inputs)
    return inputs, other


def _list_zip(
    reader: ArchiveReader,
    path: str,
    chain: tuple[Member, ...],
    max_bytes: int,
    inputs: list[InputFile],
) -> int:
    try:
        zf = reader.zip_at(path, chain)
    except Exception:  # noqa: BLE001 -- reading it as an input says why (or reports the bug)
        inputs.append(InputFile(path, chain, max_bytes))
        return 0
    other = 0
    for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
        if info.is_dir():
            continue
        member = (*chain, Member(info.filename, info.header_offset))
        kind = classify(info.filename)
        if unsafe_name(info.filename) is not None or kind in ("watch", "unsupported"):
            inputs.append(InputFile(path, member, max_bytes))  # an unsafe name: refused
        elif kind == "zip" and len(member) < MAX_NESTING:
            other += _list_zip(reader, path, member, max_bytes, inputs)
        elif kind == "zip":
            inputs.append(InputFile(path, member, max_bytes))  # too deep: refused
        else:
            other += 1
    return other


Lister = Callable[[ArchiveReader, str], tuple[list[InputFile], int]]
"""Lists an archive: its watch-file inputs and how many other members it has."""


def find_inputs(
    paths: Iterable[Path],
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    lister: Lister | None = None,
) -> Found:
    """The inputs under ``paths``: watch files, in folders and in zip archives.

    ``lister``: how an archive is listed (the nightly scan's knows unchanged archives).
    """
    paths = list(paths)
    found = Found()
    per_path: dict[Path, list[int]] = {}  # given -> [inputs, passed over]
    with ArchiveReader() as reader:
        for given, f, explicit in walk_paths(paths):
            counts = per_path.setdefault(given, [0, 0])
            kind = classify(f.name if explicit else str(f.relative_to(given)))
            if kind == "zip":
                if lister is None:
                    inputs, other = list_archive(reader, str(f), max_bytes)
                else:
                    inputs, other = lister(reader, str(f))
                found.archives[str(f)] = ArchiveTally(str(f), len(inputs), other)
            elif kind != "other" or explicit:
                inputs, other = [InputFile(str(f), (), max_bytes)], 0
            else:
                inputs, other = [], 1
            found.inputs.extend(inputs)
            found.passed_over += other
            counts[0] += len(inputs)
            counts[1] += other
    found.empty = [(str(p), c[1]) for p, c in per_path.items() if c[0] == 0]
    found.empty += [(str(p), 0) for p in paths if p not in per_path]
    return found
