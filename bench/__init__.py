"""Benchmarks: each script prints its figures and a ratio against a baseline measured in the
same run. `python -m bench.run_all [--quick]` runs them all; results are in docs/benchmarks.md."""
