"""The runner's report: one self-contained HTML page, checked as text and in a real browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from runlake import ingest_paths, run_query
from runlake.cli import main
from runlake.flags import HISTORY_CODES, RUN_CODES, load_thresholds
from runlake.ingest import refresh_derived
from runlake.lake import Lake
from runlake.metrics import steady_thirds
from runlake.report import (
    FLAG_TITLES,
    ReportError,
    garmin_zones,
    render_run,
    render_weeks,
    write_report,
)
from runlake.synth import season_plan, write_run, write_season

REPO = Path(__file__).resolve().parents[2]
START = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)
WEEK_CHARTS = {
    "weeks-volume": "Weekly distance and running time with the 10 % line",
    "weeks-rest-easy": "Rest days and easy running per week",
    "weeks-load": "Training load: acute vs chronic, and monotony",
    "weeks-flags": "Every flag on the timeline",
}
RUN_CHARTS = {
    "run-over-time": "Over the run",
    "run-zones": "Your averages beside Garmin's colour zones",
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    write_season(root / "season", start=START, weeks=12, seed=0)
    ingest_paths([root / "season"], lake_root=root / "lake", athlete="me")
    return root / "lake"


def run_id(lake: Path, name: str) -> str:
    t = run_query(
        lake, "select activity_id from runs where source_path like ?", params=[f"%{name}"]
    )
    (value,) = t.column("activity_id").to_pylist()
    assert isinstance(value, str)
    return value


@pytest.fixture(scope="module")
def weeks_html(lake: Path) -> str:
    return render_weeks(lake, "me", now=NOW)


@pytest.fixture(scope="module")
def run_html(lake: Path) -> str:
    return render_run(lake, "me", run_id(lake, "-fading.fit"), now=NOW)


class Page(HTMLParser):
    """What a page holds: its tags with their attributes, chart titles, flags, table rows."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.svg_titles: dict[str, str] = {}
        self.svg_text: dict[str, str] = {}
        self.flags: list[str] = []
        self.rows: dict[str, int] = {}
        self._svg: str | None = None
        self._in_title = False
        self._table: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "svg":
            self._svg = a.get("data-chart", "")
        elif tag == "title" and self._svg is not None:
            self._in_title = True
        elif tag == "li" and "flag" in a.get("class", ""):
            self.flags.append(a["data-code"])
        elif tag == "table":
            self._table = a.get("class", "")
        elif tag == "tr" and self._table is not None:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg = None
        elif tag == "title":
            self._in_title = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_title and self._svg is not None:
            self.svg_titles[self._svg] = data
        elif self._svg is not None:
            self.svg_text[self._svg] = self.svg_text.get(self._svg, "") + data + " "


def assert_self_contained(text: str) -> Page:
    page = Page(text)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed", "img", "image"}
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "srcset", "data", "poster", "action"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("#", "data:")), (tag, name, value)
    lowered = text.lower()
    assert "@import" not in lowered
    assert "url(http" not in lowered
    assert "url(//" not in lowered
    csp = [
        a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp
    assert csp[0]["content"].startswith("default-src 'none'")
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids)), "duplicate ids across the inline SVGs"
    return page


# --------------------------------------------------------------------------- the pages


def test_weeks_report_is_self_contained_with_its_charts(lake: Path, weeks_html: str) -> None:
    page = assert_self_contained(weeks_html)
    assert page.svg_titles == WEEK_CHARTS
    flags = run_query(lake, "select code from flags where athlete = 'me' order by date")
    assert sorted(page.flags) == sorted(flags.column("code").to_pylist())
    assert len(page.flags) == 17  # 7 warnings and 10 notes on the sample season
    assert page.rows["weeks"] == 1 + 12  # header and 12 weeks
    assert page.rows["runs"] == 1 + 60
    assert "Your last 12 weeks of running" in weeks_html
    # one jump week, and the legend of the chart for a screen and of the chart for a phone
    assert weeks_html.count(">over the 10 % line<") == 3
    assert weeks_html.count(">cutback<") == 3
    for title in ("Weekly volume jumped", "Long run: fuel on the way"):
        assert title in weeks_html
    assert "Mon 1 Jun 2026 to Sun 23 Aug 2026" in weeks_html
    assert "2026-09-01 12:00 UTC" in weeks_html


def test_captions_read_the_users_thresholds(lake: Path, tmp_path: Path) -> None:
    """volume_jump_pct = 3, cutbacks at 30 %: the chart, the table and the caption say so."""
    mine = tmp_path / "lake"
    shutil.copytree(lake, mine)
    t = dataclasses.replace(load_thresholds(), volume_jump_pct=3.0, cutback_reduction_pct=30.0)
    refresh_derived(Lake(mine), "me", t, full=True)
    html = render_weeks(mine, "me", thresholds=t, now=NOW)
    jumps = run_query(mine, "select count(*) as n from weekly_training where is_volume_jump")
    n_jumps = jumps.column("n")[0].as_py()
    assert n_jumps > 1
    assert html.count(">over the 3 % line<") == n_jumps + 2  # and the legends
    assert "Weekly distance and running time with the 3 % line" in html
    assert "3 % above the biggest of the 4 weeks before" in html
    assert "at least 30 % lighter" in html
    assert "10 % line" not in html
    assert "20 %" not in html


def test_fewer_weeks_count_back_from_the_latest_run(lake: Path) -> None:
    page = Page(render_weeks(lake, "me", weeks=4, now=NOW))
    assert page.rows["weeks"] == 1 + 4
    assert page.rows["runs"] == 1 + 19  # the runs of the last four weeks
    assert set(page.flags) == {"ground_contact_imbalance", "long_run_fuelling"}


def test_run_report_shows_the_run_its_thirds_zones_and_flags(lake: Path, run_html: str) -> None:
    page = assert_self_contained(run_html)
    assert page.svg_titles == RUN_CHARTS
    assert sorted(page.flags) == ["cardiac_drift", "form_fade", "long_run_fuelling"]
    metrics = run_query(
        lake,
        "select * from run_metrics where activity_id = ?",
        params=[run_id(lake, "-fading.fit")],
    ).to_pylist()[0]
    # the exact form-fade values beside the raw means of the same thirds
    assert f"{metrics['cadence_change_pct']:+.1f} %" in run_html
    assert f"{metrics['stance_time_change_pct']:+.1f} %" in run_html
    assert page.rows["thirds"] == 2 + 5  # two header rows
    for words in ("first third", "last third", "warm-up", "steady part", "17.08 km"):
        assert words in run_html
    rec = run_query(
        lake,
        "select * from records where activity_id = ? order by timestamp",
        params=[run_id(lake, "-fading.fit")],
    )
    thirds = steady_thirds(rec)
    vo = rec.column("vertical_oscillation_mm").to_numpy(zero_copy_only=False)
    for mask in (thirds.first, thirds.last):
        mean = (vo[mask] * thirds.weights[mask]).sum() / thirds.weights[mask].sum()
        assert f"<td>{mean / 10:.1f} cm</td>" in run_html
    over = page.svg_text["run-over-time"]
    for words in ("warm-up", "first third", "last third", "Pace", "Heart rate", "Cadence"):
        assert words in over
    zones = page.svg_text["run-zones"]
    for label in ("Cadence", "Ground contact time", "Vertical oscillation", "Vertical ratio"):
        assert label in zones
    assert f"{metrics['cadence_spm']:.0f} steps/min: green" in zones
    assert f"{metrics['stance_time_ms']:.0f} ms: green" in zones
    assert f"{metrics['vertical_oscillation_mm'] / 10:.1f} cm: green" in zones
    assert f"{metrics['stance_time_balance_pct']:.1f} % left: green" in zones
    assert "Form faded late in the run" in run_html
    assert "Heart rate drifted up" in run_html


def thirds_cells(html: str, column: str) -> list[str]:
    """The cells of the thirds table's row of ``column``."""
    row = html.split(f'<tr data-value="{column}">', 1)[1].split("</tr>", 1)[0]
    return [c.split(">", 1)[1] for c in row.split("</td>")[:-1]]


def test_the_thirds_table_shows_what_the_flag_judges_beside_the_raw_means(
    lake: Path, run_html: str
) -> None:
    """The fading run: the table's pace-adjusted change is the flag's value, to the digit."""
    rid = run_id(lake, "-fading.fit")
    (flag,) = run_query(
        lake, "select * from flags where activity_id = ? and code = 'form_fade'", params=[rid]
    ).to_pylist()
    metrics = run_query(
        lake, "select * from run_metrics where activity_id = ?", params=[rid]
    ).to_pylist()[0]
    rec = run_query(
        lake, "select * from records where activity_id = ? order by timestamp", params=[rid]
    )
    thirds = steady_thirds(rec)
    w = thirds.weights
    col = {
        n: rec.column(n).to_numpy(zero_copy_only=False).astype(float)
        for n in ("speed_mps", "stance_time_ms", "cadence_spm")
    }
    # the adjustment of docs/views.md, written out: 35 ms and 9 steps/min per m/s from 3 m/s
    dv = np.clip(np.nan_to_num(col["speed_mps"], nan=3.0), 2.0, 5.0) - 3.0
    adjusted = {
        "stance_time_ms": (col["stance_time_ms"] + 35.0 * dv, "ms", 0, "stance_time_change_pct"),
        "cadence_spm": (col["cadence_spm"] - 9.0 * dv, "steps/min", 0, "cadence_change_pct"),
    }
    for name, (adj, unit, dec, change) in adjusted.items():
        cells = thirds_cells(run_html, name)
        means = []
        for mask in (thirds.first, thirds.last):
            ok = mask & ~np.isnan(adj)
            means.append((adj[ok] * w[ok]).sum() / w[ok].sum())
            raw = (col[name][ok] * w[ok]).sum() / w[ok].sum()
            assert f"{raw:.{dec}f} {unit}" in cells[5:7]  # as measured
        assert cells[1:3] == [f"{m:.{dec}f} {unit}" for m in means]  # as the flag judges
        assert cells[3] == f"{metrics[change]:+.1f} %"
        assert cells[3] == f"{(means[1] / means[0] - 1) * 100:+.1f} %"
    # the flag's headline and the table say the same number
    assert flag["unit"] == "%"
    seen = f"{flag['value']:+.1f} %"
    assert seen == thirds_cells(run_html, "cadence_spm")[3]  # the fade beyond its limit most
    assert f"{seen} (limit {flag['threshold']:+.1f} %)" in run_html
    # on a phone, the changes alone: the same numbers
    compact = run_html.split('<table class="thirds compact">', 1)[1].split("</table>", 1)[0]
    assert f'<td class="judged">{seen} <small>(flag at -3 %)</small></td>' in compact
    assert Page(run_html).rows["thirds compact"] == 1 + 3
    assert "as the flag judges" in run_html
    assert "as measured" in run_html
    # the pace over the same thirds: slower late in the run, which the adjustment allows for
    assert thirds_cells(run_html, "speed_mps")[-1].startswith("+")


def test_notes_are_not_counted_among_the_warnings(
    run_html: str, weeks_html: str, lake: Path
) -> None:
    page = Page(run_html)
    assert page.flags == ["cardiac_drift", "form_fade", "long_run_fuelling"]
    assert "<span>Warnings</span><b>2</b>" in run_html
    assert "<span>Notes</span><b>1</b>" in run_html
    notes = run_html.split("<h3>Notes (1): advice, not warnings</h3>", 1)[1]
    assert 'data-code="long_run_fuelling"' in notes
    assert 'data-code="form_fade"' not in notes
    counts = run_query(
        lake,
        "select count(*) filter (where severity <> 'info') as w, "
        "count(*) filter (where severity = 'info') as n from flags where athlete = 'me'",
    ).to_pylist()[0]
    assert counts["n"] > 0
    assert f"<span>Warnings</span><b>{counts['w']}</b>" in weeks_html
    assert f"<span>Notes</span><b>{counts['n']}</b>" in weeks_html


def test_a_run_without_running_dynamics_shows_what_it_has(lake: Path) -> None:
    """Cadence (from the watch) but no contact time or oscillation: no empty charts."""
    rid = run_query(
        lake, "select activity_id from run_metrics where not has_running_dynamics limit 1"
    ).to_pylist()[0]["activity_id"]
    page = assert_self_contained(render_run(lake, "me", str(rid), now=NOW))
    assert page.svg_titles == RUN_CHARTS
    assert "Cadence" in page.svg_text["run-over-time"]
    assert "Cadence" in page.svg_text["run-zones"]
    for absent in ("Ground contact", "Vertical oscillation"):
        assert absent not in page.svg_text["run-over-time"]
        assert absent not in page.svg_text["run-zones"]


def test_every_flag_code_has_plain_words() -> None:
    # every code the flags can give has words (and those of the flags branch, issue 15)
    assert set(FLAG_TITLES) >= {*RUN_CODES, *HISTORY_CODES}
    coming = {"long_run_spike", "form_off_baseline", "hydration"}
    assert set(FLAG_TITLES) - {*RUN_CODES, *HISTORY_CODES} <= coming


def test_garmin_zones() -> None:
    t = load_thresholds()
    zones = {z.column: z for z in garmin_zones(t)}
    cadence = zones["cadence_spm"]
    assert [cadence.zone(v) for v in (150, 155, 167, 178, 190)] == [
        "red",
        "orange",
        "green",
        "blue",
        "purple",
    ]
    gct = zones["stance_time_ms"]
    assert [gct.zone(v) for v in (200, 230, 260, 290, 320)] == [
        "purple",
        "blue",
        "green",
        "orange",
        "red",
    ]
    vo = zones["vertical_oscillation_mm"]
    assert vo.edges == (6.4, 8.2, 9.8, 11.5)  # cm, red over 11.5 (config/flags.toml)
    assert vo.zone(12.3 * vo.factor * 10) == "red"
    balance = zones["stance_time_balance_pct"]
    assert [balance.zone(v) for v in (46.5, 48.5, 50.0, 51.5, 53.0)] == [
        "red",
        "orange",
        "green",
        "orange",
        "red",
    ]
    pod = {z.column: z for z in garmin_zones(t, "pod")}["vertical_oscillation_mm"]
    assert pod.edges[-1] == 13.0
    assert pod.zone(12.3) == "orange"  # red for a chest strap, orange for a pod
    stricter = dataclasses.replace(t, vertical_oscillation_max_mm=100.0)
    assert {z.column: z for z in garmin_zones(stricter)}["vertical_oscillation_mm"].edges[-1] == 10


# --------------------------------------------------------------------------- which weeks


def test_weeks_from_and_to(lake: Path) -> None:
    """The weeks of the days asked, Monday to Sunday; the runs and flags of those weeks."""
    html = render_weeks(lake, "me", start=dt.date(2026, 6, 10), end=dt.date(2026, 6, 30), now=NOW)
    page = Page(html)
    assert page.rows["weeks"] == 1 + 4  # the weeks of 8, 15, 22 and 29 June
    runs = run_query(
        lake,
        "select count(*) as n from run_summary where athlete = 'me' and date between ? and ?",
        params=[dt.date(2026, 6, 8), dt.date(2026, 7, 5)],
    ).to_pylist()[0]["n"]
    assert page.rows["runs"] == 1 + runs
    flags = run_query(
        lake,
        "select code from flags where athlete = 'me' and week_start between ? and ?",
        params=[dt.date(2026, 6, 8), dt.date(2026, 6, 29)],
    )
    assert sorted(page.flags) == sorted(flags.column("code").to_pylist())
    assert "<h1>4 weeks of running</h1>" in html
    assert "Mon 8 Jun 2026 to Sun 5 Jul 2026" in html
    assert "the runs in the lake are" not in html
    # N weeks from a day, and N weeks up to a day
    three = Page(render_weeks(lake, "me", weeks=3, start=dt.date(2026, 7, 1), now=NOW))
    assert three.rows["weeks"] == 1 + 3
    up_to = render_weeks(lake, "me", end=dt.date(2026, 7, 5), now=NOW)  # 12 weeks asked
    assert Page(up_to).rows["weeks"] == 1 + 5  # the history begins on 1 June
    assert "(the runs in the lake are from Mon 1 Jun 2026 to Sun 23 Aug 2026)" in up_to


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"start": dt.date(2026, 7, 1), "end": dt.date(2026, 6, 1)}, "--from 2026-07-01 is after"),
        (
            {"weeks": 3, "start": dt.date(2026, 6, 1), "end": dt.date(2026, 7, 1)},
            "at most two of --weeks, --from and --to",
        ),
        ({"start": dt.date(2027, 1, 1)}, "has no runs from Mon 28 Dec 2026"),
        ({"end": dt.date(2026, 1, 1)}, "the runs in the lake are from Mon 1 Jun 2026"),
        ({"start": dt.date(2000, 1, 1), "end": dt.date(2026, 7, 1)}, "at most 520 weeks"),
        ({"weeks": 0}, "weeks must be between 1 and 520"),
    ],
)
def test_weeks_asked_wrongly_say_why(lake: Path, kw: dict[str, object], words: str) -> None:
    with pytest.raises(ReportError, match=re.escape(words)) as err:
        render_weeks(lake, "me", **kw)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def sparse_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runner who runs one week in four: the weeks between are weeks without a run."""
    root = tmp_path_factory.mktemp("sparse")
    plan = season_plan(START, weeks=16, seed=5)
    for spec in plan:
        week = (spec.start.date() - START).days // 7
        if week % 4 == 0 and spec.kind in ("easy", "long"):
            write_run(root / "in" / spec.file_name, spec)
    ingest_paths([root / "in"], lake_root=root / "lake", athlete="sp")
    return root / "lake"


def test_a_sparse_history_shows_its_weeks_without_runs(sparse_lake: Path) -> None:
    html = render_weeks(sparse_lake, "sp", weeks=12, now=NOW)
    page = assert_self_contained(html)
    weeks = run_query(
        sparse_lake,
        "select runs from weekly_training where athlete = 'sp' order by week_start desc limit 12",
    ).column("runs")
    empty = sum(1 for n in weeks.to_pylist() if not n)
    assert 6 <= empty < 12  # the fixture: most weeks without a run, some with
    assert page.rows["weeks"] == 1 + 12
    assert f"<span>Weeks without a run</span><b>{empty}</b>" in html
    # on the screen's chart each such week is marked (the phone's has no room for words)
    assert page.svg_text["weeks-volume"].count("no run") == empty
    assert html.count('<td class="text">no run</td>') == empty
    assert "week without a run" in page.svg_text["weeks-volume"]  # the legend
    assert "Impellizzeri et al. 2020" in html


# --------------------------------------------------------------------------- CLI and errors


def test_cli_writes_the_report(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "weeks.html"
    assert main(["report", "--lake", str(lake), "--athlete", "me", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert Page(out.read_text(encoding="utf-8")).svg_titles == WEEK_CHARTS
    monkeypatch.chdir(tmp_path)
    rid = run_id(lake, "-bouncy.fit")
    assert main(["report", "--lake", str(lake), "--athlete", "me", "--run", rid]) == 0
    written = tmp_path / f"report-me-run-{rid}.html"
    text = written.read_text(encoding="utf-8")
    # the run's flag, then its week's: the week of the sample season's volume jump
    assert Page(text).flags == ["high_vertical_oscillation", "volume_jump"]
    assert "Flags of its week (from Mon 8 Jun 2026)" in text
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    base = ["report", "--lake", str(lake), "--athlete", "me"]
    capsys.readouterr()
    assert main([*base, "--from", "2026-06-10", "--to", "2026-06-30"]) == 0
    ranged = tmp_path / "report-me-from-2026-06-10-to-2026-06-30.html"
    assert capsys.readouterr().out == f"wrote {ranged.name}\n"
    assert Page(ranged.read_text(encoding="utf-8")).rows["weeks"] == 1 + 4
    assert main([*base, "--weeks", "2", "--to", "2026-06-30"]) == 0
    assert (tmp_path / "report-me-2-weeks-to-2026-06-30.html").is_file()


def test_cli_report_errors(lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["report", "--lake", str(lake), "--athlete", "me"]
    assert main([*base, "--run", "0123456789abcdef-0"]) == 1
    assert "no run '0123456789abcdef-0' for athlete 'me'" in capsys.readouterr().err
    assert main([*base, "--weeks", "0"]) == 1
    assert "weeks must be between 1 and" in capsys.readouterr().err
    assert main(["report", "--lake", str(lake), "--athlete", "nobody"]) == 1
    assert "athlete 'nobody' has no runs" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "missing" / "r.html")]) == 1
    assert "the folder does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--run", "x", "--weeks", "3"])
    assert exc.value.code == 2
    capsys.readouterr()
    for args, words in (
        (["--from", "2026-13-01"], "--from: '2026-13-01' is not a date (YYYY-MM-DD)"),
        (["--to", "yesterday"], "--to: 'yesterday' is not a date (YYYY-MM-DD)"),
        (
            ["--run", "x", "--from", "2026-06-01"],
            "--from and --to go with the weeks report, not with --run",
        ),
        (
            ["--from", "2026-07-01", "--to", "2026-06-01"],
            "--from 2026-07-01 is after --to 2026-06-01",
        ),
    ):
        assert main([*base, *args]) == 1
        assert capsys.readouterr().err == f"runlake: error: {words}\n"  # one line
    with pytest.raises(ReportError, match="no run"):
        write_report(lake, tmp_path / "r.html", athlete="me", run_id="nope")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install -y chromium)",
)


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={profile}",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@needs_chromium
@pytest.mark.parametrize("kind", ["weeks", "run"])
def test_the_report_loads_in_chromium_without_errors(
    kind: str, weeks_html: str, run_html: str, tmp_path: Path
) -> None:
    page = tmp_path / f"{kind}.html"
    page.write_text(weeks_html if kind == "weeks" else run_html, encoding="utf-8")
    done = chromium(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console  # no script errors, nothing blocked by the page's CSP
    dom = Page(done.stdout)
    assert dom.svg_titles == (WEEK_CHARTS if kind == "weeks" else RUN_CHARTS)
    assert sum(1 for tag, _ in dom.tags if tag == "text") > 50  # the charts' labels


@needs_chromium
def test_screenshot_of_the_weeks_report(weeks_html: str, tmp_path: Path) -> None:
    page = tmp_path / "weeks.html"
    page.write_text(weeks_html, encoding="utf-8")
    shot = tmp_path / "weeks.png"
    done = chromium(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert png_size(shot) == (1200, 2000)
    with Image.open(shot) as im:
        rgb = im.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None
        assert len(colours) > 200  # text, bars, lines: not a blank page
        background = max(colours)[1]
        assert background in {(255, 255, 255), (243, 244, 246)}
        # the distance chart's blue bars are drawn (the first chart, near the top)
        blue = sum(n for n, c in colours if c == (0x4A, 0x7F, 0xB5))
        assert blue > 20_000
        red = sum(n for n, c in colours if c == (0xD6, 0x3C, 0x30))
        assert red > 1_000  # the week that broke the 10 % rule


def measure_at(page_html: str, width: int, tmp_path: Path, name: str) -> dict[str, object]:
    """The page laid out ``width`` px wide in Chromium: how wide it is and which charts show.

    The page sits in an ``<iframe srcdoc>`` of that width (a headless window is at least
    500 px wide); a script of the outer page, which the report itself never has, measures it.
    """
    probe = tmp_path / f"{name}-probe.html"
    probe.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">'
        f'<iframe id="f" style="border:0" width="{width}" height="900" '
        f'srcdoc="{html.escape(page_html, quote=True)}"></iframe><script>'
        'window.addEventListener("load", function () {'
        ' var d = document.getElementById("f").contentDocument, w = d.defaultView;'
        ' var shown = [].filter.call(d.querySelectorAll("svg.chart"), function (e) {'
        '  return w.getComputedStyle(e).display != "none"; });'
        ' var wide = [].filter.call(d.querySelectorAll("table"), function (e) {'
        "  return e.getBoundingClientRect().right > w.innerWidth + 1"
        '   && !e.closest(".scroll"); });'
        ' document.body.setAttribute("data-probe", JSON.stringify({'
        "  scroll: d.documentElement.scrollWidth, inner: w.innerWidth,"
        '  charts: shown.map(function (e) { return e.getAttribute("class"); }),'
        "  chartRight: Math.max.apply(null, shown.map(function (e) {"
        "   return e.getBoundingClientRect().right; })),"
        "  tablesOut: wide.length}));"
        "});</script></body></html>",
        encoding="utf-8",
    )
    done = chromium(probe, tmp_path / "profile", "--window-size=1300,1000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stdout[-2000:]
    value = json.loads(html.unescape(found.group(1)))
    assert isinstance(value, dict)
    return value


@needs_chromium
@pytest.mark.parametrize("kind", ["weeks", "run"])
def test_readable_on_a_phone_and_on_a_screen(
    kind: str, weeks_html: str, run_html: str, tmp_path: Path
) -> None:
    """At 420 px the page never scrolls sideways (tables scroll in their own box) and shows
    the charts drawn for a phone; at 1200 px those for a screen."""
    text = weeks_html if kind == "weeks" else run_html
    n = len(WEEK_CHARTS if kind == "weeks" else RUN_CHARTS)
    phone = measure_at(text, 420, tmp_path, "phone")
    assert phone["inner"] == 420
    assert phone["scroll"] == 420  # nothing wider than the phone
    assert phone["charts"] == ["chart phone"] * n
    assert isinstance(phone["chartRight"], int | float)
    assert phone["chartRight"] <= 420
    assert phone["tablesOut"] == 0
    screen = measure_at(text, 1200, tmp_path, "screen")
    assert screen["scroll"] == 1200
    assert screen["charts"] == ["chart wide"] * n
    # and the pictures, to look at (kept under pytest's tmp_path)
    page = tmp_path / f"{kind}.html"
    page.write_text(text, encoding="utf-8")
    for width, height in ((420, 3000), (1200, 2400)):
        shot = tmp_path / f"{kind}-{width}.png"
        done = chromium(
            page, tmp_path / "profile", f"--screenshot={shot}", f"--window-size={width},{height}"
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert png_size(shot) == (width, height)
