"""Deployments: the specs of :mod:`runlake_pipelines._specs` handed to Prefect.

`runlake serve` serves them with Prefect's runner (no server of the user's needed);
`runlake deploy` registers them on the user's Prefect server for a work pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import Flow, serve
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron, Schedule
from prefect.types.entrypoint import EntrypointType

from runlake_pipelines._specs import DeploymentSpec, deployment_specs, local_timezone
from runlake_pipelines.flows import backfill, nightly_sync

__all__ = [
    "DeploymentSpec",
    "deploy_to_pool",
    "deployment_specs",
    "local_timezone",
    "serve_deployments",
    "to_deployments",
]

_FLOWS: dict[str, Flow[..., Any]] = {"nightly-sync": nightly_sync, "backfill": backfill}


def _schedules(spec: DeploymentSpec) -> list[Schedule]:
    return [Cron(spec.cron, timezone=spec.timezone)] if spec.cron else []


def to_deployments(specs: Sequence[DeploymentSpec]) -> list[Any]:
    """Prefect RunnerDeployments for ``runlake serve`` (nothing is started)."""
    return [
        _FLOWS[s.flow].to_deployment(name=s.name, schedules=_schedules(s), parameters=s.parameters)
        for s in specs
    ]


def serve_deployments(specs: Sequence[DeploymentSpec]) -> None:
    """Serve the deployments with their schedules until stopped (Prefect's own runner)."""
    serve(*to_deployments(specs), print_starting_message=False)


def deploy_to_pool(specs: Sequence[DeploymentSpec], pool: str) -> list[str]:
    """Register the deployments on the Prefect server for work pool ``pool``; their names.

    The pool is created (type "process") when it does not exist. A worker started on a
    machine where runlake is installed runs them: ``prefect worker start --pool POOL``.
    The flows are found by module path (``runlake_pipelines.flows``), so no code is uploaded.
    """
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    names = []
    for s in specs:
        _FLOWS[s.flow].deploy(
            name=s.name,
            work_pool_name=pool,
            schedules=_schedules(s),
            parameters=s.parameters,
            entrypoint_type=EntrypointType.MODULE_PATH,
            build=False,
            push=False,
            print_next_steps=False,
        )
        names.append(f"{_FLOWS[s.flow].name}/{s.name}")
    return names
