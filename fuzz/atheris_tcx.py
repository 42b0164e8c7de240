"""Coverage-guided fuzzing of TCX decode + normalize with atheris (libFuzzer).

    mkdir -p /tmp/tcx-corpus
    python -m fuzz.atheris_tcx /tmp/tcx-corpus ../shared/data/tcx -max_total_time=600

See ``fuzz/atheris_fit.py``.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

with atheris.instrument_imports(include=["runlake"]):
    from runlake._errors import DecodeError
    from runlake.decode import decode_tcx
    from runlake.normalize import SourceInfo, normalize_tcx

_INFO = SourceInfo("0" * 64, "atheris.tcx", datetime(2026, 1, 1, tzinfo=UTC))


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        normalize_tcx(decode_tcx(data, source="atheris.tcx"), _INFO)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
