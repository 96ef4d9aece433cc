"""The new-request dialog: type → payer → contractor by INN → amount → pay-by → purpose → invoice →
summary with Edit and Submit. The same dialog edits a returned request before it is sent again.

Each step checks its answer with the core's own rules (requisites, money, dates, files) and
asks again, naming what is wrong; nothing reaches the registry until Submit, and then it
goes through the same use cases as the API, in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from backend.documents.invoice_intake import InvoiceReading, read_invoice
from backend.services.invoice_prefill import prefill_from_invoice
from backend.errors import InvalidInput, NotFound
from backend.models import LegalEntity, PaymentRequest, RequestType
from backend.money import check_currency, format_amount, parse_amount
from backend.requisites import (
    validate_bik,
    validate_inn,
    validate_kpp,
    validate_requisites,
)
from backend.services import payment_requests as requests_service
from backend.services.attachments import FileStore, attach
from backend.services.company.legal_entities import list_legal_entities
from backend.services.core import Core
from backend.services.payment_requests import (
    PaymentRequestFields,
    check_pay_by,
    check_text,
    find_counterparty,
)
from backend.services.request_types import list_request_types
from backend.settings import Settings
from backend.workflows.lifecycle import Action
from bot.keyboards.calendar import calendar_tap, month_keyboard, parse_typed_date
from bot.keyboards.callbacks import CalendarCb, PickCb, RequestCb
from bot.keyboards.common import cancel_row
from bot.states import NewRequest
from bot.texts import Texts
from bot.uploads import received_file

router = Router(name="new_request")

ORDER = ("type", "entity", "inn", "name", "kpp", "bik", "account", "amount", "pay_by", "purpose", "file", "summary")
CONTRACTOR = ("inn", "name", "kpp", "bik", "account")
EDITABLE_FIELDS = ("type", "entity", "inn", "amount", "pay_by", "purpose", "file")
CURRENCIES = ("RUB", "USD", "EUR", "CNY")
CURRENCY_WORDS = {"₽": "RUB", "РУБ": "RUB", "Р": "RUB", "$": "USD", "€": "EUR", "¥": "CNY"}
FIELDS = ("request_type_id", "legal_entity_id", "contractor_inn", "contractor_kpp", "contractor_name", "bik",
          "account", "corr_account", "bank_name", "amount", "currency", "pay_by", "purpose")


def _state(step: str):
    return getattr(NewRequest, step)


def _pick(step: str, value: Any, text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PickCb(step=step, value=str(value)).pack())


# --- entry points --------------------------------------------------------------------------------

@router.message(Command("new"))
async def start_dialog(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    await state.clear()
    await state.set_data({"mode": "new", "currency": "RUB"})
    await ask(message, state, core, t, "type")


@router.callback_query(RequestCb.filter(F.act == "ed"))
async def edit_returned(query: CallbackQuery, callback_data: RequestCb, state: FSMContext, core: Core, t: Texts) -> None:
    """Load a returned request into the dialog; Submit will save the changes and send it again."""
    async def load(session):
        request = await requests_service.get_visible(session, core.actor, callback_data.id)
        if request.kind != "payment":  # a contract is edited in its own dialog
            raise NotFound("request.not_found", id=callback_data.id)
        return {f: _plain(getattr(request, f)) for f in FIELDS} | {"version": request.version,
                                                                   "number": request.number}

    data = await core.run(load)
    data["amount"] = format_amount(int(data["amount"]))
    await state.clear()
    await state.set_data({**data, "mode": "edit", "request_id": callback_data.id, "known_contractor": True})
    await query.answer()
    await show_summary(query.message, state, core, t)


def _is_pdf(message: Message) -> bool:
    document = message.document
    return document is not None and ((document.mime_type or "") == "application/pdf"
                                     or (document.file_name or "").lower().endswith(".pdf"))


@router.message(StateFilter(None), F.document, _is_pdf)
async def invoice_sent(message: Message, bot: Bot, state: FSMContext, core: Core, t: Texts, settings: Settings,
                       store: FileStore) -> None:
    """A supplier's invoice as a PDF starts a new request filled in from it: the contractor with
    the bank details, the amount and the purpose, with the file attached. Nothing is sent before
    the person checks every field on the summary (and corrects any) and taps Submit."""
    filename, content = await received_file(message, bot, settings, document_name="invoice.pdf",
                                            photo_name="invoice.pdf")
    reading = await asyncio.to_thread(read_invoice, content)  # a refusal (not a PDF) is answered by DomainErrors
    digest = store.put(content)
    data: dict[str, Any] = {"mode": "new", "currency": "RUB", "prefilled": ["file"],
                            "file": {"sha256": digest, "filename": filename, "size": len(content)}}
    if not reading.readable:
        await message.answer(t("new.invoice_unreadable", reason=t(reading.reason)))
    else:
        data |= _from_invoice(reading)
        found = [t(f"new.invoice_{key}") for key in ("contractor", "amount", "purpose") if key in data["read"]]
        lines = [t("new.invoice_read", found=", ".join(found) if found else t("new.invoice_nothing"))]
        lines += [f"⚠️ {warning}" for warning in reading.warning_messages(t.lang)]
        await message.answer("\n".join(lines))
    await state.clear()
    await state.set_data(data)
    await ask(message, state, core, t, "type")


def _from_invoice(reading: InvoiceReading) -> dict[str, Any]:
    """The dialog's fields from what the invoice says (the core's rule: ``prefill_from_invoice``),
    and the steps they answer, which the dialog then skips."""
    prefill = prefill_from_invoice(reading)
    data: dict[str, Any] = {k: _plain(v) for k, v in prefill.fields.items()}
    data["read"] = [key for key in prefill.read if key != "invoice"]
    if "contractor" in prefill.read:
        data["known_contractor"] = True
    prefilled = {"contractor": "inn", "amount": "amount", "purpose": "purpose"}
    data["prefilled"] = ["file", *(prefilled[key] for key in data["read"])]
    return data


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# --- asking ---------------------------------------------------------------------------------------

async def ask(message: Message, state: FSMContext, core: Core, t: Texts, step: str) -> None:
    """Put the question of ``step`` (or skip it when there is nothing to choose)."""
    data = await state.get_data()
    if step in ("type", "entity"):
        options = await core.run(lambda s: _options(s, step, t))
        if not options:
            await state.clear()
            await message.answer(t(f"new.no_{step}"))
            return
        if len(options) == 1:
            key = "request_type_id" if step == "type" else "legal_entity_id"
            await state.update_data({key: options[0][0]})
            await advance(message, state, core, t, step)
            return
        await state.set_state(_state(step))
        rows = [[_pick(step, value, text)] for value, text in options]
        await message.answer(t(f"new.ask_{step}"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows + [cancel_row(t)]))
        return
    await state.set_state(_state(step))
    if step == "summary":
        await show_summary(message, state, core, t)
        return
    markup = InlineKeyboardMarkup(inline_keyboard=[cancel_row(t)])
    if step == "amount":
        currency = data.get("currency", "RUB")
        row = [_pick("cur", c, ("• " if c == currency else "") + c) for c in CURRENCIES]
        markup = InlineKeyboardMarkup(inline_keyboard=[row, cancel_row(t)])
        await message.answer(t("new.ask_amount", currency=currency), reply_markup=markup)
        return
    if step == "pay_by":
        today = core.actor.today()
        await message.answer(t("new.ask_pay_by"), reply_markup=month_keyboard(
            t, today.year, today.month, earliest=today, latest=date.fromordinal(today.toordinal() + 366)))
        return
    if step == "file":
        markup = InlineKeyboardMarkup(inline_keyboard=[[_pick("nofile", "1", t("btn.no_file"))], cancel_row(t)])
    if step == "kpp":
        markup = InlineKeyboardMarkup(inline_keyboard=[[_pick("nokpp", "1", t("btn.no_kpp"))], cancel_row(t)])
    await message.answer(t(f"new.ask_{step}"), reply_markup=markup)


async def _options(session, step: str, t: Texts) -> list[tuple[int, str]]:
    if step == "type":
        rows: list[RequestType] = await list_request_types(session)
        return [(r.id, r.name_ru if t.lang == "ru" else r.name_en) for r in rows]
    entities: list[LegalEntity] = await list_legal_entities(session)
    return [(e.id, e.name) for e in entities]


async def advance(message: Message, state: FSMContext, core: Core, t: Texts, done: str) -> None:
    """Go to the step after ``done``: the next one, skipping what is already known, or back to the
    summary when the person was correcting one field."""
    data = await state.get_data()
    editing = data.get("editing")
    position = ORDER.index(done) + 1
    while position < len(ORDER):
        step = ORDER[position]
        if editing and not (done in CONTRACTOR and step in CONTRACTOR):
            step = "summary"
        if step in ("name", "kpp", "bik", "account") and data.get("known_contractor"):
            position += 1
            continue
        if step in data.get("prefilled", ()):  # read from the invoice: shown on the summary to confirm
            position += 1
            continue
        if step == "kpp" and len(data.get("contractor_inn", "")) == 12:
            position += 1
            continue
        await ask(message, state, core, t, step)
        return
    await ask(message, state, core, t, "summary")


# --- answers: choices -----------------------------------------------------------------------------

@router.callback_query(StateFilter(NewRequest.type, NewRequest.entity), PickCb.filter(F.step.in_({"type", "entity"})))
async def picked(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    step = callback_data.step
    if await state.get_state() != _state(step).state:
        await query.answer(t("button.old"))
        return
    options = dict(await core.run(lambda s: _options(s, step, t)))
    value = int(callback_data.value) if callback_data.value.isdigit() else None
    if value not in options:
        await query.answer(t("button.old"))
        return
    await state.update_data({"request_type_id" if step == "type" else "legal_entity_id": value})
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {options[value]}")
    await advance(query.message, state, core, t, step)


@router.callback_query(NewRequest.amount, PickCb.filter(F.step == "cur"))
async def picked_currency(query: CallbackQuery, callback_data: PickCb, state: FSMContext, t: Texts) -> None:
    if callback_data.value not in CURRENCIES:
        await query.answer(t("button.old"))
        return
    await state.update_data({"currency": callback_data.value})
    await query.answer(t("new.currency_set", currency=callback_data.value))
    row = [_pick("cur", c, ("• " if c == callback_data.value else "") + c) for c in CURRENCIES]
    await query.message.edit_text(t("new.ask_amount", currency=callback_data.value),
                                  reply_markup=InlineKeyboardMarkup(inline_keyboard=[row, cancel_row(t)]))


@router.callback_query(NewRequest.pay_by, CalendarCb.filter())
async def pay_by_tapped(query: CallbackQuery, callback_data: CalendarCb, state: FSMContext, core: Core, t: Texts) -> None:
    today = core.actor.today()
    day = await calendar_tap(query, callback_data, t, earliest=today, latest=date.fromordinal(today.toordinal() + 366))
    if day is None:
        return
    check_pay_by(day, today)  # a calendar left open past midnight may offer yesterday
    await state.update_data({"pay_by": day.isoformat()})
    await query.answer()
    await query.message.edit_text(f"{t('new.ask_pay_by')}\n→ {t.day(day)}")
    await advance(query.message, state, core, t, "pay_by")


@router.callback_query(NewRequest.kpp, PickCb.filter(F.step == "nokpp"))
async def skip_kpp(query: CallbackQuery, state: FSMContext, core: Core, t: Texts) -> None:
    await state.update_data({"contractor_kpp": ""})
    await query.answer()
    await advance(query.message, state, core, t, "kpp")


@router.callback_query(NewRequest.file, PickCb.filter(F.step == "nofile"))
async def skip_file(query: CallbackQuery, state: FSMContext, core: Core, t: Texts) -> None:
    await state.update_data({"file": None})
    await query.answer()
    await advance(query.message, state, core, t, "file")


# --- answers: typed text --------------------------------------------------------------------------

Parser = Callable[[str, dict[str, Any], Core], Awaitable[dict[str, Any]]]


async def _inn(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    inn = validate_inn(text)
    known = await core.run(lambda s: find_counterparty(s, inn))
    if known is None:
        return {"contractor_inn": inn, "known_contractor": False, "contractor_name": "", "contractor_kpp": "",
                "bik": "", "account": "", "corr_account": "", "bank_name": ""}
    return {"contractor_inn": known.inn, "contractor_kpp": known.kpp, "contractor_name": known.name,
            "bik": known.bik, "account": known.account, "corr_account": known.corr_account,
            "bank_name": known.bank_name, "known_contractor": True}


async def _name(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    return {"contractor_name": check_text("contractor_name", text, required=True)}


async def _kpp(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    return {"contractor_kpp": validate_kpp(text, inn=data.get("contractor_inn")) or ""}


async def _bik(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    return {"bik": validate_bik(text)}


async def _account(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    checked = validate_requisites(inn=data["contractor_inn"], kpp=data.get("contractor_kpp") or None,
                                  bik=data["bik"], account=text, corr_account=None)
    return {"account": checked.account}


async def _amount(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    words = text.replace("\u00a0", " ").split()
    currency = data.get("currency", "RUB")
    # "1500 USD", "1 500,50 eur", "1500 ₽", "1500 руб.": a currency only after digits, so "abc" or
    # "две тысячи" is a bad amount, not an unknown currency.
    word = words[-1].upper().rstrip(".") if any(ch.isdigit() for ch in "".join(words[:-1])) else ""
    if word in CURRENCY_WORDS or word.isalpha():
        currency = check_currency(CURRENCY_WORDS.get(word, word))
        words = words[:-1]
    minor = parse_amount(" ".join(words))
    return {"amount": format_amount(minor), "currency": currency}


async def _pay_by(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    today = core.actor.today()
    day = parse_typed_date(text, today)
    if day is None:
        raise InvalidInput("date.format", field="pay_by")
    return {"pay_by": check_pay_by(day, today).isoformat()}


async def _purpose(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    return {"purpose": check_text("purpose", " ".join(text.split()))}


PARSERS: dict[str, Parser] = {"inn": _inn, "name": _name, "kpp": _kpp, "bik": _bik, "account": _account,
                              "amount": _amount, "pay_by": _pay_by, "purpose": _purpose}
TEXT_STATES = [_state(step) for step in PARSERS]


@router.message(StateFilter(*TEXT_STATES), F.text, ~F.text.startswith("/"))
async def typed(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    step = (await state.get_state()).split(":")[1]
    data = await state.get_data()
    updates = await PARSERS[step](message.text, data, core)  # a refusal is answered by DomainErrors
    await state.update_data(updates)
    if step == "inn" and updates.get("known_contractor"):
        await message.answer(t("new.contractor_known", name=updates["contractor_name"], account=updates["account"]))
    await advance(message, state, core, t, step)


@router.message(StateFilter(*TEXT_STATES), ~F.text)
async def not_text(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_text"))


@router.message(StateFilter(NewRequest.type, NewRequest.entity, NewRequest.summary), ~F.text.startswith("/"))
async def need_button(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_button"))


# --- the invoice file -------------------------------------------------------------------------------

@router.message(NewRequest.file, F.document | F.photo)
async def got_file(message: Message, bot: Bot, state: FSMContext, core: Core, t: Texts, settings: Settings,
                   store: FileStore) -> None:
    filename, content = await received_file(message, bot, settings, document_name="invoice",
                                            photo_name=f"invoice-{message.message_id}.jpg")
    digest = store.put(content)
    await state.update_data({"file": {"sha256": digest, "filename": filename, "size": len(content)}})
    await advance(message, state, core, t, "file")


@router.message(NewRequest.file)
async def file_expected(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_file"))


# --- summary, edit, submit ----------------------------------------------------------------------------

async def show_summary(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    await state.set_state(NewRequest.summary)
    await state.update_data({"editing": False})
    data = await state.get_data()
    names = await core.run(lambda s: _names(s, data, t))
    file = data.get("file")
    lines = [t("new.summary_title") if data.get("mode") == "new" else t("new.summary_edit", number=data.get("number", ""))]
    lines += [
        t("new.row_type", value=names["type"]), t("new.row_entity", value=names["entity"]),
        t("new.row_contractor", name=data.get("contractor_name", ""), inn=data.get("contractor_inn", ""),
          kpp=data.get("contractor_kpp") or "—"),
        t("new.row_bank", bik=data.get("bik", ""), account=data.get("account", "")),
        t("new.row_amount", value=t.money(parse_amount(data["amount"]), data.get("currency", "RUB"))),
        t("new.row_pay_by", value=t.day(date.fromisoformat(data["pay_by"]))),
        t("new.row_purpose", value=data.get("purpose", "")),
        t("new.row_file", value=file["filename"] if file else t("new.no_file")),
    ]
    rows = [[_pick("submit", "1", t("btn.submit")), _pick("edit", "menu", t("btn.edit"))], cancel_row(t)]
    await message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def _names(session, data: dict[str, Any], t: Texts) -> dict[str, str]:
    request_type = await session.get(RequestType, data.get("request_type_id"))
    entity = await session.get(LegalEntity, data.get("legal_entity_id"))
    return {"type": (request_type.name_ru if t.lang == "ru" else request_type.name_en) if request_type else "—",
            "entity": entity.name if entity else "—"}


@router.callback_query(NewRequest.summary, PickCb.filter(F.step == "edit"))
async def edit_field(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    await query.answer()
    if callback_data.value == "menu":
        rows = [[_pick("edit", f, t(f"new.edit_{f}"))] for f in EDITABLE_FIELDS]
        await query.message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows + [cancel_row(t)]))
        return
    if callback_data.value not in EDITABLE_FIELDS:
        return
    await state.update_data({"editing": True})
    await ask(query.message, state, core, t, callback_data.value)


@router.callback_query(NewRequest.summary, PickCb.filter(F.step == "submit"))
async def submit(query: CallbackQuery, state: FSMContext, core: Core, t: Texts, settings: Settings,
                 store: FileStore) -> None:
    data = await state.get_data()
    fields = PaymentRequestFields(
        request_type_id=data["request_type_id"], legal_entity_id=data["legal_entity_id"],
        subject=data["purpose"][:500], contractor_name=data["contractor_name"], contractor_inn=data["contractor_inn"],
        contractor_kpp=data.get("contractor_kpp") or None, bik=data["bik"], account=data["account"],
        corr_account=data.get("corr_account") or None, bank_name=data.get("bank_name") or None,
        amount=data["amount"], currency=data.get("currency", "RUB"), pay_by=date.fromisoformat(data["pay_by"]),
        purpose=data["purpose"],
    )
    if data.get("invoice_number") and data.get("mode") == "new":  # read from the invoice: duplicates are caught
        fields.invoice_number = data["invoice_number"]
        fields.invoice_date = date.fromisoformat(data["invoice_date"]) if data.get("invoice_date") else None
    file = data.get("file")

    async def work(session) -> PaymentRequest:
        if data.get("mode") == "edit":
            outcome = await requests_service.update_request(session, core.actor, data["request_id"], fields,
                                                            expected_version=data["version"])
            request = outcome.request
        else:
            request = await requests_service.create_request(session, core.actor, fields)
        if file:
            await attach(session, store, core.actor, request, kind="invoice", filename=file["filename"],
                         content=store.read(file["sha256"]), max_bytes=settings.max_upload_mb * 1024 * 1024)
        await requests_service.act(session, core.actor, request.id, Action.SUBMIT)
        return request

    request = await core.run(work)  # a refusal keeps the summary open (DomainErrors answers it)
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(t("new.submitted", number=request.number, status=t.status(request.status)))


@router.callback_query(StateFilter(NewRequest), PickCb.filter())
async def old_pick(query: CallbackQuery, t: Texts) -> None:
    await query.answer(t("button.old"))
