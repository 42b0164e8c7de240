"""What the deployments are, as plain data (no Prefect): names, schedules, parameters.

`runlake deployments` prints them; :mod:`runlake_pipelines.deployments` hands them to Prefect.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runlake import Config

__all__ = ["DeploymentSpec", "deployment_specs", "local_timezone"]


@dataclass(frozen=True, slots=True)
class DeploymentSpec:
    name: str
    flow: str
    cron: str | None
    timezone: str | None
    parameters: dict[str, Any] = field(default_factory=dict)


def local_timezone() -> str:
    """This machine's IANA time zone name ("UTC" when it cannot be told)."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name
    return "UTC"


def _absolute(where: str | Path) -> str:
    text = str(where)
    return text if "://" in text else str(Path(text).expanduser().resolve())


def deployment_specs(
    cfg: Config,
    *,
    inbox: Sequence[str] | None = None,
    lake: str | None = None,
    athlete: str | None = None,
) -> list[DeploymentSpec]:
    """The two deployments, from the configuration (``inbox``, ``lake``, ``athlete`` override it).

    Folders are made absolute: a scheduled run may start in another working directory.
    """
    where = _absolute(lake or cfg.lake)
    who = athlete or cfg.athlete
    return [
        DeploymentSpec(
            name="nightly-sync",
            flow="nightly-sync",
            cron=cfg.sync_cron,
            timezone=cfg.sync_timezone or local_timezone(),
            parameters={
                "inbox": [_absolute(p) for p in (inbox or cfg.inbox)],
                "lake": where,
                "athlete": who,
            },
        ),
        DeploymentSpec(
            name="backfill",
            flow="backfill",
            cron=None,
            timezone=None,
            parameters={"lake": where, "athlete": who},
        ),
    ]
