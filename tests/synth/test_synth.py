"""The synthetic data generator: FIT files that python-fitparse decodes to the exact values."""

from __future__ import annotations

import calendar
import itertools
import math
import os
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import fitparse
import numpy as np
import pytest
from fitparse.utils import FitCRCError

from runlake.synth import (
    KINDS,
    SCENARIOS,
    RunSpec,
    Samples,
    encode_messages,
    encode_run,
    expected_laps,
    expected_summary,
    field_spec,
    fit_crc,
    scenario_plan,
    season_plan,
    simulate,
    write_run,
    write_scenario,
    write_season,
)

START = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)

# The FIT SDK's CRC (fit_crc.c): a 16-entry table, one nibble at a time.
_SDK_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)  # fmt: skip


def sdk_crc(data: bytes, crc: int = 0) -> int:
    for byte in data:
        tmp = _SDK_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _SDK_TABLE[byte & 0xF]
        tmp = _SDK_TABLE[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _SDK_TABLE[(byte >> 4) & 0xF]
    return crc


def spec(**kw: Any) -> RunSpec:
    base: dict[str, Any] = {
        "start": START,
        "kind": "easy",
        "duration_s": 900,
        "base_speed_mps": 2.85,
        "base_hr_bpm": 142.0,
        "cadence_spm": 172.0,
        "seed": 7,
    }
    base.update(kw)
    return RunSpec(**base)


def decode(path: Path) -> dict[str, list[Any]]:
    messages: dict[str, list[Any]] = defaultdict(list)
    for m in fitparse.FitFile(str(path), check_crc=True).get_messages():
        messages[m.name].append(m)
    return messages


def column(messages: list[Any], name: str) -> np.ndarray:
    values = [m.get_value(name) for m in messages]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def unix(dt: datetime) -> int:
    return calendar.timegm(dt.utctimetuple())


def session_si(m: Any) -> dict[str, Any]:
    """A decoded lap or session message in the keys of expected_summary."""
    cad, frac = m.get_value("avg_cadence"), m.get_value("avg_fractional_cadence")

    def f(name: str) -> float | None:
        v = m.get_value(name)
        return None if v is None else float(v)

    return {
        "duration_s": f("total_timer_time"),
        "elapsed_s": f("total_elapsed_time"),
        "distance_m": f("total_distance"),
        "avg_speed_mps": f("enhanced_avg_speed"),
        "max_speed_mps": f("enhanced_max_speed"),
        "avg_hr_bpm": f("avg_heart_rate"),
        "max_hr_bpm": f("max_heart_rate"),
        "avg_cadence_spm": None if cad is None else (cad + frac) * 2.0,
        "avg_power_w": f("avg_power"),
        "avg_vertical_oscillation_mm": f("avg_vertical_oscillation"),
        "avg_vertical_ratio_pct": f("avg_vertical_ratio"),
        "avg_stance_time_ms": f("avg_stance_time"),
        "avg_stance_time_balance_pct": f("avg_stance_time_balance"),
        "avg_step_length_mm": f("avg_step_length"),
        "total_ascent_m": f("total_ascent"),
        "total_descent_m": f("total_descent"),
        "total_calories_kcal": f("total_calories"),
    }


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Samples]:
    """Everything at once: GPS, running dynamics, power, a pause and a heart-rate dropout."""
    path = tmp_path_factory.mktemp("synth") / "full.fit"
    samples = write_run(path, spec(pause_s=95, power=True, hr_dropout_s=5))
    return path, samples


@pytest.fixture(scope="module")
def full_decoded(full_run: tuple[Path, Samples]) -> dict[str, list[Any]]:
    return decode(full_run[0])


# ------------------------------------------------------------------------------- CRC, header


@pytest.mark.parametrize(
    "data", [b"", b"\x00", b"123456789", bytes(range(256)), b".FIT" * 1000, os.urandom(4099)]
)
def test_fastcrc_matches_the_fit_sdk_crc(data: bytes) -> None:
    assert fit_crc(data) == sdk_crc(data)


def test_check_value_of_crc16_arc() -> None:
    assert fit_crc(b"123456789") == 0xBB3D


def test_header_and_file_crc_are_valid(full_run: tuple[Path, Samples]) -> None:
    raw = full_run[0].read_bytes()
    assert raw[0] == 14
    assert raw[1] == 0x20  # protocol 2.0
    assert raw[8:12] == b".FIT"
    assert int.from_bytes(raw[4:8], "little") == len(raw) - 14 - 2
    assert int.from_bytes(raw[12:14], "little") == sdk_crc(raw[:12])
    assert int.from_bytes(raw[-2:], "little") == sdk_crc(raw[:-2])
    assert sdk_crc(raw) == 0


def test_fitparse_checks_the_crc(full_run: tuple[Path, Samples], tmp_path: Path) -> None:
    raw = bytearray(full_run[0].read_bytes())
    raw[200] ^= 0x01
    bad = tmp_path / "bad.fit"
    bad.write_bytes(bytes(raw))
    with pytest.raises(FitCRCError):
        decode(bad)


# ------------------------------------------------------------------------------- records


def test_message_sequence(
    full_decoded: dict[str, list[Any]], full_run: tuple[Path, Samples]
) -> None:
    samples = full_run[1]
    (file_id,) = full_decoded["file_id"]
    assert file_id.get_value("type") == "activity"
    assert file_id.get_value("manufacturer") == "development"
    assert file_id.get_value("product") == 1
    assert unix(file_id.get_value("time_created")) == samples.timestamp[0]
    assert len(full_decoded["device_info"]) == 1
    assert len(full_decoded["record"]) == samples.n_records
    assert len(full_decoded["lap"]) == len(samples.lap_ends)
    assert len(full_decoded["session"]) == 1
    (activity,) = full_decoded["activity"]
    assert activity.get_value("num_sessions") == 1
    assert activity.get_value("total_timer_time") == samples.n_records - 1
    events = [(e.get_value("event"), e.get_value("event_type")) for e in full_decoded["event"]]
    assert events == [
        ("timer", "start"),
        ("timer", "stop_all"),
        ("timer", "start"),
        ("timer", "stop_all"),
    ]


def test_records_equal_samples(
    full_decoded: dict[str, list[Any]], full_run: tuple[Path, Samples]
) -> None:
    s = full_run[1]
    rec = full_decoded["record"]
    ts = np.array([unix(m.get_value("timestamp")) for m in rec])
    np.testing.assert_array_equal(ts, s.timestamp)
    assert s.latitude_deg is not None
    assert s.longitude_deg is not None
    semicircle = 180.0 / 2**31
    np.testing.assert_array_equal(column(rec, "position_lat") * semicircle, s.latitude_deg)
    np.testing.assert_array_equal(column(rec, "position_long") * semicircle, s.longitude_deg)
    cadence = (column(rec, "cadence") + column(rec, "fractional_cadence")) * 2.0
    np.testing.assert_array_equal(cadence, s.cadence_spm)
    pairs = {
        "distance": s.distance_m,
        "enhanced_speed": s.speed_mps,
        "enhanced_altitude": s.altitude_m,
        "heart_rate": s.heart_rate_bpm,
        "power": s.power_w,
        "vertical_oscillation": s.vertical_oscillation_mm,
        "stance_time": s.stance_time_ms,
        "stance_time_balance": s.stance_time_balance_pct,
        "step_length": s.step_length_mm,
        "vertical_ratio": s.vertical_ratio_pct,
    }
    for name, expected in pairs.items():
        assert expected is not None, name
        np.testing.assert_array_equal(column(rec, name), expected, err_msg=name)


def test_missing_heart_rate_is_the_invalid_value(
    full_decoded: dict[str, list[Any]], full_run: tuple[Path, Samples]
) -> None:
    s = full_run[1]
    assert np.isnan(s.heart_rate_bpm[:5]).all()
    assert not np.isnan(s.heart_rate_bpm[5:]).any()
    first = full_decoded["record"][0].get("heart_rate")
    assert first.raw_value is None  # fitparse maps 0xFF to None
    assert first.value is None


def test_session_equals_expected_summary(
    full_decoded: dict[str, list[Any]], full_run: tuple[Path, Samples]
) -> None:
    s = full_run[1]
    (session,) = full_decoded["session"]
    expected = expected_summary(s)
    assert expected.pop("n_records") == s.n_records == len(full_decoded["record"])
    assert session_si(session) == expected
    assert session.get_value("sport") == "running"
    assert session.get_value("sub_sport") == "road"
    assert session.get_value("num_laps") == len(s.lap_ends)
    assert unix(session.get_value("start_time")) == s.timestamp[0]
    # and the expected values make sense
    assert expected["distance_m"] == s.distance_m[-1]
    assert expected["max_hr_bpm"] == np.nanmax(s.heart_rate_bpm)
    assert expected["avg_hr_bpm"] == round(float(np.nanmean(s.heart_rate_bpm)))
    assert expected["avg_cadence_spm"] == pytest.approx(s.cadence_spm.mean(), abs=1 / 64)
    assert expected["avg_speed_mps"] == pytest.approx(s.distance_m[-1] / 900, abs=5e-4)


def test_laps_equal_expected_laps(
    full_decoded: dict[str, list[Any]], full_run: tuple[Path, Samples]
) -> None:
    laps = full_decoded["lap"]
    assert [session_si(m) for m in laps] == expected_laps(full_run[1])
    assert sum(m.get_value("total_timer_time") for m in laps) == 900
    assert sum(m.get_value("total_distance") for m in laps) == pytest.approx(
        full_run[1].distance_m[-1], abs=1e-6
    )


def test_paused_run_timer_is_less_than_elapsed(
    full_decoded: dict[str, list[Any]], full_run: tuple[Path, Samples]
) -> None:
    s = full_run[1]
    (session,) = full_decoded["session"]
    timer = session.get_value("total_timer_time")
    elapsed = session.get_value("total_elapsed_time")
    assert timer == 900
    assert elapsed - timer == 95
    assert s.pause_index is not None
    gaps = np.diff(s.timestamp)
    assert gaps.max() == 96  # no sample during the pause
    assert int(np.argmax(gaps)) + 1 == s.pause_index
    stop, start = full_decoded["event"][1:3]
    assert unix(stop.get_value("timestamp")) == s.timestamp[s.pause_index - 1]
    assert unix(start.get_value("timestamp")) - unix(stop.get_value("timestamp")) == 95


def test_run_without_running_dynamics_has_no_such_fields(tmp_path: Path) -> None:
    path = tmp_path / "no-rd.fit"
    samples = write_run(path, spec(running_dynamics=False, sub_sport="treadmill"))
    assert samples.vertical_oscillation_mm is None
    assert samples.latitude_deg is None
    decoded = decode(path)
    names = {f.name for m in decoded["record"] for f in m.fields}
    for absent in (
        "vertical_oscillation",
        "stance_time",
        "stance_time_balance",
        "step_length",
        "vertical_ratio",
        "position_lat",
        "position_long",
        "power",
    ):
        assert absent not in names
    assert {"heart_rate", "cadence", "enhanced_speed", "distance"} <= names
    (session,) = decoded["session"]
    session_names = {f.name for f in session.fields}
    assert "avg_vertical_oscillation" not in session_names
    assert "avg_stance_time" not in session_names
    assert session.get_value("sub_sport") == "treadmill"
    assert session.get_value("total_ascent") == 0
    assert session_si(session) == {
        k: v for k, v in expected_summary(samples).items() if k != "n_records"
    }
    assert expected_summary(samples)["avg_vertical_oscillation_mm"] is None


def test_workout_has_a_lap_per_interval_and_recovery(tmp_path: Path) -> None:
    s = spec(kind="workout", duration_s=600 + 3 * (120 + 90) + 400, intervals=(3, 120, 90))
    path = tmp_path / "workout.fit"
    samples = write_run(path, s)
    laps = decode(path)["lap"]
    assert len(laps) == 1 + 2 * 3 + 1
    timers = [m.get_value("total_timer_time") for m in laps]
    assert timers == [600.0, 120.0, 90.0, 120.0, 90.0, 120.0, 90.0, 400.0]
    speeds = [m.get_value("enhanced_avg_speed") for m in laps]
    assert min(speeds[1:7:2]) > 1.15 * max(speeds[2:7:2])  # intervals are fast
    assert [session_si(m) for m in laps] == expected_laps(samples)


# ------------------------------------------------------------------------------- encoder


def test_field_specs_come_from_the_profile() -> None:
    hr = field_spec("record", "heart_rate")
    assert (hr.def_num, hr.base_type, hr.dtype, hr.invalid) == (3, 0x02, "u1", 0xFF)
    alt = field_spec("record", "enhanced_altitude")
    assert (alt.def_num, alt.scale, alt.offset, alt.invalid) == (78, 5.0, 500.0, 0xFFFFFFFF)
    assert field_spec("record", "position_lat").invalid == 0x7FFF_FFFF
    assert field_spec("file_id", "serial_number").invalid == 0  # uint32z
    assert field_spec("session", "sub_sport").enum_values["trail"] == 3
    with pytest.raises(KeyError, match="no field"):
        field_spec("record", "no_such_field")


def test_encoder_writes_invalid_values_and_drops_absent_fields() -> None:
    enc = encode_messages(
        "record",
        {
            "heart_rate": np.array([150.0, np.nan]),
            "enhanced_speed": np.array([2.5, np.nan]),
            "power": np.array([np.nan, np.nan]),
            "cadence": None,
        },
        local=3,
    )
    assert enc.fields == ("heart_rate", "enhanced_speed")
    # definition: header, reserved, arch, global 20, 2 fields
    assert enc.definition == bytes([0x43, 0, 0, 20, 0, 2, 3, 1, 0x02, 73, 4, 0x86])
    assert enc.row_size == 1 + 1 + 4
    assert enc.rows(0, 1) == bytes([3, 150]) + (2500).to_bytes(4, "little")
    assert enc.rows(1, 2) == bytes([3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])


def test_encoder_rejects_values_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_messages("record", {"heart_rate": np.array([255.0])}, local=0)
    with pytest.raises(ValueError, match="out of range"):
        encode_messages("record", {"distance": np.array([-1.0])}, local=0)
    with pytest.raises(ValueError, match="no value named"):
        encode_messages("session", {"sport": "curling_on_ice"}, local=0)


# ------------------------------------------------------------------------------- determinism


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = encode_run(simulate(spec(seed=3)))
    assert a == encode_run(simulate(spec(seed=3)))
    assert a != encode_run(simulate(spec(seed=4)))
    assert season_plan(date(2026, 3, 2), 4, seed=1) == season_plan(date(2026, 3, 2), 4, seed=1)
    assert season_plan(date(2026, 3, 2), 4, seed=1) != season_plan(date(2026, 3, 2), 4, seed=2)


def test_options_do_not_change_the_other_channels() -> None:
    with_rd = simulate(spec(seed=11))
    without = simulate(spec(seed=11, running_dynamics=False, power=True))
    np.testing.assert_array_equal(with_rd.speed_mps, without.speed_mps)
    np.testing.assert_array_equal(with_rd.heart_rate_bpm, without.heart_rate_bpm)


def test_write_run_leaves_no_temporary_file(tmp_path: Path) -> None:
    write_run(tmp_path / "a.fit", spec(duration_s=120))
    write_run(tmp_path / "a.fit", spec(duration_s=180))  # replaces
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fit"]


def test_runspec_validation() -> None:
    with pytest.raises(ValueError, match="aware"):
        spec(start=datetime(2026, 3, 2, 6, 30))
    with pytest.raises(ValueError, match="kind"):
        spec(kind="sprint")
    with pytest.raises(ValueError, match="do not fit"):
        spec(kind="workout", duration_s=1200, intervals=(6, 180, 120))
    with pytest.raises(ValueError, match="walk_from_s"):
        spec(walk_from_s=900)
    with pytest.raises(ValueError, match="temperature_c"):
        spec(temperature_c=60.0)


# ------------------------------------------------------------------------------- physiology


def test_step_length_and_vertical_ratio_follow_speed_and_cadence() -> None:
    s = simulate(spec(seed=5))
    assert s.step_length_mm is not None
    assert s.vertical_ratio_pct is not None
    assert s.vertical_oscillation_mm is not None
    np.testing.assert_allclose(
        s.step_length_mm, s.speed_mps / (s.cadence_spm / 60) * 1000, atol=0.05
    )
    np.testing.assert_allclose(
        s.vertical_ratio_pct, s.vertical_oscillation_mm / s.step_length_mm * 100, atol=0.006
    )


def _means(s: Samples) -> dict[str, float]:
    assert s.vertical_oscillation_mm is not None
    assert s.stance_time_ms is not None
    assert s.stance_time_balance_pct is not None
    assert s.vertical_ratio_pct is not None
    return {
        "cadence": float(s.cadence_spm.mean()),
        "vo": float(s.vertical_oscillation_mm.mean()),
        "gct": float(s.stance_time_ms.mean()),
        "balance": float(s.stance_time_balance_pct.mean()),
        "ratio": float(s.vertical_ratio_pct.mean()),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_run_has_clean_form(seed: int) -> None:
    s = simulate(spec(seed=seed, duration_s=2400))
    m = _means(s)
    assert 165 <= m["cadence"] <= 180
    assert 230 <= m["gct"] <= 270
    assert 75 <= m["vo"] <= 95
    assert 49.5 <= m["balance"] <= 50.5
    assert m["ratio"] < 10.1
    hr = s.heart_rate_bpm
    n = len(hr)
    # warm-up: heart rate starts low and rises; no drift afterwards
    assert hr[0] < 110 < hr[600]
    assert abs(np.nanmean(hr[2 * n // 3 :]) / np.nanmean(hr[n // 3 : 2 * n // 3]) - 1) < 0.02


def test_known_form_problems() -> None:
    bouncy = _means(simulate(spec(kind="bouncy", seed=1, duration_s=2400)))
    assert 120 <= bouncy["vo"] <= 130
    assert bouncy["ratio"] > 10.1
    over = _means(simulate(spec(kind="overstriding", cadence_spm=148.0, seed=1, duration_s=2400)))
    assert 146 <= over["cadence"] <= 150
    assert 320 <= over["gct"] <= 340
    asym = _means(simulate(spec(kind="asymmetric", seed=1, duration_s=2400)))
    assert asym["balance"] == pytest.approx(46.5, abs=0.3)


def test_walking_spikes_and_heat() -> None:
    """The second half walked (slow, short steps, long contact, heart rate down), the two
    spikes where promised, and a temperature the FIT file carries."""
    clean = simulate(spec(kind="fading", seed=7, duration_s=4200))
    junk = simulate(spec(kind="fading", seed=7, duration_s=4200, walk_from_s=2100, spikes=True))
    run, walk = slice(700, 2000), slice(2200, 4200)
    np.testing.assert_array_equal(junk.speed_mps[:2000], clean.speed_mps[:2000])
    assert 1.2 < float(np.mean(junk.speed_mps[walk])) < 1.6
    assert 105 < float(np.mean(junk.cadence_spm[walk])) < 120 < 160 < np.mean(junk.cadence_spm[run])
    assert junk.stance_time_ms is not None
    assert float(np.mean(junk.stance_time_ms[walk])) > 600
    hr = junk.heart_rate_bpm
    spike_hr = np.flatnonzero(hr > 220)
    assert spike_hr.tolist() == list(range(3150, 3180))  # 30 s at three quarters, in the walk
    assert float(np.median(hr[walk])) < 0.8 * float(np.median(hr[run]))
    spike_gct = np.flatnonzero(junk.stance_time_ms > 400)
    assert spike_gct[0] == 1680
    assert 1680 + 29 in spike_gct  # 30 s at two fifths, while running
    assert (junk.speed_mps[1680:1710] > 2.0).all()
    assert clean.temperature_c is None
    hot = simulate(spec(duration_s=1200, temperature_c=31.0, seed=2))
    assert hot.temperature_c is not None
    assert hot.temperature_c[0] == 29.0
    assert hot.temperature_c[-1] == 31.0
    heavy = _means(simulate(spec(seed=1, duration_s=2400, heavy_legs_pct=12.0)))
    usual = _means(simulate(spec(seed=1, duration_s=2400)))
    assert heavy["gct"] / usual["gct"] == pytest.approx(1.12, abs=0.005)
    assert heavy["cadence"] / usual["cadence"] == pytest.approx(0.94, abs=0.005)


def test_temperature_is_in_the_file(tmp_path: Path) -> None:
    s = write_run(tmp_path / "hot.fit", spec(duration_s=300, temperature_c=-4.0, seed=3))
    records = list(fitparse.FitFile(str(tmp_path / "hot.fit")).get_messages("record"))
    assert s.temperature_c is not None
    assert [m.get_value("temperature") for m in records] == s.temperature_c.tolist()
    assert min(s.temperature_c) == -6.0


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenarios(name: str, tmp_path: Path) -> None:
    plan = scenario_plan(name, date(2026, 3, 2))
    assert plan == scenario_plan(name, date(2026, 3, 2))
    starts = [r.start for r in plan]
    assert starts == sorted(starts)
    days = [r.start.date() for r in plan]
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    if name == "break_and_return":
        assert max(gaps) == 7 * 13 + 1 - (7 * 7 + 6)  # from the last run of week 7 to week 13
        assert sum(g > 28 for g in gaps) == 1
    elif name == "long_run_spike":
        minutes = sorted({r.duration_s // 60 for r in plan})
        assert minutes == [40, 60, 100]
    elif name == "walking_junk":
        assert plan[-1].walk_from_s == 35 * 60
        assert plan[-1].spikes
    elif name == "hot_long_run":
        assert plan[-1].temperature_c == 31.0
        assert plan[-1].duration_s == 130 * 60
    elif name == "sparse":
        weeks = {(d - date(2026, 3, 2)).days // 7 for d in days}
        assert 2 <= 16 - len(weeks) <= 10  # some weeks without a run
        assert all(r.duration_s <= 35 * 60 for r in plan)
    else:
        assert [r.heavy_legs_pct for r in plan].count(12.0) == 1
        assert plan[-1].heavy_legs_pct == 12.0
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario_plan("marathon", date(2026, 3, 2))
    if name == "sparse":
        files = write_scenario(tmp_path, name, start=date(2026, 3, 2))
        assert [f.name for f in files] == [r.file_name for r in plan]


def test_fading_run_fades_in_the_last_third() -> None:
    s = simulate(spec(kind="fading", seed=2, duration_s=6000))
    assert s.stance_time_ms is not None
    n = s.n_records
    mid, last = slice(n // 3, 2 * n // 3), slice(2 * n // 3, n)

    def change(x: np.ndarray) -> float:
        return float(np.nanmean(x[last]) / np.nanmean(x[mid]) - 1)

    assert -0.065 < change(s.cadence_spm) < -0.04
    assert 0.05 < change(s.stance_time_ms) < 0.075
    assert 0.10 < change(s.heart_rate_bpm) < 0.135
    assert abs(change(s.speed_mps)) < 0.02  # at the same pace


# ------------------------------------------------------------------------------- season


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[RunSpec]]:
    folder = tmp_path_factory.mktemp("season")
    paths = write_season(folder, start=date(2026, 3, 2), weeks=12, seed=0)
    return paths, season_plan(date(2026, 3, 2), 12, seed=0)


def test_season_files(season: tuple[list[Path], list[RunSpec]]) -> None:
    paths, plan = season
    assert len(paths) == len(plan)
    assert [p.name for p in paths] == [s.file_name for s in plan]
    assert paths[0].name.startswith("2026-03-")
    assert all(p.is_file() and p.stat().st_size > 10_000 for p in paths)
    assert len({p.name for p in paths}) == len(paths)
    folder = paths[0].parent
    assert sorted(folder.iterdir()) == sorted(paths)  # nothing else (no temp files)
    # the files decode: one long run end to end
    longest = max(range(len(plan)), key=lambda i: plan[i].duration_s)
    raw = paths[longest].read_bytes()
    assert sdk_crc(raw) == 0


def test_season_has_the_promised_runs(season: tuple[list[Path], list[RunSpec]]) -> None:
    _, plan = season
    kinds = [s.kind for s in plan]
    assert set(kinds) == set(KINDS)
    for problem in ("bouncy", "overstriding", "fading", "asymmetric"):
        assert kinds.count(problem) == 1
    assert sum(not s.running_dynamics for s in plan) == 2
    assert all(
        s.running_dynamics
        for s in plan
        if s.kind in ("bouncy", "overstriding", "fading", "asymmetric")
    )
    assert any(s.pause_s for s in plan)
    assert any(s.sub_sport == "treadmill" for s in plan)
    assert any(s.sub_sport == "trail" for s in plan)
    assert any(s.power for s in plan)
    assert any(not s.power for s in plan)
    fading = next(s for s in plan if s.kind == "fading")
    assert 95 * 60 <= fading.duration_s <= 105 * 60
    for s in plan:
        assert s.start.tzinfo is not None
        assert s.start.utcoffset() == timedelta(0)
        if s.kind == "easy":
            assert 30 * 60 <= s.duration_s <= 60 * 60
            assert 2.7 <= s.base_speed_mps <= 3.0
            assert 135 <= s.base_hr_bpm <= 150
        if s.kind == "long":
            assert 75 * 60 <= s.duration_s <= 120 * 60


def test_season_weeks_have_rest_days_and_a_long_run(
    season: tuple[list[Path], list[RunSpec]],
) -> None:
    _, plan = season
    start = date(2026, 3, 2)
    by_week: dict[int, list[RunSpec]] = defaultdict(list)
    for s in plan:
        by_week[(s.start.date() - start).days // 7].append(s)
    assert sorted(by_week) == list(range(12))
    long_minutes = []
    for week, runs in by_week.items():
        days = {s.start.date() for s in runs}
        assert len(days) == len(runs)  # one run a day
        assert 4 <= len(runs) <= 6
        assert 7 - len(days) >= 1  # rest days
        longs = [s for s in runs if s.kind in ("long", "fading")]
        assert len(longs) == 1
        long_minutes.append(longs[0].duration_s / 60)
        assert sum(s.kind == "workout" for s in runs) == 1
        if week % 4 == 3:  # cutback week: fewer runs, a shorter long run
            assert len(runs) == 4
            assert long_minutes[-1] < min(long_minutes[-4:-1])


def test_write_and_expected_values_agree_for_a_season_run(
    season: tuple[list[Path], list[RunSpec]],
) -> None:
    paths, plan = season
    i = next(i for i, s in enumerate(plan) if not s.running_dynamics)
    # shorten it so that fitparse stays quick; everything else is the season's spec
    short = RunSpec(
        **{**{f: getattr(plan[i], f) for f in plan[i].__dataclass_fields__}, "duration_s": 600}
    )
    assert short.hr_dropout_s > 0
    data = encode_run(samples := simulate(short))
    path = paths[0].parent.parent / "short.fit"
    path.write_bytes(data)
    (session,) = decode(path)["session"]
    expected = expected_summary(samples)
    expected.pop("n_records")
    assert session_si(session) == expected
    assert not math.isnan(float(expected["avg_hr_bpm"] or math.nan))
