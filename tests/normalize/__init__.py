"""Tests of the normalize stage's format-specific decisions (TCX)."""
