"""A columnar FIT decoder.

Python walks the message boundaries; every run of consecutive data messages that share a
definition is taken as one strided numpy view (no copy, no per-message Python), and each
definition's rows are decoded column by column at the end: invalid values become nulls,
scales, offsets, components and enum names come from the FIT profile (``_fitprofile``).

Chained files (several FIT files in one), compressed-timestamp headers, developer fields,
big-endian definitions, 12- and 14-byte headers (a header CRC of 0 means "not computed")
are handled. Every CRC is checked with a compiled CRC-16/ARC. Problems that leave the rest
of the file usable (a bad CRC, a truncated tail, trailing garbage) raise with
``on_error="raise"`` and are recorded as :class:`~runlake._errors.Problem` with
``on_error="warn"``; a file with nothing to salvage always raises a :class:`FitError`.
The work is bounded by the file's size: every loop step consumes at least one byte.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from dataclasses import dataclass, field

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
)

from ._fitprofile import (
    BASE_TYPES,
    BaseType,
    FieldSpec,
    enum_names,
    field_number,
    field_spec,
    is_enum_type,
    message_name,
)

__all__ = ["FIT_EPOCH_S", "SYSTEM_TIME_SUFFIX", "DevField", "FitFile", "decode_fit", "fit_crc16"]

FIT_EPOCH_S = 631065600  # 1989-12-31T00:00:00Z in Unix seconds
_MIN_ABS_TIME = 0x10000000  # date_time values below this are relative (system time)
_TIMESTAMP = 253
_FIELD_DESCRIPTION = 206
_TS_TYPE = pa.timestamp("s", tz="UTC")
_LOCAL_TYPE = pa.timestamp("s")
SYSTEM_TIME_SUFFIX = "__system_s"


def fit_crc16(data: bytes | memoryview) -> int:
    """CRC-16/ARC as the FIT protocol defines it (compiled; matches the SDK's table)."""
    return int(crc16.arc(bytes(data)))


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


@dataclass(slots=True)
class _Def:
    global_num: int
    little: bool
    size: int
    dtype: np.dtype
    fields: list[tuple[str, int, BaseType, int]]  # (dtype name, field num, base type, count)
    dev_fields: list[tuple[str, int, int, int]]  # (dtype name, dev index, field num, size)
    ts_offset: int | None  # byte offset of the timestamp field, if any
    runs: list[tuple[int, int, int, np.ndarray | None]] = field(default_factory=list)
    # (first message byte offset, stride, count, compressed timestamps or None)


@dataclass(slots=True)
class _DevDesc:
    name: str
    base: BaseType
    scale: float | None
    offset: float | None
    units: str | None


class _Walker:
    def __init__(self, buf: bytes, source: str, on_error: OnError, wanted: Collection[str] | None):
        self.buf = buf
        self.u8 = np.frombuffer(buf, dtype=np.uint8)
        self.source = source
        self.on_error = on_error
        self.wanted = wanted
        self.problems: list[Problem] = []
        self.all_defs: list[_Def] = []
        self.dev_desc: dict[tuple[int, int], _DevDesc] = {}
        self.def_cache: dict[bytes, _Def] = {}

    # -- problems -------------------------------------------------------------------------
    def problem(self, exc: FitError) -> None:
        """Raise (strict) or record a problem that leaves what came before usable."""
        if self.on_error == "raise":
            raise exc
        self.problems.append(Problem(type(exc).__name__, exc.message, exc.offset))

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
        if fcrc != fit_crc16(buf[start:data_end]) and fcrc != fit_crc16(buf[data_start:data_end]):
            self.problem(
                self.fatal(
                    FitCRCError,
                    f"file CRC 0x{fcrc:04X} does not match the data "
                    f"(0x{fit_crc16(buf[start:data_end]):04X})",
                    data_end,
                )
            )
        return int(data_end + 2)

    # -- message level ----------------------------------------------------------------------
    def walk_messages(self, pos: int, end: int) -> int | None:
        """Walk messages in [pos, end). Return None when complete, else where it stopped."""
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
                stride = d.size + 1
                count = self.run_length(pos, stride, end, 0xE0, h & 0xE0)
                if count == 0:
                    return self.stop_truncated(pos, end)
                offs = self.u8[pos : pos + count * stride : stride].astype(np.int64) & 0x1F
                delta = np.empty(count, dtype=np.int64)
                delta[0] = (offs[0] - (last_ts & 0x1F)) & 0x1F
                delta[1:] = (offs[1:] - offs[:-1]) & 0x1F
                ts = last_ts + np.cumsum(delta)
                last_ts = int(ts[-1])
                d.runs.append((pos + 1, stride, count, ts))
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
                stride = d.size + 1
                count = self.run_length(pos, stride, end, 0xFF, h)
                if count == 0:
                    return self.stop_truncated(pos, end)
                d.runs.append((pos + 1, stride, count, None))
                if d.ts_offset is not None:
                    at = pos + (count - 1) * stride + 1 + d.ts_offset
                    (t,) = struct.unpack_from("<I" if d.little else ">I", buf, at)
                    if t != 0xFFFFFFFF:
                        last_ts = t
                if d.global_num == _FIELD_DESCRIPTION:
                    self.read_field_descriptions(d, pos + 1, stride, count)
                pos += count * stride
        return None

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
        if pos + 6 > end:
            self.stop_truncated(pos, end)
            return None
        # Devices often repeat the same definition; identical layouts share one _Def so that
        # their rows are decoded together.
        n_fields = buf[pos + 5]
        stop = pos + 6 + 3 * n_fields
        if has_dev and stop < end:
            stop += 1 + 3 * buf[stop]
        if stop <= end:
            key = bytes([has_dev]) + buf[pos + 1 : stop]
            cached = self.def_cache.get(key)
            if cached is not None:
                return cached, stop
        parsed = self._parse_definition(pos, end, has_dev)
        if parsed is not None:
            self.def_cache[key] = parsed[0]
        return parsed

    def _parse_definition(self, pos: int, end: int, has_dev: bool) -> tuple[_Def, int] | None:
        buf = self.buf
        little = buf[pos + 2] == 0
        endian = "<" if little else ">"
        (global_num,) = struct.unpack_from(endian + "H", buf, pos + 3)
        n_fields = buf[pos + 5]
        p = pos + 6
        if p + 3 * n_fields + (1 if has_dev else 0) > end:
            self.stop_truncated(pos, end)
            return None
        names: list[str] = []
        formats: list[object] = []
        offsets: list[int] = []
        fields: list[tuple[str, int, BaseType, int]] = []
        dev_fields: list[tuple[str, int, int, int]] = []
        ts_offset: int | None = None
        size = 0
        order = "<" if little else ">"
        for i in range(n_fields):
            num, fsize, bt = buf[p], buf[p + 1], buf[p + 2]
            p += 3
            base = BASE_TYPES.get(bt & 0x1F, BASE_TYPES[13])
            name = f"f{num}_{i}"
            if fsize == 0:
                continue
            if base.fmt == "S":
                fmt: object = f"S{fsize}"
                count = 1
            elif fsize % base.size != 0:
                # Misaligned field (seen in a COROS file): keep its bytes, decode nothing.
                self.problems.append(
                    Problem(
                        "FitDefinitionError",
                        f"field {num} of message {message_name(global_num)} has size {fsize}, "
                        f"not a multiple of its {base.name} size {base.size}; read as bytes",
                        pos,
                    )
                )
                base = BASE_TYPES[13]
                fmt = (np.uint8, fsize) if fsize > 1 else np.uint8
                count = fsize
            else:
                count = fsize // base.size
                scalar = np.dtype(order + base.fmt) if base.size > 1 else np.dtype(base.fmt)
                fmt = (scalar, count) if count > 1 else scalar
            names.append(name)
            formats.append(fmt)
            offsets.append(size)
            fields.append((name, num, base, count))
            if num == _TIMESTAMP and base.size == 4 and count == 1:
                ts_offset = size
            size += fsize
        if has_dev:
            n_dev = buf[p]
            p += 1
            if p + 3 * n_dev > end:
                self.stop_truncated(pos, end)
                return None
            for i in range(n_dev):
                num, fsize, dev_index = buf[p], buf[p + 1], buf[p + 2]
                p += 3
                if fsize == 0:
                    continue
                name = f"d{dev_index}_{num}_{i}"
                names.append(name)
                formats.append(f"V{fsize}")
                offsets.append(size)
                dev_fields.append((name, dev_index, num, fsize))
                size += fsize
        dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": size})
        d = _Def(global_num, little, size, dtype, fields, dev_fields, ts_offset)
        if self.wanted is None or message_name(global_num) in self.wanted:
            self.all_defs.append(d)
        return d, p

    def read_field_descriptions(self, d: _Def, first: int, stride: int, count: int) -> None:
        """Read developer field descriptions now: later definitions' columns depend on them."""
        view = np.ndarray((count,), dtype=d.dtype, buffer=self.buf, offset=first, strides=(stride,))
        for row in range(count):
            vals: dict[int, object] = {}
            for name, num, base, cnt in d.fields:
                if cnt != 1 and base.fmt != "S":
                    continue
                v = view[name][row]
                if base.fmt == "S":
                    vals[num] = bytes(v).split(b"\0", 1)[0].decode("utf-8", "replace") or None
                elif base.invalid is not None and int(v) == base.invalid:
                    vals[num] = None
                else:
                    vals[num] = v.item()
            dev_index, number, bt = vals.get(0), vals.get(1), vals.get(2)
            if not isinstance(dev_index, int) or not isinstance(number, int):
                continue
            if not isinstance(bt, int):
                bt = 13
            scale, offset = vals.get(6), vals.get(7)
            self.dev_desc[(dev_index, number)] = _DevDesc(
                name=str(vals.get(3) or f"developer_{dev_index}_{number}"),
                base=BASE_TYPES.get(bt & 0x1F, BASE_TYPES[13]),
                scale=float(scale) if isinstance(scale, int | float) and scale else None,
                offset=float(offset) if isinstance(offset, int | float) and offset else None,
                units=str(vals[8]) if vals.get(8) else None,
            )


# -- column decoding ------------------------------------------------------------------------


def _rows(u8: np.ndarray, d: _Def) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """All rows of a definition as one structured array, their byte offsets, compressed ts."""
    stride = d.size + 1
    firsts = np.fromiter((r[0] for r in d.runs), dtype=np.int64, count=len(d.runs))
    counts = np.fromiter((r[2] for r in d.runs), dtype=np.int64, count=len(d.runs))
    total = int(counts.sum())
    run_start = np.cumsum(counts) - counts
    within = np.arange(total, dtype=np.int64) - np.repeat(run_start, counts)
    pos = np.repeat(firsts, counts) + stride * within
    if d.size:
        block = u8[pos[:, None] + np.arange(d.size, dtype=np.int64)]
        rows = block.view(d.dtype).reshape(total)
    else:
        rows = np.zeros(total, dtype=d.dtype)
    cts: np.ndarray | None = None
    for i, (_first, _stride, count, ts) in enumerate(d.runs):
        if ts is not None:
            if cts is None:
                cts = np.full(total, -1, dtype=np.int64)
            at = int(run_start[i])
            cts[at : at + count] = ts
    return rows, pos, cts


def _system_time(raw: np.ndarray, base: BaseType) -> pa.Array | None:
    """Seconds since the device powered on, for date_time values that are relative."""
    secs = raw.astype(np.int64)
    relative = (secs < _MIN_ABS_TIME) & ~_invalid(raw, base)
    if not relative.any():
        return None
    return pa.array(secs, type=pa.int64(), mask=~relative)


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
    vals = [bytes(x).split(b"\0", 1)[0].decode("utf-8", "replace") or None for x in raw]
    return pa.array(vals, type=pa.string())


def _numeric_column(
    raw: np.ndarray, base: BaseType, spec: FieldSpec | None, count: int
) -> pa.Array:
    bad = _invalid(raw, base)
    if count > 1:
        values = _scaled(raw, spec.scale, spec.offset) if spec else raw
        flat = pa.array(values.reshape(-1), mask=bad.reshape(-1))
        # A byte array is one value: null when every byte is 0xFF.
        row_null = pa.array(np.all(raw == 0xFF, axis=1)) if base.number == 13 else None
        return pa.FixedSizeListArray.from_arrays(flat, count, mask=row_null)
    if spec is not None:
        if spec.type_name == "date_time":
            secs = raw.astype(np.int64)
            bad = bad | (secs < _MIN_ABS_TIME)
            return pa.array(secs + FIT_EPOCH_S, type=pa.int64(), mask=bad).cast(_TS_TYPE)
        if spec.type_name == "local_date_time":  # the device's wall clock: no time zone
            secs = raw.astype(np.int64)
            bad = bad | (secs < _MIN_ABS_TIME)
            return pa.array(secs + FIT_EPOCH_S, type=pa.int64(), mask=bad).cast(_LOCAL_TYPE)
        if spec.enum and spec.scale is None and _is_enum_base(spec):
            return pa.array(enum_names(spec.type_name, raw), type=pa.string(), mask=bad)
        return pa.array(_scaled(raw, spec.scale, spec.offset), mask=bad)
    return pa.array(raw, mask=bad)


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


def _is_enum_base(spec: FieldSpec) -> bool:
    return is_enum_type(spec.type_name)


def _target_num(global_num: int, target: str) -> int:
    return field_number(global_num, target)


def _unify(parts: list[pa.Table]) -> list[pa.Table]:
    """Make same-named columns of several definitions' tables share one type.

    The first type seen wins; a column that cannot be cast to it becomes null in that part.
    """
    types: dict[str, pa.DataType] = {}
    for t in parts:
        for f in t.schema:
            types.setdefault(f.name, f.type)
    out = []
    for t in parts:
        cols = {}
        for f in t.schema:
            col = t[f.name]
            want = types[f.name]
            if f.type != want:
                try:
                    col = col.cast(want)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                    col = pa.nulls(len(t), want)
            cols[f.name] = col
        out.append(pa.table(cols))
    return out


def _decode_def(buf: bytes, d: _Def, dev_desc: dict[tuple[int, int], _DevDesc]) -> pa.Table:
    rows, pos, cts = _rows(np.frombuffer(buf, dtype=np.uint8), d)
    cols: dict[str, pa.Array] = {}
    comp_cols: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, num, base, count in d.fields:
        raw = rows[name]
        if not d.little and base.size > 1:
            raw = raw.astype(raw.dtype.newbyteorder("="))
        spec = field_spec(d.global_num, num)
        col_name = spec.name if spec else f"field_{num}"
        if col_name in cols:
            continue
        if base.fmt == "S":
            cols[col_name] = _strings(raw)
        elif base.number == 13 and spec is None:
            continue  # unknown byte blobs carry nothing an activity needs
        else:
            cols[col_name] = _numeric_column(raw, base, spec, count)
            if spec is not None and spec.type_name == "date_time" and count == 1:
                system = _system_time(raw, base)
                if system is not None:
                    cols[col_name + SYSTEM_TIME_SUFFIX] = system
        if spec is not None:
            for comp in spec.components:
                vals, bad = _component_values(raw, base, count, comp.bits, comp.bit_offset)
                if comp.accumulate:
                    values = _accumulate(vals, bad, comp.bits)
                else:
                    values = vals.astype(np.float64)
                    if comp.bits < 64:
                        bad = bad | (vals == np.uint64((1 << comp.bits) - 1))
                values = _scaled(values, comp.scale, comp.offset).astype(np.float64)
                comp_cols[comp.target] = (values, bad)
    for target, (values, bad) in comp_cols.items():
        tspec = field_spec(d.global_num, _target_num(d.global_num, target))
        if tspec is not None and tspec.enum and tspec.scale is None and _is_enum_base(tspec):
            if target not in cols:
                cols[target] = pa.array(
                    enum_names(tspec.type_name, values.astype(np.int64)), type=pa.string(), mask=bad
                )
            continue
        if target in cols and (
            pa.types.is_floating(cols[target].type) or pa.types.is_integer(cols[target].type)
        ):
            existing = cols[target]
            own = existing.to_numpy(zero_copy_only=False).astype(np.float64)
            own_bad = np.asarray(existing.is_null())
            merged = np.where(own_bad, values, own)
            cols[target] = pa.array(merged, mask=own_bad & bad)
        elif target not in cols:
            cols[target] = pa.array(values, mask=bad)
    for name, dev_index, num, fsize in d.dev_fields:
        desc = dev_desc.get((dev_index, num))
        if desc is None:
            continue
        base = desc.base
        if base.fmt == "S":
            cols[f"dev:{desc.name}"] = _strings(rows[name].view(f"S{fsize}"))
            continue
        if fsize % base.size:
            continue
        count = fsize // base.size
        order = "<" if d.little else ">"
        dt = np.dtype(order + base.fmt) if base.size > 1 else np.dtype(base.fmt)
        raw = np.frombuffer(rows[name].tobytes(), dtype=dt).reshape(-1, count)
        if not d.little and base.size > 1:
            raw = raw.astype(raw.dtype.newbyteorder("="))
        if count == 1:
            raw = raw[:, 0]
        bad = _invalid(raw, base)
        vals = _scaled(raw, desc.scale, desc.offset)
        if count == 1:
            cols[f"dev:{desc.name}"] = pa.array(vals, mask=bad)
        else:
            flat = pa.array(vals.reshape(-1), mask=bad.reshape(-1))
            cols[f"dev:{desc.name}"] = pa.FixedSizeListArray.from_arrays(flat, count)
    if cts is not None:
        have = cts >= _MIN_ABS_TIME  # relative (system) time is not a UTC time
        secs = np.where(have, cts, 0) + FIT_EPOCH_S
        compressed = pa.array(secs, type=pa.int64(), mask=~have).cast(_TS_TYPE)
        if "timestamp" in cols:
            cols["timestamp"] = pc.coalesce(cols["timestamp"], compressed)
        else:
            cols["timestamp"] = compressed
        relative = (cts >= 0) & ~have
        if relative.any():
            system = pa.array(cts, type=pa.int64(), mask=~relative)
            key = "timestamp" + SYSTEM_TIME_SUFFIX
            cols[key] = pc.coalesce(cols[key], system) if key in cols else system
    cols["_pos"] = pa.array(pos)
    return pa.table(cols)


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
    if not any(d.runs for d in walker.all_defs) and walker.problems:
        first = walker.problems[0]
        cls = {c.__name__: c for c in (FitCRCError, FitDefinitionError, FitTruncatedError)}
        raise cls.get(first.kind, FitError)(
            f"nothing could be decoded: {first.message}", source=source, offset=first.offset
        )
    by_msg: dict[str, list[pa.Table]] = {}
    for d in walker.all_defs:
        if not d.runs:
            continue
        by_msg.setdefault(message_name(d.global_num), []).append(
            _decode_def(walker.buf, d, walker.dev_desc)
        )
    tables: dict[str, pa.Table] = {}
    for name, parts in by_msg.items():
        if len(parts) == 1:
            t = parts[0]
        else:
            t = pa.concat_tables(_unify(parts), promote_options="default")
            t = t.take(pc.sort_indices(t["_pos"]))
        tables[name] = t.drop_columns(["_pos"])
    dev = {
        f"dev:{desc.name}": DevField(desc.name, desc.units, idx, num)
        for (idx, num), desc in walker.dev_desc.items()
    }
    return FitFile(tables, dev, tuple(walker.problems), n_segments, len(data))
