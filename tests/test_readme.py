"""The README stays true: both commands at the top, every contract column documented."""

from __future__ import annotations

import pytest

from runlake._schemas import TABLES

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_quickstart_commands_come_first() -> None:
    head = README[:1500]
    assert "make demo" in head
    assert "make test" in head


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_column_is_documented_with_its_type(table: str) -> None:
    for field in TABLES[table]:
        assert f"| `{field.name}` | {field.type} |" in README, f"{table}.{field.name}"
