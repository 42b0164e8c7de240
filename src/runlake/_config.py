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


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Defaults, then ``path`` (or $RUNLAKE_CONFIG), then environment variables."""
    env = os.environ if env is None else env
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
    # A URL stays a string (the store opens it); checked here by shape only, because the
    # flags stage reads this module and must not import the store's.
    is_url = re.fullmatch(r"[a-z][a-z0-9+.\-]*://.*", lake, re.IGNORECASE | re.DOTALL) is not None
    if is_url and not lake.lower().startswith(("s3://", "s3a://", "file://")):
        raise ConfigError(f"lake.path {lake!r}: a folder path, file:// or s3:// URL expected")
    cron = str(get("sync", "cron"))
    if len(cron.split()) != 5:
        raise ConfigError(f"sync.cron must have 5 fields like '0 3 * * *', not {cron!r}")
    tz = str(get("sync", "timezone"))
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"sync.timezone {tz!r} is not a known time zone") from None
    lock_wait = get("sync", "lock_wait_s")
    assert isinstance(lock_wait, float)
    if lock_wait < 0:
        raise ConfigError(f"sync.lock_wait_s must not be negative, not {lock_wait}")
    workers, batch = get("backfill", "workers"), get("backfill", "batch_size")
    assert isinstance(workers, int)
    assert isinstance(batch, int)
    if not 1 <= workers <= 256:
        raise ConfigError(f"backfill.workers must be between 1 and 256, not {workers}")
    if batch < 0:
        raise ConfigError(f"backfill.batch_size must be 0 (automatic) or more, not {batch}")
    return Config(
        lake=lake if is_url else Path(lake),
        athlete=str(get("ingest", "athlete")),
        inbox=tuple(Path(str(p)) for p in inbox),
        demo_folder=Path(str(get("demo", "folder"))),
        demo_weeks=weeks,
        demo_start=start_date,
        demo_athlete=str(get("demo", "athlete")),
        sync_cron=cron,
        sync_timezone=tz,
        sync_lock_wait_s=lock_wait,
        backfill_workers=workers,
        backfill_batch_size=batch,
        flags_overrides=Path(str(get("flags", "overrides"))) if get("flags", "overrides") else None,
        ingest_max_file_bytes=_max_file_bytes(get("ingest", "max_file_bytes")),
    )


def _max_file_bytes(value: object) -> int:
    """ingest.max_file_bytes: from 1 MiB (real files are a few MB) to 4 GiB."""
    assert isinstance(value, int)
    if not 2**20 <= value <= 2**32:
        raise ConfigError(
            "ingest.max_file_bytes must be between 1 MiB and 4 GiB (1048576..4294967296), "
            f"not {value}"
        )
    return value
