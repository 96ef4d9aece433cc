"""The Telegram webhook: updates come in here when VIZA_TELEGRAM_MODE=webhook.

Telegram sends back the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token; an
update without it, or with another one, is answered 401 and never reaches the bot.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

router = APIRouter(include_in_schema=False)


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
    try:
        update = await request.json()
    except ValueError:
        return JSONResponse({"ok": False, "description": "not JSON"}, status_code=400)
    await runtime.feed(update)
    return JSONResponse({"ok": True})
