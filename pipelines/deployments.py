"""Deployments: what `runlake serve` schedules, described as plain data first."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect import serve
from prefect.schedules import Cron

from pipelines.flows import backfill, nightly_sync
from runlake import Config

__all__ = ["DeploymentSpec", "deployment_specs", "local_timezone", "serve_deployments"]


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


def deployment_specs(cfg: Config) -> list[DeploymentSpec]:
    """The deployments `runlake serve` starts, from the configuration."""
    return [
        DeploymentSpec(
            name="nightly-sync",
            flow="nightly-sync",
            cron=cfg.sync_cron,
            timezone=cfg.sync_timezone or local_timezone(),
            parameters={
                "inbox": [str(p) for p in cfg.inbox],
                "lake": str(cfg.lake),
                "athlete": cfg.athlete,
            },
        ),
        DeploymentSpec(
            name="backfill",
            flow="backfill",
            cron=None,
            timezone=None,
            parameters={"lake": str(cfg.lake), "athlete": cfg.athlete},
        ),
    ]


def to_deployments(cfg: Config) -> list[Any]:
    """Prefect RunnerDeployments for the specs (nothing is started)."""
    flows: dict[str, Any] = {"nightly-sync": nightly_sync, "backfill": backfill}
    out = []
    for spec in deployment_specs(cfg):
        schedules = [Cron(spec.cron, timezone=spec.timezone)] if spec.cron else None
        out.append(
            flows[spec.flow].to_deployment(
                name=spec.name, schedules=schedules, parameters=spec.parameters
            )
        )
    return out


def serve_deployments(cfg: Config) -> None:
    """Serve every deployment with its schedule until interrupted (Prefect's own runner)."""
    serve(*to_deployments(cfg))
