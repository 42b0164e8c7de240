"""Decode stage: bytes of a watch file in, plain columns out (no unit conversion yet).

FIT by a columnar decoder of its own (``_fit``); GPX and TCX through one safe XML layer
(``_xml``: lxml with no DTD, entities or network) read straight into columns; large
plain GPX documents by a numpy scan of their tags (``_xmlscan``), checked equal to the tree.
"""

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
from runlake.decode._tcx import (
    MAX_TCX_BYTES,
    TCX_LAPS_SCHEMA,
    TCX_POINTS_SCHEMA,
    TcxActivity,
    TcxFile,
    decode_tcx,
)
from runlake.decode._xml import root_name

__all__ = [
    "FIT_EPOCH_S",
    "GPX_POINTS_SCHEMA",
    "MAX_GPX_BYTES",
    "MAX_TCX_BYTES",
    "SYSTEM_TIME_SUFFIX",
    "TCX_LAPS_SCHEMA",
    "TCX_POINTS_SCHEMA",
    "DevField",
    "FitFile",
    "GpxTrack",
    "TcxActivity",
    "TcxFile",
    "decode_fit",
    "decode_gpx",
    "decode_tcx",
    "fit_crc16",
    "fit_file_type",
    "root_name",
]
