"""Per-run form and fatigue metrics (runlake.metrics) on simulated and real runs."""

from __future__ import annotations

import functools
import math
import time
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from runlake._schemas import LAP_METRICS, LAPS, RECORDS, RUN_METRICS
from runlake.decode import decode_fit
from runlake.metrics import (
    DURATION_LOAD_PER_MIN,
    RESUME_SKIP_S,
    WARMUP_S,
    RunMetrics,
    estimate_hr_max,
    hr_histogram,
    lap_metrics,
    measure_run,
    metrics_table,
    rezone,
    run_metrics,
    steady_thirds,
)
from runlake.normalize import SourceInfo, normalize_fit
from runlake.synth import RunSpec, Samples, encode_run, simulate
from tests.conftest import activity_of, corpus_runs, records_of, requires_corpus

START = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
HR_MAX = 195.0
EASY = 0.8


# -- building records straight from the generator's samples ----------------------------------


def spec(**kw: Any) -> RunSpec:
    base: dict[str, Any] = {
        "start": START,
        "kind": "easy",
        "duration_s": 2700,
        "base_speed_mps": 2.85,
        "base_hr_bpm": 142.0,
        "cadence_spm": 171.0,
        "seed": 7,
    }
    base.update(kw)
    return RunSpec(**base)


def metrics_of(s: Samples, activity_id: str = "a-0", *, hr: bool = True, **kw: Any) -> RunMetrics:
    return run_metrics(
        records_of(s, activity_id, hr=hr),
        activity_of(s, activity_id),
        hr_max_bpm=kw.pop("hr_max_bpm", HR_MAX),
        easy_hr_fraction=kw.pop("easy_hr_fraction", EASY),
        **kw,
    )


def hand_records(n: int, **cols: np.ndarray | float) -> pa.Table:
    """A 1 Hz records table of ``n`` samples with the given columns (constants broadcast)."""
    ts = (int(START.timestamp()) + np.arange(n)) * 1000
    data: dict[str, pa.Array] = {
        "activity_id": pa.array(["h-0"] * n, pa.string()),
        "timestamp": pa.array(ts, pa.int64()).cast(RECORDS.field("timestamp").type),
        "elapsed_s": pa.array(np.arange(n, dtype=np.float64)),
    }
    for name, v in cols.items():
        arr = np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))
        data[name] = pa.array(arr, pa.float64(), from_pandas=True)
    return pa.table(
        {f.name: data.get(f.name, pa.nulls(n, f.type)) for f in RECORDS}, schema=RECORDS
    )


HAND_ACTIVITY: dict[str, object] = {"activity_id": "h-0", "start_time": START}


# -- contract ------------------------------------------------------------------------------


def test_run_metrics_fields_are_the_schema_columns() -> None:
    assert [f.name for f in fields(RunMetrics)] == RUN_METRICS.names
    m = metrics_of(simulate(spec()))
    table = metrics_table([m, m])
    assert table.schema == RUN_METRICS
    assert table.num_rows == 2
    assert table.column("activity_id").to_pylist() == ["a-0", "a-0"]
    assert table.column("date").to_pylist() == [date(2026, 3, 2)] * 2


# -- form averages -------------------------------------------------------------------------


def test_clean_easy_run_form_averages_are_time_weighted_means() -> None:
    s = simulate(spec())
    m = metrics_of(s)
    # 1 Hz, no pause: every sample but the first stands for one second; all are running.
    assert s.vertical_oscillation_mm is not None
    assert s.stance_time_ms is not None
    assert s.step_length_mm is not None
    assert m.cadence_spm == pytest.approx(s.cadence_spm[1:].mean(), rel=1e-12)
    assert m.vertical_oscillation_mm == pytest.approx(s.vertical_oscillation_mm[1:].mean())
    assert m.stance_time_ms == pytest.approx(s.stance_time_ms[1:].mean())
    assert m.step_length_mm == pytest.approx(s.step_length_mm[1:].mean())
    assert m.step_length_source == "device"
    assert m.has_running_dynamics is True
    assert m.dynamics_sensor == "chest"
    assert m.duration_s == 2700.0
    assert m.moving_s == 2700.0
    assert m.date == date(2026, 3, 2)
    assert m.start_time == START
    # A clean runner: contact time and cadence well inside Garmin's green/blue zones.
    assert m.overstriding_index is not None
    assert 0.6 < m.overstriding_index < 0.85
    # Steady easy run: the steady part is most of it and form holds.
    assert m.steady_run is True
    assert 0.8 * (2700 - WARMUP_S) < m.steady_s <= 2700 - WARMUP_S
    for change in (m.cadence_change_pct, m.stance_time_change_pct):
        assert change is not None
        assert abs(change) < 1.5
    assert m.vertical_oscillation_change_pct is not None
    assert abs(m.vertical_oscillation_change_pct) < 2.0
    # 45 min: the steady part is under the 40 min decoupling needs.
    assert m.steady_s < 2400
    assert m.aerobic_decoupling_pct is None


def test_no_running_dynamics_derives_only_step_length() -> None:
    s = simulate(spec(running_dynamics=False, hr_dropout_s=6))
    m = metrics_of(s)
    assert m.has_running_dynamics is False
    assert m.vertical_oscillation_mm is None
    assert m.vertical_ratio_pct is None
    assert m.stance_time_ms is None
    assert m.stance_time_balance_pct is None
    assert m.overstriding_index is None
    assert m.dynamics_sensor is None
    assert m.stance_time_change_pct is None
    assert m.vertical_oscillation_change_pct is None
    assert m.cadence_change_pct is not None  # cadence is still measured
    derived = s.speed_mps * 60_000.0 / s.cadence_spm
    assert m.step_length_source == "derived"
    assert m.step_length_mm == pytest.approx(derived[1:].mean(), rel=1e-12)
    # The wrist sensor's first seconds without heart rate are simply not counted.
    assert m.hr_s == 2700.0 - 5.0


def test_device_session_averages_fill_in_for_records_without_them() -> None:
    s = simulate(spec(running_dynamics=False))
    act = {**activity_of(s, "a-0"), "avg_stance_time_ms": 251.0, "avg_step_length_mm": 990.0}
    m = run_metrics(records_of(s, "a-0"), act, hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
    assert m.stance_time_ms == 251.0
    assert m.step_length_mm == 990.0
    assert m.step_length_source == "device"
    assert m.has_running_dynamics is True
    assert m.vertical_oscillation_mm is None
    assert m.overstriding_index is None  # needs per-sample contact time


def test_pod_sensor_from_the_device_name_or_the_caller() -> None:
    s = simulate(spec())
    act = {**activity_of(s, "a-0"), "device_product": "Running Dynamics Pod"}
    m = run_metrics(records_of(s, "a-0"), act, hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
    assert m.dynamics_sensor == "pod"
    assert metrics_of(s, dynamics_sensor="pod").dynamics_sensor == "pod"
    no_rd = simulate(spec(running_dynamics=False))
    assert metrics_of(no_rd, dynamics_sensor="pod").dynamics_sensor is None


def test_the_problem_runs_show_in_their_metric() -> None:
    clean = metrics_of(simulate(spec()))
    bouncy = metrics_of(simulate(spec(kind="bouncy")))
    over = metrics_of(simulate(spec(kind="overstriding", cadence_spm=148.0)))
    asym = metrics_of(simulate(spec(kind="asymmetric")))
    assert clean.vertical_oscillation_mm is not None
    assert clean.overstriding_index is not None
    assert clean.stance_time_balance_pct is not None
    assert bouncy.vertical_oscillation_mm is not None
    assert bouncy.vertical_oscillation_mm > 120.0 > 95.0 > clean.vertical_oscillation_mm
    assert over.overstriding_index is not None
    assert over.overstriding_index > 1.04
    assert clean.overstriding_index < 0.85
    assert asym.stance_time_balance_pct is not None
    assert asym.stance_time_balance_pct < 47.0
    assert 49.5 < clean.stance_time_balance_pct < 50.5


# -- overstriding index ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("speed", "gct", "cadence", "expected"),
    [
        (3.0, 308.0, 153.0, 1.0),  # Garmin's red-zone boundary for both at 3 m/s
        (4.0, 273.0, 162.0, 1.0),  # the same form 1 m/s faster (pace-adjusted)
        (2.0, 343.0, 144.0, 1.0),  # and 1 m/s slower
        (6.0, 238.0, 171.0, 1.0),  # speed clipped at 5 m/s
        (3.0, 250.0, 170.0, (250.0 / 308.0) * (153.0 / 170.0)),
        (3.0, 330.0, 148.0, (330.0 / 308.0) * (153.0 / 148.0)),
    ],
)
def test_overstriding_index_definition(
    speed: float, gct: float, cadence: float, expected: float
) -> None:
    rec = hand_records(900, speed_mps=speed, stance_time_ms=gct, cadence_spm=cadence)
    m = run_metrics(rec, HAND_ACTIVITY, hr_max_bpm=None, easy_hr_fraction=EASY)
    assert m.overstriding_index == pytest.approx(expected, rel=1e-12)


def test_walking_samples_are_not_form() -> None:
    cad = np.where(np.arange(1200) < 600, 170.0, 110.0)  # then walking
    rec = hand_records(
        1200, speed_mps=np.where(cad > 120, 3.0, 1.3), cadence_spm=cad, stance_time_ms=250.0
    )
    m = run_metrics(rec, HAND_ACTIVITY, hr_max_bpm=None, easy_hr_fraction=EASY)
    assert m.cadence_spm == 170.0
    assert m.moving_s == 1199.0


# -- steady part, within-run changes, decoupling -------------------------------------------------


def test_fading_long_run_shows_form_fade_and_drift() -> None:
    m = metrics_of(simulate(spec(kind="fading", duration_s=6000, seed=0)))
    assert m.steady_run is True
    assert m.cadence_change_pct is not None
    assert m.stance_time_change_pct is not None
    assert m.aerobic_decoupling_pct is not None
    assert -6.5 < m.cadence_change_pct < -4.5  # the generator drops cadence 5.5 %
    assert 5.0 < m.stance_time_change_pct < 7.5  # and raises contact time 6.5 %
    assert m.aerobic_decoupling_pct > 5.0
    clean = metrics_of(simulate(spec(kind="long", duration_s=6000, seed=0)))
    assert clean.aerobic_decoupling_pct is not None
    assert abs(clean.aerobic_decoupling_pct) < 2.5
    assert clean.cadence_change_pct is not None
    assert abs(clean.cadence_change_pct) < 1.0


def test_steady_thirds_are_the_thirds_of_the_form_changes() -> None:
    """The report's thirds (steady_thirds) give the metrics' change: one implementation."""
    s = simulate(spec(kind="fading", duration_s=6000, seed=0))
    rec = records_of(s, "a-0")
    m = metrics_of(s)
    thirds = steady_thirds(rec.take(pa.array(np.arange(rec.num_rows)[::-1])))  # any order
    assert thirds.steady_run is m.steady_run is True
    assert thirds.warmup_end_s is not None
    assert 600.0 <= thirds.warmup_end_s < 700.0  # ten minutes of moving time
    vo = np.asarray(rec["vertical_oscillation_mm"].to_numpy(), dtype=np.float64)[::-1]
    w = thirds.weights

    def mean(mask: np.ndarray) -> float:
        return float((vo[mask] * w[mask]).sum() / w[mask].sum())

    change = (mean(thirds.last) / mean(thirds.first) - 1.0) * 100.0
    assert m.vertical_oscillation_change_pct is not None
    assert change == pytest.approx(m.vertical_oscillation_change_pct, rel=1e-12)
    # a third of the steady part each, in steady time
    assert w[thirds.first].sum() == pytest.approx(m.steady_s / 3.0, abs=2.0)
    assert w[thirds.last].sum() == pytest.approx(m.steady_s / 3.0, abs=2.0)
    assert not (thirds.first & thirds.last).any()


def test_decoupling_definition_and_hills() -> None:
    n = 3601
    hr = np.where(np.arange(n) <= WARMUP_S + 1500, 140.0, 150.0)
    flat = hand_records(
        n,
        speed_mps=3.0,
        heart_rate_bpm=hr,
        cadence_spm=170.0,
        distance_m=3.0 * np.arange(n),
        altitude_m=400.0,
    )
    m = run_metrics(flat, HAND_ACTIVITY, hr_max_bpm=200.0, easy_hr_fraction=EASY)
    assert m.steady_s == 3000.0  # everything after the 10 min warm-up
    # EF = speed / HR: (3/140 - 3/150) / (3/140) = 1 - 140/150
    assert m.aerobic_decoupling_pct == pytest.approx((1 - 140 / 150) * 100, rel=1e-12)
    # Climbing 2 % through the second half: the hill, not the heart, would explain it.
    climb = np.where(np.arange(n) > WARMUP_S + 1500, 0.02 * 3.0 * (np.arange(n) - 2100), 0.0)
    hilly = hand_records(
        n,
        speed_mps=3.0,
        heart_rate_bpm=hr,
        cadence_spm=170.0,
        distance_m=3.0 * np.arange(n),
        altitude_m=400.0 + climb,
    )
    m2 = run_metrics(hilly, HAND_ACTIVITY, hr_max_bpm=200.0, easy_hr_fraction=EASY)
    assert m2.aerobic_decoupling_pct is None
    assert m2.steady_run is True


def test_steady_part_leaves_out_warm_up_pauses_and_off_pace() -> None:
    n = 3601
    speed = np.full(n, 3.0)
    speed[2000:2300] = 4.2  # a 5 min surge: 40 % off the typical pace
    rec = hand_records(n, speed_mps=speed, cadence_spm=170.0)
    m = run_metrics(rec, HAND_ACTIVITY, hr_max_bpm=None, easy_hr_fraction=EASY)
    assert m.steady_s == 3000.0 - 300.0
    assert m.steady_speed_mps == 3.0
    assert m.moving_s == 3600.0
    # A pause: the sample after it stands for one second, and the next minute is not steady.
    base = simulate(spec(seed=3))
    paused = simulate(spec(seed=3, pause_s=240))
    mb, mp = metrics_of(base), metrics_of(paused)
    assert mp.moving_s == mb.moving_s == 2700.0
    assert mb.steady_s - mp.steady_s == pytest.approx(RESUME_SKIP_S, abs=5.0)


def test_walking_junk_is_not_a_steady_run() -> None:
    """A fading run whose second half is walked, with a heart-rate spike to 250 in the walk
    and ground-contact spikes while running: no steady run, no within-run change, no drift;
    the same run without the junk still shows both."""
    clean = metrics_of(simulate(spec(kind="fading", duration_s=4200, seed=7)))
    assert clean.steady_run is True
    assert clean.aerobic_decoupling_pct is not None
    assert clean.aerobic_decoupling_pct > 5.0
    assert clean.cadence_change_pct is not None
    assert clean.cadence_change_pct < -3.0
    junk_spec = spec(kind="fading", duration_s=4200, seed=7, walk_from_s=2100, spikes=True)
    junk = metrics_of(simulate(junk_spec))
    # the steady part is the running before the walk, after the warm-up, without the spikes
    assert junk.steady_s == pytest.approx(2100 - WARMUP_S - 30, abs=60)
    assert junk.steady_run is False  # 25 of 60 minutes after the warm-up
    assert junk.cadence_change_pct is None
    assert junk.stance_time_change_pct is None
    assert junk.aerobic_decoupling_pct is None
    # the walk is no part of the form values, the spikes no part of anything
    assert junk.cadence_spm is not None
    assert junk.cadence_spm > 160.0
    assert junk.stance_time_ms is not None
    assert clean.stance_time_ms is not None
    assert abs(junk.stance_time_ms - clean.stance_time_ms) < 5.0
    assert junk.peak_hr_bpm is not None
    assert junk.peak_hr_bpm < 200.0
    assert junk.hr_histogram_bpm is not None
    assert max(b for b in junk.hr_histogram_bpm if b is not None) <= 220.0


def test_sensor_spikes_count_as_missing() -> None:
    n = 1801
    hr = np.full(n, 150.0)
    hr[1000:1030] = 250.0  # no runner's heart rate
    gct = np.full(n, 250.0)
    gct[1200:1230] = 480.0  # at 3 m/s: a spike
    rec = hand_records(n, speed_mps=3.0, heart_rate_bpm=hr, stance_time_ms=gct, cadence_spm=170.0)
    m = run_metrics(rec, HAND_ACTIVITY, hr_max_bpm=200.0, easy_hr_fraction=EASY)
    assert m.stance_time_ms == 250.0
    assert m.hr_s == n - 1 - 30
    assert m.steady_s == n - 1 - WARMUP_S - 60  # both spikes left out
    slow = hand_records(n, speed_mps=1.8, stance_time_ms=gct, cadence_spm=150.0)
    m_slow = run_metrics(slow, HAND_ACTIVITY, hr_max_bpm=None, easy_hr_fraction=EASY)
    assert m_slow.stance_time_ms == pytest.approx((250.0 * (n - 31) + 480.0 * 30) / (n - 1))


def test_temperature_and_pace_bins() -> None:
    n = 2401
    speed = np.where(np.arange(n) < 1500, 3.0, 2.5)  # 5:33 then 6:40 min/km
    cad = np.where(np.arange(n) < 1500, 172.0, 166.0)
    gct = np.where(np.arange(n) < 1500, 240.0, 262.0)
    temp = np.where(np.arange(n) < 1200, 20.0, 24.0)
    rec = hand_records(n, speed_mps=speed, cadence_spm=cad, stance_time_ms=gct, temperature_c=temp)
    m = run_metrics(rec, HAND_ACTIVITY, hr_max_bpm=None, easy_hr_fraction=EASY)
    assert m.temperature_c == pytest.approx((20.0 * 1199 + 24.0 * 1201) / 2400)
    # after the warm-up: the rest of the first 1500 s at 333 s/km (bin 330), then 901 s at
    # 400 s/km (bin 400; a change of pace is no stop)
    assert m.pace_bin_s_per_km == (330.0, 400.0)
    assert m.pace_bin_s == (1500.0 - WARMUP_S - 1, 901.0)
    assert m.pace_bin_cadence_spm == (172.0, 166.0)
    assert m.pace_bin_stance_time_ms == (240.0, 262.0)
    assert m.pace_bin_vertical_oscillation_mm == (None, None)
    walked = hand_records(n, speed_mps=1.3, cadence_spm=110.0)
    m_walk = run_metrics(walked, HAND_ACTIVITY, hr_max_bpm=None, easy_hr_fraction=EASY)
    assert m_walk.pace_bin_s_per_km == ()
    assert m_walk.temperature_c is None


def test_workout_is_not_a_steady_run() -> None:
    m = metrics_of(simulate(spec(kind="workout", duration_s=3300, intervals=(6, 180, 120))))
    assert m.steady_run is False
    assert m.cadence_change_pct is None
    assert m.stance_time_change_pct is None
    assert m.aerobic_decoupling_pct is None
    assert m.easy_s is not None
    assert m.hr_s is not None
    assert m.easy_s / m.hr_s < 0.85  # the intervals are hard


# -- heart rate, zones and load ------------------------------------------------------------


def test_zones_easy_time_and_edwards_trimp() -> None:
    hr = np.where(np.arange(1201) <= 600, 130.0, 170.0)  # 65 % and 85 % of 200
    rec = hand_records(1201, speed_mps=3.0, heart_rate_bpm=hr, cadence_spm=170.0)
    act = {**HAND_ACTIVITY, "duration_s": 1200.0}
    m = run_metrics(rec, act, hr_max_bpm=200.0, easy_hr_fraction=0.8)
    assert [m.hr_zone1_s, m.hr_zone2_s, m.hr_zone3_s, m.hr_zone4_s, m.hr_zone5_s] == [
        0.0,
        600.0,
        0.0,
        600.0,
        0.0,
    ]
    assert m.hr_s == 1200.0
    assert m.easy_s == 600.0
    assert m.load == pytest.approx((600 * 2 + 600 * 4) / 60)
    assert m.load_source == "hr"
    assert m.hr_max_bpm == 200.0
    assert m.peak_hr_bpm == 170.0


def test_without_heart_rate_the_load_comes_from_the_duration() -> None:
    s = simulate(spec())
    m = metrics_of(s, hr=False)
    assert m.hr_s is None
    assert m.easy_s is None
    assert m.hr_zone3_s is None
    assert m.peak_hr_bpm is None
    assert m.aerobic_decoupling_pct is None
    assert m.load_source == "duration"
    assert m.load == pytest.approx(2700 / 60 * DURATION_LOAD_PER_MIN)
    # Unknown maximum heart rate: no zones either, same load rule.
    m2 = metrics_of(s, hr_max_bpm=None)
    assert m2.hr_s == 2700.0
    assert m2.easy_s is None
    assert m2.hr_max_bpm is None
    assert m2.load_source == "duration"


def test_peak_heart_rate_ignores_a_spike() -> None:
    hr = np.full(600, 150.0)
    hr[300] = 230.0  # one-sample strap spike
    hr[400:405] = 181.0  # held for five samples
    rec = hand_records(600, speed_mps=3.0, heart_rate_bpm=hr)
    m = run_metrics(rec, HAND_ACTIVITY, hr_max_bpm=None, easy_hr_fraction=EASY)
    assert m.peak_hr_bpm == 181.0


def test_estimate_hr_max() -> None:
    assert estimate_hr_max([None, 150.0, 185.0, 240.0, 188.0, 191.0, math.nan]) == 188.0
    assert estimate_hr_max([183.0, 179.0]) == 183.0
    assert estimate_hr_max([None, 250.0]) is None
    assert estimate_hr_max([]) is None


# -- the heart-rate histogram: zones again without the records -----------------------------


def _hr_cases() -> dict[str, tuple[pa.Table, dict[str, object]]]:
    workout = simulate(spec(kind="workout", duration_s=3300, intervals=(6, 180, 120)))
    easy = simulate(spec(seed=5))
    patchy = records_of(easy, "a-0")  # heart rate on a third of the run: a duration load
    hr = patchy["heart_rate_bpm"].to_numpy(zero_copy_only=False).copy()
    hr[: 2 * hr.size // 3] = np.nan
    patchy = patchy.set_column(
        patchy.schema.get_field_index("heart_rate_bpm"),
        RECORDS.field("heart_rate_bpm"),
        pa.array(hr, pa.float64(), from_pandas=True),
    )
    beats = 130.0 + 50.0 * np.sin(np.arange(1800) / 97.0)  # GPX: fractional heart rates
    return {
        "workout": (records_of(workout, "a-0"), activity_of(workout, "a-0")),
        "easy": (records_of(easy, "a-0"), activity_of(easy, "a-0")),
        "no heart rate": (records_of(easy, "a-0", hr=False), activity_of(easy, "a-0")),
        "patchy heart rate": (patchy, activity_of(easy, "a-0")),
        "fractional": (
            hand_records(1800, speed_mps=3.0, heart_rate_bpm=beats),
            {**HAND_ACTIVITY, "duration_s": 1799.0},
        ),
    }


@pytest.mark.parametrize("case", sorted(_hr_cases()))
@pytest.mark.parametrize("hr_max", [None, 160.0, 183.0, 200.0])
def test_rezone_gives_exactly_what_the_records_give(case: str, hr_max: float | None) -> None:
    """Zones, easy time and load from the stored histogram, bit for bit (what _derive uses
    when the maximum heart rate moves, and for runs measured at ingest)."""
    rec, act = _hr_cases()[case]
    direct = metrics_table([run_metrics(rec, act, hr_max_bpm=hr_max, easy_hr_fraction=0.75)])
    if case == "patchy heart rate" and hr_max is not None:
        assert direct["load_source"].to_pylist() == ["duration"]  # coverage under 80 %
    for first in (None, 191.0):
        measured = metrics_table([run_metrics(rec, act, hr_max_bpm=first, easy_hr_fraction=0.6)])
        again = rezone(measured, hr_max_bpm=hr_max, easy_hr_fraction=0.75)
        assert again.schema == RUN_METRICS
        assert again.to_pylist() == direct.to_pylist()
    # many runs at once (as refresh_derived does): each row as if alone
    cases = _hr_cases()
    measured_all = metrics_table(
        [run_metrics(r, a, hr_max_bpm=None, easy_hr_fraction=0.6) for r, a in cases.values()]
    )
    several = rezone(measured_all, hr_max_bpm=hr_max, easy_hr_fraction=0.75)
    assert several.slice(list(cases).index(case), 1).to_pylist() == direct.to_pylist()


def test_heart_rate_histogram() -> None:
    hr = np.array([150.0, 151.0, np.nan, 150.0, 149.0, np.nan, 151.0])
    w = np.array([0.0, 1.0, 1.0, 2.0, 1.0, 0.5, 1.0])  # the first sample stands for no time
    values, secs = hr_histogram(hr, w)
    assert values[:3].tolist() == [149.0, 150.0, 151.0]
    assert math.isnan(values[3])
    assert secs.tolist() == [1.0, 2.0, 2.0, 1.5]
    # whole beats take a fast path; the same values as the general one
    frac = hr + 0.25
    values_f, secs_f = hr_histogram(frac, w)
    assert (values_f[:3] - 0.25).tolist() == values[:3].tolist()
    assert secs_f.tolist() == secs.tolist()
    m = run_metrics(
        hand_records(5, speed_mps=3.0, heart_rate_bpm=np.array([140.0, 141, 141, np.nan, 140])),
        HAND_ACTIVITY,
        hr_max_bpm=None,
        easy_hr_fraction=EASY,
    )
    assert m.hr_histogram_bpm == (140.0, 141.0, None)
    assert m.hr_histogram_s == (1.0, 2.0, 1.0)
    assert m.hr_s == 3.0


def test_measure_run_is_run_and_lap_metrics() -> None:
    s = simulate(spec(kind="workout", duration_s=3300, intervals=(6, 180, 120)))
    rec, act = records_of(s, "a-0"), activity_of(s, "a-0")
    laps = pa.table(
        {
            "activity_id": pa.array(["a-0"] * 2),
            "lap_index": pa.array([0, 1], pa.int16()),
            "start_time": pa.array(s.timestamp[[0, 900]] * 1000, pa.int64()).cast(
                LAPS.field("start_time").type
            ),
        }
    )
    m, lap_table = measure_run(rec, act, laps, hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
    assert m == run_metrics(rec, act, hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
    assert lap_table is not None
    assert lap_table.equals(lap_metrics(rec, laps))
    assert measure_run(rec, act, None, hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)[1] is None


# -- edge cases ----------------------------------------------------------------------------


def test_empty_and_tiny_records() -> None:
    empty = RECORDS.empty_table()
    act = {**HAND_ACTIVITY, "duration_s": 1800.0, "distance_m": 5000.0}
    m = run_metrics(empty, act, hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
    assert m.moving_s == 0.0
    assert m.steady_s == 0.0
    assert m.cadence_spm is None
    assert m.step_length_source is None
    assert m.load_source == "duration"
    assert m.load == pytest.approx(30 * DURATION_LOAD_PER_MIN)
    one = run_metrics(
        hand_records(1, speed_mps=3.0, heart_rate_bpm=150.0),
        HAND_ACTIVITY,
        hr_max_bpm=HR_MAX,
        easy_hr_fraction=EASY,
    )
    assert one.moving_s == 0.0
    assert one.load is None  # no duration anywhere


def test_unsorted_records_give_the_same_metrics() -> None:
    s = simulate(spec(seed=11))
    rec = records_of(s, "a-0")
    shuffled = rec.take(pa.array(np.random.default_rng(1).permutation(rec.num_rows)))
    a = run_metrics(rec, activity_of(s, "a-0"), hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
    b = run_metrics(shuffled, activity_of(s, "a-0"), hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
    assert a == b


# -- laps ----------------------------------------------------------------------------------


def test_lap_metrics_per_lap_means() -> None:
    s = simulate(spec(kind="workout", duration_s=3300, intervals=(6, 180, 120)))
    rec = records_of(s, "a-0")
    starts = [0, *s.lap_ends[:-1]]
    laps = pa.table(
        {
            "activity_id": pa.array(["a-0"] * len(starts)),
            "lap_index": pa.array(range(len(starts)), pa.int16()),
            "start_time": pa.array(s.timestamp[starts] * 1000, pa.int64()).cast(
                LAPS.field("start_time").type
            ),
        }
    )
    out = lap_metrics(rec, laps)
    assert out.schema == LAP_METRICS
    assert out.num_rows == len(starts)
    cad = out.column("cadence_spm").to_pylist()
    moving = out.column("moving_s").to_pylist()
    # A sample belongs to the last lap starting at or before it; the first sample counts 0 s.
    bounds = [*starts[1:], s.n_records]
    for j, (lo, hi) in enumerate(zip(starts, bounds, strict=True)):
        first = max(lo, 1)
        assert cad[j] == pytest.approx(s.cadence_spm[first:hi].mean(), rel=1e-12)
        assert moving[j] == hi - first
    assert out.column("step_length_source").to_pylist() == ["device"] * len(starts)
    fast, easy = out.column("stance_time_ms").to_pylist()[1:3]
    assert fast < easy - 20  # interval laps: shorter contact
    assert lap_metrics(rec, LAPS.empty_table()).num_rows == 0


# -- via the FIT file ---------------------------------------------------------------------


def test_same_metrics_through_encode_decode_normalize() -> None:
    s = simulate(spec(kind="bouncy", pause_s=90, power=True))
    info = SourceInfo("ab" * 32, "bouncy.fit", START + timedelta(days=1))
    norm = normalize_fit(decode_fit(encode_run(s), source="bouncy.fit"), info)
    act = norm.activities.to_pylist()[0]
    via_fit = run_metrics(norm.records, act, hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
    direct = metrics_of(s, activity_id=str(act["activity_id"]))
    assert via_fit == replace(direct, distance_m=act["distance_m"], duration_s=act["duration_s"])


# -- speed ---------------------------------------------------------------------------------


def test_one_hour_run_in_well_under_5_ms() -> None:
    s = simulate(spec(duration_s=3600))
    rec, act = records_of(s, "a-0"), activity_of(s, "a-0")
    best = math.inf
    for _ in range(15):
        t0 = time.perf_counter()
        run_metrics(rec, act, hr_max_bpm=HR_MAX, easy_hr_fraction=EASY)
        best = min(best, time.perf_counter() - t0)
    assert best < 0.005


# -- the real corpus ------------------------------------------------------------------------

_FLOATS = [f.name for f in fields(RunMetrics) if f.type in ("float | None", "float")]
FORM_VALUES = (
    "vertical_oscillation_mm",
    "vertical_ratio_pct",
    "stance_time_ms",
    "stance_time_balance_pct",
    "overstriding_index",
    "stance_time_change_pct",
    "vertical_oscillation_change_pct",
)


@functools.cache
@requires_corpus
def test_corpus_metrics_are_finite_or_null() -> None:
    runs = corpus_runs()
    assert len(runs) >= 30
    hr_max = estimate_hr_max(act["max_hr_bpm"] for _, _, act in runs)  # type: ignore[misc]
    assert hr_max is not None
    with_rd = 0
    for name, rec, act in runs:
        m = run_metrics(rec, act, hr_max_bpm=hr_max, easy_hr_fraction=EASY)
        for f in _FLOATS:
            v = getattr(m, f)
            assert v is None or math.isfinite(v), (name, f, v)
        has_vo = not pa.compute.all(rec.column("vertical_oscillation_mm").is_null()).as_py()
        if not m.has_running_dynamics:
            assert all(getattr(m, f) is None for f in FORM_VALUES), name
        else:
            with_rd += 1
        if has_vo and m.moving_s > 60:
            assert m.vertical_oscillation_mm is not None
            assert 30.0 < m.vertical_oscillation_mm < 200.0, name
        if m.overstriding_index is not None:
            assert 0.3 < m.overstriding_index < 2.0, name
        if rec.column("heart_rate_bpm").null_count == rec.num_rows:
            assert m.hr_s is None
            assert m.aerobic_decoupling_pct is None
            assert m.load_source in ("duration", None)
        if m.step_length_source == "derived":
            assert rec.column("step_length_mm").null_count == rec.num_rows
    assert with_rd >= 10
