"""Benchmarks: each ``bench_*.py`` module has ``main()`` that measures, compares with a baseline in
the same run, and prints a table. ``make bench`` (``python -m bench``) runs them all; CI does not."""
