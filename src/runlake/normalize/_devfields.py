"""Developer fields (Stryd and others) by name, scaled to SI units by their declared units."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from runlake.decode import FitFile
from runlake.normalize._columns import f64_column

__all__ = ["TO_MM", "developer_field"]

TO_MM = {"centimeters": 10.0, "cm": 10.0, "millimeters": 1.0, "mm": 1.0}
"""Unit strings of developer fields and their factor to millimetres."""


def developer_field(
    t: pa.Table | None, fit: FitFile, names: set[str], n: int, units_scale: dict[str, float]
) -> pa.Array:
    """The first developer field of ``t`` whose (lower-case) name is in ``names``, as float64.

    ``units_scale``: the accepted unit strings and their factor to the SI column (empty:
    any unit, unscaled); a field in another unit is not taken. All-null when none matches.
    """
    if t is None:
        return pa.nulls(n, pa.float64())
    for col, dev in fit.developer_fields.items():
        if dev.name.strip().lower() in names and t.schema.get_field_index(col) >= 0:
            units = (dev.units or "").strip().lower()
            if units_scale and units not in units_scale:
                continue
            arr = f64_column(t, col, n)
            factor = units_scale.get(units, 1.0) if units_scale else 1.0
            return pc.multiply(arr, factor) if factor != 1.0 else arr
    return pa.nulls(n, pa.float64())
