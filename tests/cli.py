"""Running the `viza` command in tests (the ``env`` fixture, a data folder of its own, is in conftest)."""

from __future__ import annotations

from click.testing import CliRunner

from backend.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)
