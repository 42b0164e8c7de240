"""Tests of the decoders (FIT, GPX, TCX) against their references, and fuzzing."""
