"""`viza demo`: a small living company so a newcomer sees the registry at work at once.

Everything goes through the same service functions as the bot and the API, so the demo
requests have real routes and real history. Loading it twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.models import BankAccount, Counterparty, Department, Employee, LegalEntity, RequestType
from backend.services.attachments import FileStore
from backend.services.contracts import ContractFields, create_contract
from backend.requisites import make_valid_account, make_valid_corr_account, make_valid_inn10
from backend.services.payment_requests import PaymentRequestFields, act, create_request
from backend.services.request_types import load_defaults
from backend.services.tokens import actor_for_employee, create_token
from backend.settings import Settings
from backend.workflows.lifecycle import Action

DEMO_INN = make_valid_inn10("230800001")  # the marker: present once the demo is loaded

BANKS = [("ПАО Сбербанк", "044525225"), ("АО «Альфа-Банк»", "044525593"), ("Банк ВТБ (ПАО)", "044525187")]
SUPPLIERS = [
    ("ООО «МедТехСнаб»", "Шприцы и системы для инфузий"),
    ("ООО «Офис-Комплект»", "Канцтовары для офиса"),
    ("АО «ЛогистикПро»", "Доставка оборудования клиентам"),
    ("ООО «Арендный дом»", "Аренда офиса, ноябрь"),
    ("ООО «КлинСервис»", "Уборка офиса и склада"),
]


async def load_demo(settings: Settings) -> str:
    db = Database(settings.effective_database_url)
    try:
        async with db.session() as session:
            if await session.scalar(select(LegalEntity.id).where(LegalEntity.inn == DEMO_INN)):
                return ("The demo company is already loaded. Make a token for one of its people with\n"
                        "  viza token create --role manager --name me --employee <id>")
            report = await _build(session, settings)
            await session.commit()
            return report
    finally:
        await db.dispose()


async def _build(session: AsyncSession, settings: Settings) -> str:
    await load_defaults(session)
    main_entity = LegalEntity(name="ООО «Медика Групп»", short_code="МГ", inn=DEMO_INN, kpp="230801001",
                              tax_regime="osn", regions=["23"], ogrn="1232300000019",
                              address="350000, г. Краснодар, ул. Красная, д. 10", director="Генеральный директор Ковалёва М. А.",
                              chief_accountant="Белова Н. С.")
    service_entity = LegalEntity(name="ООО «Медика Сервис»", short_code="МС", inn=make_valid_inn10("230800002"),
                                 kpp="230801001", tax_regime="usn_income", regions=["23", "61"],
                                 ogrn="1232300000020", address="350000, г. Краснодар, ул. Северная, д. 5",
                                 director="Директор Ковалёва М. А.", chief_accountant="Белова Н. С.")
    for number, entity in enumerate((main_entity, service_entity), start=1):
        bank_name, bik = BANKS[0]
        entity.bank_accounts = [BankAccount(bank_name=bank_name, bik=bik, is_default=True,
                                            account=make_valid_account(bik, "40702810", serial=900 + number),
                                            corr_account=make_valid_corr_account(bik))]
    session.add_all([main_entity, service_entity])
    departments = await _departments(session)
    people = await _people(session, departments)
    suppliers = await _suppliers(session)
    await session.flush()

    actors = {key: await actor_for_employee(session, e.id) for key, e in people.items()}
    types = {t.code: t for t in await session.scalars(select(RequestType))}
    today = datetime.now(settings.tz).date()  # the company's calendar, not the server's

    async def new(who: str, supplier: int, amount: str, kind: str = "supplier", entity: LegalEntity = main_entity,
                  days: int = 5, **extra: Any) -> int:
        c = suppliers[supplier]
        fields = PaymentRequestFields(
            request_type_id=types[kind].id, legal_entity_id=entity.id, subject=SUPPLIERS[supplier][1],
            contractor_inn=c.inn, contractor_kpp=c.kpp, amount=amount, pay_by=today + timedelta(days=days),
            purpose=f"Оплата по счёту № {100 + supplier} за {SUPPLIERS[supplier][1].lower()}, в т.ч. НДС 20%",
            invoice_number=str(100 + supplier), **extra,
        )
        request = await create_request(session, actors[who], fields)
        return request.id

    async def step(who: str, request_id: int, action: Action, comment: str = "", **data: Any) -> None:
        await act(session, actors[who], request_id, action, comment=comment, **data)

    await new("manager", 1, "12500.00", days=10)  # a draft
    r = await new("manager", 0, "84000.00")
    await step("manager", r, Action.SUBMIT)  # waits for the head of sales
    r = await new("manager2", 2, "156000.00", days=3)
    await step("manager2", r, Action.SUBMIT)
    await step("sales_head", r, Action.APPROVE, "Согласую, клиент ждёт")  # waits for the CFO
    r = await new("buyer", 0, "47300.00", days=2)
    await step("buyer", r, Action.SUBMIT)
    await step("purchasing_head", r, Action.APPROVE)
    await step("cfo", r, Action.APPROVE)  # approved: in the accountant's queue
    r = await new("buyer", 4, "18000.00", kind="household", days=1)
    await step("buyer", r, Action.SUBMIT)
    await step("purchasing_head", r, Action.APPROVE)
    await step("accountant", r, Action.MARK_PAID)  # paid, waiting for closing documents
    r = await new("manager", 3, "95000.00", kind="rent", days=1)
    await step("manager", r, Action.SUBMIT)
    await step("sales_head", r, Action.APPROVE)
    await step("cfo", r, Action.APPROVE)
    await step("accountant", r, Action.MARK_PAID)
    await step("accountant", r, Action.CLOSE, "Акт получен")  # closed
    r = await new("manager2", 1, "6400.00", days=7)
    await step("manager2", r, Action.SUBMIT)
    await step("sales_head", r, Action.RETURN, "Приложите счёт и уточните назначение платежа")  # returned
    r = await new("manager", 2, "230000.00", entity=service_entity, days=12)
    await step("manager", r, Action.SUBMIT)
    await step("sales_head", r, Action.REJECT, "Доставку оплачивает клиент по договору")  # rejected
    r = await new("buyer", 1, "3100.00", days=4)
    await step("buyer", r, Action.SUBMIT)
    await step("buyer", r, Action.CANCEL, "Купили за наличные")  # cancelled

    await _contracts(session, settings, actors, main_entity, today)

    lines = ["Demo company loaded: ООО «Медика Групп» and ООО «Медика Сервис», 9 requests in every state,",
             "2 contract approvals on Bitrix24 deal 42 (one approved, annual; one waiting for accounting).",
             "API tokens for its people (shown once; each acts as that person):"]
    for key in ("admin", "manager", "sales_head", "cfo", "accountant"):
        employee = people[key]
        role = "admin" if key == "admin" else (employee.roles or ["manager"])[0]
        _, secret = await create_token(session, name=f"demo {key}", role=role, employee_id=employee.id)
        lines.append(f"  {employee.full_name:<24} ({key:<10}) {secret}")
    lines.append("Try: curl -H 'Authorization: Bearer <token>' http://127.0.0.1:8000/api/v1/payment-requests")
    return "\n".join(lines)


async def _contracts(session: AsyncSession, settings: Settings, actors: dict[str, Any], entity: LegalEntity,
                     today) -> None:
    """An approved annual contract (in the store, with an invoice to make from /deal 42) and one
    waiting for accounting."""
    store = FileStore(settings.files_dir)
    for annual, subject, amount in ((True, "Сервисное обслуживание медицинского оборудования", "360000"),
                                    (False, "Поставка расходных материалов", "84500")):
        fields = ContractFields(
            legal_entity_id=entity.id, client_name="ООО «Клиника Здоровье»", client_inn=make_valid_inn10("231000003"),
            client_kpp="231001001", client_address="350001, г. Краснодар, ул. Садовая, д. 3",
            client_signatory="Главный врач Сидоров П. П.", subject=subject, amount=amount, bitrix24_deal_id="42",
            payment_terms="prepay_70_30" if annual else "full", annual=annual,
            valid_from=today.replace(month=1, day=1) if annual else None,
            valid_until=today.replace(month=12, day=31) if annual else None)
        request = await create_contract(session, store, actors["manager"], fields,
                                        file=("Договор.docx", _docx(f"Договор: {subject}")))
        await act(session, actors["manager"], request.id, Action.SUBMIT)
        if annual:
            await act(session, actors["accountant"], request.id, Action.APPROVE)


def _docx(text: str) -> bytes:
    import io

    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


async def _departments(session: AsyncSession) -> dict[str, Department]:
    tree = [("management", "Дирекция", None), ("sales", "Отдел продаж", "management"),
            ("purchasing", "Отдел закупок", "management"), ("accounting", "Бухгалтерия", "management"),
            ("warehouse", "Склад", "purchasing")]
    departments: dict[str, Department] = {}
    for code, name, parent in tree:
        parent_row = departments.get(parent) if parent else None
        department = Department(name=name, code=code, parent_id=parent_row.id if parent_row else None)
        session.add(department)
        await session.flush()
        department.path = f"{parent_row.path if parent_row else '/'}{department.id}/"
        departments[code] = department
    return departments


async def _people(session: AsyncSession, d: dict[str, Department]) -> dict[str, Employee]:
    staff = [
        ("director", "Марина Ковалёва", "management", "Генеральный директор", ["director", "approver"]),
        ("cfo", "Олег Степанов", "management", "Финансовый директор", ["cfo", "approver"]),
        ("admin", "Ирина Белова", "management", "Администратор системы", ["admin"]),
        ("sales_head", "Андрей Волков", "sales", "Руководитель отдела продаж", ["approver", "manager"]),
        ("sales_deputy", "Елена Соколова", "sales", "Заместитель руководителя", ["approver", "manager"]),
        ("manager", "Дмитрий Орлов", "sales", "Менеджер", ["manager"]),
        ("manager2", "Анна Лебедева", "sales", "Менеджер", ["manager"]),
        ("purchasing_head", "Сергей Морозов", "purchasing", "Руководитель закупок", ["approver", "manager"]),
        ("buyer", "Павел Никитин", "warehouse", "Кладовщик-закупщик", ["manager"]),
        ("accountant", "Татьяна Кузнецова", "accounting", "Главный бухгалтер", ["accountant"]),
        ("accountant2", "Ольга Попова", "accounting", "Бухгалтер", ["accountant"]),
    ]
    people: dict[str, Employee] = {}
    for key, name, department, position, roles in staff:
        employee = Employee(full_name=name, department_id=d[department].id, position=position, roles=roles)
        session.add(employee)
        people[key] = employee
    await session.flush()
    d["management"].head_id = people["director"].id
    d["sales"].head_id, d["sales"].deputy_id = people["sales_head"].id, people["sales_deputy"].id
    d["purchasing"].head_id = people["purchasing_head"].id
    d["accounting"].head_id = people["accountant"].id
    return people


async def _suppliers(session: AsyncSession) -> list[Counterparty]:
    rows = []
    for index, (name, _) in enumerate(SUPPLIERS):
        bank_name, bik = BANKS[index % len(BANKS)]
        counterparty = Counterparty(
            name=name, inn=make_valid_inn10(f"77{index + 1:07d}"), kpp=f"77{index + 1:02d}01001",
            bank_name=bank_name, bik=bik, account=make_valid_account(bik, "40702810", serial=index + 1),
            corr_account=make_valid_corr_account(bik),
        )
        session.add(counterparty)
        rows.append(counterparty)
    await session.flush()
    return rows
