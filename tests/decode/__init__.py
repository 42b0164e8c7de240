"""Tests of the decoders (FIT, GPX) against their references, and fuzzing."""
