"""Onboarding (/start <code>), /help, /cancel, and what is said to anything not understood."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from backend.db import Database
from backend.errors import DomainError
from backend.services.core import Core
from backend.services.invites import accept_invite
from backend.services.transactions import in_transaction
from bot.keyboards.callbacks import CancelCb
from bot.texts import Texts

onboarding = Router(name="onboarding")
commands = Router(name="commands")
fallback = Router(name="fallback")


@onboarding.message(CommandStart(deep_link=True))
async def start_with_code(message: Message, command: CommandObject, db: Database, t: Texts) -> None:
    code = command.args or ""
    user = message.from_user

    async def bind(session):
        return await accept_invite(session, code, telegram_user_id=user.id, telegram_username=user.username)

    try:
        employee = await in_transaction(db, bind)
    except DomainError as error:
        await message.answer(t.error(error))
        return
    t = Texts(employee.language)
    await message.answer(t("start.bound", name=employee.full_name) + "\n\n" + help_text(t, set(employee.roles or [])))


@onboarding.message(CommandStart())
async def start_plain(message: Message, core: Core | None, t: Texts) -> None:
    if core is None:
        await message.answer(t("start.unknown"))
        return
    await message.answer(t("start.again", name=core.actor.label) + "\n\n" + help_text(t, set(core.actor.roles)))


def help_text(t: Texts, roles: set[str]) -> str:
    parts = [t("help.everyone"), t("help.approver")]  # anyone may be asked to approve (heads, named people)
    if roles & {"accountant", "admin"}:
        parts.append(t("help.accountant"))
    return "\n\n".join(parts)


@commands.message(Command("help"))
async def show_help(message: Message, core: Core, t: Texts) -> None:
    await message.answer(help_text(t, set(core.actor.roles)))


@commands.message(Command("cancel"))
async def cancel_command(message: Message, state: FSMContext, t: Texts) -> None:
    had = await state.get_state()
    await state.clear()
    await message.answer(t("cancelled") if had else t("nothing_to_cancel"))


@commands.callback_query(CancelCb.filter())
async def cancel_button(query: CallbackQuery, state: FSMContext, t: Texts) -> None:
    await state.clear()
    await query.answer(t("cancelled"))
    if query.message is not None:
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(t("cancelled"))


@fallback.message(F.text)
async def not_understood(message: Message, t: Texts) -> None:
    await message.answer(t("not_understood"))


@fallback.callback_query()
async def stale_button(query: CallbackQuery, t: Texts) -> None:
    """A button this bot does not know (an old keyboard, or forged data): say so, change nothing."""
    await query.answer(t("button.unknown"), show_alert=False)
