"""Synthetic FIT activity files of one runner: for the demo, the tests and the benchmarks.

``write_season`` writes a realistic 12-week season (with one run of each known form
problem), ``write_history`` years of runs for benchmarks; ``simulate`` and
``expected_summary`` give the exact values a decoder must return; ``scenario_plan`` /
``write_scenario`` the histories the flags must judge right (a break and return, a long-run
spike, walking junk, a hot long run, a sparse history, heavy legs). The FIT writer
(``encode_messages``, ``FitWriter``) writes developer fields too (``DeveloperApp``,
``DeveloperField``); ``with_stryd`` gives a run as a watch with a Stryd footpod records it.
"""

from runlake.synth._fitwriter import (
    DeveloperApp,
    DeveloperField,
    EncodedMessages,
    FitWriter,
    encode_developer_app,
    encode_field_description,
    encode_messages,
    field_spec,
    fit_crc,
)
from runlake.synth._season import (
    KINDS,
    SCENARIOS,
    SUB_SPORTS,
    RunSpec,
    Samples,
    encode_run,
    expected_laps,
    expected_summary,
    history_plan,
    scenario_plan,
    season_plan,
    simulate,
    write_history,
    write_run,
    write_scenario,
    write_season,
)
from runlake.synth._stryd import STRYD_APP, STRYD_FIELDS, stryd_values, with_stryd

__all__ = [
    "KINDS",
    "SCENARIOS",
    "STRYD_APP",
    "STRYD_FIELDS",
    "SUB_SPORTS",
    "DeveloperApp",
    "DeveloperField",
    "EncodedMessages",
    "FitWriter",
    "RunSpec",
    "Samples",
    "encode_developer_app",
    "encode_field_description",
    "encode_messages",
    "encode_run",
    "expected_laps",
    "expected_summary",
    "field_spec",
    "fit_crc",
    "history_plan",
    "scenario_plan",
    "season_plan",
    "simulate",
    "stryd_values",
    "with_stryd",
    "write_history",
    "write_run",
    "write_scenario",
    "write_season",
]
