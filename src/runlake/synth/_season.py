"""Simulated runs of one runner, written as FIT activity files.

``simulate`` turns a :class:`RunSpec` into 1 Hz :class:`Samples` that are already quantized
to FIT resolution, so a decoder returns them exactly; ``expected_summary`` gives the values
written to the session message; ``write_run`` / ``write_season`` / ``write_history`` write
files.  Everything is deterministic for a seed.

The model, per second of timer time ``i`` (samples exist only while the timer runs):

* speed: the run's target (warm-up ramp, intervals for workouts) slowed on uphills and sped
  up on downhills (the terrain is a sum of sinusoids over distance), plus smooth noise;
* heart rate: a target from speed and grade, followed with a 25 s lag from a resting start
  (it also falls during a pause), plus noise; "fading" runs drift up ~12 % in the last third;
* cadence from speed plus noise; step length = speed / (cadence / 60); vertical ratio =
  vertical oscillation / step length; ground contact shortens with speed.

A pause happens in the middle of the run: the watch stops right after record ``k - 1`` and
restarts ``pause_s`` seconds later; record ``k`` comes one second after the restart.  So
every interval between consecutive records is one second of timer time, the timer time is
``n_records - 1`` seconds and the elapsed time is that plus ``pause_s``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from runlake.synth._fitwriter import (
    DeveloperField,
    EncodedMessages,
    FitWriter,
    encode_messages,
    field_spec,
)

__all__ = [
    "KINDS",
    "SCENARIOS",
    "SERIAL_NUMBER",
    "SUB_SPORTS",
    "RunSpec",
    "Samples",
    "encode_run",
    "expected_laps",
    "expected_summary",
    "history_plan",
    "scenario_plan",
    "season_plan",
    "simulate",
    "write_history",
    "write_run",
    "write_scenario",
    "write_season",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

KINDS: Final = (
    "easy",
    "long",
    "workout",
    "recovery",
    "bouncy",
    "overstriding",
    "fading",
    "asymmetric",
)
SUB_SPORTS: Final = ("road", "trail", "treadmill")
SERIAL_NUMBER: Final = 3_987_654_321
"""The simulated watch's serial number (file_id and device_info)."""
PRODUCT: Final = 1
PRODUCT_NAME: Final = "runlake synth"
BODY_MASS_KG: Final = 68.0
KCAL_PER_KM: Final = 70.0

_HOME_LAT: Final = 47.3769
_HOME_LON: Final = 8.5417
_HOME_ALT: Final = 420.0
_EARTH_R: Final = 6_371_000.0
_SEMICIRCLE: Final = 2.0**31 / 180.0
_WARMUP_S: Final = 600
_COOLDOWN_MIN_S: Final = 300
_AUTO_LAP_M: Final = 1000.0
_WALK_SPEED_MPS: Final = 1.4
_WALK_CADENCE_SPM: Final = 112.0
_WALK_HR_FRACTION: Final = 0.74
"""An easy walk's heart rate, as a fraction of the run's steady heart rate."""
_WALK_STANCE_MS: Final = 640.0
_WALK_OSCILLATION_MM: Final = 45.0
_SPIKE_S: Final = 30
_SPIKE_HR_BPM: Final = 250.0
_SPIKE_STANCE_MS: Final = 480.0


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What to simulate. ``duration_s`` is the timer time (the pause is not in it)."""

    start: datetime
    """Aware datetime of the first record (converted to UTC)."""
    kind: str
    duration_s: int
    base_speed_mps: float
    """Easy running speed of the run (workouts run faster in their intervals)."""
    base_hr_bpm: float
    """Steady-state heart rate at the base speed on the flat."""
    cadence_spm: float
    """Cadence at the base speed, steps/min (both feet)."""
    running_dynamics: bool = True
    pause_s: int = 0
    """A pause in the middle of the run (0 = none): no samples, not in the timer time."""
    seed: int = 0
    sub_sport: str = "road"
    power: bool = False
    """Record running power (``power`` field) too."""
    intervals: tuple[int, int, int] = (6, 180, 120)
    """Workouts only: repetitions, work seconds, recovery seconds (after a 10 min warm-up)."""
    hr_dropout_s: int = 0
    """Heart rate missing for the first seconds (an optical sensor locking on)."""
    walk_from_s: int = 0
    """The runner walks from this second of timer time to the end (0 = never): about
    1.4 m/s at 112 steps/min, the heart rate falling to an easy walk's."""
    spikes: bool = False
    """Sensor spikes: the heart rate reads 250 bpm for 30 s at three quarters of the run
    (an optical sensor or a strap's static) and ground contact 480 ms for 30 s at two fifths
    of it."""
    temperature_c: float | None = None
    """Air temperature, °C, which the watch records (2 °C less at the start, as it warms on
    the wrist). None: no temperature channel."""
    heavy_legs_pct: float = 0.0
    """Heavy legs all run long: ground contact this much longer, cadence half as much lower
    (in %), at the same pace."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("RunSpec.start must be an aware datetime")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        if self.kind not in KINDS:
            raise ValueError(f"RunSpec.kind {self.kind!r} not in {KINDS}")
        if self.sub_sport not in SUB_SPORTS:
            raise ValueError(f"RunSpec.sub_sport {self.sub_sport!r} not in {SUB_SPORTS}")
        if self.duration_s < 60:
            raise ValueError(f"RunSpec.duration_s {self.duration_s} is under a minute")
        if self.pause_s < 0 or self.hr_dropout_s < 0:
            raise ValueError("RunSpec.pause_s and hr_dropout_s must be >= 0")
        if not 0 <= self.walk_from_s < self.duration_s:
            raise ValueError(f"RunSpec.walk_from_s {self.walk_from_s} not in 0..duration_s")
        if self.temperature_c is not None and not -30.0 <= self.temperature_c <= 50.0:
            raise ValueError(f"RunSpec.temperature_c {self.temperature_c} not in -30..50")
        if not (0.5 <= self.base_speed_mps <= 7.0):
            raise ValueError(f"RunSpec.base_speed_mps {self.base_speed_mps} not in 0.5..7")
        if self.kind == "workout":
            reps, work, rest = self.intervals
            if reps < 1 or work < 10 or rest < 10:
                raise ValueError(f"RunSpec.intervals {self.intervals} is not a workout")
            if _WARMUP_S + reps * (work + rest) + _COOLDOWN_MIN_S > self.duration_s:
                raise ValueError(
                    f"RunSpec.intervals {self.intervals} do not fit in {self.duration_s} s "
                    "with the warm-up and a cool-down"
                )

    @property
    def file_name(self) -> str:
        """``YYYY-MM-DD-<kind>.fit`` (UTC date of the start)."""
        return f"{self.start:%Y-%m-%d}-{self.kind}.fit"


@dataclass(frozen=True, slots=True, eq=False)
class Samples:
    """1 Hz samples of one run in SI units, quantized to FIT resolution (NaN = missing).

    Optional channels are None when the run has none of them: running dynamics
    (vertical oscillation, stance time, balance, step length, vertical ratio), GPS
    (latitude/longitude; treadmill runs have none) and power.
    """

    spec: RunSpec
    timestamp: I64
    """Seconds since the Unix epoch (UTC)."""
    elapsed_s: F64
    distance_m: F64
    speed_mps: F64
    heart_rate_bpm: F64
    cadence_spm: F64
    vertical_oscillation_mm: F64 | None
    stance_time_ms: F64 | None
    stance_time_balance_pct: F64 | None
    step_length_mm: F64 | None
    vertical_ratio_pct: F64 | None
    latitude_deg: F64 | None
    longitude_deg: F64 | None
    altitude_m: F64
    power_w: F64 | None
    pause_index: int | None
    """Index of the first record after the pause (None: no pause)."""
    lap_ends: tuple[int, ...] = field(default=())
    """Index of the last record of each lap; the last one is ``n_records - 1``."""
    temperature_c: F64 | None = None
    """The watch's temperature, °C (whole degrees, as FIT stores it); None: not recorded."""

    @property
    def n_records(self) -> int:
        return len(self.timestamp)

    @property
    def has_running_dynamics(self) -> bool:
        return self.vertical_oscillation_mm is not None


# --------------------------------------------------------------------------- simulation


def _q(x: Any, scale: float, offset: float = 0.0) -> Any:
    """Quantize physical values the way a FIT decoder returns them: raw / scale - offset."""
    raw = np.rint((np.asarray(x, dtype=np.float64) + offset) * scale)
    out = raw / scale
    return out - offset if offset else out


def _lag(x: F64, y0: Any, tau: Any) -> F64:
    """First-order lag ``y[i] = a*y[i-1] + (1-a)*x[i]`` with ``y[-1] = y0``, vectorized.

    ``x`` is one series or a 2-D stack of series (one ``y0`` and ``tau`` per row).
    """
    xs2 = np.atleast_2d(x)
    a = np.exp(-1.0 / np.asarray(tau, dtype=np.float64)).reshape(-1, 1)
    prev = np.broadcast_to(np.asarray(y0, dtype=np.float64), (len(xs2),)).reshape(-1, 1)
    # a**-block must stay far below overflow
    block = int(max(16, min(2048, 300 * float(np.min(-1.0 / np.log(a))))))
    k = np.arange(1, block + 1, dtype=np.float64)
    grow = a ** (-k)
    decay = a**k
    out = np.empty_like(xs2)
    for s in range(0, xs2.shape[1], block):
        part = xs2[:, s : s + block]
        m = part.shape[1]
        ys = decay[:, :m] * (prev + (1.0 - a) * np.cumsum(part * grow[:, :m], axis=1))
        out[:, s : s + m] = ys
        prev = ys[:, -1:]
    return out.reshape(np.shape(x))


# Smooth noise channels: (standard deviation, correlation time s), one row each.
_NOISE: Final = {
    "speed": (1.0, 8.0),  # scaled per run
    "hr": (1.2, 4.0),
    "cadence": (1.2, 5.0),
    "vo": (2.0, 6.0),
    "gct": (4.0, 6.0),
    "balance": (0.35, 10.0),
    "power": (4.0, 3.0),
}


def _smooth_noise(rng: np.random.Generator, n: int) -> dict[str, F64]:
    """AR(1) noise per channel of ``_NOISE``, drawn for every channel (so that optional
    channels do not change the others)."""
    sigma = np.array([v[0] for v in _NOISE.values()])
    tau = np.array([v[1] for v in _NOISE.values()])
    a = np.exp(-1.0 / tau)
    white = rng.standard_normal((len(_NOISE), n)) * (sigma * np.sqrt((1 + a) / (1 - a)))[:, None]
    rows = _lag(white, 0.0, tau)
    return dict(zip(_NOISE, rows, strict=True))


def _workout_lap_ends(spec: RunSpec, n: int) -> list[int]:
    reps, work, rest = spec.intervals
    ends = [_WARMUP_S]
    t = _WARMUP_S
    for _ in range(reps):
        t += work
        ends.append(t)
        t += rest
        ends.append(t)
    ends.append(n - 1)
    return ends


def _walking(spec: RunSpec, t: F64) -> npt.NDArray[np.bool_]:
    """The seconds the runner walks (from ``walk_from_s`` to the end)."""
    return np.asarray((t >= spec.walk_from_s) & (spec.walk_from_s > 0), dtype=np.bool_)


def _speed_factor(spec: RunSpec, t: F64) -> F64:
    """Target speed / base speed over timer time."""
    factor = np.ones_like(t)
    if spec.kind == "workout":
        reps, work, rest = spec.intervals
        fast = 1.46 - 0.0006 * work
        start = _WARMUP_S
        for _ in range(reps):
            factor[start + 1 : start + work + 1] = fast
            factor[start + work + 1 : start + work + rest + 1] = 0.82
            start += work + rest
        # legs take a few seconds to change pace
        factor = _lag(factor, 1.0, 4.0)
    # warm-up: start ~12 % slower
    factor *= 1.0 - 0.12 * np.exp(-t / 150.0)
    if spec.walk_from_s:  # the legs take a few seconds to slow to a walk
        walk = _walking(spec, t)
        slow = _lag(np.where(walk, _WALK_SPEED_MPS / spec.base_speed_mps / factor, 1.0), 1.0, 4.0)
        factor = np.where(walk, factor * slow, factor)
    return factor


def _terrain(spec: RunSpec, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """Hills as (amplitude m, wavelength m, phase) sinusoids over distance."""
    big = 2.5 if spec.sub_sport == "trail" else 1.0
    hills = [
        (big * rng.uniform(6.0, 14.0), rng.uniform(2500.0, 4500.0), rng.uniform(0, 2 * np.pi)),
        (big * rng.uniform(2.0, 6.0), rng.uniform(700.0, 1400.0), rng.uniform(0, 2 * np.pi)),
        (big * rng.uniform(0.5, 2.0), rng.uniform(200.0, 400.0), rng.uniform(0, 2 * np.pi)),
    ]
    return [] if spec.sub_sport == "treadmill" else hills


def _altitude(hills: Sequence[tuple[float, float, float]], d: F64, alt0: float) -> F64:
    alt = np.full_like(d, alt0)
    for amp, wave, phase in hills:
        alt += amp * np.sin(2 * np.pi * d / wave + phase)
    return alt


def _grade(hills: Sequence[tuple[float, float, float]], d: F64) -> F64:
    g = np.zeros_like(d)
    for amp, wave, phase in hills:
        g += amp * 2 * np.pi / wave * np.cos(2 * np.pi * d / wave + phase)
    return g


@dataclass(frozen=True, slots=True, eq=False)
class _Draws:
    """Everything random about one run.

    Every draw happens whatever the kind and options, in one fixed order, so that e.g.
    the same seed gives the same pace and heart rate with or without running dynamics.
    """

    vo0: float
    """Vertical oscillation baseline, mm (clean runner unless the kind says otherwise)."""
    gct0: float
    """Ground contact time baseline, ms."""
    bal0: float
    """Ground contact balance baseline, % left."""
    hills: list[tuple[float, float, float]]
    alt0: float
    noise: dict[str, F64]
    turns: F64
    """Heading change per second, rad."""
    heading0: float
    lat0: float
    lon0: float


def _draw(spec: RunSpec, rng: np.random.Generator, n: int) -> _Draws:
    vo0, gct0, bal0 = rng.uniform(78.0, 90.0), rng.uniform(240.0, 260.0), rng.uniform(49.75, 50.25)
    vo_bouncy, gct_over, bal_asym = (
        rng.uniform(122.0, 127.0),
        rng.uniform(324.0, 334.0),
        rng.uniform(46.3, 46.7),
    )
    if spec.kind == "bouncy":
        vo0 = vo_bouncy
    elif spec.kind == "overstriding":
        gct0 = gct_over
    elif spec.kind == "asymmetric":
        bal0 = bal_asym
    hills = _terrain(spec, rng)
    alt0 = _HOME_ALT + rng.uniform(-30.0, 30.0)
    noise = _smooth_noise(rng, n)
    turns = rng.normal(0.0, 0.035, n)
    heading0 = rng.uniform(0, 2 * np.pi)
    lat0 = _HOME_LAT + rng.uniform(-0.01, 0.01)
    lon0 = _HOME_LON + rng.uniform(-0.01, 0.01)
    return _Draws(
        vo0=vo0,
        gct0=gct0,
        bal0=bal0,
        hills=hills,
        alt0=alt0,
        noise=noise,
        turns=turns,
        heading0=heading0,
        lat0=lat0,
        lon0=lon0,
    )


def _fade(spec: RunSpec, t: F64) -> F64:
    """Fading runs: 0 until the last third, then up to 1 over 5 min (0 throughout otherwise).

    Over it cadence falls, contact time and heart rate rise.
    """
    if spec.kind != "fading":
        return np.zeros(len(t))
    return np.clip((t - (len(t) - 1) * 2.0 / 3.0) / 300.0, 0.0, 1.0)


@dataclass(frozen=True, slots=True, eq=False)
class _Course:
    """Speed, distance and terrain of a run, second by second."""

    target: F64
    """Target speed, m/s (before hills and noise)."""
    walk: npt.NDArray[np.bool_]
    """The seconds the runner walks."""
    speed: F64
    step_d: F64
    """Metres run in each second (0 for the first sample)."""
    distance: F64
    grade: F64
    altitude: F64


def _course(spec: RunSpec, t: F64, d: _Draws) -> _Course:
    base = spec.base_speed_mps
    treadmill = spec.sub_sport == "treadmill"
    target = base * _speed_factor(spec, t)
    grade0 = _grade(d.hills, np.cumsum(target))
    speed = target * (1.0 - 2.0 * np.clip(grade0, -0.06, 0.12))
    speed += d.noise["speed"] * (0.012 if treadmill else 0.05) * base
    speed = _q(np.clip(speed, 0.8, 9.0), 1000)
    step_d = speed.copy()
    step_d[0] = 0.0
    distance = _q(np.cumsum(step_d), 100)
    grade = np.clip(_grade(d.hills, distance), -0.15, 0.15)
    altitude = _q(_altitude(d.hills, distance, d.alt0), 5, 500)
    return _Course(
        target=target,
        walk=_walking(spec, t),
        speed=speed,
        step_d=step_d,
        distance=distance,
        grade=grade,
        altitude=altitude,
    )


def _timestamps(spec: RunSpec, n: int) -> tuple[I64, int | None]:
    """Record times (seconds since the Unix epoch) and the index of the first record after
    the pause (None: no pause)."""
    ts0 = int(spec.start.timestamp())
    timestamp = ts0 + np.arange(n, dtype=np.int64)
    pause_index: int | None = None
    if spec.pause_s > 0:
        pause_index = n // 2
        timestamp[pause_index:] += spec.pause_s
    return timestamp, pause_index


def _heart_rate(spec: RunSpec, c: _Course, fade: F64, pause_index: int | None, noise: F64) -> F64:
    """Heart rate following its target with a lag, falling during the pause (NaN = missing)."""
    hr_target = spec.base_hr_bpm + 42.0 * (c.target - spec.base_speed_mps) + 120.0 * c.grade
    hr_target *= 1.0 + 0.12 * fade
    hr_target = np.where(c.walk, _WALK_HR_FRACTION * spec.base_hr_bpm + 60.0 * c.grade, hr_target)
    hr_target = np.minimum(hr_target, 198.0)
    hr_start = 0.68 * spec.base_hr_bpm
    if pause_index is None:
        hr = _lag(hr_target, hr_start, 25.0)
    else:
        first = _lag(hr_target[:pause_index], hr_start, 25.0)
        last = float(first[-1])
        resumed = last - (last - hr_start) * (1.0 - math.exp(-spec.pause_s / 40.0))
        hr = np.concatenate([first, _lag(hr_target[pause_index:], resumed, 25.0)])
    hr = np.rint(np.clip(hr + noise, 40.0, 220.0))
    if spec.spikes:
        start = int(0.75 * len(hr))
        hr[start : start + _SPIKE_S] = _SPIKE_HR_BPM
    if spec.hr_dropout_s:
        hr[: spec.hr_dropout_s] = np.nan
    return hr


def _cadence(spec: RunSpec, c: _Course, fade: F64, noise: F64) -> F64:
    """Cadence in steps/min (FIT stores strides/min to 1/128)."""
    cadence = spec.cadence_spm + 9.0 * (c.target - spec.base_speed_mps) - 12.0 * c.grade
    cadence *= 1.0 - 0.055 * fade
    cadence *= 1.0 - spec.heavy_legs_pct / 200.0
    cadence = np.where(c.walk, _WALK_CADENCE_SPM, cadence) + noise
    return np.asarray(_q(np.clip(cadence, 100.0, 240.0) / 2.0, 128) * 2.0, dtype=np.float64)


def _running_dynamics(
    spec: RunSpec, d: _Draws, c: _Course, cadence: F64, fade: F64
) -> tuple[F64, F64, F64, F64, F64]:
    """Vertical oscillation, stance time, its balance, step length and vertical ratio."""
    base = spec.base_speed_mps
    vo_raw = np.where(c.walk, _WALK_OSCILLATION_MM, d.vo0 + 6.0 * (c.target - base))
    vo = _q(vo_raw + d.noise["vo"], 10)
    gct_raw = (d.gct0 - 35.0 * (c.target - base)) * (1.0 + 0.065 * fade)
    gct_raw = np.where(c.walk, _WALK_STANCE_MS, gct_raw * (1.0 + spec.heavy_legs_pct / 100.0))
    if spec.spikes:
        start = int(0.4 * len(gct_raw))
        gct_raw[start : start + _SPIKE_S] = _SPIKE_STANCE_MS
    gct = _q(gct_raw + d.noise["gct"], 10)
    balance = _q(d.bal0 + d.noise["balance"], 100)
    step_length = _q(c.speed * 60.0 / cadence * 1000.0, 10)
    ratio = _q(vo / step_length * 100.0, 100)
    return vo, gct, balance, step_length, ratio


def _power(c: _Course, noise: F64) -> F64:
    """Running power, W."""
    watts = BODY_MASS_KG * c.speed * (1.02 + 4.0 * c.grade) + noise
    return np.rint(np.clip(watts, 0.0, 1500.0))


def _track(d: _Draws, step_d: F64) -> tuple[F64, F64]:
    """Latitude and longitude in degrees, quantized to FIT semicircles."""
    heading = d.heading0 + np.cumsum(d.turns)
    north = np.cumsum(step_d * np.cos(heading))
    east = np.cumsum(step_d * np.sin(heading))
    lat_deg = d.lat0 + np.degrees(north / _EARTH_R)
    lon_deg = d.lon0 + np.degrees(east / (_EARTH_R * math.cos(math.radians(d.lat0))))
    lat = np.rint(lat_deg * _SEMICIRCLE) * (180.0 / 2.0**31)
    lon = np.rint(lon_deg * _SEMICIRCLE) * (180.0 / 2.0**31)
    return lat, lon


def _lap_ends(spec: RunSpec, distance: F64) -> tuple[int, ...]:
    """The last record of each lap: one per interval for workouts, else auto laps at 1 km."""
    n = len(distance)
    if spec.kind == "workout":
        return tuple(_workout_lap_ends(spec, n))
    marks = np.arange(_AUTO_LAP_M, distance[-1], _AUTO_LAP_M)
    lap_ends = [int(i) for i in np.searchsorted(distance, marks)]
    lap_ends = [i for i in lap_ends if 0 < i < n - 1]
    lap_ends.append(n - 1)
    return tuple(lap_ends)


def simulate(spec: RunSpec) -> Samples:
    """1 Hz samples of the run, quantized to FIT resolution (see the module docstring)."""
    rng = np.random.default_rng(spec.seed)
    n = spec.duration_s + 1
    t = np.arange(n, dtype=np.float64)
    draws = _draw(spec, rng, n)
    fade = _fade(spec, t)
    course = _course(spec, t, draws)
    timestamp, pause_index = _timestamps(spec, n)
    hr = _heart_rate(spec, course, fade, pause_index, draws.noise["hr"])
    cadence = _cadence(spec, course, fade, draws.noise["cadence"])
    vo = gct = balance = step_length = ratio = None
    if spec.running_dynamics:
        vo, gct, balance, step_length, ratio = _running_dynamics(spec, draws, course, cadence, fade)
    lat = lon = None
    if spec.sub_sport != "treadmill":
        lat, lon = _track(draws, course.step_d)
    return Samples(
        spec=spec,
        timestamp=timestamp,
        elapsed_s=(timestamp - timestamp[0]).astype(np.float64),
        distance_m=course.distance,
        speed_mps=course.speed,
        heart_rate_bpm=hr,
        cadence_spm=cadence,
        vertical_oscillation_mm=vo,
        stance_time_ms=gct,
        stance_time_balance_pct=balance,
        step_length_mm=step_length,
        vertical_ratio_pct=ratio,
        latitude_deg=lat,
        longitude_deg=lon,
        altitude_m=course.altitude,
        power_w=_power(course, draws.noise["power"]) if spec.power else None,
        pause_index=pause_index,
        lap_ends=_lap_ends(spec, course.distance),
        temperature_c=_temperature(spec, t),
    )


def _temperature(spec: RunSpec, t: F64) -> F64 | None:
    """The watch's reading: the air's, 2 °C less at the start (it warms on the wrist)."""
    if spec.temperature_c is None:
        return None
    return np.asarray(np.rint(spec.temperature_c - 2.0 * np.exp(-t / 300.0)), dtype=np.float64)


# --------------------------------------------------------------------------- summaries


def _fit_summaries(s: Samples, ends: Sequence[int]) -> dict[str, Any]:
    """Lap/session fields (FIT names, decoded physical units) of consecutive segments.

    Segment ``j`` spans records ``lo = ends[j-1]`` (0 for the first) to ``hi = ends[j]`` for
    time, distance and climb; its averages and maxima use records ``lo + 1 .. hi`` (``0 ..
    hi`` for the first) so that the segments partition the records.  Each value is an
    array with one entry per segment (NaN = not written) or None for an absent channel.
    """
    hi = np.asarray(ends, dtype=np.int64)
    lo = np.concatenate([[0], hi[:-1]])
    first = np.concatenate([[0], hi[:-1] + 1])
    count = (hi + 1 - first).astype(np.float64)

    def mean(x: F64 | None, scale: float) -> F64 | None:
        if x is None:
            return None
        return np.asarray(_q(np.add.reduceat(x, first) / count, scale), dtype=np.float64)

    def maximum(x: F64) -> F64:
        return np.asarray(np.fmax.reduceat(x, first), dtype=np.float64)

    timer = (hi - lo).astype(np.float64)
    distance = _q(s.distance_m[hi] - s.distance_m[lo], 100)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_speed = np.where(timer > 0, _q(distance / timer, 1000), np.nan)
    hr_ok = ~np.isnan(s.heart_rate_bpm)
    hr_n = np.add.reduceat(hr_ok.astype(np.float64), first)
    hr_sum = np.add.reduceat(np.where(hr_ok, s.heart_rate_bpm, 0.0), first)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg_hr = np.rint(hr_sum / hr_n)  # NaN when no heart rate at all
    cad_raw = np.rint(np.add.reduceat(s.cadence_spm, first) / count * 64.0)  # 1/128 stride
    climb = np.diff(s.altitude_m)
    up = np.concatenate([[0.0], np.cumsum(np.maximum(climb, 0.0))])
    down = np.concatenate([[0.0], np.cumsum(np.maximum(-climb, 0.0))])
    power = None if s.power_w is None else np.rint(np.add.reduceat(s.power_w, first) / count)
    return {
        "timestamp": s.timestamp[hi],
        "start_time": s.timestamp[lo],
        "total_elapsed_time": (s.timestamp[hi] - s.timestamp[lo]).astype(np.float64),
        "total_timer_time": timer,
        "total_distance": distance,
        "enhanced_avg_speed": avg_speed,
        "enhanced_max_speed": maximum(s.speed_mps),
        "avg_heart_rate": avg_hr,
        "max_heart_rate": maximum(s.heart_rate_bpm),
        "avg_cadence": np.floor(cad_raw / 128.0),
        "avg_fractional_cadence": (cad_raw % 128.0) / 128.0,
        "max_cadence": np.floor(maximum(s.cadence_spm) / 2.0),
        "avg_power": power,
        "avg_vertical_oscillation": mean(s.vertical_oscillation_mm, 10),
        "avg_stance_time": mean(s.stance_time_ms, 10),
        "avg_stance_time_balance": mean(s.stance_time_balance_pct, 100),
        "avg_step_length": mean(s.step_length_mm, 10),
        "avg_vertical_ratio": mean(s.vertical_ratio_pct, 100),
        "total_ascent": np.rint(up[hi] - up[lo]),
        "total_descent": np.rint(down[hi] - down[lo]),
        "total_calories": np.rint(distance / 1000.0 * KCAL_PER_KM),
    }


def _value(x: Any, j: int) -> float | None:
    if x is None:
        return None
    v = float(x[j])
    return None if math.isnan(v) else v


def _to_si(fit: dict[str, Any], j: int) -> dict[str, float | int | None]:
    def get(key: str) -> float | None:
        return _value(fit[key], j)

    cadence = get("avg_cadence")
    fraction = get("avg_fractional_cadence")
    return {
        "duration_s": get("total_timer_time"),
        "elapsed_s": get("total_elapsed_time"),
        "distance_m": get("total_distance"),
        "avg_speed_mps": get("enhanced_avg_speed"),
        "max_speed_mps": get("enhanced_max_speed"),
        "avg_hr_bpm": get("avg_heart_rate"),
        "max_hr_bpm": get("max_heart_rate"),
        "avg_cadence_spm": (
            None if cadence is None or fraction is None else (cadence + fraction) * 2.0
        ),
        "avg_power_w": get("avg_power"),
        "avg_vertical_oscillation_mm": get("avg_vertical_oscillation"),
        "avg_vertical_ratio_pct": get("avg_vertical_ratio"),
        "avg_stance_time_ms": get("avg_stance_time"),
        "avg_stance_time_balance_pct": get("avg_stance_time_balance"),
        "avg_step_length_mm": get("avg_step_length"),
        "total_ascent_m": get("total_ascent"),
        "total_descent_m": get("total_descent"),
        "total_calories_kcal": get("total_calories"),
    }


def expected_summary(samples: Samples) -> dict[str, float | int | None]:
    """The session message's values as decoded, in SI units (None = not written).

    Keys are the activities columns of ``runlake._schemas`` that the session message
    carries (``duration_s`` is the timer time; ``avg_cadence_spm`` is ``2 * (avg_cadence +
    avg_fractional_cadence)``) plus ``n_records``.
    """
    out = _to_si(_fit_summaries(samples, [samples.n_records - 1]), 0)
    out["n_records"] = samples.n_records
    return out


def expected_laps(samples: Samples) -> list[dict[str, float | int | None]]:
    """The lap messages' values as decoded, in SI units (the keys of ``expected_summary``
    without ``n_records``)."""
    laps = _fit_summaries(samples, samples.lap_ends)
    return [_to_si(laps, j) for j in range(len(samples.lap_ends))]


# --------------------------------------------------------------------------- encoding


def _event_type(name: str) -> int:
    return field_spec("event", "event_type").enum_values[name]


def _device_messages(ts0: int) -> tuple[EncodedMessages, EncodedMessages]:
    """The file_id and device_info messages of the simulated watch."""
    file_id = encode_messages(
        "file_id",
        {
            "type": "activity",
            "manufacturer": "development",
            "product": PRODUCT,
            "serial_number": SERIAL_NUMBER,
            "time_created": ts0,
        },
        local=0,
    )
    device_info = encode_messages(
        "device_info",
        {
            "timestamp": ts0,
            "device_index": 0,
            "manufacturer": "development",
            "product": PRODUCT,
            "serial_number": SERIAL_NUMBER,
            "software_version": 1.0,
            "product_name": PRODUCT_NAME,
        },
        local=1,
    )
    return file_id, device_info


def _timer_events(s: Samples) -> EncodedMessages:
    """Timer events: start, (stop_all, start) around the pause, stop_all at the end."""
    ts = s.timestamp
    ev_ts = [int(ts[0])]
    ev_type = [_event_type("start")]
    if s.pause_index is not None:
        stop_at = int(ts[s.pause_index - 1])
        ev_ts += [stop_at, stop_at + s.spec.pause_s]
        ev_type += [_event_type("stop_all"), _event_type("start")]
    ev_ts.append(int(ts[-1]))
    ev_type.append(_event_type("stop_all"))
    return encode_messages(
        "event",
        {
            "timestamp": np.array(ev_ts, dtype=np.int64),
            "event": "timer",
            "event_type": np.array(ev_type, dtype=np.int64),
            "event_group": 0,
        },
        local=2,
    )


def _record_messages(
    s: Samples, developer: Mapping[DeveloperField, npt.ArrayLike] | None = None
) -> EncodedMessages:
    """One record message per sample (with ``developer`` fields' values after its own)."""
    cadence_raw = np.rint(s.cadence_spm * 64.0).astype(np.int64)  # 1/128 strides/min
    return encode_messages(
        "record",
        {
            "timestamp": s.timestamp,
            "position_lat": None if s.latitude_deg is None else s.latitude_deg * _SEMICIRCLE,
            "position_long": None if s.longitude_deg is None else s.longitude_deg * _SEMICIRCLE,
            "distance": s.distance_m,
            "enhanced_speed": s.speed_mps,
            "enhanced_altitude": s.altitude_m,
            "heart_rate": s.heart_rate_bpm,
            "cadence": cadence_raw // 128,
            "fractional_cadence": (cadence_raw % 128) / 128.0,
            "power": s.power_w,
            "vertical_oscillation": s.vertical_oscillation_mm,
            "stance_time": s.stance_time_ms,
            "stance_time_balance": s.stance_time_balance_pct,
            "step_length": s.step_length_mm,
            "vertical_ratio": s.vertical_ratio_pct,
            "temperature": s.temperature_c,
        },
        local=3,
        n=s.n_records,
        developer=developer,
    )


def _summary_messages(s: Samples) -> tuple[EncodedMessages, EncodedMessages, EncodedMessages]:
    """The lap messages, the session and the activity."""
    n = s.n_records
    common = {
        "event": "lap",
        "event_type": "stop",
        "sport": "running",
        "sub_sport": s.spec.sub_sport,
    }
    n_laps = len(s.lap_ends)
    laps = encode_messages("lap", {**common, **_fit_summaries(s, s.lap_ends)}, local=4, n=n_laps)
    session = encode_messages(
        "session",
        {
            **common,
            "event": "session",
            **_fit_summaries(s, [n - 1]),
            "first_lap_index": 0,
            "num_laps": n_laps,
        },
        local=5,
        n=1,
    )
    activity = encode_messages(
        "activity",
        {
            "timestamp": int(s.timestamp[-1]),
            "total_timer_time": float(n - 1),
            "num_sessions": 1,
            "type": "manual",
            "event": "activity",
            "event_type": "stop",
        },
        local=6,
    )
    return laps, session, activity


def _write_interleaved(
    w: FitWriter,
    s: Samples,
    events: EncodedMessages,
    records: EncodedMessages,
    laps: EncodedMessages,
) -> None:
    """Records, the pause events between records, each lap right after its last record and
    the closing event before the last lap, as a watch writes them."""
    w.write(events, 0, 1)
    cuts: list[tuple[int, int, str]] = [(e, j, "lap") for j, e in enumerate(s.lap_ends)]
    if s.pause_index is not None:
        cuts.append((s.pause_index - 1, len(s.lap_ends), "pause"))  # after a lap ending there
    cuts.sort()
    done = 0
    for end, j, what in cuts:
        w.write(records, done, end + 1)
        done = end + 1
        if what == "pause":
            w.write(events, 1, 3)
        else:
            if j == len(s.lap_ends) - 1:
                w.write(events, events.n - 1, events.n)
            w.write(laps, j, j + 1)


_DEVELOPER_LOCAL: Final = 7
"""Local message type of the developer_data_id and field_description messages."""


def encode_run(
    samples: Samples, *, developer: Mapping[DeveloperField, npt.ArrayLike] | None = None
) -> bytes:
    """The bytes of the FIT activity file for ``samples``.

    ``developer`` adds developer fields to the record messages: one value per record
    (NaN = missing) for each field. Their apps' developer_data_id messages and their
    field_description messages come after device_info, before the first record, as a
    watch writes those of its Connect IQ data fields.
    """
    w = FitWriter()
    w.write_all(_device_messages(int(samples.timestamp[0])))
    if developer:
        w.describe(developer, local=_DEVELOPER_LOCAL)
    laps, session, activity = _summary_messages(samples)
    records = _record_messages(samples, developer)
    _write_interleaved(w, samples, _timer_events(samples), records, laps)
    w.write(session)
    w.write(activity)
    return w.to_bytes()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_run(path: str | os.PathLike[str], spec: RunSpec) -> Samples:
    """Simulate ``spec`` and write it as one FIT activity file (atomically)."""
    samples = simulate(spec)
    _write_atomic(Path(path), encode_run(samples))
    return samples


# --------------------------------------------------------------------------- plans

# Day of the week (0 = first day of the week, a rest day unless the week has 7 runs) -> kind.
_LAYOUTS: Final[dict[int, dict[int, str]]] = {
    4: {1: "easy", 3: "workout", 5: "easy", 6: "long"},
    5: {1: "easy", 2: "workout", 3: "recovery", 5: "easy", 6: "long"},
    6: {1: "easy", 2: "workout", 3: "recovery", 4: "easy", 5: "easy", 6: "long"},
    7: {0: "recovery", 1: "easy", 2: "workout", 3: "recovery", 4: "easy", 5: "easy", 6: "long"},
}
_WORKOUTS: Final = ((6, 180, 120), (5, 300, 120), (8, 90, 90), (4, 480, 120))


def _run(
    rng: np.random.Generator, *, day: date, kind: str, week: int, cutback: bool, nth_long: int
) -> RunSpec:
    easy_speed = rng.uniform(2.7, 3.0)
    hr = 135.0 + (easy_speed - 2.7) / 0.3 * 15.0 + rng.normal(0.0, 1.5)
    hr = float(np.clip(hr, 135.0, 150.0))
    cadence = float(np.clip(170.0 + 10.0 * (easy_speed - 2.85) + rng.normal(0, 1.5), 166, 179))
    hour = 7.0 if kind == "long" else 5.5
    start = datetime.combine(day, time(0, 0), UTC) + timedelta(
        hours=hour, seconds=int(rng.integers(0, 90 * 60))
    )
    intervals = (6, 180, 120)
    sub_sport = "road"
    if kind == "easy":
        duration = int(rng.integers(30 * 60, 60 * 60 + 1))
    elif kind == "recovery":
        duration = int(rng.integers(25 * 60, 36 * 60))
        easy_speed -= 0.25
        hr -= 9.0
    elif kind == "long":
        # builds 80-100, 90-110, 100-120 min over three-week blocks, then a cutback
        minutes = 75 if cutback else min(120, 80 + 10 * (week % 4) + 10 * (week // 4 % 3))
        duration = int(np.clip(minutes * 60 + rng.integers(-120, 121), 75 * 60, 120 * 60))
        easy_speed = min(easy_speed, 2.85)
        hr = min(hr, 146.0)
        if nth_long % 3 == 2:
            sub_sport = "trail"
            easy_speed -= 0.25
    else:  # workout
        reps, work, rest = _WORKOUTS[week % len(_WORKOUTS)]
        if cutback:
            reps = max(3, reps - 2)
        intervals = (reps, work, rest)
        duration = _WARMUP_S + reps * (work + rest) + 600 + int(rng.integers(0, 120))
    pause_s = int(rng.integers(45, 300)) if rng.random() < 0.2 else 0
    return RunSpec(
        start=start,
        kind=kind,
        duration_s=duration,
        base_speed_mps=round(float(easy_speed), 3),
        base_hr_bpm=round(hr, 1),
        cadence_spm=round(cadence, 1),
        running_dynamics=True,
        pause_s=pause_s,
        seed=int(rng.integers(0, 2**31 - 1)),
        sub_sport=sub_sport,
        intervals=intervals,
    )


def _base_plan(start: date, weeks: int, rng: np.random.Generator, busy: bool) -> list[RunSpec]:
    plan: list[RunSpec] = []
    n_long = 0
    for week in range(weeks):
        cutback = week % 4 == 3
        if busy:
            n_runs = 5 if cutback else int(rng.choice([6, 7], p=[0.6, 0.4]))
        else:
            n_runs = 4 if cutback else int(rng.choice([5, 6]))
        for offset, kind in _LAYOUTS[n_runs].items():
            day = start + timedelta(days=7 * week + offset)
            plan.append(_run(rng, day=day, kind=kind, week=week, cutback=cutback, nth_long=n_long))
            if kind == "long":
                n_long += 1
    return plan


def _pick(candidates: Sequence[int], fractions: Sequence[float]) -> list[int]:
    """Distinct candidates at the given fractions of the list (in order)."""
    chosen: list[int] = []
    for f in fractions:
        pos = round(f * (len(candidates) - 1))
        while candidates[pos] in chosen:
            pos = (pos + 1) % len(candidates)
        chosen.append(candidates[pos])
    return chosen


def _make_problem(spec: RunSpec, kind: str) -> RunSpec:
    if kind == "overstriding":
        cad = 146.0 + (spec.seed % 40) / 10.0  # 146.0..149.9
        return replace(spec, kind=kind, cadence_spm=cad, sub_sport="road")
    if kind == "fading":
        return replace(spec, kind=kind, duration_s=100 * 60, sub_sport="road", pause_s=0)
    return replace(spec, kind=kind, sub_sport="road")


def _without_dynamics(spec: RunSpec, seed: int) -> RunSpec:
    # The chest strap stayed home: no running dynamics, and the wrist sensor takes a few
    # seconds to find the pulse.
    return replace(spec, running_dynamics=False, hr_dropout_s=4 + seed % 6)


def season_plan(start: date, weeks: int = 12, seed: int = 0) -> list[RunSpec]:
    """The runs of a season, in order (what ``write_season`` writes).

    4-6 runs a week (the first day of each week is a rest day), a weekly long run with a
    cutback every 4th week, one workout a week, and across the season: one each of the
    form problems (bouncy, overstriding, fading, asymmetric), two runs without running
    dynamics, one treadmill run, pauses in some runs, power from the second half on.
    """
    if weeks < 2:
        raise ValueError(f"a season needs at least 2 weeks, got {weeks}")
    rng = np.random.default_rng([seed, 0x5EA5])
    plan = _base_plan(start, weeks, rng, busy=False)
    easy = [i for i, s in enumerate(plan) if s.kind == "easy"]
    recovery = [i for i, s in enumerate(plan) if s.kind == "recovery"]
    longs = [
        i
        for i, s in enumerate(plan)
        if s.kind == "long" and (s.start.date() - start).days // 7 % 4 != 3
    ]
    (fading,) = _pick(longs, [0.6])
    plan[fading] = _make_problem(plan[fading], "fading")
    (treadmill,) = _pick(recovery, [0.5])
    plan[treadmill] = replace(plan[treadmill], sub_sport="treadmill")
    problems = _pick(easy, [0.15, 0.5, 0.85])
    for i, kind in zip(problems, ("bouncy", "overstriding", "asymmetric"), strict=True):
        plan[i] = _make_problem(plan[i], kind)
    rest = sorted(set(easy + recovery) - set(problems) - {treadmill})
    for i in _pick(rest, [0.3, 0.7]):
        plan[i] = _without_dynamics(plan[i], plan[i].seed)
    half = start + timedelta(days=7 * (weeks // 2))
    plan = [replace(s, power=s.start.date() >= half) for s in plan]
    if not any(s.pause_s for s in plan):
        i = easy[len(easy) // 2 - 1]
        plan[i] = replace(plan[i], pause_s=120)
    return plan


def history_plan(start: date, years: int = 5, seed: int = 0) -> list[RunSpec]:
    """About 300 runs a year of one runner (for benchmarks): 5-7 runs a week, an occasional
    form problem, 5 % without running dynamics, power from the second year on."""
    rng = np.random.default_rng([seed, 0x415])
    plan = _base_plan(start, 52 * years, rng, busy=True)
    power_from = start + timedelta(days=365)
    out = []
    for spec in plan:
        s = replace(spec, power=spec.start.date() >= power_from)
        r = rng.random()
        if s.kind == "easy" and r < 0.03:
            s = _make_problem(s, str(rng.choice(["bouncy", "overstriding", "asymmetric"])))
        elif s.kind == "long" and r < 0.05:
            s = _make_problem(s, "fading")
        elif r > 0.95:
            s = _without_dynamics(s, s.seed)
        out.append(s)
    return out


SCENARIOS: Final = (
    "break_and_return",
    "long_run_spike",
    "walking_junk",
    "hot_long_run",
    "sparse",
    "heavy_legs",
)
"""The histories of :func:`scenario_plan`: one case each of what the flags must judge right."""


def _steady_run(day: date, minutes: float, seed: int, *, kind: str = "easy", **kw: Any) -> RunSpec:
    """One run of the scenarios' runner: always the same easy pace (5:51 min/km), heart rate
    and cadence, so that what a scenario changes is all that changes."""
    start = datetime.combine(day, time(6, 30), UTC) + timedelta(minutes=seed % 37)
    return RunSpec(
        start=start,
        kind=kind,
        duration_s=int(minutes * 60),
        base_speed_mps=2.85,
        base_hr_bpm=142.0,
        cadence_spm=171.0,
        seed=seed,
        **kw,
    )


def _weeks_of_easy_runs(
    start: date, weeks: range, days: Sequence[int], minutes: float, seed: int
) -> list[RunSpec]:
    return [
        _steady_run(start + timedelta(days=7 * w + d), minutes, seed * 1000 + 10 * w + d)
        for w in weeks
        for d in days
    ]


def scenario_plan(name: str, start: date, seed: int = 0) -> list[RunSpec]:
    """The runs of one scenario (``SCENARIOS``), in order, from the Monday ``start``:

    - ``break_and_return``: 8 weeks of four easy runs, 5 weeks off, then 5 weeks of four
      40-minute runs: the first run back follows 5 weeks without one;
    - ``long_run_spike``: four 40-minute runs a week for 11 weeks, with a 60-minute run at
      the end of week 5 (50 % longer than any run of the 30 days before) and a 100-minute
      run at the end of week 10 (35 days later: 150 % longer);
    - ``walking_junk``: 3 weeks of easy runs, then a 70-minute run whose second half is
      walking, with heart-rate and ground-contact spikes (the last run);
    - ``hot_long_run``: 3 weeks of easy runs, then a 2 h 10 min run at 31 °C whose heart
      rate drifts up (the last run);
    - ``sparse``: 16 weeks of zero to two short runs (20-35 min), several weeks empty;
    - ``heavy_legs``: 10 weeks of four easy runs at the same pace, then one with 12 %
      longer ground contact and 6 % lower cadence (the last run).
    """
    rng = np.random.default_rng([seed, 0x5CE])
    four = (1, 3, 5, 6)
    if name == "break_and_return":
        return [
            *_weeks_of_easy_runs(start, range(8), four, 45, seed),
            *_weeks_of_easy_runs(start, range(13, 18), four, 40, seed + 1),
        ]
    if name == "long_run_spike":
        plan = _weeks_of_easy_runs(start, range(11), (1, 3, 5), 40, seed)
        plan.append(_steady_run(start + timedelta(days=7 * 5 + 6), 60, seed + 7))
        plan.append(_steady_run(start + timedelta(days=7 * 10 + 6), 100, seed + 8))
        return sorted(plan, key=lambda r: r.start)
    if name in ("walking_junk", "hot_long_run"):
        plan = _weeks_of_easy_runs(start, range(3), four, 45, seed)
        day = start + timedelta(days=7 * 3 + 2)
        if name == "walking_junk":
            last = _steady_run(day, 70, 7, kind="fading", walk_from_s=35 * 60, spikes=True)
        else:
            last = _steady_run(day, 130, 7, kind="fading", temperature_c=31.0)
        return [*plan, last]
    if name == "sparse":
        plan = []
        for w in range(16):
            n = int(rng.choice([0, 1, 2], p=[0.35, 0.4, 0.25]))
            for d in sorted(rng.choice(7, size=n, replace=False).tolist()):
                minutes = float(rng.integers(20, 36))
                plan.append(_steady_run(start + timedelta(days=7 * w + d), minutes, 100 * w + d))
        return plan
    if name == "heavy_legs":
        plan = _weeks_of_easy_runs(start, range(10), four, 45, seed)
        heavy = _steady_run(start + timedelta(days=7 * 10 + 1), 45, seed + 9, heavy_legs_pct=12.0)
        return [*plan, heavy]
    raise ValueError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")


def write_scenario(
    folder: str | os.PathLike[str], name: str, *, start: date, seed: int = 0
) -> list[Path]:
    """Write ``scenario_plan(name, start, seed)`` into ``folder`` (created if needed)."""
    return _write_plan(folder, scenario_plan(name, start, seed))


def _write_plan(folder: str | os.PathLike[str], plan: Sequence[RunSpec]) -> list[Path]:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in plan:
        path = out / spec.file_name
        write_run(path, spec)
        paths.append(path)
    return paths


def write_season(
    folder: str | os.PathLike[str], *, start: date, weeks: int = 12, seed: int = 0
) -> list[Path]:
    """Write ``season_plan(start, weeks, seed)`` into ``folder`` (created if needed).

    Returns the paths in plan order; ``path.name`` is ``RunSpec.file_name``
    (``2026-03-02-easy.fit``), so ``zip(paths, season_plan(...))`` pairs each file with
    its spec.
    """
    return _write_plan(folder, season_plan(start, weeks, seed))


def write_history(
    folder: str | os.PathLike[str],
    *,
    years: int = 5,
    seed: int = 0,
    start: date = date(2021, 1, 4),
) -> list[Path]:
    """Write ``history_plan(start, years, seed)`` (about 300 runs a year) into ``folder``."""
    return _write_plan(folder, history_plan(start, years, seed))
