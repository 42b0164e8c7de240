"""The public names: every name in ``__all__`` resolves (both packages load them lazily)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import runlake
import runlake_pipelines


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
