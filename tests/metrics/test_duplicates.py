"""One copy of each session: the overlap rule and the rank of runlake.metrics.find_duplicates,
on small activity tables (the lake and the views: tests/ingest/test_duplicates.py)."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from runlake._schemas import ACTIVITIES, DUPLICATES
from runlake.metrics import (
    SHARED_MIN_FRACTION,
    START_WITHIN_S,
    find_duplicates,
    sport_family,
)

T0 = datetime(2026, 6, 3, 6, 0, tzinfo=UTC)


def sha(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def act(
    file: str,
    start_s: float,
    minutes: float,
    *,
    sport: str | None = "running",
    fmt: str = "fit",
    records: int | None = None,
    dynamics: bool = True,
    session: int = 0,
) -> dict[str, object]:
    """One ACTIVITIES row of ``file`` (a name: its sha256 is derived from it)."""
    start = T0 + timedelta(seconds=start_s)
    return {
        "activity_id": f"{sha(file)[:16]}-{session}",
        "file_sha256": sha(file),
        "session_index": session,
        "source_format": fmt,
        "sport": sport,
        "start_time": start,
        "end_time": start + timedelta(minutes=minutes),
        "n_records": int(minutes * 60) if records is None else records,
        "has_running_dynamics": dynamics,
    }


def aid(file: str, session: int = 0) -> str:
    return f"{sha(file)[:16]}-{session}"


def table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ACTIVITIES)


def copies(rows: list[dict[str, object]], warned: set[str] | None = None) -> dict[str, str]:
    """activity_id -> duplicate_of."""
    t = find_duplicates(table(rows), {sha(f) for f in warned or set()})
    assert t.schema.equals(DUPLICATES)
    return dict(zip(t["activity_id"].to_pylist(), t["duplicate_of"].to_pylist(), strict=True))


# --------------------------------------------------------------------------- the overlap


def test_a_truncated_copy_is_a_duplicate_of_the_whole_run() -> None:
    rows = [act("run.fit", 0, 60), act("cut.fit", 0, 12, records=720)]
    t = find_duplicates(table(rows), {sha("cut.fit")})
    assert t.to_pylist() == [
        {
            "activity_id": aid("cut.fit"),
            "duplicate_of": aid("run.fit"),
            "duplicate_reason": f"copy of {aid('run.fit')}: started 0 s apart, 100 % of this "
            f"one's time shared; {aid('run.fit')} is preferred: its file is undamaged (this one "
            "was ingested with warnings: see ingest_errors)",
        }
    ]


def test_runs_one_after_the_other_are_not_copies() -> None:
    # a warm-up recorded on its own, then the run: they touch, they share nothing
    rows = [act("warmup.fit", 0, 15), act("run.fit", 15 * 60, 45), act("later.fit", 7200, 30)]
    assert copies(rows) == {}


@pytest.mark.parametrize(
    ("offset_min", "is_copy"),
    [
        (5, True),  # two devices started 5 minutes apart: 55 of 60 minutes shared
        (30, True),  # half of each shared: the limit
        (31, False),  # 29 of 60 minutes
    ],
)
def test_copies_that_started_apart_must_share_half_of_both(offset_min: int, is_copy: bool) -> None:
    assert SHARED_MIN_FRACTION == 0.5
    rows = [act("watch.fit", 0, 60), act("phone.gpx", offset_min * 60, 60, fmt="gpx")]
    assert copies(rows) == ({aid("phone.gpx"): aid("watch.fit")} if is_copy else {})


@pytest.mark.parametrize(
    ("offset_s", "is_copy"),
    [(0, True), (START_WITHIN_S, True), (START_WITHIN_S + 1, False)],
)
def test_a_short_copy_counts_if_it_started_within_a_minute(offset_s: float, is_copy: bool) -> None:
    # 10 minutes of a 60-minute run: all of its own time shared, a sixth of the run's
    rows = [act("run.fit", 0, 60), act("piece.fit", offset_s, 10)]
    assert copies(rows) == ({aid("piece.fit"): aid("run.fit")} if is_copy else {})


def test_a_copy_must_share_half_of_the_shorter_one() -> None:
    # started together, but the shorter one ran on long after the other stopped
    rows = [act("a.fit", 0, 60), act("b.fit", 0, 50)]
    assert copies(rows) == {aid("b.fit"): aid("a.fit")}
    rows = [act("a.fit", 0, 30), act("b.fit", 25 * 60, 30)]  # 5 of 30 minutes
    assert copies(rows) == {}


def test_two_sports_at_one_time_are_not_copies() -> None:
    rows = [act("run.fit", 0, 60), act("ride.fit", 0, 60, sport="cycling")]
    assert copies(rows) == {}


def test_the_legs_of_a_multisport_file_are_never_copies_of_each_other() -> None:
    def triathlon(file: str) -> list[dict[str, object]]:
        return [
            act(file, 0, 200, sport="generic", session=0),  # the summary session
            act(file, 0, 40, sport="swimming", session=1),
            act(file, 40 * 60, 5, sport="transition", session=2),
            act(file, 45 * 60, 100, sport="cycling", session=3),
            act(file, 145 * 60, 55, sport="running", session=4),
        ]

    assert copies(triathlon("tri.fit")) == {}
    # the same triathlon exported twice: each leg is a copy of the same leg of the other
    got = copies(triathlon("tri.fit") + triathlon("tri-copy.fit"))
    first, second = sorted(["tri.fit", "tri-copy.fit"], key=sha)
    assert got == {aid(second, s): aid(first, s) for s in range(5)}


def test_an_activity_without_a_sport_is_a_copy_only_of_what_covers_most_of_it() -> None:
    # a FIT file cut before its session message has no sport: a copy of the run
    rows = [act("run.fit", 0, 60), act("cut.fit", 0, 20, sport="generic")]
    assert copies(rows) == {aid("cut.fit"): aid("run.fit")}
    # ...as is a GPX without a type; and the copy that knows its sport is the primary even
    # when the other has more records and an undamaged file
    rows = [act("run.fit", 0, 60, records=100), act("notype.gpx", 0, 60, sport=None, fmt="gpx")]
    assert copies(rows, warned={"run.fit"}) == {aid("notype.gpx"): aid("run.fit")}
    # a day-long activity without a sport is not a copy of the run it holds
    rows = [act("run.fit", 0, 60), act("allday.fit", 0, 600, sport="generic")]
    assert copies(rows) == {}


def test_activities_without_times_are_never_copies() -> None:
    rows = [act("run.fit", 0, 60), act("notime.fit", 0, 60)]
    rows[1]["start_time"] = None
    assert copies(rows) == {}


def test_sport_family() -> None:
    assert sport_family("running") == "running"
    assert sport_family(" Running ") == "running"
    assert sport_family("generic") is None
    assert sport_family(None) is None


# --------------------------------------------------------------------------- the rank


@pytest.mark.parametrize(
    ("better", "worse", "warned", "why"),
    [
        (act("a.fit", 0, 60), act("b.fit", 0, 60), {"b.fit"}, "its file is undamaged"),
        # undamaged before format: a clean GPX beats a FIT with a bad CRC
        (act("a.gpx", 0, 60, fmt="gpx"), act("b.fit", 0, 60), {"b.fit"}, "its file is undamaged"),
        (act("a.fit", 0, 60), act("b.tcx", 0, 60, fmt="tcx"), set(), "FIT is preferred to TCX"),
        (act("a.tcx", 0, 60, fmt="tcx"), act("b.gpx", 0, 60, fmt="gpx"), set(), "TCX is pre"),
        # format before records: the FIT beats a GPX with more points
        (act("a.fit", 0, 60), act("b.gpx", 0, 60, fmt="gpx", records=7200), set(), "FIT is"),
        (act("a.fit", 0, 60), act("b.fit", 0, 60, records=3000), set(), "more records (3600 vs"),
        # records before running dynamics
        (act("a.fit", 0, 60, dynamics=False), act("b.fit", 0, 59), set(), "more records"),
        (act("a.fit", 0, 60), act("b.fit", 0, 60, dynamics=False), set(), "running dynamics"),
    ],
)
def test_the_most_complete_copy_is_the_primary(
    better: dict[str, object], worse: dict[str, object], warned: set[str], why: str
) -> None:
    t = find_duplicates(table([worse, better]), {sha(f) for f in warned}).to_pylist()
    assert [(r["activity_id"], r["duplicate_of"]) for r in t] == [
        (worse["activity_id"], better["activity_id"])
    ]
    assert why in str(t[0]["duplicate_reason"])


def test_equal_copies_keep_the_smallest_file_sha256() -> None:
    a, b = act("a.fit", 0, 60), act("b.fit", 0, 60)
    low, high = sorted([a, b], key=lambda r: str(r["file_sha256"]))
    t = find_duplicates(table([a, b])).to_pylist()
    assert [(r["activity_id"], r["duplicate_of"]) for r in t] == [
        (high["activity_id"], low["activity_id"])
    ]
    assert "the one with the smaller file sha256 is kept" in str(t[0]["duplicate_reason"])


def test_a_duplicate_always_points_at_a_primary() -> None:
    # b overlaps a and c, which do not overlap each other: the best copy (c, more records)
    # is a primary, b is its copy, and a, no longer overlapping a primary, counts again
    rows = [
        act("a.fit", 0, 60, records=1000),
        act("b.fit", 30 * 60, 60, records=2000),
        act("c.fit", 60 * 60, 60, records=3000),
    ]
    assert copies(rows) == {aid("b.fit"): aid("c.fit")}
    # a copy overlapping two primaries is the copy of the one it shares most with
    rows = [act("x.fit", 0, 60), act("y.fit", 55 * 60, 60), act("z.gpx", 0, 70, fmt="gpx")]
    assert copies(rows) == {aid("z.gpx"): aid("x.fit")}


def test_the_result_does_not_depend_on_the_order_of_the_rows() -> None:
    rng = random.Random(14)
    rows: list[dict[str, object]] = []
    for day in range(30):
        start = day * 86_400 + rng.randrange(0, 3600)
        minutes = rng.choice([30, 45, 60, 90])
        rows.append(act(f"run-{day}.fit", start, minutes, records=minutes * 60))
        if day % 3 == 0:
            rows.append(act(f"run-{day}.gpx", start + 2, minutes, fmt="gpx"))
        if day % 4 == 0:
            rows.append(act(f"run-{day}-cut.fit", start, minutes / 3, sport="generic"))
        if day % 5 == 0:
            rows.append(act(f"run-{day}-copy.fit", start, minutes, records=minutes * 60))
    expected = find_duplicates(table(rows), {sha("run-3.fit")})
    assert expected.num_rows == 10 + 8 + 6
    for _ in range(5):
        rng.shuffle(rows)
        assert find_duplicates(table(rows), {sha("run-3.fit")}).equals(expected)
