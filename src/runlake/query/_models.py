"""The SQL models (sql/staging, sql/marts): found, checked and put in dependency order."""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from runlake._errors import LakeError

__all__ = ["Model", "load_models", "model_order", "sql_dir", "strip_comments"]
_MODEL_DIRS = ("staging", "marts")


def sql_dir() -> Traversable:
    """The folder of SQL models: the repository's ``sql/`` if present, else the packaged copy."""
    repo_sql = Path(__file__).resolve().parents[3] / "sql"
    if repo_sql.is_dir():
        return repo_sql
    return resources.files("runlake") / "_sql"


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    path: str
    sql: str


def strip_comments(sql: str) -> str:
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", " ", sql)


def load_models(root: Traversable) -> list[Model]:
    models: list[Model] = []
    for sub in _MODEL_DIRS:
        folder = root / sub
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir(), key=lambda t: t.name):
            if not f.name.endswith(".sql") or not f.is_file():
                continue
            name = f.name.removesuffix(".sql")
            text = f.read_text(encoding="utf-8")
            head = re.match(
                r"\s*create\s+or\s+replace\s+view\s+(\w+)\s+as\b",
                strip_comments(text),
                flags=re.IGNORECASE,
            )
            if head is None or head.group(1).lower() != name:
                raise LakeError(
                    f"sql model {sub}/{f.name} must start with 'create or replace view {name} as'"
                )
            models.append(Model(name, f"{sub}/{f.name}", text))
    if not models:
        raise LakeError(f"no SQL models found under {root} ({', '.join(_MODEL_DIRS)})")
    return models


def model_order(models: list[Model]) -> list[Model]:
    """Dependency order (a model after the models it selects from); ties alphabetical."""
    by_name = {m.name: m for m in models}
    graph: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for m in models:
        body = strip_comments(m.sql).lower()
        ctes = set(re.findall(r"\b(\w+)\s+as\s*\(", body))
        refs = set(re.findall(r"\b(?:from|join)\s+(\w+)", body))
        graph.add(m.name, *sorted((refs & by_name.keys()) - ctes - {m.name}))
    try:
        graph.prepare()
    except graphlib.CycleError as exc:
        raise LakeError(f"sql models depend on each other in a cycle: {exc.args[1]}") from exc
    order: list[str] = []
    while graph.is_active():
        ready = sorted(graph.get_ready())
        order.extend(ready)
        graph.done(*ready)
    return [by_name[n] for n in order]
