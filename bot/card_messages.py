"""Cards in chats: sending one, editing it in place, and bringing every live card of a request
up to date after a change (the follow-up work the engine queues as a ``cards`` outbox row)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.errors import NotFound
from backend.models import BotCard, Employee
from backend.services.tokens import actor_of
from bot.cards import Card, load_card
from bot.texts import Texts

log = logging.getLogger("viza.bot")


async def send_card(bot: Bot, db: Database, employee_id: int, chat_id: int, card: Card) -> None:
    message = await bot.send_message(chat_id, card.text, reply_markup=card.markup())
    async with db.session() as session:
        session.add(BotCard(request_id=card.request.id, employee_id=employee_id, chat_id=chat_id,
                            message_id=message.message_id, live=card.live, rendered=card.fingerprint(),
                            seen_event_id=card.seen_event_id))
        await session.commit()


async def record_card(session: AsyncSession, *, chat_id: int, message_id: int, card: Card, employee_id: int) -> bool:
    """Remember, in the caller's transaction, what the message is about to show; False when it
    shows exactly that already (no edit needed)."""
    row = await session.scalar(select(BotCard).where(BotCard.chat_id == chat_id, BotCard.message_id == message_id))
    if row is not None and row.rendered == card.fingerprint() and row.live == card.live:
        return False
    if row is None:
        row = BotCard(request_id=card.request.id, employee_id=employee_id, chat_id=chat_id, message_id=message_id)
        session.add(row)
    row.rendered, row.live, row.seen_event_id = card.fingerprint(), card.live, card.seen_event_id
    return True


async def show_card(bot: Bot, db: Database, chat_id: int, message_id: int, card: Card) -> None:
    """Edit the message to ``card`` (already recorded). If Telegram refuses, forget what was
    recorded, so the next refresh tries again."""
    try:
        await bot.edit_message_text(text=card.text, chat_id=chat_id, message_id=message_id,
                                    reply_markup=card.markup())
    except TelegramBadRequest as error:
        if "message is not modified" in error.message:
            return
        async with db.session() as session:
            await session.execute(update(BotCard).where(BotCard.chat_id == chat_id, BotCard.message_id == message_id)
                                  .values(rendered=""))
            await session.commit()
        raise


async def edit_card(bot: Bot, db: Database, chat_id: int, message_id: int, card: Card, *,
                    employee_id: int) -> None:
    """Show ``card`` in an existing message and remember what it shows."""
    async with db.session() as session:
        changed = await record_card(session, chat_id=chat_id, message_id=message_id, card=card,
                                    employee_id=employee_id)
        await session.commit()
    if changed:
        await show_card(bot, db, chat_id, message_id, card)


async def refresh_cards(bot: Bot, db: Database, request_id: int, *, history_id: int | None = None) -> int:
    """Edit every live card of the request to what its holder should see now; returns edits made.

    Cards drawn after the event ``history_id`` (those its own notices brought) already show it
    and are left alone.
    """
    edits = 0
    async with db.session() as session:
        query = select(BotCard).where(BotCard.request_id == request_id, BotCard.live.is_(True))
        if history_id is not None:
            query = query.where(or_(BotCard.seen_event_id.is_(None), BotCard.seen_event_id < history_id))
        rows = (await session.scalars(query)).all()
        for row in rows:
            employee = await session.get(Employee, row.employee_id)
            t = Texts(employee.language)
            try:
                card = await load_card(session, actor_of(employee), request_id, t)
            except NotFound:  # no longer theirs to see
                row.live = False
                continue
            row.seen_event_id = card.seen_event_id
            if card.fingerprint() == row.rendered:
                continue
            try:
                await bot.edit_message_text(text=card.text, chat_id=row.chat_id, message_id=row.message_id,
                                            reply_markup=card.markup())
                edits += 1
            except TelegramBadRequest as error:
                if "not modified" not in error.message:
                    log.warning("card %s in chat %s: %s", row.message_id, row.chat_id, error.message)
                    row.live = "not found" not in error.message and row.live
            except TelegramForbiddenError:  # they blocked the bot; the notices path tells the admins
                row.live = False
                continue
            row.rendered, row.live = card.fingerprint(), card.live and row.live
        await session.commit()
    return edits
