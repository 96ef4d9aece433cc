"""/api/v1/bank: the payment orders file for the bank client, and a statement uploaded to mark requests paid."""

from __future__ import annotations

from datetime import timedelta

from backend.integrations.bank.clientbank import parse
from tests.api.helpers import errors_of
from tests.bank_helpers import CONTRACTOR_INN, approved_request, give_accounts, incoming, load, payment, statement
from tests.factories import auth_headers, setup_company, today


class TestPaymentOrders:
    async def test_the_file_downloads_in_cp1251_with_its_name(self, db, client):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company, amount="15000.50")
        await approved_request(db, company, amount="10.00", pay_by=today() + timedelta(days=30))
        headers = await auth_headers(db, company, "accountant")

        response = await client.get("/api/v1/bank/payment-orders", headers=headers,
                                    params={"pay_by_to": (today() + timedelta(days=7)).isoformat()})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/plain; charset=windows-1251"
        assert response.headers["content-disposition"] == f'attachment; filename="1c_to_kl-{today().isoformat()}.txt"'
        assert (response.headers["x-viza-count"], response.headers["x-viza-total"]) == ("1", "15000.50")
        text = response.content.decode("cp1251")
        lines = text.split("\r\n")
        number = (await load(db, request_id)).number
        assert lines[0] == "1CClientBankExchange" and "Кодировка=Windows" in lines and lines[-2] == "КонецФайла"
        assert f"Номер={int(number.rsplit('-', 1)[1])}" in lines and "Сумма=15000.50" in lines
        assert f"ПлательщикСчет={accounts.main}" in lines and f"ПолучательИНН={CONTRACTOR_INN}" in lines

        spare = await client.get("/api/v1/bank/payment-orders", headers=headers,
                                 params={"bank_account_id": accounts.spare_id, "amount_min": "1000"})
        assert spare.status_code == 200 and parse(spare.content).accounts == [accounts.spare]

    async def test_refusals_are_json_with_the_field(self, db, client):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        await approved_request(db, company)
        await approved_request(db, company, legal_entity_id=accounts.other_entity_id)
        accountant = await auth_headers(db, company, "accountant")

        several = await client.get("/api/v1/bank/payment-orders", headers=accountant)
        assert several.status_code == 422 and errors_of(several) == {("bank_export.several_entities", "legal_entity_id")}
        assert "ООО «Лютик»" in several.json()["message"]
        other = await client.get("/api/v1/bank/payment-orders", headers=accountant | {"Accept-Language": "en"},
                                 params={"legal_entity_id": company.legal_entity.id, "bank_account_id": accounts.other_id})
        assert other.status_code == 422 and errors_of(other) == {("bank_export.account_not_of_entity", "bank_account_id")}
        assert "does not belong" in other.json()["message"]
        typo = await client.get("/api/v1/bank/payment-orders", headers=accountant, params={"bank_account": 1})
        assert typo.status_code == 422 and errors_of(typo) == {("field.unknown", "bank_account")}
        manager = await client.get("/api/v1/bank/payment-orders", headers=await auth_headers(db, company, "manager"))
        assert manager.status_code == 403 and manager.json()["code"] == "forbidden.not_accountant"


async def upload(client, headers, data: bytes, filename: str = "kl_to_1c.txt"):
    return await client.post("/api/v1/bank/statements", headers=headers,
                             files={"file": (filename, data, "text/plain")})


class TestStatements:
    async def test_the_result_lists_matched_already_paid_unmatched_and_ignored(self, db, client):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        request_id = await approved_request(db, company)
        number = (await load(db, request_id)).number
        yesterday = today() - timedelta(days=1)
        data = statement(payment(payer_account=accounts.main, paid_on=yesterday, number="11"),
                         payment(payer_account=accounts.main, paid_on=yesterday, amount=500_00, number="12"),
                         incoming(to_account=accounts.main))
        headers = await auth_headers(db, company, "accountant")

        response = await upload(client, headers, data)
        assert response.status_code == 200, response.text
        body = response.json()
        assert [(m["request_id"], m["number"], m["amount"], m["amount_minor"], m["paid_on"], m["by"])
                for m in body["matched"]] == [(request_id, number, "15000.00", 15_000_00, yesterday.isoformat(),
                                               "amount_inn")]
        line = body["matched"][0]["line"]
        assert (line["number"], line["amount"], line["recipient"]["inn"], line["payer"]["account"]) == (
            "11", "15000.00", CONTRACTOR_INN, accounts.main)
        [unmatched] = body["unmatched"]
        assert unmatched["reason"] == "no_request" and unmatched["line"]["number"] == "12"
        assert unmatched["message"] == f"нет согласованной заявки на 500,00\u00a0₽ для ИНН {CONTRACTOR_INN}"
        assert [(i["reason"], i["message"]) for i in body["ignored"]] == [("incoming", "входящий платёж")]
        assert body["already_paid"] == [] and body["accounts"] == [accounts.main]
        assert (await load(db, request_id)).status == "paid"

        again = (await upload(client, headers | {"Accept-Language": "en"}, data)).json()
        assert again["matched"] == [] and [(a["request_id"], a["paid_on"]) for a in again["already_paid"]] == [
            (request_id, yesterday.isoformat())]
        assert again["unmatched"][0]["message"].startswith("no approved request for 500.00 ₽")

    async def test_a_bad_file_is_a_422_naming_the_line_never_a_500(self, db, client):
        company = await setup_company(db)
        accounts = await give_accounts(db, company)
        headers = await auth_headers(db, company, "accountant")
        good = statement(payment(payer_account=accounts.main, paid_on=today()))
        cases = {
            good.replace(b"=15000.00", b"=15 000,00"): "bank_file.amount",
            good.replace("КонецДокумента\r\n".encode("cp1251"), b""): "bank_file.unclosed",
            good.decode("cp1251").encode("utf-16"): "bank_file.not_exchange",
            good.replace(b"Windows", b"KOI8-R"): "bank_file.encoding",
            good.replace("Получатель1=".encode("cp1251"), "Получатель1=".encode("cp1251") + b"\x98"): "bank_file.undecodable",
            b"": "bank_file.empty",
            bytes(range(256)) * 4: "bank_file.not_exchange",
            "%PDF-1.4 счёт".encode(): "bank_file.not_exchange",
        }
        for data, code in cases.items():
            response = await upload(client, headers, data)
            assert response.status_code == 422, (code, response.text)
            assert errors_of(response) == {(code, "file")}, response.text
        response = await upload(client, headers, cases_key(cases, "bank_file.amount"))
        assert response.json()["message"].startswith("Файл, строка 12: Сумма=15 000,00")
        missing = await client.post("/api/v1/bank/statements", headers=headers)
        assert missing.status_code == 422 and errors_of(missing) == {("field.required", "file")}
        manager = await upload(client, await auth_headers(db, company, "manager"), good)
        assert manager.status_code == 403


def cases_key(cases: dict[bytes, str], code: str) -> bytes:
    return next(data for data, c in cases.items() if c == code)
