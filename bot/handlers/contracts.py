"""Contract approvals in chat: /contract (or a DOCX sent to the bot) → our legal entity → the office's
region (when the entity works in two or more) → client type → client INN → client name → subject → amount → Bitrix24 deal → the contract file → summary with Edit
and Submit; and a new version of a returned contract from its card ("📎 Новая версия").

The summary has a toggle "📚 Годовой договор": an annual contract is valid from 1 January to
31 December of this year and, once approved, lands in the annual contracts store. The region picks
the print template (seed 001: legal entity, client type and region).

Two shortcuts (seed 001): the first question offers "📚 Из годовых договоров" — find an approved
annual contract by the client's name or INN, pick the year, and get the new year's draft with its
print form and card (Submit is the person's tap); and the amount step offers "🛒 Позиции из
номенклатуры 1С" when the catalogue has items for the legal entity — the amount is then the lines'
total and the lines go to the core, which checks them against the entity's catalogue groups.

Like the payment request dialog, each step checks its answer with the core's own rules and asks
again naming the field; nothing reaches the registry until Submit, and then the contract is
created and sent in one transaction through the same use cases as the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from backend.db import Database
from backend.errors import DomainError, InvalidInput, ValidationFailed
from backend.i18n import translate
from backend.models import Contract, LegalEntity, PaymentRequest
from backend.money import MAX_AMOUNT, format_amount, parse_amount
from backend.requisites import validate_inn
from backend.services import payment_requests as requests_service
from backend.services.attachments import CONTRACT_TYPES, FileStore, sniff_type
from backend.services.catalogue import (
    DEFAULT_UNIT, line_amount, line_input, lines_total, parse_quantity, quantity_text, search_catalogue,
)
from backend.services.company.common import text as checked_text
from backend.services.company.legal_entities import list_legal_entities
from backend.services.contracts import (
    TEXT_LIMITS,
    ContractFields,
    annual_contracts,
    create_contract,
    get_contract,
    latest_version,
    renew_contract,
    year_bounds,
    update_contract,
    upload_version,
)
from backend.services.core import Core
from backend.services.payment_requests import find_counterparty
from backend.services.print_documents import contract_files
from backend.settings import Settings
from backend.workflows.actors import Actor
from backend.workflows.engine import parties_of
from backend.workflows.lifecycle import Action, Kind, Party, Status, actions_available
from bot.card_messages import send_card
from bot.cards import client_text, load_card
from bot.keyboards.callbacks import PickCb, RequestCb
from bot.keyboards.common import cancel_row
from bot.states import ContractDialog
from bot.texts import Texts
from bot.uploads import received_file

router = Router(name="contracts")

ORDER = ("entity", "region", "client_type", "inn", "name", "subject", "amount", "deal", "file", "summary")
CLIENT = ("client_type", "inn", "name")  # asked one after another, also when correcting the client
EDITABLE_FIELDS = ("entity", "region", "client_type", "subject", "amount", "deal", "file")
CLIENT_TYPES = ("company", "individual")
CONTRACT_EXTENSIONS = (".docx", ".doc", ".pdf")
WORD_EXTENSIONS = (".docx", ".doc")
WORD_TYPES = CONTRACT_TYPES - {"application/pdf"}
STORE_SHOWN = 8  # annual contracts offered at once
ITEMS_SHOWN = 8  # catalogue items offered at once
LABEL_NAME = 40  # a name on a button is cut to this
REGIONS_PER_ROW = 4  # region codes are short: a few buttons to a row


def _state(step: str):
    return getattr(ContractDialog, step)


def _pick(step: str, value: Any, text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PickCb(step=step, value=str(value)).pack())


def _keyboard(t: Texts, rows: list[list[InlineKeyboardButton]] | None = None) -> InlineKeyboardMarkup:
    """The buttons of a question, with Cancel as the last row."""
    return InlineKeyboardMarkup(inline_keyboard=[*(rows or []), cancel_row(t)])


async def _step(state: FSMContext) -> str:
    """The dialog's step now: "inn" of "ContractDialog:inn"."""
    return (await state.get_state()).split(":")[1]


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


def _document_of(message: Message, extensions: tuple[str, ...], types: set[str]) -> bool:
    """A document named with one of ``extensions`` or sent as one of ``types``."""
    document = message.document
    return document is not None and ((document.file_name or "").lower().endswith(extensions)
                                     or (document.mime_type or "") in types)


def _is_word(message: Message) -> bool:
    return _document_of(message, WORD_EXTENSIONS, WORD_TYPES)


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
        if not await _own_editable(session, request, core.actor):
            return None
        contract = await session.get(Contract, request.id)
        latest = await latest_version(session, request.id)
        return {
            "legal_entity_id": request.legal_entity_id, "client_type": contract.client_type,
            "client_inn": request.contractor_inn or "", "client_kpp": request.contractor_kpp or "",
            "client_name": request.contractor_name, "subject": request.subject, "region": contract.region or None,
            "amount": format_amount(request.amount) if request.amount else None,
            "deal": request.bitrix24_deal_id or None, "number": request.number, "version": request.version,
            "had_amount": bool(request.amount),
            "lines": [_stored_line(line) for line in contract.lines] or None, "had_lines": bool(contract.lines),
            "file": {"sha256": latest.sha256, "filename": latest.filename, "size": latest.size,
                     "version": latest.version} if latest else None,
            **_annual_loaded(contract),
        }

    data = await core.run(load)
    if data is None:
        await query.answer(t("contract.edit_not_now"), show_alert=True)
        return
    await state.clear()
    await state.set_data({**data, "mode": "edit", "request_id": callback_data.id, "known_client": True})
    await query.answer()
    await show_summary(query.message, state, core, t)


def _annual_loaded(contract: Contract) -> dict[str, Any]:
    """The annual flag and its dates as the contract has them (a renewed contract keeps its year)."""
    if not contract.annual:
        return {"annual": False, "valid_from": None, "valid_until": None, "annual_dates": None}
    dates = [_iso(contract.valid_from), _iso(contract.valid_until)]
    return {"annual": True, "valid_from": dates[0], "valid_until": dates[1],
            "annual_dates": dates if all(dates) else None}


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _stored_line(line: dict[str, Any]) -> dict[str, Any]:
    """A contract's stored line as the dialog keeps it (money in kopecks, the quantity as "2.5")."""
    return {"catalogue_item_id": line.get("catalogue_item_id"), "name": line.get("name") or "",
            "unit": line.get("unit") or DEFAULT_UNIT, "quantity": str(line.get("quantity") or "1"),
            "price": int(line.get("price") or 0), "amount": lines_total([line]),  # as the core counts it
            "vat_rate": line.get("vat_rate")}


async def _own_editable(session, request: PaymentRequest, actor: Actor) -> bool:
    """Whether the life cycle lets the person change the contract as its initiator now (a draft or a
    returned one); an admin's correction of a contract on its way is not the dialog's."""
    parties = await parties_of(session, actor, request, frozenset({Party.INITIATOR})) & {Party.INITIATOR}
    return Action.UPDATE in actions_available(Status(request.status), parties, Kind.CONTRACT)


# --- asking -------------------------------------------------------------------------------------------

async def ask(message: Message, state: FSMContext, core: Core, t: Texts, step: str) -> None:
    """Put the question of ``step`` (our legal entity and its region are skipped when there is
    nothing to choose)."""
    data = await state.get_data()
    if step == "entity":
        await _ask_entity(message, state, core, t)
        return
    if step == "region":
        await _ask_region(message, state, core, t, await _regions(core, data.get("legal_entity_id")))
        return
    if step == "summary":
        await show_summary(message, state, core, t)
        return
    await state.set_state(_state(step))
    rows: list[list[InlineKeyboardButton]] = []
    question = t(f"contract.ask_{step}")
    if step == "client_type":
        rows = [[_pick("c_type", kind, t(f"contract.type_{kind}")) for kind in CLIENT_TYPES]] + await _store_row(state, t)
    elif step == "inn" and data.get("client_type") == "individual":
        question = t("contract.ask_inn_individual")
        rows = [[_pick("c_skip", "inn", t("btn.contract_no_inn"))]]
    elif step == "amount":
        question, rows = await _amount_question(data, core, t)
    elif step == "deal":
        rows = [[_pick("c_skip", "deal", t("btn.contract_no_deal"))]]
    await message.answer(question, reply_markup=_keyboard(t, rows))


async def _ask_entity(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    """Our legal entity: a button for each; the only one is taken silently, none ends the dialog."""
    options = await core.run(_entities)
    if not options:
        await state.clear()
        await message.answer(t("contract.no_entity"))
        return
    if len(options) == 1:
        await state.update_data({"legal_entity_id": options[0][0]})
        await advance(message, state, core, t, "entity")
        return
    await state.set_state(ContractDialog.entity)
    rows = [[_pick("c_ent", value, text)] for value, text in options] + await _store_row(state, t)
    await message.answer(t("contract.ask_entity"), reply_markup=_keyboard(t, rows))


async def _ask_region(message: Message, state: FSMContext, core: Core, t: Texts, regions: list[str]) -> None:
    """"Регион офиса?" with a button per region code of the legal entity (``regions``); one region
    is taken silently, none leaves the region empty."""
    if len(regions) < 2:
        await state.update_data({"region": regions[0] if regions else None})
        await advance(message, state, core, t, "region")
        return
    await state.set_state(ContractDialog.region)
    await state.update_data({"regions_offered": regions})
    buttons = [_pick("c_reg", index, code) for index, code in enumerate(regions)]
    rows = [buttons[i:i + REGIONS_PER_ROW] for i in range(0, len(buttons), REGIONS_PER_ROW)]
    rows += await _store_row(state, t)
    await message.answer(t("contract.ask_region"), reply_markup=_keyboard(t, rows))


async def _entity_facts(core: Core, legal_entity_id: int | None) -> tuple[str | None, list[str]]:
    """The legal entity's name and its region codes (in its own order, without blanks and repeats),
    read at once."""
    if legal_entity_id is None:
        return None, []

    async def load(session) -> tuple[str | None, list[Any]]:
        entity = await session.get(LegalEntity, legal_entity_id)
        return (entity.name, list(entity.regions or [])) if entity is not None else (None, [])

    name, codes = await core.run(load)
    return name, list(dict.fromkeys(code for code in (str(c).strip() for c in codes) if code))


async def _regions(core: Core, legal_entity_id: int | None) -> list[str]:
    return (await _entity_facts(core, legal_entity_id))[1]


async def _store_row(state: FSMContext, t: Texts) -> list[list[InlineKeyboardButton]]:
    """"📚 Из годовых договоров" under the first question of a new contract (not when a file came
    first: that file is the contract to approve)."""
    data = await state.get_data()
    if data.get("mode") != "new" or data.get("editing") or data.get("file") or data.get("store_offered"):
        return []
    await state.update_data({"store_offered": True})
    return [[_pick("c_store", "open", t("btn.contract_from_store"))]]


async def _amount_question(data: dict[str, Any], core: Core, t: Texts) -> tuple[str, list[list[InlineKeyboardButton]]]:
    """The amount, typed — or the lines from the 1C catalogue when it has items for the legal entity."""
    rows: list[list[InlineKeyboardButton]] = []
    if await _catalogue_open(core, data.get("legal_entity_id")):
        rows.append([_pick("c_lines", "start", t("btn.contract_lines"))])
    lines = data.get("lines") or []
    if data.get("had_lines"):
        # The core keeps a contract's lines once given: its amount changes by picking them again.
        question = t("contract.ask_amount_lines_only", total=t.money(lines_total(lines), "RUB"))
    elif data.get("had_amount"):
        # The core keeps a contract's amount once given (a price cannot be set back to none), so a
        # contract sent with an amount is not offered "Без суммы" when corrected.
        question = t("contract.ask_amount_only")
    else:
        question = t("contract.ask_amount")
        rows.append([_pick("c_skip", "amount", t("btn.contract_no_amount"))])
    if lines and not data.get("had_lines"):
        question = t("contract.amount_has_lines", total=t.money(lines_total(lines), "RUB")) + "\n" + question
    return question, rows


async def _catalogue_open(core: Core, legal_entity_id: int | None) -> bool:
    if legal_entity_id is None:
        return False
    return bool(await core.run(lambda s: search_catalogue(s, legal_entity_id=legal_entity_id, limit=1)))


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
        if data.get("editing") and not _together(done, step):
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


def _together(done: str, step: str) -> bool:
    """Steps corrected together: the client's type, INN and name; a new legal entity's region."""
    return (done in CLIENT and step in CLIENT) or (done == "entity" and step == "region")


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


@router.callback_query(ContractDialog.region, PickCb.filter(F.step == "c_reg"))
async def picked_region(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    data = await state.get_data()
    offered = data.get("regions_offered") or []
    index = int(callback_data.value) if callback_data.value.isdigit() else -1
    regions = await _regions(core, data.get("legal_entity_id"))
    if not 0 <= index < len(offered) or offered[index] not in regions:
        await query.answer(t("button.old"))
        if regions != offered:  # the entity's regions changed meanwhile: asked again with the new ones
            await _ask_region(query.message, state, core, t, regions)
        return
    code = offered[index]
    await state.update_data({"region": code, "regions_offered": None})
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {code}")
    await advance(query.message, state, core, t, "region")


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
         "amount": ({"amount": None, "lines": None}, "btn.contract_no_amount"),
         "deal": ({"deal": None}, "btn.contract_no_deal")}


@router.callback_query(StateFilter(ContractDialog.inn, ContractDialog.amount, ContractDialog.deal),
                       PickCb.filter(F.step == "c_skip"))
async def skipped(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    step = await _step(state)
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
    return {"client_name": checked_text(" ".join(text.split()), "client_name", TEXT_LIMITS["client_name"])}


async def _subject(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    subject = " ".join(text.split())
    if not subject:
        raise Refusal("contract.subject_required")
    if len(subject) > TEXT_LIMITS["subject"]:  # the core's limit, said with the length typed
        raise Refusal("contract.subject_too_long", max=TEXT_LIMITS["subject"], length=len(subject))
    return {"subject": subject}


RUBLE_WORDS = ("₽", "руб.", "руб", "р.", "rub")


def _without_rubles(text: str) -> str:
    value = text.strip().lower()
    for word in RUBLE_WORDS:  # "150 000 руб." is still 150 000
        if value.endswith(word) and any(ch.isdigit() for ch in value):
            return value[: -len(word)].strip()
    return value


async def _amount(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    if data.get("had_lines"):
        raise Refusal("contract.amount_from_lines")
    return {"amount": format_amount(parse_amount(_without_rubles(text))), "lines": None}  # a typed sum: no lines


async def _deal(text: str, data: dict[str, Any], core: Core) -> dict[str, Any]:
    digits = text.strip().lstrip("#№").strip()
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):  # ContractFields: ^\d{1,18}$
        raise InvalidInput("deal.bad_id", field="bitrix24_deal_id")
    return {"deal": digits}


PARSERS: dict[str, Parser] = {"inn": _inn, "name": _name, "subject": _subject, "amount": _amount, "deal": _deal}
TEXT_STATES = [_state(step) for step in PARSERS]


@router.message(StateFilter(*TEXT_STATES), F.text, _not_command)
async def typed(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    step = await _step(state)
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


@router.message(StateFilter(ContractDialog.entity, ContractDialog.region, ContractDialog.client_type,
                            ContractDialog.summary), _not_command)
async def need_button(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_button"))


# --- the contract file ----------------------------------------------------------------------------------

async def _received_contract(message: Message, bot: Bot, t: Texts, settings: Settings) -> tuple[str, bytes] | None:
    """(file name, content) of a DOCX, DOC or PDF; anything else is refused in words (None)."""
    if not _document_of(message, CONTRACT_EXTENSIONS, CONTRACT_TYPES):
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
    text, markup = await _summary(await state.get_data(), core, t)
    await message.answer(text, reply_markup=markup)


async def _summary(data: dict[str, Any], core: Core, t: Texts) -> tuple[str, InlineKeyboardMarkup]:
    """The summary's text and its buttons: Submit, Edit, the annual toggle, Cancel."""
    entity_name, regions = await _entity_facts(core, data.get("legal_entity_id"))
    file = data.get("file")
    amount = data.get("amount")
    if file:
        file_text = t("contract.file_version", filename=file["filename"], version=file["version"]) \
            if file.get("version") else file["filename"]
    else:
        file_text = t("contract.no_file")
    lines = [t("contract.summary_title") if data.get("mode") == "new"
             else t("contract.summary_edit", number=data.get("number", "")),
             t("contract.row_entity", value=entity_name or "—")]
    if data.get("region") or len(regions) > 1:
        lines.append(t("contract.row_region", value=data.get("region") or t("contract.no_region")))
    lines += [t("contract.row_client", value=client_text(t, data.get("client_type", "company"),
                                                        data.get("client_name", ""), data.get("client_inn", ""))),
              t("contract.row_subject", value=data.get("subject", "")),
              t("contract.row_amount", value=t.money(parse_amount(amount), "RUB") if amount else t("contract.no_amount"))]
    if data.get("lines"):
        lines.append(t("contract.row_lines"))
        lines += [_line_text(t, n, line) for n, line in enumerate(data["lines"], 1)]
    lines += [t("contract.row_deal", value=data.get("deal") or t("contract.no_deal")),
              t("contract.row_file", value=file_text)]
    if data.get("annual"):
        lines.append(_annual_row(t, data))
    annual = _pick("c_annual", "off", t("btn.contract_annual_on")) if data.get("annual") \
        else _pick("c_annual", "on", t("btn.contract_annual_off"))
    rows = [[_pick("c_submit", "1", t("btn.submit")), _pick("c_edit", "menu", t("btn.edit"))], [annual]]
    return "\n".join(lines), _keyboard(t, rows)


def _annual_row(t: Texts, data: dict[str, Any]) -> str:
    if data.get("valid_from") and data.get("valid_until"):
        return t("contract.row_annual", start=t.day(date.fromisoformat(data["valid_from"])),
                 end=t.day(date.fromisoformat(data["valid_until"])))
    return t("contract.row_annual_open")


@router.callback_query(ContractDialog.summary, PickCb.filter(F.step == "c_annual"))
async def toggled_annual(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    """"📚 Годовой договор": on — valid for this whole year (the actor's today), kept in the annual
    contracts store once approved; a contract loaded as annual gets its own dates back."""
    data = await state.get_data()
    if callback_data.value not in ("on", "off") or (callback_data.value == "on") == bool(data.get("annual")):
        await query.answer(t("button.old"))  # a second tap on a summary already switched
        return
    if callback_data.value == "on":
        year = core.actor.today().year
        start, end = data.get("annual_dates") or [day.isoformat() for day in year_bounds(year)]
        updates = {"annual": True, "valid_from": start, "valid_until": end}
    else:
        updates = {"annual": False, "valid_from": None, "valid_until": None}
    data = await state.update_data(updates)
    await query.answer(_annual_row(t, data) if data["annual"] else t("contract.annual_off"))
    text, markup = await _summary(data, core, t)
    await query.message.edit_text(text, reply_markup=markup)


@router.callback_query(ContractDialog.summary, PickCb.filter(F.step == "c_edit"))
async def edit_field(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    await query.answer()
    if callback_data.value == "menu":
        data = await state.get_data()
        several = len(await _regions(core, data.get("legal_entity_id"))) > 1  # one region or none: nothing to pick
        rows = [[_pick("c_edit", f, t(f"contract.edit_{f}"))] for f in EDITABLE_FIELDS if f != "region" or several]
        await query.message.edit_reply_markup(reply_markup=_keyboard(t, rows))
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
        "bitrix24_deal_id": data.get("deal") or None, "region": data.get("region") or None,
        "annual": bool(data.get("annual")),
    }
    if data.get("annual"):
        if data.get("valid_from") and data.get("valid_until"):
            values |= {"valid_from": data["valid_from"], "valid_until": data["valid_until"]}
    elif data.get("mode") == "edit" and data.get("annual_dates"):
        values |= {"valid_from": None, "valid_until": None}  # no longer annual: its year goes too
    lines = data.get("lines")
    if lines and (data.get("mode") != "edit" or data.get("lines_changed")):
        values["lines"] = [line_input(line) for line in lines]  # the amount is their total
    elif data.get("amount"):
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

    try:
        number, status = await core.run(work)  # a refusal keeps the summary open (DomainErrors answers it)
    except DomainError as error:
        said = _lines_refusal(t, error, data.get("lines") or [])
        if said is None:
            raise
        await query.answer()
        await query.message.answer(said)
        return
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(t("contract.submitted", number=number, status=t.status(status, "contract")))


def _lines_refusal(t: Texts, error: DomainError, lines: list[dict[str, Any]]) -> str | None:
    """The core's refusal of the lines (``lines.<i>.…``), each said of its line by number and name;
    None when the refusal is not about the lines."""
    errors = error.errors if isinstance(error, ValidationFailed) else [error]
    if not any((e.field or "").startswith("lines.") for e in errors):
        return None
    said = []
    for e in errors:
        parts = (e.field or "").split(".")
        if len(parts) > 2 and parts[0] == "lines" and parts[1].isdigit():
            index = int(parts[1])
            name = lines[index]["name"] if index < len(lines) else "—"
            label = t("contract.line_label", n=index + 1, name=name)
            said.append(translate(e.code, t.lang, **e.params, field_name=label))
        else:
            said.append(e.message(t.lang))
    return t("contract.lines_refused", errors="\n".join("• " + line for line in said))


# --- a new version of a returned contract -------------------------------------------------------------------

@router.callback_query(RequestCb.filter(F.act == "nv"))
async def ask_version(query: CallbackQuery, callback_data: RequestCb, state: FSMContext, core: Core, t: Texts) -> None:
    async def check(session) -> str | None:
        request = await get_contract(session, core.actor, callback_data.id)  # not theirs to see: refused here
        return request.number if await _own_editable(session, request, core.actor) else None

    number = await core.run(check)
    if number is None:
        await query.answer(t("contract.version_not_now"), show_alert=True)
        return
    await state.clear()
    await state.set_state(ContractDialog.version)
    await state.set_data({"request_id": callback_data.id, "number": number})
    await query.answer()
    await query.message.answer(t("contract.ask_version", number=number),
                               reply_markup=_keyboard(t))


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



# --- the annual contracts store (seed 001) -------------------------------------------------------------------

def _short(text: str, limit: int = LABEL_NAME) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _store_label(t: Texts, found: dict[str, Any]) -> str:
    number = found["contract_number"] or found["number"]
    if found.get("valid_until"):
        return t("contract.store_item", number=number, client=_short(found["client"]), until=t.day(found["valid_until"]))
    return t("contract.store_item_open", number=number, client=_short(found["client"]))


@router.callback_query(StateFilter(ContractDialog.entity, ContractDialog.region, ContractDialog.client_type),
                       PickCb.filter(F.step == "c_store"))
async def store_opened(query: CallbackQuery, callback_data: PickCb, state: FSMContext, t: Texts) -> None:
    if callback_data.value != "open":
        await query.answer(t("button.old"))
        return
    await state.set_state(ContractDialog.store_query)
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {t('btn.contract_from_store')}")
    await query.message.answer(t("contract.store_ask"), reply_markup=_keyboard(t))


@router.message(ContractDialog.store_query, F.text, _not_command)
async def store_search(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    """Up to eight approved annual contracts by the client's name or INN; typing again searches again."""
    data = await state.get_data()
    words = " ".join(message.text.split())
    found = await core.run(lambda s: annual_contracts(s, core.actor, legal_entity_id=data.get("legal_entity_id"),
                                                      q=words, limit=STORE_SHOWN))
    if not found:
        rows = [[_pick("c_store", "new", t("btn.contract_new"))]]
        await message.answer(t("contract.store_none", q=_short(words)), reply_markup=_keyboard(t, rows))
        return
    offered = {str(c["id"]): {"number": c["contract_number"] or c["number"], "label": _store_label(t, c)} for c in found}
    await state.update_data({"store_found": offered})
    rows = [[_pick("c_store", key, item["label"])] for key, item in offered.items()]
    await message.answer(t("contract.store_found"), reply_markup=_keyboard(t, rows))


@router.callback_query(ContractDialog.store_query, PickCb.filter(F.step == "c_store"))
async def store_picked(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    if callback_data.value == "new":  # nothing to reuse: an ordinary new contract
        await state.set_data({"mode": "new", "store_offered": True})
        await query.answer()
        await query.message.edit_text(f"{query.message.text}\n→ {t('btn.contract_new')}")
        await ask(query.message, state, core, t, "entity")
        return
    offered = (await state.get_data()).get("store_found") or {}
    picked = offered.get(callback_data.value)
    if picked is None:
        await query.answer(t("button.old"))
        return
    year = core.actor.today().year
    await state.update_data({"store_id": int(callback_data.value), "store_number": picked["number"],
                             "store_years": [year, year + 1]})
    await state.set_state(ContractDialog.store_year)
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {picked['label']}")
    rows = [[_pick("c_year", year, t("contract.store_year_this", year=year)),
             _pick("c_year", year + 1, t("contract.store_year_next", year=year + 1))]]
    await query.message.answer(t("contract.store_ask_year", number=picked["number"]), reply_markup=_keyboard(t, rows))


@router.callback_query(ContractDialog.store_year, PickCb.filter(F.step == "c_year"))
async def store_renewed(query: CallbackQuery, callback_data: PickCb, bot: Bot, db: Database, state: FSMContext,
                        core: Core, t: Texts, settings: Settings, store: FileStore) -> None:
    """The new year's draft, its print form (PDF and DOCX) and its card, whose Submit sends it."""
    data = await state.get_data()
    year = int(callback_data.value) if callback_data.value.isdigit() else None
    if year not in data.get("store_years", ()):
        await query.answer(t("button.old"))
        return

    async def work(session):
        request = await renew_contract(session, store, core.actor, data["store_id"], year=year,
                                       max_bytes=settings.max_upload_mb * 1024 * 1024)
        files = await contract_files(session, store, core.actor, request.id)
        return request.number, files, await load_card(session, core.actor, request.id, t)

    number, files, card = await core.run(work)  # refused (already renewed for that year): the year stays asked
    await state.clear()
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {year}")
    chat_id = query.message.chat.id
    await query.message.answer(t("contract.store_renewed", number=number, year=year, source=data["store_number"]))
    for printed in files:
        await bot.send_document(chat_id, BufferedInputFile(printed.content, filename=printed.filename),
                                caption=t("contract.store_print_form", number=number, year=year))
    await send_card(bot, db, core.actor.employee_id, chat_id, card)


# --- lines from the 1C catalogue, at the amount step ------------------------------------------------------------

def _quantity_text(t: Texts, quantity: str) -> str:
    return quantity.replace(".", ",") if t.lang == "ru" else quantity


def _line_text(t: Texts, n: int, line: dict[str, Any]) -> str:
    return t("contract.line_row", n=n, name=line["name"], quantity=_quantity_text(t, line["quantity"]),
             unit=line["unit"], price=t.money(line["price"], "RUB"), amount=t.money(line["amount"], "RUB"))


async def _ask_line_query(message: Message, state: FSMContext, t: Texts) -> None:
    await state.set_state(ContractDialog.line_query)
    await message.answer(t("contract.lines_ask"), reply_markup=_keyboard(t, _lines_way_out(await state.get_data(), t)))


def _lines_way_out(data: dict[str, Any], t: Texts) -> list[list[InlineKeyboardButton]]:
    """Done, once a line is picked; before that, back to typing the amount."""
    if data.get("new_lines"):
        return [[_pick("c_lines", "done", t("btn.contract_lines_done"))]]
    return [[_pick("c_lines", "back", t("btn.contract_typed_amount"))]]


@router.callback_query(ContractDialog.amount, PickCb.filter(F.step == "c_lines"))
async def lines_started(query: CallbackQuery, callback_data: PickCb, state: FSMContext, t: Texts) -> None:
    if callback_data.value != "start":
        await query.answer(t("button.old"))
        return
    # Picked afresh: the lines already there stay until "Готово".
    await state.update_data({"new_lines": [], "line": None, "found_items": {}})
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {t('btn.contract_lines')}")
    await _ask_line_query(query.message, state, t)


@router.message(ContractDialog.line_query, F.text, _not_command)
async def line_search(message: Message, state: FSMContext, core: Core, t: Texts) -> None:
    """Up to eight items of the legal entity's catalogue; typing again searches again."""
    data = await state.get_data()
    words = " ".join(message.text.split())

    async def find(session) -> dict[str, dict[str, Any]]:
        items = await search_catalogue(session, words, legal_entity_id=data["legal_entity_id"], limit=ITEMS_SHOWN)
        return {str(i.id): {"name": i.name, "unit": i.unit or DEFAULT_UNIT, "onec_price": i.price} for i in items}

    found = await core.run(find)
    way_out = _lines_way_out(data, t)
    if not found:
        await message.answer(t("contract.lines_none", q=_short(words)), reply_markup=_keyboard(t, way_out))
        return
    await state.update_data({"found_items": found})
    rows = [[_pick("c_item", key, _item_label(t, item))] for key, item in found.items()]
    await message.answer(t("contract.lines_found"), reply_markup=_keyboard(t, rows + way_out))


def _item_label(t: Texts, item: dict[str, Any]) -> str:
    if item["onec_price"] is not None:
        return t("contract.lines_item", name=_short(item["name"]), unit=item["unit"],
                 price=t.money(item["onec_price"], "RUB"))
    return t("contract.lines_item_no_price", name=_short(item["name"]), unit=item["unit"])


@router.callback_query(ContractDialog.line_query, PickCb.filter(F.step == "c_item"))
async def line_item(query: CallbackQuery, callback_data: PickCb, state: FSMContext, t: Texts) -> None:
    item = ((await state.get_data()).get("found_items") or {}).get(callback_data.value)
    if item is None:
        await query.answer(t("button.old"))
        return
    await state.update_data({"line": {"catalogue_item_id": int(callback_data.value), **item}})
    await state.set_state(ContractDialog.line_quantity)
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {item['name']}")
    await query.message.answer(t("contract.lines_ask_quantity", name=item["name"], unit=item["unit"]),
                               reply_markup=_keyboard(t))


@router.message(ContractDialog.line_quantity, F.text, _not_command)
async def line_quantity(message: Message, state: FSMContext, t: Texts) -> None:
    line = (await state.get_data())["line"]
    value = message.text.strip()
    unit = (line["unit"] or "").lower()
    if unit and value.lower().rstrip(".").endswith(unit) and any(ch.isdigit() for ch in value):  # "2 шт"
        value = value.lower().rstrip(".")[: -len(unit)]
    quantity = parse_quantity(value, field="quantity")  # "два": refused in the core's words (DomainErrors)
    line["quantity"] = quantity_text(quantity)
    await state.update_data({"line": line})
    await state.set_state(ContractDialog.line_price)
    rows = []
    if line["onec_price"] is not None:
        rows.append([_pick("c_price", "onec", t("btn.contract_price_onec", price=t.money(line["onec_price"], "RUB")))])
    question = t("contract.lines_ask_price", unit=line["unit"])
    if rows:
        question += "\n" + t("contract.lines_price_onec_hint")
    await message.answer(question, reply_markup=_keyboard(t, rows))


@router.message(ContractDialog.line_price, F.text, _not_command)
async def line_price_typed(message: Message, state: FSMContext, t: Texts) -> None:
    await _line_priced(message, state, t, parse_amount(_without_rubles(message.text), field="price"))


@router.callback_query(ContractDialog.line_price, PickCb.filter(F.step == "c_price"))
async def line_price_onec(query: CallbackQuery, callback_data: PickCb, state: FSMContext, t: Texts) -> None:
    line = (await state.get_data()).get("line") or {}
    if callback_data.value != "onec" or line.get("onec_price") is None:
        await query.answer(t("button.old"))
        return
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {t.money(line['onec_price'], 'RUB')}")
    await _line_priced(query.message, state, t, line["onec_price"])


async def _line_priced(message: Message, state: FSMContext, t: Texts, price: int) -> None:
    data = await state.get_data()
    line = data["line"]
    amount = line_amount(Decimal(line["quantity"]), price)
    lines = list(data.get("new_lines") or [])
    if amount >= MAX_AMOUNT or lines_total(lines) + amount >= MAX_AMOUNT:
        raise InvalidInput("amount.too_large", field="price")
    lines.append({"catalogue_item_id": line["catalogue_item_id"], "name": line["name"], "unit": line["unit"],
                  "quantity": line["quantity"], "price": price, "amount": amount})
    await state.update_data({"new_lines": lines, "line": None, "found_items": {}})
    await state.set_state(ContractDialog.line_more)
    rows = [[_pick("c_lines", "more", t("btn.contract_line_more")), _pick("c_lines", "done", t("btn.contract_lines_done"))]]
    await message.answer(t("contract.lines_added", line=_line_text(t, len(lines), lines[-1]),
                           total=t.money(lines_total(lines), "RUB")), reply_markup=_keyboard(t, rows))


@router.callback_query(StateFilter(ContractDialog.line_query, ContractDialog.line_more), PickCb.filter(F.step == "c_lines"))
async def lines_next(query: CallbackQuery, callback_data: PickCb, state: FSMContext, core: Core, t: Texts) -> None:
    """Another line, done (the amount becomes the lines' total), or back to typing the amount."""
    data = await state.get_data()
    step = await _step(state)
    new_lines = data.get("new_lines") or []
    labels = {"more": "btn.contract_line_more", "done": "btn.contract_lines_done", "back": "btn.contract_typed_amount"}
    allowed = {"more": step == "line_more", "done": bool(new_lines), "back": step == "line_query" and not new_lines}
    if not allowed.get(callback_data.value):
        await query.answer(t("button.old"))
        return
    await query.answer()
    await query.message.edit_text(f"{query.message.text}\n→ {t(labels[callback_data.value])}")
    if callback_data.value == "more":
        await _ask_line_query(query.message, state, t)
    elif callback_data.value == "back":
        await state.update_data({"new_lines": None, "found_items": {}})
        await ask(query.message, state, core, t, "amount")
    else:
        await state.update_data({"lines": new_lines, "lines_changed": True, "new_lines": None, "found_items": {},
                                 "amount": format_amount(lines_total(new_lines))})
        await advance(query.message, state, core, t, "amount")


LINE_TEXT_STATES = (ContractDialog.store_query, ContractDialog.line_query, ContractDialog.line_quantity,
                    ContractDialog.line_price)


@router.message(StateFilter(*LINE_TEXT_STATES), _not_command)
async def store_or_line_not_text(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_text"))


@router.message(StateFilter(ContractDialog.store_year, ContractDialog.line_more), _not_command)
async def store_or_line_need_button(message: Message, t: Texts) -> None:
    await message.answer(t("new.need_button"))


@router.callback_query(StateFilter(ContractDialog), PickCb.filter())
async def old_pick(query: CallbackQuery, t: Texts) -> None:
    await query.answer(t("button.old"))
