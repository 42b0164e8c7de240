"""Tests of the Prefect flows and their commands."""
