"""Sanitising a decoded FIT file: the columns normalize reads, checked for the kind it expects.

A corrupt definition (a wrong base type or size) can give any field any type; such a column
is dropped with a warning rather than trusted, and times a FIT date_time cannot hold are
set to null.
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

from runlake._errors import Problem, ProblemKind
from runlake.decode import FIT_EPOCH_S, SYSTEM_TIME_SUFFIX, FitFile
from runlake.normalize._columns import first_of_list

__all__ = ["sanitize"]

# Fields normalize reads by name, and the kind of column it expects for each.
_TIME_FIELDS = frozenset({"timestamp", "start_time", "time_created", "local_timestamp"})
_TEXT_FIELDS = frozenset({"sport", "sub_sport", "manufacturer", "type", "product_name"})
_READ_MESSAGES = frozenset({"file_id", "session", "lap", "record", "activity", "sport"})

# A FIT date_time is a uint32 from the FIT epoch (1989-12-31): later than 2125 or earlier
# than that is a field with a wrong base type, not a time (and may not fit a datetime).
_TIME_MIN_S = FIT_EPOCH_S
_TIME_MAX_S = FIT_EPOCH_S + 2**32
_TIME_RANGE = "1989-12-31..2126-02-06"


def _expected(name: str, col: pa.Array) -> pa.Array | None:
    """``col`` as the kind of column normalize expects for field ``name``; None: unusable."""
    col = first_of_list(col)
    t = col.type
    if name in _TIME_FIELDS:
        return col if pa.types.is_timestamp(t) else None
    if name.endswith(SYSTEM_TIME_SUFFIX):
        return col if pa.types.is_integer(t) or pa.types.is_floating(t) else None
    if name in _TEXT_FIELDS:
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return col
        return col.cast(pa.string()) if pa.types.is_integer(t) else None
    return col


def _plausible_times(col: pa.Array) -> tuple[pa.Array, int]:
    """``col`` with the times a FIT date_time cannot hold set to null, and how many."""
    per_s = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[col.type.unit]
    raw = col.cast(pa.int64())  # the same unit: no conversion, no overflow
    lo, hi = (v.as_py() for v in pc.min_max(raw).values())
    if lo is None or (lo >= _TIME_MIN_S * per_s and hi < _TIME_MAX_S * per_s):
        return col, 0  # all plausible (the usual case): one pass over the column
    bad = pc.or_(pc.less(raw, _TIME_MIN_S * per_s), pc.greater_equal(raw, _TIME_MAX_S * per_s))
    n_bad = pc.sum(bad).as_py() or 0
    if not n_bad:
        return col, 0
    return pc.if_else(bad, pa.nulls(len(col), col.type), col), int(n_bad)


def _checked(msg: str, name: str) -> bool:
    """Whether normalize reads field ``name`` of message ``msg`` (and so checks it)."""
    return (
        name in _TIME_FIELDS
        or name.endswith(SYSTEM_TIME_SUFFIX)
        or (name in _TEXT_FIELDS and msg in _READ_MESSAGES)
    )


def _sanitize_column(
    msg: str, name: str, col: pa.Array, problems: list[Problem]
) -> pa.Array | None:
    """The usable form of one column (``col`` itself when fine; None: drop it)."""
    good = _expected(name, col)
    if good is not None and name in _TIME_FIELDS:
        good, n_out = _plausible_times(good)
        if n_out:
            problems.append(
                Problem(
                    ProblemKind.FIT_FIELD_TYPE,
                    f"{msg}.{name}: {n_out} values outside {_TIME_RANGE} ignored",
                )
            )
    if good is None:
        problems.append(
            Problem(
                ProblemKind.FIT_FIELD_TYPE,
                f"{msg}.{name} has an unexpected type {col.type} (a corrupt definition?): ignored",
            )
        )
    return good


def _sanitize_message(msg: str, table: pa.Table, problems: list[Problem]) -> pa.Table:
    for name in table.column_names:
        if not _checked(msg, name):
            continue
        col = table[name].combine_chunks()
        good = _sanitize_column(msg, name, col, problems)
        if good is col:
            continue
        i = table.schema.get_field_index(name)
        table = table.remove_column(i) if good is None else table.set_column(i, name, good)
    return table


def sanitize(fit: FitFile) -> tuple[FitFile, list[Problem]]:
    """Drop (with a warning) the columns normalize reads that do not have the expected kind.

    Times and system times are checked in every message (anchoring reads them all), text
    fields in the messages normalize reads.
    """
    problems: list[Problem] = []
    messages = {msg: _sanitize_message(msg, t, problems) for msg, t in fit.messages.items()}
    if all(messages[k] is fit.messages[k] for k in messages):
        return fit, problems
    return replace(fit, messages=messages), problems
