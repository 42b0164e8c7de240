"""Arrow and numpy column helpers of the normalize stage (no rule of their own)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "f64_column",
    "first_of_list",
    "from_numpy",
    "nan_max",
    "nan_mean",
    "timestamp_seconds",
    "to_numpy",
]


def first_of_list(col: pa.Array) -> pa.Array:
    """The first element of each list of a list column (null for an empty list)."""
    t = col.type
    if pa.types.is_fixed_size_list(t) and t.list_size > 0:
        return pc.list_element(col, 0)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return pa.array([v[0] if v else None for v in col.to_pylist()], type=t.value_type)
    return col


def f64_column(t: pa.Table | None, name: str, n: int) -> pa.Array:
    """Column ``name`` of ``t`` as float64 (all-null when absent or not numeric)."""
    if t is None or t.schema.get_field_index(name) < 0:
        return pa.nulls(n, pa.float64())
    col = first_of_list(t[name].combine_chunks())
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return pa.nulls(n, pa.float64())
    return col.cast(pa.float64(), safe=False)  # a 64-bit integer over 2**53 rounds


def timestamp_seconds(col: pa.Array) -> np.ndarray:
    """UTC timestamps as float seconds (NaN for null)."""
    as_ms = col.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    secs = pc.divide(as_ms.cast(pa.float64()), 1000.0)
    return np.asarray(secs.to_numpy(zero_copy_only=False), dtype=np.float64)


def to_numpy(a: pa.Array) -> np.ndarray:
    """A numeric Arrow array as float64 numpy (NaN for null)."""
    return np.asarray(a.to_numpy(zero_copy_only=False), dtype=np.float64)


def from_numpy(values: np.ndarray) -> pa.Array:
    """A float64 numpy array as Arrow (NaN becomes null)."""
    return pa.array(values, type=pa.float64(), from_pandas=True)


def nan_mean(a: np.ndarray) -> float | None:
    """Mean of the values that are not NaN (None when there are none)."""
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else None


def nan_max(a: np.ndarray) -> float | None:
    """Largest value that is not NaN (None when there are none)."""
    a = a[~np.isnan(a)]
    return float(a.max()) if a.size else None
