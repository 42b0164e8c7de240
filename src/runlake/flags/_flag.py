"""What a flag is: its codes, its row (:class:`Flag`, one row of FLAGS) and the words it uses.

The ``value``, ``threshold`` and ``unit`` of a flag are in machine form (mm, %, ratio...);
what a person reads says them as a runner does (:func:`flag_headline`: "12.3 cm (limit
11.5 cm)", "ratio 4.0 (limit 1.5)"), and the messages use the same words (:func:`limit`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import timedelta
from typing import Final, NamedTuple

import pyarrow as pa

from runlake._schemas import FLAGS

__all__ = [
    "CHANGE_CODES",
    "HISTORY_CODES",
    "NOTE_CODES",
    "RUN_CODES",
    "SEVERITIES",
    "Flag",
    "Seen",
    "count_flags",
    "flag_headline",
    "flags_table",
    "hours_minutes",
    "limit",
    "pace_per_km",
    "week_start",
]

RUN_CODES: Final = (
    "overstriding",
    "high_vertical_oscillation",
    "ground_contact_imbalance",
    "form_fade",
    "form_off_baseline",
    "cardiac_drift",
    "long_run_spike",
    "long_run_fuelling",
    "hydration",
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
NOTE_CODES: Final = ("long_run_fuelling", "hydration")
"""Notes (severity info): advice for the next long or hot run, never counted as warnings."""
CHANGE_CODES: Final = ("form_fade", "form_off_baseline", "long_run_spike", "volume_jump")
"""Codes whose value is a change in % (shown with its sign)."""


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


def _number(x: float, unit: str, *, signed: bool = False, more: int = 0) -> str:
    """A value in a runner's unit: mm as cm, minutes as hours and minutes, the rest with
    as many decimals as its size needs (``more``: one more, to tell it from its limit)."""
    if unit == "mm":
        return f"{x / 10:.{1 + more}f} cm"
    if unit == "min":
        return hours_minutes(x * 60.0)
    sign = "+" if signed else ""
    decimals = 0 if abs(x) >= 100 or unit in ("days", "weeks") else 1
    if unit == "index":
        decimals = 2
    decimals += more if unit not in ("days", "weeks") else 0
    text = f"{x:{sign}.{decimals}f}"
    if unit in ("index", "ratio", "monotony"):
        return f"{unit} {text}"
    if unit in ("days", "weeks"):
        return f"{text} {unit}"
    return f"{text} {unit}".rstrip()


def limit(value: float, threshold: float, unit: str, *, signed: bool = False) -> str:
    """``value (limit threshold)`` in a runner's units: ``12.3 cm (limit 11.5 cm)``,
    ``ratio 4.0 (limit 1.5)``, ``+13.3 % (limit +10.0 %)``."""
    more = int(_number(value, unit, signed=signed) == _number(threshold, unit, signed=signed))
    seen = _number(value, unit, signed=signed, more=more)  # 1.52 over 1.5: "1.52 (limit 1.50)"
    if unit in ("index", "ratio", "monotony"):
        bound = _number(threshold, unit, signed=signed, more=more).split(" ", 1)[1]
    elif unit in ("days", "weeks"):
        bound = f"{threshold:.0f}"
    else:
        bound = _number(threshold, unit, signed=signed, more=more)
    return f"{seen} (limit {bound})"


def flag_headline(code: str, value: float, threshold: float, unit: str) -> str:
    """What a flag's value and threshold say, as a runner says it (a flag's headline):
    ``12.3 cm (limit 11.5 cm)``, ``ratio 4.0 (limit 1.5)``, ``62 % easy (at least 80 %)``,
    ``1 h 40 min (from 1 h 15 min)``, ``31 °C (hot from 28 °C)``."""
    if code == "low_easy_share":
        return f"{value:.0f} % easy (at least {threshold:.0f} %)"
    if code in NOTE_CODES:
        if unit == "°C":
            return f"{value:.0f} °C (hot from {threshold:.0f} °C)"
        return f"{hours_minutes(value * 60.0)} (from {hours_minutes(threshold * 60.0)})"
    if code == "ground_contact_imbalance":
        return f"{value:.1f} % left (limit {threshold:.1f} %)"
    if code == "monotony_high":
        unit = "monotony"
    return limit(value, threshold, unit, signed=code in CHANGE_CODES)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def count_flags(severities: Iterable[str]) -> str:
    """How many flags, as a header says it: alerts and warnings, then the notes apart
    (``1 alert, 5 warnings, plus 7 notes``): notes are advice, not warnings."""
    n = Counter(severities)
    text = f"{_plural(n['alert'], 'alert')}, {_plural(n['warning'], 'warning')}"
    return text + (f", plus {_plural(n['info'], 'note')}" if n["info"] else "")
