"""Contract approvals in chat: /contract (or a DOCX sent to the bot) → our legal entity → client type →
client INN → client name → subject → amount → Bitrix24 deal → the contract file → summary with Edit
and Submit; and a new version of a returned contract from its card ("📎 Новая версия").

Like the payment request dialog, each step checks its answer with the core's own rules and asks
again naming the field; nothing reaches the registry until Submit, and then the contract is
created and sent in one transaction through the same use cases as the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from backend.db import Database
from backend.errors import InvalidInput
from backend.models import Contract, LegalEntity, PaymentRequest
from backend.money import format_amount, parse_amount
from backend.requisites import validate_inn
from backend.services import payment_requests as requests_service
from backend.services.attachments import CONTRACT_TYPES, FileStore, sniff_type
from backend.services.company.common import text as checked_text
from backend.services.company.legal_entities import list_legal_entities
from backend.services.contracts import (
    ContractFields,
    create_contract,
    get_contract,
    latest_version,
    update_contract,
    upload_version,
)
from backend.services.core import Core
from backend.services.payment_requests import find_counterparty
from backend.settings import Settings
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import EDITABLE, Action, Status
from bot.card_messages import send_card
from bot.cards import client_text, load_card
from bot.keyboards.callbacks import PickCb, RequestCb
from bot.keyboards.common import cancel_row
from bot.states import ContractDialog
from bot.texts import Texts
from bot.uploads import received_file

router = Router(name="contracts")

ORDER = ("entity", "client_type", "inn", "name", "subject", "amount", "deal", "file", "summary")
CLIENT = ("client_type", "inn", "name")  # asked one after another, also when correcting the client
EDITABLE_FIELDS = ("entity", "client_type", "subject", "amount", "deal", "file")
CLIENT_TYPES = ("company", "individual")
CONTRACT_EXTENSIONS = (".docx", ".doc", ".pdf")
WORD_EXTENSIONS = (".docx", ".doc")
WORD_TYPES = {"application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
SUBJECT_LIMIT = 500


def _state(step: str):
    return getattr(ContractDialog, step)


def _pick(step: str, value: Any, text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PickCb(step=step, value=str(value)).pack())


def _not_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


class Refusal(Exception):
    """An answer the dialog does not take, said in the bot's own words (``key`` of bot/locales)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# --- entry points ----------------------------------------------------------------------------------

@router.message(Command("contract"))
async def start_dialog(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    await state.clear()
    await state.set_data({"mode": "new"})
    await ask(message, state, core, t, "entity")


def _is_word(message: Message) -> bool:
    document = message.document
    return document is not None and ((document.file_name or "").lower().endswith(WORD_EXTENSIONS)
                                     or (document.mime_type or "") in WORD_TYPES)


@router.message(StateFilter(None), F.document, _is_word)
async def contract_sent(message: Message, bot: Bot, state: FSMContext, core: Core, t: Texts, settings: Settings,
                        store: FileStore) -> None:
    """A DOCX (or DOC) sent outside any dialog is a contract to approve: the dialog starts with the
    file attached. (A PDF outside a dialog stays an invoice: bot/handlers/new_request.py.)"""
    received = await _received_contract(message, bot, t, settings)
    if received is None:
        return
    file = _stored(store, *received)
    await state.clear()
    await state.set_data({"mode": "new", "file": file, "prefilled": ["file"]})
    await message.answer(t("contract.file_received", filename=file["filename"]))
    await ask(message, state, core, t, "entity")


@router.callback_query(RequestCb.filter(F.act == "ce"))
async def edit_returned(query: CallbackQuery, callback_data: RequestCb, state: FSMContext, core: Core, t: Texts) -> None:
    """Load a draft or returned contract into the dialog; Submit saves the changes and sends it again."""
    async def load(session) -> dict[str, Any] | None:
        request = await get_contract(session, core.actor, callback_data.id)
        if not _own_editable(request, core.actor):
            return None
        contract = await session.get(Contract, request.id)
        latest = await latest_version(session, request.id)
        return {
            "legal_entity_id": request.legal_entity_id, "client_type": contract.client_type,
            "client_inn": request.contractor_inn or "", "client_kpp": request.contractor_kpp or "",
            "client_name": request.contractor_name, "subject": request.subject,
            "amount": format_amount(request.amount) if request.amount else None,
            "deal": request.bitrix24_deal_id or None, "number": request.number, "version": request.version,
            "had_amount": bool(request.amount),
            "file": {"sha256": latest.sha256, "filename": latest.filename, "size": latest.size,
                     "version": latest.version} if latest else None,
        }

    data = await core.run(load)
    if data is None:
        await query.answer(t("contract.edit_not_now"), show_alert=True)
        return
    await state.clear()
    await state.set_data({**data, "mode": "edit", "request_id": callback_data.id, "known_client": True})
    await query.answer()
    await show_summary(query.message, state, core, t)


def _own_editable(request: PaymentRequest, actor: Actor) -> bool:
    """A contract's text and fields change only by its initiator, while it is a draft or returned."""
    return request.initiator_id == actor.employee_id and Status(request.status) in EDITABLE


# --- asking -------------------------------------------------------------------------------------------

async def ask(message: Message, state: FSMContext, core: Core, t: Texts, step: str) -> None:
    """Put the question of ``step`` (our legal entity is skipped when there is only one)."""
    data = await state.get_data()
    if step == "entity":
        options = await core.run(_entities)
        if not options:
            await state.clear()
            await message.answer(t("contract.no_entity"))
            return
        if len(options) == 1:
            await state.update_data({"legal_entity_id": options[0][0]})
            await advance(message, state, core, t, step)
            return
        await state.set_state(ContractDialog.entity)
        rows = [[_pick("c_ent", value, text)] for value, text in options]
        await message.answer(t("contract.ask_entity"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows + [cancel_row(t)]))
        return
    await state.set_state(_state(step))
    if step == "summary":
        await show_summary(message, state, core, t)
        return
    rows: list[list[InlineKeyboardButton]] = []
    question = t(f"contract.ask_{step}")
    if step == "client_type":
        rows = [[_pick("c_type", kind, t(f"contract.type_{kind}")) for kind in CLIENT_TYPES]]
    elif step == "inn" and data.get("client_type") == "individual":
        question = t("contract.ask_inn_individual")
        rows = [[_pick("c_skip", "inn", t("btn.contract_no_inn"))]]
    elif step == "amount" and data.get("had_amount"):
        # The core keeps a contract's amount once given (a price cannot be set back to none), so a
        # contract sent with an amount is not offered "Без суммы" when corrected.
        question = t("contract.ask_amount_only")
    elif step == "amount":
        rows = [[_pick("c_skip", "amount", t("btn.contract_no_amount"))]]
    elif step == "deal":
        rows = [[_pick("c_skip", "deal", t("btn.contract_no_deal"))]]
    await message.answer(question, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows + [cancel_row(t)]))


async def _entities(session) -> list[tuple[int, str]]:
    entities: list[LegalEntity] = await list_legal_entities(session)
    return [(e.id, e.name) for e in entities]


async def advance(message: Message, state: FSMContext, core: Core, t: Texts, done: str) -> None:
    """Go to the step after ``done``, skipping what is already known, or back to the summary when
    the person was correcting one field (the client's type, INN and name go together)."""
    data = await state.get_data()
    position = ORDER.index(done) + 1
    while position < len(ORDER):
        step = ORDER[position]
        if data.get("editing") and not (done in CLIENT and step in CLIENT):
            step = "summary"
        if step == "name" and data.get("known_client"):
            position += 1
            continue
        if step in data.get("prefilled", ()):  # the file came first: shown on the summary
            position += 1
            continue
        await ask(message, state, core, t, step)
        return
    await ask(message, state, core, t, "summary")


# --- answers: buttons ---------------------------------------------------------------------------------

@router.callback_query(ContractDialog.entity, PickCb.filter(F.step == "c_ent"))
async def picked_entity(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    options = dict(await core.run(_entities))
    value = int(callback_data.value) if callback_data.value.isdigit() else None
    if value not in options:
        await query.answer(t("button.old"))
        return
    await state.update_data({"legal_entity_id": value})
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {options[value]}")
    await advance(query.message, state, core, t, "entity")


@router.callback_query(ContractDialog.client_type, PickCb.filter(F.step == "c_type"))
async def picked_client_type(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core,
                             t: Texts) -> None:
    if callback_data.value not in CLIENT_TYPES:
        await query.answer(t("button.old"))
        return
    # The INN and name are asked again for the new type; a company's name comes from a known INN.
    await state.update_data({"client_type": callback_data.value, "known_client": False})
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {t('contract.type_' + callback_data.value)}")
    await advance(query.message, state, core, t, "client_type")


SKIPS = {"inn": ({"client_inn": "", "client_kpp": "", "known_client": False}, "btn.contract_no_inn"),
         "amount": ({"amount": None}, "btn.contract_no_amount"),
         "deal": ({"deal": None}, "btn.contract_no_deal")}


@router.callback_query(StateFilter(ContractDialog.inn, ContractDialog.amount, ContractDialog.deal),
                       PickCb.filter(F.step == "c_skip"))
async def skipped(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    step = (await state.get_state()).split(":")[1]
    data = await state.get_data()
    if callback_data.value != step or (step == "inn" and data.get("client_type") != "individual") \
            or (step == "amount" and data.get("had_amount")):
        await query.answer(t("button.old"))
        return
    updates, label = SKIPS[step]
    await state.update_data(updates)
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {t(label)}")
    await advance(query.message, state, core, t, step)


# --- answers: typed text ------------------------------------------------------------------------------

Parser = Callable[[str, dict[str, Any], Core], Awaitable[dict[str, Any]]]


async def _inn(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    try:
        inn = validate_inn(text)
    except InvalidInput as error:
        error.field = "client_inn"  # "ИНН клиента: …"
        raise
    if data.get("client_type") == "company":
        known = await core.run(lambda s: find_counterparty(s, inn))
        if known is not None:
            return {"client_inn": known.inn, "client_kpp": known.kpp or "", "client_name": known.name,
                    "known_client": True}
    return {"client_inn": inn, "client_kpp": "", "known_client": False}


async def _name(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    return {"client_name": checked_text(" ".join(text.split()), "client_name", 300)}


async def _subject(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    subject = " ".join(text.split())
    if not subject:
        raise Refusal("contract.subject_required")
    if len(subject) > SUBJECT_LIMIT:
        raise Refusal("contract.subject_too_long", max=SUBJECT_LIMIT, length=len(subject))
    return {"subject": subject}


RUBLE_WORDS = ("₽", "руб.", "руб", "р.", "rub")


async def _amount(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    value = text.strip().lower()
    for word in RUBLE_WORDS:  # "150 000 руб." is still 150 000
        if value.endswith(word) and any(ch.isdigit() for ch in value):
            value = value[: -len(word)].strip()
            break
    return {"amount": format_amount(parse_amount(value))}


async def _deal(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    digits = text.strip().lstrip("#№").strip()
    if not (digits.isdigit() and len(digits) <= 18):
        raise InvalidInput("deal.bad_id", field="bitrix24_deal_id")
    return {"deal": digits}


PARSERS: dict[str, Parser] = {"inn": _inn, "name": _name, "subject": _subject, "amount": _amount, "deal": _deal}
TEXT_STATES = [_state(step) for step in PARSERS]


@router.message(StateFilter(*TEXT_STATES), F.text, _not_command)
async def typed(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    step = (await state.get_state()).split(":")[1]
    data = await state.get_data()
    try:
        updates = await PARSERS[step](message.text, data, core)  # a core refusal is answered by DomainErrors
    except Refusal as refusal:
        await message.answer(t(refusal.key, **refusal.params))
        return
    await state.update_data(updates)
    if step == "inn" and updates.get("known_client"):
        await message.answer(t("contract.client_known", name=updates["client_name"]))
    await advance(message, state, core, t, step)


@router.message(StateFilter(*TEXT_STATES), _not_command)
async def not_text(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_text"))


@router.message(StateFilter(ContractDialog.entity, ContractDialog.client_type, ContractDialog.summary), _not_command)
async def need_button(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_button"))


# --- the contract file ----------------------------------------------------------------------------------

def _looks_like_contract(message: Message) -> bool:
    document = message.document
    return document is not None and ((document.file_name or "").lower().endswith(CONTRACT_EXTENSIONS)
                                     or (document.mime_type or "") in CONTRACT_TYPES)


async def _received_contract(message: Message, bot: Bot, t: Texts, settings: Settings) -> tuple[str, bytes] | None:
    """(file name, content) of a DOCX, DOC or PDF; anything else is refused in words (None)."""
    if not _looks_like_contract(message):
        await message.answer(t("contract.need_file"))
        return None
    try:
        filename, content = await received_file(message, bot, settings, document_name="contract.docx",
                                                photo_name="contract.pdf")
    except InvalidInput as error:
        if error.code != "attachment.type":
            raise  # empty or too large: the core's words say which
        await message.answer(t("contract.need_file"))
        return None
    if sniff_type(content, filename) not in CONTRACT_TYPES:  # named .docx, but the bytes are not one
        await message.answer(t("contract.need_file"))
        return None
    return filename, content


def _stored(store: FileStore, filename: str, content: bytes) -> dict[str, Any]:
    return {"sha256": store.put(content), "filename": filename, "size": len(content)}


@router.message(ContractDialog.file, _not_command)
async def got_file(message: Message, bot: Bot, state: FSMContext, core: Core, t: Texts, settings: Settings,
                   store: FileStore) -> None:
    received = await _received_contract(message, bot, t, settings)
    if received is None:
        return
    await state.update_data({"file": _stored(store, *received)})
    await advance(message, state, core, t, "file")


# --- summary, edit, submit --------------------------------------------------------------------------------

async def show_summary(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    await state.set_state(ContractDialog.summary)
    await state.update_data({"editing": False})
    data = await state.get_data()
    entity = await core.run(lambda s: s.get(LegalEntity, data.get("legal_entity_id")))
    file = data.get("file")
    amount = data.get("amount")
    if file:
        file_text = t("contract.file_version", filename=file["filename"], version=file["version"]) \
            if file.get("version") else file["filename"]
    else:
        file_text = t("contract.no_file")
    lines = [t("contract.summary_title") if data.get("mode") == "new"
             else t("contract.summary_edit", number=data.get("number", "")),
             t("contract.row_entity", value=entity.name if entity else "—"),
             t("contract.row_client", value=client_text(t, data.get("client_type", "company"),
                                                       data.get("client_name", ""), data.get("client_inn", ""))),
             t("contract.row_subject", value=data.get("subject", "")),
             t("contract.row_amount", value=t.money(parse_amount(amount), "RUB") if amount else t("contract.no_amount")),
             t("contract.row_deal", value=data.get("deal") or t("contract.no_deal")),
             t("contract.row_file", value=file_text)]
    rows = [[_pick("c_submit", "1", t("btn.submit")), _pick("c_edit", "menu", t("btn.edit"))], cancel_row(t)]
    await message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


@router.callback_query(ContractDialog.summary, PickCb.filter(F.step == "c_edit"))
async def edit_field(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    await query.answer()
    if callback_data.value == "menu":
        rows = [[_pick("c_edit", f, t(f"contract.edit_{f}"))] for f in EDITABLE_FIELDS]
        await query.message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows + [cancel_row(t)]))
        return
    if callback_data.value not in EDITABLE_FIELDS:
        return
    await state.update_data({"editing": True})
    await ask(query.message, state, core, t, callback_data.value)


def _fields(data: dict[str, Any]) -> ContractFields:
    """What the dialog holds, as the core takes it. On an edit a None clears the field (no INN for
    an individual, no deal); on a create it is simply not given."""
    values: dict[str, Any] = {
        "legal_entity_id": data.get("legal_entity_id"), "client_type": data.get("client_type", "company"),
        "client_name": data.get("client_name"), "subject": data.get("subject"),
        "client_inn": data.get("client_inn") or None, "client_kpp": data.get("client_kpp") or None,
        "bitrix24_deal_id": data.get("deal") or None,
    }
    if data.get("amount"):
        values["amount"] = data["amount"]
    return ContractFields(**values)


@router.callback_query(ContractDialog.summary, PickCb.filter(F.step == "c_submit"))
async def submit(query: CallbackQuery, state: FSMContext, core: Core, t: Texts, settings: Settings,
                 store: FileStore) -> None:
    data = await state.get_data()
    fields = _fields(data)
    file = data.get("file")
    max_bytes = settings.max_upload_mb * 1024 * 1024

    async def work(session) -> tuple[str, str]:
        if data.get("mode") == "edit":
            outcome = await update_contract(session, core.actor, data["request_id"], fields,
                                            expected_version=data["version"])
            request = outcome.request
            if file and not file.get("version"):  # a new file: the next version of the text
                await upload_version(session, store, core.actor, request.id, filename=file["filename"],
                                     content=store.read(file["sha256"]), max_bytes=max_bytes)
        else:
            request = await create_contract(
                session, store, core.actor, fields, max_bytes=max_bytes,
                file=(file["filename"], store.read(file["sha256"])) if file else None)
        await requests_service.act(session, core.actor, request.id, Action.SUBMIT)
        return request.number, request.status

    number, status = await core.run(work)  # a refusal keeps the summary open (DomainErrors answers it)
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(t("contract.submitted", number=number, status=t.status(status, "contract")))


# --- a new version of a returned contract -------------------------------------------------------------------

@router.callback_query(RequestCb.filter(F.act == "nv"))
async def ask_version(query: CallbackQuery, callback_data: RequestCb, state: FSMContext, core: Core, t: Texts) -> None:
    async def check(session) -> str | None:
        request = await get_contract(session, core.actor, callback_data.id)  # not theirs to see: refused here
        return request.number if _own_editable(request, core.actor) else None

    number = await core.run(check)
    if number is None:
        await query.answer(t("contract.version_not_now"), show_alert=True)
        return
    await state.clear()
    await state.set_state(ContractDialog.version)
    await state.set_data({"request_id": callback_data.id, "number": number})
    await query.answer()
    await query.message.answer(t("contract.ask_version", number=number),
                               reply_markup=InlineKeyboardMarkup(inline_keyboard=[cancel_row(t)]))


@router.message(ContractDialog.version, _not_command)
async def got_version(message: Message, bot: Bot, db: Database, state: FSMContext, core: Core, t: Texts,
                      settings: Settings, store: FileStore) -> None:
    """The next version is stored at once (earlier versions and remarks stay); the card that follows
    has "Отправить снова"."""
    data = await state.get_data()
    received = await _received_contract(message, bot, t, settings)
    if received is None:
        return
    filename, content = received

    async def work(session):
        attachment = await upload_version(session, store, core.actor, data["request_id"], filename=filename,
                                          content=content, max_bytes=settings.max_upload_mb * 1024 * 1024)
        return attachment.version, await load_card(session, core.actor, data["request_id"], t)

    version, card = await core.run(work)
    await state.clear()
    await message.answer(t("contract.version_saved", number=data["number"], version=version))
    await send_card(bot, db, core.actor.employee_id, message.chat.id, card)


@router.callback_query(StateFilter(ContractDialog), PickCb.filter())
async def old_pick(query: CallbackQuery, t: Texts) -> None:
    await query.answer(t("button.old"))
