"""Benchmarks (``make bench``): figures go to bench/RESULTS.md, never into timed tests."""
