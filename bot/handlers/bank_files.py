"""Bank files in chat. The /pay queue's Bank file button sends the approved requests of the tab as a
1CClientBankExchange file for the bank client (asking which legal entity pays when there are
several); a statement (.txt) sent by an accountant marks the requests it paid and is answered with
what became of every line. Both are the core's use cases (``backend/services/bank_files.py``), the
same the API calls; who may do it is the core's to say.
"""

from __future__ import annotations

import io
from collections import Counter

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from backend.errors import InvalidInput
from backend.services import bank_files
from backend.services.core import Core
from backend.settings import Settings
from bot.texts import Texts

router = Router(name="bank_files")
MESSAGE_LIMIT = 4000  # Telegram's is 4096 characters
NUMBERS_SHOWN = 10


class BankCb(CallbackData, prefix="bk"):
    """Export the /pay tab ``period``; ``entity`` is the legal entity picked (0: not asked yet)."""

    period: str
    entity: int = 0


def export_button(t: Texts, period: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=t("btn.bank_export"), callback_data=BankCb(period=period).pack())


# --- payment orders out -------------------------------------------------------------------------

@router.callback_query(BankCb.filter())
async def export(query: CallbackQuery, callback_data: BankCb, bot: Bot, core: Core, t: Texts) -> None:
    filters = bank_files.queue_filters(callback_data.period, core.actor.today(),
                                       legal_entity_id=callback_data.entity or None)
    if not callback_data.entity:
        choices = await core.call(bank_files.exportable_entities, core.actor, filters)
        if len(choices) > 1:
            await query.answer()
            rows = [[InlineKeyboardButton(
                text=t("bank.entity_choice", name=c.name, count=c.count, total=t.money(c.total, "RUB")),
                callback_data=BankCb(period=callback_data.period, entity=c.id).pack())] for c in choices]
            await query.message.answer(t("bank.ask_entity"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
            return
    bank_file = await core.call(bank_files.export_payment_orders, core.actor, filters)
    await query.answer()
    caption = t("bank.file_caption", count=bank_file.count, total=t.money(bank_file.total, "RUB"),
                entity=bank_file.legal_entity, account=bank_file.account)
    if bank_file.without_vat:
        caption += "\n" + t("bank.no_vat", numbers=_some(t, bank_file.without_vat))
    await bot.send_document(query.message.chat.id, BufferedInputFile(bank_file.content, filename=bank_file.filename),
                            caption=caption[:1024])
    if callback_data.entity:  # the question is answered: its buttons go
        await query.message.edit_reply_markup(reply_markup=None)


def _some(t: Texts, numbers: list[str]) -> str:
    shown = ", ".join(numbers[:NUMBERS_SHOWN])
    if len(numbers) <= NUMBERS_SHOWN:
        return shown
    return shown + " " + t("bank.more", count=len(numbers) - NUMBERS_SHOWN)


# --- a statement in ------------------------------------------------------------------------------

def is_text_file(message: Message) -> bool:
    """A ``.txt`` document: what bank clients save statements for 1C as."""
    return message.document is not None and (message.document.file_name or "").lower().endswith(".txt")


@router.message(StateFilter(None), F.document, is_text_file)
async def statement(message: Message, bot: Bot, core: Core, t: Texts, settings: Settings) -> None:
    if (message.document.file_size or 0) > settings.max_upload_mb * 1024 * 1024:
        raise InvalidInput("attachment.too_large", field="file", max_mb=settings.max_upload_mb)
    buffer = io.BytesIO()
    await bot.download(message.document.file_id, destination=buffer)
    result = await core.call(bank_files.import_statement, core.actor, buffer.getvalue())
    for part in split_message(render_statement(t, result)):
        await message.answer(part)


def render_statement(t: Texts, result: bank_files.StatementResult) -> list[str]:
    """The import's report, a line each: matched, already paid, not matched (with why), skipped."""
    period = t.day(result.start) if result.start == result.end else f"{t.day(result.start)} – {t.day(result.end)}"
    lines = [t("bank.statement_title", accounts=", ".join(result.accounts) or "—", period=period)]
    if result.unknown_accounts:
        lines.append(t("bank.unknown_accounts", accounts=", ".join(result.unknown_accounts)))
    if not (result.matched or result.already_paid or result.unmatched or result.ignored):
        return lines + [t("bank.statement_nothing")]
    if result.matched:
        lines += ["", t("bank.matched", count=len(result.matched))]
        lines += [t("bank.matched_line", id=m.request_id, number=m.number, amount=t.money(m.amount, "RUB"),
                    recipient=m.statement.recipient.name, day=t.day(m.paid_on)) for m in result.matched]
    if result.already_paid:
        lines += ["", t("bank.already_paid", count=len(result.already_paid))]
        lines += [t("bank.already_paid_line", id=a.request_id, number=a.number,
                    amount=t.money(a.statement.amount, "RUB"), day=t.day(a.paid_on)) for a in result.already_paid]
    if result.unmatched:
        lines += ["", t("bank.unmatched", count=len(result.unmatched))]
        lines += [t("bank.unmatched_line", number=u.statement.number, day=t.day(u.statement.date),
                    amount=t.money(u.statement.amount, "RUB"), recipient=u.statement.recipient.name or "—",
                    reason=u.message(t.lang)) for u in result.unmatched]
    if result.ignored:
        reasons = Counter(i.message(t.lang) for i in result.ignored)
        lines += ["", t("bank.ignored", count=len(result.ignored), reasons=", ".join(
            t("bank.ignored_reason", reason=reason, count=count) for reason, count in reasons.items()))]
    return lines


def split_message(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Lines packed into messages Telegram accepts, never cutting a line in two (unless it alone is too long)."""
    parts: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        parts.append(current.rstrip())
    return parts
