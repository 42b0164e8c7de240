"""Developer fields described again in the middle of a file (a device that reuses field 0
of its app for another value, as in a triathlon: W' balance on the bike, Stryd power on
the run): each definition is decoded with the description in force when it was read, as
fitparse and fitdecode do."""

from __future__ import annotations

import io
import struct
import warnings

import pytest

from runlake.decode import decode_fit

from .conftest import T0, UINT8, UINT16, UINT32, definition, fit_file

FILE_ID, RECORD, FIELD_DESCRIPTION, DEVELOPER_DATA_ID = 0, 20, 206, 207
STRING = 0x07


def dev_definition(local: int, fields: list[tuple[int, int, int]], dev_size: int) -> bytes:
    """A record definition with developer field 0 of developer data index 0."""
    return (
        bytes((0x60 | local,)) + definition(local, RECORD, fields)[1:] + bytes((1, 0, dev_size, 0))
    )


def description(name: str, base_type: int, units: str) -> bytes:
    """A field_description message (local 2) of field 0 of developer data index 0."""
    return (
        bytes((2, 0, 0, base_type))
        + name.encode().ljust(16, b"\0")
        + units.encode().ljust(8, b"\0")
    )


def record(local: int, t: int, hr: int, dev: bytes) -> bytes:
    return bytes((local,)) + struct.pack("<IB", t, hr) + dev


RECORD_FIELDS = [(253, 4, UINT32), (3, 1, UINT8)]
HEAD = [
    definition(0, FILE_ID, [(0, 1, 0x00)]),
    bytes((0, 4)),  # an activity
    definition(3, DEVELOPER_DATA_ID, [(3, 1, UINT8)]),
    bytes((3, 0)),
    definition(
        2,
        FIELD_DESCRIPTION,
        [(0, 1, UINT8), (1, 1, UINT8), (2, 1, UINT8), (3, 16, STRING), (8, 8, STRING)],
    ),
]


def redescribed(wprime_type: int, wprime_size: int) -> tuple[bytes, list[int], list[int]]:
    """W' balance on 10 records, then field 0 described again as Power: 3 records still of
    the old definition (so still W' balance), then the record definition read again and
    10 records of power. Returns the file, the W' values and the power values."""
    wprime = [20000 - 150 * i for i in range(13)]
    power = [240 + 3 * i for i in range(10)]
    fmt = "<I" if wprime_size == 4 else "<H"
    parts = [
        *HEAD,
        description("wprime_bal", wprime_type, "J"),
        dev_definition(1, RECORD_FIELDS, wprime_size),
        *(record(1, T0 + i, 120 + i, struct.pack(fmt, w)) for i, w in enumerate(wprime[:10])),
        description("Power", UINT16, "watts"),
        *(record(1, T0 + 10 + i, 130, struct.pack(fmt, w)) for i, w in enumerate(wprime[10:])),
        dev_definition(1, RECORD_FIELDS, 2),
        *(record(1, T0 + 13 + i, 140, struct.pack("<H", p)) for i, p in enumerate(power)),
    ]
    return fit_file(*parts), wprime, power


def fitparse_values(data: bytes, name: str) -> list[object]:
    fitparse = pytest.importorskip("fitparse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = fitparse.FitFile(data).get_messages("record")
        return [
            next((f.value for f in m.fields if f.field_type == "devfield" and f.name == name), None)
            for m in records
        ]


def fitdecode_values(data: bytes, name: str) -> list[object]:
    fitdecode = pytest.importorskip("fitdecode")
    out: list[object] = []
    with fitdecode.FitReader(io.BytesIO(data)) as reader:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.name == "record":
                dev = [
                    f for f in frame.fields if type(f.field_def).__name__ == "DevFieldDefinition"
                ]
                out.append(next((f.value for f in dev if f.name == name), None))
    return out


@pytest.mark.parametrize(
    ("wprime_type", "wprime_size"),
    [(UINT16, 2), (UINT32, 4)],
    ids=["same-type (the same definition bytes)", "other-type"],
)
def test_a_field_described_again_applies_to_the_definitions_read_after(
    wprime_type: int, wprime_size: int
) -> None:
    data, wprime, power = redescribed(wprime_type, wprime_size)
    fit = decode_fit(data, on_error="raise")
    records = fit.messages["record"]
    assert records.num_rows == 23
    assert records["dev:wprime_bal"].to_pylist() == [*wprime, *[None] * 10]
    assert records["dev:Power"].to_pylist() == [*[None] * 13, *power]
    assert {k: (d.name, d.units) for k, d in fit.developer_fields.items()} == {
        "dev:wprime_bal": ("wprime_bal", "J"),
        "dev:Power": ("Power", "watts"),
    }
    for name in ("wprime_bal", "Power"):
        ours = records[f"dev:{name}"].to_pylist()
        assert ours == fitparse_values(data, name)
        assert ours == fitdecode_values(data, name)


def test_a_definition_read_before_its_field_is_described_takes_the_first_description() -> None:
    power = [250, 251, 252]
    data = fit_file(
        *HEAD,
        dev_definition(1, RECORD_FIELDS, 2),
        description("Power", UINT16, "watts"),
        *(record(1, T0 + i, 150, struct.pack("<H", p)) for i, p in enumerate(power)),
        description("Cadence", UINT16, "rpm"),
        *(record(1, T0 + 3 + i, 150, struct.pack("<H", 90)) for i in range(2)),
    )
    records = decode_fit(data, on_error="raise").messages["record"]
    assert records["dev:Power"].to_pylist() == [*power, 90, 90]
    assert "dev:Cadence" not in records.column_names
