"""Benchmarks of the registry and the approval cycle at 1,000,000 payment requests.

Run from the project root: ``bash benchmarks/run.sh`` (see benchmarks/README.md).
"""
