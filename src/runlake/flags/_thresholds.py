"""Flag thresholds: config/flags.toml (every key, with its source) and a user's overrides.

:func:`load_thresholds` reads and checks them once; every rule of the flags stage, the week
rules and the report's captions read the one :class:`Thresholds` it returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

from runlake._config import default_file, read_toml
from runlake._errors import ConfigError

__all__ = ["STREAK_CAP_DAYS", "Thresholds", "default_thresholds_path", "load_thresholds"]

STREAK_CAP_DAYS: Final = 28
"""Running streaks are counted back at most this many days."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every threshold of the flags (config/flags.toml documents each with its source)."""

    hr_max_bpm: float | None
    easy_hr_fraction: float
    form_min_moving_s: float
    overstriding_index_max: float
    vertical_oscillation_max_mm: float
    vertical_ratio_max_pct: float
    pod_vertical_oscillation_max_mm: float
    pod_vertical_ratio_max_pct: float
    vertical_ratio_min_oscillation_mm: float
    pod_vertical_ratio_min_oscillation_mm: float
    stance_balance_min_pct: float
    stance_balance_max_pct: float
    form_fade_cadence_drop_pct: float
    form_fade_stance_time_rise_pct: float
    form_fade_vertical_oscillation_rise_pct: float
    cardiac_drift_max_pct: float
    long_run_min_s: float
    carbohydrate_min_g_per_h: float
    carbohydrate_max_g_per_h: float
    volume_jump_pct: float
    volume_jump_alert_pct: float
    volume_reference_weeks: int
    volume_min_week_km: float
    volume_min_week_h: float
    cutback_reduction_pct: float
    cutback_max_weeks: int
    consecutive_days_min: int
    easy_share_min_pct: float
    easy_share_min_week_h: float
    acwr_max: float
    monotony_max: float


_SECTIONS: Final[dict[str, tuple[str, ...]]] = {
    "heart_rate": ("hr_max_bpm", "easy_hr_fraction"),
    "form": (
        "form_min_moving_s",
        "overstriding_index_max",
        "vertical_oscillation_max_mm",
        "vertical_ratio_max_pct",
        "pod_vertical_oscillation_max_mm",
        "pod_vertical_ratio_max_pct",
        "vertical_ratio_min_oscillation_mm",
        "pod_vertical_ratio_min_oscillation_mm",
        "stance_balance_min_pct",
        "stance_balance_max_pct",
        "form_fade_cadence_drop_pct",
        "form_fade_stance_time_rise_pct",
        "form_fade_vertical_oscillation_rise_pct",
    ),
    "fatigue": ("cardiac_drift_max_pct",),
    "fuelling": ("long_run_min_s", "carbohydrate_min_g_per_h", "carbohydrate_max_g_per_h"),
    "volume": (
        "volume_jump_pct",
        "volume_jump_alert_pct",
        "volume_reference_weeks",
        "volume_min_week_km",
        "volume_min_week_h",
        "cutback_reduction_pct",
        "cutback_max_weeks",
        "consecutive_days_min",
    ),
    "load": ("easy_share_min_pct", "easy_share_min_week_h", "acwr_max", "monotony_max"),
}
_INTS: Final = frozenset({"volume_reference_weeks", "cutback_max_weeks", "consecutive_days_min"})
_OPTIONAL: Final = frozenset({"hr_max_bpm"})
_KEY_SECTION = {key: section for section, keys in _SECTIONS.items() for key in keys}
assert set(_KEY_SECTION) == {f.name for f in fields(Thresholds)}


def default_thresholds_path() -> Path:
    """config/flags.toml of the source tree, else the copy shipped in the wheel."""
    return default_file("flags.toml")


def _read_toml(path: Path) -> dict[str, object]:
    return read_toml(path, "flags config")


def _merge(values: dict[str, float | int], data: Mapping[str, object], origin: str) -> None:
    for section, table in data.items():
        if section not in _SECTIONS:
            known = ", ".join(_SECTIONS)
            raise ConfigError(f"{origin}: unknown section [{section}] (known: {known})")
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        for key, value in table.items():
            name = f"{section}.{key}"
            if key not in _SECTIONS[section]:
                where = _KEY_SECTION.get(key)
                hint = f" (it belongs in [{where}])" if where else ""
                raise ConfigError(f"{origin}: unknown key {name}{hint}")
            if key in _INTS:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f"{origin}: {name} must be a whole number, not {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{origin}: {name} must be a number, not {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{origin}: {name} must be finite, not {value!r}")
            if value < 0:
                raise ConfigError(f"{origin}: {name} must not be negative, not {value!r}")
            values[key] = value


def _check(t: Thresholds) -> None:
    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{_KEY_SECTION[key]}.{key} {why}")

    if t.hr_max_bpm is not None and not 100.0 <= t.hr_max_bpm <= 250.0:
        raise bad("hr_max_bpm", f"must be between 100 and 250, not {t.hr_max_bpm}")
    if not 0.0 < t.easy_hr_fraction <= 1.0:
        raise bad("easy_hr_fraction", f"must be a fraction in (0, 1], not {t.easy_hr_fraction}")
    if t.stance_balance_min_pct >= t.stance_balance_max_pct:
        raise bad("stance_balance_min_pct", "must be below stance_balance_max_pct")
    if t.carbohydrate_min_g_per_h > t.carbohydrate_max_g_per_h:
        raise bad("carbohydrate_min_g_per_h", "must not exceed carbohydrate_max_g_per_h")
    if t.volume_jump_alert_pct < t.volume_jump_pct:
        raise bad("volume_jump_alert_pct", "must not be below volume_jump_pct")
    if t.cutback_reduction_pct >= 100.0:
        raise bad("cutback_reduction_pct", "must be under 100")
    if t.volume_reference_weeks < 1:
        raise bad("volume_reference_weeks", "must be at least 1")
    if t.cutback_max_weeks < 2:
        raise bad("cutback_max_weeks", "must be at least 2")
    if not 2 <= t.consecutive_days_min <= STREAK_CAP_DAYS:
        raise bad("consecutive_days_min", f"must be between 2 and {STREAK_CAP_DAYS}")


def load_thresholds(path: Path | None = None, overrides: Path | None = None) -> Thresholds:
    """The thresholds of ``path`` (default: config/flags.toml), then ``overrides`` on top.

    ``path`` must hold every key (``hr_max_bpm`` is optional); ``overrides`` holds only the
    keys a user changes. An unknown section or key, a wrong type, a negative or otherwise
    impossible value raises :class:`~runlake._errors.ConfigError` naming the key.
    """
    base = path or default_thresholds_path()
    values: dict[str, float | int] = {}
    _merge(values, _read_toml(base), str(base))
    for key, section in _KEY_SECTION.items():
        if key not in values and key not in _OPTIONAL:
            raise ConfigError(f"{base}: missing key {section}.{key}")
    if overrides is not None:
        _merge(values, _read_toml(overrides), str(overrides))
    kwargs: dict[str, object] = {
        key: (values[key] if key in _INTS else float(values[key])) if key in values else None
        for key in _KEY_SECTION
    }
    t = Thresholds(**kwargs)  # type: ignore[arg-type]
    _check(t)
    return t
