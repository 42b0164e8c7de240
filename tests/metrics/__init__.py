"""Tests of run and lap metrics."""
