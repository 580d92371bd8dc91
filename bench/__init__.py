"""Benchmarks of omni360's building blocks, run as modules: `python -m bench.<name>`."""
