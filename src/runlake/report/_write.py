"""Writing a report to a file, atomically, under a default name."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from pathlib import Path

from runlake._errors import ReportError
from runlake.flags import Thresholds
from runlake.query import LakeLocation
from runlake.report._run import render_run
from runlake.report._weeks import DEFAULT_WEEKS, render_weeks

__all__ = ["default_report_name", "write_report"]


def default_report_name(
    athlete: str,
    run_id: str | None = None,
    weeks: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> str:
    """``report-<athlete>-run-<id>.html``, ``report-<athlete>-<N>-weeks.html``, or with
    dates: ``report-<athlete>-from-<start>-to-<end>.html`` (each part only when given)."""

    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", text)

    if run_id is not None:
        return f"report-{safe(athlete)}-run-{safe(run_id)}.html"
    parts = [f"report-{safe(athlete)}"]
    if weeks is not None or (start is None and end is None):
        parts.append(f"{weeks or DEFAULT_WEEKS}-weeks")
    if start is not None:
        parts.append(f"from-{start.isoformat()}")
    if end is not None:
        parts.append(f"to-{end.isoformat()}")
    return "-".join(parts) + ".html"


def write_report(
    lake_root: LakeLocation,
    out: Path,
    *,
    athlete: str,
    run_id: str | None = None,
    weeks: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """Write the report of run ``run_id``, else of the weeks asked (the last ``weeks``
    weeks, or from ``start`` and/or to ``end``: see :func:`render_weeks`), to ``out``.

    The page is written under a temporary name next to ``out`` and renamed into place.
    Returns ``out``.
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise ReportError(f"cannot write {str(out)!r}: the folder does not exist")
    if run_id is not None:
        if weeks is not None or start is not None or end is not None:
            raise ReportError("--weeks, --from and --to go with the weeks report, not --run")
        page = render_run(lake_root, athlete, run_id, thresholds=thresholds, now=now)
    else:
        page = render_weeks(
            lake_root, athlete, weeks=weeks, start=start, end=end, thresholds=thresholds, now=now
        )
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out
