"""Building the bot and running it inside ``viza serve``: polling or webhook, plus outbox delivery."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import timedelta

import aiogram.methods
from aiogram import Bot, Dispatcher
from aiogram.methods.base import Response, TelegramMethod
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BotCommand, BotCommandScopeDefault
from redis.asyncio import Redis

from backend.db import Database
from backend.services.attachments import FileStore
from backend.settings import Settings
from bot.delivery import OutboxDelivery
from bot.dispatcher import ChatOrderedDispatcher
from bot.flood import RetryAfter
from bot.pacing import EDITS, OTHERS, SENDS, Pacer
from bot.handlers import build_router
from bot.middlewares import IdentityMiddleware
from bot.stale_answers import StaleCallbackAnswers
from bot.storage import make_storage
from bot.telemetry import Telemetry
from bot.update_gate import LocalUpdateGate, RedisUpdateGate, UpdateGate
from bot.texts import CATALOGUES, Texts

log = logging.getLogger("viza.bot")
WEBHOOK_PATH = "/telegram/webhook"
COMMANDS = ("new", "contract", "inbox", "my", "pay", "deal", "vacation", "settings", "web", "help", "cancel")


@functools.cache
def _response_models() -> tuple:
    """aiogram checks each answer against ``Response[<what the method returns>]``; pydantic keeps
    those classes only weakly, so after a garbage collection each call built its class again
    (about 3 ms, 13% of the delivery's CPU in a profile). Holding the ones the bot uses makes it
    a lookup."""
    by_name = {getattr(m, "__api_method__", None): m for m in vars(aiogram.methods).values()
               if isinstance(m, type) and issubclass(m, TelegramMethod)}
    return tuple(Response[by_name[name].__returning__] for name in sorted(SENDS | EDITS | OTHERS) if name in by_name)


def bot_id(settings: Settings) -> str:
    """The bot's id, the token's part before the colon: names what replicas share about it."""
    return (settings.telegram_token or "").split(":", 1)[0] or "bot"


def make_bot(settings: Settings, redis: Redis | None = None) -> Bot:
    _response_models()
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
    session.middleware(StaleCallbackAnswers())
    session.middleware(RetryAfter())  # each retry is paced again
    session.middleware(Pacer(rate=settings.telegram_rate_global, burst=settings.telegram_burst_global,
                             chat_rate=settings.telegram_rate_chat, chat_burst=settings.telegram_burst_chat,
                             group_per_minute=settings.telegram_group_per_minute,
                             redis=redis, namespace=bot_id(settings)))
    session.middleware(Telemetry())  # innermost: counts each HTTP call, every retry of a 429 included
    return Bot(settings.telegram_token, session=session)


def pacer_of(bot: Bot) -> Pacer | None:
    return next((m for m in bot.session.middleware if isinstance(m, Pacer)), None)


def make_gate(settings: Settings, redis: Redis | None) -> UpdateGate:
    if redis is None:
        return LocalUpdateGate()
    return RedisUpdateGate(redis, namespace=bot_id(settings), lease=settings.telegram_update_lease_seconds,
                           wait=settings.telegram_update_wait_seconds)


def make_dispatcher(db: Database, settings: Settings, redis: Redis | None = None) -> Dispatcher:
    dp = ChatOrderedDispatcher(storage=make_storage(db, redis), gate=make_gate(settings, redis),
                               db=db, settings=settings, store=FileStore(settings.files_dir))
    dp.update.outer_middleware(IdentityMiddleware(db))
    dp.include_router(build_router())
    return dp


async def set_commands(bot: Bot) -> None:
    """The command menu in each language; Russian is also the default for everyone else."""
    for lang in CATALOGUES:
        t = Texts(lang)
        commands = [BotCommand(command=c, description=t(f"command.{c}")) for c in COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
    ru = Texts("ru")
    await bot.set_my_commands([BotCommand(command=c, description=ru(f"command.{c}")) for c in COMMANDS],
                              scope=BotCommandScopeDefault())


class BotRuntime:
    """The bot's life inside the service: start with the app, stop with it."""

    def __init__(self, settings: Settings, db: Database, bot: Bot | None = None, redis: Redis | None = None) -> None:
        self.settings = settings
        self.db = db
        self.bot = bot or make_bot(settings, redis)
        self.dispatcher = make_dispatcher(db, settings, redis)
        self.delivery = OutboxDelivery(self.bot, db, FileStore(settings.files_dir),
                                       concurrency=settings.delivery_concurrency, worker=settings.instance_name,
                                       lease=timedelta(seconds=settings.outbox_lease_seconds),
                                       pacer=pacer_of(self.bot))
        self.username: str | None = None
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        me = await self.bot.get_me()
        self.username = me.username
        await set_commands(self.bot)
        if self.settings.telegram_mode == "webhook":
            url = self.settings.public_url.rstrip("/") + WEBHOOK_PATH
            await self.bot.set_webhook(url, secret_token=self.settings.webhook_secret,
                                       allowed_updates=self.dispatcher.resolve_used_update_types())
        else:
            await self.bot.delete_webhook()
            self._tasks.append(asyncio.create_task(self.dispatcher.start_polling(
                self.bot, handle_signals=False, close_bot_session=False,
                allowed_updates=self.dispatcher.resolve_used_update_types())))
        self._tasks.append(asyncio.create_task(self.delivery.run()))
        log.info("Telegram bot @%s is up (%s)", self.username, self.settings.telegram_mode)

    async def feed(self, update: dict) -> None:
        """One update from the webhook."""
        await self.dispatcher.feed_webhook_update(self.bot, update)

    async def stop(self) -> None:
        if self.settings.telegram_mode == "polling":
            with contextlib.suppress(RuntimeError):  # polling had not started
                await self.dispatcher.stop_polling()
        await self.delivery.stop()  # sends in flight finish and are recorded: a restart repeats nothing
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.bot.session.close()
