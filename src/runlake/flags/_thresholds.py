"""Flag thresholds: config/flags.toml (every key, with its source) and a user's overrides.

:func:`load_thresholds` reads and checks them once; every rule of the flags stage, the week
rules and the report's captions read the one :class:`Thresholds` it returns.
:func:`thresholds_fingerprint` names them with the version of the rules: the lake stores it
with the flags, so that flags judged with other thresholds (or older rules) are known.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Final

from runlake._config import default_file, read_toml
from runlake._errors import ConfigError, ThresholdsError
from runlake.metrics import PACE_BIN_S_PER_KM

__all__ = [
    "RULES_VERSION",
    "STREAK_CAP_DAYS",
    "Thresholds",
    "default_thresholds_path",
    "load_thresholds",
    "thresholds_fingerprint",
]

STREAK_CAP_DAYS: Final = 28
"""Running streaks are counted back at most this many days."""
RULES_VERSION: Final = 2
"""The version of the flag rules: flags judged by another are judged again. 2: long-run
spike, personal baselines, hydration, the load ratio judged only with four weeks of running
behind it, rest weeks apart from cutbacks, fuelling bands, units as a runner says them."""


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
    ultra_run_min_s: float
    carbohydrate_ultra_max_g_per_h: float
    hot_run_min_c: float
    hot_run_min_s: float
    hydration_long_run_min_s: float
    long_run_spike_pct: float
    long_run_spike_alert_pct: float
    long_run_spike_days: int
    long_run_spike_min_s: float
    long_run_spike_min_km: float
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
    baseline_days: int
    baseline_pace_band_s_per_km: float
    baseline_min_runs: int
    baseline_min_band_s: float
    baseline_run_min_band_s: float
    baseline_departure_sd: float


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
    "fuelling": (
        "long_run_min_s",
        "carbohydrate_min_g_per_h",
        "carbohydrate_max_g_per_h",
        "ultra_run_min_s",
        "carbohydrate_ultra_max_g_per_h",
    ),
    "hydration": ("hot_run_min_c", "hot_run_min_s", "hydration_long_run_min_s"),
    "long_run": (
        "long_run_spike_pct",
        "long_run_spike_alert_pct",
        "long_run_spike_days",
        "long_run_spike_min_s",
        "long_run_spike_min_km",
    ),
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
    "baseline": (
        "baseline_days",
        "baseline_pace_band_s_per_km",
        "baseline_min_runs",
        "baseline_min_band_s",
        "baseline_run_min_band_s",
        "baseline_departure_sd",
    ),
}
_INTS: Final = frozenset(
    {
        "volume_reference_weeks",
        "cutback_max_weeks",
        "consecutive_days_min",
        "long_run_spike_days",
        "baseline_days",
        "baseline_min_runs",
    }
)
_OPTIONAL: Final = frozenset({"hr_max_bpm"})
_KEY_SECTION = {key: section for section, keys in _SECTIONS.items() for key in keys}
assert set(_KEY_SECTION) == {f.name for f in fields(Thresholds)}


def default_thresholds_path() -> Path:
    """config/flags.toml of the source tree, else the copy shipped in the wheel."""
    return default_file("flags.toml")


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return read_toml(path, "flags config")
    except ConfigError as e:
        raise ThresholdsError(str(e)) from None


def _merge(values: dict[str, float | int], data: Mapping[str, object], origin: str) -> None:
    for section, table in data.items():
        if section not in _SECTIONS:
            known = ", ".join(_SECTIONS)
            raise ThresholdsError(f"{origin}: unknown section [{section}] (known: {known})")
        if not isinstance(table, dict):
            raise ThresholdsError(f"{origin}: [{section}] must be a table")
        for key, value in table.items():
            name = f"{section}.{key}"
            if key not in _SECTIONS[section]:
                where = _KEY_SECTION.get(key)
                hint = f" (it belongs in [{where}])" if where else ""
                raise ThresholdsError(f"{origin}: unknown key {name}{hint}")
            if key in _INTS:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ThresholdsError(f"{origin}: {name} must be a whole number, not {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ThresholdsError(f"{origin}: {name} must be a number, not {value!r}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ThresholdsError(f"{origin}: {name} must be finite, not {value!r}")
            if value < 0:
                raise ThresholdsError(f"{origin}: {name} must not be negative, not {value!r}")
            values[key] = value


def _check_more(t: Thresholds, bad: Callable[[str, str], ConfigError]) -> None:
    """The checks of the fuelling bands, the long-run spike and the personal baselines."""
    if t.ultra_run_min_s < t.long_run_min_s:
        raise bad("ultra_run_min_s", "must not be below long_run_min_s")
    if t.carbohydrate_ultra_max_g_per_h < t.carbohydrate_max_g_per_h:
        raise bad("carbohydrate_ultra_max_g_per_h", "must not be below carbohydrate_max_g_per_h")
    if t.long_run_spike_alert_pct < t.long_run_spike_pct:
        raise bad("long_run_spike_alert_pct", "must not be below long_run_spike_pct")
    if not 7 <= t.long_run_spike_days <= 90:
        raise bad("long_run_spike_days", "must be between 7 and 90")
    if not 14 <= t.baseline_days <= 365:
        raise bad("baseline_days", "must be between 14 and 365")
    band = t.baseline_pace_band_s_per_km
    if not 5.0 <= band <= 60.0 or band % PACE_BIN_S_PER_KM:
        raise bad("baseline_pace_band_s_per_km", "must be 5, 10, 15 ... 60 (5 s/km bins)")
    if t.baseline_min_runs < 3:
        raise bad("baseline_min_runs", "must be at least 3")
    if t.baseline_departure_sd <= 0:
        raise bad("baseline_departure_sd", "must be above 0")


def _check(t: Thresholds) -> None:
    def bad(key: str, why: str) -> ConfigError:
        return ThresholdsError(f"{_KEY_SECTION[key]}.{key} {why}")

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
    _check_more(t, bad)


def load_thresholds(path: Path | None = None, overrides: Path | None = None) -> Thresholds:
    """The thresholds of ``path`` (default: config/flags.toml), then ``overrides`` on top.

    ``path`` must hold every key (``hr_max_bpm`` is optional); ``overrides`` holds only the
    keys a user changes. A missing or invalid file, an unknown section or key, a wrong type,
    a negative or otherwise impossible value raises :class:`~runlake._errors.ThresholdsError`
    (a ConfigError) naming the file or the key.
    """
    base = path or default_thresholds_path()
    values: dict[str, float | int] = {}
    _merge(values, _read_toml(base), str(base))
    for key, section in _KEY_SECTION.items():
        if key not in values and key not in _OPTIONAL:
            raise ThresholdsError(f"{base}: missing key {section}.{key}")
    if overrides is not None:
        _merge(values, _read_toml(overrides), str(overrides))
    kwargs: dict[str, object] = {
        key: (values[key] if key in _INTS else float(values[key])) if key in values else None
        for key in _KEY_SECTION
    }
    t = Thresholds(**kwargs)  # type: ignore[arg-type]
    _check(t)
    return t


def thresholds_fingerprint(t: Thresholds) -> str:
    """A short name of ``t`` and of the rules' version (RULES_VERSION): equal fingerprints,
    equal flags for the same runs."""
    data = json.dumps({"rules": RULES_VERSION, **asdict(t)}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]
