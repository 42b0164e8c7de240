"""One error tree for runlake (modelled on fitdecode's): every error class runlake raises.

Every error that concerns an input file carries the file (``source``) and, where it is
known, the byte offset at which the problem was found.  Strictness is a parameter
(``on_error``) of the functions that can either raise or record a problem; nothing is
swallowed silently.  A recorded problem names its kind (:class:`ProblemKind`, the
``problem`` column of ``ingest_errors``).  The CLI turns every :class:`RunlakeError` into
one line naming the problem, and exits with its ``exit_code`` (1; 2 for bad usage).

    RunlakeError
    ├── ConfigError          a bad configuration value (names the key)
    │   └── ThresholdsError  the flags' thresholds file is missing or invalid (exit 2)
    ├── ContractError        a table breaks its schema (also a ValueError)
    ├── LakeError            the lake folder or an athlete name is unusable
    │   └── LakeBusy         another writer holds the lock
    ├── QueryError           a query failed (DuckDB's message)
    ├── ReportError          the report cannot be made
    ├── FlowError            a flow command could not run
    │   └── ServerError      Prefect's local server did not start
    └── DecodeError          an input file could not be decoded (source, offset)
        ├── NotAnActivity
        ├── GpxError
        ├── TcxError
        ├── ArchiveError     an archive or compressed member cannot be read
        ├── InputTooLarge    a file or member past ingest.max_file_bytes (a bomb?)
        └── FitError
            ├── FitHeaderError, FitCRCError, FitTruncatedError, FitDefinitionError
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Literal

__all__ = [
    "ArchiveError",
    "ConfigError",
    "ContractError",
    "DecodeError",
    "FitCRCError",
    "FitDefinitionError",
    "FitError",
    "FitHeaderError",
    "FitTruncatedError",
    "FlowError",
    "GpxError",
    "InputTooLarge",
    "LakeBusy",
    "LakeError",
    "NotAnActivity",
    "OnError",
    "Problem",
    "ProblemKind",
    "QueryError",
    "ReportError",
    "RunlakeError",
    "ServerError",
    "TcxError",
    "ThresholdsError",
    "decode_error_class",
]

OnError = Literal["raise", "warn"]
"""``raise``: the first problem raises; ``warn``: salvage what is valid and record a Problem."""


class RunlakeError(Exception):
    """Base class of every error runlake raises on purpose."""

    exit_code: ClassVar[int] = 1
    """The command line's exit code for it: 1, the run failed; 2, bad usage."""


class ConfigError(RunlakeError):
    """A bad configuration value: names the key and the problem."""


class ThresholdsError(ConfigError):
    """The flags' thresholds (config/flags.toml, or the file of ``flags.overrides`` or
    ``RUNLAKE_FLAGS``) are missing or invalid: names the file or the key. Bad usage: every
    command that loads the thresholds stops with one line and exit code 2."""

    exit_code: ClassVar[int] = 2


class LakeError(RunlakeError):
    """The lake folder or an athlete name is unusable."""


class LakeBusy(LakeError):
    """Another writer holds the lake's writer lock (and waiting for it timed out)."""


class ContractError(RunlakeError, ValueError):
    """A table does not fit its schema in runlake._schemas, or a batch breaks the lake's
    rules (a file committed twice, an unknown table): a bug in the caller, not in a file."""


class QueryError(RunlakeError):
    """A query failed; the message is DuckDB's."""


class ReportError(RunlakeError):
    """The report cannot be made (unknown run, no runs, bad arguments)."""


class FlowError(RunlakeError):
    """A flow command could not run (no Prefect API, a failed flow run...)."""


class ServerError(FlowError):
    """Prefect's local server did not start (the message says why)."""


class ProblemKind(StrEnum):
    """What was wrong with a file: the ``problem`` of each ``ingest_errors`` row.

    A rejected or skipped file's kind is the name of the error it raised; a file ingested
    with a warning has one of the salvage kinds below.
    """

    # errors: the file is rejected (or skipped: NOT_AN_ACTIVITY)
    DECODE = "DecodeError"
    NOT_AN_ACTIVITY = "NotAnActivity"
    FIT = "FitError"
    FIT_HEADER = "FitHeaderError"
    FIT_CRC = "FitCRCError"
    FIT_TRUNCATED = "FitTruncatedError"
    FIT_DEFINITION = "FitDefinitionError"
    GPX = "GpxError"
    TCX = "TcxError"
    ARCHIVE = "ArchiveError"
    TOO_LARGE = "InputTooLarge"
    # warnings: the file is ingested, what is valid is kept
    FIT_FIELD_TYPE = "FitFieldType"
    LOCAL_TIME_AS_UTC = "LocalTimeAsUtc"
    NO_SESSION = "NoSession"
    NO_START_TIME = "NoStartTime"
    NO_UTC_TIME = "NoUtcTime"
    TIME_ANOMALY = "TimeAnomaly"
    TOO_MANY_LAPS = "TooManyLaps"


class DecodeError(RunlakeError):
    """An input file could not be decoded. ``source`` names the file, ``offset`` the byte."""

    kind: ClassVar[ProblemKind] = ProblemKind.DECODE

    def __init__(self, message: str, *, source: str = "", offset: int | None = None) -> None:
        self.message = message
        self.source = source
        self.offset = offset
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f" at byte {self.offset}" if self.offset is not None else ""
        src = f"{self.source}: " if self.source else ""
        return f"{src}{self.message}{where}"


class NotAnActivity(DecodeError):
    """A valid file that holds no activity (settings, workout, monitoring, course...)."""

    kind = ProblemKind.NOT_AN_ACTIVITY


class FitError(DecodeError):
    """Base class of FIT decoding errors."""

    kind = ProblemKind.FIT


class FitHeaderError(FitError):
    """Not a FIT file, or its header is corrupt."""

    kind = ProblemKind.FIT_HEADER


class FitCRCError(FitError):
    """A header or file CRC does not match."""

    kind = ProblemKind.FIT_CRC


class FitTruncatedError(FitError):
    """The file ends before its header says it should."""

    kind = ProblemKind.FIT_TRUNCATED


class FitDefinitionError(FitError):
    """A data message refers to an undefined local message, or a definition is corrupt."""

    kind = ProblemKind.FIT_DEFINITION


class GpxError(DecodeError):
    """Malformed or unsafe GPX."""

    kind = ProblemKind.GPX


class ArchiveError(DecodeError):
    """An archive (zip) or a compressed member (.gz) cannot be read: corrupt, truncated,
    encrypted, an unsupported format or method, a member named outside the archive, or
    archives nested too deep. The rest of the archive is read."""

    kind = ProblemKind.ARCHIVE


class InputTooLarge(DecodeError):
    """A file, or an archive member once decompressed, is larger than
    ``ingest.max_file_bytes``: refused as soon as the limit is passed (a decompression
    bomb is never read into memory)."""

    kind = ProblemKind.TOO_LARGE


class TcxError(DecodeError):
    """Malformed or unsafe TCX (Garmin Training Center XML)."""

    kind = ProblemKind.TCX


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem recorded instead of raised (``on_error="warn"``)."""

    kind: ProblemKind
    """What it is: the error it would have raised (``FitCRCError``) or a salvage kind."""
    message: str
    offset: int | None = None

    @classmethod
    def of(cls, error: DecodeError) -> Problem:
        """The problem an error stands for (its kind, message and offset)."""
        return cls(error.kind, error.message, error.offset)

    def describe(self) -> str:
        where = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{self.kind}: {self.message}{where}"


def decode_error_class(kind: ProblemKind) -> type[DecodeError]:
    """The error class of a kind (DecodeError for a salvage kind)."""
    for cls in _decode_errors(DecodeError):
        if cls.kind is kind:
            return cls
    return DecodeError


def _decode_errors(base: type[DecodeError]) -> list[type[DecodeError]]:
    out = [base]
    for sub in base.__subclasses__():
        out += _decode_errors(sub)
    return out
