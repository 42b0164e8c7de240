"""Cross-check: our columnar decoder against fitparse (the reference), file by file.

Every FIT file of the real corpus is decoded by both; for the record, lap and session
messages every column both decoders name is compared value by value.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runlake.decode import decode_fit

from .conftest import FIT_DIR, corpus_available

fitparse = pytest.importorskip("fitparse")

FILES = sorted(FIT_DIR.iterdir()) if corpus_available() else []
COMPARED = ("record", "lap", "session")


def _reference(path: Path) -> dict[str, list[dict[str, object]]]:
    """fitparse's messages (those it yields before any error), first non-null value wins."""
    out: dict[str, list[dict[str, object]]] = {name: [] for name in COMPARED}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ff = fitparse.FitFile(str(path))
            for msg in ff.get_messages(list(COMPARED)):
                row: dict[str, object] = {}
                for fd in msg.fields:
                    name = fd.name if fd.field_type != "devfield" else f"dev:{fd.name}"
                    if row.get(name) is None:
                        row[name] = fd.value
                out[msg.name].append(row)
        except Exception:
            pass
    return out


def _bitfield_names() -> set[tuple[int, str]]:
    names: set[tuple[int, str]] = set()
    for ftype in fitparse.profile.FIELD_TYPES.values():
        if ftype.values and ftype.base_type.name != "enum":
            names.update((int(k), str(v)) for k, v in ftype.values.items())
    return names


BITFIELD_NAMES = _bitfield_names()
RELATIVE_TIME_MAX = 0x10000000


def _same(ours: object, ref: object) -> bool:
    if isinstance(ref, int) and isinstance(ours, str):
        return ours == str(ref)  # an enum value the profile does not name
    if isinstance(ref, str) and isinstance(ours, int):
        # fitparse names a bit field's value when it equals one named mask; we keep numbers.
        return (ours, ref) in BITFIELD_NAMES
    if isinstance(ref, datetime):
        ref = ref.replace(tzinfo=UTC) if ref.tzinfo is None else ref
        return isinstance(ours, datetime) and ours == ref
    if isinstance(ref, tuple):
        ref_list = [None if v is None else v for v in ref]
        return (
            isinstance(ours, list)
            and len(ours) == len(ref_list)
            and all(_same(a, b) for a, b in zip(ours, ref_list, strict=True))
        )
    if isinstance(ref, int | float) and not isinstance(ref, bool):
        if not isinstance(ours, int | float):
            return False
        if isinstance(ref, float) and math.isnan(ref):
            return ours is None
        return math.isclose(float(ours), float(ref), rel_tol=1e-9, abs_tol=1e-9)
    return ours == ref


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.name[-60:] for p in FILES])
def test_columns_match_fitparse(path: Path) -> None:
    ref = _reference(path)
    if not any(ref.values()):
        pytest.skip("fitparse reads no record, lap or session message from this file")
    try:
        ours = decode_fit(path.read_bytes(), source=str(path), on_error="warn")
    except Exception as e:
        pytest.fail(f"fitparse reads {sum(map(len, ref.values()))} messages, we raise {e!r}")
    compared = 0
    for name in COMPARED:
        ref_rows = ref[name]
        table = ours.messages.get(name)
        our_rows = table.to_pylist() if table is not None else []
        # fitparse stops at the first error, so we salvage at least as much; except that
        # fitparse reads a last message that runs past the data into the CRC bytes, which we
        # drop as truncated (and say so).
        truncated = any(p.kind == "FitTruncatedError" for p in ours.problems)
        slack = 1 if truncated else 0
        assert len(our_rows) >= len(ref_rows) - slack, f"{name}: {len(our_rows)} < {len(ref_rows)}"
        columns = set(table.column_names) if table is not None else set()
        for i, (mine, theirs) in enumerate(zip(our_rows, ref_rows, strict=False)):
            for col in columns & theirs.keys():
                a, b = mine.get(col), theirs[col]
                if b is None and a is None:
                    continue
                if (
                    a is None
                    and isinstance(b, int)
                    and b < RELATIVE_TIME_MAX
                    and (col in ("timestamp", "start_time"))
                ):
                    continue  # a relative (device power-on) time: not a UTC time, so null
                assert _same(a, b), f"{name}[{i}].{col}: ours {a!r}, fitparse {b!r}"
                compared += 1
    assert compared > 0
