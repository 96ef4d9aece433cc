"""The baseline for bot_taps.py: a bare aiogram bot behind the same kind of webhook endpoint that
only answers the callback and edits the message — no database, no rules.

    python -m benchmarks.bare_bot --port P --api URL --token T --secret S
"""

from __future__ import annotations

import argparse

import uvicorn
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse


def build(api: str, token: str, secret: str) -> FastAPI:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    dp = Dispatcher()

    @dp.callback_query(F.data)
    async def tapped(query: CallbackQuery) -> None:
        await query.answer("ok")
        await query.message.edit_text(query.message.text + "\n✅", reply_markup=None)

    app = FastAPI()

    @app.post("/telegram/webhook")
    async def webhook(request: Request, token_header: str | None = Header(None, alias="X-Telegram-Bot-Api-Secret-Token")):
        if token_header != secret:
            return JSONResponse({"ok": False}, status_code=401)
        await dp.feed_webhook_update(bot, await request.json())
        return JSONResponse({"ok": True})

    @app.get("/healthz")
    async def health():
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--port", "--api", "--token", "--secret"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    uvicorn.run(build(args.api, args.token, args.secret), host="127.0.0.1", port=int(args.port), log_level="warning")


if __name__ == "__main__":
    main()
