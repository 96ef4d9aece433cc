"""The Telegram webhook: updates come in here when VIZA_TELEGRAM_MODE=webhook.

Telegram sends back the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token; an
update without it, or with another one, is answered 401 and never reaches the bot.

An update that cannot be handled now — the replica is stopping, its chat is busy on another
replica for too long, Redis does not answer — is answered 503, and Telegram delivers it again;
the update gate (``bot/update_gate.py``) makes sure it is handled once.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from bot.update_gate import UpdateBusy

router = APIRouter(include_in_schema=False)
log = logging.getLogger("viza.bot")


@router.post("/telegram/webhook")
async def telegram_webhook(
    request: Request,
    secret: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
) -> JSONResponse:
    settings = request.app.state.settings
    runtime = getattr(request.app.state, "bot", None)
    if runtime is None or settings.telegram_mode != "webhook":
        return JSONResponse({"ok": False, "description": "webhook mode is off"}, status_code=404)
    expected = settings.webhook_secret or ""
    if not secret or not hmac.compare_digest(secret.encode(), expected.encode()):
        return JSONResponse({"ok": False, "description": "wrong secret token"}, status_code=401)
    if getattr(request.app.state, "shutting_down", False):
        return _later("shutting down")
    try:
        update = await request.json()
    except ValueError:
        return JSONResponse({"ok": False, "description": "not JSON"}, status_code=400)
    try:
        await runtime.feed(update)
    except UpdateBusy:
        return _later("the chat is busy on another replica")
    except RedisError as error:
        log.warning("update not handled, Redis failed: %s", error)
        return _later("shared state unavailable")
    return JSONResponse({"ok": True})


def _later(why: str) -> JSONResponse:
    """Not handled: Telegram delivers an update again when the answer is not 2xx."""
    return JSONResponse({"ok": False, "description": why}, status_code=503, headers={"Retry-After": "1"})
