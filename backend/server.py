"""The HTTP server of ``viza serve``: uvicorn, stopping gracefully."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI


class StoppingServer(uvicorn.Server):
    """On SIGTERM or SIGINT, /readyz and the webhook say "shutting down" at once (the balancer
    stops sending here, Telegram delivers elsewhere) while uvicorn lets the requests and updates
    in flight finish (``VIZA_SHUTDOWN_TIMEOUT_SECONDS`` at most); then the app's shutdown lets the
    sends in flight finish and be recorded, and gives back what was claimed but not begun."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    def handle_exit(self, sig, frame) -> None:
        self.app.state.shutting_down = True
        super().handle_exit(sig, frame)
        # uvicorn raises the signal again once it has stopped, so the process ends "killed by
        # SIGTERM" (143) even after a clean stop; a stop that finished everything exits 0.
        self._captured_signals.clear()
