"""Heart rate from hr messages merged into the records (runlake.normalize._hrmerge), as
Garmin's FIT SDK merges it: a hand-worked case, and every corpus file with hr messages
against the SDK's own merge, record by record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from runlake.decode import FIT_EPOCH_S, FitFile, decode_fit
from runlake.ingest._ingest import ACTIVITY_MESSAGES
from runlake.normalize import SourceInfo, normalize_fit
from runlake.normalize._hrmerge import merge_heart_rates

from ..conftest import FIT_DIR, HR_FILES, corpus_available

T0 = 1_700_000_000  # Unix seconds
# hr messages: (timestamp or None, fractional_timestamp, event times [s], heart rates)
HR_MESSAGES = [
    (T0, 0.0, [10.0], [100]),  # the anchor: event time 10.0 is T0
    (None, None, [10.5, 11.0], [110, 120]),
    (None, None, [13.0], [130]),
]
RECORD_TIMES = [T0, T0 + 1, T0 + 2, T0 + 4]


def fit_with(records_hr: list[int | None]) -> FitFile:
    ts_type = pa.timestamp("s", tz="UTC")
    hr = pa.table(
        {
            "timestamp": pa.array([m[0] for m in HR_MESSAGES], type=pa.int64()).cast(ts_type),
            "fractional_timestamp": pa.array([m[1] for m in HR_MESSAGES], type=pa.float64()),
            "event_timestamp": pa.array([m[2] for m in HR_MESSAGES], pa.list_(pa.float64())),
            "filtered_bpm": pa.array([m[3] for m in HR_MESSAGES], pa.list_(pa.uint8())),
        }
    )
    records = pa.table(
        {
            "timestamp": pa.array(RECORD_TIMES, type=pa.int64()).cast(ts_type),
            "heart_rate": pa.array(records_hr, type=pa.uint8()),
        }
    )
    return FitFile({"record": records, "hr": hr}, {}, (), 1, 0)


def test_each_record_gets_the_mean_of_the_samples_since_the_previous_one() -> None:
    # Samples (gaps over 250 ms filled with the previous value every 250 ms, up to 5 s):
    # T0: 100, +0.25: 100, +0.5: 110, +0.75: 110, +1: 120, +1.25..+2.75: 120 (7 fills),
    # +3: 130. Record T0 gets (T0-1, T0]: 100. T0+1: (T0, T0+1] = 100,110,110,120 -> 110.
    # T0+2: 120 x 4 -> 120. T0+4: no sample after it, so (as in the SDK) it keeps its own.
    merged = merge_heart_rates(fit_with([50, 50, None, 50]))
    assert merged.messages["record"]["heart_rate"].to_pylist() == [100, 110, 120, 50]


def test_the_hand_worked_case_is_what_the_sdk_merge_gives() -> None:
    sdk = pytest.importorskip("garmin_fit_sdk.hr_mesg_utils")
    hr_mesgs = [
        {
            "timestamp": None if t is None else t - FIT_EPOCH_S,
            "fractional_timestamp": frac,
            "event_timestamp": events,
            "filtered_bpm": bpm,
        }
        for t, frac, events, bpm in HR_MESSAGES
    ]
    records = [{"timestamp": t - FIT_EPOCH_S, "heart_rate": 50} for t in RECORD_TIMES]
    sdk.merge_heart_rates(hr_mesgs, records)
    ours = merge_heart_rates(fit_with([50] * 4)).messages["record"]["heart_rate"].to_pylist()
    assert ours == [r["heart_rate"] for r in records]


def test_no_hr_messages_leaves_the_file_as_it_was() -> None:
    fit = fit_with([50, 50, 50, 50])
    without = FitFile({"record": fit.messages["record"]}, {}, (), 1, 0)
    assert merge_heart_rates(without) is without


def test_hr_messages_without_an_anchor_merge_nothing() -> None:
    fit = fit_with([50, None, 50, 50])
    hr = fit.messages["hr"]
    no_anchor = hr.set_column(0, "timestamp", pa.nulls(hr.num_rows, hr.schema.field(0).type))
    fit = FitFile({**fit.messages, "hr": no_anchor}, {}, (), 1, 0)
    assert merge_heart_rates(fit).messages["record"]["heart_rate"].to_pylist() == [50, None, 50, 50]


def _corpus_path(name: str) -> Path:
    paths = [p for p in FIT_DIR.iterdir() if name in p.name]
    if len(paths) != 1:
        pytest.skip(f"{name} is not in the corpus")
    return paths[0]


@pytest.mark.corpus
@pytest.mark.skipif(not corpus_available(), reason="real watch files are not present")
@pytest.mark.parametrize("name", HR_FILES)
def test_corpus_records_get_the_sdk_merged_heart_rate(name: str) -> None:
    sdk = pytest.importorskip("garmin_fit_sdk")
    data = _corpus_path(name).read_bytes()
    fit = decode_fit(data, messages=ACTIVITY_MESSAGES)
    ours = merge_heart_rates(fit).messages["record"]["heart_rate"].to_pylist()
    messages, errors = sdk.Decoder(sdk.Stream.from_byte_array(bytearray(data))).read(
        merge_heart_rates=True
    )
    assert errors == []
    theirs = [r.get("heart_rate") for r in messages["record_mesgs"]]
    assert len(ours) == len(theirs) > 0
    assert ours == theirs
    assert sum(v is not None for v in ours) > 0.9 * len(ours)


@pytest.mark.corpus
@pytest.mark.skipif(not corpus_available(), reason="real watch files are not present")
def test_a_two_hour_run_with_stored_heart_rate_has_it_on_every_record() -> None:
    path = _corpus_path("files__file54.fit")
    fit = decode_fit(path.read_bytes(), messages=ACTIVITY_MESSAGES)
    before = fit.messages["record"]["heart_rate"]
    assert before.null_count == before.length() - 32  # what the records themselves carry
    info = SourceInfo("0" * 64, str(path), datetime(2026, 1, 1, tzinfo=UTC))
    records = normalize_fit(fit, info).records
    hr = records["heart_rate_bpm"]
    assert records.num_rows == 7488
    assert hr.null_count == 0
    assert min(hr.to_pylist()) >= 60
    assert max(hr.to_pylist()) <= 200
