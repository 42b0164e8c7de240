"""The layout: one folder per stage, and no stage imports a later one.

Data flows decode -> normalize -> metrics -> flags -> lake -> query -> report; ``ingest``
is the orchestration that calls the stages in order; ``_errors``, ``_config``,
``_schemas`` (and ``_tables``, its names without pyarrow), ``_pooling`` (the
standard-library half of the worker pool) and ``_startup`` (what a command's processes
skip at start-up) are shared by all; ``_poolserver`` (the pool's fork server) imports
ingest; ``synth`` (sample data) and ``cli`` stand apart.
Prefect lives only in ``pipelines/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

PACKAGE = REPO / "src" / "runlake"
SHARED = {"_errors", "_config", "_schemas", "_tables", "_pooling", "_startup"}
# What each part may import of runlake (besides the shared modules).
ALLOWED: dict[str, set[str]] = {
    "_errors": set(),
    "_schemas": set(),
    "_tables": set(),
    "_config": set(),
    "decode": set(),
    "normalize": {"decode"},
    "metrics": set(),
    "flags": {"metrics"},
    "lake": set(),
    "query": {"lake"},
    "report": {"query", "flags", "metrics"},
    "ingest": {"decode", "normalize", "metrics", "flags", "lake", "query"},
    "synth": set(),
    "_pooling": set(),
    "_startup": set(),
    "_poolserver": {"ingest"},
}
STAGES = ["decode", "normalize", "metrics", "flags", "lake", "query", "report", "ingest", "synth"]


def _part(module: str) -> str:
    """``runlake.lake._store`` -> ``lake``; ``runlake._errors`` -> ``_errors``."""
    return module.split(".")[1] if module.count(".") else ""


def _runlake_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "runlake":
                found |= {f"runlake.{a.name}" for a in node.names}
            elif node.module.startswith("runlake."):
                found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import (write runlake.<stage>)")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("runlake")}
    return found


def _modules_of(part: str) -> list[Path]:
    folder = PACKAGE / part
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{part}.py"]


def test_every_module_belongs_to_a_known_part() -> None:
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    parts |= {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "cli"}
    assert parts == set(ALLOWED)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_no_part_imports_a_later_stage(part: str) -> None:
    allowed = ALLOWED[part] | SHARED | {part}
    for path in _modules_of(part):
        for module in _runlake_imports(path):
            assert _part(module) in allowed, (
                f"{path.relative_to(REPO)} imports {module}: {part} may import only "
                f"{sorted(ALLOWED[part] | SHARED)}"
            )


@pytest.mark.parametrize("part", STAGES)
def test_each_stage_folder_says_its_job_and_what_it_may_import(part: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / part / "__init__.py").read_text())) or ""
    assert doc, f"runlake/{part}/__init__.py has no docstring"
    if ALLOWED[part]:
        assert "May import" in doc or "may import" in doc, part


def test_prefect_only_in_pipelines() -> None:
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import prefect" not in text, path
        assert "from prefect" not in text, path


TESTS = REPO / "tests"
PROJECT_TESTS = {
    "test_cli.py",
    "test_config.py",
    "test_errors.py",
    "test_exports.py",
    "test_install.py",
    "test_layout.py",
    "test_readme.py",
}
"""Tests of the whole project (no one stage): the only ones at the top of tests/."""


def test_tests_are_grouped_by_stage_folder() -> None:
    top = {p.name for p in TESTS.glob("test_*.py")}
    assert top == PROJECT_TESTS
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= {*STAGES, "flows"}
    assert {"decode", "metrics", "flags", "lake", "query", "report", "ingest", "flows"} <= folders
    for folder in folders:
        assert list((TESTS / folder).glob("test_*.py")), folder


def test_shared_test_helpers_live_in_conftest() -> None:
    """A test module imports helpers from tests/conftest.py, never from another test module."""
    offenders = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                last = node.module.rsplit(".", 1)[-1]
                if last.startswith("test_"):
                    offenders.append(f"{path.relative_to(REPO)}: from {node.module}")
    assert offenders == []
