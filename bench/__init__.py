"""Benchmarks: `python -m bench.<name>`; figures in bench/README.md."""
