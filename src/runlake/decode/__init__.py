"""Decode stage: bytes of a watch file in, plain columns out (no unit conversion yet)."""

from runlake.decode._fit import (
    FIT_EPOCH_S,
    SYSTEM_TIME_SUFFIX,
    DevField,
    FitFile,
    decode_fit,
    fit_crc16,
)
from runlake.decode._fitpeek import fit_file_type
from runlake.decode._gpx import GPX_POINTS_SCHEMA, MAX_GPX_BYTES, GpxTrack, decode_gpx

__all__ = [
    "FIT_EPOCH_S",
    "GPX_POINTS_SCHEMA",
    "MAX_GPX_BYTES",
    "SYSTEM_TIME_SUFFIX",
    "DevField",
    "FitFile",
    "GpxTrack",
    "decode_fit",
    "decode_gpx",
    "fit_crc16",
    "fit_file_type",
]
