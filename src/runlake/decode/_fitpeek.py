"""The type of a FIT file (``file_id.type``), read from its first messages only.

A Garmin Connect export holds thousands of FIT files that are not activities (monitoring,
sleep, settings, workouts...). Their type is in the ``file_id`` message, which the FIT
protocol puts first: reading it costs a few dozen bytes, where decoding the file would walk
every message. Anything unusual (no ``file_id`` among the first messages, a type field of
an unexpected size) gives None, and the caller decodes the file as usual.
"""

from __future__ import annotations

import struct

from runlake.decode._fitprofile import enum_lut

__all__ = ["fit_file_type"]

_FILE_ID = 0  # global message number of file_id
_TYPE_FIELD = 0  # file_id.type: an enum (base types 0x00 enum, 0x02 uint8, 0x0A uint8z)
_MAX_MESSAGES = 16  # file_id comes first; a few definitions may come before its data
_NO_TYPE = -1  # the "type offset" of a file_id definition without a usable type field


def fit_file_type(data: bytes) -> str | None:
    """The FIT file type of the first ``file_id`` message (``activity``, ``monitoring_b``...).

    None when it cannot be read cheaply (not a FIT file, no ``file_id`` among the first
    messages, an invalid or odd type field): decode the file to find out.
    """
    if len(data) < 12 or data[8:12] != b".FIT":
        return None
    header = data[0]
    if header < 12:
        return None
    end = min(len(data), header + struct.unpack_from("<I", data, 4)[0])
    pos = header
    layouts: dict[int, tuple[int, int | None]] = {}  # local -> (size, type field offset)
    for _ in range(_MAX_MESSAGES):
        if pos >= end:
            return None
        h = data[pos]
        if h & 0x80:  # compressed-timestamp header: a data message
            local = (h >> 5) & 0x03
        elif h & 0x40:  # definition
            parsed = _definition(data, pos, end, has_dev=bool(h & 0x20))
            if parsed is None:
                return None
            layouts[h & 0x0F], pos = parsed[0], parsed[1]
            continue
        else:
            local = h & 0x0F
        layout = layouts.get(local)
        if layout is None or pos + 1 + layout[0] > end:
            return None
        size, type_at = layout
        if type_at == _NO_TYPE:  # the first file_id has no type
            return None
        if type_at is not None:
            raw = data[pos + 1 + type_at]
            return None if raw == 0xFF else str(enum_lut("file")[raw].as_py())
        pos += 1 + size
    return None


def _definition(
    data: bytes, pos: int, end: int, *, has_dev: bool
) -> tuple[tuple[int, int | None], int] | None:
    """((data size, offset of file_id.type or None), next position) of a definition."""
    if pos + 6 > end:
        return None
    little = data[pos + 2] == 0
    (global_num,) = struct.unpack_from("<H" if little else ">H", data, pos + 3)
    n = data[pos + 5]
    fields_at = pos + 6
    nxt = fields_at + 3 * n
    if nxt > end:
        return None
    size = 0
    type_at: int | None = _NO_TYPE if global_num == _FILE_ID else None
    for i in range(n):
        num, fsize, base = data[fields_at + 3 * i : fields_at + 3 * i + 3]
        if (
            global_num == _FILE_ID
            and num == _TYPE_FIELD
            and fsize == 1
            and (base & 0x1F) in (0, 2, 10)
        ):
            type_at = size
        size += fsize
    if has_dev:
        if nxt + 1 > end:
            return None
        n_dev = data[nxt]
        if nxt + 1 + 3 * n_dev > end:
            return None
        size += sum(data[nxt + 1 + 3 * i + 1] for i in range(n_dev))
        nxt += 1 + 3 * n_dev
    return (size, type_at), nxt
