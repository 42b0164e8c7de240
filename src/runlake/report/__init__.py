"""Report stage: a runner's self-contained HTML report (charts as inline SVG).

May import: runlake.query, runlake.flags, runlake.metrics, runlake._errors.
"""

from __future__ import annotations

from runlake.report._report import (
    DEFAULT_WEEKS,
    FLAG_TITLES,
    GARMIN_ZONES,
    ReportError,
    ZoneScale,
    default_report_name,
    garmin_zones,
    render_run,
    render_weeks,
    write_report,
)

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
