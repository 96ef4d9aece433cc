"""Bank files: approved requests out as payment orders for the bank client, a statement in to mark
the requests it paid. The API (``/api/v1/bank``) and the bot call these same functions.

Export writes a ``1CClientBankExchange`` file of one legal entity's approved ruble requests, paid
from one of its accounts; nothing is recorded, and the order's number is the request number's
numeric tail (``МГ-26-00042`` → 42), so exporting the same request again gives the same order.

Import reads a statement, keeps the documents paid from our own accounts, and matches each to one
request: the same legal entity, the exact amount and the recipient's INN; among several, the one
whose number the purpose names, then the one already paid on that very day (the same statement
imported again), then the one whose purpose reads most alike. A match still approved is marked
paid through the life cycle, exactly as the Mark paid button does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import DomainError, Forbidden, InvalidInput, ValidationFailed
from backend.i18n import translate
from backend.integrations.bank.clientbank import (
    PAYMENT_ORDER, ClientBankError, Document, ExchangeFile, Party, dump, parse,
)
from backend.models import BankAccount, Counterparty, LegalEntity, PaymentRequest
from backend.money import format_amount, format_money
from backend.services.payment_requests import act
from backend.services.registry import RegistryQuery, filters, iterate_all
from backend.workflows.actors import Actor
from backend.workflows.lifecycle import Action, Kind, Status

SENDER = "Viza"
# What a bank needs of the recipient to accept an order (the name is always there).
BANK_REQUISITES = ("contractor_inn", "bik", "account")
# A payment marked by hand a few days off the bank's date is still the same payment.
PAID_WINDOW = timedelta(days=5)
REQUEST_NUMBER = re.compile(r"(?<!\w)(\w{1,10}-\d{2}-\d{5,})(?!\w)")
WORD = re.compile(r"\w+")


def _check_accounting(actor: Actor) -> None:
    if not actor.has("accountant", "admin"):
        raise Forbidden("forbidden.not_accountant")


# --- export ------------------------------------------------------------------------------------

@dataclass
class BankFile:
    filename: str
    content: bytes
    count: int
    total: int  # kopecks
    legal_entity_id: int
    legal_entity: str
    account: str  # the payer's account the orders are paid from
    numbers: list[str]
    without_vat: list[str]  # purposes that say nothing of VAT: the bank may query them


@dataclass
class EntityChoice:
    """A legal entity with approved requests to export: for a front door to ask which one."""

    id: int
    name: str
    count: int
    total: int  # kopecks


def approved_only(query: RegistryQuery) -> RegistryQuery:
    """The registry's filters, with the status forced to approved: only those go to the bank."""
    return query.model_copy(update={"status": [Status.APPROVED], "kind": Kind.PAYMENT, "cursor": None})


async def exportable_entities(session: AsyncSession, actor: Actor, query: RegistryQuery) -> list[EntityChoice]:
    """The legal entities the selection's approved requests are paid by, with count and sum."""
    _check_accounting(actor)
    rows = (await session.execute(
        select(PaymentRequest.legal_entity_id, LegalEntity.name, func.count(), func.sum(PaymentRequest.amount))
        .join(LegalEntity, LegalEntity.id == PaymentRequest.legal_entity_id)
        .where(*await filters(session, actor, approved_only(query)))
        .group_by(PaymentRequest.legal_entity_id, LegalEntity.name).order_by(LegalEntity.name)
    )).all()
    return [EntityChoice(id=i, name=name, count=count, total=int(total or 0)) for i, name, count, total in rows]


QUEUE_PERIODS = ("today", "week", "overdue", "all")


def queue_filters(period: str, today: date, *, legal_entity_id: int | None = None) -> RegistryQuery:
    """The accountant's queue tab (``worklists.payment_queue``: due today, in the next seven days,
    overdue, all) as registry filters, rubles only: what the chat's Bank file button exports."""
    if period not in QUEUE_PERIODS:
        raise InvalidInput("field.choice", field="pay_by", expected=", ".join(QUEUE_PERIODS))
    bounds = {"today": (today, today), "week": (today, today + timedelta(days=6)),
              "overdue": (None, today - timedelta(days=1)), "all": (None, None)}[period]
    return RegistryQuery(pay_by_from=bounds[0], pay_by_to=bounds[1], currency="RUB", legal_entity_id=legal_entity_id)


def order_number(request_number: str) -> int:
    """The payment order's number: the request number's numeric tail, ``МГ-26-00042`` → 42. A bank
    takes up to six digits, so past 999 999 requests a year the last six are used."""
    digits = re.search(r"(\d+)\D*$", request_number)
    return int(digits.group(1)[-6:]) if digits else 0


def payer_account(entity: LegalEntity, bank_account_id: int | None) -> BankAccount:
    """The account the orders are paid from: the one asked for (it must be the entity's), else
    the entity's default one (or its only one)."""
    accounts = list(entity.bank_accounts)
    if bank_account_id is not None:
        found = next((a for a in accounts if a.id == bank_account_id), None)
        if found is None:
            raise InvalidInput("bank_export.account_not_of_entity", field="bank_account_id", id=bank_account_id,
                               entity=entity.name)
        return found
    if not accounts:
        raise InvalidInput("bank_export.no_account", field="legal_entity_id", entity=entity.name)
    default = [a for a in accounts if a.is_default]
    if default:
        return default[0]
    if len(accounts) == 1:
        return accounts[0]
    raise InvalidInput("bank_export.no_default_account", field="bank_account_id", entity=entity.name,
                       accounts=", ".join(f"{a.id}: {a.account}" for a in accounts))


async def export_payment_orders(session: AsyncSession, actor: Actor, query: RegistryQuery,
                                bank_account_id: int | None = None) -> BankFile:
    """The approved requests the filters select, as payment orders of one legal entity."""
    _check_accounting(actor)
    requests = [r async for r in iterate_all(session, actor, approved_only(query))]
    if not requests:
        raise InvalidInput("bank_export.nothing")
    entity_ids = {r.legal_entity_id for r in requests}
    if len(entity_ids) > 1:
        choices = await exportable_entities(session, actor, query)
        raise InvalidInput("bank_export.several_entities", field="legal_entity_id",
                           entities=", ".join(f"{c.name} (№ {c.id}: {c.count})" for c in choices),
                           ids=[c.id for c in choices])
    foreign = [r.number for r in requests if r.currency != "RUB"]
    if foreign:
        raise InvalidInput("bank_export.currency", field="currency", numbers=", ".join(foreign))
    missing = [InvalidInput("bank_export.requisite_missing", field=key, number=r.number, id=r.id)
               for r in requests for key in BANK_REQUISITES if not getattr(r, key)]
    if missing:  # listed, never dropped: a request left out silently would wait for money forever
        raise ValidationFailed(missing)
    entity = await session.get(LegalEntity, entity_ids.pop())
    account = payer_account(entity, bank_account_id)
    bank_names = await _counterparty_banks(session, requests)
    today = actor.today()
    payer = Party(name=entity.name, inn=entity.inn, kpp=entity.kpp, account=account.account,
                  bank_name=account.bank_name, bik=account.bik, corr_account=account.corr_account)
    requests.sort(key=lambda r: (r.pay_by, r.id))
    documents = [
        Document(
            number=str(order_number(r.number)), date=today, amount=r.amount, payer=payer,
            recipient=Party(name=r.contractor_name, inn=r.contractor_inn, kpp=r.contractor_kpp, account=r.account,
                            bank_name=r.bank_name or bank_names.get(r.counterparty_id, ""), bik=r.bik,
                            corr_account=r.corr_account),
            purpose=r.purpose,
        )
        for r in requests
    ]
    content = dump(ExchangeFile(
        sender=SENDER, created=datetime.now(ZoneInfo(actor.timezone)).replace(tzinfo=None, microsecond=0),
        start=today, end=today, accounts=[account.account], document_kinds=[PAYMENT_ORDER], documents=documents,
    ))
    return BankFile(
        filename=f"1c_to_kl-{today.isoformat()}.txt", content=content, count=len(requests),
        total=sum(r.amount for r in requests), legal_entity_id=entity.id, legal_entity=entity.name,
        account=account.account, numbers=[r.number for r in requests],
        without_vat=[r.number for r in requests if not re.search(r"ндс|vat|nds", r.purpose.lower())],
    )


async def _counterparty_banks(session: AsyncSession, requests: list[PaymentRequest]) -> dict[int, str]:
    """The bank names known for the contractors, for requests typed without one (the chat does not ask)."""
    ids = {r.counterparty_id for r in requests if r.counterparty_id and not r.bank_name}
    if not ids:
        return {}
    return dict((await session.execute(
        select(Counterparty.id, Counterparty.bank_name).where(Counterparty.id.in_(ids)))).all())


# --- import ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementLine:
    """A statement's document as the report shows it."""

    line: int
    number: str
    date: date
    amount: int
    paid_on: date  # ДатаСписано, or the document's date
    payer: Party
    recipient: Party
    purpose: str


@dataclass
class Matched:
    statement: StatementLine
    request_id: int
    number: str
    amount: int
    paid_on: date
    by: str  # amount_inn | number | purpose


@dataclass
class AlreadyPaid:
    statement: StatementLine
    request_id: int
    number: str
    paid_on: date | None


@dataclass
class Unmatched:
    statement: StatementLine
    reason: str  # no_inn | no_request | number_differs | several | claimed | refused
    params: dict[str, Any] = field(default_factory=dict)
    error: DomainError | None = None

    def message(self, lang: str) -> str:
        params = dict(self.params)
        if self.error is not None:
            params["reason"] = self.error.message(lang)
        return translate(f"bank_import.{self.reason}", lang, amount=format_money(self.statement.amount, "RUB", lang),
                         inn=self.statement.recipient.inn, **params)


@dataclass
class Ignored:
    statement: StatementLine
    reason: str  # incoming | not_ours | internal | duplicate

    def message(self, lang: str) -> str:
        return translate(f"bank_import.ignored_{self.reason}", lang)


@dataclass
class StatementResult:
    accounts: list[str]
    start: date | None
    end: date | None
    unknown_accounts: list[str] = field(default_factory=list)  # the statement's, but no legal entity's here
    matched: list[Matched] = field(default_factory=list)
    already_paid: list[AlreadyPaid] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)



def read_statement(data: bytes) -> ExchangeFile:
    """The file parsed, or the reason it cannot be, as an error naming the line and the key."""
    try:
        return parse(data)
    except ClientBankError as error:
        raise InvalidInput(f"bank_file.{error.code}", field="file", line=error.line or "", key=error.key,
                           value=error.value) from None


async def import_statement(session: AsyncSession, actor: Actor, data: bytes) -> StatementResult:
    """Mark paid the approved requests a bank statement shows were paid, and say what became of
    every line.

    All or nothing: the whole statement is one transaction. The matches depend on each other (a
    request taken by one line is no longer there for the next), so they are made on one
    consistent view of the registry; the report is exactly what was committed; and a crash or a
    refused commit leaves nothing half applied. A rule refusing one request (say, a payment date in
    the future) is reported on its line while the others go through. When someone changes a
    matched request at the same moment, ``in_transaction`` runs the import again on fresh data;
    importing is idempotent (a request already paid on that day is reported as such, not paid
    again), so running it again, or importing the same file twice, is harmless.
    """
    _check_accounting(actor)
    exchange = read_statement(data)
    ours = {a.account: a.legal_entity_id for a in await session.scalars(select(BankAccount))}
    accounts = list(dict.fromkeys(exchange.accounts + [b.account for b in exchange.balances if b.account]))
    result = StatementResult(accounts=accounts, start=exchange.start, end=exchange.end,
                             unknown_accounts=[a for a in accounts if a not in ours])
    seen: set[tuple] = set()
    claimed: dict[int, int] = {}  # request id → the statement line that took it
    for document in exchange.documents:
        line = _statement_line(document)
        key = (line.number, line.date, line.amount, line.payer.account, line.recipient.account)
        payer_entity = ours.get(line.payer.account)
        if key in seen:  # the same document in two account sections of one file
            result.ignored.append(Ignored(line, "duplicate"))
            continue
        seen.add(key)
        if payer_entity is None:
            result.ignored.append(Ignored(line, "incoming" if line.recipient.account in ours else "not_ours"))
            continue
        if ours.get(line.recipient.account) == payer_entity:
            result.ignored.append(Ignored(line, "internal"))
            continue
        await _settle(session, actor, payer_entity, line, claimed, result)
    return result


async def _settle(session: AsyncSession, actor: Actor, entity_id: int, line: StatementLine,
                  claimed: dict[int, int], result: StatementResult) -> None:
    found, by, reason, params = await match_line(session, entity_id, line, claimed)
    if found is None:
        result.unmatched.append(Unmatched(line, reason, params))
        return
    claimed[found.id] = line.line
    if found.status != Status.APPROVED.value:
        result.already_paid.append(AlreadyPaid(line, found.id, found.number, found.paid_on))
        return
    try:
        # The life cycle checks every rule before it changes anything, so a refusal leaves nothing
        # behind to undo. No savepoint: on SQLite the driver opens no transaction before the first
        # write, so a savepoint taken before it would be the transaction, and its RELEASE a commit.
        await act(session, actor, found.id, Action.MARK_PAID, paid_on=line.paid_on)
    except DomainError as error:
        result.unmatched.append(Unmatched(line, "refused", {"number": found.number}, error=error))
        return
    result.matched.append(Matched(line, found.id, found.number, found.amount, line.paid_on, by))


def _statement_line(document: Document) -> StatementLine:
    return StatementLine(line=document.line, number=document.number, date=document.date, amount=document.amount,
                         paid_on=document.debited_on or document.date, payer=document.payer,
                         recipient=document.recipient, purpose=document.purpose)


async def match_line(session: AsyncSession, entity_id: int, line: StatementLine, claimed: dict[int, int]
                     ) -> tuple[PaymentRequest | None, str, str, dict[str, Any]]:
    """The one request this outgoing line paid: (request, how it was found) — or (None, why not)."""
    if not line.recipient.inn:
        return None, "", "no_inn", {}
    rows = list(await session.scalars(
        select(PaymentRequest).where(
            PaymentRequest.kind == Kind.PAYMENT.value,
            PaymentRequest.legal_entity_id == entity_id, PaymentRequest.amount == line.amount,
            PaymentRequest.contractor_inn == line.recipient.inn, PaymentRequest.currency == "RUB",
            PaymentRequest.status.in_([Status.APPROVED.value, Status.PAID.value, Status.CLOSED.value]),
        ).order_by(PaymentRequest.id)
    ))
    # A request paid long before is another payment of the same sum (the monthly rent), not this one.
    near = [r for r in rows if r.status == Status.APPROVED.value
            or (r.paid_on is not None and abs(r.paid_on - line.paid_on) <= PAID_WINDOW)]
    pool = [r for r in near if r.id not in claimed]
    named = set(n.upper() for n in REQUEST_NUMBER.findall(line.purpose))
    if not pool:
        if near:
            return None, "", "claimed", {"numbers": ", ".join(r.number for r in near),
                                         "lines": ", ".join(str(claimed[r.id]) for r in near)}
        if named:
            other = await session.scalar(select(PaymentRequest.number).where(
                PaymentRequest.number.in_(named), PaymentRequest.legal_entity_id == entity_id))
            if other:
                return None, "", "number_differs", {"number": other}
        return None, "", "no_request", {}
    if len(pool) == 1:
        return pool[0], "amount_inn", "", {}
    by_number = [r for r in pool if r.number.upper() in named]
    if len(by_number) == 1:
        return by_number[0], "number", "", {}
    same_day = [r for r in pool if r.status != Status.APPROVED.value and r.paid_on == line.paid_on]
    if len(same_day) == 1:
        return same_day[0], "amount_inn", "", {}
    alike = most_alike(line.purpose, pool)
    if alike is not None:
        return alike, "purpose", "", {}
    return None, "", "several", {"numbers": ", ".join(r.number for r in pool)}


def _words(text: str) -> set[str]:
    return set(WORD.findall(text.lower().replace("ё", "е")))


def most_alike(purpose: str, candidates: list[PaymentRequest], *, least: float = 0.5,
               margin: float = 0.1) -> PaymentRequest | None:
    """The candidate whose purpose shares the most words with the statement's (Jaccard), when it
    clearly stands out; banks add words of their own ("НДС 20% - 2500.00"), so an exact
    comparison would find nothing, and two requests with the same words are never guessed between."""
    words = _words(purpose)
    if not words:
        return None
    scored = sorted(((len(words & _words(r.purpose)) / len(words | _words(r.purpose)), r) for r in candidates),
                    key=lambda pair: pair[0], reverse=True)
    best, runner_up = scored[0][0], scored[1][0] if len(scored) > 1 else 0.0
    return scored[0][1] if best >= least and best - runner_up >= margin else None


# --- views -------------------------------------------------------------------------------------

def _line_view(line: StatementLine) -> dict[str, Any]:
    def party(p: Party) -> dict[str, str]:
        return {"name": p.name, "inn": p.inn, "kpp": p.kpp, "account": p.account, "bik": p.bik}

    return {"line": line.line, "number": line.number, "date": line.date, "amount": format_amount(line.amount),
            "amount_minor": line.amount, "paid_on": line.paid_on, "payer": party(line.payer),
            "recipient": party(line.recipient), "purpose": line.purpose}


def statement_view(result: StatementResult, lang: str) -> dict[str, Any]:
    """The import's report as the API answers it; reasons in ``lang``."""
    return {
        "accounts": result.accounts, "unknown_accounts": result.unknown_accounts, "start": result.start,
        "end": result.end,
        "matched": [{"request_id": m.request_id, "number": m.number, "amount": format_amount(m.amount),
                     "amount_minor": m.amount, "paid_on": m.paid_on, "by": m.by, "line": _line_view(m.statement)}
                    for m in result.matched],
        "already_paid": [{"request_id": a.request_id, "number": a.number, "paid_on": a.paid_on,
                          "line": _line_view(a.statement)} for a in result.already_paid],
        "unmatched": [{"reason": u.reason, "message": u.message(lang), "line": _line_view(u.statement),
                       **({"candidates": u.params["numbers"].split(", ")} if "numbers" in u.params else {})}
                      for u in result.unmatched],
        "ignored": [{"reason": i.reason, "message": i.message(lang), "line": _line_view(i.statement)}
                    for i in result.ignored],
    }
