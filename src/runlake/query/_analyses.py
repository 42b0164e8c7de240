"""The shipped analyses (``sql/analyses/*.sql``): found by name, their header read, their
parameters checked and typed.

An analysis is one SELECT answering one analyst question. Its header, in order:

- the first line, ``-- Question: <the question>``, complete on its own: its purpose, which
  ``runlake sql --list`` shows;
- more comment lines explaining it, if needed;
- one line per parameter: ``-- param: NAME TYPE (default: DEFAULT) what it is``, TYPE one
  of ``varchar``, ``date`` (YYYY-MM-DD), ``integer``, ``double``; DEFAULT ``configured``
  (the caller's value for it, e.g. the configured athlete), ``null`` (no value: the
  analysis then does not filter on it) or a literal; no ``(default: ...)`` = required;
- ``-- Columns: ...``.

The SQL uses each parameter as a DuckDB named parameter, ``$NAME`` (a value, never spliced
into the text).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from runlake._errors import QueryError
from runlake.query._models import sql_dir, strip_comments

__all__ = [
    "Analysis",
    "AnalysisParam",
    "is_analysis_name",
    "list_analyses",
    "load_analysis",
    "parse_analysis",
]

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
_PARAM_RE = re.compile(
    r"--\s*param:\s*(?P<name>[a-z][a-z0-9_]*)\s+(?P<type>\w+)"
    r"(?:\s+\(default:\s*(?P<default>[^)]*)\))?\s*(?P<text>.*)"
)
_USED_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
CONFIGURED = "configured"


def _as_date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _as_double(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


_TYPES: dict[str, tuple[Callable[[str], object], str]] = {
    "varchar": (str, "text"),
    "date": (_as_date, "a date, YYYY-MM-DD"),
    "integer": (int, "a whole number"),
    "double": (_as_double, "a number"),
}


@dataclass(frozen=True, slots=True)
class AnalysisParam:
    """One parameter of an analysis, as its header declares it."""

    name: str
    type: str
    default: str | None
    """``configured``, ``null``, a literal, or None when the parameter is required."""
    description: str

    def convert(self, text: str) -> object:
        """``text`` as a value of this parameter's type; :class:`QueryError` if it is not."""
        parse, what = _TYPES[self.type]
        try:
            return parse(text.strip())
        except ValueError:
            raise QueryError(f"parameter {self.name}={text!r}: expected {what}") from None

    def describe(self) -> str:
        """``name=default (type)``; ``name (type, required)`` without a default."""
        if self.default is None:
            return f"{self.name} ({self.type}, required)"
        return f"{self.name}={self.default} ({self.type})"


@dataclass(frozen=True, slots=True)
class Analysis:
    """An analysis: its name, its purpose (the first header line), parameters and SQL."""

    name: str
    purpose: str
    params: tuple[AnalysisParam, ...]
    sql: str
    path: str
    free: bool = False
    """SQL from a file of the user's (not a shipped analysis): parameters it does not
    declare are passed as text."""

    @classmethod
    def of_sql(cls, sql: str, *, path: str = "the query") -> Analysis:
        """SQL of the user's, as an analysis: its ``-- param:`` lines if any; parameters it
        does not declare are passed as text."""
        return parse_analysis(sql, name="query", path=path, free=True)

    def bind(
        self, given: Mapping[str, str], configured: Mapping[str, object] | None = None
    ) -> dict[str, object]:
        """The values of every parameter: ``given`` (text, converted to each parameter's
        type), else its default (``configured``: taken from ``configured``).

        Raises :class:`QueryError` for an unknown name, a bad value or a missing one.
        """
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown and not self.free:
            names = ", ".join(known) or "none"
            raise QueryError(
                f"{self.name} has no parameter {', '.join(unknown)} (its parameters: {names})"
            )
        values: dict[str, object] = {k: given[k] for k in unknown}
        for p in self.params:
            if p.name in given:
                values[p.name] = p.convert(given[p.name])
            elif p.default is None:
                raise QueryError(f"{self.name} needs the parameter {p.describe()}: {p.description}")
            elif p.default == CONFIGURED:
                if configured is None or configured.get(p.name) is None:
                    raise QueryError(f"{self.name}: no configured value for {p.name}; give it")
                values[p.name] = configured[p.name]
            elif p.default == "null":
                values[p.name] = None
            else:
                values[p.name] = p.convert(p.default)
        return values


def _header(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line)
    return lines


def parse_analysis(text: str, *, name: str, path: str, free: bool = False) -> Analysis:
    """Read an analysis's header (see the module docstring); :class:`QueryError` when the
    header breaks the convention or the SQL uses an undeclared ``$parameter``.

    ``free``: SQL of the user's: the question line is optional and undeclared parameters
    are allowed (a bad ``-- param:`` line is still an error).
    """
    header = _header(text)
    first = header[0] if header else ""
    purpose = ""
    if first.startswith("-- Question:"):
        purpose = first.removeprefix("-- Question:").strip()
    if not purpose and not free:
        raise QueryError(f"{path}: the first line must be '-- Question: <the question>'")
    params: list[AnalysisParam] = []
    for line in header:
        if not re.match(r"--\s*param:", line):
            continue
        m = _PARAM_RE.fullmatch(line.strip())
        if m is None or m["type"] not in _TYPES:
            raise QueryError(
                f"{path}: bad parameter line {line!r}: expected "
                f"'-- param: NAME TYPE (default: VALUE) text', TYPE one of {', '.join(_TYPES)}"
            )
        default = None if m["default"] is None else m["default"].strip()
        p = AnalysisParam(m["name"], m["type"], default, m["text"].strip())
        if default not in (None, CONFIGURED, "null"):
            p.convert(default)  # a literal default must be a value of its type
        params.append(p)
    declared = {p.name for p in params}
    used = set(_USED_RE.findall(strip_comments(text)))
    if used - declared and not free:
        raise QueryError(f"{path}: undeclared parameters {sorted(used - declared)}")
    return Analysis(name, purpose, tuple(params), text, path, free)


def _analyses_dir() -> Traversable:
    return sql_dir() / "analyses"


def list_analyses() -> list[Analysis]:
    """The shipped analyses (``sql/analyses``, or the installed copy), sorted by name."""
    folder = _analyses_dir()
    out = []
    for f in sorted(folder.iterdir(), key=lambda t: t.name):
        if f.name.endswith(".sql") and f.is_file():
            name = f.name.removesuffix(".sql")
            out.append(
                parse_analysis(f.read_text(encoding="utf-8"), name=name, path=f"analyses/{f.name}")
            )
    return out


def load_analysis(name: str | Path) -> Analysis:
    """A shipped analysis by name (``weekly_distance``), or any SQL file by path.

    Raises :class:`QueryError` for an unknown name or an unreadable file.
    """
    if isinstance(name, Path):
        try:
            text = name.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"cannot read {str(name)!r}: {exc}") from exc
        return parse_analysis(text, name=name.stem, path=str(name), free=True)
    found = {a.name: a for a in list_analyses()}
    if name not in found:
        known = ", ".join(found)
        raise QueryError(f"no analysis named {name!r} (runlake sql --list shows them: {known})")
    return found[name]


def is_analysis_name(text: str) -> bool:
    """Whether ``text`` looks like an analysis name rather than SQL (one bare word)."""
    return _NAME_RE.fullmatch(text.strip()) is not None
