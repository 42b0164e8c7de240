"""The runner's report: one self-contained HTML page, checked as text and in a real browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

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
from runlake.synth import write_season

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
    assert len(page.flags) == 18
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
    # every code the flags can give has words (long_run_spike's are ready for its flag)
    assert set(FLAG_TITLES) >= {*RUN_CODES, *HISTORY_CODES}
    assert set(FLAG_TITLES) - {*RUN_CODES, *HISTORY_CODES} <= {"long_run_spike"}


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
