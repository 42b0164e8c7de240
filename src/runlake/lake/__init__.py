"""Lake stage: the Parquet lake on a local folder or object storage: atomic files, batch
commits keyed by content hash, the writer lock.

May import: runlake._errors, runlake._schemas.
"""

from __future__ import annotations

from runlake.lake._fs import (
    LOCK_NAME,
    STAGED_SUFFIX,
    LakeFS,
    LakeLocation,
    LocalFS,
    ObjectFS,
    is_url,
    open_fs,
    write_parquet_atomic,
)
from runlake.lake._store import (
    BATCHED_TABLES,
    DATA_TABLES,
    DERIVED_TABLES,
    PARTITIONED_BY_YEAR,
    FileCommit,
    Lake,
    conform,
    list_athletes,
    list_committed,
    new_batch_id,
    validate_athlete,
    writer_lock,
)

__all__ = [
    "BATCHED_TABLES",
    "DATA_TABLES",
    "DERIVED_TABLES",
    "LOCK_NAME",
    "PARTITIONED_BY_YEAR",
    "STAGED_SUFFIX",
    "FileCommit",
    "Lake",
    "LakeFS",
    "LakeLocation",
    "LocalFS",
    "ObjectFS",
    "conform",
    "is_url",
    "list_athletes",
    "list_committed",
    "new_batch_id",
    "open_fs",
    "validate_athlete",
    "write_parquet_atomic",
    "writer_lock",
]
