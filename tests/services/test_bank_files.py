"""Bank files: which approved requests go to the bank and from which account; which requests a
statement marks paid, and why the others were not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from backend.errors import Forbidden, InvalidInput, ValidationFailed
from backend.integrations.bank.clientbank import parse
from backend.models import BankAccount, HistoryEvent, OutboxMessage, PaymentRequest
from backend.services import bank_files
from backend.services.bank_files import export_payment_orders, import_statement, order_number
from backend.services.payment_requests import act
from backend.services.registry import RegistryQuery
from backend.services.transactions import in_transaction
from backend.workflows.lifecycle import Action
from tests.bank_helpers import (
    CONTRACTOR_INN, approved_request, give_accounts, incoming, load, payment, statement,
)
from tests.factories import inn, new_request, setup_company, today


async def export(db, company, who="accountant", bank_account_id=None, **filters):
    return await in_transaction(db, lambda s: export_payment_orders(s, company.actor(who), RegistryQuery(**filters),
                                                                    bank_account_id))


async def import_(db, company, data, who="accountant"):
    return await in_transaction(db, lambda s: import_statement(s, company.actor(who), data))


async def mark_paid_events(db, request_id) -> list[HistoryEvent]:
    async with db.session() as session:
        return list(await session.scalars(select(HistoryEvent).where(
            HistoryEvent.request_id == request_id, HistoryEvent.action == "mark_paid")))


def test_the_order_number_is_the_request_numbers_tail():
    assert order_number("МГ-26-00042") == 42
    assert order_number("РМ-26-00001") == 1
    assert order_number("ROM-27-1234567") == 234567  # a bank takes six digits


class TestExport:
    async def test_approved_requests_of_the_entity_as_payment_orders(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        first = await approved_request(db, company, amount="15000.50")
        second = await approved_request(db, company, amount="0.01", contractor_inn=inn(501),
                                        contractor_name="ИП Сидоров", contractor_kpp=None,
                                        purpose="Доставка, НДС не облагается", pay_by=today())
        await new_request(db, company)  # a draft: not for the bank
        paid = await approved_request(db, company, amount="99.00")
        await in_transaction(db, lambda s: act(s, company.actor("accountant"), paid, Action.MARK_PAID))

        bank_file = await export(db, company)
        numbers = [(await load(db, i)).number for i in (second, first)]  # the sooner due first
        assert (bank_file.count, bank_file.total, bank_file.numbers) == (2, 15_000_51, numbers)
        assert bank_file.filename == f"1c_to_kl-{today().isoformat()}.txt" and bank_file.without_vat == []
        assert (bank_file.legal_entity, bank_file.account) == ("ООО «Ромашка»", accounts.main)

        read = parse(bank_file.content)
        assert read.accounts == [accounts.main] and read.start == read.end == today()
        assert [d.number for d in read.documents] == [str(order_number(n)) for n in numbers]
        orders = {d.amount: d for d in read.documents}
        order = orders[15_000_50]
        assert order.date == today() and order.kind == "Платежное поручение"
        assert (order.payer.name, order.payer.inn, order.payer.kpp, order.payer.account, order.payer.bik,
                order.payer.corr_account, order.payer.bank_name) == (
            "ООО «Ромашка»", company.legal_entity.inn, "770101001", accounts.main, "044525225",
            "30101810400000000225", "ПАО СБЕРБАНК")
        request = await load(db, first)
        assert (order.recipient.name, order.recipient.inn, order.recipient.kpp, order.recipient.account,
                order.recipient.bik, order.recipient.corr_account) == (
            "ООО «Поставщик»", CONTRACTOR_INN, "770201001", request.account, request.bik, request.corr_account)
        assert order.purpose == request.purpose
        assert (order.fields["ВидОплаты"], order.fields["Очередность"]) == ("01", "5")
        assert orders[1].recipient.kpp == "" and orders[1].amount == 1

    async def test_exporting_again_gives_the_same_orders(self, db):
        company = await setup_company(db)
        await give_accounts(db, company)
        await approved_request(db, company)
        first, again = await export(db, company), await export(db, company)
        assert parse(first.content).documents == parse(again.content).documents

    async def test_only_accounting_exports(self, db):
        company = await setup_company(db)
        await give_accounts(db, company)
        await approved_request(db, company)
        for who in ("manager", "cfo", "director"):
            with pytest.raises(Forbidden) as error:
                await export(db, company, who)
            assert error.value.code == "forbidden.not_accountant"
        assert (await export(db, company, "admin")).count == 1

    async def test_several_legal_entities_are_named_and_one_is_chosen(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        ours = await approved_request(db, company)
        theirs = await approved_request(db, company, legal_entity_id=accounts.other_entity_id, amount="700.00")
        with pytest.raises(InvalidInput) as error:
            await export(db, company)
        assert (error.value.code, error.value.field) == ("bank_export.several_entities", "legal_entity_id")
        assert "ООО «Ромашка»" in error.value.message("ru") and "ООО «Лютик»" in error.value.message("ru")

        choices = await in_transaction(db, lambda s: bank_files.exportable_entities(
            s, company.actor("accountant"), RegistryQuery()))
        assert [(c.name, c.count, c.total) for c in choices] == [("ООО «Лютик»", 1, 700_00),
                                                                 ("ООО «Ромашка»", 1, 15_000_00)]
        lyutik = await export(db, company, legal_entity_id=accounts.other_entity_id)
        assert (lyutik.numbers, lyutik.account) == ([(await load(db, theirs)).number], accounts.other)
        assert (await export(db, company, legal_entity_id=company.legal_entity.id)).numbers == [
            (await load(db, ours)).number]

    async def test_the_payer_account_is_the_default_or_one_of_the_entitys(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        await approved_request(db, company)
        assert (await export(db, company, bank_account_id=accounts.spare_id)).account == accounts.spare
        with pytest.raises(InvalidInput) as error:
            await export(db, company, bank_account_id=accounts.other_id)
        assert (error.value.code, error.value.field) == ("bank_export.account_not_of_entity", "bank_account_id")

    async def test_an_entity_without_a_usable_account(self, db):
        company = await setup_company(db)
        await approved_request(db, company)
        with pytest.raises(InvalidInput) as error:
            await export(db, company)
        assert error.value.code == "bank_export.no_account" and "ООО «Ромашка»" in error.value.message("ru")
        accounts = await give_accounts(db, company)
        async with db.session() as session:  # two accounts, neither the default
            await session.execute(update(BankAccount).values(is_default=False))
            await session.commit()
        with pytest.raises(InvalidInput) as error:
            await export(db, company)
        assert error.value.code == "bank_export.no_default_account" and accounts.spare in error.value.message("ru")

    async def test_requests_missing_bank_requisites_are_listed_not_dropped(self, db):
        company = await setup_company(db)
        await give_accounts(db, company)
        good = await approved_request(db, company)
        broken = await approved_request(db, company, amount="500.00")
        async with db.session() as session:  # as a request brought in from elsewhere might be
            await session.execute(update(PaymentRequest).where(PaymentRequest.id == broken).values(account="", bik=""))
            await session.commit()
        with pytest.raises(ValidationFailed) as error:
            await export(db, company)
        number = (await load(db, broken)).number
        assert {(e.code, e.field, e.params["number"]) for e in error.value.errors} == {
            ("bank_export.requisite_missing", "account", number), ("bank_export.requisite_missing", "bik", number)}
        assert "Расчётный счёт" in error.value.errors[0].message("ru") or "БИК" in error.value.errors[0].message("ru")
        assert good

    async def test_foreign_currency_is_refused(self, db):
        company = await setup_company(db)
        await give_accounts(db, company)
        await approved_request(db, company)
        dollars = await approved_request(db, company, currency="USD", amount="100.00")
        with pytest.raises(InvalidInput) as error:
            await export(db, company)
        assert error.value.code == "bank_export.currency"
        assert (await load(db, dollars)).number in error.value.message("en")
        assert (await export(db, company, currency="RUB")).count == 1

    async def test_nothing_approved_is_an_error_not_an_empty_file(self, db):
        company = await setup_company(db)
        await give_accounts(db, company)
        await new_request(db, company)
        with pytest.raises(InvalidInput) as error:
            await export(db, company)
        assert error.value.code == "bank_export.nothing"

    async def test_filters_select_and_the_status_is_always_approved(self, db):
        company = await setup_company(db)
        await give_accounts(db, company)
        soon = await approved_request(db, company, pay_by=today())
        await approved_request(db, company, pay_by=today() + timedelta(days=20), amount="300.00")
        bank_file = await export(db, company, pay_by_to=today() + timedelta(days=1), status=["paid"])
        assert bank_file.numbers == [(await load(db, soon)).number]
        no_vat = await approved_request(db, company, purpose="Оплата по счёту № 9", amount="10.00")
        assert (await load(db, no_vat)).number in (await export(db, company)).without_vat


class TestImport:
    async def test_a_unique_match_is_marked_paid_and_the_initiator_told(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        yesterday = today() - timedelta(days=1)
        data = statement(payment(payer_account=accounts.main, paid_on=yesterday, on=yesterday - timedelta(days=1)),
                         incoming(to_account=accounts.main),
                         payment(payer_account="40702810000000000999", number="5"))  # someone else's account

        result = await import_(db, company, data)
        assert [(m.request_id, m.paid_on, m.by) for m in result.matched] == [(request_id, yesterday, "amount_inn")]
        assert [i.reason for i in result.ignored] == ["incoming", "not_ours"]
        assert result.unknown_accounts == ["40702810000000000999"]  # a statement of an account nobody added
        assert result.unmatched == [] and result.already_paid == []
        request = await load(db, request_id)
        assert (request.status, request.paid_on) == ("paid", yesterday)
        events = await mark_paid_events(db, request_id)
        assert [(e.actor_id, e.details["paid_on"]) for e in events] == [(company.people["accountant"].id,
                                                                        yesterday.isoformat())]
        async with db.session() as session:
            notices = [m.payload for m in await session.scalars(select(OutboxMessage).where(
                OutboxMessage.topic == "notify")) if m.payload.get("event") == "paid"]
        assert [(n["recipient_id"], n["request_id"]) for n in notices] == [(company.people["manager"].id, request_id)]

    async def test_without_a_debit_date_the_documents_date_is_the_payment_date(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        two_days_ago = today() - timedelta(days=2)
        result = await import_(db, company, statement(payment(payer_account=accounts.spare, on=two_days_ago)))
        assert [m.paid_on for m in result.matched] == [two_days_ago]
        assert (await load(db, request_id)).paid_on == two_days_ago

    async def test_importing_the_same_statement_again_changes_nothing(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        data = statement(payment(payer_account=accounts.main, paid_on=today()))
        assert len((await import_(db, company, data)).matched) == 1
        await approved_request(db, company, purpose="Совсем другое, НДС не облагается")  # a new one, same sum and INN

        again = await import_(db, company, data)
        assert again.matched == [] and again.unmatched == []
        assert [(a.request_id, a.paid_on) for a in again.already_paid] == [(request_id, today())]
        assert len(await mark_paid_events(db, request_id)) == 1

    async def test_several_candidates_are_listed_and_none_is_paid(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        ids = [await approved_request(db, company) for _ in range(2)]  # the same sum, INN and purpose
        result = await import_(db, company, statement(payment(payer_account=accounts.main, paid_on=today())))
        numbers = [(await load(db, i)).number for i in ids]
        assert [(u.reason, u.params["numbers"]) for u in result.unmatched] == [("several", ", ".join(numbers))]
        assert all(n in result.unmatched[0].message("ru") for n in numbers)
        assert [(await load(db, i)).status for i in ids] == ["approved", "approved"]

    async def test_the_request_number_in_the_purpose_decides(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        first, second = [await approved_request(db, company) for _ in range(2)]
        number = (await load(db, second)).number
        result = await import_(db, company, statement(payment(
            payer_account=accounts.main, paid_on=today(), purpose=f"Оплата по заявке {number}, в т.ч. НДС")))
        assert [(m.request_id, m.by) for m in result.matched] == [(second, "number")]
        assert (await load(db, first)).status == "approved"

    async def test_the_purpose_alike_decides_when_numbers_do_not(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        fifteen = await approved_request(db, company, purpose="Оплата по счёту № 15 от 01.11.2026, в т.ч. НДС")
        sixteen = await approved_request(db, company, purpose="Оплата по счёту № 16 от 02.11.2026, в т.ч. НДС")
        result = await import_(db, company, statement(payment(
            payer_account=accounts.main, paid_on=today(),
            purpose="Оплата по счету № 16 от 02.11.2026, в т.ч. НДС 20% - 2500.00")))
        assert [(m.request_id, m.by) for m in result.matched] == [(sixteen, "purpose")]
        assert (await load(db, fifteen)).status == "approved"

    async def test_one_line_never_pays_two_requests_nor_a_request_two_lines(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        data = statement(payment(payer_account=accounts.main, paid_on=today(), number="1"),
                         payment(payer_account=accounts.main, paid_on=today(), number="2"))
        result = await import_(db, company, data)
        assert [m.request_id for m in result.matched] == [request_id]
        assert [(u.reason, u.statement.number) for u in result.unmatched] == [("claimed", "2")]
        assert len(await mark_paid_events(db, request_id)) == 1

        # Two lines naming two requests of the same sum: each pays its own, once.
        a, b = [await approved_request(db, company, amount="222.00") for _ in range(2)]
        na, nb = [(await load(db, i)).number for i in (a, b)]
        result = await import_(db, company, statement(
            payment(payer_account=accounts.main, paid_on=today(), amount=222_00, number="3", purpose=f"по заявке {nb}"),
            payment(payer_account=accounts.main, paid_on=today(), amount=222_00, number="4", purpose=f"по заявке {na}")))
        assert sorted((m.request_id, m.statement.number) for m in result.matched) == [(a, "4"), (b, "3")]

    async def test_what_does_not_match_says_why(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        number = (await load(db, request_id)).number
        result = await import_(db, company, statement(
            payment(payer_account=accounts.main, paid_on=today(), amount=14_999_00, number="1"),
            payment(payer_account=accounts.main, paid_on=today(), amount=14_999_00, number="2",
                    purpose=f"Оплата по заявке {number}"),
            payment(payer_account=accounts.main, paid_on=today(), recipient_inn="", number="3"),
            payment(payer_account=accounts.other, paid_on=today(), number="4"),  # another entity paid it
        ))
        assert [u.reason for u in result.unmatched] == ["no_request", "number_differs", "no_inn", "no_request"]
        assert result.unmatched[0].message("ru") == f"нет согласованной заявки на 14\u00a0999,00\u00a0₽ для ИНН {CONTRACTOR_INN}"
        assert number in result.unmatched[1].message("en")
        assert result.matched == [] and (await load(db, request_id)).status == "approved"

    async def test_a_refused_line_is_reported_and_the_rest_go_through(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        ok = await approved_request(db, company)
        later = await approved_request(db, company, amount="333.00")
        tomorrow = today() + timedelta(days=1)
        result = await import_(db, company, statement(
            payment(payer_account=accounts.main, paid_on=today(), number="1"),
            payment(payer_account=accounts.main, paid_on=tomorrow, amount=333_00, number="2")))
        assert [m.request_id for m in result.matched] == [ok]
        assert [(u.reason, u.error.code) for u in result.unmatched] == [("refused", "mark_paid.future_date")]
        assert (await load(db, later)).status == "approved" and (await load(db, ok)).status == "paid"

    async def test_a_request_marked_paid_by_hand_is_already_paid(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        await in_transaction(db, lambda s: act(s, company.actor("accountant"), request_id, Action.MARK_PAID,
                                                paid_on=today()))
        result = await import_(db, company, statement(payment(payer_account=accounts.main,
                                                              paid_on=today() - timedelta(days=1))))
        assert [a.request_id for a in result.already_paid] == [request_id] and result.matched == []

    async def test_last_months_payment_of_the_same_sum_is_not_this_one(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        old = await approved_request(db, company, purpose="Аренда, НДС не облагается")
        await in_transaction(db, lambda s: act(s, company.actor("accountant"), old, Action.MARK_PAID,
                                                paid_on=today() - timedelta(days=31)))
        new = await approved_request(db, company, purpose="Аренда, НДС не облагается")
        result = await import_(db, company, statement(payment(payer_account=accounts.main, paid_on=today(),
                                                              purpose="Аренда, НДС не облагается")))
        assert [m.request_id for m in result.matched] == [new]

    async def test_only_accounting_imports(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        with pytest.raises(Forbidden):
            await import_(db, company, statement(payment(payer_account=accounts.main, paid_on=today())), "manager")
        assert (await load(db, request_id)).status == "approved"

    async def test_a_broken_file_names_the_line(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        data = statement(payment(payer_account=accounts.main, paid_on=today())).replace(b"=15000.00", b"=15 000,00")
        with pytest.raises(InvalidInput) as error:
            await import_(db, company, data)
        assert (error.value.code, error.value.field) == ("bank_file.amount", "file")
        assert "строка 12" in error.value.message("ru") and "Сумма=15 000,00" in error.value.message("ru")
        with pytest.raises(InvalidInput) as error:
            await import_(db, company, "Привет".encode("utf-16"))
        assert error.value.code == "bank_file.not_exchange"

    async def test_a_dos_statement_and_transfers_between_own_accounts(self, db):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        own = payment(payer_account=accounts.main, recipient_account=accounts.spare,
                      recipient_inn=company.legal_entity.inn, amount=1_000_00, number="9")
        result = await import_(db, company, statement(own, payment(payer_account=accounts.main, paid_on=today()),
                                                      own, encoding="DOS"))
        assert [m.request_id for m in result.matched] == [request_id]
        assert [i.reason for i in result.ignored] == ["internal", "duplicate"]
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(HistoryEvent).where(
                HistoryEvent.action == "mark_paid")) == 1
