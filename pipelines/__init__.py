"""Prefect flows for runlake: a scheduled nightly sync and a resumable parallel backfill.

Thin wiring over runlake's functions; the runlake package itself never imports Prefect.
"""

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
