"""Benchmarks that measure the targets in DESIGN.md (never timed tests). Run ``python -m benchmarks``."""
