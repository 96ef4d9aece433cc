"""Fill a freshly migrated database with N payment requests (default 1,000,000) and their history.

    python -m benchmarks.generate --db sqlite|postgresql|both [--rows 1000000] [--seed 1]

The organisation comes from tests.factories.make_company (so the benchmark actors are the
familiar ones) plus a second legal entity, 20 more departments with ~200 employees, and
~5,000 contractors with valid INNs and accounts. Routes are resolved with the real
``resolve_route`` for every (initiator, request type, amount band), so the stages and tasks
of every request are the ones the engine would have made.

Requests: statuses draft 5 %, pending 10 %, approved 10 %, paid 40 %, closed 25 %, returned,
rejected and cancelled ~3.3 % each; open requests are recent, finished ones spread over two
years; ids follow created_at as in a live system; amounts log-normal; contractors Zipf-like
(plus the tax office, the social fund and the salary bank as the real heavy hitters);
subjects and purposes from a few hundred Russian words with a Zipf-like skew; search_text
(and any other derived column) made by the service's own ``refresh_search_fields``;
history events, stages and tasks follow the life cycle of each request (the engine's
transitions, replayed).

Loading: the secondary indexes of the four big tables (and, on SQLite, the FTS triggers)
are dropped, the rows are bulk-inserted (SQLite: stdlib sqlite3 executemany in big
transactions; PostgreSQL: asyncpg copy_records_to_table), then the very same DDL, read back
from the catalogue before dropping, is replayed; the FTS index is rebuilt; ANALYZE. The
script checks at the end that the schema's indexes and triggers equal the migrated ones.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import itertools
import json
import math
import os
import random
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from backend.db import Database
from backend.migrate import upgrade
from backend.models import (
    ApprovalTask, Counterparty, Department, Employee, HistoryEvent, LegalEntity, NumberCounter, PaymentRequest,
    RequestStage, RequestType,
)
from backend.requisites import make_valid_account, make_valid_corr_account, make_valid_inn10, make_valid_inn12
from backend.services import payment_requests as pr_service
from backend.workflows.engine import MATERIAL_FIELDS
from backend.workflows.routing import RouteContext, resolve_route
from benchmarks import vocab
from benchmarks.common import PG_DBNAME, PG_SERVER, RESULTS, SQLITE_PATH, kinds, pg_dsn, pg_url, sqlite_url
from tests.factories import inn as factory_inn
from tests.factories import make_company

BIG_TABLES = ("payment_requests", "history_events", "request_stages", "approval_tasks")
MSK = timedelta(hours=3)  # Europe/Moscow has no DST since 2014
DAY = 86400.0

STATUS_WEIGHTS = (
    ("draft", 5.0), ("pending", 10.0), ("approved", 10.0), ("paid", 40.0), ("closed", 25.0),
    ("returned", 10 / 3), ("rejected", 10 / 3), ("cancelled", 10 / 3),
)
TYPE_WEIGHTS = (("supplier", 55), ("household", 15), ("rent", 8), ("taxes", 8), ("salary", 7), ("refund", 7))
BANKS = (
    ("044525225", "ПАО Сбербанк"), ("044525593", "АО «Альфа-Банк»"), ("044525974", "АО «Тинькофф Банк»"),
    ("044525187", "Банк ВТБ (ПАО)"), ("044030653", "Северо-Западный банк ПАО Сбербанк"),
    ("046577674", "Уральский банк ПАО Сбербанк"), ("044525999", "Точка ПАО Банка «ФК Открытие»"),
)
PR_COLUMNS = (
    "id", "number", "version", "status", "current_stage", "round", "material_fingerprint", "legal_entity_id",
    "request_type_id", "department_id", "expense_item_id", "initiator_id", "subject", "counterparty_id",
    "contractor_name", "contractor_inn", "contractor_kpp", "bank_name", "bik", "account", "corr_account",
    "amount", "currency", "pay_by", "purpose", "invoice_number", "invoice_date", "is_prepayment",
    "bitrix24_deal_id", "flags", "paid_on", "created_at", "updated_at", "submitted_at",
    "approved_at", "paid_at", "closed_at",
)  # + the fields the service derives (search_text, ...): see derive_search_fields
MODELS = {"payment_requests": PaymentRequest, "history_events": HistoryEvent,
          "request_stages": RequestStage, "approval_tasks": ApprovalTask}


def derive_search_fields(ns: SimpleNamespace) -> dict[str, Any]:
    """The columns the service computes from the others, computed by the service's own code
    (``refresh_search_fields`` when it exists, else ``search_text``)."""
    before = set(vars(ns))
    refresh = getattr(pr_service, "refresh_search_fields", None)
    if refresh is not None:
        refresh(ns)
    else:
        ns.search_text = pr_service.search_text(ns)
    return {k: v for k, v in vars(ns).items() if k not in before}


DERIVED = tuple(derive_search_fields(SimpleNamespace(
    number="X-1", subject="s", purpose="p", contractor_name="C", contractor_inn="1", invoice_number="",
    amount=1, currency="RUB", contractor_kpp="", bik="", account="", corr_account="")))
HISTORY_COLUMNS = ("id", "request_id", "at", "action", "actor_id", "actor_label", "on_behalf_of_id",
                   "from_status", "to_status", "stage", "round", "comment", "details")
STAGE_COLUMNS = ("id", "request_id", "round", "position", "name", "mode", "required_count", "sla_hours",
                 "status", "started_at", "finished_at", "reason")
TASK_COLUMNS = ("id", "stage_id", "request_id", "approver_id", "assignee_id", "added_by_id", "status",
                "decided_by_id", "decided_at", "comment", "created_at")
COLUMNS = {"payment_requests": PR_COLUMNS + DERIVED, "history_events": HISTORY_COLUMNS,
           "request_stages": STAGE_COLUMNS, "approval_tasks": TASK_COLUMNS}

RETURN_COMMENTS = ("Приложите счёт", "Неверная сумма, уточните", "Укажите статью расходов",
                   "Нет договора, приложите", "Исправьте назначение платежа")
REJECT_COMMENTS = ("Не согласовано бюджетом", "Дубль заявки", "Нет основания для оплаты", "Перенесите на следующий месяц")


# --- the organisation ---------------------------------------------------------------------------

@dataclass
class Person:
    id: int
    name: str
    department_id: int


@dataclass
class Contractor:
    id: int
    name: str
    inn: str
    kpp: str
    bik: str
    bank_name: str
    account: str
    corr_account: str


@dataclass
class Plan:
    """Everything the row generator needs, read from the org made in the database."""

    entities: list[tuple[int, str, float]]  # (id, short code, weight)
    types: dict[str, int]
    initiators: list[Person]
    initiator_weights: list[float]
    accountants: list[Person]
    contractors: list[Contractor]
    routes: dict[tuple[int, str, int], list[Any]]  # (initiator, type code, amount band) → resolved stages
    people: dict[int, str] = field(default_factory=dict)  # id → full name


def _person_name(rng: random.Random) -> str:
    if rng.random() < 0.4:
        surname = rng.choice(vocab.SURNAMES) + "а"
        first = rng.choice(vocab.FEMALE_FIRST_NAMES)
    else:
        surname, first = rng.choice(vocab.SURNAMES), rng.choice(vocab.FIRST_NAMES)
    return f"{surname} {first[0]}.{rng.choice(vocab.PATRONYMICS)[0]}."


def _unique_inns(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    regions = ("77", "78", "50", "66", "16", "54", "63", "52", "23", "61", "74", "02", "24", "59")
    result = []
    while len(result) < count:
        value = make_valid_inn10(rng.choice(regions) + f"{rng.randrange(10**7):07d}")
        if value not in taken:
            taken.add(value)
            result.append(value)
    return result


def _contractor_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """~5,000 counterparties: companies and sole traders, plus the usual state bodies and the salary bank."""
    taken = {factory_inn(1), factory_inn(2), factory_inn(500)}
    rows: list[dict[str, Any]] = []

    def bank(serial: int) -> dict[str, str]:
        bik, bank_name = BANKS[serial % len(BANKS)]
        return {"bik": bik, "bank_name": bank_name, "account": make_valid_account(bik, "40702810", serial=serial),
                "corr_account": make_valid_corr_account(bik)}

    # The heavy hitters first (ids 1..4 after make_company's own "ООО «Поставщик»" is not there yet).
    specials = [
        ("ПАО Сбербанк", "7707083893", "773601001"),
        ("УФК по г. Москве (ИФНС России № 7 по г. Москве)", "7707329152", "770701001"),
        ("УФК по г. Москве (ОСФР по г. Москве и Московской области)", "7703363868", "770301001"),
        ("УФК по г. Москве (Департамент городского имущества)", "7705031674", "770301001"),
    ]
    for serial, (name, inn_value, kpp) in enumerate(specials, start=1):
        taken.add(inn_value)
        b = bank(serial)
        # Treasury payees have a treasury account in real life; a bank account keeps the checks simple here.
        rows.append({"name": name, "inn": inn_value, "kpp": kpp, **b})
    company_inns = _unique_inns(rng, count - len(specials), taken)
    for serial, inn_value in enumerate(company_inns, start=len(specials) + 1):
        if rng.random() < 0.2:  # a sole trader: 12-digit INN, no KPP
            inn12 = make_valid_inn12(inn_value[:2] + f"{rng.randrange(10**8):08d}")
            while inn12 in taken:
                inn12 = make_valid_inn12(inn_value[:2] + f"{rng.randrange(10**8):08d}")
            taken.add(inn12)
            name = f"ИП {rng.choice(vocab.SURNAMES)} {rng.choice(vocab.FIRST_NAMES)} {rng.choice(vocab.PATRONYMICS)}"
            rows.append({"name": name, "inn": inn12, "kpp": "", **bank(serial)})
            continue
        form = rng.choices(("ООО", "АО", "ПАО"), (88, 10, 2))[0]
        root = rng.choice(vocab.NAME_ROOTS) + rng.choice(vocab.NAME_ROOTS).lower()
        name = f"{form} «{root}{rng.choice(vocab.NAME_TAILS)}»"
        rows.append({"name": name, "inn": inn_value, "kpp": inn_value[:4] + "01001", **bank(serial)})
    return rows


async def build_org(url: str, rng: random.Random, contractors: int) -> Plan:
    """make_company + 20 departments, ~200 people, a second entity, the contractors; routes resolved."""
    db = Database(url)
    try:
        async with db.session() as session:
            company = await make_company(session)
            second = LegalEntity(name="ООО «Василёк»", short_code="ВС", inn=factory_inn(2), kpp="770201001")
            session.add(second)
            departments = dict(company.departments)
            departments["sales_north"] = departments.pop("north")
            extra_people: list[tuple[Employee, bool]] = []
            for code, name, parent_code in vocab.DEPARTMENTS:
                parent = departments[parent_code]
                department = Department(name=name, code=code, parent_id=parent.id)
                session.add(department)
                await session.flush()
                department.path = f"{parent.path}{department.id}/"
                departments[code] = department
                head = Employee(full_name=_person_name(rng), department_id=department.id, roles=["approver", "manager"],
                                position="Руководитель")
                session.add(head)
                staff = [Employee(full_name=_person_name(rng), department_id=department.id, roles=["manager"],
                                  position="Специалист") for _ in range(rng.randint(7, 11))]
                session.add_all(staff)
                await session.flush()
                department.head_id = head.id
                extra_people.append((head, True))
                extra_people.extend((e, False) for e in staff)
            for row in _contractor_rows(rng, contractors):
                session.add(Counterparty(**row))
            await session.flush()

            types = {t.code: t for t in await session.scalars(select(RequestType))}
            initiators: list[Person] = []
            weights: list[float] = []
            for key in ("manager", "manager2", "head", "deputy", "north_head"):
                e = company.people[key]
                initiators.append(Person(e.id, e.full_name, e.department_id))
                weights.append(4.0 if key.startswith("manager") else 0.5)
            for employee, is_head in extra_people:
                initiators.append(Person(employee.id, employee.full_name, employee.department_id))
                weights.append(0.5 if is_head else rng.uniform(0.3, 2.0))
            accountants = [Person(company.people[k].id, company.people[k].full_name, company.people[k].department_id)
                           for k in ("accountant", "accountant2")]
            contractor_list = [
                Contractor(c.id, c.name, c.inn, c.kpp, c.bik, c.bank_name, c.account, c.corr_account)
                for c in await session.scalars(select(Counterparty).order_by(Counterparty.id))
            ]
            # Routes: the real resolver, once per initiator, type and amount band.
            routes: dict[tuple[int, str, int], list[Any]] = {}
            employees = {e.id: e for e in await session.scalars(select(Employee))}
            for person in initiators:
                for code, request_type in types.items():
                    for band, amount in enumerate((100_00, 60_000_00, 200_000_00)):
                        fake = SimpleNamespace(amount=amount, currency="RUB", legal_entity_id=company.legal_entity.id,
                                               department_id=person.department_id, is_prepayment=False)
                        routes[(person.id, code, band)] = await resolve_route(
                            session, list(request_type.stages), fake, code, employees[person.id], RouteContext())
            people = {e.id: e.full_name for e in employees.values()}
            plan = Plan(
                entities=[(company.legal_entity.id, company.legal_entity.short_code, 0.7), (second.id, "ВС", 0.3)],
                types={code: t.id for code, t in types.items()}, initiators=initiators, initiator_weights=weights,
                accountants=accountants, contractors=contractor_list, routes=routes, people=people,
            )
            await session.commit()
        return plan
    finally:
        await db.dispose()


async def save_counters(url: str, counters: dict[tuple[int, int], int]) -> None:
    db = Database(url)
    try:
        async with db.session() as session:
            for (entity_id, year), value in counters.items():
                row = await session.get(NumberCounter, (entity_id, year))
                if row is None:
                    session.add(NumberCounter(legal_entity_id=entity_id, year=year, last_value=value))
                else:
                    row.last_value = max(row.last_value, value)
            await session.commit()
    finally:
        await db.dispose()


# --- the rows -----------------------------------------------------------------------------------

class Formats:
    """How values are written: SQLite takes the strings SQLAlchemy would write, PostgreSQL objects."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.ts = lambda t: None if t is None else datetime.fromtimestamp(t, UTC).replace(tzinfo=None).isoformat(
                " ", "microseconds")
            self.date = lambda d: None if d is None else d.isoformat()
            self.bool = int
        else:
            self.ts = lambda t: None if t is None else datetime.fromtimestamp(t, UTC)
            self.date = lambda d: d
            self.bool = bool

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)


def _cumulative(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


class RowMaker:
    """Makes the rows of one request at a time, in id order (ids follow created_at)."""

    def __init__(self, plan: Plan, rng: random.Random, fmt: Formats, now: float) -> None:
        self.plan = plan
        self.rng = rng
        self.fmt = fmt
        self.now = now
        self.history_id = 0
        self.stage_id = 0
        self.task_id = 0
        self.counters: dict[tuple[int, int], int] = {}
        self.item_cum = _cumulative([1 / (i + 1) ** 1.0 for i in range(len(vocab.ITEMS))])
        self.action_cum = _cumulative([1 / (i + 1) ** 0.8 for i in range(len(vocab.ACTIONS))])
        self.qual_cum = _cumulative([1 / (i + 1) ** 0.5 for i in range(len(vocab.QUALIFIERS))])
        self.init_cum = _cumulative(plan.initiator_weights)
        self.entity_cum = _cumulative([w for _, _, w in plan.entities])
        self.type_codes = [c for c, _ in TYPE_WEIGHTS]
        self.type_cum = _cumulative([w for _, w in TYPE_WEIGHTS])
        by_inn = {c.inn: c for c in plan.contractors}
        self.salary_bank = by_inn["7707083893"]
        self.tax_payees = [by_inn["7707329152"], by_inn["7703363868"]]
        self.landlords = [by_inn["7705031674"]] + plan.contractors[4:24]
        pool = [c for c in plan.contractors[24:]]
        self.suppliers = [c for c in pool if c.kpp]
        self.sole_traders = [c for c in pool if not c.kpp]
        self.supplier_cum = _cumulative([1 / (i + 1) ** 0.8 for i in range(len(self.suppliers))])
        self.trader_cum = _cumulative([1 / (i + 1) ** 0.6 for i in range(len(self.sole_traders))])

    def _pick(self, seq, cum):
        return seq[bisect.bisect_right(cum, self.rng.random() * cum[-1])]

    def _contractor(self, code: str) -> Contractor:
        rng = self.rng
        if code == "salary":
            return self.salary_bank
        if code == "taxes":
            return self.tax_payees[0] if rng.random() < 0.7 else self.tax_payees[1]
        if code == "rent":
            return rng.choice(self.landlords)
        if code == "refund" or (code == "household" and rng.random() < 0.4):
            return self._pick(self.sole_traders, self.trader_cum)
        return self._pick(self.suppliers, self.supplier_cum)

    def _amount(self, code: str) -> int:
        mu = {"salary": math.log(150_000_000), "taxes": math.log(20_000_000), "rent": math.log(25_000_000)}.get(
            code, math.log(3_000_000))
        value = int(self.rng.lognormvariate(mu, 1.3))
        value = max(10_000, min(value, 50_000_000_000))
        return value - value % 100 if self.rng.random() < 0.7 else value

    def _texts(self, code: str, invoice: str, invoice_date: date | None) -> tuple[str, str]:
        rng = self.rng
        if code == "salary":
            month = rng.choice(vocab.QUALIFIERS[7:19])
            return f"Заработная плата {month}", f"Перечисление заработной платы {month} по реестру, НДС не облагается"
        if code == "taxes":
            tax = rng.choice(("НДС", "НДФЛ", "налог на прибыль", "страховые взносы", "налог на имущество"))
            period = rng.choice(vocab.QUALIFIERS[7:20])
            return f"Уплата: {tax} {period}", f"Единый налоговый платёж ({tax}) {period}"
        action = self._pick(vocab.ACTIONS, self.action_cum)
        words = [self._pick(vocab.ITEMS, self.item_cum) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        if code == "rent":
            action, words = "Аренда", ["помещения", rng.choice(("офиса", "склада", "парковки"))]
        subject = f"{action} {' '.join(words)}"
        if rng.random() < 0.6:
            subject += " " + self._pick(vocab.QUALIFIERS, self.qual_cum)
        basis = f"по счёту № {invoice} от {invoice_date:%d.%m.%Y}" if invoice else "по договору"
        purpose = f"Оплата {basis} за {' '.join(words)}"
        if rng.random() < 0.5:
            purpose += ", " + self._pick(vocab.ITEMS, self.item_cum)
        purpose = f"{purpose}, {rng.choice(vocab.VAT)}"[:210]
        return subject[:500], purpose

    def request(self, request_id: int, created: float, status: str) -> dict[str, list[tuple]]:
        rng, fmt, plan = self.rng, self.fmt, self.plan
        code = self._pick(self.type_codes, self.type_cum)
        initiator = self._pick(plan.initiators, self.init_cum)
        entity_id, short, _ = self._pick(plan.entities, self.entity_cum)
        contractor = self._contractor(code)
        amount = self._amount(code)
        currency = "RUB" if code != "supplier" or rng.random() < 0.96 else rng.choice(("USD", "EUR", "CNY", "CNY"))
        created_local = datetime.fromtimestamp(created, UTC) + MSK
        year = created_local.year
        seq = self.counters.get((entity_id, year), 0) + 1
        self.counters[(entity_id, year)] = seq
        number = f"{short}-{year % 100:02d}-{seq:05d}"
        pay_by = created_local.date() + timedelta(days=rng.choice((0, 1, 2, 3, 5, 7, 7, 10, 14, 14, 20, 30)))
        if code in ("supplier", "household", "rent") and rng.random() < 0.85:
            invoice = str(rng.randint(1, 9999)) if rng.random() < 0.7 else f"СЧ-{rng.randint(1, 99999):05d}"
            invoice_date = created_local.date() - timedelta(days=rng.randint(0, 10))
        else:
            invoice, invoice_date = "", None
        subject, purpose = self._texts(code, invoice, invoice_date)
        band = 2 if amount >= 10_000_000 else 1 if amount >= 5_000_000 else 0
        route = plan.routes[(initiator.id, code, band)]
        ns = SimpleNamespace(number=number, subject=subject, purpose=purpose, contractor_name=contractor.name,
                             contractor_inn=contractor.inn, invoice_number=invoice, amount=amount, currency=currency,
                             contractor_kpp=contractor.kpp, bik=contractor.bik, account=contractor.account,
                             corr_account=contractor.corr_account)

        history: list[tuple] = []
        stages: list[tuple] = []
        tasks: list[tuple] = []
        t = created
        now = self.now

        def step(lo_min: float, hi_min: float) -> float:
            nonlocal t
            t = min(t + rng.uniform(lo_min, hi_min) * 60, now - rng.uniform(1, 60))
            t = max(t, created)
            return t

        def event(action: str, actor: int, source: str | None, target: str, stage: int | None, rnd: int,
                  comment: str = "", details: dict | None = None) -> None:
            self.history_id += 1
            history.append((self.history_id, request_id, fmt.ts(t), action, actor, plan.people[actor], None,
                            source, target, stage, rnd, comment, fmt.json(details or {})))

        who = initiator.id
        event("create", who, None, "draft", None, 0)
        updates = rng.randint(1, 4) if status == "draft" else (1 if rng.random() < 0.3 else 0)
        for _ in range(updates):
            step(2, 600)
            event("update", who, "draft", "draft", None, 0,
                  details={"changes": {"purpose": ["…", "…"]}})
        submitted_at = approved_at = paid_at = closed_at = None
        paid_on = None
        current_stage = None
        rnd = 0
        fingerprint = ""
        final = status
        from_draft_cancel = status == "cancelled" and rng.random() < 0.5
        if status == "draft":
            pass
        elif from_draft_cancel:
            step(10, 3000)
            event("cancel", who, "draft", "cancelled", None, 0)
        else:
            rnd = 1
            fingerprint = hashlib.sha256("|".join(str(getattr(ns, f) or "") for f in MATERIAL_FIELDS).encode()).hexdigest()
            step(1, 240)
            submitted_at = t
            live = [i for i, s in enumerate(route) if not s.skipped_because_initiator]
            if not live and final in ("pending", "returned", "rejected", "cancelled"):
                final = "approved"  # a route passed through entirely: approved at submit
            stop = {"pending": 1, "returned": 1, "rejected": 1, "cancelled": 1}.get(status, 0)
            stop_at = rng.choice(live) if stop and live else None
            # Stage rows, their status decided by where the request stands.
            stage_ids = []
            for s in route:
                self.stage_id += 1
                stage_ids.append(self.stage_id)
            first_live = live[0] if live else None
            event("submit", who, "draft", "pending" if first_live is not None else "approved",
                  route[first_live].position if first_live is not None else None, rnd,
                  details={"flags": [], "route": [{"stage": s.position, "name": s.name, "approvers": s.approver_ids}
                                                   for s in route]})
            stage_rows: list[list] = []
            task_rows: list[list] = []
            ended = False
            for index, s in enumerate(route):
                sid = stage_ids[index]
                row = [sid, request_id, rnd, s.position, s.name, s.mode, s.required_count, s.sla_hours,
                       "waiting", None, None, s.reason]
                stage_tasks = [[None, sid, request_id, a, a, None, "waiting", None, None, "", submitted_at]
                               for a in s.approver_ids]
                stage_rows.append(row)
                task_rows.extend(stage_tasks)
                if s.skipped_because_initiator:
                    row[8], row[10] = "approved", submitted_at
                    for task in stage_tasks:
                        task[6], task[7], task[8], task[9] = "approved", task[3], submitted_at, "auto: initiator"
                    continue
                if ended:
                    if final in ("rejected", "cancelled"):
                        row[8] = "void"
                        for task in stage_tasks:
                            task[6] = "void"
                    continue
                row[8], row[9] = "active", t
                for task in stage_tasks:
                    task[6] = "pending"
                needed = len(stage_tasks) if s.mode == "all" else max(1, s.required_count)
                if index == stop_at:
                    current_stage = s.position
                    ended = True
                    if final == "pending":
                        continue
                    if final == "cancelled":
                        step(30, 4000)
                        row[8], row[10] = "void", t
                        for task in stage_tasks:
                            task[6] = "void"
                        event("cancel", who, "pending", "cancelled", None, rnd)  # the engine logs the stage after: none
                        current_stage = None
                        continue
                    step(30, 2880)
                    verdict = "returned" if final == "returned" else "rejected"
                    decider = stage_tasks[0]
                    comment = rng.choice(RETURN_COMMENTS if verdict == "returned" else REJECT_COMMENTS)
                    decider[6], decider[7], decider[8], decider[9] = verdict, decider[3], t, comment
                    row[8], row[10] = verdict, t
                    for task in stage_tasks[1:]:
                        task[6] = "void"
                    event("return" if verdict == "returned" else "reject", decider[3], "pending", verdict,
                          s.position, rnd, comment=comment)
                    if verdict == "rejected":
                        current_stage = None
                    continue
                for task in stage_tasks[:needed]:
                    step(10, 2880)
                    task[6], task[7], task[8] = "approved", task[3], t
                    last = index == live[-1] and task is stage_tasks[needed - 1]
                    event("approve", task[3], "pending", "approved" if last else "pending", s.position, rnd)
                for task in stage_tasks[needed:]:
                    task[6] = "void"
                row[8], row[10] = "approved", t
            if not ended:
                approved_at = t
                current_stage = None
                if final in ("paid", "closed"):
                    due = datetime.combine(pay_by, datetime.min.time(), UTC).timestamp() + 7 * 3600  # 10:00 MSK
                    t = max(t + 600, min(due + rng.uniform(-2, 1) * DAY, now - 60))
                    paid_at = t
                    paid_on = (datetime.fromtimestamp(t, UTC) + MSK).date()
                    accountant = rng.choice(plan.accountants).id
                    event("mark_paid", accountant, "approved", "paid", None, rnd,
                          details={"paid_on": paid_on.isoformat()})
                    if final == "closed":
                        step(60 * 24, 60 * 24 * 45)
                        closed_at = t
                        event("close", accountant, "paid", "closed", None, rnd)
            for row in stage_rows:
                row[9], row[10] = fmt.ts(row[9]), fmt.ts(row[10])
                stages.append(tuple(row))
            for task in task_rows:
                self.task_id += 1
                task[0] = self.task_id
                task[8], task[10] = fmt.ts(task[8]), fmt.ts(task[10])
                tasks.append(tuple(task))
        derived = derive_search_fields(ns)
        pr = (
            request_id, number, 1 + len(history), final, current_stage, rnd, fingerprint, entity_id,
            plan.types[code], initiator.department_id, None, initiator.id, subject, contractor.id,
            contractor.name, contractor.inn, contractor.kpp, contractor.bank_name, contractor.bik,
            contractor.account, contractor.corr_account, amount, currency, fmt.date(pay_by), purpose, invoice,
            fmt.date(invoice_date), fmt.bool(code == "supplier" and rng.random() < 0.1), None, "[]",
            fmt.date(paid_on), fmt.ts(created), fmt.ts(t), fmt.ts(submitted_at), fmt.ts(approved_at),
            fmt.ts(paid_at), fmt.ts(closed_at), *[derived[k] for k in DERIVED],
        )
        return {"payment_requests": [pr], "history_events": history, "request_stages": stages,
                "approval_tasks": tasks}


def timeline(rng: random.Random, rows: int, now: float) -> list[tuple[float, str]]:
    """(created_at, status) for every request, sorted by created_at so ids follow time."""
    statuses = [s for s, _ in STATUS_WEIGHTS]
    cum = _cumulative([w for _, w in STATUS_WEIGHTS])
    result = []
    for _ in range(rows):
        status = statuses[bisect.bisect_right(cum, rng.random() * cum[-1])]
        if status in ("draft", "pending", "approved", "returned"):
            age = min(rng.expovariate(1 / 40), 729.0)  # open requests are mostly recent
        elif status in ("paid",):
            age = rng.uniform(0.2, 730.0)
        else:
            age = rng.uniform(1.0, 730.0)
        result.append((now - age * DAY - rng.uniform(0, 3600), status))
    result.sort()
    return result


def batches(plan: Plan, fmt: Formats, rows: int, seed: int, batch: int, counters: dict[tuple[int, int], int]):
    """The rows of ``batch`` requests at a time; fills ``counters`` with the last number per (entity, year)."""
    rng = random.Random(seed)
    now = time.time()
    maker = RowMaker(plan, rng, fmt, now)
    items = timeline(rng, rows, now)
    for start in range(0, rows, batch):
        out: dict[str, list[tuple]] = {t: [] for t in BIG_TABLES}
        for offset, (created, status) in enumerate(items[start:start + batch]):
            made = maker.request(start + offset + 1, created, status)
            for table, table_rows in made.items():
                out[table].extend(table_rows)
        yield out
    counters.update(maker.counters)


# --- loaders ------------------------------------------------------------------------------------

class Adapter:
    """Maps the generated tuples onto the table as migrated today: the core may add a column
    the generator does not know; it gets the model's scalar default (reported), else NULL."""

    def __init__(self, actual: dict[str, list[str]], fmt: Formats) -> None:
        self.columns: dict[str, list[str]] = {}
        self.getters: dict[str, Any] = {}
        self.filled: dict[str, list[str]] = {}
        for table, mine in COLUMNS.items():
            have = actual[table]
            if set(have) == set(mine):
                self.columns[table], self.getters[table] = list(mine), None
                continue
            index = {c: i for i, c in enumerate(mine)}
            parts = []
            for column in have:
                if column in index:
                    parts.append(("col", index[column]))
                else:
                    default = MODELS[table].__table__.c[column].default if column in MODELS[table].__table__.c else None
                    value = default.arg if default is not None and default.is_scalar else None
                    if isinstance(value, bool):
                        value = fmt.bool(value)
                    parts.append(("const", value))
                    self.filled.setdefault(table, []).append(column)
            self.columns[table] = list(have)
            self.getters[table] = lambda row, parts=parts: tuple(row[v] if k == "col" else v for k, v in parts)
        if self.filled:
            print(f"  note: columns unknown to the generator, filled with defaults: {self.filled}")

    def rows(self, table: str, rows: list[tuple]) -> list[tuple]:
        getter = self.getters[table]
        return rows if getter is None else [getter(r) for r in rows]


def load_sqlite(path: Path, plan: Plan, rows: int, seed: int, batch: int,
                counters: dict[tuple[int, int], int]) -> tuple[dict[str, int], dict]:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    con.execute("PRAGMA temp_store=MEMORY")
    placeholders = ", ".join(["?"] * len(BIG_TABLES))
    ddl_before = _sqlite_ddl(con)
    indexes = con.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN ({placeholders})",
        BIG_TABLES).fetchall()
    triggers = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND name LIKE 'payment_requests_fts_%'").fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    for name, _ in triggers:
        con.execute(f'DROP TRIGGER "{name}"')
    fmt = Formats("sqlite")
    adapter = Adapter({t: [r[1] for r in con.execute(f"PRAGMA table_info({t})")] for t in BIG_TABLES}, fmt)
    statements = {t: f"INSERT INTO {t} ({', '.join(c)}) VALUES ({', '.join(['?'] * len(c))})"
                  for t, c in adapter.columns.items()}
    counts = dict.fromkeys(BIG_TABLES, 0)
    t0 = time.perf_counter()
    for number, chunk in enumerate(batches(plan, fmt, rows, seed, batch, counters), start=1):
        con.execute("BEGIN")
        for table in BIG_TABLES:
            con.executemany(statements[table], adapter.rows(table, chunk[table]))
            counts[table] += len(chunk[table])
        con.execute("COMMIT")
        _progress(counts, t0)
    timings = {"insert_s": time.perf_counter() - t0}
    t1 = time.perf_counter()
    for _, sql in indexes:
        con.execute(sql)
    timings["indexes_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    con.execute("INSERT INTO payment_requests_fts(payment_requests_fts) VALUES('rebuild')")
    for _, sql in triggers:
        con.execute(sql)
    timings["fts_rebuild_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    con.execute("ANALYZE")
    timings["analyze_s"] = time.perf_counter() - t1
    ddl_after = _sqlite_ddl(con)
    if ddl_after != ddl_before:
        raise RuntimeError("schema differs from the migrated one after the bulk load")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    return counts, timings


def _sqlite_ddl(con: sqlite3.Connection) -> list[tuple]:
    return sorted(con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN "
                              "('index', 'trigger', 'table') AND name NOT LIKE 'sqlite_stat%'").fetchall(),
                  key=lambda r: (r[0], r[1]))


async def load_postgresql(url: str, plan: Plan, rows: int, seed: int, batch: int,
                          counters: dict[tuple[int, int], int]) -> tuple[dict[str, int], dict]:
    import asyncpg

    con = await asyncpg.connect(pg_dsn(url))
    try:
        ddl_before = await _pg_ddl(con)
        indexes = await con.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY($1) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)", list(BIG_TABLES))
        for record in indexes:
            await con.execute(f'DROP INDEX "{record["indexname"]}"')
        # The rows are consistent by construction; skipping the FK triggers during the load is
        # what pg_restore does too. The constraints stay in the schema.
        await con.execute("SET session_replication_role = replica")
        counts = dict.fromkeys(BIG_TABLES, 0)
        fmt = Formats("postgresql")
        actual = {}
        for table in BIG_TABLES:
            actual[table] = [r["column_name"] for r in await con.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 "
                # Generated columns (search_tsv) are computed by the server: never in a COPY.
                "AND is_generated = 'NEVER' ORDER BY ordinal_position", table)]
        adapter = Adapter(actual, fmt)
        t0 = time.perf_counter()
        for chunk in batches(plan, fmt, rows, seed, batch, counters):
            async with con.transaction():
                for table in BIG_TABLES:
                    await con.copy_records_to_table(table, records=adapter.rows(table, chunk[table]),
                                                    columns=adapter.columns[table])
                    counts[table] += len(chunk[table])
            _progress(counts, t0)
        await con.execute("SET session_replication_role = origin")
        timings = {"insert_s": time.perf_counter() - t0}
        t1 = time.perf_counter()
        await con.execute("SET maintenance_work_mem = '1GB'")
        for record in indexes:
            await con.execute(record["indexdef"])
        timings["indexes_s"] = time.perf_counter() - t1
        for table in BIG_TABLES:
            await con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        t1 = time.perf_counter()
        # A long-lived database has been vacuumed (visibility map set) and analysed by autovacuum.
        for table in BIG_TABLES:
            await con.execute(f"VACUUM (ANALYZE) {table}")
        await con.execute("ANALYZE")
        timings["analyze_s"] = time.perf_counter() - t1
        if await _pg_ddl(con) != ddl_before:
            raise RuntimeError("schema differs from the migrated one after the bulk load")
        return counts, timings
    finally:
        await con.close()


async def _pg_ddl(con) -> list[tuple]:
    rows = await con.fetch("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                           "ORDER BY 1, 2")
    triggers = await con.fetch("SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")
    return [tuple(r) for r in rows] + [tuple(r) for r in triggers]


def _progress(counts: dict[str, int], t0: float) -> None:
    done = counts["payment_requests"]
    elapsed = time.perf_counter() - t0
    print(f"\r  {done:>9,} requests, {sum(counts.values()):>10,} rows, {elapsed:6.1f} s, "
          f"{done / elapsed:,.0f} requests/s", end="", flush=True)


# --- the database -------------------------------------------------------------------------------

async def recreate_postgresql(dbname: str) -> None:
    import asyncpg

    con = await asyncpg.connect(pg_dsn(PG_SERVER))
    try:
        await con.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        await con.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        await con.close()


def recreate_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            candidate.unlink()


def generate(kind: str, rows: int, seed: int, contractors: int, batch: int) -> dict[str, Any]:
    print(f"[{kind}] creating and migrating the database")
    if kind == "sqlite":
        recreate_sqlite(SQLITE_PATH)
        url = sqlite_url()
    else:
        asyncio.run(recreate_postgresql(PG_DBNAME))
        url = pg_url()
    upgrade(url)
    t0 = time.perf_counter()
    plan = asyncio.run(build_org(url, random.Random(seed), contractors))
    org_s = time.perf_counter() - t0
    print(f"[{kind}] org: {len(plan.initiators)} initiators, {len(plan.contractors)} contractors, "
          f"{len(plan.routes)} routes resolved in {org_s:.1f} s")
    t0 = time.perf_counter()
    counters: dict[tuple[int, int], int] = {}
    if kind == "sqlite":
        counts, timings = load_sqlite(SQLITE_PATH, plan, rows, seed, batch, counters)
    else:
        counts, timings = asyncio.run(load_postgresql(url, plan, rows, seed, batch, counters))
    print()
    asyncio.run(save_counters(url, counters))
    total_s = time.perf_counter() - t0
    total_rows = sum(counts.values())
    result = {
        "db": kind, "requests": counts["payment_requests"], "rows": counts, "total_rows": total_rows,
        "org_s": round(org_s, 1), **{k: round(v, 1) for k, v in timings.items()}, "total_s": round(total_s, 1),
        "requests_per_s": round(counts["payment_requests"] / timings["insert_s"]),
        "rows_per_s": round(total_rows / timings["insert_s"]),
    }
    if kind == "sqlite":
        result["file_mb"] = round(os.path.getsize(SQLITE_PATH) / 2**20)
    print(f"[{kind}] {counts['payment_requests']:,} requests, {total_rows:,} rows "
          f"({', '.join(f'{t} {n:,}' for t, n in counts.items())})")
    print(f"[{kind}] insert {timings['insert_s']:.1f} s = {result['rows_per_s']:,} rows/s "
          f"({result['requests_per_s']:,} requests/s); indexes {timings['indexes_s']:.1f} s; "
          f"{'FTS rebuild %.1f s; ' % timings['fts_rebuild_s'] if 'fts_rebuild_s' in timings else ''}"
          f"analyze {timings['analyze_s']:.1f} s; total {total_s:.1f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--contractors", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=20_000, help="requests per transaction")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for kind in kinds(args.db):
        result = generate(kind, args.rows, args.seed, args.contractors, args.batch)
        (RESULTS / f"generate-{kind}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
