"""The Prefect settings runlake applies for its users (standard library only).

They are environment variables, set before Prefect is imported (``runlake_pipelines/__init__``
applies :data:`OFFLINE_DEFAULTS` on import), and only where the user has not set them:
a value in the user's environment or Prefect profile always wins.

- Telemetry is off. The nightly sync runs on offline machines, where each attempt logs
  ``Failed to send telemetry`` and the first one prints a banner.
- With the temporary local server (:data:`LOCAL_SERVER`, no ``PREFECT_API_URL`` given),
  Prefect prints no ``View at http://127.0.0.1:...`` links: that server has no UI and is
  gone when the command ends. For one flow run it runs fewer services
  (:data:`ONE_RUN_SERVER`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

__all__ = ["LOCAL_SERVER", "OFFLINE_DEFAULTS", "ONE_RUN_SERVER", "apply"]

OFFLINE_DEFAULTS: Mapping[str, str] = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # the server's telemetry
    "DO_NOT_TRACK": "1",  # the client's telemetry and its first-run notice
}

LOCAL_SERVER: Mapping[str, str] = {
    "PREFECT_UI_URL": "",  # no UI: no links to it
}


ONE_RUN_SERVER: Mapping[str, str] = {
    # The temporary server of `sync`, `backfill` and `demo` lives for one flow run: it
    # needs no scheduling, none of the services that watch runs over time, no automations
    # and no block types (`serve` keeps them all). It still records the flow runs, their
    # task runs and logs in PREFECT_HOME's database.
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",  # else it imports every collection
    **{
        f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false"
        for name in (
            "SCHEDULER",
            "LATE_RUNS",
            "FOREMAN",
            "CANCELLATION_CLEANUP",
            "PAUSE_EXPIRATIONS",
            "REPOSSESSOR",
            "DB_VACUUM",
            "TRIGGERS",  # automations: their triggers and actions
        )
    },
}


def apply(settings: Mapping[str, str], environ: MutableMapping[str, str] | None = None) -> None:
    """Set each of ``settings`` in the environment unless the user set it already."""
    env = os.environ if environ is None else environ
    for key, value in settings.items():
        env.setdefault(key, value)
