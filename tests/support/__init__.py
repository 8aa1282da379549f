"""Shared test helpers (generic: events by name, ...). Importable as `tests.support` or `support`."""
