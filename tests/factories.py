"""Test data: a small company with a department tree, people in every role and the default routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.models import Department, Employee, LegalEntity, RequestType
from backend.requisites import make_valid_account, make_valid_inn10
from backend.services.payment_requests import PaymentRequestFields, create_request
from backend.services.request_types import load_defaults
from backend.services.tokens import actor_for_employee
from backend.workflows.actors import Actor

SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"


def today() -> date:
    """Today where the test company lives (Europe/Moscow), which is not the UTC date after 21:00."""
    return datetime.now(ZoneInfo("Europe/Moscow")).date()


def inn(n: int) -> str:
    return make_valid_inn10(f"77{n:07d}")


def account(n: int) -> str:
    return make_valid_account(SBER_BIK, "40702810", serial=n)


@dataclass
class Company:
    legal_entity: LegalEntity
    types: dict[str, RequestType]
    people: dict[str, Employee]
    departments: dict[str, Department]
    actors: dict[str, Actor] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        return self.actors[name]


async def make_company(session: AsyncSession) -> Company:
    """Management → sales (head Petrov, deputy Orlova) → sales.north (head Sidorov);
    manager Ivanov in sales.north; CFO, director, two accountants, an admin."""
    entity = LegalEntity(name="ООО «Ромашка»", short_code="РМ", inn=inn(1), kpp="770101001")
    session.add(entity)
    management = Department(name="Дирекция", code="management")
    session.add(management)
    await session.flush()
    management.path = f"/{management.id}/"
    sales = Department(name="Отдел продаж", code="sales", parent_id=management.id)
    session.add(sales)
    await session.flush()
    sales.path = f"{management.path}{sales.id}/"
    north = Department(name="Продажи Север", code="sales_north", parent_id=sales.id)
    session.add(north)
    await session.flush()
    north.path = f"{sales.path}{north.id}/"

    def person(name: str, department: Department, *roles: str) -> Employee:
        employee = Employee(full_name=name, department_id=department.id, roles=list(roles))
        session.add(employee)
        return employee

    people = {
        "director": person("Директор Д.Д.", management, "director", "approver"),
        "cfo": person("Финансов Ф.Ф.", management, "cfo", "approver"),
        "head": person("Петров П.П.", sales, "approver", "manager"),
        "deputy": person("Орлова О.О.", sales, "approver", "manager"),
        "north_head": person("Сидоров С.С.", north, "approver", "manager"),
        "manager": person("Иванов И.И.", north, "manager"),
        "manager2": person("Смирнова А.А.", north, "manager"),
        "accountant": person("Бухова Б.Б.", management, "accountant"),
        "accountant2": person("Счётова С.С.", management, "accountant"),
        "admin": person("Админов А.А.", management, "admin"),
        "outsider": person("Посторонний П.П.", management, "manager"),
    }
    await session.flush()
    management.head_id = people["director"].id
    sales.head_id, sales.deputy_id = people["head"].id, people["deputy"].id
    north.head_id = people["north_head"].id
    await load_defaults(session)
    await session.flush()
    from sqlalchemy import select

    types = {t.code: t for t in await session.scalars(select(RequestType))}
    company = Company(entity, types, people, {"management": management, "sales": sales, "north": north})
    for key, employee in people.items():
        company.actors[key] = await actor_for_employee(session, employee.id)
    return company


async def setup_company(db: Database) -> Company:
    async with db.session() as session:
        company = await make_company(session)
        await session.commit()
    return company


def request_fields(company: Company, **overrides: Any) -> PaymentRequestFields:
    values: dict[str, Any] = dict(
        request_type_id=company.types["supplier"].id, legal_entity_id=company.legal_entity.id,
        subject="Бумага для офиса", contractor_name="ООО «Поставщик»", contractor_inn=inn(500),
        contractor_kpp="770201001", bik=SBER_BIK, account=account(7), corr_account=SBER_CORR,
        amount="15000.00", currency="RUB", pay_by=today() + timedelta(days=5),
        purpose="Оплата по счёту № 15 от 01.11.2026, в т.ч. НДС", invoice_number="15",
    )
    values.update(overrides)
    return PaymentRequestFields(**values)


async def new_request(db: Database, company: Company, who: str = "manager", **overrides: Any) -> int:
    async with db.session() as session:
        request = await create_request(session, company.actor(who), request_fields(company, **overrides))
        await session.commit()
        return request.id


async def auth_headers(db: Database, company: Company, who: str, role: str | None = None) -> dict[str, str]:
    """A bearer token acting as one of the company's people."""
    from backend.services.tokens import create_token

    employee = company.people[who]
    async with db.session() as session:
        _, secret = await create_token(session, name=f"test {who}", role=role or (employee.roles or ["manager"])[0],
                                       employee_id=employee.id)
        await session.commit()
    return {"Authorization": f"Bearer {secret}"}


async def give_print_details(db: Database, company: Company, *, tax_regime: str = "osn") -> None:
    """What the print forms need of the legal entity: address, signatory, a default bank account."""
    from backend.models import BankAccount

    async with db.session() as session:
        entity = await session.get(LegalEntity, company.legal_entity.id)
        entity.tax_regime = tax_regime
        entity.address = "123456, г. Москва, ул. Тверская, д. 1"
        entity.director = "Генеральный директор Директоров Д. Д."
        entity.chief_accountant = "Бухова Б. Б."
        session.add(BankAccount(legal_entity_id=entity.id, bank_name="ПАО Сбербанк", bik=SBER_BIK,
                                account=account(9), corr_account="30101810400000000225", is_default=True))
        await session.commit()
