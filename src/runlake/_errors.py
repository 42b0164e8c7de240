"""One error tree for runlake (modelled on fitdecode's).

Every error that concerns an input file carries the file (``source``) and, where it is
known, the byte offset at which the problem was found.  Strictness is a parameter
(``on_error``) of the functions that can either raise or record a problem; nothing is
swallowed silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ConfigError",
    "DecodeError",
    "FitCRCError",
    "FitDefinitionError",
    "FitError",
    "FitHeaderError",
    "FitTruncatedError",
    "GpxError",
    "LakeBusy",
    "LakeError",
    "NotAnActivity",
    "OnError",
    "Problem",
    "RunlakeError",
]

OnError = Literal["raise", "warn"]
"""``raise``: the first problem raises; ``warn``: salvage what is valid and record a Problem."""


class RunlakeError(Exception):
    """Base class of every error runlake raises on purpose."""


class ConfigError(RunlakeError):
    """A bad configuration value: names the key and the problem."""


class LakeError(RunlakeError):
    """The lake folder or an athlete name is unusable."""


class LakeBusy(LakeError):
    """Another writer holds the lake's writer lock (and waiting for it timed out)."""


class DecodeError(RunlakeError):
    """An input file could not be decoded. ``source`` names the file, ``offset`` the byte."""

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


class FitError(DecodeError):
    """Base class of FIT decoding errors."""


class FitHeaderError(FitError):
    """Not a FIT file, or its header is corrupt."""


class FitCRCError(FitError):
    """A header or file CRC does not match."""


class FitTruncatedError(FitError):
    """The file ends before its header says it should."""


class FitDefinitionError(FitError):
    """A data message refers to an undefined local message, or a definition is corrupt."""


class GpxError(DecodeError):
    """Malformed or unsafe GPX."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem recorded instead of raised (``on_error="warn"``)."""

    kind: str
    """Name of the error class it would have raised, e.g. ``FitCRCError``."""
    message: str
    offset: int | None = None

    def describe(self) -> str:
        where = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{self.kind}: {self.message}{where}"
