"""Tests of the normalize stage that need no later stage (the rest go through ingest)."""
