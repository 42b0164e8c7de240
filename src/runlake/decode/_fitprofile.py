"""The FIT profile, taken from python-fitparse's generated profile (Garmin's Profile.xlsx).

Only plain values leave this module: field names, scales, offsets, units, enum names and
components, looked up by (global message number, field number) and cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
from fitparse import profile as _profile

__all__ = [
    "BASE_TYPES",
    "BaseType",
    "Component",
    "FieldSpec",
    "enum_lut",
    "enum_map",
    "enum_names",
    "field_number",
    "field_spec",
    "is_enum_type",
    "message_name",
    "message_number",
]


@dataclass(frozen=True, slots=True)
class BaseType:
    """A FIT base type: numpy format (without byte order), size and invalid value."""

    number: int
    name: str
    fmt: str
    size: int
    invalid: int | None  # None for floats (NaN), strings and bytes


# Keyed by the base type number (the low 5 bits of the base type byte).
BASE_TYPES: dict[int, BaseType] = {
    0: BaseType(0, "enum", "u1", 1, 0xFF),
    1: BaseType(1, "sint8", "i1", 1, 0x7F),
    2: BaseType(2, "uint8", "u1", 1, 0xFF),
    3: BaseType(3, "sint16", "i2", 2, 0x7FFF),
    4: BaseType(4, "uint16", "u2", 2, 0xFFFF),
    5: BaseType(5, "sint32", "i4", 4, 0x7FFFFFFF),
    6: BaseType(6, "uint32", "u4", 4, 0xFFFFFFFF),
    7: BaseType(7, "string", "S", 1, None),
    8: BaseType(8, "float32", "f4", 4, None),
    9: BaseType(9, "float64", "f8", 8, None),
    10: BaseType(10, "uint8z", "u1", 1, 0),
    11: BaseType(11, "uint16z", "u2", 2, 0),
    12: BaseType(12, "uint32z", "u4", 4, 0),
    13: BaseType(13, "byte", "u1", 1, None),
    14: BaseType(14, "sint64", "i8", 8, 0x7FFFFFFFFFFFFFFF),
    15: BaseType(15, "uint64", "u8", 8, 0xFFFFFFFFFFFFFFFF),
    16: BaseType(16, "uint64z", "u8", 8, 0),
}


@dataclass(frozen=True, slots=True)
class Component:
    """A component packed in a field's bits, expanding into another field of the message."""

    target: str
    target_num: int
    bits: int
    bit_offset: int
    scale: float | None
    offset: float | None
    accumulate: bool


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    type_name: str  # profile type: "uint16", "date_time", "sport", ...
    scale: float | None
    offset: float | None
    units: str | None
    components: tuple[Component, ...]
    enum: bool  # the profile type has named values


@cache
def message_name(global_num: int) -> str:
    mt = _profile.MESSAGE_TYPES.get(global_num)
    return str(mt.name) if mt is not None else f"unknown_{global_num}"


@cache
def message_number(name: str) -> int:
    for num, mt in _profile.MESSAGE_TYPES.items():
        if mt.name == name:
            return int(num)
    raise KeyError(name)


def _nonzero_float(x: object) -> float | None:
    if x is None or x == 0:
        return None
    if isinstance(x, int | float):
        return float(x)
    return None  # arrays of scales (rare, e.g. per-component): treated as unscaled


@cache
def field_spec(global_num: int, field_num: int) -> FieldSpec | None:
    mt = _profile.MESSAGE_TYPES.get(global_num)
    if mt is None:
        return None
    f = mt.fields.get(field_num)
    if f is None:
        return None
    comps: list[Component] = []
    bit_offset = 0
    for c in f.components or ():
        comps.append(
            Component(
                target=str(c.name),
                target_num=int(c.def_num),
                bits=int(c.bits),
                bit_offset=int(c.bit_offset if c.bit_offset is not None else bit_offset),
                scale=_nonzero_float(c.scale),
                offset=_nonzero_float(c.offset),
                accumulate=bool(c.accumulate),
            )
        )
        bit_offset += int(c.bits)
    ftype = f.type
    values = getattr(ftype, "values", None)
    return FieldSpec(
        name=str(f.name),
        type_name=str(ftype.name),
        scale=_nonzero_float(f.scale),
        offset=_nonzero_float(f.offset),
        units=str(f.units) if f.units else None,
        components=tuple(comps),
        enum=bool(values),
    )


@cache
def field_number(global_num: int, name: str) -> int:
    """The field number of a field name in a message (-1 when unknown)."""
    mt = _profile.MESSAGE_TYPES.get(global_num)
    if mt is not None:
        for num, f in mt.fields.items():
            if f.name == name:
                return int(num)
    return -1


@cache
def is_enum_type(type_name: str) -> bool:
    """A type of named values (sport, manufacturer...), not a bit field.

    Bit fields (left_right_balance, message_index, file_flags...) keep their numbers: the
    profile names their masks or single bits, not their values.
    """
    ftype = _profile.FIELD_TYPES.get(type_name)
    if ftype is None or not ftype.values:
        return False
    if ftype.base_type.name == "enum":
        return True
    if "mask" in ftype.values.values():
        return False
    nonzero = [int(k) for k in ftype.values if int(k)]
    return not (len(nonzero) >= 3 and all(k & (k - 1) == 0 for k in nonzero))


@cache
def _enum_table(type_name: str) -> tuple[np.ndarray, np.ndarray]:
    values = _profile.FIELD_TYPES[type_name].values
    keys = np.array(sorted(values), dtype=np.int64)
    names = np.array([str(values[k]) for k in sorted(values)], dtype=object)
    return keys, names


def enum_names(type_name: str, raw: np.ndarray) -> np.ndarray:
    """Map raw enum values to profile names (unknown values become their number as text)."""
    keys, names = _enum_table(type_name)
    if raw.dtype.kind == "f":  # an enum declared with a float base type (a corrupt file)
        raw = np.where(np.isfinite(raw), raw, -1).clip(-(2**62), 2**62)
    ints = raw.astype(np.int64)
    out = ints.astype(str).astype(object)
    if keys.size:
        idx = np.searchsorted(keys, ints)
        idx[idx >= keys.size] = 0
        hit = keys[idx] == ints
        out[hit] = names[idx[hit]]
    return out


@cache
def enum_lut(type_name: str) -> pa.Array:
    """The names of the raw values 0..255 of an enum type, as an Arrow string array."""
    return pa.array(enum_names(type_name, np.arange(256, dtype=np.int64)), type=pa.string())


@cache
def enum_map(type_name: str) -> dict[int, str]:
    """The named values of an enum type (as ``enum_names`` names them)."""
    return {int(k): str(v) for k, v in _profile.FIELD_TYPES[type_name].values.items()}
