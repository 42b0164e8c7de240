"""The report's charts and words, piece by piece: the run's lines (pauses, spikes, limits),
the colour zones' labels, the flags' units, the load trend."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pyarrow as pa
import pytest

from runlake import ingest_paths, run_query
from runlake.flags import load_thresholds
from runlake.metrics import PAUSE_GAP_S
from runlake.report import garmin_zones, render_run
from runlake.report._charts import RC
from runlake.report._html import flag_seen, flags_html
from runlake.report._runcharts import SMOOTH_S, run_chart, run_panels, zone_bands
from runlake.report._series import line_of
from runlake.report._weeks import EWMA_COLUMNS, _load_chart, has_ewma
from tests.conftest import corpus_file, requires_corpus

PAUSE = (1800, 1890)  # no samples: the watch was paused for 90 s
STOP = (1000, 1120)  # samples at a standstill (auto-pause off)
WALK = (2500, 2560)  # a walking break: slow, low cadence, long contact
SPIKES = np.arange(150, 3600, 300)  # one-sample sensor spikes
GPS_JUMPS = (400, 1401, 3001)
HR_SPIKES = (200, 2201, 3300)


def spiky_run() -> pa.Table:
    """An hour at 3 m/s with a pause, a stop, a walking break and sensor spikes."""
    t = np.arange(3600.0)
    t = t[(t < PAUSE[0]) | (t >= PAUSE[1])]
    rng = np.random.default_rng(3)
    speed = np.full(t.size, 3.0) + rng.normal(0, 0.05, t.size)
    cadence = np.full(t.size, 170.0) + rng.normal(0, 1.0, t.size)
    gct = np.full(t.size, 250.0) + rng.normal(0, 5.0, t.size)
    vo = np.full(t.size, 85.0) + rng.normal(0, 1.0, t.size)
    hr = np.where(t < PAUSE[0], 140.0, 160.0)
    stop = (t >= STOP[0]) & (t < STOP[1])
    walk = (t >= WALK[0]) & (t < WALK[1])
    speed[stop], cadence[stop], gct[stop] = 0.2, 0.0, 0.0
    speed[walk], cadence[walk], gct[walk] = 1.5, 110.0, 900.0
    gct[np.isin(t, SPIKES)] = 1000.0
    speed[np.isin(t, GPS_JUMPS)] = 40.0  # a pace of 0:25 /km
    hr[np.isin(t, HR_SPIKES)] = 250.0
    return pa.table(
        {
            "elapsed_s": t,
            "speed_mps": speed,
            "heart_rate_bpm": hr,
            "cadence_spm": cadence,
            "stance_time_ms": gct,
            "vertical_oscillation_mm": vo,
        }
    )


def test_limits_follow_the_running_not_the_spikes() -> None:
    track, panels = run_panels(spiky_run())
    by = {p.label: p for p in panels}
    assert list(by) == [
        "Pace",
        "Heart rate",
        "Cadence",
        "Ground contact time",
        "Vertical oscillation",
    ]
    gct = by["Ground contact time"].limits
    assert gct is not None
    assert 225 < gct[0] < 250 < gct[1] < 275  # not 0 (the stop) nor 1000 (walking, spikes)
    hr = by["Heart rate"]
    assert hr.limits is not None
    assert hr.limits[0] > 125
    assert hr.limits[1] < 175
    assert np.nanmax(hr.values) == pytest.approx(160.0)  # the 250s are not drawn at all
    pace = by["Pace"].limits
    assert pace is not None  # 3 m/s is 5:33 /km; the GPS jumps (0:25 /km) are not drawn
    assert 5.2 < pace[0] < 1000 / 3 / 60 < pace[1] < 5.9
    assert np.nanmin(by["Pace"].values) > 5.2
    cad = by["Cadence"].limits
    assert cad is not None
    assert cad[0] > 160
    assert cad[1] < 180
    # the samples at a standstill are not drawn; the pause and the stop are breaks
    assert np.isnan(by["Cadence"].values[(track.t >= STOP[0]) & (track.t < STOP[1])]).all()
    assert [(round(a), round(b)) for a, b in track.breaks] == [
        (STOP[0] - 1, STOP[1]),
        (PAUSE[0] - 1, PAUSE[1]),
    ]


def test_lines_break_at_pauses_and_mark_what_they_clip() -> None:
    track, panels = run_panels(spiky_run())
    hr = next(p for p in panels if p.label == "Heart rate")
    # smoothing does not reach across the pause: 140 before it, 160 just after it
    before = int(np.flatnonzero(track.t == PAUSE[0] - 1)[0])
    assert hr.values[before] == pytest.approx(140.0)
    assert hr.values[before + 1] == pytest.approx(160.0)
    assert track.t[before + 1] == PAUSE[1]
    assert hr.limits is not None
    line = line_of(track, hr.values, hr.limits, 600)
    gaps = np.flatnonzero(np.isnan(line.minutes))
    assert len(gaps) == 2  # the stop and the pause, nothing else
    for k, (a, b) in zip(gaps, (STOP, PAUSE), strict=True):
        assert line.minutes[k - 1] <= a / 60
        assert line.minutes[k + 1] >= b / 60
    assert np.nanmax(line.values) <= hr.limits[1]
    assert line.minutes.size <= 600 + 10
    gct = next(p for p in panels if p.label == "Ground contact time")
    assert gct.limits is not None
    clipped = line_of(track, gct.values, gct.limits, 1500)
    assert clipped.above.size == 1  # the walking break, one marker; the spikes are gone
    assert WALK[0] / 60 < clipped.above[0] < WALK[1] / 60
    assert clipped.below.size == 0
    assert np.nanmax(clipped.values) == pytest.approx(gct.limits[1])  # drawn at the edge


def test_the_smoothing_window_is_the_documented_one() -> None:
    """A step in the middle of a stretch: the mean ramps over SMOOTH_S seconds."""
    t = np.arange(600.0)
    y = np.where(t < 300, 160.0, 180.0)
    rec = pa.table(
        {"elapsed_s": t, "speed_mps": np.full(600, 3.0), "cadence_spm": y, "heart_rate_bpm": y}
    )
    _, panels = run_panels(rec)
    cad = next(p for p in panels if p.label == "Cadence").values
    half = SMOOTH_S / 2
    assert cad[int(300 - half - 1)] == pytest.approx(160.0)
    assert cad[int(300 + half + 1)] == pytest.approx(180.0)
    assert 160 < cad[300] < 180


def test_colour_zones_are_labelled_where_they_are_drawn() -> None:
    zones = {z.column: z for z in garmin_zones(load_thresholds())}
    assert [text for *_, text in zone_bands(zones["cadence_spm"])] == [
        "red <153",
        "orange 153–164",
        "green 164–174",
        "blue 174–184",
        "purple ≥184",
    ]
    vo = [text for *_, text in zone_bands(zones["vertical_oscillation_mm"])]
    assert vo[0] == "purple <6.4"
    assert vo[-1] == "red ≥11.5"
    with mpl.rc_context(RC):
        svg, _ = run_chart(spiky_run(), None, zones, "wide")
    # cadence about 170 and contact time about 250 ms: their bands beside the panels
    for label in ("green 164–174", "green 249–278", "blue 218–249"):
        assert f">{label}<" in svg
    assert "red ≥308" not in svg  # far above the axis: no label for a band not drawn


SEEN = [  # code, unit, value, threshold: the words
    ("acwr_high", "ratio", 4.0, 1.5, "ratio 4.0 (limit 1.5)"),
    ("acwr_high", "ratio", 1.52, 1.5, "ratio 1.52 (limit 1.50)"),
    ("monotony_high", "ratio", 2.31, 2.0, "monotony 2.3 (limit 2.0)"),
    ("overstriding", "index", 1.1, 1.0, "index 1.10 (limit 1.00)"),
    ("high_vertical_oscillation", "mm", 123.0, 115.0, "12.3 cm (limit 11.5 cm)"),
    ("high_vertical_oscillation", "cm", 12.3, 11.5, "12.3 cm (limit 11.5 cm)"),
    ("form_fade", "%", 6.81, 5.0, "+6.8 % (limit +5.0 %)"),
    ("form_fade", "%", -3.4, -3.0, "-3.4 % (limit -3.0 %)"),
    ("low_easy_share", "%", 62.0, 80.0, "62 % easy (at least 80 %)"),
    ("ground_contact_imbalance", "% left", 53.1, 52.2, "53.1 % left (limit 52.2 %)"),
    ("long_run_fuelling", "min", 114.0, 60.0, "1 h 54 min (from 1 h 00 min)"),
    ("consecutive_days", "days", 8.0, 7.0, "8 days (limit 7)"),
    ("hydration", "°C", 31.0, 28.0, "31 °C (hot from 28 °C)"),
    ("long_run_spike", "%", 41.0, 30.0, "+41.0 % (limit +30.0 %)"),
    ("heart", "bpm", 191.0, 185.0, "191 bpm (limit 185 bpm)"),
]


@pytest.mark.parametrize(("code", "unit", "value", "threshold", "words"), SEEN)
def test_flag_values_in_a_runners_units(
    code: str, unit: str, value: float, threshold: float, words: str
) -> None:
    row = {"code": code, "unit": unit, "value": value, "threshold": threshold}
    assert flag_seen(row) == words


def test_notes_are_apart_from_the_warnings() -> None:
    rows = [
        {"code": c, "severity": sev, "unit": u, "value": v, "threshold": th}
        for c, sev, u, v, th in (
            ("form_fade", "warning", "%", 6.0, 5.0),
            ("long_run_fuelling", "info", "min", 90.0, 60.0),
            ("heat_note", "info", "°C", 29.0, 25.0),
        )
    ]
    text = flags_html(rows, "Flags", "none")
    warnings, _, notes = text.partition("<h3>")
    assert 'data-code="form_fade"' in warnings
    assert "long_run_fuelling" not in warnings
    assert notes.startswith("Notes (2)")
    assert 'data-code="long_run_fuelling"' in notes
    assert 'data-code="heat_note"' in notes
    assert "Heat note" in notes  # a code without words of its own still reads as words
    only_notes = flags_html(rows[1:], "Flags", "No warnings.")
    assert "No warnings." in only_notes.partition("<h3>")[0]


def _days(ewma: bool) -> pa.Table:
    n = 42
    first = dt.date(2026, 6, 1)
    cols: dict[str, object] = {
        "date": [first + dt.timedelta(days=i) for i in range(n)],
        "load": [60.0 if i % 2 else 0.0 for i in range(n)],
        "acute_load": [30.0] * n,
        "chronic_load": [25.0] * n,
        "acute_chronic_ratio": [1.2] * n,
    }
    if ewma:
        cols |= {c: [v] * n for c, v in zip(EWMA_COLUMNS, (28.0, 26.0, 1.08), strict=True)}
    return pa.table(cols)


def test_the_load_trend_uses_the_ewma_pair_when_the_view_has_it() -> None:
    t = load_thresholds()
    rows = [
        {"week_start": dt.date(2026, 6, 1) + dt.timedelta(weeks=k), "monotony": 1.0}
        for k in range(6)
    ]
    span = (dt.date(2026, 6, 1), dt.date(2026, 7, 12))
    with mpl.rc_context(RC):
        rolling = _load_chart(_days(False), rows, t, span, "wide")
        ewma = _load_chart(_days(True), rows, t, span, "wide")
    assert not has_ewma(_days(False))
    assert has_ewma(_days(True))
    assert ">acute: last 7 days<" in rolling
    assert "exponentially" not in rolling
    assert ">acute: exponentially weighted, last 7 days<" in ewma


@requires_corpus
@pytest.mark.corpus
def test_a_real_run_with_walking_breaks_and_pauses(tmp_path: Path) -> None:
    """A Garmin run of 1 h 54 min with ten pauses and walking breaks (contact time up to
    1,320 ms in them): the axes keep to the running, the lines break at every pause, and
    the thirds table's contact-time change is the form_fade flag's."""
    src = corpus_file("mornindew-broken.fit")
    ingest_paths([src], lake_root=tmp_path / "lake", athlete="real")
    (rid,) = run_query(tmp_path / "lake", "select activity_id from runs").column(0).to_pylist()
    rec = run_query(
        tmp_path / "lake", "select * from records where activity_id = ? order by timestamp",
        params=[rid],
    )  # fmt: skip
    gct_raw = rec.column("stance_time_ms").to_numpy(zero_copy_only=False).astype(float)
    assert np.nanmax(gct_raw) > 1000  # what used to stretch the axis
    track, panels = run_panels(rec)
    by = {p.label: p for p in panels}
    gct = by["Ground contact time"].limits
    assert gct is not None
    assert gct[1] < 450
    assert by["Heart rate"].limits is not None
    assert by["Heart rate"].limits[1] < 185
    pace = by["Pace"].limits
    assert pace is not None
    assert 4.0 < pace[0] < pace[1] < 11.0  # min/km: not down to 0:00, not up to a standstill
    t = rec.column("elapsed_s").to_numpy(zero_copy_only=False).astype(float)
    pauses = int((np.diff(t) > PAUSE_GAP_S).sum())
    assert pauses >= 10
    line = line_of(track, by["Heart rate"].values, by["Heart rate"].limits, 1500)
    assert int(np.isnan(line.minutes).sum()) >= pauses  # a break at each pause (and stop)
    html = render_run(tmp_path / "lake", "real", rid)
    metrics = run_query(tmp_path / "lake", "select * from run_metrics").to_pylist()[0]
    row = html.split('<tr data-value="stance_time_ms">', 1)[1].split("</tr>", 1)[0]
    assert f">{metrics['stance_time_change_pct']:+.1f} %<" in row
    flags = run_query(tmp_path / "lake", "select * from flags where code = 'form_fade'")
    for f in flags.to_pylist():  # when it fires, its headline is the table's number
        assert f"{f['value']:+.1f} % (limit {f['threshold']:+.1f} %)" in html
