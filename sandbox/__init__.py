"""Test-only fakes of the outside world the Viza bot talks to.

Nothing here is imported by the production code; tests and benchmarks use it to run
the real bot against servers that speak the real protocols on 127.0.0.1.
"""
