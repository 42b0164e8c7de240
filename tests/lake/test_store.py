"""The store stage: athlete names, atomic Parquet writes, commits and the lake layout."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runlake._errors import ContractError, LakeError
from runlake._schemas import ACTIVITIES, FILES, INGEST_ERRORS, LAPS, RECORDS
from runlake.lake import _fs as _lakefs
from runlake.lake._store import (
    FileCommit,
    Lake,
    conform,
    list_athletes,
    validate_athlete,
    write_parquet_atomic,
)

T0 = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def sha(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest()


def activities(h: str, *, sport: str = "running", distance_m: float = 10_000.0) -> pa.Table:
    return pa.table(
        {
            "activity_id": [f"{h[:16]}-0"],
            "file_sha256": [h],
            "session_index": pa.array([0], pa.int16()),
            "sport": [sport],
            "start_time": pa.array([T0], pa.timestamp("ms", tz="UTC")),
            "distance_m": [distance_m],
        }
    )


def records(h: str, n: int = 3) -> pa.Table:
    return pa.table(
        {
            "activity_id": [f"{h[:16]}-0"] * n,
            "timestamp": pa.array(
                [T0 + dt.timedelta(seconds=i) for i in range(n)], pa.timestamp("ms", tz="UTC")
            ),
            "speed_mps": [3.0 + i / 10 for i in range(n)],
        }
    )


def laps(h: str) -> pa.Table:
    return pa.table(
        {
            "activity_id": [f"{h[:16]}-0"],
            "lap_index": pa.array([0], pa.int16()),
            "start_time": pa.array([T0], pa.timestamp("ms", tz="UTC")),
            "distance_m": [1000.0],
        }
    )


def manifest(h: str, status: str = "ingested") -> pa.Table:
    return pa.table({"file_sha256": [h], "source_path": [f"{h[:6]}.fit"], "status": [status]})


def errors(h: str) -> pa.Table:
    return pa.table(
        {
            "file_sha256": [h],
            "severity": ["warning"],
            "stage": ["decode"],
            "message": ["bad CRC"],
            "byte_offset": [1234],
        }
    )


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- athletes


@pytest.mark.parametrize(
    "bad", ["../x", "a/b", "a\\b", ".hidden", "", "a" * 65, "a..b", "a b", "a=b", "é", "x*"]
)
def test_validate_athlete_rejects(bad: str) -> None:
    with pytest.raises(LakeError, match="invalid athlete name") as info:
        validate_athlete(bad)
    assert repr(bad) in str(info.value)
    assert "1-64" in str(info.value)


@pytest.mark.parametrize("good", ["anna", "ben-2", "x.y_z", "A" * 64, "0"])
def test_validate_athlete_accepts(good: str) -> None:
    assert validate_athlete(good) == good


# --------------------------------------------------------------------------- atomic writes


def test_write_parquet_atomic_writes_zstd_and_leaves_no_temp(tmp_path: Path) -> None:
    table = records(sha("a"))
    target = tmp_path / "new" / "x.parquet"
    write_parquet_atomic(table, target)
    assert os.listdir(target.parent) == ["x.parquet"]
    assert pq.read_table(target).equals(table)
    meta = pq.ParquetFile(target).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_write_parquet_atomic_replaces_existing(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"
    write_parquet_atomic(pa.table({"a": [1]}), target)
    write_parquet_atomic(pa.table({"a": [2, 3]}), target)
    assert pq.read_table(target).column("a").to_pylist() == [2, 3]
    assert os.listdir(tmp_path) == ["x.parquet"]


def test_failing_write_leaves_neither_temp_nor_target(tmp_path: Path) -> None:
    unwritable = pa.table({"a": pa.array([(1, 2, 3)], pa.month_day_nano_interval())})
    with pytest.raises(pa.ArrowNotImplementedError):
        write_parquet_atomic(unwritable, tmp_path / "x.parquet")
    assert os.listdir(tmp_path) == []


def test_failing_write_keeps_the_old_target(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"
    write_parquet_atomic(pa.table({"a": [1]}), target)
    unwritable = pa.table({"a": pa.array([(1, 2, 3)], pa.month_day_nano_interval())})
    with pytest.raises(pa.ArrowNotImplementedError):
        write_parquet_atomic(unwritable, target)
    assert os.listdir(tmp_path) == ["x.parquet"]
    assert pq.read_table(target).column("a").to_pylist() == [1]


def test_failing_fsync_leaves_neither_temp_nor_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        write_parquet_atomic(pa.table({"a": [1]}), tmp_path / "x.parquet")
    assert os.listdir(tmp_path) == []


def test_temp_file_is_invisible_to_duckdb_glob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the temp file exists, DuckDB's *.parquet and **/*.parquet globs do not see it."""
    seen: list[tuple[str, int, int]] = []
    real_replace = os.replace

    def spying_replace(src: str | Path, dst: str | Path) -> None:
        con = duckdb.connect()
        flat = con.execute("select count(*) from glob(?)", [f"{tmp_path}/*.parquet"]).fetchone()
        deep = con.execute("select count(*) from glob(?)", [f"{tmp_path}/**/*.parquet"]).fetchone()
        con.close()
        assert flat is not None
        assert deep is not None
        seen.append((Path(src).name, flat[0], deep[0]))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)
    write_parquet_atomic(pa.table({"a": [1]}), tmp_path / "x.parquet")
    assert len(seen) == 1
    name, flat, deep = seen[0]
    assert name.startswith(".x.parquet.")
    assert name.endswith(".tmp")
    assert (flat, deep) == (0, 0)


# --------------------------------------------------------------------------- conform


def test_conform_missing_column_is_null_and_order_follows_schema() -> None:
    t = pa.table({"distance_m": [5.0], "activity_id": ["a-0"]})
    out = conform(t, ACTIVITIES)
    assert out.schema == ACTIVITIES
    assert out.column_names[:2] == ["activity_id", "file_sha256"]
    assert out.column("activity_id").to_pylist() == ["a-0"]
    assert out.column("distance_m").to_pylist() == [5.0]
    assert out.column("avg_hr_bpm").to_pylist() == [None]
    assert out.column("developer_fields").to_pylist() == [None]


def test_conform_casts_to_the_schema_types() -> None:
    t = pa.table({"lap_index": pa.array([3], pa.int64()), "distance_m": pa.array([7], pa.int64())})
    out = conform(t, LAPS)
    assert out.schema.field("lap_index").type == pa.int16()
    assert out.column("distance_m").to_pylist() == [7.0]
    assert out.schema.field("distance_m").metadata == {b"description": b"distance, metres"}


def test_conform_extra_column_raises() -> None:
    t = pa.table({"activity_id": ["a-0"], "pace_min_km": [5.0]})
    with pytest.raises(ContractError, match="pace_min_km"):
        conform(t, RECORDS, name="records")


def test_conform_lossy_cast_raises() -> None:
    t = pa.table({"lap_index": pa.array([70_000], pa.int64())})
    with pytest.raises(ContractError, match="lap_index"):
        conform(t, LAPS)


def test_conform_naive_timestamp_raises() -> None:
    t = pa.table({"timestamp": pa.array([T0.replace(tzinfo=None)], pa.timestamp("ms"))})
    with pytest.raises(ContractError, match="naive"):
        conform(t, RECORDS)


# --------------------------------------------------------------------------- Lake


def test_lake_creates_root_and_rejects_a_file(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "a" / "lake")
    assert lake.root == (tmp_path / "a" / "lake").resolve()
    assert lake.root.is_dir()
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(LakeError, match="not a folder"):
        Lake(f)


def one(
    h: str,
    *,
    year: int | None = 2024,
    tables: dict[str, pa.Table] | None = None,
    status: str = "ingested",
    errs: pa.Table | None = None,
) -> FileCommit:
    return FileCommit(
        sha256=h,
        year=year,
        tables=tables if tables is not None else {"records": records(h)},
        manifest=manifest(h, status),
        errors=errs,
    )


def test_commit_batch_writes_the_layout(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    h, g = sha("one"), sha("two")
    assert not lake.is_ingested("anna", h)
    batch = lake.commit_batch(
        "anna",
        [
            one(
                h,
                tables={"activities": activities(h), "laps": laps(h), "records": records(h)},
                errs=errors(h),
            ),
            one(g, year=2023),
        ],
        batch="20260101T000000-abcd",
    )
    assert batch == "20260101T000000-abcd"
    part = f"part-{batch}.parquet"
    assert files_under(tmp_path) == [
        f"activities/athlete=anna/year=2024/{part}",
        f"files/athlete=anna/{part}",
        f"ingest_errors/athlete=anna/{part}",
        f"laps/athlete=anna/year=2024/{part}",
        f"records/athlete=anna/year=2023/{part}",
        f"records/athlete=anna/year=2024/{part}",
    ]
    assert lake.is_ingested("anna", h)
    assert lake.is_ingested("anna", g)
    assert not lake.is_ingested("ben", h)
    assert Lake(tmp_path).ingested_hashes("anna") == {h, g}  # read back from the manifests
    assert lake.ingested_hashes("ben") == set()
    stored = pq.read_table(tmp_path / f"records/athlete=anna/year=2024/{part}")
    # the partition columns are not in the files
    assert stored.schema.names == RECORDS.names
    assert stored.column("speed_mps").to_pylist() == [3.0, 3.1, 3.2]
    man = pq.read_table(tmp_path / f"files/athlete=anna/{part}")
    assert man.schema.names == FILES.names
    assert sorted(man.column("file_sha256").to_pylist()) == sorted([h, g])
    err = pq.read_table(tmp_path / f"ingest_errors/athlete=anna/{part}")
    assert err.schema.names == INGEST_ERRORS.names
    assert err.column("byte_offset").to_pylist() == [1234]


def test_commit_stages_the_parts_writes_the_manifest_then_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[object, ...]] = []
    real_write = _lakefs.write_parquet_atomic
    real_stage = _lakefs.LocalFS.stage_parquet
    real_publish = _lakefs.LocalFS.publish

    def visible() -> list[str]:
        return sorted(p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("part-*.parquet"))

    def write(table: pa.Table, path: Path, *, sync: bool = True) -> None:
        # the commit: no part is under its name yet, so a reader of the folders sees none
        events.append(("manifest", path.relative_to(tmp_path).parts[0], visible()))
        real_write(table, path, sync=sync)

    def stage(self: _lakefs.LocalFS, table: pa.Table, rel: str) -> str:
        events.append(("stage", rel.split("/", maxsplit=1)[0]))
        return real_stage(self, table, rel)

    def publish(self: _lakefs.LocalFS, rels: list[str]) -> None:
        events.append(("publish", [r.split("/")[0] for r in rels], visible()))
        real_publish(self, rels)

    monkeypatch.setattr(_lakefs, "write_parquet_atomic", write)
    monkeypatch.setattr(_lakefs.LocalFS, "stage_parquet", stage)
    monkeypatch.setattr(_lakefs.LocalFS, "publish", publish)
    h = sha("order")
    Lake(tmp_path).commit_batch(
        "anna",
        [
            one(
                h,
                tables={"records": records(h), "laps": laps(h), "activities": activities(h)},
                errs=errors(h),
            )
        ],
    )
    tables = ["activities", "ingest_errors", "laps", "records"]
    assert events == [
        *(("stage", t) for t in tables),
        ("manifest", "files", []),
        ("publish", tables, ["files"]),
    ]
    assert visible() == ["activities", "files", "ingest_errors", "laps", "records"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_committing_a_committed_file_again_is_refused(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    h = sha("twice")
    lake.commit_batch("anna", [one(h)])
    with pytest.raises(ContractError, match="already committed"):
        lake.commit_batch("anna", [one(h)])
    with pytest.raises(ContractError, match="twice in the batch"):
        lake.commit_batch("anna", [one(sha("x")), one(sha("x"))])
    assert len(files_under(tmp_path)) == 2


def test_commit_without_data_needs_no_year(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    h = sha("settings")
    empty = conform(pa.table({}), RECORDS)
    batch = lake.commit_batch(
        "anna", [one(h, year=None, tables={"records": empty}, status="skipped", errs=errors(h))]
    )
    assert files_under(tmp_path) == [
        f"files/athlete=anna/part-{batch}.parquet",
        f"ingest_errors/athlete=anna/part-{batch}.parquet",
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"year": None}, ValueError, "1..9999"),
        ({"year": 0}, ValueError, "1..9999"),
        ({"tables": {"sessions": pa.table({"a": [1]})}}, ValueError, "unknown data tables"),
        ({"tables": {"records": pa.table({"bogus": [1]})}}, ValueError, "bogus"),
        ({"manifest": manifest(sha("other"))}, ValueError, "sha256"),
        ({"manifest": conform(pa.table({}), FILES)}, ValueError, "sha256"),
        ({"errors": pa.table({"oops": ["x"]})}, ValueError, "oops"),
        ({"sha256": "../../etc"}, LakeError, "invalid sha256"),
    ],
)
def test_commit_rejects_bad_input_before_writing(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    h = sha("bad")
    args: dict[str, Any] = {
        "sha256": h,
        "year": 2024,
        "tables": {"records": records(h)},
        "manifest": manifest(h),
        "errors": None,
    }
    args.update(kwargs)
    lake = Lake(tmp_path)
    good = one(sha("good"))
    with pytest.raises(error, match=match):
        lake.commit_batch("anna", [good, FileCommit(**args)])
    assert files_under(tmp_path) == []


def test_bad_athlete_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LakeError, match="invalid athlete"):
        Lake(tmp_path).commit_batch("../evil", [one(sha("a"))])
    assert files_under(tmp_path) == []


def test_a_killed_batch_is_not_ingested_and_recover_removes_its_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path)
    kept = sha("kept")
    lake.commit_batch("anna", [one(kept)])
    real = _lakefs.write_parquet_atomic

    def die_at_manifest(table: pa.Table, path: Path, *, sync: bool = True) -> None:
        if path.parts[-3] == "files":
            raise OSError(28, "No space left on device")
        real(table, path, sync=sync)

    monkeypatch.setattr(_lakefs, "write_parquet_atomic", die_at_manifest)
    lost = sha("lost")
    with pytest.raises(OSError, match="No space"):
        lake.commit_batch("anna", [one(lost, errs=errors(lost))])
    monkeypatch.setattr(_lakefs, "write_parquet_atomic", real)
    fresh = Lake(tmp_path)
    assert not fresh.is_ingested("anna", lost)
    assert fresh.is_ingested("anna", kept)
    assert len(files_under(tmp_path)) == 4  # kept: records + files; lost: records + errors
    assert fresh.recover() == 2
    assert len(files_under(tmp_path)) == 2
    fresh.commit_batch("anna", [one(lost)])
    assert fresh.ingested_hashes("anna", refresh=True) == {kept, lost}


def test_athletes_are_listed(tmp_path: Path) -> None:
    assert list_athletes(tmp_path / "missing") == []
    lake = Lake(tmp_path)
    assert lake.athletes() == []
    for athlete, tag in [("ben-2", "b"), ("anna", "a")]:
        lake.commit_batch(athlete, [one(sha(tag))])
    (tmp_path / "records" / "athlete=..bad").mkdir()
    assert lake.athletes() == ["anna", "ben-2"]
    assert list_athletes(tmp_path) == ["anna", "ben-2"]


def test_cleanup_temp_removes_only_old_temp_files(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    h = sha("tmp")
    b = lake.commit_batch("anna", [one(h)])
    folder = tmp_path / "records" / "athlete=anna" / "year=2024"
    old = folder / f".{h}.parquet.abc123.tmp"
    old_wal = tmp_path / ".catalog.abc.duckdb.tmp.wal"
    fresh = folder / f".{h}.parquet.def456.tmp"
    for p in (old, old_wal, fresh):
        p.write_bytes(b"partial")
    past = time.time() - 3600
    os.utime(old, (past, past))
    os.utime(old_wal, (past, past))
    assert lake.cleanup_temp(max_age_s=600) == 2
    assert not old.exists()
    assert not old_wal.exists()
    assert fresh.exists()
    assert lake.cleanup_temp(max_age_s=0) == 1
    assert files_under(tmp_path) == [
        f"files/athlete=anna/part-{b}.parquet",
        f"records/athlete=anna/year=2024/part-{b}.parquet",
    ]
