"""Route resolution by rule: who approves, and which stages apply."""

from __future__ import annotations

import pytest

from backend.errors import InvalidInput
from backend.models import Employee, PaymentRequest, RouteStage
from backend.workflows.routing import (
    Directory, RouteContext, resolve_approvers, resolve_route, stage_applies, validate_conditions, validate_rule,
)
from tests.factories import setup_company


def stage(**kw) -> RouteStage:
    kw.setdefault("name", "S")
    kw.setdefault("approvers", {"kind": "role", "role": "cfo"})
    kw.setdefault("mode", "any")
    kw.setdefault("required_count", 1)
    kw.setdefault("conditions", {})
    kw.setdefault("sla_hours", 24)
    return RouteStage(position=1, **kw)


def request(**kw) -> PaymentRequest:
    values = dict(amount=100_00, currency="RUB", legal_entity_id=1, department_id=1, is_prepayment=False)
    values.update(kw)
    return PaymentRequest(**values)


class TestConditions:
    @pytest.mark.parametrize("conditions, req, ctx, applies", [
        ({"amount_gte": 100_000_00}, {"amount": 100_000_00}, {}, True),
        ({"amount_gte": 100_000_00}, {"amount": 99_999_99}, {}, False),
        ({"amount_lt": 100_000_00}, {"amount": 100_000_00}, {}, False),
        ({"currencies": ["USD", "EUR"]}, {"currency": "RUB"}, {}, False),
        ({"legal_entity_ids": [2]}, {"legal_entity_id": 2}, {}, True),
        ({"department_ids": [5]}, {"department_id": 1}, {}, False),
        ({"over_budget": True}, {}, {"over_budget": True}, True),
        ({"over_budget": True}, {}, {}, False),
        ({"prepayment": True}, {"is_prepayment": True}, {}, True),
        ({"amount_gte": 1, "currencies": ["RUB"]}, {}, {}, True),
    ])
    def test_stage_applies_only_when_every_condition_holds(self, conditions, req, ctx, applies):
        assert stage_applies(stage(conditions=conditions), request(**req), "supplier", RouteContext(**ctx)) is applies

    def test_unknown_condition_and_rule_are_named(self):
        with pytest.raises(InvalidInput) as error:
            validate_conditions({"amount_over": 5})
        assert error.value.code == "route.condition_unknown"
        with pytest.raises(InvalidInput) as error:
            validate_rule({"kind": "boss"})
        assert error.value.field == "approvers.kind"


class TestRules:
    async def test_each_rule_names_the_right_people(self, db):
        company = await setup_company(db)
        p = company.people
        async with db.session() as session:
            directory = Directory(session)
            manager = await session.get(Employee, p["manager"].id)
            north = company.departments["north"].id

            async def ids(rule):
                return await resolve_approvers(directory, rule, manager, north)

            assert await ids({"kind": "department_head"}) == [p["north_head"].id]
            assert await ids({"kind": "head_of", "department": "sales"}) == [p["head"].id]
            assert await ids({"kind": "role", "role": "accountant"}) == [p["accountant"].id, p["accountant2"].id]
            assert await ids({"kind": "manager_chain", "levels": 3}) == [
                p["north_head"].id, p["head"].id, p["director"].id]
            assert await ids({"kind": "people", "employee_ids": [p["cfo"].id, p["cfo"].id]}) == [p["cfo"].id]

    async def test_away_head_falls_to_the_deputy_then_up_the_tree(self, db):
        company = await setup_company(db)
        p = company.people
        async with db.session() as session:
            (await session.get(Employee, p["head"].id)).active = False
            await session.flush()
            initiator = await session.get(Employee, p["north_head"].id)
            found = await resolve_approvers(Directory(session), {"kind": "department_head"}, initiator,
                                            company.departments["north"].id)
            assert found == [p["deputy"].id]  # the north head is the initiator: their head's deputy decides

    async def test_n_of_m_never_asks_for_more_than_there_are(self, db):
        company = await setup_company(db)
        async with db.session() as session:
            initiator = await session.get(Employee, company.people["manager"].id)
            resolved = await resolve_route(
                session, [stage(name="Двое из бухгалтерии", mode="n_of_m", required_count=5,
                                approvers={"kind": "role", "role": "accountant"})],
                request(department_id=company.departments["north"].id), "supplier", initiator, RouteContext())
            assert resolved[0].required_count == 2

    async def test_stage_whose_only_approver_is_the_initiator_passes_through(self, db):
        company = await setup_company(db)
        async with db.session() as session:
            cfo = await session.get(Employee, company.people["cfo"].id)
            resolved = await resolve_route(
                session, [stage(name="ФД")], request(department_id=company.departments["management"].id),
                "supplier", cfo, RouteContext())
            assert resolved[0].skipped_because_initiator is True
