"""/deal <id>: a Bitrix24 deal as accounting sees it — the stage Viza last saw, the two
confirmations its stage gates read (contract approved, closing checked) with buttons to give or
withdraw them, and its payment requests. The rules (who may confirm) are the core's."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from backend.services.core import Core
from backend.services.integrations import confirm_deal, get_deal
from bot.texts import Texts

router = Router(name="deals")


class DealCb(CallbackData, prefix="d"):
    deal: str
    what: str  # contract | closing
    on: bool


def card_text(t: Texts, deal: dict[str, Any], zone: str) -> str:
    def when(value: str | None) -> str:
        return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M") if value else ""

    lines = [t("deal.title", deal_id=deal["deal_id"]),
             t("deal.stage", stage=deal["stage_id"]) if deal["stage_id"] else t("deal.stage_unknown"),
             t("deal.contract_yes", at=when(deal["contract_approved_at"])) if deal["contract_approved_at"]
             else t("deal.contract_no"),
             t("deal.closing_yes", at=when(deal["closing_confirmed_at"])) if deal["closing_confirmed_at"]
             else t("deal.closing_no")]
    requests = deal["requests"]
    if requests:
        summary = ", ".join(f"{t.status(status)} — {r['count']}" for status, r in sorted(requests.items()))
        lines.append(t("deal.requests", summary=summary))
    else:
        lines.append(t("deal.requests_none"))
    return "\n".join(lines)


def card_buttons(t: Texts, deal: dict[str, Any]) -> InlineKeyboardMarkup:
    rows = []
    for what, on_key, off_key, field in (("contract", "deal.approve_contract", "deal.withdraw_contract", "contract_approved_at"),
                                         ("closing", "deal.confirm_closing", "deal.withdraw_closing", "closing_confirmed_at")):
        given = bool(deal[field])
        rows.append([InlineKeyboardButton(text=t(off_key if given else on_key),
                                          callback_data=DealCb(deal=deal["deal_id"], what=what, on=not given).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@router.message(Command("deal"))
async def show_deal(message: Message, command: CommandObject, core: Core, t: Texts) -> None:
    deal_id = (command.args or "").strip().lstrip("#№")
    if not deal_id:
        await message.answer(t("deal.usage"))
        return
    deal = await core.call(get_deal, core.actor, deal_id)
    await message.answer(card_text(t, deal, core.actor.timezone), reply_markup=card_buttons(t, deal))


@router.callback_query(DealCb.filter())
async def confirm(query: CallbackQuery, callback_data: DealCb, core: Core, t: Texts) -> None:
    deal = await core.call(confirm_deal, core.actor, callback_data.deal, callback_data.what, callback_data.on)
    await query.answer(t("deal.saved"))
    await query.message.edit_text(card_text(t, deal, core.actor.timezone), reply_markup=card_buttons(t, deal))

