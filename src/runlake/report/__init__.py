"""Report stage: one self-contained HTML page for a runner, about a run or about recent weeks.

Every number comes from the lake's views through :func:`runlake.query.run_query`
(``run_summary``, ``records``, ``flags``, ``weekly_training``, ``daily_load``); nothing is
decoded or written here but the HTML file. The charts are drawn with matplotlib (no pyplot,
no display: ``Figure`` objects saved as SVG) and embedded inline, so the page opens offline:
no script, no style sheet, no font and no image is fetched from anywhere (the page's
Content-Security-Policy forbids it).

* :func:`render_run` — one run: pace, heart rate, cadence, ground contact time and vertical
  oscillation over the run with the thirds used for form fade marked, the run's averages
  beside Garmin's colour zones, its flags (and its week's) in plain words.
* :func:`render_weeks` — the last N weeks of an athlete: weekly distance and time with the
  10 % line, cutback weeks, rest days, easy-running share, acute and chronic load, and every
  flag on a timeline.

One module a job: ``_run`` and ``_weeks`` build the two pages from the views, ``_zones``
holds Garmin's colour zones, ``_charts`` the SVG machinery, ``_html`` the page around the
charts, ``_values`` the numbers and their text, ``_write`` the file.

May import: runlake.query, runlake.flags, runlake.metrics, runlake._errors.
"""

from __future__ import annotations

from runlake._errors import ReportError
from runlake.report._html import FLAG_TITLES
from runlake.report._run import render_run
from runlake.report._weeks import DEFAULT_WEEKS, render_weeks
from runlake.report._write import default_report_name, write_report
from runlake.report._zones import GARMIN_ZONES, ZoneScale, garmin_zones

__all__ = [
    "DEFAULT_WEEKS",
    "FLAG_TITLES",
    "GARMIN_ZONES",
    "ReportError",
    "ZoneScale",
    "default_report_name",
    "garmin_zones",
    "render_run",
    "render_weeks",
    "write_report",
]
