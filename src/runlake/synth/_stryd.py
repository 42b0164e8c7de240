"""A Stryd footpod as a watch records it: the developer fields of Stryd's Connect IQ app.

Real files (Garmin watches with Stryd's Connect IQ data field, e.g. the corpus's
``running-with-developer-data.fit``, ``kaiteriteri.fit``, ``portland.fit``) carry one
developer_data_id message (Stryd's Connect IQ application id) and seven field_description
messages, all native to the record message, then a value of each in every record:

======  ====================  =========  ============  =====================
number  name                  base type  units         native field
======  ====================  =========  ============  =====================
0       Power                 uint16     Watts         power
2       Cadence               uint8      RPM           cadence
3       Ground Time           uint16     Milliseconds  stance_time
4       Vertical Oscillation  float32    Centimeters   vertical_oscillation
7       Elevation             uint16     Meters
8       Form Power            uint16     Watts
9       Leg Spring Stiffness  float32    kN/m
======  ====================  =========  ============  =====================

``with_stryd`` turns simulated samples into what such a watch writes: its own channels
without power or running dynamics, and the Stryd fields' values; ``encode_run(watch,
developer=fields)`` writes the file.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Final

import numpy as np
import numpy.typing as npt

from runlake.synth._fitwriter import DeveloperApp, DeveloperField
from runlake.synth._season import BODY_MASS_KG, Samples

__all__ = ["STRYD_APP", "STRYD_FIELDS", "stryd_values", "with_stryd"]

F64 = npt.NDArray[np.float64]

_G: Final = 9.80665

STRYD_APP: Final = DeveloperApp(
    index=0,
    application_id=bytes.fromhex("660a581e5301460c8f2f034c8b6dc90f"),
    application_version=68,
)
"""Stryd's Connect IQ app, under developer_data_index 0 (as in the real files)."""


def _field(
    number: int, name: str, base_type: str, units: str, native: str | None = None
) -> DeveloperField:
    return DeveloperField(
        STRYD_APP, number, name, base_type, units, native_message="record", native_field=native
    )


STRYD_FIELDS: Final = (
    _field(0, "Power", "uint16", "Watts", "power"),
    _field(2, "Cadence", "uint8", "RPM", "cadence"),
    _field(3, "Ground Time", "uint16", "Milliseconds", "stance_time"),
    _field(4, "Vertical Oscillation", "float32", "Centimeters", "vertical_oscillation"),
    _field(7, "Elevation", "uint16", "Meters"),
    _field(8, "Form Power", "uint16", "Watts"),
    _field(9, "Leg Spring Stiffness", "float32", "kN/m"),
)
"""The record fields of Stryd's app, in the order the real files describe them."""


def _float32(x: F64) -> F64:
    """Values as a float32 field holds them (so that a decoder returns them exactly)."""
    return x.astype(np.float32).astype(np.float64)


def stryd_values(samples: Samples) -> dict[DeveloperField, F64]:
    """The values of ``STRYD_FIELDS`` for each record, in their units, as decoded.

    Power, ground time, vertical oscillation and elevation are the samples' own (rounded to
    the field's resolution); cadence is in strides per minute. Form power and leg spring
    stiffness are simple models with Stryd's magnitudes, not Stryd's algorithms: form power
    is half of ``m g VO f`` (body mass, oscillation, step frequency), about 80 W; stiffness
    is the peak force of the sine model of ground contact (Morin et al. 2005) over twice
    the vertical oscillation, about 9 kN/m. Raises ValueError when the samples have no
    power or no running dynamics.
    """
    s = samples
    if s.power_w is None or s.vertical_oscillation_mm is None or s.stance_time_ms is None:
        raise ValueError("Stryd fields need samples with power and running dynamics")
    vo_m = s.vertical_oscillation_mm / 1000.0
    step_s = 60.0 / s.cadence_spm
    contact_s = s.stance_time_ms / 1000.0
    flight_s = np.maximum(step_s - contact_s, 0.0)
    peak_n = BODY_MASS_KG * _G * math.pi / 2.0 * (flight_s / contact_s + 1.0)
    values = (
        s.power_w,
        np.floor(s.cadence_spm / 2.0),
        np.rint(s.stance_time_ms),
        _float32(s.vertical_oscillation_mm / 10.0),
        np.rint(s.altitude_m),
        np.rint(0.5 * BODY_MASS_KG * _G * vo_m / step_s),
        _float32(np.round(peak_n / (2.0 * vo_m) / 1000.0, 3)),
    )
    return dict(zip(STRYD_FIELDS, values, strict=True))


def with_stryd(samples: Samples) -> tuple[Samples, dict[DeveloperField, F64]]:
    """What a watch with a Stryd footpod and no running dynamics of its own records.

    The samples without power and running dynamics (the watch's own fields; ``spec``
    still says what was simulated) and ``stryd_values(samples)``: write them with
    ``encode_run(watch, developer=fields)``.
    """
    fields = stryd_values(samples)
    watch = replace(
        samples,
        power_w=None,
        vertical_oscillation_mm=None,
        stance_time_ms=None,
        stance_time_balance_pct=None,
        step_length_mm=None,
        vertical_ratio_pct=None,
    )
    return watch, fields
