"""Lake stage: the Parquet lake on a local folder or object storage: atomic files, batch
commits keyed by content hash, the writer lock.

Names are imported on first use: the query stage reads the layout (``_layout``) and the
files (``_fs``) without importing the writer (``_store``) and pyarrow.

May import: runlake._errors, runlake._schemas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from runlake.lake._layout import (
        BATCHED_TABLES,
        DATA_TABLES,
        DERIVED_TABLES,
        PARTITIONED_BY_YEAR,
        list_committed,
    )
    from runlake.lake._store import (
        FileCommit,
        Lake,
        conform,
        list_athletes,
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

_WHERE: dict[str, str] = {
    "LOCK_NAME": "runlake.lake._fs",
    "LakeFS": "runlake.lake._fs",
    "LakeLocation": "runlake.lake._fs",
    "LocalFS": "runlake.lake._fs",
    "ObjectFS": "runlake.lake._fs",
    "STAGED_SUFFIX": "runlake.lake._fs",
    "is_url": "runlake.lake._fs",
    "open_fs": "runlake.lake._fs",
    "write_parquet_atomic": "runlake.lake._fs",
    "BATCHED_TABLES": "runlake.lake._layout",
    "DATA_TABLES": "runlake.lake._layout",
    "DERIVED_TABLES": "runlake.lake._layout",
    "PARTITIONED_BY_YEAR": "runlake.lake._layout",
    "list_committed": "runlake.lake._layout",
    "FileCommit": "runlake.lake._store",
    "Lake": "runlake.lake._store",
    "conform": "runlake.lake._store",
    "list_athletes": "runlake.lake._store",
    "new_batch_id": "runlake.lake._store",
    "validate_athlete": "runlake.lake._store",
    "writer_lock": "runlake.lake._store",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'runlake.lake' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
