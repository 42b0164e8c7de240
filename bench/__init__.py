"""runlake's benchmarks (issue 6): ``python -m bench`` (or ``make bench``).

Measures the FIT decoder against fitparse and fitdecode on the same files in the same
run (the real corpus in ../shared/data when present, and a generated history), the
sequential ingest of a generated five-year history, and the analysts' queries over that
lake; prints one table (figure, runlake, baseline, ratio, target, pass/fail, peak RSS).
Timings are medians of several runs; see ``python -m bench --help``.
"""
