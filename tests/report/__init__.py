"""Tests of the runner's report."""
