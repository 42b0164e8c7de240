"""The store stage: atomic Parquet writes into a hive-partitioned lake folder.

Layout (one Parquet file per ingested source file and table, named by the source file's
sha256, so writing the same file again replaces identical files instead of duplicating rows)::

    <lake>/activities/athlete=<a>/year=<y>/<sha256>.parquet
    <lake>/laps/athlete=<a>/year=<y>/<sha256>.parquet
    <lake>/records/athlete=<a>/year=<y>/<sha256>.parquet
    <lake>/ingest_errors/athlete=<a>/<sha256>.parquet
    <lake>/files/athlete=<a>/<sha256>.parquet      # commit marker, written last

The partition columns (``athlete``, ``year``) live only in the folder names.  Every file is
written to a dot-named temporary file ending in ``.tmp`` (DuckDB's ``*.parquet`` glob matches
dot-files, so the temporary name must not end in ``.parquet``), fsynced, and renamed over
the target.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from runlake._errors import LakeBusy, LakeError
from runlake._schemas import TABLES

__all__ = [
    "DATA_TABLES",
    "LOCK_NAME",
    "PARTITIONED_BY_YEAR",
    "Lake",
    "conform",
    "list_athletes",
    "validate_athlete",
    "write_parquet_atomic",
    "writer_lock",
]

LOCK_NAME = ".writer.lock"
"""The writer lock file in the lake folder (a dot-file: no glob of the views reads it)."""

DATA_TABLES: tuple[str, ...] = ("activities", "laps", "records")
"""Tables partitioned by athlete and year, written by :meth:`Lake.commit` from ``tables``."""

PARTITIONED_BY_YEAR: frozenset[str] = frozenset(DATA_TABLES)
"""Tables with a ``year=<y>`` folder level under ``athlete=<a>`` (the others have none)."""

_ATHLETE_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}", re.ASCII)
_SHA256_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_TEMP_SUFFIXES = (".tmp", ".tmp.wal")


def validate_athlete(name: str) -> str:
    """Return ``name`` if it is a usable athlete name, else raise :class:`LakeError`.

    Rule: 1-64 ASCII letters, digits, ``_``, ``.`` or ``-``; not starting with ``.``;
    no ``..``.  (So no path separators, no ``=``, nothing a shell or a glob would expand.)
    """
    rule = (
        "athlete names are 1-64 ASCII letters, digits, '_', '.' or '-', "
        "must not start with '.' and must not contain '..'"
    )
    if (
        not isinstance(name, str)
        or _ATHLETE_RE.fullmatch(name) is None
        or name.startswith(".")
        or ".." in name
    ):
        raise LakeError(f"invalid athlete name {name!r}: {rule}")
    return name


def _validate_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or _SHA256_RE.fullmatch(sha256) is None:
        raise LakeError(f"invalid sha256 {sha256!r}: expected 64 lower-case hex digits")
    return sha256


def _fsync_dir(folder: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    fd = os.open(folder, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` (zstd) so that readers see the old file or the new, never a part.

    The data goes to ``.<name>.<random>.tmp`` in the same folder (created if missing),
    is flushed and fsynced, then ``os.replace``-d over ``path`` and the folder is fsynced.
    On any failure the temporary file is removed and the exception re-raised; an existing
    ``path`` is left as it was.
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never write into someone else's file; mode 0o666 lets the umask decide.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)


def conform(table: pa.Table, schema: pa.Schema, *, name: str = "table") -> pa.Table:
    """Return ``table`` with exactly ``schema``'s columns, in order, cast to its types.

    A missing column becomes all nulls; an extra column raises ``ValueError`` (the contract
    is strict), as does a cast that would lose information (``pyarrow.ArrowInvalid`` is a
    ``ValueError``) or a time-zone-naive timestamp where the schema wants UTC.
    """
    extra = [c for c in table.column_names if schema.get_field_index(c) < 0]
    if extra:
        raise ValueError(f"{name}: columns not in the schema: {', '.join(extra)}")
    dupes = {c for c in table.column_names if table.column_names.count(c) > 1}
    if dupes:
        raise ValueError(f"{name}: duplicate columns: {', '.join(sorted(dupes))}")
    arrays: list[pa.ChunkedArray] = []
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(pa.chunked_array([pa.nulls(table.num_rows, field.type)], field.type))
            continue
        col = table.column(field.name)
        if (
            pa.types.is_timestamp(field.type)
            and field.type.tz is not None
            and pa.types.is_timestamp(col.type)
            and col.type.tz is None
        ):
            raise ValueError(
                f"{name}.{field.name}: time-zone-naive timestamps; the schema wants {field.type}"
            )
        if col.type != field.type:
            try:
                col = col.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(
                    f"{name}.{field.name}: cannot cast {col.type} to {field.type}: {exc}"
                ) from exc
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


def _athlete_dirs(root: Path) -> list[Path]:
    out: list[Path] = []
    for table in TABLES:
        tdir = root / table
        if tdir.is_dir():
            out.extend(p for p in tdir.iterdir() if p.is_dir() and p.name.startswith("athlete="))
    return out


def list_athletes(root: Path) -> list[str]:
    """Sorted names of the athletes with any data (of any table) in the lake at ``root``.

    A missing lake folder has no athletes.  Folders with invalid names are ignored.
    """
    names: set[str] = set()
    for d in _athlete_dirs(Path(root)):
        name = d.name.removeprefix("athlete=")
        try:
            names.add(validate_athlete(name))
        except LakeError:
            continue
    return sorted(names)


class Lake:
    """A lake folder.  ``Lake(root)`` creates ``root`` if it is missing."""

    def __init__(self, root: Path) -> None:
        root = Path(root).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise LakeError(f"lake root {str(root)!r} exists and is not a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LakeError(f"cannot create lake root {str(root)!r}: {exc}") from exc
        self._root = root

    def __repr__(self) -> str:
        return f"Lake({str(self._root)!r})"

    @property
    def root(self) -> Path:
        """The lake folder (absolute)."""
        return self._root

    def _dir(self, table: str, athlete: str, year: int | None = None) -> Path:
        d = self._root / table / f"athlete={athlete}"
        return d / f"year={year}" if table in PARTITIONED_BY_YEAR else d

    def _marker(self, athlete: str, sha256: str) -> Path:
        return self._dir("files", athlete) / f"{sha256}.parquet"

    def athletes(self) -> list[str]:
        """Sorted names of the athletes with any data in the lake."""
        return list_athletes(self._root)

    def is_ingested(self, athlete: str, sha256: str) -> bool:
        """True when the commit marker of ``sha256`` exists for ``athlete``."""
        validate_athlete(athlete)
        _validate_sha256(sha256)
        return self._marker(athlete, sha256).is_file()

    def ingested_hashes(self, athlete: str) -> set[str]:
        """The sha256 of every file committed for ``athlete``."""
        validate_athlete(athlete)
        d = self._dir("files", athlete)
        if not d.is_dir():
            return set()
        return {
            p.stem
            for p in d.iterdir()
            if p.suffix == ".parquet" and _SHA256_RE.fullmatch(p.stem) is not None
        }

    def commit(
        self,
        athlete: str,
        sha256: str,
        *,
        year: int | None,
        tables: Mapping[str, pa.Table],
        manifest: pa.Table,
        errors: pa.Table | None = None,
    ) -> None:
        """Store everything derived from one source file, then mark it as done.

        Order: an existing marker of ``sha256`` is removed first (so a crash in the middle
        leaves the file "not ingested" and it is redone); each non-empty table of
        ``tables`` (keys among activities, laps, records) is written under
        ``athlete=<athlete>/year=<year>``; files of the same ``sha256`` that this commit did
        not write (another year, a table now empty) are removed; then ``errors`` (when it has
        rows); then ``manifest`` (one or more FILES rows of this sha256) LAST.
        Every table is conformed to its schema first (see :func:`conform`), so a bad table
        raises ``ValueError`` before anything is written.
        """
        validate_athlete(athlete)
        _validate_sha256(sha256)
        unknown = sorted(set(tables) - set(DATA_TABLES))
        if unknown:
            raise ValueError(f"unknown data tables {unknown}; expected among {DATA_TABLES}")
        data = {
            name: conform(t, TABLES[name], name=name)
            for name, t in tables.items()
            if t.num_rows > 0
        }
        if data:
            if year is None:
                raise ValueError(f"year is required to store {sorted(data)}")
            if isinstance(year, bool) or not isinstance(year, int) or not 0 < year <= 9999:
                raise ValueError(f"year must be an int in 1..9999, got {year!r}")
        man = conform(manifest, TABLES["files"], name="manifest")
        if man.num_rows == 0:
            raise ValueError("manifest has no rows: the commit marker needs one")
        shas = set(man.column("file_sha256").to_pylist())
        if shas != {sha256}:
            raise ValueError(f"manifest file_sha256 values {sorted(map(str, shas))} != {sha256}")
        err = (
            conform(errors, TABLES["ingest_errors"], name="errors") if errors is not None else None
        )

        marker = self._marker(athlete, sha256)
        if marker.exists():
            marker.unlink()
            _fsync_dir(marker.parent)
        written: set[Path] = set()
        for name in DATA_TABLES:
            if name in data:
                target = self._dir(name, athlete, year) / f"{sha256}.parquet"
                write_parquet_atomic(data[name], target)
                written.add(target)
        for name in DATA_TABLES:
            adir = self._root / name / f"athlete={athlete}"
            if adir.is_dir():
                for old in adir.glob(f"year=*/{sha256}.parquet"):
                    if old not in written:
                        old.unlink()
        err_path = self._dir("ingest_errors", athlete) / f"{sha256}.parquet"
        if err is not None and err.num_rows > 0:
            write_parquet_atomic(err, err_path)
        else:
            err_path.unlink(missing_ok=True)
        write_parquet_atomic(man, marker)

    def cleanup_temp(self, max_age_s: float = 600) -> int:
        """Remove leftover temporary files (``.*.tmp``, ``.*.tmp.wal``) older than ``max_age_s``.

        They are what a killed writer leaves behind.  Returns how many were removed.
        """
        if max_age_s < 0:
            raise ValueError(f"max_age_s must be >= 0, got {max_age_s}")
        cutoff = time.time() - max_age_s
        removed = 0
        for dirpath, _dirnames, filenames in os.walk(self._root):
            for fname in filenames:
                if not fname.startswith(".") or not fname.endswith(_TEMP_SUFFIXES):
                    continue
                p = Path(dirpath) / fname
                try:
                    if p.stat().st_mtime < cutoff:
                        p.unlink()
                        removed += 1
                except FileNotFoundError:  # another cleaner or its writer got there first
                    continue
        return removed


@contextmanager
def writer_lock(
    root: Path,
    *,
    holder: str,
    timeout_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    poll_s: float = 0.1,
) -> Iterator[None]:
    """Hold the lake's writer lock: one writer at a time (readers never need it).

    ``timeout_s=None`` waits as long as it takes, ``0`` does not wait. While it waits,
    ``on_wait`` is told once who holds the lock. Raises :class:`LakeBusy` naming the
    holder when the wait times out. The lock is an ``flock`` on ``<lake>/.writer.lock``: the
    kernel drops it when its process dies, so a killed writer never leaves the lake locked.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                who = _lock_holder(path)
                if deadline is not None and time.monotonic() >= deadline:
                    raise LakeBusy(
                        f"the lake {str(root)!r} is being written by {who}; "
                        f"gave up after waiting {timeout_s:g} s"
                    ) from None
                if on_wait is not None and not told:
                    on_wait(f"waiting for the lake's writer lock, held by {who}")
                    told = True
                time.sleep(poll_s)
        info = json.dumps({"pid": os.getpid(), "holder": holder, "since": time.time()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _lock_holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    since = time.strftime("%H:%M:%S", time.localtime(float(info.get("since", 0))))
    return f"{info.get('holder', 'a writer')} (pid {info['pid']}, since {since})"
