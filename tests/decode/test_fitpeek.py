"""The FIT file type read from file_id alone: the same answer as decoding the file."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from runlake.decode import decode_fit, fit_file_type
from runlake.synth import FitWriter, encode_messages

from ..conftest import FIT_DIR, requires_corpus

FIT_EPOCH_S = 631065600


def _file(ftype: str | None, *, dev: bool = False, before: int = 0) -> bytes:
    """A FIT file whose file_id has type ``ftype`` (None: no type field), after ``before``
    other definitions, its file_id definition with developer fields when ``dev``."""
    w = FitWriter()
    for i in range(before):
        w.write(encode_messages("event", {"timestamp": FIT_EPOCH_S + i, "event": "timer"}, local=3))
    columns: dict[str, object] = {"manufacturer": "garmin", "serial_number": 1234}
    if ftype is not None:
        columns["type"] = ftype
    fid = encode_messages("file_id", columns, local=0)
    if dev:  # one developer field of 3 bytes after the regular fields
        definition = bytearray(fid.definition)
        definition[0] |= 0x20
        definition += bytes((1, 0, 3, 0))
        fid = replace(
            fid, definition=bytes(definition), data=fid.data + b"abc", row_size=fid.row_size + 3
        )
    w.write(fid)
    t = FIT_EPOCH_S + 1_000_000_000 + np.arange(50)
    w.write(encode_messages("record", {"timestamp": t, "heart_rate": 120}, local=1))
    return w.to_bytes()


@pytest.mark.parametrize("ftype", ["activity", "monitoring_b", "settings", "workout", "sport"])
def test_the_type_of_generated_files(ftype: str) -> None:
    data = _file(ftype)
    assert fit_file_type(data) == ftype
    assert decode_fit(data).messages["file_id"]["type"][0].as_py() == ftype
    assert fit_file_type(_file(ftype, before=3)) == ftype


def test_unusual_files_give_none_and_are_decoded_instead() -> None:
    assert fit_file_type(b"") is None
    assert fit_file_type(b"not a fit file at all") is None
    assert fit_file_type(_file(None)) is None  # file_id without a type
    cut = _file("activity")
    assert fit_file_type(cut[:16]) is None  # ends before file_id
    assert fit_file_type(_file("activity", before=20)) is None  # file_id not among the first


def test_the_file_id_may_have_developer_fields() -> None:
    assert fit_file_type(_file("monitoring_b", dev=True)) == "monitoring_b"


@requires_corpus
@pytest.mark.corpus
def test_every_corpus_file_gives_what_the_decoder_gives() -> None:
    checked = 0
    for path in sorted(FIT_DIR.iterdir()):
        data = path.read_bytes()
        peek = fit_file_type(data)
        if peek is None:
            continue
        fid = decode_fit(data, messages={"file_id"}).messages["file_id"]
        assert peek == str(fid["type"][0].as_py()), path.name
        checked += 1
    assert checked >= 150
