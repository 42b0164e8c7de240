"""runlake: watch files (FIT, GPX) into a Parquet lake that analysts query with DuckDB.

Data flows one way: decode -> normalize -> metrics -> flags -> store -> query. This module
re-exports the public API; the modules behind it are private.
"""

from runlake._config import Config, load_config
from runlake._errors import (
    ConfigError,
    DecodeError,
    FitCRCError,
    FitDefinitionError,
    FitError,
    FitHeaderError,
    FitTruncatedError,
    GpxError,
    LakeBusy,
    LakeError,
    NotAnActivity,
    Problem,
    RunlakeError,
)
from runlake._ingest import FileOutcome, IngestSummary, find_input_files, ingest_file, ingest_paths
from runlake._normalize import Normalized, SourceInfo, normalize_fit, normalize_gpx
from runlake._query import QueryError, build_catalog, connect, format_table, run_query
from runlake._schemas import ACTIVITIES, FILES, INGEST_ERRORS, LAPS, RECORDS, TABLES
from runlake._store import Lake, validate_athlete
from runlake.decode import FitFile, GpxTrack, decode_fit, decode_gpx

__version__ = "0.1.0"

__all__ = [
    "ACTIVITIES",
    "FILES",
    "INGEST_ERRORS",
    "LAPS",
    "RECORDS",
    "TABLES",
    "Config",
    "ConfigError",
    "DecodeError",
    "FileOutcome",
    "FitCRCError",
    "FitDefinitionError",
    "FitError",
    "FitFile",
    "FitHeaderError",
    "FitTruncatedError",
    "GpxError",
    "GpxTrack",
    "IngestSummary",
    "Lake",
    "LakeBusy",
    "LakeError",
    "Normalized",
    "NotAnActivity",
    "Problem",
    "QueryError",
    "RunlakeError",
    "SourceInfo",
    "__version__",
    "build_catalog",
    "connect",
    "decode_fit",
    "decode_gpx",
    "find_input_files",
    "format_table",
    "ingest_file",
    "ingest_paths",
    "load_config",
    "normalize_fit",
    "normalize_gpx",
    "run_query",
    "validate_athlete",
]
