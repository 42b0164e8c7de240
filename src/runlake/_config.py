"""Configuration: TOML defaults, a user's file on top, then environment variables.

Every key is known and typed; an unknown key, a wrong type or a bad value raises
:class:`~runlake._errors.ConfigError` naming the key and the problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runlake._errors import ConfigError

__all__ = ["Config", "default_config_path", "default_file", "load_config", "read_toml"]

# key -> (type, description)
_SCHEMA: dict[str, dict[str, type]] = {
    "lake": {"path": str},
    "ingest": {"athlete": str, "inbox": list, "max_file_bytes": int},
    "flags": {"overrides": str},
    "sync": {"cron": str, "timezone": str, "lock_wait_s": float},
    "backfill": {"workers": int, "batch_size": int},
    "demo": {"folder": str, "athlete": str, "weeks": int, "start": str},
}
_ENV = {
    "RUNLAKE_FLAGS": ("flags", "overrides"),
    "RUNLAKE_LAKE": ("lake", "path"),
    "RUNLAKE_ATHLETE": ("ingest", "athlete"),
    "RUNLAKE_INBOX": ("ingest", "inbox"),
}


@dataclass(frozen=True, slots=True)
class Config:
    lake: Path | str
    """A folder, or an object-storage URL (``s3://bucket/lake``)."""
    athlete: str
    inbox: tuple[Path, ...]
    demo_folder: Path
    demo_weeks: int
    demo_start: date
    demo_athlete: str = "demo"
    sync_cron: str = "0 3 * * *"
    sync_timezone: str = ""
    sync_lock_wait_s: float = 60.0
    backfill_workers: int = 2
    backfill_batch_size: int = 0
    flags_overrides: Path | None = None
    ingest_max_file_bytes: int = 256 * 2**20


def default_file(name: str) -> Path:
    """config/<name> of the source tree, else the copy shipped in the wheel."""
    repo = Path(__file__).resolve().parents[2] / "config" / name
    if repo.is_file():
        return repo
    return Path(str(resources.files("runlake") / "_config_defaults" / name))


def default_config_path() -> Path:
    """config/runlake.toml of the source tree, else the copy shipped in the wheel."""
    return default_file("runlake.toml")


def read_toml(path: Path, what: str = "config file") -> dict[str, object]:
    """A TOML file as a dict; a missing or invalid file is a ConfigError naming it."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{what} {path} is not valid TOML: {e}") from None


def _merge(base: dict[str, dict[str, object]], over: Mapping[str, object], origin: str) -> None:
    for section, values in over.items():
        if section not in _SCHEMA:
            known = ", ".join(sorted(_SCHEMA))
            raise ConfigError(f"{origin}: unknown section [{section}] (known: {known})")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        for key, raw in values.items():
            if key not in _SCHEMA[section]:
                known = ", ".join(sorted(_SCHEMA[section]))
                raise ConfigError(f"{origin}: unknown key {section}.{key} (known: {known})")
            want = _SCHEMA[section][key]
            value = raw
            if want is float and isinstance(raw, int) and not isinstance(raw, bool):
                value = float(raw)  # TOML writes 60 for 60.0
            if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
                raise ConfigError(
                    f"{origin}: {section}.{key} must be a {want.__name__}, "
                    f"not {type(value).__name__} ({value!r})"
                )
            base.setdefault(section, {})[key] = value


class _Merged:
    """The merged settings, read by typed getters that name a missing key."""

    def __init__(self, values: dict[str, dict[str, object]]) -> None:
        self.values = values

    def get(self, section: str, key: str) -> object:
        try:
            return self.values[section][key]
        except KeyError:
            raise ConfigError(f"missing key {section}.{key}") from None

    def text(self, section: str, key: str) -> str:
        return str(self.get(section, key))

    def integer(self, section: str, key: str, lo: int, hi: int, rule: str) -> int:
        """An int key within [lo, hi]; ``rule`` says the range in the error."""
        value = self.get(section, key)
        assert isinstance(value, int)
        if not lo <= value <= hi:
            raise ConfigError(f"{section}.{key} must be {rule}, not {value}")
        return value


def _merged(path: Path | None, env: Mapping[str, str]) -> _Merged:
    """Defaults, then ``path`` (or $RUNLAKE_CONFIG), then environment variables."""
    merged: dict[str, dict[str, object]] = {}
    default = default_config_path()
    _merge(merged, read_toml(default), str(default))
    user = path or (Path(env["RUNLAKE_CONFIG"]) if env.get("RUNLAKE_CONFIG") else None)
    if user is not None:
        _merge(merged, read_toml(user), str(user))
    for var, (section, key) in _ENV.items():
        if env.get(var):
            raw = env[var]
            merged[section][key] = raw.split(os.pathsep) if key == "inbox" else raw
    return _Merged(merged)


def _inbox(m: _Merged) -> tuple[Path, ...]:
    inbox = m.get("ingest", "inbox")
    assert isinstance(inbox, list)
    if not all(isinstance(p, str) and p for p in inbox):
        raise ConfigError("ingest.inbox must be a list of folder paths")
    return tuple(Path(str(p)) for p in inbox)


def _demo_start(m: _Merged) -> date:
    start = m.text("demo", "start")
    try:
        return date.fromisoformat(start)
    except ValueError:
        raise ConfigError(f"demo.start must be a date like 2026-06-01, not {start!r}") from None


def _lake(m: _Merged) -> Path | str:
    """The lake folder, or an object-storage URL (kept a string: the store opens it)."""
    lake = m.text("lake", "path")
    if not lake:
        raise ConfigError("lake.path must not be empty")
    # Checked here by shape only, because the flags stage reads this module and must not
    # import the store's.
    is_url = re.fullmatch(r"[a-z][a-z0-9+.\-]*://.*", lake, re.IGNORECASE | re.DOTALL) is not None
    if is_url and not lake.lower().startswith(("s3://", "s3a://", "file://")):
        raise ConfigError(f"lake.path {lake!r}: a folder path, file:// or s3:// URL expected")
    return lake if is_url else Path(lake)


def _cron(m: _Merged) -> str:
    cron = m.text("sync", "cron")
    if len(cron.split()) != 5:
        raise ConfigError(f"sync.cron must have 5 fields like '0 3 * * *', not {cron!r}")
    return cron


def _timezone(m: _Merged) -> str:
    tz = m.text("sync", "timezone")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"sync.timezone {tz!r} is not a known time zone") from None
    return tz


def _lock_wait_s(m: _Merged) -> float:
    lock_wait = m.get("sync", "lock_wait_s")
    assert isinstance(lock_wait, float)
    if lock_wait < 0:
        raise ConfigError(f"sync.lock_wait_s must not be negative, not {lock_wait}")
    return lock_wait


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then ``path`` (or $RUNLAKE_CONFIG), then environment variables."""
    m = _merged(path, os.environ if env is None else env)
    overrides = m.get("flags", "overrides")
    return Config(
        lake=_lake(m),
        athlete=m.text("ingest", "athlete"),
        inbox=_inbox(m),
        demo_folder=Path(m.text("demo", "folder")),
        demo_weeks=m.integer("demo", "weeks", 1, 520, "between 1 and 520"),
        demo_start=_demo_start(m),
        demo_athlete=m.text("demo", "athlete"),
        sync_cron=_cron(m),
        sync_timezone=_timezone(m),
        sync_lock_wait_s=_lock_wait_s(m),
        backfill_workers=m.integer("backfill", "workers", 1, 256, "between 1 and 256"),
        backfill_batch_size=m.integer("backfill", "batch_size", 0, 2**31, "0 (automatic) or more"),
        flags_overrides=Path(str(overrides)) if overrides else None,
        # from 1 MiB (real activity files are a few MB) to 4 GiB
        ingest_max_file_bytes=m.integer(
            "ingest",
            "max_file_bytes",
            2**20,
            2**32,
            "between 1 MiB and 4 GiB (1048576..4294967296)",
        ),
    )
