"""The nightly sync's scan: which inputs under some folders hold content the lake lacks.

Content is what counts (a renamed copy is not new), but hashing a whole inbox every night
would be slow: a small cache in ``<lake>/.state/scan-<athlete>.json`` remembers, for each
file, its size, modification time and sha256, so an unchanged file costs one ``stat``.
An archive's entry holds the sha256 of every watch-file member (and the count of the
others): an unchanged archive costs one ``stat`` too, and a new one is listed and its
members hashed once, streamed, in the order they lie in it. A member that cannot be read
is known by the sha256 of its bytes as stored (what ingest commits it under).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runlake._errors import ArchiveError, InputTooLarge
from runlake.ingest._archives import DEFAULT_MAX_FILE_BYTES, ArchiveReader, InputFile, Member
from runlake.ingest._inputs import ArchiveTally, find_inputs, list_archive, tally_outcomes
from runlake.lake._store import Lake, validate_athlete

__all__ = ["Scan", "new_files", "scan_inputs"]


@dataclass(frozen=True, slots=True)
class Scan:
    """What :func:`scan_inputs` found: the inputs to ingest, out of ``found`` inputs."""

    todo: list[InputFile]
    found: int
    archives: dict[str, ArchiveTally] = field(default_factory=dict)
    """Per archive: its watch files, the other members, and (``present``) those whose
    content the lake has already."""
    notes: list[str] = field(default_factory=list)
    """A line per folder given that holds no watch file."""
    passed_over: int = 0
    """Files and members that are not watch files."""

    @property
    def present(self) -> int:
        """Inputs whose content the lake has already (or another input has)."""
        return self.found - len(self.todo)

    def archive_tallies(self, outcomes: Iterable[Any]) -> list[ArchiveTally]:
        """Per archive, with what became of its members to do (FileOutcomes or dicts)."""
        return tally_outcomes(self.archives, outcomes)


def identify(reader: ArchiveReader, inp: InputFile) -> str | None:
    """The key an input is committed under: the sha256 of its content, or of its bytes as
    stored when it cannot be read (a damaged member, a bomb); None when the disk fails."""
    try:
        return reader.sha256(inp)
    except (ArchiveError, InputTooLarge):
        try:
            return reader.stored_sha256(inp)[0]
        except (OSError, ArchiveError):
            return None
    except Exception:  # noqa: BLE001 -- the disk, or a bug: ingest reports it
        return None


def _stat_key(f: Path) -> tuple[str, int, int] | None:
    try:
        st = f.stat()
    except OSError:
        return None
    return str(f.resolve()), st.st_size, st.st_mtime_ns


def _entry_members(entry: object) -> tuple[list[tuple[list[Member], str | None]], int] | None:
    """The members and other-count of a cached archive entry (None if malformed)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("o"), int):
        return None
    members = entry.get("m")
    if not isinstance(members, list):
        return None
    out = []
    for item in members:
        chain, sha = item
        out.append(([Member(str(n), int(o)) for n, o in chain], sha))
    return out, int(entry["o"])


class _Scanner:
    def __init__(self, cache: dict[str, Any], max_bytes: int) -> None:
        self.cache = cache
        self.fresh: dict[str, list[object]] = {}
        self.max_bytes = max_bytes
        self.shas: dict[InputFile, str | None] = {}  # of archive members

    def list_archive(self, reader: ArchiveReader, path: str) -> tuple[list[InputFile], int]:
        """An archive's inputs: from the cache when it is unchanged, else listed and hashed."""
        key = _stat_key(Path(path))
        entry = self.cache.get(key[0]) if key is not None else None
        if key is not None and isinstance(entry, list) and entry[:2] == [key[1], key[2]]:
            try:
                cached = _entry_members(entry[2])
            except (TypeError, ValueError):
                cached = None
            if cached is not None:
                members, other = cached
                inputs = [InputFile(path, tuple(chain), self.max_bytes) for chain, _ in members]
                self.shas.update(zip(inputs, (sha for _, sha in members), strict=True))
                self.fresh[key[0]] = entry
                return inputs, other
        inputs, other = list_archive(reader, path, self.max_bytes)
        shas = [identify(reader, inp) for inp in inputs]
        self.shas.update(zip(inputs, shas, strict=True))
        if key is not None:
            listing = [
                [[list(m) for m in inp.members], sha] for inp, sha in zip(inputs, shas, strict=True)
            ]
            self.fresh[key[0]] = [key[1], key[2], {"m": listing, "o": other}]
        return inputs, other

    def sha(self, reader: ArchiveReader, inp: InputFile) -> str | None:
        """The key of an input: an archive member's from its listing, a file's by stat."""
        if inp in self.shas:
            return self.shas[inp]
        key = _stat_key(Path(inp.path))
        if key is None:
            return None  # ingest reports why it cannot be read
        entry = self.cache.get(key[0])
        if isinstance(entry, list) and len(entry) == 3 and entry[:2] == [key[1], key[2]]:
            sha = entry[2] if isinstance(entry[2], str) else None
        else:
            sha = identify(reader, inp)
        if sha is not None:
            self.fresh[key[0]] = [key[1], key[2], sha]
        return sha


def scan_inputs(
    paths: Iterable[Path],
    *,
    lake: Lake,
    athlete: str,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Scan:
    """The inputs under ``paths`` (files, archive members), and those new for ``athlete``.

    An input whose key (:func:`identify`) the lake has, or another input of this scan has,
    is not to do. Inputs that cannot be read are to do: ingest reports them.
    """
    athlete = validate_athlete(athlete)
    cache: dict[str, Any] = lake.read_state(f"scan-{athlete}") or {}
    scanner = _Scanner(cache, max_file_bytes)
    found = find_inputs(paths, max_bytes=max_file_bytes, lister=scanner.list_archive)
    todo: list[InputFile] = []
    seen: set[str] = set()
    with ArchiveReader() as reader:
        for inp in found.inputs:
            sha = scanner.sha(reader, inp)
            if sha is None or (sha not in seen and not lake.is_ingested(athlete, sha)):
                todo.append(inp)
            elif inp.archive is not None:
                found.archives[inp.archive].present += 1
            if sha is not None:
                seen.add(sha)
    if scanner.fresh != cache:
        lake.write_state(f"scan-{athlete}", scanner.fresh)
    return Scan(todo, len(found.inputs), found.archives, found.notes(), found.passed_over)


def new_files(paths: Iterable[Path], *, lake: Lake, athlete: str) -> list[InputFile]:
    """The inputs under ``paths`` whose content the lake does not have yet, for ``athlete``."""
    return scan_inputs(paths, lake=lake, athlete=athlete).todo
