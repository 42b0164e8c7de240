"""The runlake fuzzer: mutated and generated FIT and GPX files through ingest, and kill -9.

``python -m fuzz`` runs the long campaign (tens of thousands of cases on every core, then
the kill loop); ``tests/decode/test_fuzz.py`` and ``tests/lake/test_crash.py`` run quick ones in the
normal suite with the same machinery (``fuzz._cases``, ``fuzz._runner``, ``fuzz._crash``).
``python -m fuzz.atheris_fit`` and ``python -m fuzz.atheris_gpx`` are coverage-guided
(libFuzzer) targets when atheris is installed. This package imports nothing on purpose:
atheris must instrument runlake before anything imports it.
"""
