"""Prefect flows for runlake: a scheduled nightly sync and a resumable parallel backfill.

Thin wiring over runlake's functions; the runlake package itself never imports Prefect.
Importing this package sets runlake's Prefect defaults (telemetry off: see
:mod:`pipelines._settings`) unless the user set them. The names below are imported on
first use, so that the flow commands (:mod:`pipelines.commands`) can start Prefect's
local server and the worker pool before Prefect is imported, and the worker processes
never import it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pipelines import _settings

if TYPE_CHECKING:
    from pipelines._specs import DeploymentSpec, deployment_specs
    from pipelines.deployments import deploy_to_pool, serve_deployments
    from pipelines.flows import backfill, batch_size_for, ingest_batch, nightly_sync

_settings.apply(_settings.OFFLINE_DEFAULTS)

__all__ = [
    "DeploymentSpec",
    "backfill",
    "batch_size_for",
    "deploy_to_pool",
    "deployment_specs",
    "ingest_batch",
    "nightly_sync",
    "serve_deployments",
]

_WHERE = {
    "DeploymentSpec": "pipelines._specs",
    "deployment_specs": "pipelines._specs",
    "deploy_to_pool": "pipelines.deployments",
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
