"""Metrics stage: a run's records and laps in, its form, fatigue and load metrics out; and
which of an athlete's activities are copies of one session (``_duplicates``: one copy of
each run is counted).

``run_metrics`` turns one run's records (the RECORDS columns, sorted by time) and its
ACTIVITIES row into a :class:`RunMetrics` (one row of RUN_METRICS); ``lap_metrics`` gives the
form averages per lap (LAP_METRICS). Everything is vectorised numpy: a one-hour run at 1 Hz
takes under 2 ms. Missing data gives null, never a made-up value: a run without
running dynamics has null form values (only the step length can be derived, from speed and
cadence, and ``step_length_source`` says so), a run without heart rate has null heart-rate
values and a load estimated from its duration (``load_source``).

Definitions (docs/views.md quotes them)
------------------------------------

**Samples and time.** Each sample counts for the time since the previous one (the first
counts for nothing); a gap of more than ``PAUSE_GAP_S`` between samples is a pause, and the
sample after it counts for one usual sampling interval. A sample is *moving* when its speed
is at least ``MOVING_MIN_MPS`` (samples with no speed at all count as moving) and *running*
when it is moving and its cadence, if known, is at least ``WALK_MAX_SPM`` (below it: a
walk). **Sensor spikes** are values no runner has: a heart rate above
``HR_PLAUSIBLE_MAX_BPM`` (220), a ground contact over ``STANCE_SPIKE_MS`` (400 ms) at
``STANCE_SPIKE_MIN_MPS`` (2 m/s) or faster; they count as missing (null) everywhere, and
their samples are left out of the steady part. Form averages (cadence, oscillation, contact
time, balance, step length, vertical ratio) are time-weighted means over the running
samples. ``temperature_c`` is the time-weighted mean of the watch's temperature over the
moving samples (a wrist watch reads warmer than the air).

**Steady part.** The running samples left after removing: the first ``WARMUP_S`` seconds of
moving time (warm-up: heart rate and form settle), the first ``RESUME_SKIP_S`` seconds after
every pause, stop or walk (heart rate recovering), every sample with a sensor spike, and
every sample whose speed is more than ``OFF_PACE_FRACTION`` away from the run's typical pace
(the time-weighted median speed of what is left before this filter: intervals, steep
hills). Walking is never part of it. ``steady_s`` is its length. A run is a *steady run*
(``steady_run``) when its steady part lasts at least ``MIN_STEADY_S`` and covers at least
``STEADY_SHARE_MIN`` of the timer time after the warm-up (walking and standing with the
timer running count, pauses do not): easy and long runs are; interval workouts, run-walks
and runs that end walking or standing are not, and get no within-run changes (form fade)
and no cardiac-drift flag.

**Within-run changes** (``cadence_change_pct``, ``stance_time_change_pct``,
``vertical_oscillation_change_pct``): the time-weighted mean over the last third of the
steady part against the first third, in % (``last / first - 1``); the thirds are thirds of
steady time. Contact time and cadence are first adjusted for pace as in the overstriding
index below, so slowing down late in the run is not counted as a change of form. Null unless
the run is a steady run (a workout mixes paces), or when a third has the value for less
than half of its time.

**Aerobic decoupling** (``aerobic_decoupling_pct``, Pa:HR, Friel / TrainingPeaks): the
efficiency factor EF = mean speed / mean heart rate over the first and the second half of
the steady part (halves of steady time, samples with both values); decoupling =
``(EF1 - EF2) / EF1 x 100``. Positive means the heart rate drifted up for the same pace.
Null when the steady part is shorter than ``DECOUPLING_MIN_S`` (drift shows on longer
runs), without heart rate on at least ``HR_COVERAGE_MIN`` of each half, or when the mean
grades of the two halves differ by more than ``DECOUPLING_MAX_GRADE_DIFF`` (a climb in one
half lowers its pace and raises its heart rate: the hill, not the heart, would show). It is
not corrected for heat. The ``cardiac_drift`` flag uses it on steady runs only.

**Overstriding index** (``overstriding_index``). Overstriding is landing with the foot far
ahead of the body: each step brakes, the foot stays on the ground longer, and the step is
long for the pace, so the step rate is low for the pace. Neither sign alone is enough (long
contact with quick steps is a heavy but short stride; a low step rate with short contact is
a long flight phase), so the index multiplies them, each scaled on Garmin's running-dynamics
colour zones, whose red zones (the worst 5 % of runners in Garmin's data) begin above 308 ms
of ground contact time and below 153 steps/min::

    index = (GCT_adj / 308 ms) x (153 spm / cadence_adj)

Contact time and cadence both depend on pace (faster running: shorter contact, quicker
steps), so each sample's values are first brought to a reference speed of ``OI_REF_SPEED_MPS``
(3.0 m/s, 5:33 min/km) with typical slopes of recreational runners, ``OI_GCT_MS_PER_MPS``
(contact time shortens by about 35 ms per m/s) and ``OI_CADENCE_SPM_PER_MPS`` (cadence rises
by about 9 steps/min per m/s), the speed clipped to 2–5 m/s: ``GCT_adj = GCT + 35 x (v - 3)``,
``cadence_adj = cadence - 9 x (v - 3)``. Without this a slow jogger (short steps, long
contact) would look like an overstrider. The index is the time-weighted mean over the
running samples: 1.0 means contact time and cadence both at the red-zone boundary at
3 m/s (or one worse by as much as the other is better); clean runners are at about
0.65–0.85. It needs only ground contact time, cadence and speed, which Garmin
(``stance_time`` from a chest strap, a pod or the watch), COROS (``stance_time``) and Stryd
(the developer field Ground Time, which normalize puts in ``stance_time_ms``) all record;
without contact time it is null.

**Pace bins** (``pace_bin_*``, for the flags' personal baselines): the steady part before its
pace filter (running after the warm-up, away from stops and walks, no spikes), at 2-7 m/s,
by pace bin of ``PACE_BIN_S_PER_KM`` (5 s/km; lower edges, ascending): the seconds in each
and the time-weighted mean cadence, ground contact time and vertical oscillation there.

**Heart-rate zones and load.** Zones are Edwards' five zones of maximum heart rate (50–60,
60–70, 70–80, 80–90, 90+ %; time under 50 % is in none). ``easy_s`` is the time at or below
``easy_hr_fraction x hr_max``. The load is Edwards' TRIMP (minutes in each zone times the
zone number, 1–5), scaled from the time with heart rate to the whole timer time, when the
heart rate covers at least ``HR_COVERAGE_MIN`` of the run and the maximum heart rate is
known (``load_source = 'hr'``). Otherwise the run is assumed easy: timer minutes x
``DURATION_LOAD_PER_MIN`` (2.5, between Edwards' zones 2 and 3; ``load_source =
'duration'``), so loads of runs with and without heart rate stay comparable.

Zones, easy time and load are computed from the run's heart-rate histogram (seconds at each
heart rate, ``hr_histogram_bpm`` / ``hr_histogram_s``; a last null bucket holds the time
without a heart rate, so the coverage is known too), and :func:`rezone` recomputes them from
the stored histogram alone when the maximum heart rate changes: the same arithmetic as
``run_metrics``, so the values are exactly those of a recompute from the records.

**Maximum heart rate.** Configured, else ``estimate_hr_max`` over the athlete's runs: the
second-highest per-run maximum (so one strap spike cannot set it) among plausible values.

``METRICS_VERSION`` names these definitions: a lake whose metrics were computed with another
version gets them recomputed from its records by its next refresh.

May import: runlake._schemas. One module a job: ``_samples`` (records as time-weighted
samples), ``_form`` (form averages, overstriding), ``_steady`` (the steady part, its thirds
and halves, within-run changes, decoupling), ``_heart`` (histogram, zones, load, maximum),
``_laps`` (form per lap), ``_bands`` (form per pace bin), ``_run`` (one RUN_METRICS row),
``_duplicates`` (which activities are copies of one session), ``_fade`` (a run's form-fade
thirds, adjusted and raw, for the report: :func:`form_fade_values`).
"""

from __future__ import annotations

from runlake.metrics._bands import BIN_COLUMNS, BIN_SPEED_RANGE_MPS, PACE_BIN_S_PER_KM
from runlake.metrics._duplicates import (
    FORMAT_PREFERENCE,
    SHARED_MIN_FRACTION,
    START_WITHIN_S,
    UNKNOWN_SPORTS,
    find_duplicates,
    sport_family,
)
from runlake.metrics._fade import FADE_COLUMNS, FadeValue, form_fade_values
from runlake.metrics._form import (
    OI_CADENCE_SPM_PER_MPS,
    OI_GCT_MS_PER_MPS,
    OI_RED_CADENCE_SPM,
    OI_RED_GCT_MS,
    OI_REF_SPEED_MPS,
)
from runlake.metrics._heart import (
    DURATION_LOAD_PER_MIN,
    HR_COVERAGE_MIN,
    HR_MAX_PLAUSIBLE,
    estimate_hr_max,
    hr_histogram,
    rezone,
)
from runlake.metrics._laps import lap_metrics
from runlake.metrics._run import (
    ACTIVITY_COLUMNS,
    METRICS_VERSION,
    RunMetrics,
    measure_run,
    metrics_table,
    run_metrics,
)
from runlake.metrics._samples import (
    HR_PLAUSIBLE_MAX_BPM,
    MOVING_MIN_MPS,
    PAUSE_GAP_S,
    STANCE_SPIKE_MIN_MPS,
    STANCE_SPIKE_MS,
    WALK_MAX_SPM,
)
from runlake.metrics._steady import (
    DECOUPLING_MAX_GRADE_DIFF,
    DECOUPLING_MIN_S,
    MIN_STEADY_S,
    OFF_PACE_FRACTION,
    RESUME_SKIP_S,
    STEADY_SHARE_MIN,
    WARMUP_S,
    RunThirds,
    steady_thirds,
)

__all__ = [
    "ACTIVITY_COLUMNS",
    "BIN_COLUMNS",
    "BIN_SPEED_RANGE_MPS",
    "DECOUPLING_MAX_GRADE_DIFF",
    "DECOUPLING_MIN_S",
    "DURATION_LOAD_PER_MIN",
    "FADE_COLUMNS",
    "FORMAT_PREFERENCE",
    "HR_COVERAGE_MIN",
    "HR_MAX_PLAUSIBLE",
    "HR_PLAUSIBLE_MAX_BPM",
    "METRICS_VERSION",
    "MIN_STEADY_S",
    "MOVING_MIN_MPS",
    "OFF_PACE_FRACTION",
    "OI_CADENCE_SPM_PER_MPS",
    "OI_GCT_MS_PER_MPS",
    "OI_RED_CADENCE_SPM",
    "OI_RED_GCT_MS",
    "OI_REF_SPEED_MPS",
    "PACE_BIN_S_PER_KM",
    "PAUSE_GAP_S",
    "RESUME_SKIP_S",
    "SHARED_MIN_FRACTION",
    "STANCE_SPIKE_MIN_MPS",
    "STANCE_SPIKE_MS",
    "START_WITHIN_S",
    "STEADY_SHARE_MIN",
    "UNKNOWN_SPORTS",
    "WALK_MAX_SPM",
    "WARMUP_S",
    "FadeValue",
    "RunMetrics",
    "RunThirds",
    "estimate_hr_max",
    "find_duplicates",
    "form_fade_values",
    "hr_histogram",
    "lap_metrics",
    "measure_run",
    "metrics_table",
    "rezone",
    "run_metrics",
    "sport_family",
    "steady_thirds",
]
