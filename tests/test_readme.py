"""The README stays true and short: both commands at the top, at most 250 lines, links that
resolve; every contract column documented with its type in docs/views.md."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from runlake._schemas import TABLES

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
VIEWS_DOC = REPO / "docs" / "views.md"
MAX_README_LINES = 250

# [text](target) or [text](target "title"); images too. The target stops at a space or ")".
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _relative_links(markdown: str) -> list[str]:
    """Relative link targets of ``markdown`` (no URL scheme, no bare #anchor), anchors cut."""
    targets = []
    for target in _LINK.findall(markdown):
        if _SCHEME.match(target) or target.startswith("#"):
            continue
        targets.append(unquote(target.split("#", 1)[0]))
    return targets


def test_quickstart_commands_come_first() -> None:
    head = README[:1500]
    assert "make demo" in head
    assert "make test" in head


def test_readme_is_short() -> None:
    n = len(README.splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines (at most {MAX_README_LINES})"


def test_readme_links_point_to_files_in_the_repo() -> None:
    links = _relative_links(README)
    assert links, "no relative links found: the link pattern no longer matches"
    missing = [t for t in links if not (REPO / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_link_pattern() -> None:
    md = '[a](docs/x.md) [b](docs/y.md#part) ![c](img.png "t") [d](https://e.org) [f](#top)'
    assert _relative_links(md) == ["docs/x.md", "docs/y.md", "img.png"]


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_column_is_documented_with_its_type(table: str) -> None:
    doc = VIEWS_DOC.read_text(encoding="utf-8")
    for field in TABLES[table]:
        assert f"| `{field.name}` | {field.type} |" in doc, f"{table}.{field.name}"
