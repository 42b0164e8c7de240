"""Tests of the flags and the week rules."""
