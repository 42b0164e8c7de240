"""The public names: every name in ``__all__`` resolves (both packages load them lazily)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import runlake
import runlake_pipelines

from .conftest import REPO


@pytest.mark.parametrize("package", [runlake, runlake_pipelines], ids=lambda p: p.__name__)
def test_every_exported_name_resolves(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    for name in names:
        assert getattr(package, name) is not None, name
    lazy = set(package._WHERE)  # type: ignore[attr-defined]
    assert lazy == set(names) - {"__version__"}


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = runlake.nope  # type: ignore[attr-defined]


def test_the_cli_and_the_flow_commands_import_no_data_stack_or_prefect() -> None:
    """So that a flow command starts Prefect's server before anything heavy is imported."""
    code = (
        "import sys, runlake.cli, runlake_pipelines.commands; "
        "print(sorted(m for m in ('pyarrow', 'duckdb', 'numpy', 'prefect') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_public_api_is_exactly_these_names() -> None:
    """Like httpx's exported-members test: adding or dropping a public name is deliberate."""
    assert runlake.__all__ == [
        "ACTIVITIES",
        "DEFAULT_WEEKS",
        "FILES",
        "FLAGS",
        "INGEST_ERRORS",
        "LAPS",
        "LAP_METRICS",
        "RECORDS",
        "RUN_METRICS",
        "RUN_RULES",
        "TABLES",
        "WEEK_RULES",
        "Analysis",
        "ArchiveError",
        "ArchiveReader",
        "ArchiveTally",
        "BatchResult",
        "Config",
        "ConfigError",
        "ContractError",
        "DecodeError",
        "FileOutcome",
        "FitCRCError",
        "FitDefinitionError",
        "FitError",
        "FitFile",
        "FitHeaderError",
        "FitTruncatedError",
        "Flag",
        "FlowError",
        "GpxError",
        "GpxTrack",
        "IngestSummary",
        "InputFile",
        "InputTooLarge",
        "Lake",
        "LakeBusy",
        "LakeError",
        "Measured",
        "Normalized",
        "NotAnActivity",
        "Problem",
        "ProblemKind",
        "QueryError",
        "ReportError",
        "ResultRows",
        "RunMetrics",
        "RunlakeError",
        "Scan",
        "ServerError",
        "SourceInfo",
        "StatementResult",
        "TcxError",
        "TcxFile",
        "Thresholds",
        "ThresholdsError",
        "WorkerPool",
        "__version__",
        "active_pool",
        "available_cores",
        "build_catalog",
        "connect",
        "count_flags",
        "decode_fit",
        "decode_gpx",
        "decode_tcx",
        "default_report_name",
        "die_with_parent",
        "ensure_flags_current",
        "estimate_inputs",
        "export_view",
        "find_input_files",
        "finish_batch",
        "flag_headline",
        "format_table",
        "free_cores",
        "history_flags",
        "ingest_batch_here",
        "ingest_file",
        "ingest_files",
        "ingest_in_pool",
        "ingest_paths",
        "is_url",
        "list_analyses",
        "load_analysis",
        "load_config",
        "load_thresholds",
        "measure_run",
        "normalize_fit",
        "normalize_gpx",
        "normalize_tcx",
        "pool_worth_it",
        "prepare_writer",
        "refresh_derived",
        "render_run",
        "render_weeks",
        "run_flags",
        "run_query",
        "run_statements",
        "scan_inputs",
        "skip_pandas_probe",
        "sql_dir",
        "start_pool_server",
        "validate_athlete",
        "week_rules_table",
        "write_history",
        "write_report",
        "write_season",
        "writer_lock",
    ]


def _runlake_imports(path: Path) -> list[str]:
    """The runlake modules ``path`` imports from (``from X import ...`` and ``import X``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [m for m in found if m == "runlake" or m.startswith("runlake.")]


@pytest.mark.parametrize(
    "path",
    [REPO / "src" / "runlake" / "cli.py", *sorted((REPO / "pipelines").rglob("*.py"))],
    ids=lambda p: p.name,
)
def test_the_cli_and_the_flows_use_only_the_public_api(path: Path) -> None:
    private = [m for m in _runlake_imports(path) if m != "runlake"]
    assert not private, f"{path.name} imports {private}: use `from runlake import ...`"
