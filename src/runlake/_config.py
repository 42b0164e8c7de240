"""Configuration: TOML defaults, a user's file on top, then environment variables.

Every key is known and typed; an unknown key, a wrong type or a bad value raises
:class:`~runlake._errors.ConfigError` naming the key and the problem.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from runlake._errors import ConfigError

__all__ = ["Config", "default_config_path", "load_config"]

# key -> (type, description)
_SCHEMA: dict[str, dict[str, type]] = {
    "lake": {"path": str},
    "ingest": {"athlete": str, "inbox": list},
    "demo": {"folder": str, "weeks": int, "start": str},
}
_ENV = {
    "RUNLAKE_LAKE": ("lake", "path"),
    "RUNLAKE_ATHLETE": ("ingest", "athlete"),
    "RUNLAKE_INBOX": ("ingest", "inbox"),
}


@dataclass(frozen=True, slots=True)
class Config:
    lake: Path
    athlete: str
    inbox: tuple[Path, ...]
    demo_folder: Path
    demo_weeks: int
    demo_start: date


def default_config_path() -> Path:
    """config/runlake.toml of the source tree, else the copy shipped in the wheel."""
    repo = Path(__file__).resolve().parents[2] / "config" / "runlake.toml"
    if repo.is_file():
        return repo
    return Path(str(resources.files("runlake") / "_config_defaults" / "runlake.toml"))


def _read(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from None


def _merge(base: dict[str, dict[str, object]], over: Mapping[str, object], origin: str) -> None:
    for section, values in over.items():
        if section not in _SCHEMA:
            known = ", ".join(sorted(_SCHEMA))
            raise ConfigError(f"{origin}: unknown section [{section}] (known: {known})")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        for key, value in values.items():
            if key not in _SCHEMA[section]:
                known = ", ".join(sorted(_SCHEMA[section]))
                raise ConfigError(f"{origin}: unknown key {section}.{key} (known: {known})")
            want = _SCHEMA[section][key]
            if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
                raise ConfigError(
                    f"{origin}: {section}.{key} must be a {want.__name__}, "
                    f"not {type(value).__name__} ({value!r})"
                )
            base.setdefault(section, {})[key] = value


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then ``path`` (or $RUNLAKE_CONFIG), then environment variables."""
    env = os.environ if env is None else env
    merged: dict[str, dict[str, object]] = {}
    default = default_config_path()
    _merge(merged, _read(default), str(default))
    user = path or (Path(env["RUNLAKE_CONFIG"]) if env.get("RUNLAKE_CONFIG") else None)
    if user is not None:
        _merge(merged, _read(user), str(user))
    for var, (section, key) in _ENV.items():
        if env.get(var):
            raw = env[var]
            merged[section][key] = raw.split(os.pathsep) if key == "inbox" else raw

    def get(section: str, key: str) -> object:
        try:
            return merged[section][key]
        except KeyError:
            raise ConfigError(f"missing key {section}.{key}") from None

    inbox = get("ingest", "inbox")
    assert isinstance(inbox, list)
    if not all(isinstance(p, str) and p for p in inbox):
        raise ConfigError("ingest.inbox must be a list of folder paths")
    weeks = get("demo", "weeks")
    assert isinstance(weeks, int)
    if weeks < 1 or weeks > 520:
        raise ConfigError(f"demo.weeks must be between 1 and 520, not {weeks}")
    start = str(get("demo", "start"))
    try:
        start_date = date.fromisoformat(start)
    except ValueError:
        raise ConfigError(f"demo.start must be a date like 2026-06-01, not {start!r}") from None
    lake = str(get("lake", "path"))
    if not lake:
        raise ConfigError("lake.path must not be empty")
    return Config(
        lake=Path(lake),
        athlete=str(get("ingest", "athlete")),
        inbox=tuple(Path(str(p)) for p in inbox),
        demo_folder=Path(str(get("demo", "folder"))),
        demo_weeks=weeks,
        demo_start=start_date,
    )
