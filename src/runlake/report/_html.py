"""The page around the charts: facts, flags in plain words, the style sheet and the
Content-Security-Policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from runlake.flags import flag_headline
from runlake.report._values import esc, finite, fmt_day

__all__ = [
    "CSP",
    "CSS",
    "FLAG_TITLES",
    "facts_html",
    "flag_items",
    "flag_seen",
    "flag_title",
    "flags_html",
    "is_note",
    "page_html",
]

FLAG_TITLES: Final[Mapping[str, str]] = {
    "overstriding": "Overstriding",
    "high_vertical_oscillation": "Bouncing (high vertical oscillation)",
    "ground_contact_imbalance": "Left/right imbalance",
    "form_fade": "Form faded late in the run",
    "cardiac_drift": "Heart rate drifted up",
    "long_run_fuelling": "Long run: fuel on the way",
    "form_off_baseline": "Form off your usual",
    "long_run_spike": "Long run much longer than usual",
    "hydration": "Hot run: drink on the way",
    "volume_jump": "Weekly volume jumped",
    "no_cutback": "No lighter week for a while",
    "consecutive_days": "No rest day",
    "low_easy_share": "Too little easy running",
    "acwr_high": "Training load spike",
    "monotony_high": "Every day the same load",
}
"""Each flag code in plain words (a code not listed is shown as its words: ``a_b`` "A b")."""


def flag_title(code: str) -> str:
    return FLAG_TITLES.get(code) or code.replace("_", " ").capitalize()


def flag_seen(row: Mapping[str, object]) -> str:
    """A flag's value against its threshold as a runner says it (``ratio 4.0 (limit 1.5)``,
    ``12.3 cm (limit 11.5 cm)``): :func:`runlake.flags.flag_headline`, the words the
    ``runlake flags`` command prints too."""
    v, th = finite(row.get("value")), finite(row.get("threshold"))
    if v is None or th is None:
        return ""
    return flag_headline(str(row.get("code") or ""), v, th, str(row.get("unit") or ""))


def is_note(row: Mapping[str, object]) -> bool:
    """An information note (fuelling, heat): shown apart, not counted among the warnings."""
    return str(row.get("severity")) == "info"


def flag_items(rows: Iterable[Mapping[str, object]]) -> str:
    items = []
    for r in rows:
        code = str(r.get("code"))
        sev = str(r.get("severity"))
        seen = flag_seen(r)
        items.append(
            f'<li class="flag {esc(sev)}" data-code="{esc(code)}">'
            f'<span class="sev">{esc("note" if sev == "info" else sev)}</span> '
            f'<strong>{esc(flag_title(code))}</strong> <span class="seen">{esc(seen)}</span>'
            f'<span class="when">{esc(fmt_day(r.get("date")))} · <code>{esc(code)}</code></span>'
            f"<p>{esc(r.get('message'))}</p></li>"
        )
    return '<ul class="flags">\n' + "\n".join(items) + "\n</ul>" if items else ""


def flags_html(rows: Sequence[Mapping[str, object]], heading: str, none: str) -> str:
    """The warnings and alerts under ``heading`` (``none`` when there are none), then the
    information notes under their own heading."""
    warnings = [r for r in rows if not is_note(r)]
    notes = [r for r in rows if is_note(r)]
    out = [f"<h2>{esc(heading)}</h2>", flag_items(warnings) or f'<p class="ok">{esc(none)}</p>']
    if notes:
        out.append(f"<h3>Notes ({len(notes)}): advice, not warnings</h3>{flag_items(notes)}")
    return "\n".join(out)


def facts_html(facts: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f'<div class="fact"><span>{esc(k)}</span><b>{esc(v)}</b></div>' for k, v in facts
    )
    return f'<div class="facts">{cells}</div>'


CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
  color: #1d2733; background: #f3f4f6; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 28px 48px; background: #fff;
  box-sizing: border-box; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.1em; }
h2 { font-size: 1.2em; margin: 1.8em 0 0.4em; padding-bottom: 2px;
  border-bottom: 1px solid #e3e3e3; }
h3 { font-size: 1.0em; margin: 1.4em 0 0.2em; color: #38424d; }
.sub { color: #5a6570; margin: 0 0 1em; overflow-wrap: anywhere; }
.facts { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0 20px; }
.fact { background: #eef2f6; border-radius: 6px; padding: 6px 12px; min-width: 110px; }
.fact span { display: block; font-size: 0.8em; color: #5a6570; }
.fact b { font-size: 1.1em; }
figure { margin: 8px 0 20px; }
figure svg { display: block; height: auto; max-width: 100%; }
svg.chart.phone { display: none; }
figcaption { font-size: 0.92em; color: #38424d; max-width: 62em; line-height: 1.45; }
table { border-collapse: collapse; font-size: 0.86em; margin: 12px 0 24px; width: 100%; }
caption, p.caption { text-align: left; color: #38424d; padding-bottom: 6px; line-height: 1.4; }
p.caption { font-size: 0.86em; max-width: 62em; margin: 12px 0 0; }
th, td { padding: 4px 7px; border-bottom: 1px solid #e6e6e6; text-align: right;
  white-space: nowrap; vertical-align: top; }
th:first-child, td:first-child, th.text, td.text { text-align: left; }
th.group { text-align: center; border-bottom: 2px solid #c9d3dc; }
td.text { white-space: normal; min-width: 9em; }
td.judged { background: #f4f8fc; font-weight: bold; }
td.judged.over { color: #b8322a; }
.scroll { overflow-x: auto; max-width: 100%; }
table.thirds { width: auto; }
table.thirds.compact { display: none; }
ul.flags { list-style: none; padding: 0; }
li.flag { border-left: 5px solid #5b8cc4; padding: 6px 12px; margin: 10px 0;
  background: #f6f8fa; overflow-wrap: anywhere; }
li.flag.warning { border-color: #e8912d; } li.flag.alert { border-color: #d63c30; }
li.flag p { margin: 4px 0 0; line-height: 1.45; }
.sev { text-transform: uppercase; font-size: 0.75em; color: #5a6570; }
.seen { font-weight: bold; color: #38424d; margin-left: 4px; }
.when { display: block; color: #5a6570; font-size: 0.85em; }
.ok { color: #2b7a46; }
footer { color: #7a848e; font-size: 0.8em; margin-top: 32px; }
@media (max-width: 640px) {
  main { padding: 8px 10px 32px; }
  h1 { font-size: 1.3em; }
  .fact { min-width: 0; flex: 1 1 40%; padding: 5px 8px; }
  svg.chart.wide { display: none; }
  svg.chart.phone { display: block; }
  .thirds-wide { display: none; }
  table.thirds.compact { display: table; width: 100%; }
  table { font-size: 0.8em; }
  figcaption { font-size: 0.88em; }
}
"""

# Nothing may be fetched: every chart is inline SVG and the style sheet is in the page.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def page_html(title: str, sub_html: str, parts: Sequence[str], now: dt.datetime | None) -> str:
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} · runlake</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<main>\n<h1>{esc(title)}</h1>\n<p class="sub">{sub_html}</p>\n{body}\n'
        f"<footer>Made by runlake on {stamp:%Y-%m-%d %H:%M} UTC from the lake's views "
        "(run_summary, records, flags, weekly_training, daily_load). Times and dates are "
        "UTC. The flags point to what can explain heavy legs; they are not a diagnosis."
        "</footer>\n</main>\n</body>\n</html>\n"
    )
