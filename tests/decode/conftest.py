"""Helpers shared by the decoder tests: hand-built FIT files, byte by byte."""

from __future__ import annotations

from datetime import UTC, datetime

from runlake.decode import FIT_EPOCH_S, fit_crc16

UINT8, UINT16, UINT32 = 0x02, 0x84, 0x86
T0 = 1_000_000_000  # FIT seconds: 2021-09-09T01:46:40Z


def fit_file(*parts: bytes) -> bytes:
    """A FIT file (14-byte header, both CRCs) around the given messages."""
    body = b"".join(parts)
    header = bytes((14, 0x20)) + (2140).to_bytes(2, "little") + len(body).to_bytes(4, "little")
    header += b".FIT"
    header += fit_crc16(header).to_bytes(2, "little")
    data = header + body
    return data + fit_crc16(data).to_bytes(2, "little")


def definition(local: int, global_num: int, fields: list[tuple[int, int, int]]) -> bytes:
    out = bytes((0x40 | local, 0, 0)) + global_num.to_bytes(2, "little") + bytes((len(fields),))
    return out + b"".join(bytes(f) for f in fields)


def utc(fit_seconds: int) -> datetime:
    return datetime.fromtimestamp(fit_seconds + FIT_EPOCH_S, tz=UTC)
