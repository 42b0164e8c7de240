"""Prefect flows for runlake: a scheduled nightly sync and a resumable parallel backfill.

Thin wiring over runlake's functions; the runlake package itself never imports Prefect.
The names below are imported on first use, so that ``pipelines._server`` (standard library
only) can start Prefect's API server before Prefect is imported, and the backfill's worker
processes import only the flows, not the deployments.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.deployments import DeploymentSpec, deployment_specs, serve_deployments
    from pipelines.flows import backfill, batch_size_for, ingest_batch, nightly_sync

__all__ = [
    "DeploymentSpec",
    "backfill",
    "batch_size_for",
    "deployment_specs",
    "ingest_batch",
    "nightly_sync",
    "serve_deployments",
]

_WHERE = {
    "DeploymentSpec": "pipelines.deployments",
    "deployment_specs": "pipelines.deployments",
    "serve_deployments": "pipelines.deployments",
    "backfill": "pipelines.flows",
    "batch_size_for": "pipelines.flows",
    "ingest_batch": "pipelines.flows",
    "nightly_sync": "pipelines.flows",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
