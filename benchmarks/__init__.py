"""Benchmarks: scripts that print figures (tests never time anything)."""
