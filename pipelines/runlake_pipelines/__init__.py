"""Prefect flows for runlake: a scheduled nightly sync and a resumable parallel backfill.

Thin wiring over runlake's functions; the runlake package itself never imports Prefect.
Importing this package sets runlake's Prefect defaults (telemetry off: see
:mod:`runlake_pipelines._settings`) unless the user set them. The names below are imported on
first use, so that the flow commands (:mod:`runlake_pipelines.commands`) can start Prefect's
local server and the worker pool before Prefect is imported, and the worker processes
never import it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runlake_pipelines import _settings

if TYPE_CHECKING:
    from runlake_pipelines._specs import DeploymentSpec, deployment_specs
    from runlake_pipelines.deployments import deploy_to_pool, serve_deployments
    from runlake_pipelines.flows import backfill, batch_size_for, ingest_batch, nightly_sync

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
    "DeploymentSpec": "runlake_pipelines._specs",
    "deployment_specs": "runlake_pipelines._specs",
    "deploy_to_pool": "runlake_pipelines.deployments",
    "serve_deployments": "runlake_pipelines.deployments",
    "backfill": "runlake_pipelines.flows",
    "batch_size_for": "runlake_pipelines.flows",
    "ingest_batch": "runlake_pipelines.flows",
    "nightly_sync": "runlake_pipelines.flows",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'runlake_pipelines' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
