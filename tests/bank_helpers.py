"""Test data for bank files: the company's accounts, approved requests, statements as banks send them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.db import Database
from backend.integrations.bank.clientbank import Document, ExchangeFile, Party, dump
from backend.models import BankAccount, LegalEntity, PaymentRequest
from backend.services.payment_requests import act
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action, Status
from tests.factories import SBER_BIK, SBER_CORR, Company, account, inn, new_request, today

CONTRACTOR_INN = inn(500)  # the factories' default contractor, ООО «Поставщик»
CONTRACTOR_ACCOUNT = account(7)


@dataclass
class Accounts:
    main: str  # the company's default account
    main_id: int
    spare: str  # its second account
    spare_id: int
    other_entity_id: int  # ООО «Лютик», a second legal entity of the group
    other: str  # its only account
    other_id: int


async def give_accounts(db: Database, company: Company) -> Accounts:
    async with db.session() as session:
        main = BankAccount(legal_entity_id=company.legal_entity.id, bank_name="ПАО СБЕРБАНК", bik=SBER_BIK,
                           account=account(1), corr_account=SBER_CORR, is_default=True)
        spare = BankAccount(legal_entity_id=company.legal_entity.id, bank_name="ПАО СБЕРБАНК", bik=SBER_BIK,
                            account=account(2), corr_account=SBER_CORR)
        other_entity = LegalEntity(name="ООО «Лютик»", short_code="ЛТ", inn=inn(2), kpp="770201001")
        session.add_all([main, spare, other_entity])
        await session.flush()
        other = BankAccount(legal_entity_id=other_entity.id, bank_name="ПАО СБЕРБАНК", bik=SBER_BIK,
                            account=account(3), corr_account=SBER_CORR, is_default=True)
        session.add(other)
        await session.commit()
        return Accounts(main=main.account, main_id=main.id, spare=spare.account, spare_id=spare.id,
                        other_entity_id=other_entity.id, other=other.account, other_id=other.id)


async def approved_request(db: Database, company: Company, **overrides: Any) -> int:
    """A request submitted by the manager and approved by everyone its route asks."""
    request_id = await new_request(db, company, **overrides)
    await in_transaction(db, lambda s: act(s, company.actor("manager"), request_id, Action.SUBMIT))
    for who in ("north_head", "cfo", "director"):
        if (await load(db, request_id)).status != Status.PENDING.value:
            break
        await in_transaction(db, lambda s, who=who: act(s, company.actor(who), request_id, Action.APPROVE))
    assert (await load(db, request_id)).status == Status.APPROVED.value
    return request_id


async def load(db: Database, request_id: int) -> PaymentRequest:
    async with db.session() as session:
        return await session.get(PaymentRequest, request_id)


def payment(*, payer_account: str, amount: int = 15_000_00, recipient_inn: str = CONTRACTOR_INN,
            purpose: str = "Оплата по счёту № 15 от 01.11.2026, в т.ч. НДС", number: str = "1",
            paid_on: date | None = None, on: date | None = None,
            recipient_account: str = CONTRACTOR_ACCOUNT) -> Document:
    """An outgoing payment as a statement shows it (``paid_on`` is ДатаСписано)."""
    return Document(
        number=number, date=on or paid_on or today(), amount=amount,
        payer=Party(name="ООО «Ромашка»", inn=inn(1), account=payer_account, bik=SBER_BIK, corr_account=SBER_CORR),
        recipient=Party(name="ООО «Поставщик»", inn=recipient_inn, account=recipient_account, bik=SBER_BIK),
        purpose=purpose, debited_on=paid_on,
    )


def incoming(*, to_account: str, amount: int = 15_000_00) -> Document:
    return Document(number="77", date=today(), amount=amount,
                    payer=Party(name="ООО «Покупатель»", inn=inn(900), account=account(90), bik=SBER_BIK),
                    recipient=Party(name="ООО «Ромашка»", inn=inn(1), account=to_account, bik=SBER_BIK),
                    purpose="Оплата по договору 5", credited_on=today())


def statement(*documents: Document, accounts: list[str] | None = None, encoding: str = "Windows") -> bytes:
    """A statement file as a bank client saves it for 1C."""
    return dump(ExchangeFile(sender="Сбербанк Бизнес Онлайн", receiver="1С:Предприятие", start=today(), end=today(),
                             accounts=accounts or sorted({d.payer.account for d in documents if not d.credited_on}),
                             documents=list(documents), encoding=encoding))
