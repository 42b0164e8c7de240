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

Developer fields (FIT protocol 2.0) are written as the protocol defines them: a
:class:`DeveloperApp` is a developer_data_id message (207), a :class:`DeveloperField` a
field_description message (206) that names it, gives its base type and units;
``FitWriter.describe`` writes both, and ``encode_messages(..., developer=...)`` sets the
developer-data flag of the definition message, lists the developer fields after the
profile's fields, and appends their values to each data message.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from fastcrc import crc16
from fitparse.profile import BASE_TYPES, MESSAGE_TYPES

__all__ = [
    "FIT_EPOCH_UNIX_S",
    "PROFILE_VERSION",
    "PROTOCOL_VERSION",
    "DeveloperApp",
    "DeveloperField",
    "EncodedMessages",
    "FieldSpec",
    "FitWriter",
    "encode_developer_app",
    "encode_field_description",
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
_DEVELOPER_DATA_BIT: Final = 0x20

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
_BYTE: Final = 0x0D
# base type name ("uint16") -> identifier, for developer fields (numeric types only)
_BASE_TYPE_IDS: Final[dict[str, int]] = {
    str(t.name): int(ident) for ident, t in BASE_TYPES.items() if int(ident) in _BASE_TYPES
}

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
    mtype: Any = MESSAGE_TYPES[_message_num(message)]
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
    lo, hi = _valid_range(dtype, invalid)
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
        valid_min=lo,
        valid_max=hi,
    )
    _FIELD_CACHE[key] = spec
    return spec


def _valid_range(dtype: str, invalid: int | float) -> tuple[int, int]:
    """Smallest and largest valid raw value of an integer type (0, 0 for the others)."""
    if not dtype or np.dtype(dtype).kind not in "iu":
        return 0, 0
    info = np.iinfo(np.dtype(dtype))
    lo = info.min + 1 if invalid == info.min else info.min
    hi = info.max - 1 if invalid == info.max else info.max
    return int(lo), int(hi)


@dataclass(frozen=True, slots=True)
class DeveloperApp:
    """The app behind developer fields, as its developer_data_id message (207) names it."""

    index: int
    """developer_data_index (0..254): how field descriptions and definitions refer to it."""
    application_id: bytes = bytes(16)
    """16 bytes: the app's UUID (a Connect IQ app's id)."""
    application_version: int | None = None
    manufacturer: str | int | None = None
    """manufacturer_id: a profile manufacturer name (``"stryd"``) or number."""
    developer_id: bytes | None = None
    """16 bytes, or None (left out, as Connect IQ apps do)."""

    def __post_init__(self) -> None:
        if not 0 <= self.index <= 254:
            raise ValueError(f"developer_data_index {self.index} not in 0..254")
        for name in ("application_id", "developer_id"):
            value = getattr(self, name)
            if value is not None and len(value) != 16:
                raise ValueError(f"DeveloperApp.{name} must be 16 bytes, got {len(value)}")


@dataclass(frozen=True, slots=True)
class DeveloperField:
    """A developer field, as its field_description message (206) defines it.

    One numeric value per message, written as given: the field_description carries no
    scale or offset (decoders disagree on applying them; fitparse does not), so the values
    are in ``units``.
    """

    app: DeveloperApp
    number: int
    """field_definition_number (0..254), unique within the app."""
    name: str
    base_type: str
    """A numeric FIT base type name: ``uint16``, ``float32``, ``sint8``..."""
    units: str | None = None
    native_message: str | None = None
    """native_mesg_num: the profile message the field belongs with (``"record"``)."""
    native_field: str | None = None
    """native_field_num: the profile field of ``native_message`` it stands for (``"power"``)."""

    def __post_init__(self) -> None:
        if not 0 <= self.number <= 254:
            raise ValueError(f"field_definition_number {self.number} not in 0..254")
        if self.base_type not in _BASE_TYPE_IDS:
            raise ValueError(
                f"developer field {self.name!r}: base type {self.base_type!r} not in "
                f"{sorted(_BASE_TYPE_IDS)}"
            )
        if self.native_field is not None:
            if self.native_message is None:
                raise ValueError(f"developer field {self.name!r}: native_field needs a message")
            field_spec(self.native_message, self.native_field)  # KeyError when unknown
        elif self.native_message is not None:
            _message_num(self.native_message)

    @property
    def key(self) -> tuple[int, int]:
        """(developer_data_index, field_definition_number): what definitions refer to."""
        return (self.app.index, self.number)

    @property
    def spec(self) -> FieldSpec:
        """The field as a :class:`FieldSpec` (scale 1, offset 0), to encode its values."""
        return _developer_spec(self.name, self.base_type)


@functools.lru_cache(maxsize=64)
def _developer_spec(name: str, base_type: str) -> FieldSpec:
    ident = _BASE_TYPE_IDS[base_type]
    dtype, invalid = _BASE_TYPES[ident]
    lo, hi = _valid_range(dtype, invalid)
    return FieldSpec(
        message="developer",
        name=name,
        def_num=0,
        base_type=ident,
        dtype=dtype,
        invalid=invalid,
        scale=1.0,
        offset=0.0,
        type_name=base_type,
        enum_values={},
        valid_min=lo,
        valid_max=hi,
    )


def _message_num(message: str) -> int:
    try:
        return _MESSAGE_NUMS[message]
    except KeyError:
        raise KeyError(f"FIT profile has no message {message!r}") from None


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
    developer: tuple[DeveloperField, ...] = ()
    """The developer fields of each message, in definition order (after ``fields``)."""

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
        out = raw.astype(dtype)
        if any_missing:  # the FIT invalid value: every bit set (a NaN)
            out.view(f"<u{dtype.itemsize}")[missing] = np.iinfo(f"<u{dtype.itemsize}").max
        return out
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


def _message_count(columns: Iterable[Column]) -> int:
    """The length of the first array column (1 when all are scalars)."""
    for v in columns:
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
    if isinstance(values, bytes):
        if spec.base_type != _BYTE:
            raise TypeError(f"{spec.message}.{spec.name}: bytes are for byte fields")
        field_dtype = f"S{len(values)}"
        return np.full(n, values, dtype=field_dtype), field_dtype
    raw = _as_raw(spec, values, n)
    return None if raw is None else (raw, spec.dtype)


def _definition_message(
    message: str,
    local: int,
    fields: Sequence[tuple[int, int, int]],
    developer: Sequence[tuple[int, int, int]] = (),
) -> bytes:
    """A definition message: ``fields`` are (field number, size in bytes, base type),
    ``developer`` (field_definition_number, size, developer_data_index); with developer
    fields the header's developer-data flag is set."""
    # record header, reserved byte, architecture 0 (little-endian)
    header = _DEFINITION_BIT | local | (_DEVELOPER_DATA_BIT if developer else 0)
    definition = bytearray((header, 0, 0))
    definition += _MESSAGE_NUMS[message].to_bytes(2, "little")
    definition.append(len(fields))
    for triple in fields:
        definition += bytes(triple)
    if developer:
        definition.append(len(developer))
        for triple in developer:
            definition += bytes(triple)
    return bytes(definition)


def _developer_columns(
    message: str, developer: Mapping[DeveloperField, Column], n: int
) -> list[tuple[DeveloperField, npt.NDArray[Any]]]:
    """Raw columns of the developer fields that have a value (in the mapping's order)."""
    out: list[tuple[DeveloperField, npt.NDArray[Any]]] = []
    keys: set[tuple[int, int]] = set()
    for field, values in developer.items():
        if field.key in keys:
            raise ValueError(f"{message}: two developer fields are {field.key}")
        keys.add(field.key)
        if values is None:
            continue
        if isinstance(values, str | bytes):
            raise TypeError(f"{message}: developer field {field.name!r} takes numbers")
        raw = _as_raw(field.spec, values, n)
        if raw is not None:
            out.append((field, raw))
    if len(out) > 255:
        raise ValueError(f"{message}: {len(out)} developer fields (at most 255)")
    return out


def encode_messages(
    message: str,
    columns: Mapping[str, Column],
    *,
    local: int,
    n: int | None = None,
    developer: Mapping[DeveloperField, Column] | None = None,
) -> EncodedMessages:
    """Encode ``n`` data messages of ``message`` from columns of physical values.

    ``columns`` maps profile field names to an array of ``n`` values, a scalar (repeated),
    a string (an enum value name, or the text of a string field), bytes (a byte array
    field) or None (field left out). ``developer`` maps developer fields to their values
    the same way (numbers only); they follow the profile's fields in each message, and
    the definition carries the developer-data flag. ``n`` defaults to the length of the
    first array column (1 when all are scalars).
    """
    if not 0 <= local <= 15:
        raise ValueError(f"local message type {local} not in 0..15")
    developer = developer or {}
    if n is None:
        n = _message_count([*columns.values(), *developer.values()])
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
    dev = _developer_columns(message, developer, n)
    dev_names = [f"_dev{f.app.index}_{f.number}" for f, _ in dev]
    table = np.empty(
        n,
        dtype=_table_dtype(
            (
                *dtype_fields,
                *((name, f.spec.dtype) for name, (f, _) in zip(dev_names, dev, strict=True)),
            )
        ),
    )
    table["_h"] = local
    for spec, raw in zip(specs, raws, strict=True):
        table[spec.name] = raw
    for name, (_, raw) in zip(dev_names, dev, strict=True):
        table[name] = raw
    definition = _definition_message(
        message,
        local,
        [
            (spec.def_num, np.dtype(fdt).itemsize, spec.base_type)
            for spec, (_, fdt) in zip(specs, dtype_fields[1:], strict=True)
        ],
        [(f.number, f.spec.size, f.app.index) for f, _ in dev],
    )
    return EncodedMessages(
        message=message,
        local=local,
        definition=definition,
        data=table.tobytes(),
        row_size=table.dtype.itemsize,
        n=n,
        fields=tuple(s.name for s in specs),
        developer=tuple(f for f, _ in dev),
    )


def encode_developer_app(app: DeveloperApp, *, local: int) -> EncodedMessages:
    """The developer_data_id message (207) of ``app``."""
    return encode_messages(
        "developer_data_id",
        {
            "developer_id": app.developer_id,
            "application_id": app.application_id,
            "manufacturer_id": app.manufacturer,
            "developer_data_index": app.index,
            "application_version": app.application_version,
        },
        local=local,
    )


def encode_field_description(field: DeveloperField, *, local: int) -> EncodedMessages:
    """The field_description message (206) of ``field``."""
    native_num = (
        None
        if field.native_field is None or field.native_message is None
        else field_spec(field.native_message, field.native_field).def_num
    )
    return encode_messages(
        "field_description",
        {
            "developer_data_index": field.app.index,
            "field_definition_number": field.number,
            "fit_base_type_id": field.base_type,
            "field_name": field.name,
            "units": field.units,
            "native_mesg_num": field.native_message,
            "native_field_num": native_num,
        },
        local=local,
    )


class FitWriter:
    """Collects definition and data messages; ``to_bytes`` adds the header and the CRC.

    A definition message is written before the first data message of its local message
    type and again whenever that local type's definition changes, or when a developer
    field it lists has been described again since (a definition refers to the
    field_description in force when it is read). Data messages with developer fields are
    refused until ``describe`` has written those fields' descriptions.
    """

    def __init__(self, *, profile_version: int = PROFILE_VERSION) -> None:
        self._chunks: list[bytes] = []
        self._defined: dict[int, EncodedMessages] = {}
        self._apps: dict[int, DeveloperApp] = {}
        self._described: dict[tuple[int, int], DeveloperField] = {}
        self._profile_version = profile_version

    def write(self, messages: EncodedMessages, start: int = 0, stop: int | None = None) -> None:
        """Append data messages ``start:stop`` of ``messages`` (with its definition if needed)."""
        if stop is None:
            stop = messages.n
        if stop <= start:
            return
        for field in messages.developer:
            if self._described.get(field.key) != field:
                raise ValueError(
                    f"{messages.message}: developer field {field.name!r} {field.key} is not "
                    "described as such (FitWriter.describe it first)"
                )
        defined = self._defined.get(messages.local)
        if defined is None or defined.definition != messages.definition:
            self._chunks.append(messages.definition)
            self._defined[messages.local] = messages
        self._chunks.append(messages.rows(start, stop))

    def describe(self, fields: Iterable[DeveloperField], *, local: int) -> None:
        """Write the developer fields' descriptions, as local message type ``local``.

        Each app's developer_data_id comes first, unless this writer already wrote that
        app under that index. A new app under an index ends the descriptions of the old
        one, and a field described again (same index and number) replaces its earlier
        description: definitions written before either are written again before their
        next data message.
        """
        for field in fields:
            app = field.app
            if self._apps.get(app.index) != app:
                self.write(encode_developer_app(app, local=local))
                self._apps[app.index] = app
                self._forget(app.index)
            self.write(encode_field_description(field, local=local))
            self._forget(*field.key)
            self._described[field.key] = field

    def _forget(self, index: int, number: int | None = None) -> None:
        """Drop the descriptions of developer fields ``(index, number)`` (every number when
        None), and the definitions that list one of them."""

        def stale(key: tuple[int, int]) -> bool:
            return key[0] == index and number in (None, key[1])

        self._described = {k: f for k, f in self._described.items() if not stale(k)}
        self._defined = {
            local: m
            for local, m in self._defined.items()
            if not any(stale(f.key) for f in m.developer)
        }

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
