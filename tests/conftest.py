"""Shared fixtures: the real corpus in ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

import csv
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from runlake import SourceInfo, decode_fit, normalize_fit
from runlake._errors import DecodeError
from runlake._schemas import RECORDS
from runlake.ingest import ACTIVITY_MESSAGES
from runlake.synth import Samples

# Prefect, when a test imports it, stays hermetic and quiet: its home (database, settings)
# in a temporary folder, no analytics, warnings only. Set before anything imports Prefect.
# One home per xdist worker: two servers creating one database at once race its migrations.
if os.environ.get("PYTEST_XDIST_WORKER") or "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="runlake-prefect-")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
FIT_DIR = DATA / "fit"
GPX_DIR = DATA / "gpx"


def corpus_available() -> bool:
    return FIT_DIR.is_dir()


def fit_inventory() -> list[dict[str, str]]:
    """Rows of fit-inventory.tsv ([] when the corpus is absent)."""
    path = DATA / "fit-inventory.tsv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def corpus_file(name_part: str) -> Path:
    """The one corpus FIT file whose name contains ``name_part`` (skips without corpus)."""
    if not corpus_available():
        pytest.skip("real watch files (../shared/data) are not present")
    hits = sorted(p for p in FIT_DIR.iterdir() if name_part in p.name)
    assert len(hits) == 1, f"{name_part!r} matches {len(hits)} corpus files"
    return hits[0]


requires_corpus = pytest.mark.skipif(
    not corpus_available(), reason="real watch files (../shared/data) are not present"
)

# The corpus files with `hr` messages (heart rate kept apart from the records).
HR_FILES = [
    "dtcooper__python-fitparse__tests__files__event_timestamp.fit",
    "sample_mulitple_header.fit",
    "files__2775379975.fit",
    "files__2780451464.fit",
    "files__2825367441.fit",
    "files__68270818303.fit",
    "fenix5_indoor_539.fit",
    "files__file54.fit",
    "activity_poolswim_with_hr.fit",
    "HrmPluginTestActivity.fit",
    "garmin-fr935-cr.fit",
    "swimming__spiros-02.fit",
]


# --------------------------------------------------------------------------- run helpers
# Shared by the metrics and flags tests: a run's tables as ingest gives them.

RUN_START = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


def records_of(s: Samples, activity_id: str, *, hr: bool = True) -> pa.Table:
    """The RECORDS table normalize_fit gives for these samples (None channels -> null)."""
    n = s.n_records

    def col(x: np.ndarray | None) -> pa.Array:
        return pa.array(np.full(n, np.nan) if x is None else x, pa.float64(), from_pandas=True)

    cols: dict[str, pa.Array] = {
        "activity_id": pa.array([activity_id] * n, pa.string()),
        "timestamp": pa.array(s.timestamp * 1000, pa.int64()).cast(RECORDS.field("timestamp").type),
        "elapsed_s": col(s.elapsed_s),
        "distance_m": col(s.distance_m),
        "speed_mps": col(s.speed_mps),
        "heart_rate_bpm": col(s.heart_rate_bpm if hr else None),
        "cadence_spm": col(s.cadence_spm),
        "power_w": col(s.power_w),
        "vertical_oscillation_mm": col(s.vertical_oscillation_mm),
        "stance_time_ms": col(s.stance_time_ms),
        "stance_time_balance_pct": col(s.stance_time_balance_pct),
        "step_length_mm": col(s.step_length_mm),
        "vertical_ratio_pct": col(s.vertical_ratio_pct),
        "latitude_deg": col(s.latitude_deg),
        "longitude_deg": col(s.longitude_deg),
        "altitude_m": col(s.altitude_m),
        "temperature_c": col(s.temperature_c),
    }
    return pa.table(
        {f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in RECORDS}, schema=RECORDS
    )


def activity_of(s: Samples, activity_id: str) -> dict[str, object]:
    """The ACTIVITIES columns run_metrics reads (timer time and distance as the watch wrote)."""
    return {
        "activity_id": activity_id,
        "start_time": datetime.fromtimestamp(int(s.timestamp[0]), UTC),
        "duration_s": float(s.n_records - 1),
        "distance_m": float(s.distance_m[-1] - s.distance_m[0]),
        "device_product": "runlake synth",
    }


def corpus_runs() -> list[tuple[str, pa.Table, dict[str, object]]]:
    """(file name, records, activity row) of every running activity in the corpus."""
    out = []
    for path in sorted(FIT_DIR.glob("*.fit")) + sorted(FIT_DIR.glob("*.FIT")):
        info = SourceInfo("00" * 32, path.name, RUN_START)
        try:
            fit = decode_fit(path.read_bytes(), source=path.name, messages=ACTIVITY_MESSAGES)
            norm = normalize_fit(fit, info)
        except DecodeError:
            continue  # not an activity, or not decodable: the ingest tests cover these
        for act in norm.activities.to_pylist():
            if act["sport"] != "running":
                continue
            mask = pc.equal(norm.records.column("activity_id"), act["activity_id"])
            out.append((path.name, norm.records.filter(mask), act))
    return out


# --------------------------------------------------------------------------- object storage


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto's, in a thread), its URL in ``AWS_ENDPOINT_URL``.

    Skips when moto or s3fs is not installed (they come with the dev extras).
    """
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    env = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield url
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3_lake(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the local S3 server; returns ``s3://<bucket>/lake``."""
    import s3fs  # noqa: PLC0415 - optional (the fixture above skips without it)

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(bucket)
    monkeypatch.setenv("RUNLAKE_CACHE", str(tmp_path / "cache"))
    return f"s3://{bucket}/lake"
