"""A columnar FIT decoder.

Python walks the message boundaries and notes where each data message starts, per
definition; the columns are then decoded for all of a message's rows at once.

- **The walk** is a tight loop over the header bytes: one table lookup and one list append
  per data message, a cache lookup per definition message (devices repeat them; parsed
  definitions are shared across files). A header that keeps repeating (a run of records),
  or two that alternate (record, hrv, record, hrv...), is checked a few repeats ahead and
  the rest of the stretch measured with strided byte slices, then taken whole. A segment
  with compressed-timestamp headers is walked again run by run (those timestamps depend
  on the messages before them).
- **Large messages** (records) are decoded with numpy: the columns of one kind and base
  type form one 2-D block (one comparison for the invalid values, one scaling, one Arrow
  array sliced into columns); the rows of every definition of a message are merged in file
  order first, so each message's table is built once. Each set of definitions gets a plan
  (columns, types, scales, enum names), cached across files.
- **Small messages** (one definition, a few rows: file_id, session, sport...) are unpacked
  with ``struct`` and their values converted in Python; the values of every small message
  of a file go into one Arrow array per type, sliced into columns.

Invalid values become nulls; scales, offsets, components and enum names come from the FIT
profile (``_fitprofile``). Chained files (several FIT files in one), compressed-timestamp
headers, developer fields, big-endian definitions, 12- and 14-byte headers (a header CRC of
0 means "not computed") are handled. Every CRC is checked with a compiled CRC-16/ARC.
Problems that leave the rest of the file usable (a bad CRC, a truncated tail, trailing
garbage) raise with ``on_error="raise"`` and are recorded as
:class:`~runlake._errors.Problem` with ``on_error="warn"``; a file with nothing to salvage
always raises a :class:`FitError`. The work is bounded by the file's size: every loop step
consumes at least one byte.
"""

from __future__ import annotations

import functools
import itertools
import math
import struct
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from fastcrc import crc16

from runlake._errors import (
    FitCRCError,
    FitDefinitionError,
    FitError,
    FitHeaderError,
    FitTruncatedError,
    OnError,
    Problem,
    ProblemKind,
)
from runlake.decode._fithr import (
    EVENT_TIMESTAMP,
    EVENT_TIMESTAMP_12,
    FILTERED_BPM,
    HR_ARRAY_FIELDS,
    HR_MESG_NUM,
    HrFields,
    hr_columns,
)
from runlake.decode._fitprofile import (
    BASE_TYPES,
    BaseType,
    Component,
    FieldSpec,
    enum_lut,
    enum_map,
    enum_names,
    field_number,
    field_spec,
    is_enum_type,
    message_name,
)

__all__ = ["FIT_EPOCH_S", "SYSTEM_TIME_SUFFIX", "DevField", "FitFile", "decode_fit", "fit_crc16"]

FIT_EPOCH_S = 631065600  # 1989-12-31T00:00:00Z in Unix seconds
_MIN_ABS_TIME = 0x10000000  # date_time values below this are relative (system time)
_MAX_ABS_TIME = 0xFFFFFFFE  # a date_time is a uint32: more comes from a mis-declared field
_TIMESTAMP = 253
_FIELD_DESCRIPTION = 206
_TS_TYPE = pa.timestamp("s", tz="UTC")
_F64 = pa.float64()
_I32 = pa.int32()
_LOCAL_TYPE = pa.timestamp("s")
SYSTEM_TIME_SUFFIX = "__system_s"
_GALLOP_AFTER = 8  # messages that repeat the header two back before the stretch is measured
_CACHE_MAX = 4096  # parsed definitions / message plans kept across files
_PROBE = 8  # repeats of a cycle checked in Python before numpy measures the rest
_COOLDOWN = 32  # messages before a cycle that proved short is tried again
_TINY = 8  # messages of one definition with at most this many rows are decoded in Python
_SMALL = 64  # up to this many messages, a block's fields are gathered in one numpy call


def fit_crc16(data: bytes | memoryview) -> int:
    """CRC-16/ARC as the FIT protocol defines it (compiled; matches the SDK's table)."""
    return int(crc16.arc(data))


@dataclass(frozen=True, slots=True)
class DevField:
    """A developer field (e.g. Stryd's "Form Power") as its field_description defines it."""

    name: str
    units: str | None
    dev_index: int
    number: int


@dataclass(frozen=True, slots=True)
class FitFile:
    """All messages of a FIT file (chained segments merged), one Arrow table per message.

    Columns carry the profile's field names with scale and offset applied; invalid values
    are null; ``date_time`` fields are UTC timestamps (a relative "system time", seconds
    since the device powered on, goes to ``<field>__system_s`` instead) and
    ``local_date_time`` fields naive wall-clock timestamps; enum fields are profile names.
    Developer fields are columns named ``dev:<field name>``.
    """

    messages: dict[str, pa.Table]
    developer_fields: dict[str, DevField]
    problems: tuple[Problem, ...]
    n_segments: int
    size_bytes: int

    def table(self, name: str) -> pa.Table | None:
        return self.messages.get(name)


# -- definitions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    num: int
    offset: int  # byte offset in the message's content (after the header byte)
    size: int  # bytes
    base: BaseType
    count: int  # values in the field (a misaligned field: its bytes; a string: 1)


@dataclass(frozen=True, slots=True, eq=False)
class _Layout:
    """A parsed definition message; identical definitions share one across files."""

    uid: int
    global_num: int
    name: str
    little: bool
    size: int
    fields: tuple[_Field, ...]
    dev_fields: tuple[tuple[int, int, int, int], ...]  # (dev index, field num, offset, size)
    ts_offset: int | None  # byte offset of the timestamp field, if any
    warnings: tuple[str, ...]  # misaligned fields, reported once per file


def _discard(_pos: int) -> None:
    """The 'append' of definitions whose messages are not decoded."""


@dataclass(slots=True, eq=False)
class _Def:
    """A definition as used in one file, with where its data messages start."""

    layout: _Layout
    wanted: bool
    size1: int  # bytes of one message, header included
    add: Callable[[int], None] = _discard  # notes a message's position (or not)
    chunks: list[np.ndarray] = field(default_factory=list)  # header byte positions (int64)
    cts: list[np.ndarray | None] = field(default_factory=list)  # compressed ts per chunk
    pending: list[int] = field(default_factory=list)  # positions of the segment being walked
    # developer field descriptions in force when the definition was read (see _Walker)
    dev: dict[tuple[int, int], _DevDesc] = field(default_factory=dict)


@dataclass(slots=True)
class _DevDesc:
    name: str
    base: BaseType
    scale: float | None
    offset: float | None
    units: str | None


_LAYOUTS: dict[bytes, _Layout] = {}
_UIDS = itertools.count()


_BYTES = [bytes((i,)) for i in range(256)]
_RESTART = -2  # the fast walk met a compressed-timestamp header: walk run by run instead


class _Walker:
    def __init__(self, buf: bytes, source: str, on_error: OnError, wanted: Collection[str] | None):
        self.buf = buf
        self.u8 = np.frombuffer(buf, dtype=np.uint8)
        self.source = source
        self.on_error = on_error
        self.wanted = wanted
        self.problems: list[Problem] = []
        self.all_defs: list[_Def] = []
        # Developer field descriptions: those in force, the first of each field (for a
        # definition read before its field was described), every distinct one in file order.
        self.dev_desc: dict[tuple[int, int], _DevDesc] = {}
        self.first_desc: dict[tuple[int, int], _DevDesc] = {}
        self.descriptions: list[tuple[tuple[int, int], _DevDesc]] = []
        self.unread: list[tuple[_Layout, np.ndarray]] = []  # descriptions walked, not read
        self.def_cache: dict[bytes, _Def] = {}
        self.warned: set[int] = set()  # layouts whose warnings were recorded
        # The fast walk's tables: header byte -> what to do with a message; local -> _Def
        self.adds: list[Callable[[int], None]] = []
        self.defs: list[_Def | None] = []

    # -- problems -------------------------------------------------------------------------
    def problem(self, exc: FitError) -> None:
        """Raise (strict) or record a problem that leaves what came before usable."""
        if self.on_error == "raise":
            raise exc
        self.problems.append(Problem.of(exc))

    def fatal(self, cls: type[FitError], message: str, offset: int | None) -> FitError:
        return cls(message, source=self.source, offset=offset)

    # -- file level -----------------------------------------------------------------------
    def walk_file(self) -> int:
        buf = self.buf
        n = len(buf)
        if n == 0:
            raise self.fatal(FitHeaderError, "empty file", 0)
        pos = 0
        segments = 0
        while pos < n:
            rest = n - pos
            if rest < 12 or buf[pos + 8 : pos + 12] != b".FIT":
                if segments == 0:
                    raise self.fatal(
                        FitHeaderError, "not a FIT file (no '.FIT' signature in the header)", pos
                    )
                if any(buf[pos:]):
                    self.problem(
                        self.fatal(
                            FitHeaderError,
                            f"{rest} bytes after the last FIT segment are not a FIT header",
                            pos,
                        )
                    )
                break
            pos = self.walk_segment(pos)
            segments += 1
        return segments

    def walk_segment(self, start: int) -> int:
        """Decode one FIT segment starting at ``start``; return where the next one starts."""
        buf = self.buf
        header_size = buf[start]
        if header_size < 12 or start + header_size > len(buf):
            raise self.fatal(FitHeaderError, f"invalid header size {header_size}", start)
        (data_size,) = struct.unpack_from("<I", buf, start + 4)
        if header_size >= 14:
            (hcrc,) = struct.unpack_from("<H", buf, start + 12)
            if hcrc != 0 and hcrc != fit_crc16(buf[start : start + 12]):
                self.problem(
                    self.fatal(
                        FitCRCError,
                        f"header CRC 0x{hcrc:04X} does not match "
                        f"0x{fit_crc16(buf[start : start + 12]):04X}",
                        start + 12,
                    )
                )
        data_start = start + header_size
        data_end = data_start + data_size
        truncated = data_end + 2 > len(buf)
        limit = min(data_end, len(buf))
        stopped_at = self.walk_messages(data_start, limit)
        if stopped_at is not None:
            # A message could not be read: the rest of this segment is lost, and so is any
            # later segment (its position is only known from this one's end).
            return len(buf)
        if truncated:
            self.problem(
                self.fatal(
                    FitTruncatedError,
                    f"file ends {data_end + 2 - len(buf)} bytes before the end its header "
                    f"announces ({data_size} data bytes); decoded what was complete",
                    len(buf),
                )
            )
            return len(buf)
        (fcrc,) = struct.unpack_from("<H", buf, data_end)
        # The file CRC covers the header and the data; a writer that leaves the header out
        # (some old devices) is accepted too.
        view = memoryview(buf)
        if fcrc != fit_crc16(view[start:data_end]) and fcrc != fit_crc16(view[data_start:data_end]):
            self.problem(
                self.fatal(
                    FitCRCError,
                    f"file CRC 0x{fcrc:04X} does not match the data "
                    f"(0x{fit_crc16(view[start:data_end]):04X})",
                    data_end,
                )
            )
        return int(data_end + 2)

    # -- message level ----------------------------------------------------------------------
    def walk_messages(self, pos: int, end: int) -> int | None:
        """Walk messages in [pos, end). Return None when complete, else where it stopped."""
        touched: dict[_Def, int] = {}  # definitions used in this segment -> chunks before it
        described, cached = dict(self.dev_desc), dict(self.def_cache)
        stopped = self.walk_fast(pos, end, touched)
        if stopped == _RESTART:
            for d, n_chunks in touched.items():
                d.pending.clear()
                del d.chunks[n_chunks:]
                del d.cts[n_chunks:]
            self.unread.clear()
            if self.dev_desc != described:  # walked again from the segment's start
                self.dev_desc, self.def_cache = described, cached
            return self.walk_runs(pos, end)
        self.read_unread()
        for d in touched:
            if d.pending:
                d.chunks.append(np.array(d.pending, dtype=np.int64))
                d.cts.append(None)
                d.pending.clear()
        return stopped

    # The measured hot loop (one pass per message): kept whole, a call per message costs.
    def walk_fast(self, pos: int, end: int, touched: dict[_Def, int]) -> int | None:  # noqa: PLR0912, PLR0915
        """The message loop: one lookup and one append per data message.

        A header that repeats (a run of records), or a pair of headers that alternates
        (record, hrv, record, hrv...), is followed by a check of how far the pattern goes,
        and the whole stretch is taken at once. Returns None when the data is complete,
        the position where it stopped (a problem was recorded), or ``_RESTART`` at the
        first compressed-timestamp header.
        """
        buf = self.buf
        cache = self.def_cache
        unread = self.unread
        sizes = [0] * 256  # data header byte -> message size with its header (0: undefined)
        adds: list[Callable[[int], None]] = [_discard] * 256  # header byte -> where it goes
        defs: list[_Def | None] = [None] * 16
        self.adds = adds
        self.defs = defs
        p1 = p2 = -1  # the headers of the last two messages
        rep = 0  # how long the header two messages back has come again
        while pos < end:
            h = buf[pos]
            s = sizes[h]
            if s:
                nxt = pos + s
                if nxt > end:
                    return self.stop_truncated(pos, end)
                if h == p2:
                    rep += 1
                    if rep == _GALLOP_AFTER:
                        if h == p1:
                            at = self.take_cycles(pos, end, ((0, h),), s)
                        else:
                            at = self.take_cycles(pos, end, ((0, h), (s, p1)), s + sizes[p1])
                        if at != pos:
                            pos = at
                            rep = 0
                            p1 = p2 = -1
                            continue
                        rep = -_COOLDOWN
                else:
                    rep = 0
                p2 = p1
                p1 = h
                adds[h](pos)
                pos = nxt
            elif h & 0x80:
                return _RESTART
            elif h & 0x40:  # a definition: devices repeat them, so look it up first
                if unread:  # it may use developer fields described since the last one
                    self.read_unread()
                stop = pos + 6
                if stop <= end:
                    stop += 3 * buf[pos + 5]
                    if h & 0x20:
                        stop += 1 + 3 * buf[stop] if stop < end else 1
                d = cache.get(buf[pos + 1 : stop]) if stop <= end else None
                if d is None:
                    parsed = self.parse_definition(pos, end, bool(h & 0x20))
                    if parsed is None:
                        return pos
                    d, stop = parsed
                pos = stop
                local = h & 0x0F
                if defs[local] is not d:
                    defs[local] = d
                    if d not in touched:
                        touched[d] = len(d.chunks)
                    sizes[local] = d.size1
                    adds[local] = d.add
                    sizes[local | 0x10] = sizes[local | 0x20] = sizes[local | 0x30] = 0
            else:
                # A data header with reserved bits set, or a local with no definition.
                d = defs[h & 0x0F]
                if d is None:
                    return self.stop_undefined(h & 0x0F, pos)
                sizes[h] = d.size1
                adds[h] = d.add
        return None

    def take_cycles(
        self, pos: int, end: int, members: tuple[tuple[int, int], ...], length: int
    ) -> int:
        """Take every complete repeat of a cycle of messages from ``pos`` on.

        ``members`` are (offset in the cycle, header byte), ``length`` the cycle's bytes.
        Returns the position after the last complete repeat (``pos`` when there are fewer
        than ``_PROBE``, or when two members are messages of one definition).
        """
        count = (end - pos) // length
        buf = self.buf
        # Worth numpy only for a long stretch: check the next few repeats in Python first.
        if count < _PROBE:
            return pos
        for j in range(_PROBE):
            at = pos + j * length
            for off, hb in members:
                if buf[at + off] != hb:
                    return pos
        for off, hb in members:
            count = _PROBE + self.repeats(pos + off + _PROBE * length, length, count - _PROBE, hb)
        adds = self.adds
        chosen = [self.defs[hb & 0x0F] for _off, hb in members]
        if len({id(d) for d in chosen}) < len(chosen):
            return pos  # their rows would interleave
        for (off, hb), d in zip(members, chosen, strict=True):
            if d is None or adds[hb] is _discard:
                continue
            if d.pending:
                d.chunks.append(np.array(d.pending, dtype=np.int64))
                d.cts.append(None)
                d.pending.clear()
            first = pos + off
            d.chunks.append(np.arange(first, first + count * length, length, dtype=np.int64))
            d.cts.append(None)
            if d.layout.global_num == _FIELD_DESCRIPTION:
                self.unread.append((d.layout, d.chunks[-1]))
        return pos + count * length

    def repeats(self, start: int, stride: int, limit: int, want: int) -> int:
        """How many of the bytes at start, start + stride, ... (at most limit) equal want.

        Windows that grow fourfold, each cut from the buffer with a strided slice (C speed),
        so the work follows the length of the repeat, not of the file.
        """
        buf = self.buf
        byte = _BYTES[want]
        k = 0
        step = 16
        while k < limit:
            hi = min(limit, k + step)
            window = buf[start + k * stride : start + (hi - 1) * stride + 1 : stride]
            same = len(window) - len(window.lstrip(byte))
            if same < len(window):
                return k + same
            k = hi
            step *= 4
        return limit

    def walk_runs(self, pos: int, end: int) -> int | None:
        """The message loop for files with compressed timestamps: run by run."""
        buf = self.buf
        defs: list[_Def | None] = [None] * 16
        last_ts = 0
        while pos < end:
            h = buf[pos]
            if h & 0x80:  # compressed-timestamp header
                local = (h >> 5) & 0x03
                d = defs[local]
                if d is None:
                    return self.stop_undefined(local, pos)
                stride = d.layout.size + 1
                count = self.run_length(pos, stride, end, 0xE0, h & 0xE0)
                if count == 0:
                    return self.stop_truncated(pos, end)
                offs = self.u8[pos : pos + count * stride : stride].astype(np.int64) & 0x1F
                delta = np.empty(count, dtype=np.int64)
                delta[0] = (offs[0] - (last_ts & 0x1F)) & 0x1F
                delta[1:] = (offs[1:] - offs[:-1]) & 0x1F
                ts = last_ts + np.cumsum(delta)
                last_ts = int(ts[-1])
                self.add_run(d, pos, stride, count, ts)
                pos += count * stride
            elif h & 0x40:  # definition message
                parsed = self.parse_definition(pos, end, bool(h & 0x20))
                if parsed is None:
                    return pos
                d, pos = parsed
                defs[h & 0x0F] = d
            else:
                local = h & 0x0F
                d = defs[local]
                if d is None:
                    return self.stop_undefined(local, pos)
                lay = d.layout
                stride = lay.size + 1
                count = self.run_length(pos, stride, end, 0xFF, h)
                if count == 0:
                    return self.stop_truncated(pos, end)
                self.add_run(d, pos, stride, count, None)
                if lay.ts_offset is not None:
                    at = pos + (count - 1) * stride + 1 + lay.ts_offset
                    (t,) = struct.unpack_from("<I" if lay.little else ">I", buf, at)
                    if t != 0xFFFFFFFF:
                        last_ts = t
                if lay.global_num == _FIELD_DESCRIPTION:
                    self.read_field_descriptions(
                        lay, np.arange(pos, pos + count * stride, stride, dtype=np.int64)
                    )
                pos += count * stride
        return None

    @staticmethod
    def add_run(d: _Def, pos: int, stride: int, count: int, ts: np.ndarray | None) -> None:
        if d.wanted:
            d.chunks.append(np.arange(pos, pos + count * stride, stride, dtype=np.int64))
            d.cts.append(ts)

    def run_length(self, pos: int, stride: int, end: int, mask: int, want: int) -> int:
        """How many messages from ``pos`` on share this header (masked), complete before end."""
        n_max = (end - pos) // stride
        if n_max <= 1:
            return n_max
        u8 = self.u8
        # Most runs are short (records interleaved with other messages): check in Python
        # first, then gallop with numpy over growing windows.
        if (u8[pos + stride] & mask) != want:
            return 1
        k = 2
        step = 8
        while k < n_max:
            hi = min(n_max, k + step)
            window: np.ndarray = u8[pos + k * stride : pos + hi * stride : stride]
            if mask != 0xFF:
                window = window & mask
            bad = np.flatnonzero(window != want)
            if bad.size:
                return k + int(bad[0])
            k = hi
            step *= 4
        return n_max

    def stop_undefined(self, local: int, pos: int) -> int:
        self.problem(
            self.fatal(
                FitDefinitionError,
                f"data message refers to undefined local message {local}; "
                "the rest of the file cannot be read",
                pos,
            )
        )
        return pos

    def stop_truncated(self, pos: int, end: int) -> int:
        self.problem(
            self.fatal(
                FitTruncatedError,
                f"message at byte {pos} runs past the end of the data ({end}); "
                "decoded what was complete",
                pos,
            )
        )
        return pos

    def parse_definition(self, pos: int, end: int, has_dev: bool) -> tuple[_Def, int] | None:
        buf = self.buf
        stop = pos + 6
        if stop <= end:
            stop += 3 * buf[pos + 5]
            if has_dev and stop < end:
                stop += 1 + 3 * buf[stop]
            elif has_dev:
                stop += 1
        if stop > end:
            self.stop_truncated(pos, end)
            return None
        # Devices often repeat the same definition; identical layouts share one _Def so that
        # their rows are decoded together (and one _Layout across files).
        # The key needs no has_dev flag: with developer fields a definition is 3k+1 bytes
        # longer than the same definition without, so no two keys collide.
        key = buf[pos + 1 : stop]
        d = self.def_cache.get(key)
        if d is None:
            layout = _LAYOUTS.get(key)
            if layout is None:
                layout = _parse_layout(buf, pos, has_dev)
                if len(_LAYOUTS) >= _CACHE_MAX:  # corrupt files make up endless layouts
                    _LAYOUTS.clear()
                    _PLANS.clear()
                    _TINY_PLANS.clear()
                _LAYOUTS[key] = layout
            if layout.uid not in self.warned:  # once per file
                self.warned.add(layout.uid)
                for message in layout.warnings:
                    self.problems.append(Problem(ProblemKind.FIT_DEFINITION, message, pos))
            d = self.def_cache[key] = self.new_def(layout)
        return d, stop

    def new_def(self, layout: _Layout) -> _Def:
        """A definition as this file uses it: where its messages go (nowhere when they are
        not decoded), and the developer field descriptions in force now."""
        wanted = self.wanted is None or layout.name in self.wanted
        d = _Def(layout, wanted, layout.size + 1)
        if layout.global_num == _FIELD_DESCRIPTION:
            d.add = functools.partial(self.note_description, d)
        elif wanted:
            d.add = d.pending.append
        for dev_index, num, _offset, _size in layout.dev_fields:
            desc = self.dev_desc.get((dev_index, num))
            if desc is not None:
                d.dev[(dev_index, num)] = desc
        if wanted:
            self.all_defs.append(d)
        return d

    # -- developer field descriptions --------------------------------------------------------
    # A definition's developer fields are decoded with the descriptions in force when it was
    # read (as fitparse and fitdecode do): a field described again later (a device that
    # reuses a field number for another value) applies to the definitions read after that.
    # The fast walk notes description messages and reads them before the next definition;
    # a description that changes a field's drops the cached definitions that use the field,
    # so that the same definition read again is bound to the new description.

    def note_description(self, d: _Def, pos: int) -> None:
        """A field_description message met by the fast walk (read before the next
        definition)."""
        d.pending.append(pos)
        self.unread.append((d.layout, np.array([pos], dtype=np.int64)))

    def read_unread(self) -> None:
        """Read the description messages noted since the last read, a burst at a time."""
        unread = self.unread
        i = 0
        while i < len(unread):
            layout = unread[i][0]
            j = i + 1
            while j < len(unread) and unread[j][0] is layout:
                j += 1
            positions = [p for _lay, p in unread[i:j]]
            self.read_field_descriptions(
                layout, positions[0] if len(positions) == 1 else np.concatenate(positions)
            )
            i = j
        unread.clear()

    def forget_definitions(self, keys: Collection[tuple[int, int]]) -> None:
        """Drop the cached definitions that use developer fields ``keys``."""
        stale = [
            k
            for k, d in self.def_cache.items()
            if any((idx, num) in keys for idx, num, _o, _s in d.layout.dev_fields)
        ]
        for k in stale:
            del self.def_cache[k]

    def read_field_descriptions(self, layout: _Layout, positions: np.ndarray) -> None:
        """Read developer field descriptions (later definitions' columns depend on them)."""
        rows = _row_bytes(self.buf, layout, positions)
        columns: dict[int, list[object]] = {}
        for f in layout.fields:
            if f.count != 1:
                continue
            raw = _field_values(rows, f, layout.little)
            if f.base.fmt == "S":
                columns[f.num] = [_text(bytes(v)) for v in raw]
            else:
                inv = f.base.invalid
                columns[f.num] = [None if v == inv else v for v in raw.tolist()]
        for row in range(len(positions)):
            vals = {num: col[row] for num, col in columns.items()}
            dev_index, number, bt = vals.get(0), vals.get(1), vals.get(2)
            if not isinstance(dev_index, int) or not isinstance(number, int):
                continue
            if not isinstance(bt, int):
                bt = 13
            scale, offset = vals.get(6), vals.get(7)
            self.describe(
                (dev_index, number),
                _DevDesc(
                    name=str(vals.get(3) or f"developer_{dev_index}_{number}"),
                    base=BASE_TYPES.get(bt & 0x1F, BASE_TYPES[13]),
                    scale=float(scale) if isinstance(scale, int | float) and scale else None,
                    offset=float(offset) if isinstance(offset, int | float) and offset else None,
                    units=str(vals[8]) if vals.get(8) else None,
                ),
            )

    def describe(self, key: tuple[int, int], desc: _DevDesc) -> None:
        """A description of developer field ``key`` (developer data index, field number)."""
        old = self.dev_desc.get(key)
        if old == desc:
            return
        if old is not None:
            self.forget_definitions({key})
        self.dev_desc[key] = desc
        self.first_desc.setdefault(key, desc)
        if (key, desc) not in self.descriptions:
            self.descriptions.append((key, desc))


def _parse_layout(buf: bytes, pos: int, has_dev: bool) -> _Layout:
    """Parse a complete definition message at ``pos`` (its length was checked)."""
    little = buf[pos + 2] == 0
    (global_num,) = struct.unpack_from("<H" if little else ">H", buf, pos + 3)
    name = message_name(global_num)
    n_fields = buf[pos + 5]
    p = pos + 6
    fields: list[_Field] = []
    dev_fields: list[tuple[int, int, int, int]] = []
    warnings: list[str] = []
    ts_offset: int | None = None
    size = 0
    for _ in range(n_fields):
        num, fsize, bt = buf[p], buf[p + 1], buf[p + 2]
        p += 3
        base = BASE_TYPES.get(bt & 0x1F, BASE_TYPES[13])
        if fsize == 0:
            continue
        if base.fmt == "S":
            count = 1
        elif fsize % base.size != 0:
            # Misaligned field (seen in a COROS file): keep its bytes, decode nothing.
            warnings.append(
                f"field {num} of message {name} has size {fsize}, "
                f"not a multiple of its {base.name} size {base.size}; read as bytes"
            )
            base = BASE_TYPES[13]
            count = fsize
        else:
            count = fsize // base.size
        fields.append(_Field(num, size, fsize, base, count))
        if num == _TIMESTAMP and base.size == 4 and count == 1:
            ts_offset = size
        size += fsize
    if has_dev:
        n_dev = buf[p]
        p += 1
        for _ in range(n_dev):
            num, fsize, dev_index = buf[p], buf[p + 1], buf[p + 2]
            p += 3
            if fsize == 0:
                continue
            dev_fields.append((dev_index, num, size, fsize))
            size += fsize
    return _Layout(
        next(_UIDS),
        global_num,
        name,
        little,
        size,
        tuple(fields),
        tuple(dev_fields),
        ts_offset,
        tuple(warnings),
    )


# -- rows and raw values --------------------------------------------------------------------


def _positions(d: _Def) -> np.ndarray:
    return d.chunks[0] if len(d.chunks) == 1 else np.concatenate(d.chunks)


def _row_bytes(buf: bytes, layout: _Layout, positions: np.ndarray) -> np.ndarray:
    """The content bytes of the messages starting at ``positions``, as an (n, size) matrix.

    One run of consecutive messages is a strided view of the buffer (no copy); anything
    else is gathered with one fancy index.
    """
    n = len(positions)
    size = layout.size
    if size == 0:
        return np.zeros((n, 0), dtype=np.uint8)
    stride = size + 1
    if n == 1 or int(positions[-1] - positions[0]) == (n - 1) * stride:
        return np.ndarray(
            (n, size), dtype=np.uint8, buffer=buf, offset=int(positions[0]) + 1, strides=(stride, 1)
        )
    rows = np.ndarray(
        (len(buf) - size + 1,), dtype=np.dtype((np.void, size)), buffer=buf, strides=(1,)
    )
    gathered: np.ndarray = rows[positions + 1]
    return gathered.view(np.uint8).reshape(n, size)


@functools.cache
def _dtype(base: BaseType, little: bool) -> np.dtype:
    if base.size == 1:
        return np.dtype(base.fmt)
    return np.dtype(("<" if little else ">") + base.fmt)


def _field_values(rows: np.ndarray, f: _Field, little: bool) -> np.ndarray:
    """One field's raw values in native byte order: (n,), or (n, count) for arrays."""
    b = rows[:, f.offset : f.offset + f.size]
    if f.base.fmt == "S":
        return b.view(f"S{f.size}")[:, 0]
    dt = _dtype(f.base, little)
    v: np.ndarray = b.view(dt)
    if not dt.isnative:
        v = v.astype(dt.newbyteorder("="))
    return v[:, 0] if f.count == 1 else v


def _raw_matrix(rows: np.ndarray, layout: _Layout, num: int, fmt: str) -> np.ndarray | None:
    """Field ``num``'s raw values as an (n, count) matrix, if the layout has it with the
    base type format ``fmt`` (None otherwise)."""
    for f in layout.fields:
        if f.num == num:
            if f.base.fmt != fmt:
                return None
            return _field_values(rows, f, layout.little).reshape(len(rows), f.count)
    return None


def _text(b: bytes) -> str | None:
    return b.split(b"\0", 1)[0].decode("utf-8", "replace") or None


@functools.cache
def _arrow_type(dtype: np.dtype) -> pa.DataType:
    return pa.from_numpy_dtype(dtype)


def _arrow_c(values: np.ndarray, bad: np.ndarray, type: pa.DataType) -> pa.Array:
    """``_arrow`` for a C-contiguous array whose Arrow type is known."""
    nulls = int(np.count_nonzero(bad))
    if nulls:
        validity = pa.py_buffer(np.packbits(~bad, bitorder="little"))
        return pa.Array.from_buffers(
            type, len(values), [validity, pa.py_buffer(values)], null_count=nulls
        )
    return pa.Array.from_buffers(type, len(values), [None, pa.py_buffer(values)], null_count=0)


def _arrow(
    values: np.ndarray, bad: np.ndarray | None = None, type: pa.DataType | None = None
) -> pa.Array:
    """A 1-D numpy array as an Arrow array (no copy), null where ``bad``.

    ``pa.array(values, mask=bad)`` walks the mask value by value (about 5 ns each); a
    validity bitmap from ``np.packbits`` costs a small fraction of that.
    """
    values = np.ascontiguousarray(values)
    assert values.dtype != np.bool_  # Arrow packs booleans into bits
    if type is None:
        type = _arrow_type(values.dtype)
    validity = None
    nulls = 0
    if bad is not None:
        nulls = int(np.count_nonzero(bad))
        if nulls:
            validity = pa.py_buffer(np.packbits(~bad, bitorder="little"))
    return pa.Array.from_buffers(
        type, len(values), [validity, pa.py_buffer(values)], null_count=nulls
    )


# -- column decoding (one definition's column at a time: the uncommon cases) -----------------


def _seconds(raw: np.ndarray) -> np.ndarray:
    """Raw date_time values as int64 (a float field, seen in corrupt files: NaN -> 0)."""
    if raw.dtype.kind == "f":
        with np.errstate(invalid="ignore", over="ignore"):
            secs: np.ndarray = np.nan_to_num(raw).astype(np.int64)
        return secs
    return raw.astype(np.int64)


def _system_time(raw: np.ndarray, base: BaseType) -> pa.Array | None:
    """Seconds since the device powered on, for date_time values that are relative."""
    secs = _seconds(raw)
    relative = (secs < _MIN_ABS_TIME) & ~_invalid(raw, base)
    if not np.count_nonzero(relative):
        return None
    return _arrow(secs, ~relative)


def _invalid(raw: np.ndarray, base: BaseType) -> np.ndarray:
    if base.fmt in ("f4", "f8"):
        return np.asarray(np.isnan(raw))
    if base.invalid is None:
        return np.zeros(raw.shape, dtype=bool)
    return np.asarray(raw == raw.dtype.type(base.invalid))


def _scaled(raw: np.ndarray, scale: float | None, offset: float | None) -> np.ndarray:
    if scale is None and offset is None:
        return raw
    out = raw.astype(np.float64)
    if scale is not None:
        out = out / scale
    if offset is not None:
        out = out - offset
    return out


def _strings(raw: np.ndarray) -> pa.Array:
    return pa.array([_text(bytes(x)) for x in raw], type=pa.string())


def _is_enum(spec: FieldSpec) -> bool:
    return spec.enum and spec.scale is None and is_enum_type(spec.type_name)


def _numeric_column(
    raw: np.ndarray, base: BaseType, spec: FieldSpec | None, count: int
) -> pa.Array:
    bad = _invalid(raw, base)
    if count > 1:
        values = _scaled(raw, spec.scale, spec.offset) if spec else raw
        flat = _arrow(values.reshape(-1), bad.reshape(-1))
        # A byte array is one value: null when every byte is 0xFF.
        row_null = pa.array(np.all(raw == 0xFF, axis=1)) if base.number == 13 else None
        return pa.FixedSizeListArray.from_arrays(flat, count, mask=row_null)
    if spec is not None:
        if spec.type_name == "date_time":
            secs = _seconds(raw)
            bad = bad | (secs < _MIN_ABS_TIME)
            return _arrow(secs + FIT_EPOCH_S, bad, _TS_TYPE)
        if spec.type_name == "local_date_time":  # the device's wall clock: no time zone
            secs = _seconds(raw)
            bad = bad | (secs < _MIN_ABS_TIME)
            return _arrow(secs + FIT_EPOCH_S, bad, _LOCAL_TYPE)
        if _is_enum(spec):
            return pa.array(enum_names(spec.type_name, raw), type=pa.string(), mask=bad)
        return _arrow(_scaled(raw, spec.scale, spec.offset), bad)
    return _arrow(raw, bad)


def _field_columns(
    rows: np.ndarray, f: _Field, layout: _Layout, spec: FieldSpec | None, name: str
) -> dict[str, pa.Array]:
    """One definition's column for a field (and its system-time column), decoded alone."""
    raw = _field_values(rows, f, layout.little)
    if f.base.fmt == "S":
        return {name: _strings(raw)}
    out = {name: _numeric_column(raw, f.base, spec, f.count)}
    if spec is not None and spec.type_name == "date_time" and f.count == 1:
        system = _system_time(raw, f.base)
        if system is not None:
            out[name + SYSTEM_TIME_SUFFIX] = system
    return out


def _component_values(
    raw: np.ndarray, base: BaseType, count: int, comp_bits: int, comp_offset: int
) -> tuple[np.ndarray, np.ndarray]:
    """Extract a component's raw integer values and an invalid mask from a field."""
    if base.fmt == "u1" and count > 1:  # byte array, little-endian as the SDK reads it
        width = min(count, 8)
        acc = np.zeros(raw.shape[0], dtype=np.uint64)
        for i in range(width):
            acc |= raw[:, i].astype(np.uint64) << np.uint64(8 * i)
        bad = np.all(raw == 0xFF, axis=1)
    elif count == 1 and base.fmt not in ("f4", "f8", "S"):
        acc = raw.astype(np.uint64)
        bad = _invalid(raw, base)
    else:
        n = raw.shape[0]
        return np.zeros(n, dtype=np.uint64), np.ones(n, dtype=bool)
    vals = (acc >> np.uint64(comp_offset)) & np.uint64((1 << comp_bits) - 1)
    return vals, bad


def _accumulate(vals: np.ndarray, bad: np.ndarray, bits: int) -> np.ndarray:
    """Unwrap a rolling counter of ``bits`` bits, as the FIT SDK accumulates it."""
    out = np.zeros(vals.shape[0], dtype=np.float64)
    good = ~bad
    v = vals[good].astype(np.int64)
    if v.size:
        prev = np.concatenate(([0], v[:-1]))
        delta = (v - prev) & ((1 << bits) - 1)
        out[good] = np.cumsum(delta).astype(np.float64)
    return out


def _dev_column(
    rows: np.ndarray, desc: _DevDesc, offset: int, fsize: int, little: bool
) -> pa.Array | None:
    base = desc.base
    b = rows[:, offset : offset + fsize]
    if base.fmt == "S":
        return _strings(b.view(f"S{fsize}")[:, 0])
    if fsize % base.size:
        return None
    count = fsize // base.size
    dt = _dtype(base, little)
    raw = b.view(dt)
    if not dt.isnative:
        raw = raw.astype(dt.newbyteorder("="))
    if count == 1:
        raw = raw[:, 0]
    bad = _invalid(raw, base)
    vals = _scaled(raw, desc.scale, desc.offset)
    if count == 1:
        return _arrow(vals, bad)
    flat = _arrow(vals.reshape(-1), bad.reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, count)


def _merge_parts(
    parts: list[pa.Array | None], lengths: list[int], order: np.ndarray | None
) -> pa.Array:
    """One column from each definition's part (None: the definition has no such column).

    The first type seen wins; a part that cannot be cast to it becomes null.
    """
    want = next(p for p in parts if p is not None).type
    arrays = []
    for p, n in zip(parts, lengths, strict=True):
        if p is None:
            arrays.append(pa.nulls(n, want))
        elif p.type != want:
            try:
                arrays.append(p.cast(want))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                arrays.append(pa.nulls(n, want))
        else:
            arrays.append(p)
    out = arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)
    return out if order is None else out.take(_arrow(order))


# -- message plans (cached per set of definitions) ------------------------------------------

_BLOCK_KINDS = frozenset({"raw", "scaled", "dt", "ldt", "enum", "arr"})
_UNSIGNED = frozenset({"u1", "u2", "u4", "u8"})


@dataclass(frozen=True, slots=True)
class _BlockUse:
    """Which rows of a block one definition fills, from which bytes of its messages."""

    rows: np.ndarray  # block rows (intp)
    byte_idx: np.ndarray  # every byte of those fields, in row order (intp)
    offsets: tuple[int, ...]  # each field's offset


@dataclass(slots=True)
class _Block:
    """Columns of one kind and base type, decoded together as one (columns, rows) matrix.

    An "arr" block holds array fields of one size: (columns, rows, values).
    """

    kind: str  # raw, scaled, dt, ldt, enum, arr
    base: BaseType
    count: int  # values per field (arrays)
    scaled: bool  # "arr": the profile scales the values
    names: list[str] = field(default_factory=list)
    per_def: list[_BlockUse | None] = field(default_factory=list)  # None: fills no row
    full: bool = True  # every definition fills every row
    scale: np.ndarray | None = None  # divisors of "scaled" and scaled "arr" (1.0: none)
    offset: np.ndarray | None = None  # offsets likewise (0.0: none)
    lut: pa.Array | None = None  # "enum": 256 names per column, concatenated
    lut_base: np.ndarray | None = None  # (columns, 1) start of each column's names
    has_offset: bool = False  # some column has an offset (else none is subtracted)
    # derived once: the raw values' dtypes, the Arrow type of the values, the invalid value
    native: np.dtype = field(init=False)
    little: np.dtype = field(init=False)
    big: np.dtype = field(init=False)
    arrow_type: pa.DataType = field(init=False)
    invalid: object = field(init=False)  # a numpy scalar; None: none (NaN for floats)
    floats: bool = field(init=False)

    def __post_init__(self) -> None:
        self.native = np.dtype(self.base.fmt)
        self.little = _dtype(self.base, True)
        self.big = _dtype(self.base, False)
        self.arrow_type = pa.from_numpy_dtype(self.native)
        self.floats = self.base.fmt in ("f4", "f8")
        inv = self.base.invalid
        self.invalid = None if inv is None else self.native.type(inv)


@dataclass(frozen=True, slots=True)
class _Expansion:
    """The component of one definition's field that fills a target column."""

    def_index: int
    field: _Field
    spec: FieldSpec
    comp: Component
    source: str  # the field's column


_Uses = dict[str, list[tuple[_Field, FieldSpec | None] | None]]  # column -> per definition


@dataclass(slots=True)
class _Plan:
    names: list[str]  # field columns, in output order
    blocks: list[_Block]
    # columns decoded per definition and merged: name -> per definition (field, spec)
    single: _Uses
    # component target -> the last component of each definition that fills it
    expansions: dict[str, list[_Expansion]]
    enum_targets: dict[str, FieldSpec | None]  # component target -> its spec
    uses: _Uses  # column -> per definition
    same_as: dict[str, str]  # target -> a block column it always equals (see _identity)


_PLANS: dict[tuple[int, ...], _Plan] = {}


def _kind(f: _Field, spec: FieldSpec | None) -> str | None:
    if f.base.fmt == "S":
        return "str"
    if f.base.number == 13 and spec is None:
        return None  # unknown byte blobs carry nothing an activity needs
    if f.count > 1:
        return "arr"
    if spec is None:
        return "raw"
    if spec.type_name == "date_time":
        return "dt"
    if spec.type_name == "local_date_time":
        return "ldt"
    if _is_enum(spec):
        return "enum" if f.base.fmt == "u1" else "enumx"
    if spec.scale is not None or spec.offset is not None:
        return "scaled"
    return "raw"


def _identity(e: _Expansion) -> bool:
    """The component is the whole field with the field's own scale (speed -> enhanced_speed).

    Its values and nulls are then exactly the field's column as a float64.
    """
    f, spec, comp = e.field, e.spec, e.comp
    return (
        f.count == 1
        and f.base.fmt in _UNSIGNED
        and not comp.accumulate
        and comp.bit_offset == 0
        and comp.bits == 8 * f.base.size
        and f.base.invalid == (1 << comp.bits) - 1
        and comp.scale == spec.scale
        and comp.offset == spec.offset
    )


def _plan(layouts: list[_Layout]) -> _Plan:
    key = tuple(lay.uid for lay in layouts)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _make_plan(layouts)
        _PLANS[key] = plan
    return plan


@dataclass(slots=True)
class _Columns:
    """The field columns of a set of definitions, before they are grouped into blocks."""

    names: list[str] = field(default_factory=list)  # in output order
    info: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # kind, base, count
    uses: _Uses = field(default_factory=dict)
    mixed: set[str] = field(default_factory=set)  # columns whose definitions disagree
    expansions: dict[str, list[_Expansion]] = field(default_factory=dict)
    enum_targets: dict[str, FieldSpec | None] = field(default_factory=dict)


def _make_plan(layouts: list[_Layout]) -> _Plan:
    columns = _Columns()
    for i, lay in enumerate(layouts):
        _add_columns(columns, i, lay, len(layouts))
    blocks, single = _group_blocks(columns)
    for blk in blocks:
        _finish_block(blk, layouts, columns.uses)
    same_as = _same_as(columns, {name for blk in blocks for name in blk.names})
    return _Plan(
        columns.names,
        blocks,
        single,
        columns.expansions,
        columns.enum_targets,
        columns.uses,
        same_as,
    )


def _add_columns(columns: _Columns, i: int, lay: _Layout, n_defs: int) -> None:
    """Note the columns of definition ``i`` (the first field of a name wins) and the last
    component of it that fills each target."""
    seen: set[str] = set()
    last: dict[str, _Expansion] = {}
    own = HR_ARRAY_FIELDS if lay.global_num == HR_MESG_NUM else ()  # see _Message.hr_arrays
    for f in lay.fields:
        if f.num in own:
            continue
        spec = field_spec(lay.global_num, f.num)
        name = spec.name if spec else f"field_{f.num}"
        if name in seen:
            continue
        kind = _kind(f, spec)
        if kind is None:
            continue
        seen.add(name)
        if spec is not None:
            for comp in spec.components:
                last[comp.target] = _Expansion(i, f, spec, comp, name)
                tspec = field_spec(lay.global_num, field_number(lay.global_num, comp.target))
                columns.enum_targets[comp.target] = tspec
        if name not in columns.info:
            columns.info[name] = (kind, f.base.number, f.count)
            columns.uses[name] = [None] * n_defs
            columns.names.append(name)
        elif columns.info[name] != (kind, f.base.number, f.count):
            columns.mixed.add(name)
        columns.uses[name][i] = (f, spec)
    for target, e in last.items():
        columns.expansions.setdefault(target, []).append(e)


def _group_blocks(columns: _Columns) -> tuple[list[_Block], _Uses]:
    """Columns of one kind and base type (and size, scaling) go into one block; the others
    (strings, wide enums, mixed types) are decoded one by one."""
    blocks: dict[tuple[str, int, int, bool], _Block] = {}
    single: _Uses = {}
    for name in columns.names:
        kind = columns.info[name][0]
        if kind not in _BLOCK_KINDS or name in columns.mixed:
            single[name] = columns.uses[name]
            continue
        f, spec = next(u for u in columns.uses[name] if u is not None)
        scaled = spec is not None and (spec.scale is not None or spec.offset is not None)
        key = (kind, f.base.number, f.count, scaled)
        blk = blocks.setdefault(key, _Block(kind, f.base, f.count, scaled))
        blk.names.append(name)
    return list(blocks.values()), single


def _same_as(columns: _Columns, in_blocks: set[str]) -> dict[str, str]:
    """Component targets that always equal one block column (see ``_identity``)."""
    same_as = {}
    for target, es in columns.expansions.items():
        sources = {e.source for e in es}
        if (
            len(sources) == 1
            and target not in columns.info
            and all(_identity(e) for e in es)
            and es[0].source in in_blocks
            and len(es) == sum(1 for u in columns.uses[es[0].source] if u is not None)
        ):
            same_as[target] = es[0].source
    return same_as


def _finish_block(blk: _Block, layouts: list[_Layout], uses: _Uses) -> None:
    width = blk.base.size * blk.count
    for i in range(len(layouts)):
        rows: list[int] = []
        idx: list[int] = []
        offsets: list[int] = []
        for r, name in enumerate(blk.names):
            use = uses[name][i]
            if use is None:
                blk.full = False
                continue
            rows.append(r)
            offsets.append(use[0].offset)
            idx.extend(range(use[0].offset, use[0].offset + width))
        blk.per_def.append(
            _BlockUse(np.array(rows, dtype=np.intp), np.array(idx, dtype=np.intp), tuple(offsets))
            if rows
            else None
        )
    specs = [next(u for u in uses[name] if u is not None)[1] for name in blk.names]
    if blk.kind == "scaled" or (blk.kind == "arr" and blk.scaled):
        shape = (-1, 1) if blk.kind == "scaled" else (-1, 1, 1)
        blk.scale = np.array(
            [s.scale if s is not None and s.scale is not None else 1.0 for s in specs]
        ).reshape(shape)
        blk.offset = np.array(
            [s.offset if s is not None and s.offset is not None else 0.0 for s in specs]
        ).reshape(shape)
        blk.has_offset = bool(blk.offset.any())
    elif blk.kind == "enum":
        blk.lut = pa.concat_arrays([enum_lut(s.type_name) for s in specs if s is not None])
        blk.lut_base = (np.arange(len(specs), dtype=np.int32) * 256)[:, None]


# -- message decoding ---------------------------------------------------------------------


def _block_invalid(blk: _Block, raw: np.ndarray, absent: np.ndarray | None) -> np.ndarray:
    """Where a block's raw values are invalid (or, but in arrays, absent)."""
    bad: np.ndarray
    if blk.floats:
        bad = np.isnan(raw)
    elif blk.invalid is None:
        bad = np.zeros(raw.shape, dtype=bool)
    else:
        bad = raw == blk.invalid
    if absent is not None and blk.kind != "arr":
        bad |= absent
    return bad


def _block_array(blk: _Block, raw: np.ndarray, flat_bad: np.ndarray) -> pa.Array:
    """A "raw", "scaled", "enum" or "arr" block's values as one Arrow array (column after
    column; the values of an array field one after another)."""
    if blk.kind == "raw" or (blk.kind == "arr" and not blk.scaled):
        return _arrow_c(raw.reshape(-1), flat_bad, blk.arrow_type)
    if blk.kind == "enum":
        assert blk.lut is not None
        assert blk.lut_base is not None
        idx = raw.astype(np.int32)
        idx += blk.lut_base
        return blk.lut.take(_arrow_c(idx.reshape(-1), flat_bad, _I32))
    assert blk.scale is not None  # scaled, or a scaled "arr"
    assert blk.offset is not None
    values = raw.astype(np.float64)
    values /= blk.scale
    if blk.has_offset:
        values -= blk.offset
    return _arrow_c(values.reshape(-1), flat_bad, _F64)


def _take_fields(rows: np.ndarray, entry: _BlockUse, dt: np.dtype, out: np.ndarray) -> None:
    """Copy a definition's fields of a block into ``out`` (its rows x the messages)."""
    n = rows.shape[0]
    if n <= _SMALL:
        # Few messages: one gather for every field, then one transposing copy.
        got = rows.take(entry.byte_idx, axis=1).view(dt)
        if out.ndim == 3:
            got = got.reshape(n, len(entry.offsets), out.shape[2]).transpose(1, 0, 2)
        else:
            got = got.T
        out[...] = got
    else:
        # Many messages: one strided copy per field.
        width = dt.itemsize * (out.shape[2] if out.ndim == 3 else 1)
        for r, off in zip(entry.rows.tolist(), entry.offsets, strict=True):
            got = rows[:, off : off + width].view(dt)
            out[r] = got if out.ndim == 3 else got[:, 0]


class _Message:
    """One message's rows, from every definition that carries it, decoded into columns.

    The rows of each definition are taken in file order and the definitions' rows merged
    by position; block columns are merged before decoding, other columns decoded per
    definition and merged after (the first type seen wins).
    """

    def __init__(self, buf: bytes, defs: list[_Def]) -> None:
        self.buf = buf
        self.defs = defs
        self.layouts = [d.layout for d in defs]
        self.plan = _plan(self.layouts)
        self.positions = [_positions(d) for d in defs]
        self.lengths = [len(p) for p in self.positions]
        self.n = sum(self.lengths)
        self.order: np.ndarray | None = None
        if len(defs) > 1:
            every = np.concatenate(self.positions)
            if np.count_nonzero(every[1:] < every[:-1]):
                self.order = np.argsort(every, kind="stable")
        self.cols: dict[str, pa.Array] = {}
        self.out_names: list[str] = []
        self.system = False  # some date_time column has relative values

    @functools.cached_property
    def rows(self) -> list[np.ndarray]:
        """Each definition's messages as an (n, bytes) matrix."""
        return [
            _row_bytes(self.buf, lay, p)
            for lay, p in zip(self.layouts, self.positions, strict=True)
        ]

    def tiny(self) -> _TinyPlan | None:
        """How to decode this message in Python, if it is small (one definition, few rows)."""
        if len(self.defs) > 1 or self.n > _TINY or self.layouts[0].global_num == HR_MESG_NUM:
            return None
        return _tiny_plan(self.layouts[0])

    def decode_fields(self) -> None:
        for blk in self.plan.blocks:
            self.decode_block(blk)
        for name, uses in self.plan.single.items():
            self.decode_single(name, uses)

    def table(self, first_desc: dict[tuple[int, int], _DevDesc]) -> pa.Table:
        """The message's table, once its field columns are decoded."""
        plan = self.plan
        cols = self.cols
        if self.system:
            for name in plan.names:
                if name in cols:
                    self.out_names.append(name)
                    if name + SYSTEM_TIME_SUFFIX in cols:
                        self.out_names.append(name + SYSTEM_TIME_SUFFIX)
        else:
            self.out_names = [name for name in plan.names if name in cols]
        if plan.expansions:
            self.components()
        if self.layouts[0].global_num == HR_MESG_NUM:
            self.hr_arrays()
        if any(lay.dev_fields for lay in self.layouts):
            self.dev_columns(first_desc)
        if any(ts is not None for d in self.defs for ts in d.cts):
            self.compressed_timestamps()
        if not self.out_names:
            return pa.table({"_": pa.nulls(self.n)}).drop_columns(["_"])
        return pa.Table.from_arrays([cols[c] for c in self.out_names], names=self.out_names)

    def merge(self, parts: list[pa.Array | None]) -> pa.Array:
        return _merge_parts(parts, self.lengths, self.order)

    # -- blocks ---------------------------------------------------------------------------
    def block_values(self, blk: _Block) -> tuple[np.ndarray, np.ndarray | None]:
        """The block's raw values as a native (columns, rows[, values]) array, and which
        rows of each column are absent (their definition has no such field)."""
        k = len(blk.names)
        n = self.n
        native = blk.native
        shape = (k, n) if blk.kind != "arr" else (k, n, blk.count)
        if len(self.layouts) == 1:
            entry = blk.per_def[0]
            assert entry is not None
            rows = self.rows[0]
            dt = blk.little if self.layouts[0].little else blk.big
            if n <= _SMALL:  # one gather for every field, then one transposing copy
                got = rows.take(entry.byte_idx, axis=1).view(dt)
                if blk.kind == "arr":
                    got = got.reshape(n, k, blk.count).transpose(1, 0, 2)
                    return got.astype(native, order="C"), None
                return got.T.astype(native, order="C"), None
            out = np.empty(shape, dtype=native)
            _take_fields(rows, entry, dt, out)
            return out, None
        out = np.zeros(shape, dtype=native)
        absent = None if blk.full else np.ones((k, n), dtype=bool)
        start = 0
        for entry, r, lay, m in zip(
            blk.per_def, self.rows, self.layouts, self.lengths, strict=True
        ):
            if entry is not None:
                dt = blk.little if lay.little else blk.big
                if len(entry.offsets) == k:
                    _take_fields(r, entry, dt, out[:, start : start + m])
                else:
                    sub = np.empty((len(entry.offsets), m, *shape[2:]), dtype=native)
                    dense = _BlockUse(np.arange(len(entry.offsets)), entry.byte_idx, entry.offsets)
                    _take_fields(r, dense, dt, sub)
                    out[entry.rows, start : start + m] = sub
                if absent is not None:
                    absent[entry.rows, start : start + m] = False
            start += m
        if self.order is not None:
            # take along an axis: about twice as fast as out[:, order]
            out = out.take(self.order, axis=1)
            if absent is not None:
                absent = absent.take(self.order, axis=1)
        return out, absent

    def decode_block(self, blk: _Block) -> None:
        """All of a block's columns at once: one test for the invalid values, one
        conversion, one Arrow array, sliced into the columns."""
        raw, absent = self.block_values(blk)
        bad = _block_invalid(blk, raw, absent)
        if blk.kind in ("dt", "ldt"):
            arr = self.block_times(blk, raw, bad)
        else:
            arr = _block_array(blk, raw, bad.reshape(-1))
        if blk.kind == "arr":
            self.block_lists(blk, raw, absent, arr)
            return
        cols = self.cols
        n = raw.shape[1]
        if len(blk.names) == 1:
            cols[blk.names[0]] = arr
            return
        for r, name in enumerate(blk.names):
            cols[name] = arr.slice(r * n, n)

    def block_times(self, blk: _Block, raw: np.ndarray, bad: np.ndarray) -> pa.Array:
        """A "dt" or "ldt" block as timestamps; relative date_time values (seconds since
        the device powered on) go to each column's system-time column instead."""
        early = raw < _MIN_ABS_TIME
        if blk.kind == "dt" and np.count_nonzero(early):
            relative = early & ~bad
            rows = np.flatnonzero(relative.any(axis=1)).tolist()
            for r in rows:
                self.cols[blk.names[r] + SYSTEM_TIME_SUFFIX] = _arrow(
                    _seconds(raw[r]), ~relative[r]
                )
            if rows:
                self.system = True
        stamps = _seconds(raw)
        late = stamps > _MAX_ABS_TIME
        stamps[late] = 0
        stamps += FIT_EPOCH_S
        early |= bad | late
        kind = _TS_TYPE if blk.kind == "dt" else _LOCAL_TYPE
        return _arrow_c(stamps.reshape(-1), early.reshape(-1), kind)

    def block_lists(
        self, blk: _Block, raw: np.ndarray, absent: np.ndarray | None, arr: pa.Array
    ) -> None:
        """An "arr" block's columns: one fixed-size list per field, sliced from ``arr``.

        A byte array is one value: null when every byte is 0xFF; an absent field is null.
        """
        row_null = np.all(raw == 0xFF, axis=2) if blk.base.number == 13 else absent
        if row_null is not None and absent is not None and blk.base.number == 13:
            row_null |= absent
        size = raw.shape[1] * blk.count
        for r, name in enumerate(blk.names):
            mask = None
            if row_null is not None and np.count_nonzero(row_null[r]):
                mask = pa.array(row_null[r])
            self.cols[name] = pa.FixedSizeListArray.from_arrays(
                arr.slice(r * size, size), blk.count, mask=mask
            )

    def decode_single(self, name: str, uses: list[tuple[_Field, FieldSpec | None] | None]) -> None:
        """A column decoded per definition (strings, wide enums, mixed types), merged."""
        parts: dict[str, list[pa.Array | None]] = {}
        for i, use in enumerate(uses):
            if use is not None:
                f, spec = use
                for col, arr in _field_columns(
                    self.rows[i], f, self.layouts[i], spec, name
                ).items():
                    parts.setdefault(col, [None] * len(uses))[i] = arr
        for col, part in parts.items():
            self.cols[col] = self.merge(part)
            if col.endswith(SYSTEM_TIME_SUFFIX):
                self.system = True

    # -- components -----------------------------------------------------------------------
    def components(self) -> None:
        """Expand components (e.g. speed into enhanced_speed) into their target columns.

        A definition's target column is its field where valid, else the component's value
        (an enum target: the field if the definition has one, else the component).
        """
        fields = dict(self.cols)  # components expand the fields' values, not other expansions
        for target, es in self.plan.expansions.items():
            self.expand_target(target, es, fields)

    def expand_target(self, target: str, es: list[_Expansion], fields: dict[str, pa.Array]) -> None:
        """One component target's column."""
        cols = self.cols
        existing = cols.get(target)
        tspec = self.plan.enum_targets.get(target)
        is_enum = tspec is not None and _is_enum(tspec)
        if existing is not None:
            if len(self.layouts) > 1:
                cols[target] = self.expand_per_def(target, es)
                return
            if is_enum:
                return
            if existing.null_count == 0:
                # Nothing to fill in: the field as a float64 (what filling would give).
                if pa.types.is_integer(existing.type):
                    cols[target] = existing.cast(pa.float64())
                return
        source = self.plan.same_as.get(target)
        if source is not None:
            col = fields[source]
            cols[target] = col if col.type == pa.float64() else col.cast(pa.float64())
            self.out_names.append(target)
            return
        values, bad = self.component_values(es)
        if is_enum:
            assert tspec is not None
            names = enum_names(tspec.type_name, values.astype(np.int64))
            cols[target] = pa.array(names, type=pa.string(), mask=bad)
            self.out_names.append(target)
        elif existing is not None:
            if pa.types.is_floating(existing.type) or pa.types.is_integer(existing.type):
                cols[target] = _fill(existing, values, bad)
        else:
            cols[target] = _arrow(values, bad)
            self.out_names.append(target)

    def component_values(self, es: list[_Expansion]) -> tuple[np.ndarray, np.ndarray]:
        """A target's component values for every row in file order, and where they are
        invalid (the rows of a definition without the component are invalid)."""
        if len(self.layouts) == 1:
            return _expand(es[0], self.rows[0], self.layouts[0].little)
        values = np.zeros(self.n)
        bad = np.ones(self.n, dtype=bool)
        starts = np.cumsum([0, *self.lengths])
        for e in es:
            i = e.def_index
            v, b = _expand(e, self.rows[i], self.layouts[i].little)
            values[starts[i] : starts[i + 1]] = v
            bad[starts[i] : starts[i + 1]] = b
        if self.order is not None:
            values, bad = values.take(self.order), bad.take(self.order)
        return values, bad

    def expand_per_def(self, target: str, es: list[_Expansion]) -> pa.Array:
        """A target that is also a field, in a message of several definitions: each
        definition's part as if decoded alone, merged (the first type seen wins)."""
        plan = self.plan
        tspec = plan.enum_targets.get(target)
        is_enum = tspec is not None and _is_enum(tspec)
        by_def = {e.def_index: e for e in es}
        uses = plan.uses.get(target) or [None] * len(self.layouts)
        parts: list[pa.Array | None] = []
        for i, lay in enumerate(self.layouts):
            use = uses[i]
            rows = self.rows[i]
            own = _field_columns(rows, use[0], lay, use[1], target)[target] if use else None
            part = own
            e = by_def.get(i)
            if e is not None:
                values, bad = _expand(e, rows, lay.little)
                if is_enum:
                    if own is None:
                        assert tspec is not None
                        names = enum_names(tspec.type_name, values.astype(np.int64))
                        part = pa.array(names, type=pa.string(), mask=bad)
                elif own is None:
                    part = _arrow(values, bad)
                elif pa.types.is_floating(own.type) or pa.types.is_integer(own.type):
                    part = _fill(own, values, bad)
            parts.append(part)
        return self.merge(parts)

    def hr_arrays(self) -> None:
        """The hr message's event times and heart rates, one list per message (``_fithr``);
        the plan leaves these fields to it (the generic columns hold one value per field
        and one component per target)."""
        parts = [
            HrFields(
                len(rows),
                _raw_matrix(rows, lay, EVENT_TIMESTAMP, "u4"),
                _raw_matrix(rows, lay, EVENT_TIMESTAMP_12, "u1"),
                _raw_matrix(rows, lay, FILTERED_BPM, "u1"),
            )
            for lay, rows in zip(self.layouts, self.rows, strict=True)
        ]
        for name, arr in hr_columns(parts, self.order).items():
            if name not in self.cols:
                self.out_names.append(name)
            self.cols[name] = arr

    # -- developer fields, compressed timestamps ------------------------------------------
    def dev_columns(self, first_desc: dict[tuple[int, int], _DevDesc]) -> None:
        """Developer field columns, each definition's with the descriptions in force when
        it was read (a field described only after it: its first description)."""
        parts: dict[str, list[pa.Array | None]] = {}
        for i, lay in enumerate(self.layouts):
            bound = self.defs[i].dev
            for dev_index, num, offset, fsize in lay.dev_fields:
                desc = bound.get((dev_index, num)) or first_desc.get((dev_index, num))
                if desc is None:
                    continue
                arr = _dev_column(self.rows[i], desc, offset, fsize, lay.little)
                if arr is not None:
                    parts.setdefault(f"dev:{desc.name}", [None] * len(self.layouts))[i] = arr
        for name, part in parts.items():
            if name not in self.cols:
                self.out_names.append(name)
            self.cols[name] = self.merge(part)

    def compressed_timestamps(self) -> None:
        cols = self.cols
        cts = np.full(self.n, -1, dtype=np.int64)
        at = 0
        for d in self.defs:
            for chunk, ts in zip(d.chunks, d.cts, strict=True):
                if ts is not None:
                    cts[at : at + len(chunk)] = ts
                at += len(chunk)
        if self.order is not None:
            cts = cts.take(self.order)
        have = cts >= _MIN_ABS_TIME  # relative (system) time is not a UTC time
        secs = np.where(have, cts, 0) + FIT_EPOCH_S
        compressed = _arrow(secs, ~have, _TS_TYPE)
        if "timestamp" in cols:
            # A timestamp field that is not a time (a corrupt definition) gives way.
            own = cols["timestamp"]
            cols["timestamp"] = pc.coalesce(own, compressed) if own.type == _TS_TYPE else compressed
        else:
            cols["timestamp"] = compressed
            self.out_names.append("timestamp")
        relative = (cts >= 0) & ~have
        if np.count_nonzero(relative):
            system = _arrow(cts, ~relative)
            key = "timestamp" + SYSTEM_TIME_SUFFIX
            if key not in cols:
                self.out_names.append(key)
            elif cols[key].type == system.type:
                system = pc.coalesce(cols[key], system)
            cols[key] = system


# -- small messages: decoded from Python values, one Arrow array per type per file -----------

_STRUCT = {
    "u1": "B", "i1": "b", "u2": "H", "i2": "h", "u4": "I", "i4": "i",
    "u8": "Q", "i8": "q", "f4": "f", "f8": "d",
}  # fmt: skip
_INTEGER = frozenset({"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8"})


@dataclass(frozen=True, slots=True)
class _TinyColumn:
    """How one column's value is read from a message's unpacked tuple."""

    name: str
    kind: str  # raw, scaled, dt, ldt, enum, str, arr
    index: int  # its first value in the tuple
    count: int
    type: pa.DataType
    type_key: int  # index of the type in _TYPES
    invalid: int | None
    floats: bool
    scale: float | None
    offset: float | None
    names: dict[int, str] | None  # enum names
    byte_array: bool  # a byte array: null when every byte is 0xFF, no null bytes

    conv: Callable[[Any], object] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "conv", self.converter())

    def converter(self) -> Callable[[Any], object]:
        """One raw value to Python (None: null), exactly as the numpy path computes it.

        Scales and offsets apply as ``float(v) / scale - offset`` with 1.0 and 0.0 for the
        missing ones: the same doubles as leaving them out.
        """
        kind, inv = self.kind, self.invalid
        sc = 1.0 if self.scale is None else self.scale
        of = 0.0 if self.offset is None else self.offset
        if kind == "str":
            return _text
        if kind == "raw" or (kind == "arr" and self.scale is None and self.offset is None):
            if self.floats:
                return lambda v: None if math.isnan(v) else v
            return _same if inv is None else lambda v: None if v == inv else v
        if kind == "enum":
            get = (self.names or {}).get
            return lambda v: None if v == inv else (n if (n := get(v)) is not None else str(v))
        if kind in ("dt", "ldt"):
            return lambda v: (
                None if v == inv or v < _MIN_ABS_TIME or v > _MAX_ABS_TIME else v + FIT_EPOCH_S
            )
        if self.floats:
            return lambda v: None if math.isnan(v) else v / sc - of
        if inv is None:
            return lambda v: float(v) / sc - of
        return lambda v: None if v == inv else float(v) / sc - of


def _same(v: Any) -> object:
    return v


@dataclass(frozen=True, slots=True)
class _TinyPlan:
    unpack: Callable[[bytes, int], tuple[object, ...]]
    columns: tuple[_TinyColumn, ...]


_TINY_PLANS: dict[int, _TinyPlan | None] = {}  # layout uid -> plan (None: use numpy)
_TYPES: list[pa.DataType] = []  # the Arrow types of small messages' columns, by key
_TYPE_KEYS: dict[pa.DataType, int] = {}  # (hashing an Arrow type costs a microsecond)


_TYPE_LOCK = threading.Lock()


def _type_key(type_: pa.DataType) -> int:
    with _TYPE_LOCK:
        key = _TYPE_KEYS.get(type_)
        if key is None:
            key = _TYPE_KEYS[type_] = len(_TYPES)
            _TYPES.append(type_)
        return key


_UNKNOWN: Any = object()


def _tiny_plan(layout: _Layout) -> _TinyPlan | None:
    """The Python decoding of a definition's fields (None: leave it to numpy)."""
    known: _TinyPlan | None = _TINY_PLANS.get(layout.uid, _UNKNOWN)
    if known is not _UNKNOWN:
        return known
    plan = _plan([layout])
    fmt = "<" if layout.little else ">"
    index_of: dict[int, int] = {}
    i = 0
    for f in layout.fields:
        index_of[f.offset] = i
        if f.base.fmt == "S":
            fmt += f"{f.size}s"
            i += 1
        else:
            fmt += f"{f.count}{_STRUCT[f.base.fmt]}"
            i += f.count
    columns: list[_TinyColumn] = []
    for name in plan.names:
        use = plan.uses[name][0]
        assert use is not None
        f, spec = use
        kind = _kind(f, spec)
        if kind == "enumx":
            kind = "enum"
        if kind in ("enum", "dt", "ldt") and f.base.fmt not in _INTEGER:
            _TINY_PLANS[layout.uid] = None  # an enum or a time in a float field: numpy's
            return None
        scaled = spec is not None and (spec.scale is not None or spec.offset is not None)
        if f.base.fmt == "S":
            type_ = pa.string()
        else:
            raw_type = pa.from_numpy_dtype(np.dtype(f.base.fmt))
            type_ = {
                "raw": raw_type,
                "scaled": _F64,
                "dt": _TS_TYPE,
                "ldt": _LOCAL_TYPE,
                "enum": pa.string(),
                "arr": pa.list_(_F64 if scaled else raw_type, f.count),
            }[str(kind)]
        assert kind is not None
        columns.append(
            _TinyColumn(
                name=name,
                kind=kind,
                index=index_of[f.offset],
                count=f.count,
                type=type_,
                type_key=_type_key(type_),
                invalid=f.base.invalid,
                floats=f.base.fmt in ("f4", "f8"),
                scale=spec.scale if spec is not None and scaled else None,
                offset=spec.offset if spec is not None and scaled else None,
                names=enum_map(spec.type_name) if kind == "enum" and spec else None,
                byte_array=f.base.number == 13,
            )
        )
    tiny = _TinyPlan(struct.Struct(fmt).unpack_from, tuple(columns))
    _TINY_PLANS[layout.uid] = tiny
    return tiny


class _Batch:
    """The columns of a file's small messages: values gathered in Python lists, one Arrow
    array per type for the whole file, sliced into the messages' columns."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.values: dict[int, list[Any]] = {}  # type key -> values
        self.slots: list[tuple[dict[str, pa.Array], str, int, int, int]] = []

    def add(self, msg: _Message, tiny: _TinyPlan) -> None:
        rows = [tiny.unpack(self.buf, p + 1) for p in msg.positions[0].tolist()]
        n = len(rows)
        values = self.values
        slots = self.slots
        cols = msg.cols
        for col in tiny.columns:
            key = col.type_key
            out = values.get(key)
            if out is None:
                out = values[key] = []
            start = len(out)
            i = col.index
            conv = col.conv
            if col.kind == "arr":
                for row in rows:
                    vals = row[i : i + col.count]
                    if col.byte_array and all(v == 0xFF for v in vals):
                        out.append(None)  # a byte array is one value
                    else:
                        out.append([conv(v) for v in vals])
            elif n == 1:
                out.append(conv(rows[0][i]))
            else:
                out.extend([conv(row[i]) for row in rows])
            slots.append((cols, col.name, key, start, n))
            if col.kind == "dt":
                raw: list[Any] = [row[i] for row in rows]
                if any(v != col.invalid and v < _MIN_ABS_TIME for v in raw):
                    relative = [v if v != col.invalid and v < _MIN_ABS_TIME else None for v in raw]
                    cols[col.name + SYSTEM_TIME_SUFFIX] = pa.array(relative, type=pa.int64())
                    msg.system = True

    def build(self) -> None:
        arrays = {k: pa.array(v, type=_TYPES[k]) for k, v in self.values.items()}
        for cols, name, key, start, n in self.slots:
            arr = arrays[key]
            cols[name] = arr if n == len(arr) else arr.slice(start, n)


def _fill(own: pa.Array, values: np.ndarray, bad: np.ndarray) -> pa.Array:
    """A numeric column as float64, its nulls filled from a component's values."""
    own_values = own.to_numpy(zero_copy_only=False).astype(np.float64)
    own_bad = np.asarray(own.is_null())
    return _arrow(np.where(own_bad, values, own_values), own_bad & bad)


def _expand(e: _Expansion, rows: np.ndarray, little: bool) -> tuple[np.ndarray, np.ndarray]:
    """A component's values (float64, scaled) and where they are invalid."""
    f, comp = e.field, e.comp
    raw = _field_values(rows, f, little)
    vals, bad = _component_values(raw, f.base, f.count, comp.bits, comp.bit_offset)
    if comp.accumulate:
        values = _accumulate(vals, bad, comp.bits)
    else:
        values = vals.astype(np.float64)
        if comp.bits < 64:
            bad = bad | (vals == np.uint64((1 << comp.bits) - 1))
    return _scaled(values, comp.scale, comp.offset).astype(np.float64, copy=False), bad


def decode_fit(
    data: bytes,
    *,
    source: str = "",
    on_error: OnError = "warn",
    messages: Collection[str] | None = None,
) -> FitFile:
    """Decode a whole FIT file (all chained segments) into one Arrow table per message.

    ``messages`` limits decoding to these message names (all when None). Raises a
    :class:`~runlake._errors.FitError` naming ``source`` and the byte offset when nothing can
    be salvaged, or on the first problem when ``on_error="raise"``.
    """
    walker = _Walker(bytes(data), source, on_error, messages)
    n_segments = walker.walk_file()
    if not any(d.chunks for d in walker.all_defs) and walker.problems:
        first = walker.problems[0]
        cls = {c.__name__: c for c in (FitCRCError, FitDefinitionError, FitTruncatedError)}
        raise cls.get(first.kind, FitError)(
            f"nothing could be decoded: {first.message}", source=source, offset=first.offset
        )
    by_msg: dict[str, list[_Def]] = {}
    for d in walker.all_defs:
        if d.chunks:
            by_msg.setdefault(d.layout.name, []).append(d)
    decoded = {name: _Message(walker.buf, defs) for name, defs in by_msg.items()}
    batch = _Batch(walker.buf)
    for msg in decoded.values():
        tiny = msg.tiny()
        if tiny is None:
            msg.decode_fields()
        else:
            batch.add(msg, tiny)
    batch.build()
    tables = {name: msg.table(walker.first_desc) for name, msg in decoded.items()}
    dev = {
        f"dev:{desc.name}": DevField(desc.name, desc.units, idx, num)
        for (idx, num), desc in walker.descriptions
    }
    return FitFile(tables, dev, tuple(walker.problems), n_segments, len(data))
