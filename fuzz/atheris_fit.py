"""Coverage-guided fuzzing of FIT decode + normalize with atheris (libFuzzer).

    mkdir -p /tmp/fit-corpus
    python -m fuzz.atheris_fit /tmp/fit-corpus ../shared/data/fit \\
        -max_total_time=600 -timeout=20 -rss_limit_mb=2048

libFuzzer writes new interesting inputs to the first folder and reads seeds from the
others. Any exception other than runlake's DecodeError, a time-out or a memory blow-up is
a crash: libFuzzer stops and writes the input to ``crash-<sha1>``; replay it with
``python -m fuzz.atheris_fit crash-<sha1>``. Needs ``pip install atheris``.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

with atheris.instrument_imports(include=["runlake"]):
    from runlake._errors import DecodeError
    from runlake.decode import decode_fit
    from runlake.ingest._ingest import ACTIVITY_MESSAGES
    from runlake.normalize import SourceInfo, normalize_fit

_INFO = SourceInfo("0" * 64, "atheris.fit", datetime(2026, 1, 1, tzinfo=UTC))


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        fit = decode_fit(data, source="atheris.fit", messages=ACTIVITY_MESSAGES)
        normalize_fit(fit, _INFO)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
