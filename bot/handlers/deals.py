"""/deal <id>: a Bitrix24 deal as accounting sees it — the stage Viza last saw, the two
confirmations its stage gates read (contract approved, closing checked) with buttons to give or
withdraw them, its contracts and payment requests, and "make contract / make invoice", which send
the print forms back as PDF and DOCX. The rules (who may confirm, what may be issued) are the core's."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from backend.services.attachments import FileStore
from backend.services.core import Core
from backend.services.integrations import confirm_deal, get_deal
from backend.services.print_documents import deal_contract_files, deal_invoice
from backend.settings import Settings
from bot.texts import Texts

router = Router(name="deals")


class DealCb(CallbackData, prefix="d"):
    deal: str
    what: str  # contract | closing
    on: bool


class DealDocCb(CallbackData, prefix="dd"):
    deal: str
    what: str  # contract | invoice


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
    if deal.get("contracts"):
        lines.append(t("deal.contracts", summary=", ".join(
            f"{c['contract_number'] or c['number']} — {t.status(c['status'], 'contract')}" for c in deal["contracts"])))
    return "\n".join(lines)


def card_buttons(t: Texts, deal: dict[str, Any]) -> InlineKeyboardMarkup:
    rows = []
    for what, on_key, off_key, field in (("contract", "deal.approve_contract", "deal.withdraw_contract", "contract_approved_at"),
                                         ("closing", "deal.confirm_closing", "deal.withdraw_closing", "closing_confirmed_at")):
        given = bool(deal[field])
        rows.append([InlineKeyboardButton(text=t(off_key if given else on_key),
                                          callback_data=DealCb(deal=deal["deal_id"], what=what, on=not given).pack())])
    rows.append([InlineKeyboardButton(text=t(f"deal.make_{what}"),
                                      callback_data=DealDocCb(deal=deal["deal_id"], what=what).pack())
                 for what in ("contract", "invoice")])
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



@router.callback_query(DealDocCb.filter())
async def make_documents(query: CallbackQuery, callback_data: DealDocCb, bot: Bot, core: Core, t: Texts,
                         settings: Settings, store: FileStore) -> None:
    """The deal's contract print form, or the invoice under its approved contract, as PDF and DOCX."""
    # Answered once the files are made: a refusal is answered by DomainErrors, and a query is answered once.
    if callback_data.what == "contract":
        files = await core.call(deal_contract_files, store, core.actor, callback_data.deal)
        caption = t("deal.contract_files", deal_id=callback_data.deal)
    else:
        async def issue(session):
            invoice, issued, printed = await deal_invoice(session, store, settings, core.actor, callback_data.deal)
            return invoice.number, invoice.amount_due, issued, printed

        number, due, issued, files = await core.run(issue)
        caption = t("deal.invoice_new" if issued else "deal.invoice_again", number=number, amount=t.money(due, "RUB"))
    for printed in files:
        await bot.send_document(query.message.chat.id, BufferedInputFile(printed.content, filename=printed.filename),
                                caption=caption)
    await query.answer()
