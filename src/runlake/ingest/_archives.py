"""Watch files inside archives: zip (nested too) and gzip, read as streams, never extracted.

An :class:`InputFile` names one watch file: a file on disk, a ``.gz`` file, or a member of
a zip archive, possibly inside other zips (``export.zip!/DI_CONNECT/Part1.zip!/x.fit``).
It pickles as the archive's path plus the chain of member names (and their offsets in their
archive), so a worker process re-opens the archive itself. :class:`ArchiveReader` reads
inputs and keeps the archives of the last one open (the members of an archive come in a
row, in the order of their offsets).

- **Nothing is written to disk**: members are read through :mod:`zipfile` and
  :mod:`gzip` streams. A nested zip is opened through its parent: a stored (uncompressed)
  one as a window on the parent's bytes, a compressed one through a seekable view that
  inflates it forward (a backward seek starts the inflation again; the last 4 MiB, where
  the central directory lives, are kept), never held in memory whole.
- **Bounded**: a member is read in chunks and refused (:class:`InputTooLarge`) as soon as
  it passes ``max_bytes``; a member whose header declares more is refused unread. Zips are
  nested at most :data:`MAX_NESTING` deep; a nested archive that inflates more than
  :data:`MAX_NESTED_RATIO` times is refused (zip-of-zips bombs), and so is an archive
  whose members overlap (the non-recursive zip bomb).
- **Hostile names** (``../x.fit``, ``/etc/x.fit``, ``C:\\x.fit``, control characters) could
  not reach outside anyway, as nothing is extracted; such members are refused with a clear
  reason rather than ingested under a misleading name.
- **Encrypted, corrupt, truncated or unsupported** members raise :class:`ArchiveError`
  naming the problem; the caller records it and goes on with the rest of the archive.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import itertools
import lzma
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, NamedTuple, Self, cast

from runlake._errors import ArchiveError, InputTooLarge

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "MAX_MEMBERS",
    "MAX_NESTED_RATIO",
    "MAX_NESTING",
    "WATCH_SUFFIXES",
    "ArchiveReader",
    "InputFile",
    "Kind",
    "Member",
    "classify",
    "unsafe_name",
]

WATCH_SUFFIXES = (".fit", ".gpx", ".tcx")
"""Watch-file formats, in any letter case, as they are or gzipped (``.fit.gz``)."""

DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
"""The default of ``ingest.max_file_bytes``: real activity files are a few MB."""

MAX_NESTING = 4
"""Zips inside zips, the outer one included (a Garmin export needs 2)."""

MAX_NESTED_RATIO = 100
"""A nested archive inflating more than this many times its stored size is refused."""

MAX_MEMBERS = 200_000
"""An archive listing more members is refused before its directory is read (zipfile would
hold every entry in memory; a Garmin export of ten years holds tens of thousands)."""

_UNSUPPORTED = {
    ".tar.gz": "tar.gz",
    ".tgz": "tar.gz",
    ".tar.bz2": "tar.bz2",
    ".tbz2": "tar.bz2",
    ".tar.xz": "tar.xz",
    ".txz": "tar.xz",
    ".tar.zst": "tar.zst",
    ".tar": "tar",
    ".7z": "7z",
    ".rar": "RAR",
}
_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_CHUNK = 1024 * 1024
_TAIL = 4 * 1024 * 1024  # the end of a compressed nested zip kept: its central directory
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length

Kind = Literal["watch", "zip", "unsupported", "other"]


def classify(name: str) -> Kind:
    """What a file or member name is: a watch file (also ``.gz``), a zip, an archive
    format runlake does not read, or anything else (JSON, CSV, images, macOS junk)."""
    lower = name.replace("\\", "/").lower()
    parts = lower.split("/")
    base = parts[-1]
    if base.startswith("._") or "__macosx" in parts:  # macOS resource forks
        return "other"
    if base.endswith(tuple(_UNSUPPORTED)):
        return "unsupported"
    stem = base.removesuffix(".gz")
    if stem.endswith(WATCH_SUFFIXES):
        return "watch"
    if base.endswith(".zip"):
        return "zip"
    return "other"


def unsafe_name(name: str) -> str | None:
    """Why a member name could point outside its archive (zip slip), or None."""
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "has control characters"
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return "is an absolute path"
    if ".." in parts:
        return "climbs out with '..'"
    return None


class Member(NamedTuple):
    """A member of a zip: its name and the offset of its header (names may repeat)."""

    name: str
    offset: int


@dataclass(frozen=True, slots=True)
class InputFile:
    """One watch file to ingest: a file, a ``.gz`` file or a member of (nested) zips.

    ``members`` is the chain of zip members from the file at ``path`` inward (each but
    the last is a zip). ``max_bytes``: the most it may inflate to
    (``ingest.max_file_bytes``).
    """

    path: str
    members: tuple[Member, ...] = ()
    max_bytes: int = field(default=DEFAULT_MAX_FILE_BYTES, compare=False)

    @classmethod
    def of(cls, x: InputFile | Path | str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> InputFile:
        return x if isinstance(x, InputFile) else cls(str(x), (), max_bytes)

    @property
    def source_path(self) -> str:
        """How it is named in the lake: ``export.zip!/activities/1.fit.gz``."""
        return self.path + "".join(f"!/{m.name}" for m in self.members)

    @property
    def archive(self) -> str | None:
        """The archive file it is a member of (None for a file on its own)."""
        return self.path if self.members else None

    @property
    def name(self) -> str:
        """Its own name (the last member's, or the file's)."""
        return self.members[-1].name if self.members else self.path

    @property
    def format_name(self) -> str:
        """Its name without ``.gz``: what the format sniffing sees (``1.fit.gz`` -> ``1.fit``)."""
        base = self.name.replace("\\", "/").rsplit("/", 1)[-1]
        return base[:-3] if base.lower().endswith(".gz") else base


@contextmanager
def _archive_errors(what: str) -> Iterator[None]:
    """Library errors of a damaged archive or stream as one :class:`ArchiveError`.

    An OSError with an errno is the disk's (permissions, I/O): it is raised as it is, so
    that the file is reported and tried again next run. One without (gzip, bz2) is data.
    """
    try:
        yield
    except (ArchiveError, InputTooLarge):
        raise
    except OSError as e:
        if e.errno is not None:
            raise
        raise ArchiveError(f"{what}: {e}") from None
    except EOFError as e:
        raise ArchiveError(f"{what}: truncated, the compressed data ends early ({e})") from None
    except (zlib.error, lzma.LZMAError) as e:
        raise ArchiveError(f"{what}: corrupt compressed data ({e})") from None
    except zipfile.BadZipFile as e:
        raise ArchiveError(f"{what}: {e}") from None
    except (ValueError, struct.error, OverflowError, NotImplementedError, RuntimeError) as e:
        raise ArchiveError(f"{what}: {type(e).__name__}: {e}") from None


def _copy_capped(stream: IO[bytes], limit: int, sink: Callable[[bytes], object]) -> int:
    """Copy ``stream`` into ``sink`` in chunks; InputTooLarge once it passes ``limit``."""
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return total
        total += len(chunk)
        if total > limit:
            raise InputTooLarge(
                f"inflates past {_mib(limit)} (ingest.max_file_bytes): refused, not read "
                "further (a decompression bomb?)",
                offset=None,
            )
        sink(chunk)


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n} bytes"


class _View(io.RawIOBase):
    """A seekable, read-only stream of ``size`` bytes; subclasses say how to read them."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size, self._pos = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos


class _Window(_View):
    """A view of ``size`` bytes of ``base`` from ``start`` (a stored zip inside a zip)."""

    def __init__(self, base: IO[bytes], start: int, size: int) -> None:
        super().__init__(size)
        self._base, self._start = base, start

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = max(0, min(len(b), self._size - self._pos))
        if n == 0:
            return 0
        self._base.seek(self._start + self._pos)
        data = self._base.read(n)
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _Inflated(_View):
    """A seekable view of a compressed zip member (a zip inside a zip), never held whole.

    Reads go forward through one member stream; a read before its position opens the
    member again. The last ``_TAIL`` bytes (the central directory zipfile reads first) are
    kept once read, so opening the nested zip and reading its members in order inflates
    it about twice.
    """

    def __init__(self, open_member: Callable[[], IO[bytes]], size: int) -> None:
        super().__init__(size)
        self._open = open_member
        self._stream: IO[bytes] | None = None
        self._at = 0  # where the stream is
        self._tail_start = max(0, size - _TAIL)
        self._tail: bytes | None = None

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``b`` as far as the member goes (never a short read before its end)."""
        want = max(0, min(len(b), self._size - self._pos))
        done = 0
        while done < want:
            if self._pos >= self._tail_start:
                data = self._tail_bytes(want - done)
            else:
                self._forward_to(self._pos)
                data = self._read(min(want - done, self._tail_start - self._pos))
            if not data:
                break
            b[done : done + len(data)] = data
            done += len(data)
            self._pos += len(data)
        return done

    def _tail_bytes(self, n: int) -> bytes:
        if self._tail is None:
            self._forward_to(self._tail_start)
            self._tail = self._read(self._size - self._tail_start)
        at = self._pos - self._tail_start
        return self._tail[at : at + n]

    def _forward_to(self, target: int) -> None:
        if self._stream is None or self._at > target:
            self._close_stream()
            self._stream, self._at = self._open(), 0
        while self._at < target:
            if not self._read(min(_CHUNK, target - self._at)):
                raise EOFError("the nested archive ends before its declared size")

    def _read(self, n: int) -> bytes:
        assert self._stream is not None
        parts = []
        while n > 0:
            chunk = self._stream.read(n)
            if not chunk:
                break
            parts.append(chunk)
            self._at += len(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        self._close_stream()
        super().close()


@dataclass(slots=True)
class _Level:
    """One open zip of a chain: the archive, the stream it reads, its members by offset."""

    key: tuple[str, tuple[Member, ...]]
    zf: zipfile.ZipFile
    stream: IO[bytes]
    infos: dict[int, zipfile.ZipInfo]


class ArchiveReader:
    """Reads :class:`InputFile` s; keeps the zips of the last one open. Use as a context."""

    def __init__(self) -> None:
        self._levels: list[_Level] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._close_from(0)

    def _close_from(self, k: int) -> None:
        for level in reversed(self._levels[k:]):
            level.zf.close()
            level.stream.close()
        del self._levels[k:]

    # -- opening zips ------------------------------------------------------------------------
    def zip_at(self, path: str, chain: Sequence[Member] = ()) -> zipfile.ZipFile:
        """The zip at ``path!/chain...`` (every member of ``chain`` a zip), opened.

        Raises ArchiveError when it (or a zip on the way) cannot be opened, OSError when
        the file cannot be read.
        """
        chain = tuple(chain)
        keep = 0
        while (
            keep < len(self._levels)
            and keep <= len(chain)
            and self._levels[keep].key == (path, chain[:keep])
        ):
            keep += 1
        self._close_from(keep)
        for depth in range(keep, len(chain) + 1):
            self._levels.append(self._open_level(path, chain, depth))
        return self._levels[len(chain)].zf

    def _open_level(self, path: str, chain: tuple[Member, ...], depth: int) -> _Level:
        if depth == 0:
            stream: IO[bytes] = open(path, "rb")  # noqa: SIM115 -- closed with its level
            what = "not a readable zip archive"
        else:
            if depth >= MAX_NESTING:
                raise ArchiveError(
                    f"zip archives nested more than {MAX_NESTING} deep: not opened", offset=None
                )
            parent = self._levels[depth - 1]
            info = self._info(parent, chain[depth - 1])
            what = f"nested archive {info.filename!r} is not a readable zip"
            with _archive_errors(what):
                stream = self._nested_stream(parent, info)
        try:
            with _archive_errors(what):
                _check_member_count(stream)
                zf = zipfile.ZipFile(stream)
        except BaseException:
            stream.close()
            raise
        try:
            _check_overlaps(zf)
        except BaseException:
            zf.close()
            stream.close()
            raise
        infos = {i.header_offset: i for i in zf.infolist()}
        return _Level((path, chain[:depth]), zf, stream, infos)

    def _info(self, level: _Level, member: Member) -> zipfile.ZipInfo:
        info = level.infos.get(member.offset)
        if info is None or info.filename != member.name:
            # The archive changed since it was listed: reported, tried again next run.
            raise FileNotFoundError(errno.ENOENT, "no longer in the archive", member.name)
        _check_member(info)
        return info

    def _nested_stream(self, parent: _Level, info: zipfile.ZipInfo) -> IO[bytes]:
        if (
            info.file_size > MAX_NESTED_RATIO * max(info.compress_size, 1)
            and info.file_size > _CHUNK
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ArchiveError(
                f"nested archive {info.filename!r} inflates {ratio} times (more than "
                f"{MAX_NESTED_RATIO}): refused (a zip bomb?)"
            )
        if info.compress_type == zipfile.ZIP_STORED:
            window = _Window(parent.stream, _data_start(parent.stream, info), info.file_size)
            return cast("IO[bytes]", window)
        zf = parent.zf
        return cast("IO[bytes]", _Inflated(lambda: zf.open(info), info.file_size))

    # -- reading members ---------------------------------------------------------------------
    @contextmanager
    def _open_leaf(self, inp: InputFile) -> Iterator[IO[bytes]]:
        """The input's bytes as a stream (decompressed); checks what can be checked first."""
        kind = classify(inp.name)
        if kind == "unsupported":
            fmt = next(v for k, v in _UNSUPPORTED.items() if inp.name.lower().endswith(k))
            raise ArchiveError(f"{fmt} archives are not read: unpack it, or repack it as .zip")
        if kind == "zip":  # an archive that could not be listed: say why
            self.zip_at(inp.path, inp.members)
            raise ArchiveError("a zip archive where a watch file was expected")
        with self._raw_leaf(inp) as raw:
            if inp.name.lower().endswith(".gz"):
                with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                    yield cast("IO[bytes]", gz)
            else:
                yield raw

    @contextmanager
    def _raw_leaf(self, inp: InputFile) -> Iterator[IO[bytes]]:
        if not inp.members:
            with open(inp.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > inp.max_bytes:
                    raise _too_large(size, inp.max_bytes)
                yield f
            return
        zf = self.zip_at(inp.path, inp.members[:-1])
        info = self._info(self._levels[len(inp.members) - 1], inp.members[-1])
        if info.file_size > inp.max_bytes:
            raise _too_large(info.file_size, inp.max_bytes)
        with zf.open(info) as member:
            yield member

    def read(self, inp: InputFile) -> bytes:
        """The input's bytes (decompressed), at most ``inp.max_bytes``.

        Raises ArchiveError (damaged, encrypted, unsupported...), InputTooLarge, or OSError
        when the file on disk cannot be read.
        """
        out = bytearray()
        with _archive_errors(_what(inp)), self._open_leaf(inp) as stream:
            _copy_capped(stream, inp.max_bytes, out.extend)
        return bytes(out)

    def sha256(self, inp: InputFile) -> str:
        """The sha256 of the input's bytes (decompressed), streamed: :meth:`read`'s errors."""
        h = hashlib.sha256()
        with _archive_errors(_what(inp)), self._open_leaf(inp) as stream:
            _copy_capped(stream, inp.max_bytes, h.update)
        return h.hexdigest()

    def stored_sha256(self, inp: InputFile) -> tuple[str, int]:
        """The sha256 and size of the input as stored: the identity of one that cannot be read.

        A file's own bytes; for a member, its local header and compressed bytes as they lie
        in its archive (enough to know it again, without inflating anything).
        """
        h = hashlib.sha256()
        if not inp.members:
            with open(inp.path, "rb") as f:
                n = _feed(f, h.update, None)
            return h.hexdigest(), n
        with _archive_errors(_what(inp)):
            self.zip_at(inp.path, inp.members[:-1])
            level = self._levels[len(inp.members) - 1]
            info = level.infos.get(inp.members[-1].offset)
            if info is None:
                raise FileNotFoundError(errno.ENOENT, "no longer in the archive", inp.name)
            span = 30 + len(info.filename.encode("utf-8")) + info.compress_size
            level.stream.seek(info.header_offset)
            n = _feed(level.stream, h.update, span)
        return h.hexdigest(), n


def _feed(stream: IO[bytes], update: Callable[[bytes], object], n: int | None) -> int:
    """Hash ``n`` bytes of ``stream`` (all when None); the number hashed."""
    done = 0
    while n is None or done < n:
        chunk = stream.read(_CHUNK if n is None else min(_CHUNK, n - done))
        if not chunk:
            break
        update(chunk)
        done += len(chunk)
    return done


def _what(inp: InputFile) -> str:
    if inp.members:
        return "archive member"
    return "gzip file" if inp.name.lower().endswith(".gz") else "file"


def _too_large(size: int, limit: int) -> InputTooLarge:
    return InputTooLarge(
        f"{size:,} bytes once decompressed, more than {_mib(limit)} (ingest.max_file_bytes): "
        "refused, not read",
        offset=None,
    )


def _check_member(info: zipfile.ZipInfo) -> None:
    """Refuse what cannot or should not be read, before reading it."""
    why = unsafe_name(info.filename)
    if why is not None:
        raise ArchiveError(f"member name {info.filename!r} {why} (zip slip): not read")
    if info.flag_bits & 0x1:
        raise ArchiveError("encrypted (password-protected) member: not read")
    if info.compress_type not in _METHODS:
        raise ArchiveError(f"compression method {info.compress_type} is not supported")


def _data_start(stream: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Where a member's data starts: after its local header (read from the archive)."""
    stream.seek(info.header_offset)
    head = stream.read(_LOCAL_HEADER.size)
    if len(head) < _LOCAL_HEADER.size:
        raise zipfile.BadZipFile(f"truncated local header of {info.filename!r}")
    sig, name_len, extra_len = _LOCAL_HEADER.unpack(head)
    if sig != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of {info.filename!r}")
    return int(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)


_EOCD = struct.Struct("<4s4x2xHI4xH")  # signature, entries, directory size, comment length
_EOCD64_LOCATOR = struct.Struct("<4s4xQ4x")  # signature, offset of the zip64 record


def _check_member_count(stream: IO[bytes]) -> None:
    """Refuse an archive whose end record announces more than MAX_MEMBERS members.

    Reads the end of central directory record (and the zip64 one); when it cannot be found
    zipfile says why. Its count is what zipfile would read, entry by entry, into memory.
    """
    end = stream.seek(0, io.SEEK_END)
    start = max(0, end - _EOCD.size - 65535)
    stream.seek(start)
    tail = stream.read(end - start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _EOCD.size > len(tail):
        return
    _, entries, _, _ = _EOCD.unpack_from(tail, at)
    if entries == 0xFFFF and at >= _EOCD64_LOCATOR.size:
        sig, offset = _EOCD64_LOCATOR.unpack_from(tail, at - _EOCD64_LOCATOR.size)
        if sig == b"PK\x06\x07" and 0 <= offset <= end - 56:
            stream.seek(offset + 32)
            (entries,) = struct.unpack("<Q", stream.read(8))
    if entries > MAX_MEMBERS:
        raise ArchiveError(
            f"{entries:,} members, more than {MAX_MEMBERS:,}: refused, not listed (a zip bomb?)"
        )


def _check_overlaps(zf: zipfile.ZipFile) -> None:
    """Members whose stored bytes overlap: a non-recursive zip bomb, refused whole."""
    spans = sorted((i.header_offset, i.compress_size) for i in zf.infolist())
    for (start, size), (nxt, _) in itertools.pairwise(spans):
        if start + 30 + size > nxt:
            raise ArchiveError("members overlap each other (a zip bomb?): refused")
