"""Benchmarks (`make bench`, `python -m bench`): print figures, assert nothing. Not shipped in any layer."""
