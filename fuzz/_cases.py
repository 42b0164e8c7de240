"""Fuzz cases: seed files (generated runs, the real corpus) and deterministic cases.

A case is fully determined by its id ``<kind>:<seed>:<index>`` and the set of seed files
(generated ones always; the corpus files under ``max_bytes`` when the corpus is present),
so a failure is reproduced with ``python -m fuzz --replay <id>`` and the same options.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from fuzz._fit import mutate_fit, random_fit
from fuzz._gpx import GPX_ATTACKS, attack_gpx, mutate_gpx, random_gpx
from fuzz._tcx import TCX_ATTACKS, attack_tcx, mutate_tcx, random_tcx
from runlake.synth import RunSpec, encode_run, simulate

__all__ = ["CORPUS", "Case", "Seeds", "case", "fit_seeds", "gpx_seeds", "load_seeds", "tcx_seeds"]

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""The real watch files (../shared/data from the repository); optional."""


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    kind: str
    """fit, gpx or tcx."""
    name: str
    """The file name the case is ingested under."""
    data: bytes
    recipe: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.case_id} ({len(self.data)} bytes): " + "; ".join(self.recipe)


@dataclass(frozen=True, slots=True)
class Seeds:
    fit: tuple[tuple[str, bytes], ...]
    gpx: tuple[tuple[str, bytes], ...]
    tcx: tuple[tuple[str, bytes], ...] = ()

    def describe(self) -> str:
        return f"{len(self.fit)} FIT, {len(self.gpx)} GPX and {len(self.tcx)} TCX seed files"


@cache
def _generated_fit() -> tuple[tuple[str, bytes], ...]:
    start = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
    base = {
        "start": start,
        "kind": "easy",
        "duration_s": 300,
        "base_speed_mps": 3.0,
        "base_hr_bpm": 140.0,
        "cadence_spm": 170.0,
    }
    variants: list[dict[str, object]] = [
        {"seed": 1},
        {"seed": 2, "power": True, "duration_s": 420},
        {"seed": 3, "running_dynamics": False, "sub_sport": "treadmill", "hr_dropout_s": 5},
        {"seed": 4, "pause_s": 60, "kind": "long", "duration_s": 600},
        {"seed": 5, "kind": "workout", "duration_s": 1500, "intervals": (2, 60, 60)},
        {"seed": 6, "duration_s": 60},
    ]
    out = []
    for v in variants:
        spec = RunSpec(**{**base, **v})  # type: ignore[arg-type]
        out.append((f"synth-{v['seed']}.fit", encode_run(simulate(spec))))
    return tuple(out)


def fit_seeds(corpus: Path | None, max_bytes: int) -> tuple[tuple[str, bytes], ...]:
    seeds = list(_generated_fit())
    if corpus is not None and (corpus / "fit").is_dir():
        for p in sorted((corpus / "fit").iterdir()):
            if p.suffix.lower() == ".fit" and 0 < p.stat().st_size <= max_bytes:
                seeds.append((p.name, p.read_bytes()))
    return tuple(seeds)


def gpx_seeds(corpus: Path | None, max_bytes: int) -> tuple[tuple[str, bytes], ...]:
    seeds = [(f"gen-{i}.gpx", random_gpx(random.Random(f"gpx-seed:{i}"))[0]) for i in range(4)]
    if corpus is not None and (corpus / "gpx").is_dir():
        for p in sorted((corpus / "gpx").iterdir()):
            if p.suffix.lower() == ".gpx" and 0 < p.stat().st_size <= max_bytes:
                seeds.append((p.name, p.read_bytes()))
    return tuple(seeds)


def tcx_seeds(corpus: Path | None, max_bytes: int) -> tuple[tuple[str, bytes], ...]:
    seeds = [(f"gen-{i}.tcx", random_tcx(random.Random(f"tcx-seed:{i}"))[0]) for i in range(4)]
    if corpus is not None and (corpus / "tcx").is_dir():
        for p in sorted((corpus / "tcx").iterdir()):
            if p.suffix.lower() == ".tcx" and 0 < p.stat().st_size <= max_bytes:
                seeds.append((p.name, p.read_bytes()))
    return tuple(seeds)


def load_seeds(corpus: Path | None = CORPUS, max_bytes: int = 256 * 1024) -> Seeds:
    return Seeds(
        fit_seeds(corpus, max_bytes), gpx_seeds(corpus, max_bytes), tcx_seeds(corpus, max_bytes)
    )


def _pick(rng: random.Random, seq: tuple[tuple[str, bytes], ...]) -> tuple[str, bytes]:
    return seq[rng.randrange(len(seq))]


def case(seeds: Seeds, case_id: str) -> Case:
    """The case ``<kind>:<seed>:<index>`` (deterministic)."""
    kind, seed, index = case_id.split(":")
    rng = random.Random(f"{kind}:{int(seed)}:{int(index)}")
    if kind == "fit":
        r = rng.random()
        if r < 0.12:
            data, recipe = random_fit(rng)
            if rng.random() < 0.4:
                data, more = mutate_fit(rng, data, _pick(rng, seeds.fit)[1])
                recipe += more
            recipe = ["random FIT file", *recipe]
        else:
            name, base = _pick(rng, seeds.fit)
            _, other = _pick(rng, seeds.fit)
            data, recipe = mutate_fit(rng, base, other)
            recipe = [f"seed {name}", *recipe]
        name = rng.choice(["case.fit", "case.FIT", "case"])
        return Case(case_id, "fit", name, data, tuple(recipe))
    if kind == "gpx":
        return _xml_case(rng, case_id, "gpx", seeds.gpx, GPX_XML)
    if kind == "tcx":
        return _xml_case(rng, case_id, "tcx", seeds.tcx, TCX_XML)
    raise ValueError(f"unknown case kind {kind!r} in {case_id!r} (fit, gpx or tcx)")


@dataclass(frozen=True, slots=True)
class _XmlKind:
    """What the cases of one XML format are made of."""

    attacks: Collection[str]
    attack: Callable[[str], bytes]
    random: Callable[[random.Random], tuple[bytes, list[str]]]
    mutate: Callable[[random.Random, bytes, bytes], tuple[bytes, list[str]]]


GPX_XML = _XmlKind(GPX_ATTACKS, attack_gpx, random_gpx, mutate_gpx)
TCX_XML = _XmlKind(TCX_ATTACKS, attack_tcx, random_tcx, mutate_tcx)


def _xml_case(
    rng: random.Random,
    case_id: str,
    kind: str,
    seeds: tuple[tuple[str, bytes], ...],
    x: _XmlKind,
) -> Case:
    """A GPX or TCX case: an attack, a random document (maybe mutated), or a mutated seed."""
    r = rng.random()
    if r < 0.06:
        attack = rng.choice(sorted(x.attacks))
        return Case(case_id, kind, f"case.{kind}", x.attack(attack), (f"attack {attack}",))
    if r < 0.3 or not seeds:
        data, recipe = x.random(rng)
        if rng.random() < 0.5 and seeds:
            data, more = x.mutate(rng, data, _pick(rng, seeds)[1])
            recipe += more
    else:
        name, base = _pick(rng, seeds)
        _, other = _pick(rng, seeds)
        data, recipe = x.mutate(rng, base, other)
        recipe = [f"seed {name}", *recipe]
    return Case(
        case_id, kind, rng.choice([f"case.{kind}", f"case.{kind.upper()}"]), data, tuple(recipe)
    )
