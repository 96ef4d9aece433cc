"""The request card: what one person sees about a request in chat, and the buttons they may press.

The same card serves the approver, the initiator and the accountant; which buttons it has
comes from the core's ``available_actions`` for that viewer, so the chat never offers what
the rules would refuse. A card with no buttons left is final and stops following the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Attachment, Contract, Employee, HistoryEvent, LegalEntity, PaymentRequest, RequestType
from backend.services.payment_requests import get_visible
from backend.services.views import detail
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import EDITABLE, Kind, Status
from bot.keyboards.callbacks import RequestCb
from bot.texts import Texts

STAGE_MARK = {"approved": "✅", "rejected": "❌", "returned": "↩️", "active": "⏳", "waiting": "▫️", "void": "▪️"}
TASK_MARK = {"approved": "✅", "rejected": "❌", "returned": "↩️", "pending": "⏳", "waiting": "▫️", "void": "▪️"}
# Buttons in the order they appear, two to a row; the core's action name → (callback code, text key).
BUTTONS = (
    ("approve", "ap", "btn.approve"), ("reject", "rj", "btn.reject"),
    ("return", "rt", "btn.return"), ("comment", "cm", "btn.comment"),
    ("add_approver", "aa", "btn.add_approver"),
    ("mark_paid", "pd", "btn.mark_paid"), ("close", "cl", "btn.close"),
    ("update", "ed", "btn.edit"), ("submit", "sb", "btn.resubmit"), ("cancel", "cn", "btn.cancel_request"),
)
# Actions that make a card worth keeping live; commenting alone does not.
WORKING = {"approve", "reject", "return", "add_approver", "mark_paid", "close", "update", "submit"}
# A contract's initiator changes a draft or returned contract by sending its next version, or by
# correcting its fields in the contract dialog (bot/handlers/contracts.py), instead of "ed".
CONTRACT_UPDATE = (("nv", "btn.new_version"), ("ce", "btn.edit"))


def client_text(t: Texts, client_type: str, name: str, inn: str | None) -> str:
    """A contract's client: a company with its INN, or an individual («физлицо»), INN if known."""
    if client_type == "individual":
        return t("contract.client_individual_inn", name=name, inn=inn) if inn else \
            t("contract.client_individual", name=name)
    return t("contract.client_company", name=name, inn=inn or "—")


@dataclass
class Card:
    request: PaymentRequest
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (action, text)
    has_files: bool = False
    files_text: str = ""
    seen_event_id: int | None = None  # the request's newest history event when the card was drawn

    @property
    def live(self) -> bool:
        return bool(self.buttons)

    def markup(self) -> InlineKeyboardMarkup | None:
        rows: list[list[InlineKeyboardButton]] = []
        pending: list[InlineKeyboardButton] = []
        for code, text in self.buttons:
            pending.append(InlineKeyboardButton(
                text=text, callback_data=RequestCb(act=code, id=self.request.id, v=self.request.version).pack()))
            if len(pending) == 2:
                rows.append(pending)
                pending = []
        if pending:
            rows.append(pending)
        if self.has_files and self.buttons:
            rows.append([InlineKeyboardButton(text=self.files_text, callback_data=RequestCb(
                act="fl", id=self.request.id, v=self.request.version).pack())])
        return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None

    def fingerprint(self) -> str:
        """What the message shows; an edit to the same thing is skipped (Telegram would refuse it)."""
        markup = self.markup()
        return self.text + "\n" + (markup.model_dump_json() if markup else "")


async def load_card(session: AsyncSession, actor: Actor, request_id: int, t: Texts) -> Card:
    # Read first: if an event commits while the card is drawn, the card is newer than it says,
    # which only costs a refresh that changes nothing.
    seen = await session.scalar(select(func.max(HistoryEvent.id)).where(HistoryEvent.request_id == request_id))
    request = await get_visible(session, actor, request_id)
    data = await detail(session, actor, request)
    ids = {request.initiator_id} | {task[k] for s in data["stages"] for task in s["tasks"]
                                    for k in ("approver_id", "assignee_id", "decided_by_id") if task[k]}
    names = dict((await session.execute(select(Employee.id, Employee.full_name).where(Employee.id.in_(ids)))).all())
    # Names only: loading the rows would bring their bank accounts and routes along.
    payer = await session.scalar(select(LegalEntity.name).where(LegalEntity.id == request.legal_entity_id))
    type_name = await session.scalar(select(RequestType.name_ru if t.lang == "ru" else RequestType.name_en)
                                     .where(RequestType.id == request.request_type_id))
    files = (await session.scalars(select(Attachment.filename).where(Attachment.request_id == request.id)
                                   .order_by(Attachment.id))).all()
    is_contract = request.kind == Kind.CONTRACT.value
    if is_contract:
        lines = await _contract_lines(session, request, t, payer=payer, initiator=names.get(request.initiator_id, "—"))
    else:
        lines = [
            t("card.title", number=request.number, status=t.status(request.status)),
            t("card.parties", payer=payer, contractor=request.contractor_name, inn=request.contractor_inn),
            t("card.money", amount=t.money(request.amount, request.currency), pay_by=t.day(request.pay_by)),
            t("card.purpose", purpose=request.purpose),
            t("card.meta", type=type_name, initiator=names.get(request.initiator_id, "—")),
        ]
    if request.paid_on:
        lines.append(t("card.paid_on", day=t.day(request.paid_on)))
    for flag in request.flags or []:
        key = f"flag.{flag['code']}"
        if t.has(key):
            lines.append("⚠️ " + t(key))
    if data["stages"]:
        lines.append(t("card.route"))
        for stage in data["stages"]:
            people = []
            for task in stage["tasks"]:
                if task["status"] == "void" and not task["decided_by_id"]:
                    continue
                who = names.get(task["decided_by_id"] or task["assignee_id"], "—")
                if task["assignee_id"] != task["approver_id"] and not task["decided_by_id"]:
                    who = t("card.instead_of", deputy=who, approver=names.get(task["approver_id"], "—"))
                note = f" «{task['comment']}»" if task["comment"] and not task["comment"].startswith("auto:") else ""
                people.append(f"{TASK_MARK.get(task['status'], '')}{who}{note}")
            lines.append(f"{STAGE_MARK.get(stage['status'], '')} {stage['position']}. {stage['name']}: "
                         + ", ".join(people))
    if files and not is_contract:  # a contract shows its current version instead
        lines.append(t("card.files", files=", ".join(files)))
    allowed = set(data["available_actions"])
    buttons: list[tuple[str, str]] = []
    if allowed & WORKING:
        for action, code, key in BUTTONS:
            if action not in allowed:
                continue
            if is_contract and action == "update":
                # Only the initiator of a draft or returned contract sends a new version (an admin's
                # correction of a contract on its way is the API's).
                if Status(request.status) in EDITABLE and request.initiator_id == actor.employee_id:
                    buttons += [(contract_code, t(contract_key)) for contract_code, contract_key in CONTRACT_UPDATE]
                continue
            if action == "submit" and request.status == Status.DRAFT.value:
                key = "btn.submit"  # a draft (a renewed contract) has not been sent yet: not "again"
            buttons.append((code, t(key)))
    return Card(request=request, text="\n".join(lines), buttons=buttons, has_files=bool(files),
                files_text=t("btn.files"), seen_event_id=seen)


async def _contract_lines(session: AsyncSession, request: PaymentRequest, t: Texts, *, payer: str | None,
                          initiator: str) -> list[str]:
    """A contract approval reads as a contract: the client, the price and terms, the deal, the
    contract's number once given, and the version of the text under approval."""
    contract = await session.get(Contract, request.id)
    latest = await session.scalar(select(Attachment).where(
        Attachment.request_id == request.id, Attachment.kind == "contract").order_by(Attachment.version.desc()).limit(1))
    client_type = contract.client_type if contract is not None else "company"
    terms = t(f"contract.terms_{contract.payment_terms}") if contract is not None and t.has(
        f"contract.terms_{contract.payment_terms}") else (contract.payment_terms if contract is not None else "—")
    lines = [
        t("card.contract_title", number=request.number, status=t.status(request.status, "contract")),
        t("card.contract_client", client=client_text(t, client_type, request.contractor_name, request.contractor_inn)),
        t("card.contract_entity", entity=payer or "—"),
        t("card.contract_subject", subject=request.subject),
        t("card.contract_money", amount=t.money(request.amount, request.currency), terms=terms) if request.amount
        else t("card.contract_no_money", terms=terms),
    ]
    if request.bitrix24_deal_id:
        lines.append(t("card.contract_deal", deal=request.bitrix24_deal_id))
    if contract is not None and contract.number:
        lines.append(t("card.contract_number", number=contract.number))
    if latest is not None:
        lines.append(t("card.contract_version", version=latest.version, filename=latest.filename))
    lines.append(t("card.contract_meta", approve_by=t.day(request.pay_by), initiator=initiator))
    return lines
