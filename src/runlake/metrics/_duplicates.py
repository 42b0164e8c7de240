"""One copy of each session: which activities are copies of one another, which copy counts.

The same run can reach the lake as several files: a truncated or bit-flipped copy of a file
already there, the same run exported twice (the watch's FIT, a website's GPX), or recorded
by two devices at once. Each file is its own content, so each is ingested; this module looks
at one athlete's activities and decides which are copies of one session (**overlap**) and
which copy is the **primary**: the one that ``runs``, the loads, the metrics and the flags
count. The others are its duplicates (DUPLICATES: ``activity_id`` -> ``duplicate_of``, with
``duplicate_reason``).

**Overlap.** Two activities of the athlete are copies of one session when all of these hold
(``shared`` is the time both cover, each one's range is ``start_time`` to ``end_time``):

- they come from different files: the legs of one multisport file never are copies;
- their sports agree: the same sport family (:func:`sport_family`), or one of them has no
  known sport (``generic`` or none: a FIT file cut before its session message, a GPX
  without a type); an activity without a known sport must then share at least
  ``SHARED_MIN_FRACTION`` of its own range (so the "generic" summary session of a
  multisport file is not taken for a copy of one of its legs);
- ``shared`` is at least ``SHARED_MIN_FRACTION`` (half) of the shorter one's range: a
  truncated copy shares all of its own time;
- they started within ``START_WITHIN_S`` (60 s) of each other, or ``shared`` is at least
  ``SHARED_MIN_FRACTION`` of the longer one's range as well (two devices started a few
  minutes apart). A run and the separate warm-up just before it share nothing.

Activities without a start or an end time are never copies.

**Rank: the most complete copy first.** (1) a known sport over none; (2) an undamaged file
(``files.status = 'ingested'``) over one ingested with warnings; (3) FIT over TCX over GPX
(``source_format``, ``FORMAT_PREFERENCE``); (4) more records (``n_records``); (5) running
dynamics present; (6) the smallest ``file_sha256``, then ``session_index``: a tie-break
that does not depend on when or in which order the files came.

**Who is whose copy.** Activities are taken in rank order; each one becomes a duplicate of
the primary already chosen that it overlaps most (the longest ``shared`` time; on a tie the
better ranked), or a primary itself when it overlaps none. So a duplicate always points at
a primary, and the result depends only on the set of activities and on their files'
status, never on the order of ingest.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from runlake._schemas import DUPLICATES

__all__ = [
    "FORMAT_PREFERENCE",
    "SHARED_MIN_FRACTION",
    "START_WITHIN_S",
    "UNKNOWN_SPORTS",
    "find_duplicates",
    "sport_family",
]

START_WITHIN_S: Final = 60.0
"""Two copies that started this close (seconds) need to share only half of the shorter."""
SHARED_MIN_FRACTION: Final = 0.5
"""Share of the shorter activity's time range (and, for copies that did not start within
``START_WITHIN_S``, of the longer one's too) that two copies of one session cover together."""
FORMAT_PREFERENCE: Final = ("fit", "tcx", "gpx")
"""Source formats, the most complete first (any other format ranks after these)."""
UNKNOWN_SPORTS: Final = frozenset({"generic", "all", ""})
"""Sport names that say nothing about the sport (FIT ``generic``, what runlake writes for a
FIT without a session or a GPX without a type)."""
_SPORT_ALIASES: Final[Mapping[str, str]] = {}
"""Sport names that are one family (none yet: runlake writes FIT profile sport names)."""


def sport_family(sport: str | None) -> str | None:
    """The family of a sport name, for comparing copies; None: the sport is not known."""
    name = (sport or "").strip().lower()
    if name in UNKNOWN_SPORTS:
        return None
    return _SPORT_ALIASES.get(name, name)


@dataclass(frozen=True, slots=True)
class _Copy:
    """What the rule looks at in one activity (times in ms since the epoch)."""

    activity_id: str
    file_sha256: str
    session_index: int
    family: str | None
    start_ms: int
    end_ms: int
    warned: bool
    source_format: str
    n_records: int
    has_running_dynamics: bool

    @property
    def range_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def rank(self) -> tuple[bool, bool, int, int, bool, str, int]:
        """Sorts the most complete copy first."""
        fmt = self.source_format
        return (
            self.family is None,
            self.warned,
            FORMAT_PREFERENCE.index(fmt) if fmt in FORMAT_PREFERENCE else len(FORMAT_PREFERENCE),
            -self.n_records,
            not self.has_running_dynamics,
            self.file_sha256,
            self.session_index,
        )


def _ms(column: pa.ChunkedArray | pa.Array) -> list[int | None]:
    """Timestamps as integer ms since the epoch (None where missing)."""
    out: list[int | None] = column.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).to_pylist()
    return out


def _copies(activities: pa.Table, warned: Collection[str]) -> list[_Copy]:
    """The activities that have a time range, as :class:`_Copy`."""
    cols = activities.select(
        [
            "activity_id",
            "file_sha256",
            "session_index",
            "source_format",
            "sport",
            "n_records",
            "has_running_dynamics",
        ]
    ).to_pydict()
    starts = _ms(activities["start_time"])
    ends = _ms(activities["end_time"])
    out: list[_Copy] = []
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if start is None or end is None or cols["activity_id"][i] is None:
            continue
        sha = str(cols["file_sha256"][i] or "")
        out.append(
            _Copy(
                activity_id=str(cols["activity_id"][i]),
                file_sha256=sha,
                session_index=int(cols["session_index"][i] or 0),
                family=sport_family(cols["sport"][i]),
                start_ms=int(start),
                end_ms=max(int(start), int(end)),
                warned=sha in warned,
                source_format=str(cols["source_format"][i] or "").lower(),
                n_records=int(cols["n_records"][i] or 0),
                has_running_dynamics=bool(cols["has_running_dynamics"][i]),
            )
        )
    return out


def _fraction(shared: int, range_ms: int) -> float:
    """Share of a range covered by ``shared`` ms (an empty range is covered whole)."""
    return 1.0 if range_ms <= 0 else shared / range_ms


def _shared_ms(a: _Copy, b: _Copy) -> int | None:
    """The time two activities share when they are copies of one session (else None)."""
    if a.file_sha256 == b.file_sha256:
        return None
    if a.family is not None and b.family is not None and a.family != b.family:
        return None
    shared = min(a.end_ms, b.end_ms) - max(a.start_ms, b.start_ms)
    if shared < 0:
        return None
    fa, fb = _fraction(shared, a.range_ms), _fraction(shared, b.range_ms)
    if max(fa, fb) < SHARED_MIN_FRACTION:  # the shorter one's share
        return None
    if (a.family is None and fa < SHARED_MIN_FRACTION) or (
        b.family is None and fb < SHARED_MIN_FRACTION
    ):
        return None
    close = abs(a.start_ms - b.start_ms) <= START_WITHIN_S * 1000
    if not close and min(fa, fb) < SHARED_MIN_FRACTION:
        return None
    return shared


def _overlapping(copies: list[_Copy]) -> Iterator[tuple[int, int, int]]:
    """Every pair of copies of one session: (index, index, shared ms); a sweep over starts."""
    order = sorted(range(len(copies)), key=lambda i: (copies[i].start_ms, i))
    starts = np.array([copies[i].start_ms for i in order], dtype=np.int64)
    ends = np.array([copies[i].end_ms for i in order], dtype=np.int64)
    reach = np.searchsorted(starts, ends, side="right")  # those starting before each ends
    for k in np.flatnonzero(reach > np.arange(len(order)) + 1):
        a = copies[order[k]]
        for m in range(k + 1, int(reach[k])):
            shared = _shared_ms(a, copies[order[m]])
            if shared is not None:
                yield order[k], order[m], shared


def _why(primary: _Copy, copy: _Copy) -> str:
    """The first rank criterion the primary wins on, in words."""
    p, c = primary.rank, copy.rank
    if p[0] != c[0]:
        return "its sport is known (this copy has none: no session message or GPX type)"
    if p[1] != c[1]:
        return "its file is undamaged (this one was ingested with warnings: see ingest_errors)"
    if p[2] != c[2]:
        return (
            f"{primary.source_format.upper()} is preferred to {copy.source_format.upper()} "
            "(FIT, then TCX, then GPX)"
        )
    if p[3] != c[3]:
        return f"it has more records ({primary.n_records} vs {copy.n_records})"
    if p[4] != c[4]:
        return "it has running dynamics (this copy has none)"
    return "an equal copy: the one with the smaller file sha256 is kept"


def _reason(primary: _Copy, copy: _Copy, shared: int) -> str:
    apart = abs(copy.start_ms - primary.start_ms) / 1000
    pct = 100.0 * _fraction(shared, copy.range_ms)
    return (
        f"copy of {primary.activity_id}: started {apart:.0f} s apart, {pct:.0f} % of this "
        f"one's time shared; {primary.activity_id} is preferred: {_why(primary, copy)}"
    )


def find_duplicates(activities: pa.Table, warned: Collection[str] = frozenset()) -> pa.Table:
    """The duplicates among one athlete's activities (DUPLICATES rows, by ``activity_id``).

    ``activities``: the athlete's ACTIVITIES rows (every sport; the columns the rule reads:
    ``activity_id``, ``file_sha256``, ``session_index``, ``source_format``, ``sport``,
    ``start_time``, ``end_time``, ``n_records``, ``has_running_dynamics``). ``warned``: the
    ``file_sha256`` of the files ingested with warnings. Activities not listed are primaries.
    """
    copies = _copies(activities, warned)
    pairs: dict[int, dict[int, int]] = {}
    for i, j, shared in _overlapping(copies):
        pairs.setdefault(i, {})[j] = shared
        pairs.setdefault(j, {})[i] = shared
    primaries: set[int] = set()
    rows: list[dict[str, str]] = []
    for i in sorted(pairs, key=lambda n: copies[n].rank):
        chosen = [j for j in pairs[i] if j in primaries]
        if not chosen:
            primaries.add(i)
            continue
        j = min(chosen, key=lambda n: (-pairs[i][n], copies[n].rank))
        rows.append(
            {
                "activity_id": copies[i].activity_id,
                "duplicate_of": copies[j].activity_id,
                "duplicate_reason": _reason(copies[j], copies[i], pairs[i][j]),
            }
        )
    rows.sort(key=lambda r: r["activity_id"])
    return pa.Table.from_pylist(rows, schema=DUPLICATES)
