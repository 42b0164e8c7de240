"""What a flag is: its codes, its row (:class:`Flag`, one row of FLAGS) and the words it uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import timedelta
from typing import Final, NamedTuple

import pyarrow as pa

from runlake._schemas import FLAGS

__all__ = [
    "HISTORY_CODES",
    "RUN_CODES",
    "SEVERITIES",
    "Flag",
    "Seen",
    "flags_table",
    "hours_minutes",
    "pace_per_km",
    "week_start",
]

RUN_CODES: Final = (
    "overstriding",
    "high_vertical_oscillation",
    "ground_contact_imbalance",
    "form_fade",
    "cardiac_drift",
    "long_run_fuelling",
)
HISTORY_CODES: Final = (
    "volume_jump",
    "no_cutback",
    "consecutive_days",
    "low_easy_share",
    "acwr_high",
    "monotony_high",
)
SEVERITIES: Final = ("info", "warning", "alert")


@dataclass(frozen=True, slots=True)
class Flag:
    """One row of FLAGS."""

    activity_id: str | None
    athlete: str
    date: dt.date
    week_start: dt.date
    code: str
    severity: str
    value: float
    threshold: float
    unit: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return dict(zip(_FLAG_FIELDS, astuple(self), strict=True))


_FLAG_FIELDS = tuple(f.name for f in fields(Flag))
# FLAGS has no athlete column: in the lake it is the folder (athlete=<a>), as for every table.
assert tuple(FLAGS.names) == tuple(n for n in _FLAG_FIELDS if n != "athlete"), "Flag vs FLAGS"


class Seen(NamedTuple):
    """What a rule saw: a flag without its run, athlete and dates (each rule returns one)."""

    code: str
    severity: str
    value: float
    threshold: float
    unit: str
    message: str
    on: dt.date | None = None
    """The day the flag is on, when the rule picks it (a week rule's streak or peak day)."""

    def flag(self, activity_id: str | None, athlete: str, day: dt.date) -> Flag:
        """The flag, on ``on`` if the rule picked a day, else on ``day``."""
        on = self.on or day
        return Flag(
            activity_id,
            athlete,
            on,
            week_start(day),
            self.code,
            self.severity,
            float(self.value),
            float(self.threshold),
            self.unit,
            self.message,
        )


def flags_table(flags: Sequence[Flag]) -> pa.Table:
    """FLAGS table of ``flags`` (in order)."""
    return pa.Table.from_pylist([f.as_dict() for f in flags], schema=FLAGS)


def week_start(day: dt.date) -> dt.date:
    """Monday of the week of ``day``."""
    return day - timedelta(days=day.weekday())


def pace_per_km(speed_mps: float | None) -> str:
    """A speed in m/s as a pace, e.g. ``5:30 min/km``."""
    if speed_mps is None or speed_mps <= 0:
        return "your pace"
    secs = round(1000.0 / speed_mps)
    return f"{secs // 60}:{secs % 60:02d} min/km"


def hours_minutes(seconds: float) -> str:
    """A duration in words: ``45 min``, ``1 h 05 min``."""
    minutes = round(seconds / 60.0)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
