"""FIT inputs for the fuzzer: a tiny structure walker, mutators and a random-file generator.

Everything here is deterministic given a ``random.Random``: a case is reproduced from its
seed and index alone (see :func:`fuzz._cases.fit_case`). The walker is independent of
runlake's decoder on purpose (it only has to find where definitions and data messages
start, so that mutations can aim at them).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from fastcrc import crc16
from fitparse.profile import MESSAGE_TYPES

__all__ = [
    "FIT_MUTATORS",
    "FitLayout",
    "fix_crcs",
    "mutate_fit",
    "random_fit",
    "walk",
]

_BASE_SIZE = {0x00: 1, 0x01: 1, 0x02: 1, 0x07: 1, 0x0A: 1, 0x0D: 1}
_BASE_SIZE.update({0x83: 2, 0x84: 2, 0x8B: 2, 0x85: 4, 0x86: 4, 0x88: 4, 0x8C: 4})
_BASE_SIZE.update({0x89: 8, 0x8E: 8, 0x8F: 8, 0x90: 8})
_VALID_BASES = sorted(_BASE_SIZE)
_INVALID_BASES = [0x03, 0x08, 0x20, 0x7F, 0x80, 0x87, 0x91, 0xFF, 0x0E, 0x8D]
_INTERESTING_BYTES = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, 0x40, 0xC0, 0x0E, 0x0C]
# file_id, sport, session, lap, record, event, device_info, activity, field_description,
# developer_data_id, hrv, and some numbers that are not in the profile.
_GLOBALS = [0, 12, 18, 19, 20, 21, 23, 34, 206, 207, 78, 0xFF00, 0xFFFF, 1, 49, 300]
_DEV_NAMES = [
    "Power",
    "Form Power",
    "Ground Time",
    "Vertical Oscillation",
    "Leg Spring Stiffness",
    "Air Power",
    "Ground Contact Time",
    "",
    "x" * 64,
    "Pow\x00er",
    "\xff\xfe",
]
_DEV_UNITS = ["Watts", "cm", "Milliseconds", "ms", "KN/m", "mm", "", "centimeters", "w"]


def _crc(data: bytes) -> int:
    return int(crc16.arc(data))


@dataclass(slots=True)
class FitDef:
    """Where one definition message's bytes are (all offsets absolute)."""

    offset: int
    local: int
    arch: int
    global_num: int
    n_fields: int
    fields: list[tuple[int, int, int]] = field(default_factory=list)
    """(offset of the field's 3 bytes, size, base type)."""
    dev_count_offset: int | None = None
    dev_fields: list[int] = field(default_factory=list)
    """Offsets of the developer fields' 3 bytes."""


@dataclass(slots=True)
class FitLayout:
    """The message boundaries the walker found (stops quietly at the first oddity)."""

    header_size: int = 0
    data_end: int = 0
    defs: list[FitDef] = field(default_factory=list)
    data: list[tuple[int, int]] = field(default_factory=list)
    """(offset of the record header, message size without the header)."""
    segments: list[tuple[int, int]] = field(default_factory=list)
    """(start, end of data) of each chained FIT segment."""


def walk(buf: bytes) -> FitLayout:
    """Where each chained segment's definitions and data messages start."""
    out = FitLayout()
    start = 0
    while start + 12 <= len(buf):
        hsize = buf[start]
        if hsize < 12 or buf[start + 8 : start + 12] != b".FIT":
            break
        (data_size,) = struct.unpack_from("<I", buf, start + 4)
        end = min(len(buf), start + hsize + data_size)
        if not out.segments:
            out.header_size, out.data_end = hsize, end
        out.segments.append((start, end))
        _walk_messages(buf, start + hsize, end, out)
        start = end + 2
    return out


def _walk_messages(buf: bytes, pos: int, end: int, out: FitLayout) -> None:
    """The messages of one segment's data, in [pos, end), until the first oddity."""
    sizes: dict[int, int] = {}
    while pos < end:
        h = buf[pos]
        if h & 0x80:  # compressed timestamp header
            size = sizes.get((h >> 5) & 0x3)
            if size is None:
                return
            out.data.append((pos, size))
            pos += 1 + size
        elif h & 0x40:
            if pos + 6 > end:
                return
            d, size, pos = _walk_definition(buf, pos, end)
            out.defs.append(d)
            sizes[h & 0xF] = size
        else:
            size = sizes.get(h & 0xF)
            if size is None:
                return
            out.data.append((pos, size))
            pos += 1 + size


def _walk_definition(buf: bytes, pos: int, end: int) -> tuple[FitDef, int, int]:
    """The definition message at ``pos``: where its parts are, the size of its data
    messages, and where the next message starts (fields cut by ``end`` are left out)."""
    h = buf[pos]
    arch = buf[pos + 2]
    fmt = ">H" if arch == 1 else "<H"
    (gnum,) = struct.unpack_from(fmt, buf, pos + 3)
    nf = buf[pos + 5]
    d = FitDef(pos, h & 0xF, arch, gnum, nf)
    p = pos + 6
    size = 0
    for _ in range(nf):
        if p + 3 > end:
            break
        d.fields.append((p, buf[p + 1], buf[p + 2]))
        size += buf[p + 1]
        p += 3
    if h & 0x20 and p < end:
        d.dev_count_offset = p
        nd = buf[p]
        p += 1
        for _ in range(nd):
            if p + 3 > end:
                break
            d.dev_fields.append(p)
            size += buf[p + 1]
            p += 3
    return d, size, p


def fix_crcs(buf: bytes) -> bytes:
    """Recompute the header CRC (14-byte headers) and file CRC of every segment found."""
    b = bytearray(buf)
    start = 0
    while start + 12 <= len(b):
        hsize = b[start]
        if hsize < 12 or b[start + 8 : start + 12] != b".FIT":
            break
        if hsize >= 14 and start + 14 <= len(b):
            struct.pack_into("<H", b, start + 12, _crc(bytes(b[start : start + 12])))
        (data_size,) = struct.unpack_from("<I", b, start + 4)
        end = start + hsize + data_size
        if end + 2 > len(b):
            break
        struct.pack_into("<H", b, end, _crc(bytes(b[start:end])))
        start = end + 2
    return bytes(b)


# --------------------------------------------------------------------------- mutators

Mutator = Callable[[random.Random, bytes, bytes, FitLayout], tuple[bytes, str]]


def _offset(rng: random.Random, buf: bytes, lay: FitLayout) -> int:
    """An offset that is often near a structure boundary (where decoders are fragile)."""
    marks = [0, 12, 14, lay.data_end, lay.data_end + 2, len(buf)]
    marks += [d.offset for d in lay.defs] + [o for o, _ in lay.data[:: max(1, len(lay.data) // 50)]]
    r = rng.random()
    if r < 0.5 and marks:
        return max(0, min(len(buf), rng.choice(marks) + rng.randint(-3, 3)))
    return rng.randint(0, len(buf))


def m_truncate(rng: random.Random, buf: bytes, other: bytes, lay: FitLayout) -> tuple[bytes, str]:
    at = _offset(rng, buf, lay)
    return buf[:at], f"truncate at {at}"


def m_bitflip(rng: random.Random, buf: bytes, other: bytes, lay: FitLayout) -> tuple[bytes, str]:
    if not buf:
        return buf, "bitflip of nothing"
    b = bytearray(buf)
    where = []
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        i = rng.randrange(len(b))
        bit = rng.randrange(8)
        b[i] ^= 1 << bit
        where.append(f"{i}.{bit}")
    return bytes(b), "flip bits " + ",".join(where)


def m_byteset(rng: random.Random, buf: bytes, other: bytes, lay: FitLayout) -> tuple[bytes, str]:
    if not buf:
        return buf, "byteset of nothing"
    b = bytearray(buf)
    where = []
    for _ in range(rng.choice([1, 1, 2, 4, 16])):
        i = min(len(b) - 1, _offset(rng, buf, lay))
        v = rng.choice(_INTERESTING_BYTES) if rng.random() < 0.6 else rng.randrange(256)
        b[i] = v
        where.append(f"{i}={v:#x}")
    return bytes(b), "set bytes " + ",".join(where)


def m_splice(rng: random.Random, buf: bytes, other: bytes, lay: FitLayout) -> tuple[bytes, str]:
    i = _offset(rng, buf, lay)
    olay = walk(other)
    j = _offset(rng, other, olay)
    return buf[:i] + other[j:], f"splice own[:{i}] + other[{j}:]"


def m_zero_header(
    rng: random.Random, buf: bytes, other: bytes, lay: FitLayout
) -> tuple[bytes, str]:
    n = rng.choice([12, 14, 4, 8, 2])
    return b"\x00" * min(n, len(buf)) + buf[n:], f"zero the first {n} header bytes"


def m_header_field(
    rng: random.Random, buf: bytes, other: bytes, lay: FitLayout
) -> tuple[bytes, str]:
    b = bytearray(buf)
    if len(b) < 14:
        b += bytes(14 - len(b))
    what = rng.choice(["size", "data_size", "data_size", "protocol", "profile", "magic"])
    if what == "size":
        v = rng.choice([0, 1, 11, 12, 13, 15, 16, 64, 255, rng.randrange(256)])
        b[0] = v
    elif what == "data_size":
        v = rng.choice(
            [
                0,
                1,
                0xFFFFFFFF,
                0x7FFFFFFF,
                len(buf) * 1000,
                len(buf) - 15,
                len(buf) + 7,
                rng.randrange(2**32),
            ]
        )
        v = max(0, min(v, 0xFFFFFFFF))
        struct.pack_into("<I", b, 4, v)
    elif what == "protocol":
        v = rng.choice([0x00, 0x10, 0x20, 0x30, 0xFF, rng.randrange(256)])
        b[1] = v
    elif what == "profile":
        v = rng.choice([0, 0xFFFF, 100, 2140, 9999])
        struct.pack_into("<H", b, 2, v)
    else:
        v = 0
        b[8:12] = rng.choice([b".fit", b"FIT.", b"\x00\x00\x00\x00", b".FIX"])
    return bytes(b), f"header {what} = {v:#x}"


def m_definition(rng: random.Random, buf: bytes, other: bytes, lay: FitLayout) -> tuple[bytes, str]:
    if not lay.defs:
        return m_byteset(rng, buf, other, lay)
    d = rng.choice(lay.defs)
    b = bytearray(buf)
    what = rng.choice(
        [
            "n_fields",
            "field_size",
            "field_size",
            "base_type",
            "base_type",
            "field_num",
            "arch",
            "global",
            "dev_flag",
            "dev_count",
            "dev_size",
            "local",
        ]
    )
    desc = f"definition at {d.offset} (global {d.global_num}): {what}"
    if what == "n_fields":
        v = rng.choice([0, 1, 255, max(0, d.n_fields - 1), min(255, d.n_fields + 1)])
        b[d.offset + 5] = v
    elif what in ("field_size", "base_type", "field_num") and d.fields:
        off, size, _base = rng.choice(d.fields)
        if what == "field_size":
            v = rng.choice(
                [0, 1, 3, 255, 254, 128, size + 1, max(0, size - 1), size * 2, rng.randrange(256)]
            )
            b[off + 1] = min(255, v)
        elif what == "base_type":
            pool = _VALID_BASES if rng.random() < 0.6 else _INVALID_BASES
            v = rng.choice(pool)
            b[off + 2] = v
        else:
            v = rng.choice([253, 254, 0, 1, 2, 3, 255, rng.randrange(256)])
            b[off] = v
        desc += f" of field at {off} = {v:#x}"
    elif what == "arch":
        v = rng.choice([1, 2, 255])
        b[d.offset + 2] = v
        desc += f" = {v}"
    elif what == "global":
        v = rng.choice(_GLOBALS)
        fmt = ">H" if d.arch == 1 else "<H"
        struct.pack_into(fmt, b, d.offset + 3, v)
        desc += f" = {v}"
    elif what == "dev_flag":
        b[d.offset] ^= 0x20
    elif what == "dev_count" and d.dev_count_offset is not None:
        v = rng.choice([0, 1, 255, rng.randrange(256)])
        b[d.dev_count_offset] = v
        desc += f" = {v}"
    elif what == "dev_size" and d.dev_fields:
        off = rng.choice(d.dev_fields)
        v = rng.choice([0, 1, 255, rng.randrange(256)])
        b[off + 1 + rng.randrange(2)] = v  # its size or its developer data index
        desc += f" of dev field at {off} = {v}"
    else:
        v = rng.randrange(16)
        b[d.offset] = (b[d.offset] & 0xF0) | v
        desc = f"definition at {d.offset}: local message {v}"
    return bytes(b), desc


def m_data_header(
    rng: random.Random, buf: bytes, other: bytes, lay: FitLayout
) -> tuple[bytes, str]:
    if not lay.data:
        return m_bitflip(rng, buf, other, lay)
    off, _ = rng.choice(lay.data)
    b = bytearray(buf)
    what = rng.choice(["local", "compressed", "definition"])
    if what == "local":
        b[off] = rng.randrange(16)
    elif what == "compressed":
        b[off] = 0x80 | (rng.randrange(4) << 5) | rng.randrange(32)
    else:
        b[off] = 0x40 | rng.randrange(16)
    return bytes(b), f"data message at {off}: header {what} = {b[off]:#x}"


def m_chunk(rng: random.Random, buf: bytes, other: bytes, lay: FitLayout) -> tuple[bytes, str]:
    if len(buf) < 2:
        return buf + bytes(rng.randrange(256) for _ in range(8)), "append 8 random bytes"
    i = _offset(rng, buf, lay)
    n = rng.choice([1, 2, 3, 7, 16, 100, 1000])
    what = rng.choice(["delete", "duplicate", "insert_random", "insert_other", "repeat"])
    if what == "delete":
        out = buf[:i] + buf[i + n :]
    elif what == "duplicate":
        out = buf[:i] + buf[i : i + n] + buf[i:]
    elif what == "insert_random":
        out = buf[:i] + bytes(rng.randrange(256) for _ in range(min(n, 64))) + buf[i:]
    elif what == "insert_other":
        j = rng.randrange(max(1, len(other)))
        out = buf[:i] + other[j : j + n] + buf[i:]
    else:
        out = buf[:i] + buf[i : i + n] * rng.choice([10, 100]) + buf[i:]
    return out, f"chunk {what} {n} bytes at {i}"


def m_ends(rng: random.Random, buf: bytes, other: bytes, lay: FitLayout) -> tuple[bytes, str]:
    what = rng.choice(["garbage", "chain_other", "chain_self", "prepend", "nul_tail"])
    if what == "garbage":
        return buf + bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 13, 200]))), what
    if what == "chain_other":
        return buf + other, what
    if what == "chain_self":
        return buf + buf, what
    if what == "prepend":
        return bytes(rng.randrange(256) for _ in range(rng.choice([1, 14]))) + buf, what
    return buf + b"\x00" * rng.choice([1, 2, 14, 4096]), what


def m_dev_description(
    rng: random.Random, buf: bytes, other: bytes, lay: FitLayout
) -> tuple[bytes, str]:
    """Scribble over the bytes of field_description messages (developer field metadata)."""
    targets = [
        (off, size)
        for d in lay.defs
        if d.global_num == 206
        for off, size in lay.data
        if off > d.offset
    ][:50]
    if not targets:
        return m_definition(rng, buf, other, lay)
    off, size = rng.choice(targets)
    b = bytearray(buf)
    for _ in range(rng.choice([1, 2, 4])):
        i = off + 1 + rng.randrange(max(1, size))
        if i < len(b):
            b[i] = rng.choice([*_INTERESTING_BYTES, rng.randrange(256)])
    return bytes(b), f"field_description data at {off} scribbled"


FIT_MUTATORS: dict[str, Mutator] = {
    "truncate": m_truncate,
    "bitflip": m_bitflip,
    "byteset": m_byteset,
    "splice": m_splice,
    "zero_header": m_zero_header,
    "header_field": m_header_field,
    "definition": m_definition,
    "data_header": m_data_header,
    "chunk": m_chunk,
    "ends": m_ends,
    "dev_description": m_dev_description,
}
_WEIGHTS = {
    "truncate": 3,
    "bitflip": 3,
    "byteset": 2,
    "splice": 2,
    "zero_header": 1,
    "header_field": 2,
    "definition": 5,
    "data_header": 2,
    "chunk": 2,
    "ends": 1,
    "dev_description": 1,
}


def mutate_fit(rng: random.Random, buf: bytes, other: bytes) -> tuple[bytes, list[str]]:
    """1-4 stacked mutations of ``buf`` (``other`` for splices); CRCs fixed half the time."""
    names = list(_WEIGHTS)
    weights = [_WEIGHTS[n] for n in names]
    recipe: list[str] = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
        name = rng.choices(names, weights)[0]
        buf, what = FIT_MUTATORS[name](rng, buf, other, walk(buf))
        recipe.append(f"{name}: {what}")
    if rng.random() < 0.5:
        buf = fix_crcs(buf)
        recipe.append("CRCs fixed")
    return buf, recipe


# --------------------------------------------------------------------------- generator


def _profile_fields(global_num: int) -> list[tuple[int, int]]:
    """(field number, base type) of the profile's fields of a message."""
    msg = MESSAGE_TYPES.get(global_num)
    if msg is None:
        return []
    out = []
    for num, f in msg.fields.items():
        base = getattr(f.type, "base_type", f.type)
        out.append((int(num), int(base.identifier)))
    return out


def _value_bytes(  # noqa: PLR0917 - one field's description
    rng: random.Random, base: int, size: int, little: bool, num: int, gnum: int
) -> bytes:
    """Bytes for one field: often plausible (times, small numbers), sometimes random."""
    bsize = _BASE_SIZE.get(base, 1)
    if gnum == 0 and num == 0 and size == 1 and rng.random() < 0.8:
        return bytes([4])  # file_id.type = activity
    if num == 253 and size == 4 and rng.random() < 0.8:  # a timestamp around 2020-2026
        v = rng.randrange(950_000_000, 1_150_000_000)
        return v.to_bytes(4, "little" if little else "big")
    r = rng.random()
    if r < 0.3:
        return bytes(rng.randrange(256) for _ in range(size))
    if r < 0.5:
        return b"\xff" * size
    if base == 0x07:
        text = rng.choice(_DEV_NAMES + _DEV_UNITS).encode("utf-8", "surrogatepass")[:size]
        return text + bytes(size - len(text))
    out = b""
    while len(out) + bsize <= size:
        v = rng.choice([0, 1, 2, 4, 100, 150, 3000, rng.randrange(1 << (8 * bsize))])
        out += (v % (1 << (8 * bsize))).to_bytes(bsize, "little" if little else "big")
    return out + bytes(size - len(out))


def random_fit(rng: random.Random) -> tuple[bytes, list[str]]:
    """A structurally plausible FIT file with random definitions and values, valid CRCs."""
    body = bytearray()
    recipe: list[str] = []
    dev_sizes: dict[int, list[int]] = {}
    globals_used = [0] + [rng.choice(_GLOBALS) for _ in range(rng.randint(1, 6))]
    if rng.random() < 0.4:
        dev_sizes[20] = _random_developer_data(rng, body, recipe)
        globals_used.append(20)
    for local, gnum in enumerate(globals_used[:12]):
        fields = _random_fields(rng, gnum)
        arch_le = rng.random() < 0.85
        devs = dev_sizes.get(gnum, [])
        body += _definition_bytes(local, gnum, fields, arch_le, devs)
        recipe.append(f"local {local}: global {gnum}, {len(fields)} fields, +{len(devs)} dev")
        body += _random_messages(rng, local, gnum, fields, arch_le, devs)
    header = bytearray([14, 0x20]) + struct.pack("<H", 2140)
    header += struct.pack("<I", len(body)) + b".FIT"
    header += struct.pack("<H", _crc(bytes(header)))
    out = bytes(header) + bytes(body)
    return out + struct.pack("<H", _crc(out)), recipe


def _random_developer_data(rng: random.Random, body: bytearray, recipe: list[str]) -> list[int]:
    """A developer_data_id, one field_description per developer field (appended to
    ``body``); returns the sizes the records give those fields."""
    dev_names = [rng.choice(_DEV_NAMES) for _ in range(rng.randint(1, 4))]
    recipe.append(f"developer fields {dev_names!r}")
    body += bytes([0x40 | 14, 0, 0]) + struct.pack("<H", 207) + bytes([1, 3, 1, 2])
    body += bytes([14, rng.choice([0, 0, 1, 5, 255])])
    base_choices = [0x02, 0x84, 0x86, 0x88, 0x07, rng.choice(_INVALID_BASES)]
    body += bytes([0x40 | 13, 0, 0]) + struct.pack("<H", 206) + bytes([5])
    body += bytes([0, 1, 0x02, 1, 1, 0x02, 2, 1, 0x02, 3, 16, 0x07, 8, 8, 0x07])
    for k, name in enumerate(dev_names):
        enc = name.encode("utf-8", "surrogatepass")[:16]
        unit = rng.choice(_DEV_UNITS).encode()[:8]
        body += bytes([13, rng.choice([0, 0, 1, 255]), k, rng.choice(base_choices)])
        body += enc + bytes(16 - len(enc)) + unit + bytes(8 - len(unit))
    return [rng.choice([1, 2, 4, 8, 0, 255]) for _ in dev_names]


def _random_fields(rng: random.Random, gnum: int) -> list[tuple[int, int, int]]:
    """(number, size, base type) of a definition's fields: mostly the profile's."""
    pf = _profile_fields(gnum)
    fields: list[tuple[int, int, int]] = []
    for _ in range(rng.randint(0, 12) if pf else rng.randint(0, 4)):
        if pf and rng.random() < 0.85:
            num, base = rng.choice(pf)
        else:
            num, base = rng.randrange(256), rng.choice(_VALID_BASES + _INVALID_BASES)
        if rng.random() < 0.1:
            base = rng.choice(_VALID_BASES + _INVALID_BASES)
        bsize = _BASE_SIZE.get(base, 1)
        size = bsize * rng.choice([1, 1, 1, 1, 2, 3]) if rng.random() < 0.9 else rng.randrange(256)
        fields.append((num, size, base))
    if gnum == 0 and rng.random() < 0.8:
        fields.insert(0, (0, 1, 0x00))  # file_id.type
    if gnum == 20 and rng.random() < 0.9 and not any(f[0] == 253 for f in fields):
        fields.insert(0, (253, 4, 0x86))
    return fields


def _definition_bytes(
    local: int, gnum: int, fields: list[tuple[int, int, int]], arch_le: bool, devs: list[int]
) -> bytes:
    """A definition message (developer fields of developer data index 0)."""
    hdr = 0x40 | local | (0x20 if devs else 0)
    out = bytearray([hdr, 0, 0 if arch_le else 1])
    out += struct.pack("<H" if arch_le else ">H", gnum) + bytes([len(fields)])
    for f in fields:
        out += bytes(f)
    if devs:
        out += bytes([len(devs)])
        for k, s in enumerate(devs):
            out += bytes([k, s, 0])
    return bytes(out)


def _random_messages(  # noqa: PLR0917 - one definition's description
    rng: random.Random,
    local: int,
    gnum: int,
    fields: list[tuple[int, int, int]],
    arch_le: bool,
    devs: list[int],
) -> bytes:
    """A few data messages of a definition (many of records), some with compressed
    timestamp headers."""
    out = bytearray()
    for _ in range(rng.choice([1, 2, 5, 30]) if gnum != 20 else rng.choice([5, 50, 300])):
        if rng.random() < 0.1 and local < 4:
            out.append(0x80 | (local << 5) | rng.randrange(32))
        else:
            out.append(local)
        for num, size, base in fields:
            out += _value_bytes(rng, base, size, arch_le, num, gnum)
        for s in devs:
            out += bytes(rng.randrange(256) for _ in range(s))
    return bytes(out)


def pick(rng: random.Random, seq: Sequence[tuple[str, bytes]]) -> tuple[str, bytes]:
    return seq[rng.randrange(len(seq))]
