"""The store stage: atomic, batched Parquet writes into a hive-partitioned lake folder.

Layout (files are committed in batches; each batch writes one part per table and year)::

    <lake>/activities/athlete=<a>/year=<y>/part-<batch>.parquet
    <lake>/laps/athlete=<a>/year=<y>/part-<batch>.parquet
    <lake>/records/athlete=<a>/year=<y>/part-<batch>.parquet
    <lake>/ingest_errors/athlete=<a>/part-<batch>.parquet
    <lake>/files/athlete=<a>/part-<batch>.parquet      # the batch's manifest, written last

The manifest lists the sha256 of every source file of the batch: it is the commit. The
partition columns (``athlete``, ``year``) live only in the folder names. Every file is
written to a dot-named temporary file ending in ``.tmp`` (DuckDB's ``*.parquet`` glob matches
dot-files, so the temporary name must not end in ``.parquet``) and renamed over the target.

A batch is committed in three steps (:meth:`Lake.commit_batch`): its parts are *staged*
(in a local lake under ``.part-<batch>.parquet.staged.tmp``, which no reader of the folders
reads) and fsynced; its manifest is written (the commit); its parts are *published*
(renamed to ``part-<batch>.parquet``). So a reader of the Parquet folders (pyarrow, polars,
a DuckDB glob) never sees a part of a batch that is not committed. Between the commit and
the last rename (microseconds; or, when the writer dies there, until the next writer
finishes the renames in :meth:`Lake.recover`) it may see a committed batch without all of
its parts; runlake's own views (:func:`list_committed`) and :meth:`Lake.committed_files`
leave such a batch out until it is whole. On object storage (no rename) parts are
uploaded under their names, before the manifest: readers there use
:meth:`Lake.committed_files` or the catalog.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from runlake._errors import ContractError, LakeError
from runlake._schemas import TABLES
from runlake.lake._fs import (
    LOCK_NAME,
    STAGED_SUFFIX,
    LakeFS,
    LakeLocation,
    ObjectFS,
    open_fs,
    staged_rel,
    unstaged_rel,
    write_parquet_atomic,
)
from runlake.lake._layout import (
    BATCHED_TABLES,
    DATA_TABLES,
    DERIVED_TABLES,
    PARTITIONED_BY_YEAR,
    batch_of,
    list_committed,
)

if TYPE_CHECKING:
    import pyarrow.dataset as ds

__all__ = [
    "BATCHED_TABLES",
    "DATA_TABLES",
    "DERIVED_TABLES",
    "LOCK_NAME",
    "PARTITIONED_BY_YEAR",
    "FileCommit",
    "Lake",
    "LakeLocation",
    "conform",
    "list_athletes",
    "list_committed",
    "new_batch_id",
    "validate_athlete",
    "write_parquet_atomic",
    "writer_lock",
]

_ATHLETE_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}", re.ASCII)
_SHA256_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_STATE_RE = re.compile(r"[A-Za-z0-9_.\-]{1,100}", re.ASCII)


@cache
def _year_partitioning() -> ds.Partitioning:
    import pyarrow.dataset as ds  # noqa: PLC0415 -- only for a filtered read

    return ds.partitioning(pa.schema([("year", pa.int32())]), flavor="hive")


def validate_athlete(name: str) -> str:
    """Return ``name`` if it is a usable athlete name, else raise :class:`LakeError`.

    Rule: 1-64 ASCII letters, digits, ``_``, ``.`` or ``-``; not starting with ``.``;
    no ``..``.  (So no path separators, no ``=``, nothing a shell or a glob would expand.)
    """
    rule = (
        "athlete names are 1-64 ASCII letters, digits, '_', '.' or '-', "
        "must not start with '.' and must not contain '..'"
    )
    if (
        not isinstance(name, str)
        or _ATHLETE_RE.fullmatch(name) is None
        or name.startswith(".")
        or ".." in name
    ):
        raise LakeError(f"invalid athlete name {name!r}: {rule}")
    return name


def _validate_sha256(sha256: str) -> str:
    if not isinstance(sha256, str) or _SHA256_RE.fullmatch(sha256) is None:
        raise LakeError(f"invalid sha256 {sha256!r}: expected 64 lower-case hex digits")
    return sha256


def conform(table: pa.Table, schema: pa.Schema, *, name: str = "table") -> pa.Table:
    """Return ``table`` with exactly ``schema``'s columns, in order, cast to its types.

    A missing column becomes all nulls; an extra column raises ``ContractError`` (also a
    ``ValueError``: the contract is strict), as does a cast that would lose information or a
    time-zone-naive timestamp where the schema wants UTC.
    """
    if table.schema.equals(schema, check_metadata=True):
        return table  # already the contract (normalize builds its tables with it)
    extra = [c for c in table.column_names if schema.get_field_index(c) < 0]
    if extra:
        raise ContractError(f"{name}: columns not in the schema: {', '.join(extra)}")
    names = table.column_names
    dupes = {c for c, n in Counter(names).items() if n > 1}
    if dupes:
        raise ContractError(f"{name}: duplicate columns: {', '.join(sorted(dupes))}")
    arrays: list[pa.ChunkedArray] = []
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(pa.chunked_array([pa.nulls(table.num_rows, field.type)], field.type))
            continue
        col = table.column(field.name)
        if (
            pa.types.is_timestamp(field.type)
            and field.type.tz is not None
            and pa.types.is_timestamp(col.type)
            and col.type.tz is None
        ):
            raise ContractError(
                f"{name}.{field.name}: time-zone-naive timestamps; the schema wants {field.type}"
            )
        if col.type != field.type:
            try:
                col = col.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ContractError(
                    f"{name}.{field.name}: cannot cast {col.type} to {field.type}: {exc}"
                ) from exc
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


def _as_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns (cast; a missing one null), as a dataset reads a
    file whose schema differs from the dataset's."""
    if table.schema.equals(schema):
        return table
    cols = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(cols, schema=schema)


def list_athletes(location: LakeLocation | LakeFS) -> list[str]:
    """Sorted names of the athletes with any data (of any table) in the lake.

    A missing lake folder has no athletes.  Folders with invalid names are ignored.
    """
    fs = open_fs(location)
    names: set[str] = set()
    for table in TABLES:
        for rel in fs.glob(f"{table}/athlete=*"):
            name = rel.rsplit("/", 1)[-1].removeprefix("athlete=")
            try:
                names.add(validate_athlete(name))
            except LakeError:
                continue
    return sorted(names)


@dataclass(frozen=True, slots=True)
class FileCommit:
    """Everything derived from one source file, ready to be committed with its batch."""

    sha256: str
    year: int | None
    tables: Mapping[str, pa.Table]
    manifest: pa.Table
    errors: pa.Table | None = None


def new_batch_id() -> str:
    """A sortable, unique batch name: UTC time plus randomness."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(4)


class Lake:
    """A lake: a local folder, or a prefix on object storage (``s3://bucket/lake``).

    ``Lake(location)`` creates a missing local folder; on object storage the bucket must
    exist. Files are committed in batches (group commit): each batch writes one Parquet
    part per table and year, named ``part-<batch>.parquet``, and then the batch's manifest
    part under ``files/`` LAST. The manifest is the commit: a part whose batch has no
    manifest is an orphan of a killed writer, invisible to :meth:`ingested_hashes` and
    removed by :meth:`recover` (which the lock holder runs before it writes).
    """

    def __init__(self, location: LakeLocation | LakeFS) -> None:
        fs = open_fs(location)
        if fs.local_root is not None:
            try:
                fs.local_root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LakeError(f"cannot create lake root {fs.location!r}: {exc}") from exc
        elif isinstance(fs, ObjectFS):
            fs.check()
        self._fs = fs
        self._hashes: dict[str, set[str]] = {}

    def __repr__(self) -> str:
        return f"Lake({self._fs.location!r})"

    @property
    def fs(self) -> LakeFS:
        """Where the lake's files are."""
        return self._fs

    @property
    def location(self) -> str:
        """The lake's folder (absolute) or URL."""
        return self._fs.location

    @property
    def root(self) -> Path:
        """The lake folder (absolute) of a local lake; :class:`LakeError` on object storage."""
        if self._fs.local_root is None:
            raise LakeError(f"the lake {self.location!r} is on object storage: no local folder")
        return self._fs.local_root

    @staticmethod
    def folder(table: str, athlete: str, year: int | None = None) -> str:
        """The folder (relative to the lake) of one athlete's table (and year, if given)."""
        d = f"{table}/athlete={athlete}"
        return f"{d}/year={year}" if table in PARTITIONED_BY_YEAR and year is not None else d

    def athletes(self) -> list[str]:
        """Sorted names of the athletes with any data in the lake."""
        return list_athletes(self._fs)

    def committed_batches(self, athlete: str) -> set[str]:
        """The batch names whose manifest exists for ``athlete``."""
        validate_athlete(athlete)
        return {
            batch_of(r) for r in self._fs.glob(f"{self.folder('files', athlete)}/part-*.parquet")
        }

    def committed_files(self, table: str) -> list[str]:
        """The files of ``table`` a reader should read (absolute paths, or URLs on object
        storage): the parts of whole committed batches, or every file of a derived table.

        The exact read path for tools that read the Parquet files themselves (pyarrow,
        polars, DuckDB's ``read_parquet``), on object storage above all, where parts are
        visible before their batch's manifest (docs/lake.md).
        """
        if table not in TABLES:
            raise LakeError(f"unknown table {table!r}; the lake's tables: {', '.join(TABLES)}")
        if table == "files" or table in BATCHED_TABLES:
            manifests, parts = list_committed(self._fs)
            rels = manifests if table == "files" else parts[table]
        else:
            year = "year=*/" if table in PARTITIONED_BY_YEAR else ""
            rels = self._fs.glob(f"{table}/athlete=*/{year}*.parquet")
        return [self._fs.uri(r) for r in rels]

    def ingested_hashes(self, athlete: str, *, refresh: bool = False) -> set[str]:
        """The sha256 of every file committed for ``athlete`` (read once, then kept)."""
        validate_athlete(athlete)
        if refresh or athlete not in self._hashes:
            hashes: set[str] = set()
            for rel in self._fs.glob(f"{self.folder('files', athlete)}/part-*.parquet"):
                col = self._fs.read_parquet(rel, columns=["file_sha256"]).column("file_sha256")
                hashes.update(str(v) for v in col.to_pylist() if v is not None)
            self._hashes[athlete] = hashes
        return self._hashes[athlete]

    def read_files(self, athlete: str, *, columns: list[str] | None = None) -> pa.Table | None:
        """The athlete's committed manifests: one FILES row per file; None when there are none."""
        rels = self._fs.glob(f"{self.folder('files', validate_athlete(athlete))}/part-*.parquet")
        if not rels:
            return None
        return pa.concat_tables([self._fs.read_parquet(r, columns=columns) for r in sorted(rels)])

    def is_ingested(self, athlete: str, sha256: str) -> bool:
        """True when a committed manifest lists ``sha256`` for ``athlete``."""
        _validate_sha256(sha256)
        return sha256 in self.ingested_hashes(athlete)

    def read(
        self,
        table: str,
        athlete: str,
        *,
        columns: list[str] | None = None,
        filter: ds.Expression | None = None,
        schema: pa.Schema | None = None,
    ) -> pa.Table | None:
        """Rows of one athlete's year-partitioned table (with ``year`` from the folders).

        None when the athlete has none. ``schema``: read with it (columns a file lacks,
        such as one written before a column was added, are null) instead of the first
        file's. Without a ``filter`` (which a pyarrow dataset pushes down to the files) the
        files are read one by one, as the dataset reads them (in order, with the first
        file's schema or ``schema``): pyarrow's dataset module costs 0.1 s to import, and
        imports pandas where it is installed (0.5 s more).
        """
        base, rels = self._year_files(table, athlete)
        if not rels:
            return None
        full = None if schema is None else schema.append(pa.field("year", pa.int32()))
        if filter is None:
            return self._read_files(base, rels, columns, full)
        parts = _year_partitioning()
        dataset = self._fs.dataset(rels, partitioning=parts, base=base, schema=full)
        return dataset.to_table(columns=columns, filter=filter)

    def _read_files(
        self, base: str, rels: list[str], columns: list[str] | None, schema: pa.Schema | None
    ) -> pa.Table:
        """The files ``rels`` (below ``base``) as one table, ``year`` from their folders."""
        tables = []
        for rel in rels:
            t = self._fs.read_parquet(rel)
            year = int(rel[len(base) + 1 :].split("/", 1)[0].removeprefix("year="))
            col = pa.repeat(pa.scalar(year, pa.int32()), t.num_rows)
            t = t.append_column(pa.field("year", pa.int32()), col)
            if schema is None:  # the first file's, as a dataset's discovery takes it
                schema = t.schema
            tables.append(_as_schema(t, schema))
        out = pa.concat_tables(tables)
        return out if columns is None else out.select(columns)

    def _year_files(self, table: str, athlete: str) -> tuple[str, list[str]]:
        if table not in PARTITIONED_BY_YEAR:
            raise ContractError(f"{table} is not partitioned by year")
        base = self.folder(table, validate_athlete(athlete))
        return base, self._fs.glob(f"{base}/year=*/*.parquet")

    def has(self, table: str, athlete: str) -> bool:
        """Whether the athlete has a file of this year-partitioned table (one listing)."""
        return bool(self._year_files(table, athlete)[1])

    def write_year(self, table: str, athlete: str, year: int, rows: pa.Table | None) -> None:
        """Replace one athlete-year of a derived table (``<table>.parquet``); None removes it."""
        self.write_years(table, athlete, {year: rows})

    def write_years(
        self, table: str, athlete: str, rows_by_year: Mapping[int, pa.Table | None]
    ) -> None:
        """Replace athlete-years of a derived table, each file at once (as
        :meth:`write_year`), their fsyncs together; None or no rows removes a year's file."""
        validate_athlete(athlete)
        writes: list[tuple[pa.Table, str]] = []
        for year, rows in sorted(rows_by_year.items()):
            rel = f"{self.folder(table, athlete, year)}/{table}.parquet"
            if rows is None or rows.num_rows == 0:
                self._fs.delete(rel)
            else:
                writes.append((conform(rows, TABLES[table], name=table), rel))
        self._fs.write_parquets(writes)

    def read_state(self, name: str) -> dict[str, Any] | None:
        """The JSON note ``.state/<name>.json``; None when it is missing or not a JSON object.

        A lake that cannot be read raises (LakeError, OSError): only the note's absence means
        "no note".
        """
        try:
            data = json.loads(self._fs.read_bytes(_state_rel(name)))
        except FileNotFoundError:
            return None
        except ValueError:  # not JSON (the note is written atomically: not seen in practice)
            return None
        return data if isinstance(data, dict) else None

    def write_state(self, name: str, data: Mapping[str, Any]) -> None:
        """Replace the JSON note ``.state/<name>.json`` at once."""
        self._fs.write_bytes(_state_rel(name), json.dumps(data).encode())

    def commit_batch(
        self, athlete: str, items: Sequence[FileCommit], *, batch: str | None = None
    ) -> str | None:
        """Commit the files of one batch: data parts, error part, then the manifest part.

        Returns the batch name (None when ``items`` is empty). Every table is conformed to
        its schema first, so a bad table raises ``ContractError`` before anything is written.
        A file already committed, or twice in ``items``, raises ``ContractError``: the caller
        skips what the lake has (identity is content).
        """
        validate_athlete(athlete)
        if not items:
            return None
        batch = batch or new_batch_id()
        known = self.ingested_hashes(athlete)
        seen: set[str] = set()
        data: dict[tuple[str, int], list[pa.Table]] = {}
        manifests: list[pa.Table] = []
        errors: list[pa.Table] = []
        for item in items:
            _validate_sha256(item.sha256)
            if item.sha256 in known or item.sha256 in seen:
                raise ContractError(f"{item.sha256} is already committed or twice in the batch")
            seen.add(item.sha256)
            unknown = sorted(set(item.tables) - set(DATA_TABLES))
            if unknown:
                raise ContractError(f"unknown data tables {unknown}; expected among {DATA_TABLES}")
            tables = {n: t for n, t in item.tables.items() if t.num_rows > 0}
            if tables:
                year = item.year
                if isinstance(year, bool) or not isinstance(year, int) or not 0 < year <= 9999:
                    raise ContractError(
                        f"year must be an int in 1..9999 to store data, got {year!r}"
                    )
                for name, t in tables.items():
                    data.setdefault((name, year), []).append(conform(t, TABLES[name], name=name))
            man = conform(item.manifest, TABLES["files"], name="manifest")
            if man.num_rows == 0 or set(man.column("file_sha256").to_pylist()) != {item.sha256}:
                raise ContractError(f"the manifest of {item.sha256} must have rows of that sha256")
            manifests.append(man)
            if item.errors is not None and item.errors.num_rows:
                errors.append(conform(item.errors, TABLES["ingest_errors"], name="errors"))
        name = f"part-{batch}.parquet"
        parts = {f"{self.folder(t, athlete, y)}/{name}": ts for (t, y), ts in data.items()}
        if errors:
            parts[f"{self.folder('ingest_errors', athlete)}/{name}"] = errors
        self._write_batch(
            parts, pa.concat_tables(manifests), f"{self.folder('files', athlete)}/{name}"
        )
        known.update(seen)
        return batch

    def _write_batch(
        self, parts: Mapping[str, list[pa.Table]], manifest: pa.Table, rel: str
    ) -> None:
        """Stage the parts, make them durable, write the manifest (the commit), publish."""
        staged = [
            self._fs.stage_parquet(pa.concat_tables(ts), r) for r, ts in sorted(parts.items())
        ]
        self._fs.sync(staged)  # every part durable before the manifest makes the batch done
        self._fs.write_parquet(manifest, rel)
        self._fs.publish(sorted(parts))

    def recover(self) -> int:
        """Finish or undo what a killed writer left: the staged parts of a committed batch
        are published (renamed into place); parts, staged or not, of a batch that never got
        its manifest are removed.

        Only the holder of the writer lock may call this (another writer's batch in flight
        has no manifest yet either). Returns how many files were removed.
        """
        removed = 0
        for athlete in self.athletes():
            committed = self.committed_batches(athlete)
            for table in BATCHED_TABLES:
                base = self.folder(table, athlete)
                year = "year=*/" if table in PARTITIONED_BY_YEAR else ""
                staged = self._fs.glob(f"{base}/{year}.part-*.parquet{STAGED_SUFFIX}")
                finals = [unstaged_rel(r) for r in staged]
                # a committed batch whose writer died before publishing all of its parts
                self._fs.publish([r for r in finals if batch_of(r) in committed])
                for rel in [r for r in finals if batch_of(r) not in committed]:
                    self._fs.delete(staged_rel(rel))
                    removed += 1
                for rel in self._fs.glob(f"{base}/{year}part-*.parquet"):
                    if batch_of(rel) not in committed:
                        self._fs.delete(rel)
                        removed += 1
            self._hashes.pop(athlete, None)
        return removed

    def cleanup_temp(self, max_age_s: float = 600) -> int:
        """Remove leftover temporary files (``.*.tmp``, ``.*.tmp.wal``) older than ``max_age_s``.

        They are what a killed writer leaves behind in a local lake (object storage has
        none: an object appears whole or not at all).  Returns how many were removed.
        """
        if max_age_s < 0:
            raise ContractError(f"max_age_s must be >= 0, got {max_age_s}")
        return self._fs.cleanup_temp(max_age_s)


def _state_rel(name: str) -> str:
    if _STATE_RE.fullmatch(name) is None or name.startswith("."):
        raise LakeError(f"invalid state name {name!r}")
    return f".state/{name}.json"


@contextmanager
def writer_lock(
    lake: Lake | LakeFS,
    *,
    holder: str,
    timeout_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    poll_s: float = 0.1,
) -> Iterator[None]:
    """Hold the lake's writer lock: one writer at a time (readers never need it).

    ``timeout_s=None`` waits as long as it takes, ``0`` does not wait. While it waits,
    ``on_wait`` is told once who holds the lock. Raises :class:`LakeBusy` naming the
    holder when the wait times out. In a local lake the lock is an ``flock`` on
    ``<lake>/.writer.lock``: the kernel drops it when its process dies, so a killed writer
    never leaves the lake locked. On object storage it is a lease object renewed by a
    heartbeat: a killed writer's lease is taken over once it expires (30 s by default).
    """
    fs = lake.fs if isinstance(lake, Lake) else lake
    with fs.lock(holder=holder, timeout_s=timeout_s, on_wait=on_wait, poll_s=poll_s):
        yield
