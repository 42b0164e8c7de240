"""Cross-check: our columnar decoder against fitparse (the reference), file by file.

Every FIT file of tests/fixtures (small files runlake's own writer made, so the check runs
in every clone) and of the real corpus in ../shared/data/fit (when present) is decoded by
both; for the record, lap and session messages every column both decoders name is compared
value by value.  On the fixtures the check is strict: no problem, the same number of
messages, every value fitparse reads is one of ours and equal, and each file's shape
(message counts, the channels it carries, its developer fields) is as
tests/fixtures/make_fixtures.py wrote it.  The Stryd fixture's developer fields are checked
value for value against fitparse and the simulation, and through normalize into the
records columns they map to.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from runlake.decode import decode_fit
from runlake.normalize import SourceInfo, normalize_fit
from runlake.synth import STRYD_APP, STRYD_FIELDS, simulate, with_stryd

from ..conftest import FIT_DIR, corpus_available, corpus_file
from ..fixtures import make_fixtures

fitparse = pytest.importorskip("fitparse")

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures"
# Fixtures checked with fitparse only (not yet against our decoder), with the reason.
FITPARSE_ONLY = {
    make_fixtures.REDESCRIBED: "a brick: two sessions and a developer field described twice "
    "(test_redescribed_developer_field_as_runlake_reads_it compares it with fitparse)",
}
FIXTURES = sorted(p for p in FIXTURE_DIR.glob("*.fit") if p.name not in FITPARSE_ONLY)
FILES = sorted(FIT_DIR.iterdir()) if corpus_available() else []
COMPARED = ("record", "lap", "session")

_ALWAYS = {
    "record": {"timestamp", "distance", "enhanced_speed", "enhanced_altitude", "heart_rate"},
    "lap": {"timestamp", "start_time", "total_timer_time", "total_distance", "avg_cadence"},
    "session": {"total_elapsed_time", "total_timer_time", "avg_heart_rate", "max_cadence"},
}
_DYNAMICS = {
    "vertical_oscillation",
    "stance_time",
    "stance_time_balance",
    "step_length",
    "vertical_ratio",
}
_GPS = {"position_lat", "position_long"}
_STRYD = {f"dev:{f.name}" for f in STRYD_FIELDS}

# What make_fixtures.py wrote: message counts, and the record channels present (compared
# value by value) or absent (in neither decoder's output).
FIXTURE_SHAPES: dict[str, dict[str, object]] = {
    "easy-dynamics-power.fit": {
        "counts": {"record": 301, "lap": 1, "session": 1},
        "present": _DYNAMICS | _GPS | {"power", "cadence", "fractional_cadence"},
        "absent": set(),
    },
    "easy-pause-autolap.fit": {
        "counts": {"record": 481, "lap": 2, "session": 1},
        "present": _GPS,
        "absent": _DYNAMICS | {"power"},
        "heart_rate_nulls": 6,
        "pause_s": 75,
    },
    "workout-intervals-trail.fit": {
        "counts": {"record": 1021, "lap": 6, "session": 1},
        "present": _DYNAMICS | _GPS,
        "absent": {"power"},
    },
    "treadmill-no-gps.fit": {
        "counts": {"record": 121, "lap": 1, "session": 1},
        "present": _DYNAMICS,
        "absent": _GPS | {"power"},
    },
    "stryd-developer-fields.fit": {
        "counts": {"record": 241, "lap": 1, "session": 1},
        "present": _GPS | {"cadence", "fractional_cadence"},
        "absent": _DYNAMICS | {"power"},
        "developer": _STRYD,
    },
}

_CORPUS_ABSENT = pytest.param(
    None,
    False,
    marks=pytest.mark.skip(reason=f"real watch files ({FIT_DIR}) are not present"),
    id="corpus-absent",
)
PARAMS = [pytest.param(p, True, id=f"fixtures/{p.name}") for p in FIXTURES] + (
    [
        pytest.param(p, False, marks=[pytest.mark.corpus, pytest.mark.slow], id=p.name[-60:])
        for p in FILES
    ]
    or [_CORPUS_ABSENT]
)


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
                    # fitparse names a resolved subfield (lap.avg_running_cadence); we keep
                    # the field's own name (avg_cadence), so it is compared under both.
                    parent = getattr(fd, "parent_field", None)
                    for key in (name, parent.name) if parent is not None else (name,):
                        if row.get(key) is None:
                            row[key] = fd.value
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


@pytest.mark.parametrize(("path", "strict"), PARAMS)
def test_columns_match_fitparse(path: Path, strict: bool) -> None:
    """``strict`` for the fixtures: they must decode cleanly and completely."""
    ref = _reference(path)
    if not any(ref.values()):
        assert not strict, f"fitparse reads no record, lap or session message from {path.name}"
        pytest.skip("fitparse reads no record, lap or session message from this file")
    try:
        ours = decode_fit(path.read_bytes(), source=str(path), on_error="warn")
    except Exception as e:
        pytest.fail(f"fitparse reads {sum(map(len, ref.values()))} messages, we raise {e!r}")
    if strict:
        assert list(ours.problems) == []
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
        if strict:
            assert len(our_rows) == len(ref_rows) > 0, name
            theirs_named = {k for row in ref_rows for k, v in row.items() if v is not None}
            # a resolved subfield's own name (avg_running_cadence) is not a column of ours
            aliases = {k for k in theirs_named if not k.startswith("dev:")} - columns
            unmatched = {k for k in aliases if not _is_subfield(name, k)}
            assert not unmatched, f"{name}: fitparse reads {sorted(unmatched)}, we do not"
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
    if strict:
        _check_fixture_shape(path.name, ours.messages, ref)


def _is_subfield(message: str, name: str) -> bool:
    """Whether ``name`` is a subfield of a field of ``message`` in fitparse's profile."""
    for mtype in fitparse.profile.MESSAGE_TYPES.values():
        if mtype.name == message:
            return any(
                sub.name == name for f in mtype.fields.values() for sub in (f.subfields or ())
            )
    return False


def _check_fixture_shape(
    file_name: str,
    messages: dict[str, Any],
    ref: dict[str, list[dict[str, object]]],
) -> None:
    shape = FIXTURE_SHAPES.get(file_name)
    assert shape is not None, f"{file_name}: add its shape to FIXTURE_SHAPES"
    counts = {name: messages[name].num_rows for name in COMPARED}
    assert counts == shape["counts"]
    assert {name: len(rows) for name, rows in ref.items()} == shape["counts"]
    record_columns = set(messages["record"].column_names)
    present = cast(set[str], shape["present"]) | _ALWAYS["record"]
    absent = cast(set[str], shape["absent"])
    assert present <= record_columns, sorted(present - record_columns)
    assert not absent & record_columns, sorted(absent & record_columns)
    ref_names = {k for row in ref["record"] for k, v in row.items() if v is not None}
    assert present <= ref_names, sorted(present - ref_names)
    assert not absent & ref_names, sorted(absent & ref_names)
    developer = cast(set[str], shape.get("developer", set()))
    assert {c for c in record_columns if c.startswith("dev:")} == developer
    assert {k for k in ref_names if k.startswith("dev:")} == developer
    for name in ("lap", "session"):
        missing = _ALWAYS[name] - set(messages[name].column_names)
        assert not missing, f"{name}: {sorted(missing)}"
    heart_rate = messages["record"].column("heart_rate").to_pylist()
    assert heart_rate.count(None) == shape.get("heart_rate_nulls", 0)
    session = messages["session"].to_pylist()[0]
    pause = session["total_elapsed_time"] - session["total_timer_time"]
    assert pause == shape.get("pause_s", 0)
    assert session["total_timer_time"] == counts["record"] - 1
    laps = messages["lap"].to_pylist()
    assert sum(lap["total_timer_time"] for lap in laps) == session["total_timer_time"]


def test_fixture_shapes_are_all_present() -> None:
    """Every shape listed is a fixture file: deleting or renaming one fails here."""
    assert sorted(FIXTURE_SHAPES) == [p.name for p in FIXTURES]
    assert all((FIXTURE_DIR / name).is_file() for name in FITPARSE_ONLY)


# --------------------------------------------------------------------------- developer fields

STRYD_FIXTURE = FIXTURE_DIR / "stryd-developer-fields.fit"

# The record fields of Stryd's Connect IQ app as the real files describe them (e.g. the
# corpus's running-with-developer-data.fit, kaiteriteri.fit, portland.fit): number, name,
# base type, units, native field number.
REAL_STRYD_DESCRIPTIONS = [
    (0, "Power", "uint16", "Watts", 7),
    (2, "Cadence", "uint8", "RPM", 4),
    (3, "Ground Time", "uint16", "Milliseconds", 41),
    (4, "Vertical Oscillation", "float32", "Centimeters", 39),
    (7, "Elevation", "uint16", "Meters", None),
    (8, "Form Power", "uint16", "Watts", None),
    (9, "Leg Spring Stiffness", "float32", "kN/m", None),
]


def _fitparse_all(path: Path) -> list[Any]:
    return list(fitparse.FitFile(str(path), check_crc=True).get_messages())


def _stryd_descriptions(messages: list[Any]) -> list[tuple[object, ...]]:
    out = []
    for m in messages:
        if m.name == "field_description" and m.get_value("native_mesg_num") == "record":
            out.append(
                tuple(
                    m.get_value(k)
                    for k in (
                        "field_definition_number",
                        "field_name",
                        "fit_base_type_id",
                        "units",
                        "native_field_num",
                    )
                )
            )
    return out


def test_stryd_fixture_describes_the_fields_as_stryd_does() -> None:
    messages = _fitparse_all(STRYD_FIXTURE)
    (app,) = [m for m in messages if m.name == "developer_data_id"]
    assert app.get_value("developer_data_index") == 0
    assert bytes(app.get_value("application_id")) == STRYD_APP.application_id
    assert _stryd_descriptions(messages) == REAL_STRYD_DESCRIPTIONS


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["running-with-developer-data.fit", "kaiteriteri.fit"])
def test_real_stryd_files_describe_the_same_fields(name: str) -> None:
    """The table above is what real files carry (skips without ../shared/data)."""
    messages = _fitparse_all(corpus_file(name))
    apps = [bytes(m.get_value("application_id")) for m in messages if m.name == "developer_data_id"]
    assert STRYD_APP.application_id in apps
    assert _stryd_descriptions(messages) == REAL_STRYD_DESCRIPTIONS


def test_stryd_fixture_developer_values_match_fitparse_and_normalize() -> None:
    """Each developer value: fitparse's equals the simulated one and ours; normalize puts
    Power, Ground Time, Vertical Oscillation (cm -> mm), Form Power and Leg Spring Stiffness
    into the records columns it maps them to."""
    spec = make_fixtures.STRYD_SPECS[STRYD_FIXTURE.name]
    watch, expected = with_stryd(simulate(spec))
    records = [m for m in _fitparse_all(STRYD_FIXTURE) if m.name == "record"]
    assert len(records) == watch.n_records
    ours = decode_fit(STRYD_FIXTURE.read_bytes(), source=str(STRYD_FIXTURE))
    assert list(ours.problems) == []
    table = ours.messages["record"]
    theirs: dict[str, list[object]] = {}
    for field, values in expected.items():
        theirs[field.name] = [m.get_value(field.name) for m in records]
        assert None not in theirs[field.name], field.name
        assert theirs[field.name] == values.tolist(), field.name
        assert table.column(f"dev:{field.name}").to_pylist() == theirs[field.name], field.name
    norm = normalize_fit(
        ours, SourceInfo("0" * 64, STRYD_FIXTURE.name, datetime(2026, 3, 10, tzinfo=UTC))
    )
    rec = norm.records
    assert rec.num_rows == watch.n_records
    mapped = {
        "power_w": [float(v) for v in theirs["Power"]],
        "stance_time_ms": [float(v) for v in theirs["Ground Time"]],
        "vertical_oscillation_mm": [v * 10.0 for v in theirs["Vertical Oscillation"]],
        "form_power_w": [float(v) for v in theirs["Form Power"]],
        "leg_spring_stiffness_kn_m": theirs["Leg Spring Stiffness"],
    }
    for column, values in mapped.items():
        assert rec.column(column).to_pylist() == values, column
    # the watch's own channels stay its own: cadence from its cadence field, not Stryd's
    assert rec.column("cadence_spm").to_pylist() == watch.cadence_spm.tolist()
    assert rec.column("air_power_w").null_count == rec.num_rows


def test_redescribed_developer_field_as_fitparse_reads_it() -> None:
    """tests/fixtures/brick-dev-field-redescribed.fit: developer field (0, 0) is the
    bike's wprime_bal (J) until it is described again as Stryd's Power (W) for the run.
    Checked with fitparse only (see FITPARSE_ONLY)."""
    bike = simulate(make_fixtures.BRICK_BIKE)
    run = simulate(make_fixtures.BRICK_RUN)
    wbal, power = make_fixtures.brick_developer_values(bike, run)
    messages = _fitparse_all(FIXTURE_DIR / make_fixtures.REDESCRIBED)
    descriptions = [
        (m.get_value("developer_data_index"), m.get_value("field_definition_number"),
         m.get_value("field_name"), m.get_value("units"))
        for m in messages
        if m.name == "field_description"
    ]  # fmt: skip
    assert descriptions == [(0, 0, "wprime_bal", "J"), (0, 0, "Power", "Watts")]
    apps = [bytes(m.get_value("application_id")) for m in messages if m.name == "developer_data_id"]
    assert apps == [make_fixtures.WPRIME_APP.application_id, STRYD_APP.application_id]
    records = [m for m in messages if m.name == "record"]
    assert len(records) == bike.n_records + run.n_records
    dev = [
        {f.name: (f.value, f.units) for f in m.fields if f.field_type == "devfield"}
        for m in records
    ]
    assert dev[: bike.n_records] == [{"wprime_bal": (v, "J")} for v in wbal.tolist()]
    assert dev[bike.n_records :] == [{"Power": (v, "Watts")} for v in power.tolist()]
    assert len(set(wbal.tolist())) > 10  # a value that changes, not a constant
    sports = [m.get_value("sport") for m in messages if m.name == "session"]
    assert sports == ["cycling", "running"]


def test_redescribed_developer_field_as_runlake_reads_it() -> None:
    """runlake decodes each record with the description in force when its definition was
    read: the bike's records carry wprime_bal, the run's Power, as fitparse reads them."""
    bike = simulate(make_fixtures.BRICK_BIKE)
    run = simulate(make_fixtures.BRICK_RUN)
    wbal, power = make_fixtures.brick_developer_values(bike, run)
    fit = decode_fit((FIXTURE_DIR / make_fixtures.REDESCRIBED).read_bytes(), on_error="raise")
    rec = fit.messages["record"]
    assert rec.num_rows == bike.n_records + run.n_records
    w = rec.column("dev:wprime_bal").to_pylist()
    p = rec.column("dev:Power").to_pylist()
    assert w[: bike.n_records] == wbal.tolist()
    assert w[bike.n_records :] == [None] * run.n_records
    assert p[: bike.n_records] == [None] * bike.n_records
    assert p[bike.n_records :] == power.tolist()
    assert {d.name for d in fit.developer_fields.values()} >= {"wprime_bal", "Power"}
