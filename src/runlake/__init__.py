"""runlake: watch files (FIT, GPX) into a Parquet lake that analysts query with DuckDB.

Data flows one way: decode -> normalize -> metrics -> flags -> store -> query. This module
re-exports the public API (imported on first use); the modules behind it are private.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from runlake._schemas import ACTIVITIES, FILES, INGEST_ERRORS, LAPS, RECORDS, TABLES
    from runlake.decode import FitFile, GpxTrack, decode_fit, decode_gpx
    from runlake.ingest._ingest import (
        FileOutcome,
        IngestSummary,
        find_input_files,
        ingest_file,
        ingest_paths,
    )
    from runlake.lake._store import Lake, validate_athlete
    from runlake.normalize._normalize import Normalized, SourceInfo, normalize_fit, normalize_gpx
    from runlake.query._query import QueryError, build_catalog, connect, format_table, run_query

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

_WHERE = {
    "ACTIVITIES": "runlake._schemas",
    "Config": "runlake._config",
    "ConfigError": "runlake._errors",
    "DecodeError": "runlake._errors",
    "FILES": "runlake._schemas",
    "FileOutcome": "runlake.ingest._ingest",
    "FitCRCError": "runlake._errors",
    "FitDefinitionError": "runlake._errors",
    "FitError": "runlake._errors",
    "FitFile": "runlake.decode",
    "FitHeaderError": "runlake._errors",
    "FitTruncatedError": "runlake._errors",
    "GpxError": "runlake._errors",
    "GpxTrack": "runlake.decode",
    "INGEST_ERRORS": "runlake._schemas",
    "IngestSummary": "runlake.ingest._ingest",
    "LAPS": "runlake._schemas",
    "Lake": "runlake.lake._store",
    "LakeBusy": "runlake._errors",
    "LakeError": "runlake._errors",
    "Normalized": "runlake.normalize._normalize",
    "NotAnActivity": "runlake._errors",
    "Problem": "runlake._errors",
    "QueryError": "runlake.query._query",
    "RECORDS": "runlake._schemas",
    "RunlakeError": "runlake._errors",
    "SourceInfo": "runlake.normalize._normalize",
    "TABLES": "runlake._schemas",
    "build_catalog": "runlake.query._query",
    "connect": "runlake.query._query",
    "decode_fit": "runlake.decode",
    "decode_gpx": "runlake.decode",
    "find_input_files": "runlake.ingest._ingest",
    "format_table": "runlake.query._query",
    "ingest_file": "runlake.ingest._ingest",
    "ingest_paths": "runlake.ingest._ingest",
    "load_config": "runlake._config",
    "normalize_fit": "runlake.normalize._normalize",
    "normalize_gpx": "runlake.normalize._normalize",
    "run_query": "runlake.query._query",
    "validate_athlete": "runlake.lake._store",
}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use: `import runlake.cli` stays quick (a flow
    command starts Prefect's server before it imports the data stack)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'runlake' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
