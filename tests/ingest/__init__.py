"""Tests of ingest and the derived tables."""
