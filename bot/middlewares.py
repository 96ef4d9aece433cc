"""Who is writing, in which language, and what they may reach.

``IdentityMiddleware`` runs on every update: it looks the Telegram user up among employees
(one short read), picks the language and hands the handlers a ``Core`` acting as that
employee. ``MembersOnly`` guards every router but onboarding: an unknown user gets a polite
refusal and nothing else. ``DomainErrors`` turns a refused rule into a reply in the user's
language, so handlers only write the happy path.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import CancelHandler, SkipHandler
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from backend.db import Database
from backend.errors import DomainError
from backend.services.core import Core
from backend.services.invites import employee_for_telegram
from backend.services.telegram_reach import mark_reachable
from backend.services.tokens import actor_of
from bot.texts import Texts, language_of

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger("viza.bot")


class IdentityMiddleware(BaseMiddleware):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        language = language_of(user.language_code if user else None)
        core = None
        if user is not None and not user.is_bot:
            async with self.db.session() as session:
                employee = await employee_for_telegram(session, user.id)
                if employee is not None:
                    core = Core(self.db, actor_of(employee))
                    language = employee.language
                    if await mark_reachable(session, employee):  # they are back: deliver again
                        await session.commit()
        data["core"] = core
        data["t"] = Texts(language)
        data["db"] = self.db
        return await handler(event, data)


class MembersOnly(BaseMiddleware):
    """Inner middleware: handlers behind it run only for a bound, active employee."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get("core") is not None:
            return await handler(event, data)
        t: Texts = data["t"]
        if isinstance(event, CallbackQuery):
            await event.answer(t("start.unknown_short"), show_alert=True)
        elif isinstance(event, Message):
            await event.answer(t("start.unknown"))
        return None


class DomainErrors(BaseMiddleware):
    """A rule said no: tell the user why, in their language; keep the dialog where it was.

    Anything else that fails in a handler (a bug, a file missing from a data folder that is not
    shared between replicas) is logged with its update id, and the person is told it failed
    instead of hearing nothing."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except (SkipHandler, CancelHandler):
            raise  # aiogram's own flow control
        except DomainError as error:
            await self._tell(event, data["t"].error(error))
            return None
        except Exception:
            log.exception("a handler failed")
            with contextlib.suppress(Exception):  # telling is a courtesy; the log has the error
                await self._tell(event, data["t"]("internal_error"))
            return None

    @staticmethod
    async def _tell(event: TelegramObject, text: str) -> None:
        if isinstance(event, CallbackQuery):
            # An alert holds 200 characters; longer explanations go to the chat.
            if len(text) <= 200:
                await event.answer(text, show_alert=True)
            else:
                await event.answer()
                if event.message is not None:
                    await event.message.answer(text)
        elif isinstance(event, Message):
            await event.answer(text)
