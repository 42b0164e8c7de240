"""Anchoring a FIT file's device system times to the wall clock (old devices)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

import pyarrow as pa
import pyarrow.compute as pc

from runlake._errors import Problem, ProblemKind
from runlake.decode import SYSTEM_TIME_SUFFIX, FitFile

__all__ = ["anchor_system_times"]


def _system_time_offset(fit: FitFile) -> float | None:
    """Seconds to add to a system time to get the local wall clock (None: no anchor)."""
    act = fit.messages.get("activity")
    key = "timestamp" + SYSTEM_TIME_SUFFIX
    if act is None or "local_timestamp" not in act.column_names or key not in act.column_names:
        return None
    for local, system in zip(act["local_timestamp"].to_pylist(), act[key].to_pylist(), strict=True):
        if local is not None and system is not None:
            return float(local.replace(tzinfo=UTC).timestamp() - float(system))
    return None


def _anchored(t: pa.Table, col: str, offset: float) -> pa.Table:
    """``t`` with the absolute times of system-time column ``col`` filled in."""
    base = col[: -len(SYSTEM_TIME_SUFFIX)]
    secs = pc.add(t[col].combine_chunks(), int(offset))
    anchored = pc.multiply(secs, 1000).cast(pa.timestamp("ms", tz="UTC"))
    if base in t.column_names:
        merged = pc.coalesce(t[base].combine_chunks().cast(anchored.type), anchored)
        return t.set_column(t.schema.get_field_index(base), base, merged)
    return t.append_column(base, anchored)


def anchor_system_times(fit: FitFile) -> tuple[FitFile, list[Problem]]:
    """Give absolute times to files that only have the device's system time.

    Old devices write seconds since power-on (``<field>__system_s`` from the decoder) and,
    in the activity message, the local wall-clock time of the same instant. That anchors
    every system time to the local clock; the time zone stays unknown, which a warning says.
    """
    relative = [
        (name, col)
        for name, t in fit.messages.items()
        for col in t.column_names
        if col.endswith(SYSTEM_TIME_SUFFIX)
    ]
    if not relative:
        return fit, []
    offset = _system_time_offset(fit)
    if offset is None:
        return fit, [
            Problem(
                ProblemKind.NO_UTC_TIME,
                "times are relative to the device's power-on and nothing anchors them",
            )
        ]
    messages = dict(fit.messages)
    for name, col in relative:
        messages[name] = _anchored(messages[name], col, offset)
    problem = Problem(
        ProblemKind.LOCAL_TIME_AS_UTC,
        "the file has no UTC time, only the device's system time: times are anchored on "
        "its local clock (activity.local_timestamp) and may be off by the time zone offset",
    )
    return replace(fit, messages=messages), [problem]
