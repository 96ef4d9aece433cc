"""The registry page: what each person sees, filters, pages, totals, the saved view, export,
and the accountant's mark paid and bank file."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
from sqlalchemy import select

from backend.models import PaymentRequest
from tests.api.test_registry_api import seed
from tests.bank_helpers import give_accounts
from tests.factories import auth_headers, inn, new_request

ROW = re.compile(r'<tr data-id="(\d+)">')


def shown(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


def statuses(html: str) -> list[str]:
    return re.findall(r'<span class="status (\w+)">', html.split('data-test="registry"', 1)[1])


async def status_of(db, rid: int) -> str:
    async with db.session() as session:
        return (await session.get(PaymentRequest, rid)).status


async def test_each_person_sees_what_the_api_shows_them(browser, new_browser, db, company):
    ids = await seed(db, company)
    await browser.sign_in(company.people["admin"].id)
    assert sorted(shown((await browser.get("/registry")).text)) == sorted(ids)
    accountant = new_browser()
    await accountant.sign_in(company.people["accountant"].id)
    page = (await accountant.get("/registry")).text
    assert sorted(shown(page)) == sorted([ids[0], ids[3], ids[4]])  # approved, approved, paid
    manager2 = new_browser()
    await manager2.sign_in(company.people["manager2"].id)
    assert sorted(shown((await manager2.get("/registry")).text)) == sorted([ids[2], ids[3]])
    assert (await manager2.get(f"/requests/{ids[0]}")).status_code == 404


async def test_filters_select_and_bad_ones_are_named(browser, db, company):
    ids = await seed(db, company)
    await browser.sign_in(company.people["admin"].id)
    approved = (await browser.get("/registry?status=approved")).text
    assert sorted(shown(approved)) == sorted([ids[0], ids[3]])
    assert set(statuses(approved)) == {"approved"}
    assert shown((await browser.get(f"/registry?contractor={inn(12)}")).text) == [ids[1]]
    assert sorted(shown((await browser.get("/registry?q=бумага")).text)) == sorted([ids[0], ids[2]])
    assert shown((await browser.get("/registry?amount_min=20000&amount_max=30000")).text) == [ids[1]]
    # Empty form fields are no filter at all.
    assert len(shown((await browser.get("/registry?status=&q=&amount_min=&pay_by=")).text)) == 5
    bad = await browser.get("/registry?amount_min=много&status=approved")
    assert bad.status_code == 200
    assert "Фильтр «amount_min»: значение «много» не подходит" in bad.text
    assert sorted(shown(bad.text)) == sorted([ids[0], ids[3]])  # the good filter still applies
    reversed_range = await browser.get("/registry?amount_min=500&amount_max=100")
    assert reversed_range.status_code == 200 and "конец диапазона" in reversed_range.text.lower()
    assert shown(reversed_range.text) == []


async def test_pages_follow_each_other_without_gaps_and_totals_cover_all_pages(browser, db, company):
    ids = await seed(db, company)
    await browser.sign_in(company.people["admin"].id)
    seen: list[int] = []
    url = "/registry?sort=amount&limit=2"
    pages = 0
    while url and pages < 10:
        page = (await browser.get(url)).text
        seen += shown(page)
        totals = page.split('data-test="totals"', 1)[1]
        assert "5 шт.: <b>125\u00a0700,00\u00a0₽</b>" in totals  # all five, whichever page
        found = re.search(r'href="([^"]+)" data-test="next-page"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert pages == 3
    amounts = {ids[4]: 700, ids[0]: 1000, ids[2]: 4000, ids[1]: 25000, ids[3]: 95000}
    assert seen == sorted(amounts, key=amounts.get)
    assert "Строки 5–5" in page


async def test_default_view_is_saved_per_person(browser, new_browser, db, company):
    ids = await seed(db, company)
    await browser.sign_in(company.people["accountant"].id)
    saved = await browser.post("/registry/view", {"filters": "status=approved&sort=pay_by"})
    assert saved.status_code == 303
    page = await browser.get("/registry")
    assert 'data-test="saved-view"' in page.text
    assert sorted(shown(page.text)) == sorted([ids[0], ids[3]])
    assert shown(page.text) == [ids[0], ids[3]]  # by pay-by date, as saved
    assert len(shown((await browser.get("/registry?view=all")).text)) == 3
    # The API's door to the same view.
    headers = await auth_headers(db, company, "accountant")
    api_view = await browser.http.get("/api/v1/me/registry-view", headers=headers)
    assert api_view.json() == {"status": ["approved"], "sort": "pay_by"}
    # Someone else's registry is untouched.
    other = new_browser()
    await other.sign_in(company.people["accountant2"].id)
    assert len(shown((await other.get("/registry")).text)) == 3
    cleared = await browser.post("/registry/view/clear")
    assert cleared.status_code == 303
    assert len(shown((await browser.get("/registry")).text)) == 3
    assert (await browser.http.get("/api/v1/me/registry-view", headers=headers)).json() == {}


async def test_saving_a_broken_view_is_refused(browser, db, company):
    await browser.sign_in(company.people["accountant"].id)
    response = await browser.post("/registry/view", {"filters": "status=paid&amount_min=abc"})
    assert response.status_code == 303
    page = await browser.get(response.headers["location"])
    assert "amount_min" in page.text and 'data-test="saved-view"' not in page.text
    headers = await auth_headers(db, company, "accountant")
    bad = await browser.http.put("/api/v1/me/registry-view", json={"status": ["nope"]}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "status.0"


async def test_export_is_exactly_what_is_shown(browser, db, company):
    ids = await seed(db, company)
    await browser.sign_in(company.people["admin"].id)
    page = (await browser.get("/registry?q=бумага&sort=amount")).text
    assert shown(page) == [ids[0], ids[2]]
    link = re.search(r'href="(/registry/export\.csv\?[^"]+)"', page).group(1).replace("&amp;", "&")
    response = await browser.get(link)
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Номер"
    numbers = [r[0] for r in rows[1:]]
    async with db.session() as session:
        by_id = {r.id: r.number for r in await session.scalars(select(PaymentRequest))}
    assert numbers == [by_id[i] for i in shown(page)]
    xlsx = await browser.get(link.replace("export.csv", "export.xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == numbers


async def test_accountant_marks_a_selection_paid(browser, db, company):
    ids = await seed(db, company)
    await browser.sign_in(company.people["accountant"].id)
    page = (await browser.get("/registry")).text
    boxes = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)]
    assert sorted(boxes) == sorted([ids[0], ids[3]])  # only approved requests can be ticked
    done = await browser.post("/registry/mark-paid", {"ids": [str(ids[0]), str(ids[4])], "back": "status=approved"})
    assert done.status_code == 303 and done.headers["location"] == "/registry?status=approved"
    after = (await browser.get(done.headers["location"])).text
    assert "Отмечено оплаченными: 1" in after
    async with db.session() as session:
        paid_number = (await session.get(PaymentRequest, ids[4])).number
    assert f"{paid_number}: " in after  # the one already paid is named, with its reason
    assert await status_of(db, ids[0]) == "paid"
    assert await status_of(db, ids[3]) == "approved"
    assert await status_of(db, ids[4]) == "paid"
    future = await browser.post("/registry/mark-paid", {"ids": [str(ids[3])], "paid_on": "2999-01-01"})
    assert future.status_code == 303
    assert await status_of(db, ids[3]) == "approved"
    nothing = await browser.post("/registry/mark-paid", {})
    assert "Отметьте галочками" in (await browser.get(nothing.headers["location"])).text


async def test_a_manager_cannot_mark_paid_through_the_page(browser, db, company):
    ids = await seed(db, company)
    await browser.sign_in(company.people["manager"].id)
    page = (await browser.get("/registry")).text
    assert 'data-test="mark-paid"' not in page and 'name="ids"' not in page
    await browser.post("/registry/mark-paid", {"ids": [str(ids[0])]})
    assert await status_of(db, ids[0]) == "approved"


async def test_bank_file_of_the_selection(browser, db, company):
    ids = await seed(db, company)
    await give_accounts(db, company)
    await browser.sign_in(company.people["accountant"].id)
    response = await browser.post("/registry/bank-file", {"ids": [str(ids[0])]})
    assert response.status_code == 200, response.text
    text = response.content.decode("cp1251")
    assert text.startswith("1CClientBankExchange")
    assert text.count("СекцияДокумент=Платежное поручение") == 1
    assert "Сумма=1000.00" in text
    # A paid request in the selection is not approved: nothing to pay, said plainly.
    refused = await browser.post("/registry/bank-file", {"ids": [str(ids[4])], "back": ""})
    assert refused.status_code == 303
    assert "flash error" in (await browser.get(refused.headers["location"])).text


async def test_user_text_is_escaped(browser, db, company):
    await new_request(db, company, subject="<script>alert(1)</script>", contractor_name="ООО «<b>Жирный</b>»")
    await browser.sign_in(company.people["manager"].id)
    page = (await browser.get("/registry")).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Жирный</b>" not in page


async def test_english_page(browser, db, company):
    await seed(db, company)
    await browser.sign_in(company.people["admin"].id)
    await browser.post("/language", {"language": "en"})
    page = (await browser.get("/registry?status=approved")).text
    assert "Approved for payment" in page and "Totals of the selection" in page
    bad = (await browser.get("/registry?amount_min=lots")).text
    assert "Filter “amount_min”: the value “lots” does not fit" in bad


async def test_contract_prices_are_summed_apart_from_payments(browser, db, company):
    from sqlalchemy import update

    ids = await seed(db, company)
    async with db.session() as session:
        await session.execute(update(PaymentRequest).where(PaymentRequest.id == ids[3]).values(kind="contract"))
        await session.commit()
    await browser.sign_in(company.people["admin"].id)
    totals = (await browser.get("/registry")).text.split('data-test="totals"', 1)[1]
    payments = totals.split('data-kind="payment"', 1)[1].split("</div>", 1)[0]
    contracts = totals.split('data-kind="contract"', 1)[1].split("</div>", 1)[0]
    assert "4 шт.: <b>30\u00a0700,00\u00a0₽</b>" in payments
    assert "1 шт.: <b>95\u00a0000,00\u00a0₽</b>" in contracts and "не к оплате" in contracts
    only_payments = (await browser.get("/registry?kind=payment")).text.split('data-test="totals"', 1)[1]
    assert 'data-kind="contract"' not in only_payments and "не к оплате" not in only_payments
