"""One error tree: every error class in runlake._errors, problem kinds as an enum."""

from __future__ import annotations

import ast
from pathlib import Path

import pyarrow as pa
import pytest

from runlake import _errors
from runlake._errors import (
    ContractError,
    DecodeError,
    FitCRCError,
    FitError,
    Problem,
    ProblemKind,
    RunlakeError,
    decode_error_class,
)
from runlake.cli import main
from runlake.lake import conform

from .conftest import REPO


def _exception_classes() -> list[tuple[str, str]]:
    """(file, class) of every class in src/ and pipelines/ that derives from an exception."""
    out = []
    for root in ("src", "pipelines"):
        for path in (REPO / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases = [ast.unparse(b) for b in node.bases]
                    if any(b.endswith(("Error", "Exception", "Busy")) for b in bases):
                        out.append((str(path.relative_to(REPO)), node.name))
    return out


def test_every_error_class_is_in_errors_py() -> None:
    found = _exception_classes()
    assert len(found) >= 15
    elsewhere = [(f, c) for f, c in found if f != "src/runlake/_errors.py"]
    assert not elsewhere, elsewhere


def test_every_error_derives_from_runlake_error() -> None:
    for name in _errors.__all__:
        obj = getattr(_errors, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, RunlakeError), name


def test_decode_errors_have_their_own_kind() -> None:
    def tree(cls: type[DecodeError]) -> list[type[DecodeError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in tree(sub))]

    classes = tree(DecodeError)
    assert len(classes) == 11
    for cls in classes:
        assert cls.kind.value == cls.__name__
        assert decode_error_class(cls.kind) is cls
    assert decode_error_class(ProblemKind.NO_SESSION) is DecodeError  # a salvage kind
    problem = Problem.of(FitCRCError("file CRC 0x1234, computed 0x4321", offset=812))
    assert problem == Problem(ProblemKind.FIT_CRC, "file CRC 0x1234, computed 0x4321", 812)
    assert problem.describe() == "FitCRCError: file CRC 0x1234, computed 0x4321 at byte 812"
    assert issubclass(FitCRCError, FitError)


def test_a_contract_error_is_also_a_value_error() -> None:
    schema = pa.schema([pa.field("distance_m", pa.float64())])
    with pytest.raises(ContractError, match="pace_min_km") as info:
        conform(pa.table({"pace_min_km": [5.0]}), schema, name="runs")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RunlakeError)


def test_the_cli_shows_a_runlake_error_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-lake"
    assert main(["sql", "--lake", str(missing), "select 1"]) == 1
    err = capsys.readouterr().err
    assert err == f"runlake: error: lake folder {str(missing)!r} does not exist\n"
    assert main(["sql", "--lake", str(tmp_path), "select * from no_such_view"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("runlake: error: Catalog Error: Table with name no_such_view")
    assert "Traceback" not in err
