"""Tests of the lake: store, object storage, crash safety, concurrency."""
