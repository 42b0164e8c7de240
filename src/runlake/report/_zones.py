"""Garmin's running-dynamics colour zones, with the red limits from the flags' thresholds.

Garmin colours each running-dynamics value by where it falls among Garmin users' data
(purple: best 5 %, blue: 70-95th percentile, green: 30-69th, orange: 5-29th, red: worst
5 %): Garmin Forerunner 245 Owner's Manual, "Color Gauges and Running Dynamics Data"
(www8.garmin.com/manuals/webhelp/forerunner245/EN-US/GUID-EE9E7F6F-49BE-4452-82E6-
B40371D0AEC1.html; the same table is in the fenix 7 manual). The red limits come from the
flags' thresholds (config/flags.toml, so an override moves them) and ``runlake.metrics``;
the other limits are Garmin's table (:data:`GARMIN_ZONES`). For a waist-worn pod the
oscillation and ratio limits are scaled by the pod's red limit over the chest strap's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from runlake.flags import Thresholds
from runlake.metrics import (
    OI_RED_CADENCE_SPM,
    OI_RED_GCT_MS,
)

__all__ = ["GARMIN_ZONES", "ZONE_COLOURS", "ZoneScale", "garmin_zones"]
ZONE_COLOURS: Final = {
    "purple": "#8e5cc2",
    "blue": "#3a86d4",
    "green": "#3aa55d",
    "orange": "#f0a030",
    "red": "#dc4b3e",
}


@dataclass(frozen=True, slots=True)
class ZoneScale:
    """Garmin's colour zones of one running-dynamics value.

    ``edges`` are the four limits between the five zones in display units, ascending;
    ``colours`` the five zones from low to high values (cadence: red is low; contact time,
    oscillation and ratio: red is high). Balance has seven bands around 50 % (its
    ``edges`` has six limits).
    """

    column: str
    label: str
    unit: str
    factor: float
    """Display value = stored value x factor (oscillation: mm -> cm)."""
    edges: tuple[float, ...]
    colours: tuple[str, ...]
    decimals: int

    def zone(self, value: float) -> str:
        """The colour of ``value`` (display units): the zone whose range holds it."""
        i = int(np.searchsorted(np.asarray(self.edges), value, side="right"))
        return self.colours[i]


GARMIN_ZONES: Final[Mapping[str, tuple[float, ...]]] = {
    # Garmin's colour-zone table (see the module docstring): the first value of each zone
    # above the red one (cadence) or below it (the others). The red limits come from the
    # thresholds. Cadence steps/min; contact time ms; oscillation cm; ratio %; balance % on
    # the left foot.
    "cadence_spm": (164.0, 174.0, 184.0),  # orange 153-163, green 164-173, blue 174-183
    "stance_time_ms": (218.0, 249.0, 278.0),  # purple <218, blue 218-248, green 249-277
    "vertical_oscillation_cm": (6.4, 8.2, 9.8),  # purple <6.4, blue 6.4-8.1, green 8.2-9.7
    "vertical_ratio_pct": (6.1, 7.5, 8.7),  # purple <6.1, blue 6.1-7.4, green 7.5-8.6
    "stance_time_balance_pct": (49.3, 50.7),  # green 49.3-50.7 (50.7 % L to 50.7 % R)
}


def garmin_zones(t: Thresholds, dynamics_sensor: str | None = None) -> list[ZoneScale]:
    """The colour zones of cadence, contact time, oscillation, ratio and balance.

    Red limits: ``OI_RED_CADENCE_SPM`` and ``OI_RED_GCT_MS`` (runlake.metrics) and the
    thresholds' oscillation, ratio and balance limits (the pod's for ``"pod"``).
    """
    pod = dynamics_sensor == "pod"
    vo_red = (t.pod_vertical_oscillation_max_mm if pod else t.vertical_oscillation_max_mm) / 10
    vr_red = t.pod_vertical_ratio_max_pct if pod else t.vertical_ratio_max_pct
    vo_scale = vo_red / (t.vertical_oscillation_max_mm / 10)
    vr_scale = vr_red / t.vertical_ratio_max_pct
    five_low_bad = ("red", "orange", "green", "blue", "purple")
    five_high_bad = ("purple", "blue", "green", "orange", "red")
    cad = GARMIN_ZONES["cadence_spm"]
    gct = GARMIN_ZONES["stance_time_ms"]
    vo = GARMIN_ZONES["vertical_oscillation_cm"]
    vr = GARMIN_ZONES["vertical_ratio_pct"]
    bal = GARMIN_ZONES["stance_time_balance_pct"]
    return [
        ZoneScale(
            "cadence_spm",
            "Cadence",
            "steps/min",
            1.0,
            (OI_RED_CADENCE_SPM, *cad),
            five_low_bad,
            0,
        ),
        ZoneScale(
            "stance_time_ms",
            "Ground contact time",
            "ms",
            1.0,
            (*gct, OI_RED_GCT_MS),
            five_high_bad,
            0,
        ),
        ZoneScale(
            "vertical_oscillation_mm",
            "Vertical oscillation",
            "cm",
            0.1,
            (*(v * vo_scale for v in vo), vo_red),
            five_high_bad,
            1,
        ),
        ZoneScale(
            "vertical_ratio_pct",
            "Vertical ratio",
            "%",
            1.0,
            (*(v * vr_scale for v in vr), vr_red),
            five_high_bad,
            1,
        ),
        ZoneScale(
            "stance_time_balance_pct",
            "Ground contact balance",
            "% left",
            1.0,
            (t.stance_balance_min_pct, bal[0], bal[1], t.stance_balance_max_pct),
            ("red", "orange", "green", "orange", "red"),
            1,
        ),
    ]
