"""Developer fields in the FIT writer: the messages as the FIT protocol defines them, read
back by python-fitparse and by a minimal walk of the bytes; the Stryd run."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fitparse
import numpy as np
import pytest

from runlake.synth import (
    STRYD_APP,
    STRYD_FIELDS,
    DeveloperApp,
    DeveloperField,
    FitWriter,
    RunSpec,
    encode_messages,
    encode_run,
    field_spec,
    simulate,
    stryd_values,
    with_stryd,
)

from ..fixtures import make_fixtures

APP = DeveloperApp(index=2, application_id=bytes(range(16)), application_version=7)
WATTS = DeveloperField(APP, 0, "Watts Now", "uint16", "W", "record", "power")
STIFF = DeveloperField(APP, 5, "Stiffness", "float32", "kN/m", "record")
TILT = DeveloperField(APP, 6, "Tilt", "sint8", "deg")
UNUSED = DeveloperField(APP, 7, "Unused", "uint8")
T0 = 1_773_000_000


@dataclass(frozen=True)
class Walked:
    """One message of a FIT file, as the protocol lays it out."""

    definition: bool
    local: int
    global_num: int | None = None
    """Definitions only."""
    fields: tuple[tuple[int, int, int], ...] = ()
    """Definitions: (number, size, base type) of each field."""
    developer: tuple[tuple[int, int, int], ...] | None = None
    """Definitions with the developer-data flag: (number, size, developer_data_index)."""
    raw: bytes = b""


def _triples(data: bytes, pos: int, n: int) -> tuple[tuple[int, int, int], ...]:
    return tuple((data[p], data[p + 1], data[p + 2]) for p in range(pos, pos + 3 * n, 3))


def walk(data: bytes) -> list[Walked]:
    """The messages of a little-endian FIT file with normal headers only (what our writer
    writes), read by the protocol's layout alone."""
    assert data[8:12] == b".FIT"
    end = data[0] + int.from_bytes(data[4:8], "little")
    pos = data[0]
    sizes: dict[int, int] = {}
    out: list[Walked] = []
    while pos < end:
        header = data[pos]
        assert not header & 0x80, "compressed timestamp header"
        local = header & 0x0F
        if header & 0x40:
            start = pos
            assert data[pos + 2] == 0, "little-endian"
            global_num = int.from_bytes(data[pos + 3 : pos + 5], "little")
            n = data[pos + 5]
            pos += 6
            fields = _triples(data, pos, n)
            pos += 3 * n
            developer = None
            if header & 0x20:
                n_dev = data[pos]
                pos += 1
                developer = _triples(data, pos, n_dev)
                pos += 3 * n_dev
            sizes[local] = sum(f[1] for f in fields) + sum(f[1] for f in developer or ())
            out.append(Walked(True, local, global_num, fields, developer, data[start:pos]))
        else:
            out.append(Walked(False, local, raw=data[pos + 1 : pos + 1 + sizes[local]]))
            pos += 1 + sizes[local]
    assert pos == end
    return out


def fitparse_messages(data: bytes) -> list[Any]:
    return list(fitparse.FitFile(io.BytesIO(data), check_crc=True).get_messages())


def small_file(writer: FitWriter) -> bytes:
    writer.write(encode_messages("file_id", {"type": "activity", "time_created": T0}, local=0))
    return writer.to_bytes()


# ------------------------------------------------------------------------------- the messages


def test_developer_data_id_and_field_description_as_the_profile_defines_them() -> None:
    w = FitWriter()
    w.describe([WATTS, STIFF], local=9)
    msgs = fitparse_messages(small_file(w))
    assert [m.name for m in msgs] == [
        "developer_data_id",
        "field_description",
        "field_description",
        "file_id",
    ]
    app = {f.name: f.value for f in msgs[0].fields}
    assert app == {
        "application_id": tuple(range(16)),
        "developer_data_index": 2,
        "application_version": 7,
    }
    descs = [{f.name: f.value for f in m.fields} for m in msgs[1:3]]
    assert descs == [
        {
            "developer_data_index": 2,
            "field_definition_number": 0,
            "fit_base_type_id": "uint16",
            "field_name": "Watts Now",
            "units": "W",
            "native_mesg_num": "record",
            "native_field_num": field_spec("record", "power").def_num,
        },
        {
            "developer_data_index": 2,
            "field_definition_number": 5,
            "fit_base_type_id": "float32",
            "field_name": "Stiffness",
            "units": "kN/m",
            "native_mesg_num": "record",
        },
    ]


def test_the_app_is_written_once_per_index() -> None:
    w = FitWriter()
    w.describe([WATTS], local=9)
    w.describe([STIFF, TILT], local=9)
    names = [m.name for m in fitparse_messages(small_file(w))]
    assert names.count("developer_data_id") == 1
    assert names.count("field_description") == 3


def test_definition_has_the_developer_flag_and_the_values_follow_the_fields() -> None:
    w = FitWriter()
    w.describe([WATTS, STIFF, TILT], local=9)
    stiff = np.array([9.5, np.nan, 10.25])
    recs = encode_messages(
        "record",
        {"timestamp": np.arange(T0, T0 + 3), "heart_rate": np.array([120.0, 121.0, 122.0])},
        local=3,
        developer={WATTS: np.array([250, 260, 270]), STIFF: stiff, TILT: -3, UNUSED: None},
    )
    assert recs.developer == (WATTS, STIFF, TILT)
    w.write(recs)
    data = w.to_bytes()
    walked = [m for m in walk(data) if m.local == 3]
    definition = walked[0]
    assert definition.definition
    assert definition.raw[0] == 0x40 | 0x20 | 3
    assert definition.global_num == 20  # record
    assert definition.fields == ((253, 4, 0x86), (3, 1, 0x02))
    assert definition.developer == ((0, 2, 2), (5, 4, 2), (6, 1, 2))
    rows = [m.raw for m in walked[1:]]
    assert len(rows) == 3
    assert [int.from_bytes(r[5:7], "little") for r in rows] == [250, 260, 270]
    assert np.frombuffer(rows[0][7:11], "<f4")[0] == np.float32(9.5)
    assert rows[1][7:11] == b"\xff\xff\xff\xff"  # the float32 invalid value
    assert [np.frombuffer(r[11:12], "i1")[0] for r in rows] == [-3, -3, -3]
    decoded = [m for m in fitparse_messages(data) if m.name == "record"]
    assert [m.get_value("Watts Now") for m in decoded] == [250, 260, 270]
    assert [m.get_value("Stiffness") for m in decoded] == [9.5, None, 10.25]
    assert [m.get_value("Tilt") for m in decoded] == [-3, -3, -3]
    assert {f.units for m in decoded for f in m.fields if f.name == "Stiffness"} == {"kN/m"}


def test_a_developer_field_missing_throughout_is_left_out() -> None:
    recs = encode_messages(
        "record", {"heart_rate": 100}, local=3, developer={WATTS: np.array([np.nan, np.nan])}
    )
    assert recs.developer == ()
    assert recs.n == 2
    assert recs.definition[0] == 0x40 | 3  # no developer-data flag
    plain = encode_messages("record", {"heart_rate": np.array([100, 100])}, local=3)
    assert recs.definition == plain.definition
    assert recs.data == plain.data


def test_data_before_its_description_is_refused() -> None:
    recs = encode_messages("record", {"heart_rate": 100}, local=3, developer={WATTS: 200})
    w = FitWriter()
    with pytest.raises(ValueError, match="Watts Now"):
        w.write(recs)
    w.describe([WATTS], local=9)
    w.write(recs)
    other = DeveloperField(APP, 0, "Other", "uint16", "W")
    w.describe([other], local=9)  # (2, 0) described again: WATTS no longer
    with pytest.raises(ValueError, match="Watts Now"):
        w.write(recs)


def test_a_new_app_under_an_index_ends_the_old_apps_descriptions() -> None:
    w = FitWriter()
    w.describe([WATTS, STIFF], local=9)
    new_app = DeveloperApp(index=2, application_id=bytes(range(1, 17)))
    w.describe([DeveloperField(new_app, 0, "Pace", "uint16", "s/km")], local=9)
    stiff = encode_messages("record", {"heart_rate": 100}, local=3, developer={STIFF: 9.0})
    with pytest.raises(ValueError, match="Stiffness"):
        w.write(stiff)
    names = [m.name for m in fitparse_messages(small_file(w))]
    assert names.count("developer_data_id") == 2


def test_a_field_described_again_gets_a_new_definition_even_when_identical() -> None:
    """A definition refers to the description in force when it is read: after a new
    field_description the writer defines the local message again, though the bytes of
    the definition are the same (same number, size and index)."""
    first = DeveloperField(APP, 0, "wprime_bal", "uint16", "J")
    later = DeveloperField(APP, 0, "Power", "uint16", "Watts")
    w = FitWriter()
    w.describe([first], local=9)
    a = encode_messages(
        "record", {"timestamp": np.arange(T0, T0 + 2)}, local=3, developer={first: 20000}
    )
    w.write(a)
    w.describe([later], local=9)
    b = encode_messages(
        "record", {"timestamp": np.arange(T0 + 2, T0 + 4)}, local=3, developer={later: 250}
    )
    assert a.definition == b.definition
    w.write(b)
    w.write(b)  # no new description in between: no new definition
    data = w.to_bytes()
    record_definitions = [m for m in walk(data) if m.definition and m.global_num == 20]
    assert len(record_definitions) == 2
    assert record_definitions[0].raw == record_definitions[1].raw
    decoded = [m for m in fitparse_messages(data) if m.name == "record"]
    assert [
        [(f.name, f.value, f.units) for f in m.fields if f.name != "timestamp"] for m in decoded
    ] == [
        [("wprime_bal", 20000, "J")],
        [("wprime_bal", 20000, "J")],
        [("Power", 250, "Watts")],
        [("Power", 250, "Watts")],
        [("Power", 250, "Watts")],
        [("Power", 250, "Watts")],
    ]


def test_developer_field_validation() -> None:
    with pytest.raises(ValueError, match="base type"):
        DeveloperField(APP, 1, "Name", "string")
    with pytest.raises(ValueError, match=r"0\.\.254"):
        DeveloperField(APP, 255, "Name", "uint8")
    with pytest.raises(KeyError, match="no field"):
        DeveloperField(APP, 1, "Name", "uint8", native_message="record", native_field="nope")
    with pytest.raises(KeyError, match="no message"):
        DeveloperField(APP, 1, "Name", "uint8", native_message="nope")
    with pytest.raises(ValueError, match="needs a message"):
        DeveloperField(APP, 1, "Name", "uint8", native_field="power")
    with pytest.raises(ValueError, match="16 bytes"):
        DeveloperApp(index=0, application_id=b"short")
    with pytest.raises(ValueError, match=r"0\.\.254"):
        DeveloperApp(index=255)
    twin = DeveloperField(APP, WATTS.number, "Twin", "uint8")
    with pytest.raises(ValueError, match=r"\(2, 0\)"):
        encode_messages("record", {}, local=3, developer={WATTS: 1, twin: 2})
    with pytest.raises(ValueError, match="out of range"):
        encode_messages("record", {}, local=3, developer={TILT: 200})
    with pytest.raises(TypeError, match="numbers"):
        encode_messages("record", {}, local=3, developer={TILT: "x"})
    with pytest.raises(TypeError, match="byte fields"):
        encode_messages("record", {"heart_rate": b"\x01"}, local=3)


# ------------------------------------------------------------------------------- Stryd


STRYD_SPEC = RunSpec(
    start=datetime(2026, 4, 1, 6, 0, tzinfo=UTC),
    kind="easy",
    duration_s=600,
    base_speed_mps=3.0,
    base_hr_bpm=145.0,
    cadence_spm=172.0,
    power=True,
    seed=31,
)


def test_stryd_values_come_from_the_samples() -> None:
    s = simulate(STRYD_SPEC)
    v = {f.name: x for f, x in stryd_values(s).items()}
    assert list(v) == [f.name for f in STRYD_FIELDS]
    assert s.power_w is not None
    assert s.stance_time_ms is not None
    assert s.vertical_oscillation_mm is not None
    np.testing.assert_array_equal(v["Power"], s.power_w)
    np.testing.assert_array_equal(v["Cadence"], np.floor(s.cadence_spm / 2.0))
    np.testing.assert_array_equal(v["Ground Time"], np.rint(s.stance_time_ms))
    np.testing.assert_array_equal(
        v["Vertical Oscillation"], (s.vertical_oscillation_mm / 10.0).astype(np.float32)
    )
    np.testing.assert_array_equal(v["Elevation"], np.rint(s.altitude_m))
    # the two models: Stryd's magnitudes for a 68 kg runner at an easy pace
    assert 65.0 < float(np.median(v["Form Power"])) < 100.0
    assert 6.0 < float(np.median(v["Leg Spring Stiffness"])) < 12.0
    # more bounce, more form power; a longer contact, a softer spring
    bouncy = stryd_values(simulate(RunSpec(**{**_fields(STRYD_SPEC), "kind": "bouncy"})))
    assert np.median(bouncy[STRYD_FIELDS[5]]) > 1.3 * np.median(v["Form Power"])
    over = stryd_values(simulate(RunSpec(**{**_fields(STRYD_SPEC), "kind": "overstriding"})))
    assert np.median(over[STRYD_FIELDS[6]]) < np.median(v["Leg Spring Stiffness"])


def _fields(spec: RunSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}


def test_stryd_needs_power_and_running_dynamics() -> None:
    with pytest.raises(ValueError, match="power and running dynamics"):
        stryd_values(simulate(RunSpec(**{**_fields(STRYD_SPEC), "power": False})))
    with pytest.raises(ValueError, match="power and running dynamics"):
        with_stryd(simulate(RunSpec(**{**_fields(STRYD_SPEC), "running_dynamics": False})))


def test_stryd_run_file() -> None:
    """The watch's own fields without power and dynamics; the seven Stryd fields in every
    record, described after device_info and before the first record."""
    samples = simulate(STRYD_SPEC)
    watch, fields = with_stryd(samples)
    assert watch.power_w is None
    assert watch.vertical_oscillation_mm is None
    assert watch.stance_time_ms is None
    np.testing.assert_array_equal(watch.heart_rate_bpm, samples.heart_rate_bpm)
    np.testing.assert_array_equal(watch.distance_m, samples.distance_m)
    msgs = fitparse_messages(encode_run(watch, developer=fields))
    names = [m.name for m in msgs]
    assert names[:3] == ["file_id", "device_info", "developer_data_id"]
    assert names[3:10] == ["field_description"] * 7
    assert names.index("record") > 10
    (app,) = [m for m in msgs if m.name == "developer_data_id"]
    assert bytes(app.get_value("application_id")) == STRYD_APP.application_id
    records = [m for m in msgs if m.name == "record"]
    assert len(records) == samples.n_records
    for field, values in fields.items():
        got = [m.get_value(field.name) for m in records]
        assert got == values.tolist(), field.name
    own = {f.name for m in records for f in m.fields if f.field_type == "field"}
    assert not own & {"power", "vertical_oscillation", "stance_time", "step_length"}
    (session,) = [m for m in msgs if m.name == "session"]
    assert session.get_value("avg_power") is None
    assert math.isclose(session.get_value("total_timer_time"), samples.n_records - 1)


# ------------------------------------------------------------------------------- fixtures


def test_brick_fixture_defines_its_records_twice_with_the_same_bytes() -> None:
    """tests/fixtures/brick-dev-field-redescribed.fit: between the two identical record
    definitions come a new developer_data_id and a new field_description (0, 0)."""
    data = (make_fixtures.HERE / make_fixtures.REDESCRIBED).read_bytes()
    walked = walk(data)
    defs = [(i, m) for i, m in enumerate(walked) if m.definition and m.global_num == 20]
    assert len(defs) == 2
    (i, first), (j, second) = defs
    assert first.raw == second.raw
    assert first.developer == ((0, 2, 0),)
    between = {m.global_num for m in walked[i:j] if m.definition}
    assert {207, 206} <= between  # developer_data_id, field_description


def test_make_fixtures_regenerates_the_committed_files(tmp_path: Any) -> None:
    written = make_fixtures.main(tmp_path)
    committed = sorted(p.name for p in make_fixtures.HERE.iterdir() if p.suffix in {".fit", ".gpx"})
    assert sorted(p.name for p in written) == committed
    for path in written:
        assert path.read_bytes() == (make_fixtures.HERE / path.name).read_bytes(), path.name
