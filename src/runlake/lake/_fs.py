"""Where a lake lives: a local folder, or a prefix on S3-compatible object storage.

The store stage does all of its file work through a :class:`LakeFS`, so the commit
protocol (a batch's parts staged, its manifest written: the commit, the parts published)
is the same on both:

- :class:`LocalFS` writes each file under a temporary dot-name and renames it into place
  (POSIX ``rename`` is atomic), fsyncs, and serialises writers with ``flock``. A batch's
  parts are *staged* under ``.<name>.staged.tmp`` (a name no reader of the folders reads:
  not DuckDB's ``*.parquet`` glob, not pyarrow, not polars' ``**/*.parquet``) and
  *published* (renamed to their names) only after the batch's manifest is written.
- :class:`ObjectFS` (``s3://bucket/prefix``, through s3fs) needs no temporary names: an
  object appears whole when its upload completes, or not at all; there is no rename, so a
  part is uploaded under its name when it is staged (visible to a reader listing the
  prefixes before the manifest; runlake's views list only committed parts). Writers are
  serialised by a lease object ``.writer.lock`` created with a conditional put
  (``If-None-Match: *``), renewed by a heartbeat and taken over only when it has expired,
  with ``If-Match`` on the ETag that was seen expired (so two waiting writers cannot both
  take it over).

Relative paths (``"records/athlete=a/year=2024/part-x.parquet"``) name files inside the
lake; :meth:`LakeFS.uri` turns one into what DuckDB and messages show. Credentials and the
endpoint of an object store come from the usual AWS settings (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for a non-AWS server, ``~/.aws``...).
"""

from __future__ import annotations

import fcntl
import glob
import json
import math
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

from runlake._errors import ConfigError, LakeBusy, LakeError

__all__ = [
    "LOCK_NAME",
    "STAGED_SUFFIX",
    "LakeFS",
    "LakeLocation",
    "LocalFS",
    "ObjectFS",
    "is_url",
    "open_fs",
    "write_parquet_atomic",
]

LakeLocation = str | os.PathLike[str]
"""A lake folder (path) or an object-storage URL such as ``s3://bucket/lake``."""

LOCK_NAME = ".writer.lock"
"""The writer lock in the lake (a dot-name: no glob of the views reads it)."""

_TEMP_SUFFIXES = (".tmp", ".tmp.wal")
STAGED_SUFFIX = ".staged.tmp"
"""A staged part of a local lake is ``.<part name>.staged.tmp`` beside its final name."""


def staged_rel(rel: str) -> str:
    """The staged name of the part ``rel`` (a dot-name in the same folder)."""
    folder, _, name = rel.rpartition("/")
    return f"{folder}/.{name}{STAGED_SUFFIX}" if folder else f".{name}{STAGED_SUFFIX}"


def unstaged_rel(rel: str) -> str:
    """The final name of the staged part ``rel``."""
    folder, _, name = rel.rpartition("/")
    final = name.removeprefix(".").removesuffix(STAGED_SUFFIX)
    return f"{folder}/{final}" if folder else final


_URL_RE = re.compile(r"([a-z][a-z0-9+.\-]*)://(.*)", re.IGNORECASE | re.DOTALL)
_PARQUET_COMPRESSION = "zstd"
# A small dictionary page: columns with many distinct values (times, positions, distances)
# fall back to plain encoding early, which writes ~25 % faster and compresses better than a
# 1 MB dictionary does (measured on the 5-year lake).
_DICTIONARY_PAGESIZE = 64 << 10


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns written with a dictionary: strings (ids, names, enums). Numbers are
    written plain: measured on the corpus's records, a dictionary tried on every float
    column (and dropped at 64 KiB) cost 20-30 % more CPU and gave 12 % larger files."""
    import pyarrow as pa  # noqa: PLC0415 -- readers of the lake's layout start without it

    return [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or pa.types.is_binary(f.type)
        or pa.types.is_dictionary(f.type)
    ]


def is_url(location: LakeLocation) -> bool:
    """True when ``location`` is a URL (``scheme://...``) rather than a folder path."""
    return isinstance(location, str) and _URL_RE.fullmatch(location) is not None


def open_fs(location: LakeLocation | LakeFS) -> LakeFS:
    """The :class:`LakeFS` of a folder path, a ``file://`` URL or an ``s3://`` URL."""
    if isinstance(location, LakeFS):
        return location
    if isinstance(location, str):
        m = _URL_RE.fullmatch(location)
        if m is not None:
            scheme = m.group(1).lower()
            if scheme == "file":
                return LocalFS(Path(m.group(2)))
            if scheme in ("s3", "s3a"):
                return ObjectFS(m.group(2))
            raise LakeError(
                f"lake {location!r}: unsupported storage {scheme!r}:// "
                "(a folder path, file:// or s3:// are supported)"
            )
    return LocalFS(Path(location))


class LakeFS:
    """The file operations the store needs, on paths relative to the lake."""

    location: str
    """The lake as the user would write it: an absolute folder path or ``s3://...``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    @property
    def local_root(self) -> Path | None:
        """The lake folder of a local lake; None on object storage."""
        return None

    def uri(self, rel: str) -> str:
        """The full name of ``rel``: an absolute path, or ``s3://bucket/prefix/rel``."""
        raise NotImplementedError

    def glob(self, pattern: str) -> list[str]:
        """Sorted relative paths of the files matching ``pattern`` (``*`` within a name)."""
        raise NotImplementedError

    def stamps(self, pattern: str) -> dict[str, str]:
        """The files matching ``pattern`` (as :meth:`glob`), each with a stamp that changes
        when the file is replaced: its size and modification time, or the object's ETag."""
        raise NotImplementedError

    def exists(self, rel: str) -> bool:
        raise NotImplementedError

    def read_bytes(self, rel: str) -> bytes:
        """The content of ``rel``; ``FileNotFoundError`` when it is missing."""
        raise NotImplementedError

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Replace ``rel`` with ``data`` at once: readers see the old content or the new."""
        raise NotImplementedError

    def write_parquet(self, table: pa.Table, rel: str, *, sync: bool = True) -> None:
        """Write ``table`` (zstd) to ``rel`` at once; ``sync=False``: see :meth:`sync`."""
        raise NotImplementedError

    def write_parquets(self, items: list[tuple[pa.Table, str]]) -> None:
        """Write several files, each at once as :meth:`write_parquet` does, all durable when
        this returns."""
        for table, rel in items:
            self.write_parquet(table, rel)

    def sync(self, rels: list[str]) -> None:
        """Make files written with ``sync=False`` durable (a no-op on object storage)."""

    stages = False
    """Whether staged parts have names of their own (a local lake) or are written under
    their final names (object storage)."""

    def stage_parquet(self, table: pa.Table, rel: str) -> str:
        """Write the part ``rel`` of a batch not committed yet, where no reader of the
        folders reads it; returns the name written (fsync it with :meth:`sync`)."""
        self.write_parquet(table, rel, sync=False)
        return rel

    def publish(self, rels: list[str]) -> None:
        """Give staged parts their names (``rels``: the final names), durably."""

    def delete(self, rel: str) -> None:
        """Remove ``rel``; a missing file is fine."""
        raise NotImplementedError

    _arrow_fs: Any = None
    """The file system pyarrow reads through (None: local paths)."""

    def _path(self, rel: str) -> str:
        """``rel`` as pyarrow names it on :attr:`_arrow_fs`."""
        raise NotImplementedError

    def dataset(
        self,
        rels: list[str],
        *,
        partitioning: ds.Partitioning,
        base: str,
        schema: pa.Schema | None = None,
    ) -> ds.Dataset:
        """A pyarrow dataset over ``rels``, hive partitions parsed below the folder ``base``.

        ``schema``: read with it (columns a file lacks are null) instead of the first file's.
        """
        import pyarrow.dataset as ds  # noqa: PLC0415 -- 0.1 s, and pandas where installed

        return ds.dataset(
            [self._path(r) for r in rels],
            format="parquet",
            schema=schema,
            filesystem=self._arrow_fs,
            partitioning=partitioning,
            partition_base_dir=self._path(base),
        )

    def read_parquet(self, rel: str, columns: list[str] | None = None) -> pa.Table:
        import pyarrow.parquet as pq  # noqa: PLC0415 -- see _dictionary_columns

        if self._arrow_fs is None:  # a local file: no dataset machinery (pq.read_table's)
            return pq.ParquetFile(self._path(rel)).read(columns=columns)
        return pq.read_table(self._path(rel), columns=columns, filesystem=self._arrow_fs)

    def lock(
        self,
        *,
        holder: str,
        timeout_s: float | None,
        on_wait: Callable[[str], None] | None,
        poll_s: float,
    ) -> AbstractContextManager[None]:
        """Hold the lake's writer lock (see :func:`runlake.lake._store.writer_lock`)."""
        raise NotImplementedError

    def cleanup_temp(self, max_age_s: float) -> int:
        """Remove temporary files older than ``max_age_s``; returns how many."""
        return 0

    def register(self, con: Any) -> None:
        """Let a DuckDB connection read this lake's files (by :meth:`uri` names)."""


# --------------------------------------------------------------------------- local


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    fd = os.open(folder, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _each(fn: Callable[[Path], None], paths: list[Path]) -> None:
    """``fn`` on every path, from several threads: fsyncs issued together complete together
    (the file system commits them in one journal transaction; measured here 3-5x less wall
    time than one after another), and each is still done before this returns."""
    if len(paths) < 2:
        for p in paths:
            fn(p)
        return
    with ThreadPoolExecutor(min(len(paths), _SYNC_THREADS)) as pool:
        list(pool.map(fn, paths))


_SYNC_THREADS = 16


def _write_parquet_file(table: pa.Table, fh: Any) -> None:
    import pyarrow.parquet as pq  # noqa: PLC0415 -- see _dictionary_columns

    pq.write_table(
        table,
        fh,
        compression=_PARQUET_COMPRESSION,
        dictionary_pagesize_limit=_DICTIONARY_PAGESIZE,
        use_dictionary=_dictionary_columns(table.schema),
    )


def _temp_beside(path: Path) -> tuple[Path, int]:
    """A new ``.<name>.<random>.tmp`` in ``path``'s folder (made if missing), open for
    writing: O_EXCL, never someone else's file; mode 0o666 lets the umask decide."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def _write_atomic(path: Path, write: Callable[[Any], None], *, sync: bool) -> None:
    folder = path.parent
    tmp, fd = _temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        _fsync_dir(folder)


def write_parquet_atomic(table: pa.Table, path: Path, *, sync: bool = True) -> None:
    """Write ``table`` to ``path`` (zstd) so that readers see the old file or the new, never a part.

    The data goes to ``.<name>.<random>.tmp`` in the same folder (created if missing),
    is flushed and fsynced, then ``os.replace``-d over ``path`` and the folder is fsynced
    (``sync=False`` leaves the fsyncs to the caller, who syncs a whole batch at once).
    On any failure the temporary file is removed and the exception re-raised; an existing
    ``path`` is left as it was.
    """
    _write_atomic(Path(path), lambda fh: _write_parquet_file(table, fh), sync=sync)


class LocalFS(LakeFS):
    """A lake folder on a local (POSIX) file system."""

    def __init__(self, root: Path) -> None:
        root = Path(root).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise LakeError(f"lake root {str(root)!r} exists and is not a folder")
        self._root = root
        self.location = str(root)

    @property
    def local_root(self) -> Path:
        return self._root

    def _ensure(self) -> None:
        try:
            self._root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LakeError(f"cannot create lake root {self.location!r}: {exc}") from exc

    def uri(self, rel: str) -> str:
        return str(self._root / rel)

    def glob(self, pattern: str) -> list[str]:
        # glob.glob on scandir: 5-10x faster than Path.glob, which every query's freshness
        # check paid per file of the lake (0.6 s of 0.85 s with 1,400 files). Dot-names
        # (staged parts) match as Path.glob matches them.
        found = glob.glob(pattern, root_dir=self._root, include_hidden=True)
        return sorted(p.replace(os.sep, "/") for p in found)

    def stamps(self, pattern: str) -> dict[str, str]:
        out = {}
        for rel in self.glob(pattern):
            try:
                st = os.stat(self._root / rel)
            except FileNotFoundError:  # removed since it was listed
                continue
            out[rel] = f"{st.st_size}:{st.st_mtime_ns}"
        return out

    def exists(self, rel: str) -> bool:
        return (self._root / rel).exists()

    def read_bytes(self, rel: str) -> bytes:
        return (self._root / rel).read_bytes()

    def write_bytes(self, rel: str, data: bytes) -> None:
        _write_atomic(self._root / rel, lambda fh: fh.write(data), sync=False)

    def write_parquet(self, table: pa.Table, rel: str, *, sync: bool = True) -> None:
        write_parquet_atomic(table, self._root / rel, sync=sync)

    def write_parquets(self, items: list[tuple[pa.Table, str]]) -> None:
        """Each file as :func:`write_parquet_atomic` writes it (temporary name, fsync,
        rename, fsync of the folder), the fsyncs of all the files together."""
        tmps: list[tuple[Path, Path]] = []
        try:
            for table, rel in items:
                path = self._root / rel
                tmp, fd = _temp_beside(path)
                tmps.append((tmp, path))
                with os.fdopen(fd, "wb") as fh:
                    _write_parquet_file(table, fh)
            _each(_fsync_file, [tmp for tmp, _ in tmps])
            while tmps:  # each file is whole on disk before its name points at it
                tmp, path = tmps[0]
                os.replace(tmp, path)
                tmps.pop(0)
        except BaseException:
            for tmp, _ in tmps:
                tmp.unlink(missing_ok=True)
            raise
        _each(_fsync_dir, sorted({(self._root / rel).parent for _, rel in items}))

    stages = True

    def stage_parquet(self, table: pa.Table, rel: str) -> str:
        staged = staged_rel(rel)
        path = self._root / staged
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_TRUNC: a staged part left by a killed writer of the same batch name is redone
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                _write_parquet_file(table, fh)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return staged

    def publish(self, rels: list[str]) -> None:
        folders: set[Path] = set()
        for rel in rels:
            target = self._root / rel
            os.replace(self._root / staged_rel(rel), target)
            folders.add(target.parent)
        _each(_fsync_dir, sorted(folders))

    def sync(self, rels: list[str]) -> None:
        paths = [self._root / rel for rel in rels]
        _each(_fsync_file, paths)
        _each(_fsync_dir, sorted({p.parent for p in paths}))

    def delete(self, rel: str) -> None:
        (self._root / rel).unlink(missing_ok=True)

    def _path(self, rel: str) -> str:
        return str(self._root / rel)

    def lock(
        self,
        *,
        holder: str,
        timeout_s: float | None,
        on_wait: Callable[[str], None] | None,
        poll_s: float,
    ) -> AbstractContextManager[None]:
        self._ensure()
        return _flock(
            self._root, holder=holder, timeout_s=timeout_s, on_wait=on_wait, poll_s=poll_s
        )

    def cleanup_temp(self, max_age_s: float) -> int:
        cutoff = time.time() - max_age_s
        removed = 0
        for dirpath, _dirnames, filenames in os.walk(self._root):
            for fname in filenames:
                if not fname.startswith(".") or not fname.endswith(_TEMP_SUFFIXES):
                    continue
                if fname.endswith(STAGED_SUFFIX):  # a batch's part: Lake.recover decides
                    continue
                p = Path(dirpath) / fname
                try:
                    if p.stat().st_mtime < cutoff:
                        p.unlink()
                        removed += 1
                except FileNotFoundError:  # another cleaner or its writer got there first
                    continue
        return removed

    def register(self, con: Any) -> None:
        # Relative names resolve against the lake folder (the catalog stores them relative).
        quoted = "'" + str(self._root).replace("'", "''") + "'"
        con.execute(f"set file_search_path = {quoted}")


@contextmanager
def _flock(
    root: Path,
    *,
    holder: str,
    timeout_s: float | None,
    on_wait: Callable[[str], None] | None,
    poll_s: float,
) -> Iterator[None]:
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:

        def try_once() -> dict[str, Any] | None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_json(path.read_bytes) or {"holder": "another process"}
            return None

        _wait_for_lock(try_once, str(root), timeout_s=timeout_s, on_wait=on_wait, poll_s=poll_s)
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


def _wait_for_lock(
    try_once: Callable[[], dict[str, Any] | None],
    where: str,
    *,
    timeout_s: float | None,
    on_wait: Callable[[str], None] | None,
    poll_s: float,
) -> None:
    """Call ``try_once`` until it returns None (got the lock) or ``timeout_s`` passes.

    ``try_once`` returns the holder's note when the lock is taken (``{}``: try again at
    once, it was just released). ``on_wait`` is told once who holds it.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    told = False
    while (info := try_once()) is not None:
        if not info:
            continue
        who = _describe_holder(info)
        if deadline is not None and time.monotonic() >= deadline:
            raise LakeBusy(
                f"the lake {where!r} is being written by {who}; "
                f"gave up after waiting {timeout_s:g} s"
            )
        if on_wait is not None and not told:
            on_wait(f"waiting for the lake's writer lock, held by {who}")
            told = True
        time.sleep(poll_s)


def _read_json(read: Callable[[], bytes]) -> dict[str, Any] | None:
    try:
        info = json.loads(read() or b"{}")
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _describe_holder(info: dict[str, Any] | None) -> str:
    if not info or "pid" not in info:
        return "another process"
    since = time.strftime("%H:%M:%S", time.localtime(float(info.get("since", 0))))
    host = f" on {info['host']}" if info.get("host") else ""
    return f"{info.get('holder', 'a writer')} (pid {info['pid']}{host}, since {since})"


# --------------------------------------------------------------------------- object storage


LEASE_S = 30.0
"""How long an object-storage writer lock lives without a heartbeat (a killed writer's lock
is taken over this long after its last renewal)."""


def _lease_from_env() -> float:
    raw = os.environ.get("RUNLAKE_S3_LEASE_S")
    if raw is None:
        return LEASE_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"RUNLAKE_S3_LEASE_S={raw!r}: expected a number of seconds > 0")
    return value


def _s3fs() -> Any:
    try:
        import s3fs  # noqa: PLC0415 - optional dependency, only for s3:// lakes
    except ImportError as exc:
        raise LakeError(
            "an s3:// lake needs the s3 extra: pip install 'runlake[s3]' (s3fs)"
        ) from exc
    return s3fs


class ObjectFS(LakeFS):
    """A lake under ``s3://bucket/prefix`` on S3 or an S3-compatible server."""

    def __init__(self, path: str, *, lease_s: float | None = None) -> None:
        path = path.strip("/")
        bucket, _, prefix = path.partition("/")
        if not bucket or "," in path or any(p in ("", ".", "..") for p in path.split("/")):
            raise LakeError(f"lake 's3://{path}': expected s3://bucket[/prefix]")
        self._bucket = bucket
        self._prefix = prefix
        self._base = path
        self.location = f"s3://{path}"
        self.lease_s = _lease_from_env() if lease_s is None else lease_s
        # A fresh instance: no listings cache (another writer's files must be seen) and
        # no instance shared with code that might have cached listings.
        self._fs: Any = _s3fs().S3FileSystem(skip_instance_cache=True, use_listings_cache=False)
        self._arrow_fs = self._fs
        self._checked = False

    def _key(self, rel: str) -> str:
        return f"{self._base}/{rel}"

    def uri(self, rel: str) -> str:
        return f"s3://{self._key(rel)}"

    def _io(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (FileNotFoundError, FileExistsError):
            raise
        except PermissionError as exc:
            raise LakeError(f"{self.location}: {what}: access denied ({exc})") from exc
        except OSError as exc:
            raise LakeError(f"{self.location}: {what}: {exc}") from exc

    def check(self) -> None:
        """Raise :class:`LakeError` unless the bucket exists and can be listed (asked once)."""
        if self._checked:
            return
        try:
            ok = self._io("bucket", lambda: self._fs.exists(self._bucket))
        except FileNotFoundError:
            ok = False
        if not ok:
            raise LakeError(f"{self.location}: the bucket {self._bucket!r} does not exist")
        self._checked = True

    def glob(self, pattern: str) -> list[str]:
        found = self._io(f"listing {pattern}", lambda: self._fs.glob(self._key(pattern)))
        n = len(self._base) + 1
        return sorted(str(k)[n:] for k in found)

    def stamps(self, pattern: str) -> dict[str, str]:
        found = self._io(
            f"listing {pattern}", lambda: self._fs.glob(self._key(pattern), detail=True)
        )
        n = len(self._base) + 1
        return {
            str(k)[n:]: str(info.get("ETag") or f"{info.get('size')}:{info.get('LastModified')}")
            for k, info in sorted(found.items())
        }

    def exists(self, rel: str) -> bool:
        return bool(self._io(f"checking {rel}", lambda: self._fs.exists(self._key(rel))))

    def read_bytes(self, rel: str) -> bytes:
        return bytes(self._io(f"reading {rel}", lambda: self._fs.cat_file(self._key(rel))))

    def write_bytes(self, rel: str, data: bytes) -> None:
        self._io(f"writing {rel}", lambda: self._fs.pipe_file(self._key(rel), data))

    def write_parquet(self, table: pa.Table, rel: str, *, sync: bool = True) -> None:
        # Serialise in memory, then one upload: the object exists whole or not at all
        # (a writer that fails half-way must not close a partial upload into an object).
        import pyarrow as pa  # noqa: PLC0415 -- see _dictionary_columns

        sink = pa.BufferOutputStream()
        _write_parquet_file(table, sink)
        self.write_bytes(rel, sink.getvalue().to_pybytes())

    def delete(self, rel: str) -> None:
        try:
            self._io(f"deleting {rel}", lambda: self._fs.rm_file(self._key(rel)))
        except FileNotFoundError:
            return

    def _path(self, rel: str) -> str:
        return self._key(rel)

    def read_parquet(self, rel: str, columns: list[str] | None = None) -> pa.Table:
        return self._io(f"reading {rel}", lambda: super(ObjectFS, self).read_parquet(rel, columns))

    def register(self, con: Any) -> None:
        con.register_filesystem(self._fs)

    # -- the writer lock: a lease object

    def _s3(self, op: str, **kw: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._fs.call_s3(op, Bucket=self._bucket, **kw)
        return result

    def _lock_key(self) -> str:
        return f"{self._prefix}/{LOCK_NAME}" if self._prefix else LOCK_NAME

    def put_lease(self, holder: str, **condition: str) -> str:
        """Write ``holder``'s lease on the lock under ``condition`` (``IfNoneMatch="*"``
        or ``IfMatch=<etag>``); returns its ETag. An ``OSError`` when refused
        (:func:`_lost_race` tells) or failed."""
        body = self._lease(holder)
        got = self._s3("put_object", Key=self._lock_key(), Body=body, **condition)
        return str(got["ETag"])

    def _lease(self, holder: str) -> bytes:
        now = time.time()
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "holder": holder,
            "since": now,
            "expires": now + self.lease_s,
        }
        return json.dumps(info).encode()

    def _try_acquire(self, holder: str) -> tuple[str | None, dict[str, Any] | None]:
        """(our ETag, None) when we got the lock, else (None, the holder's lease)."""
        try:
            return self.put_lease(holder, IfNoneMatch="*"), None
        except OSError as exc:
            if not _lost_race(exc):
                raise LakeError(f"{self.location}: cannot take the writer lock: {exc}") from exc
        # The ETag first, then the content: if the lease changes in between, the
        # conditional put below fails on the older ETag and nothing is taken over.
        try:
            etag = str(self._s3("head_object", Key=self._lock_key())["ETag"])
            body = bytes(self._fs.cat_file(self._key(LOCK_NAME)))
        except FileNotFoundError:
            return None, {}  # released meanwhile: try again at once
        info = _read_json(lambda: body) or {}
        if float(info.get("expires", 0)) < time.time():
            # Expired: replace exactly the lease we saw (If-Match), so of two writers that
            # saw it expire only one wins.
            try:
                return self.put_lease(holder, IfMatch=etag), None
            except OSError as exc:
                if not _lost_race(exc):
                    raise LakeError(f"{self.location}: cannot take the writer lock: {exc}") from exc
                return None, {}
        return None, info

    @contextmanager
    def lock(
        self,
        *,
        holder: str,
        timeout_s: float | None,
        on_wait: Callable[[str], None] | None,
        poll_s: float,
    ) -> Iterator[None]:
        self.check()
        got: list[str] = []

        def try_once() -> dict[str, Any] | None:
            etag, info = self._try_acquire(holder)
            if etag is None:
                return info
            got.append(etag)
            return None

        # Each try is a request or two: not more often than every 50 ms.
        _wait_for_lock(
            try_once, self.location, timeout_s=timeout_s, on_wait=on_wait, poll_s=max(poll_s, 0.05)
        )
        beat = _Heartbeat(self, holder, got[0])
        beat.start()
        try:
            yield
        finally:
            etag = beat.stop()
            if etag is not None:
                # Refused only when another writer took the lease over: not ours to delete.
                with suppress(OSError):
                    self._s3("delete_object", Key=self._lock_key(), IfMatch=etag)
        if beat.lost:
            raise LakeBusy(
                f"the lake {self.location!r}: this writer's lease on the lock lapsed "
                "(no heartbeat for longer than the lease) and another writer took it over"
            )


def _lost_race(exc: BaseException) -> bool:
    """True when a conditional write on the lock lost to another writer's.

    S3 answers 412 Precondition Failed (s3fs raises an ``OSError``), or 409
    ConditionalRequestConflict for two conditional writes at once; a lock deleted
    meanwhile is a ``FileNotFoundError``.
    """
    if isinstance(exc, FileNotFoundError):
        return True
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (
            409,
            412,
        )
    return isinstance(exc, FileExistsError)


class _Heartbeat(threading.Thread):
    """Renews an object-storage lease every third of its length while the lock is held."""

    def __init__(self, fs: ObjectFS, holder: str, etag: str) -> None:
        super().__init__(name="runlake-lease", daemon=True)
        self._fs = fs
        self._holder = holder
        self._etag: str | None = etag
        self._halt = threading.Event()
        self._guard = threading.Lock()
        self.lost = False

    def run(self) -> None:
        while not self._halt.wait(self._fs.lease_s / 3):
            with self._guard:
                if self._etag is None or self._halt.is_set():
                    return
                try:
                    self._etag = self._fs.put_lease(self._holder, IfMatch=self._etag)
                except OSError as exc:
                    if _lost_race(exc):
                        self.lost = True
                        self._etag = None
                        return
                    # A transient error: try again at the next beat (the lease is 3 beats).

    def stop(self) -> str | None:
        """Stop renewing; the current ETag (None when the lease was lost)."""
        self._halt.set()
        with self._guard:
            etag = self._etag
        self.join(timeout=5)
        return etag
