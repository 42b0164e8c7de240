"""A small FIT encoder (protocol 2.0, little-endian) for the synthetic data generator.

Messages are encoded column-wise: every field becomes one column of a numpy structured
array whose bytes *are* the data messages, so an hour of 1 Hz records costs a handful of
numpy operations instead of thousands of ``struct.pack`` calls.

Field numbers, base types, scales and offsets come from the FIT profile shipped with
python-fitparse (``fitparse.profile.MESSAGE_TYPES``).  Values are given in the profile's
physical units (the decoded value: ``raw / scale - offset``); ``date_time`` fields take
integer seconds since the Unix epoch; enum fields take the profile's value name or its
number.  A missing value (``NaN`` or ``None`` in a column) is written as the base type's
invalid value; a column that is missing throughout is left out of the definition.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from fastcrc import crc16
from fitparse.profile import MESSAGE_TYPES

__all__ = [
    "FIT_EPOCH_UNIX_S",
    "PROFILE_VERSION",
    "PROTOCOL_VERSION",
    "EncodedMessages",
    "FieldSpec",
    "FitWriter",
    "encode_messages",
    "field_spec",
    "fit_crc",
]

FIT_EPOCH_UNIX_S: Final = 631_065_600
"""1989-12-31T00:00:00Z, the FIT epoch, in seconds since the Unix epoch."""
PROTOCOL_VERSION: Final = 0x20
"""Protocol 2.0 (major in the high nibble)."""
PROFILE_VERSION: Final = 2140
"""Profile version written in the header (21.40)."""

_HEADER_SIZE: Final = 14
_DEFINITION_BIT: Final = 0x40

# base type identifier -> (numpy dtype, invalid value)
_BASE_TYPES: Final[dict[int, tuple[str, int | float]]] = {
    0x00: ("u1", 0xFF),  # enum
    0x01: ("i1", 0x7F),  # sint8
    0x02: ("u1", 0xFF),  # uint8
    0x83: ("<i2", 0x7FFF),  # sint16
    0x84: ("<u2", 0xFFFF),  # uint16
    0x85: ("<i4", 0x7FFF_FFFF),  # sint32
    0x86: ("<u4", 0xFFFF_FFFF),  # uint32
    0x88: ("<f4", float("nan")),  # float32
    0x89: ("<f8", float("nan")),  # float64
    0x0A: ("u1", 0x00),  # uint8z
    0x8B: ("<u2", 0x0000),  # uint16z
    0x8C: ("<u4", 0x0000_0000),  # uint32z
    0x0D: ("u1", 0xFF),  # byte
    0x8E: ("<i8", 0x7FFF_FFFF_FFFF_FFFF),  # sint64
    0x8F: ("<u8", 0xFFFF_FFFF_FFFF_FFFF),  # uint64
    0x90: ("<u8", 0x0000_0000_0000_0000),  # uint64z
}
_STRING: Final = 0x07

_MESSAGE_NUMS: Final[dict[str, int]] = {m.name: num for num, m in MESSAGE_TYPES.items()}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a FIT message, as the profile defines it."""

    message: str
    name: str
    def_num: int
    base_type: int
    """The base type identifier written in definitions (e.g. 0x86 for uint32)."""
    dtype: str
    """numpy dtype of one value (``''`` for strings, whose size is per definition)."""
    invalid: int | float
    scale: float
    offset: float
    type_name: str
    """Profile type name: a base type (``uint16``) or a profile type (``date_time``, ``sport``)."""
    enum_values: Mapping[str, int]
    """Value name -> number, for profile enum types (empty otherwise)."""
    valid_min: int
    """Smallest valid raw value (the invalid value is reserved); integer types only."""
    valid_max: int

    @property
    def size(self) -> int:
        return np.dtype(self.dtype).itemsize


_FIELD_CACHE: dict[tuple[str, str], FieldSpec] = {}


def field_spec(message: str, field: str) -> FieldSpec:
    """The profile's definition of ``message.field`` (e.g. ``field_spec("record", "heart_rate")``).

    Raises KeyError naming the message or field when the profile has no such thing.
    """
    key = (message, field)
    cached = _FIELD_CACHE.get(key)
    if cached is not None:
        return cached
    try:
        mesg_num = _MESSAGE_NUMS[message]
    except KeyError:
        raise KeyError(f"FIT profile has no message {message!r}") from None
    mtype: Any = MESSAGE_TYPES[mesg_num]
    for f in mtype.fields.values():
        if f.name == field:
            break
    else:
        raise KeyError(f"FIT profile message {message!r} has no field {field!r}")
    base: Any = f.base_type
    ident = int(base.identifier)
    values = getattr(f.type, "values", None) or {}
    enum_values = {str(v): int(k) for k, v in values.items()}
    dtype, invalid = ("", 0) if ident == _STRING else _BASE_TYPES[ident]
    lo = hi = 0
    if dtype and np.dtype(dtype).kind in "iu":
        info = np.iinfo(np.dtype(dtype))
        lo = info.min + 1 if invalid == info.min else info.min
        hi = info.max - 1 if invalid == info.max else info.max
    spec = FieldSpec(
        message=message,
        name=field,
        def_num=int(f.def_num),
        base_type=ident,
        dtype=dtype,
        invalid=invalid,
        scale=float(f.scale) if f.scale else 1.0,
        offset=float(f.offset) if f.offset else 0.0,
        type_name=str(f.type.name),
        enum_values=enum_values,
        valid_min=int(lo),
        valid_max=int(hi),
    )
    _FIELD_CACHE[key] = spec
    return spec


def fit_crc(data: bytes) -> int:
    """CRC-16/ARC as FIT uses it (over the header's first 12 bytes, and over the file)."""
    return int(crc16.arc(data))


Column = npt.ArrayLike | str | None


@dataclass(frozen=True, slots=True)
class EncodedMessages:
    """A definition message and ``n`` data messages of one local message type."""

    message: str
    local: int
    definition: bytes
    data: bytes
    row_size: int
    n: int
    fields: tuple[str, ...]

    def rows(self, start: int, stop: int) -> bytes:
        """The bytes of data messages ``start:stop``."""
        return self.data[start * self.row_size : stop * self.row_size]


def _check_range(spec: FieldSpec, lo: float, hi: float) -> None:
    if lo < spec.valid_min or hi > spec.valid_max:
        raise ValueError(
            f"{spec.message}.{spec.name}: raw value out of range for {spec.type_name} "
            f"({lo}..{hi} not in {spec.valid_min}..{spec.valid_max})"
        )


def _scalar_raw(spec: FieldSpec, value: float, n: int) -> npt.NDArray[Any] | None:
    """One physical value repeated ``n`` times (the common case of one-message blocks)."""
    if math.isnan(value):
        return None
    if spec.type_name == "date_time":
        value -= FIT_EPOCH_UNIX_S
    raw = (value + spec.offset) * spec.scale
    if np.dtype(spec.dtype).kind != "f":
        raw = round(raw)
        _check_range(spec, raw, raw)
    return np.full(n, raw, dtype=spec.dtype)


def _enum_number(spec: FieldSpec, name: str) -> int:
    """The number of the profile enum value ``name`` of ``spec``'s type."""
    try:
        return spec.enum_values[name]
    except KeyError:
        raise ValueError(f"{spec.message}.{spec.name}: no value named {name!r}") from None


def _int_column_raw(spec: FieldSpec, arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Integer physical values -> raw integer column (no value can be missing)."""
    raw = arr.astype(np.int64)
    if spec.type_name == "date_time":
        raw = raw - FIT_EPOCH_UNIX_S
    if spec.offset != 0.0 or spec.scale != 1.0:
        raw = np.rint((raw + spec.offset) * spec.scale)
    _check_range(spec, float(raw.min()), float(raw.max()))
    return raw.astype(np.dtype(spec.dtype))


def _float_column_raw(spec: FieldSpec, arr: npt.NDArray[Any]) -> npt.NDArray[Any] | None:
    """Physical values (NaN = missing) -> raw column (None when missing throughout)."""
    dtype = np.dtype(spec.dtype)
    raw = arr.astype(np.float64)
    if spec.type_name == "date_time":
        raw = raw - FIT_EPOCH_UNIX_S
    if spec.offset != 0.0 or spec.scale != 1.0:
        raw = (raw + spec.offset) * spec.scale
    missing = np.isnan(raw)
    any_missing = bool(missing.any())
    if any_missing and missing.all():
        return None
    if dtype.kind == "f":
        return raw.astype(dtype)
    raw = np.rint(raw)
    if any_missing:
        raw[missing] = spec.valid_min
    _check_range(spec, float(raw.min()), float(raw.max()))
    out = raw.astype(dtype)
    if any_missing:
        out[missing] = spec.invalid
    return out


def _as_raw(spec: FieldSpec, values: Any, n: int) -> npt.NDArray[Any] | None:
    """Physical values -> raw column of ``spec.dtype`` (None when missing throughout)."""
    if isinstance(values, str):
        values = _enum_number(spec, values)
    if isinstance(values, int | float | np.integer | np.floating) and not isinstance(values, bool):
        return _scalar_raw(spec, float(values), n)
    arr = np.asarray(values)
    if arr.ndim == 0 and arr.dtype.kind in "iuf":
        return _scalar_raw(spec, float(arr), n)
    if arr.shape != (n,):
        raise ValueError(f"{spec.message}.{spec.name}: {arr.shape} values for {n} messages")
    if arr.dtype.kind in "iub" and np.dtype(spec.dtype).kind != "f":
        return _int_column_raw(spec, arr)
    return _float_column_raw(spec, arr)


@functools.lru_cache(maxsize=256)
def _table_dtype(fields: tuple[tuple[str, str], ...]) -> np.dtype[np.void]:
    return np.dtype(list(fields))


def _message_count(columns: Mapping[str, Column]) -> int:
    """The length of the first array column (1 when all are scalars)."""
    for v in columns.values():
        if v is not None and not isinstance(v, str) and np.ndim(v) == 1:
            return len(v)  # type: ignore[arg-type]
    return 1


def _encode_column(spec: FieldSpec, values: Column, n: int) -> tuple[npt.NDArray[Any], str] | None:
    """The raw column of ``n`` messages and its numpy dtype (None: missing throughout)."""
    if spec.base_type == _STRING:
        if not isinstance(values, str):
            raise TypeError(f"{spec.message}.{spec.name}: a string field takes one str")
        encoded = values.encode("utf-8") + b"\x00"
        field_dtype = f"S{len(encoded)}"
        return np.full(n, encoded, dtype=field_dtype), field_dtype
    raw = _as_raw(spec, values, n)
    return None if raw is None else (raw, spec.dtype)


def _definition_message(message: str, local: int, fields: Sequence[tuple[int, int, int]]) -> bytes:
    """A definition message: ``fields`` are (field number, size in bytes, base type)."""
    # record header, reserved byte, architecture 0 (little-endian)
    definition = bytearray((_DEFINITION_BIT | local, 0, 0))
    definition += _MESSAGE_NUMS[message].to_bytes(2, "little")
    definition.append(len(fields))
    for triple in fields:
        definition += bytes(triple)
    return bytes(definition)


def encode_messages(
    message: str,
    columns: Mapping[str, Column],
    *,
    local: int,
    n: int | None = None,
) -> EncodedMessages:
    """Encode ``n`` data messages of ``message`` from columns of physical values.

    ``columns`` maps profile field names to an array of ``n`` values, a scalar (repeated),
    a string (an enum value name, or the text of a string field) or None (field left out).
    ``n`` defaults to the length of the first array column (1 when all are scalars).
    """
    if not 0 <= local <= 15:
        raise ValueError(f"local message type {local} not in 0..15")
    if n is None:
        n = _message_count(columns)
    specs: list[FieldSpec] = []
    raws: list[npt.NDArray[Any]] = []
    dtype_fields: list[tuple[str, str]] = [("_h", "u1")]
    for name, values in columns.items():
        if values is None:
            continue
        spec = field_spec(message, name)
        encoded = _encode_column(spec, values, n)
        if encoded is None:
            continue
        specs.append(spec)
        raws.append(encoded[0])
        dtype_fields.append((name, encoded[1]))
    if len(specs) > 255:
        raise ValueError(f"{message}: {len(specs)} fields (at most 255)")
    table = np.empty(n, dtype=_table_dtype(tuple(dtype_fields)))
    table["_h"] = local
    for spec, raw in zip(specs, raws, strict=True):
        table[spec.name] = raw
    definition = _definition_message(
        message,
        local,
        [
            (spec.def_num, np.dtype(fdt).itemsize, spec.base_type)
            for spec, (_, fdt) in zip(specs, dtype_fields[1:], strict=True)
        ],
    )
    return EncodedMessages(
        message=message,
        local=local,
        definition=definition,
        data=table.tobytes(),
        row_size=table.dtype.itemsize,
        n=n,
        fields=tuple(s.name for s in specs),
    )


class FitWriter:
    """Collects definition and data messages; ``to_bytes`` adds the header and the CRC."""

    def __init__(self, *, profile_version: int = PROFILE_VERSION) -> None:
        self._chunks: list[bytes] = []
        self._defined: dict[int, bytes] = {}
        self._profile_version = profile_version

    def write(self, messages: EncodedMessages, start: int = 0, stop: int | None = None) -> None:
        """Append data messages ``start:stop`` of ``messages`` (with its definition if needed)."""
        if stop is None:
            stop = messages.n
        if stop <= start:
            return
        if self._defined.get(messages.local) != messages.definition:
            self._chunks.append(messages.definition)
            self._defined[messages.local] = messages.definition
        self._chunks.append(messages.rows(start, stop))

    def write_all(self, sequence: Sequence[EncodedMessages]) -> None:
        for messages in sequence:
            self.write(messages)

    def to_bytes(self) -> bytes:
        body = b"".join(self._chunks)
        header = bytearray((_HEADER_SIZE, PROTOCOL_VERSION))
        header += self._profile_version.to_bytes(2, "little")
        header += len(body).to_bytes(4, "little")
        header += b".FIT"
        header += fit_crc(bytes(header)).to_bytes(2, "little")
        out = bytes(header) + body
        return out + fit_crc(out).to_bytes(2, "little")
