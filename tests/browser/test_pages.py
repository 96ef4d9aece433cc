"""The web pages as people use them, in Chromium: sign in by the bot's link, the registry's
filters and saved view, a request's history, export, paying, on a phone too.

Every test starts from the demo company (``viza demo``) served by ``viza serve``; the tests
that change something (paying) keep to the rows they change, so the order does not matter.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.browser

STATUS = {"draft": "Черновик", "pending": "На согласовании", "approved": "Согласован к оплате", "paid": "Оплачен",
          "closed": "Закрыт", "returned": "На доработке", "rejected": "Отказано", "cancelled": "Отозван"}
EXPORT_HEADER = ["Номер", "Статус", "Создана", "Оплатить до", "Плательщик", "Отдел", "Вид заявки", "За что платим",
                 "Контрагент", "ИНН", "КПП", "Сумма", "Валюта", "Назначение платежа", "Номер счёта", "Инициатор",
                 "Дата оплаты"]
ROWS = "table[data-test=registry] tbody tr[data-id]"


def shown_rows(page) -> list[dict[str, str]]:
    """The registry's rows as shown: id, number, status text, and the whole row's text."""
    rows = []
    for row in page.locator(ROWS).all():
        rows.append({"id": row.get_attribute("data-id"), "number": row.locator("td a").first.inner_text().strip(),
                     "status": row.locator(".status").inner_text().strip(), "text": row.inner_text()})
    return rows


def apply_filters(page) -> None:
    with page.expect_navigation():
        page.locator("[data-test=apply-filters]").click()


def test_sign_in_by_link(stack, new_context, shot):
    page = new_context().new_page()
    # A page without a session sends one to sign in, and says how.
    page.goto(f"{stack.base_url}/registry?status=approved")
    assert "/login?next=" in page.url
    assert "/web" in page.locator("main").inner_text()
    page.locator("details summary").click()
    assert page.locator("input[name=token]").is_visible()
    shot(page, "login")

    link = stack.login_link("accountant")
    opened = page.goto(link)
    assert opened.status == 200
    assert "Войти как Татьяна Кузнецова?" in page.locator("main").inner_text()
    shot(page, "login-link")
    page.locator("[data-test=confirm-login]").click()
    page.wait_for_url("**/registry**")
    assert page.locator("header .who .name").inner_text().strip() == "Татьяна Кузнецова"
    assert page.locator("h1").inner_text() == "Реестр заявок"
    assert page.locator(ROWS).count() > 0

    # The same link again, in another browser: refused, and that browser stays signed out.
    other = new_context().new_page()
    again = other.goto(link)
    assert again.status == 410
    assert "уже использована" in other.locator("[role=alert]").inner_text()
    assert other.locator("[data-test=confirm-login]").count() == 0
    shot(other, "login-used")
    other.goto(f"{stack.base_url}/registry")
    assert "/login?next=" in other.url


def test_filter_registry_and_save_the_view(stack, sign_in, shot):
    page = sign_in("accountant")
    page.goto(f"{stack.base_url}/registry?view=all")
    everything = shown_rows(page)
    # An accountant sees what accounting handles (approved, paid, closed) and what waits for her.
    assert len(everything) >= 4, everything
    shot(page, "registry")

    # Statuses: what accounting handles.
    wanted = {STATUS["approved"], STATUS["paid"], STATUS["closed"]}
    for status in ("approved", "paid", "closed"):
        page.locator(f"input[name=status][value={status}]").check()
    apply_filters(page)
    rows = shown_rows(page)
    assert rows and {r["status"] for r in rows} <= wanted, rows
    expected = [r["number"] for r in everything if r["status"] in wanted]
    assert sorted(r["number"] for r in rows) == sorted(expected)
    assert len(rows) < len(everything)  # the pending contract is left out
    totals = page.locator("[data-test=totals]")
    assert totals.is_visible()
    # Payments and contract prices are summed apart; together they count every row shown.
    counted = [int(n) for n in re.findall(r"(\d+) шт\.", totals.inner_text())]
    assert sum(counted) == len(rows), totals.inner_text()
    contracts = [r for r in rows if "договор" in r["text"]]
    assert ("не к оплате" in totals.inner_text()) == bool(contracts)

    # …and of one supplier, by part of its name.
    page.locator("input[name=contractor]").fill("МедТехСнаб")
    apply_filters(page)
    supplier_rows = shown_rows(page)
    assert supplier_rows, "no approved, paid or closed request of ООО «МедТехСнаб»"
    assert all("МедТехСнаб" in r["text"] and r["status"] in wanted for r in supplier_rows), supplier_rows
    assert len(supplier_rows) < len(rows)
    assert f"{len(supplier_rows)} шт." in page.locator("[data-test=totals]").inner_text()
    shot(page, "registry-filtered")

    # Overdue: only rows whose pay-by date is past (marked so), or none at all.
    page.goto(f"{stack.base_url}/registry?view=all")
    page.locator("select[name=pay_by]").select_option("overdue")
    apply_filters(page)
    overdue = page.locator(ROWS)
    for index in range(overdue.count()):
        assert overdue.nth(index).locator("td.overdue").count() == 1
    if overdue.count() == 0:
        assert "Ничего не найдено." in page.locator("table[data-test=registry]").inner_text()

    # The supplier filter kept as the default view: /registry opens with it.
    page.goto(f"{stack.base_url}/registry?status=approved&status=paid&status=closed&contractor=МедТехСнаб")
    with page.expect_navigation():
        page.locator("[data-test=save-view]").click()
    assert "Вид сохранён" in page.locator(".flash.ok").inner_text()
    page.goto(f"{stack.base_url}/registry")
    assert page.locator("[data-test=saved-view]").is_visible()
    for status in ("approved", "paid", "closed"):
        assert page.locator(f"input[name=status][value={status}]").is_checked()
    assert not page.locator("input[name=status][value=pending]").is_checked()
    assert page.locator("input[name=contractor]").input_value() == "МедТехСнаб"
    assert sorted(r["number"] for r in shown_rows(page)) == sorted(r["number"] for r in supplier_rows)
    shot(page, "registry-saved-view")

    # Forgotten again, so the other tests see the whole registry.
    with page.expect_navigation():
        page.get_by_role("button", name="Забыть вид по умолчанию").click()
    assert "Вид по умолчанию забыт." in page.locator(".flash.ok").inner_text()
    page.goto(f"{stack.base_url}/registry")
    assert page.locator("[data-test=saved-view]").count() == 0
    assert len(shown_rows(page)) == len(everything)


def test_open_a_request_and_see_its_history(stack, sign_in, shot):
    page = sign_in("accountant")
    page.goto(f"{stack.base_url}/registry?view=all")
    # The demo's closed request went the whole way: created, approved twice, paid, closed.
    closed = page.locator(ROWS).filter(has=page.locator(".status.closed")).first
    number = closed.locator("td a").first.inner_text().strip()
    with page.expect_navigation():
        closed.locator("td a").first.click()
    assert re.search(r"/requests/\d+$", page.url)
    assert number in page.locator("h1").inner_text()
    assert STATUS["closed"] in page.locator("h1 .status").inner_text()

    fields = page.locator("[data-test=fields]")
    assert fields.is_visible()
    text = fields.inner_text()
    assert "Аренда офиса" in text and "ООО «Арендный дом»" in text and "95 000" in text.replace("\u00a0", " ")

    route = page.locator("[data-test=route]")
    assert route.locator(".stage").count() >= 1
    assert "согласовал(а)" in route.inner_text()

    timeline = page.locator("[data-test=timeline] > li")
    assert timeline.count() >= 5
    events = timeline.all_inner_texts()
    for step in ("Создана", "Отправлена на согласование", "Согласовано", "Оплачена", "Закрыта"):
        assert any(step in event for event in events), (step, events)
    assert any("«Акт получен»" in event for event in events)
    shot(page, "request")


def test_export_what_is_shown(stack, sign_in, tmp_path):
    page = sign_in("accountant")
    page.goto(f"{stack.base_url}/registry?view=all")
    page.locator("select[name=legal_entity_id]").select_option(label="ООО «Медика Групп»")
    for status in ("pending", "approved", "paid", "closed"):
        page.locator(f"input[name=status][value={status}]").check()
    page.locator("select[name=sort]").select_option("amount")
    apply_filters(page)
    rows = shown_rows(page)
    assert rows
    numbers = [r["number"] for r in rows]

    with page.expect_download() as csv_download:
        page.locator("[data-test=export-csv]").click()
    download = csv_download.value
    assert download.suggested_filename.endswith(".csv")
    raw = (tmp_path / "registry.csv")
    download.save_as(raw)
    content = raw.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    table = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == EXPORT_HEADER
    assert [line[0] for line in table[1:]] == numbers
    status_shown = {r["number"]: r["status"] for r in rows}
    assert all(line[1] == status_shown[line[0]] for line in table[1:])
    assert all(line[4] == "ООО «Медика Групп»" for line in table[1:])

    with page.expect_download() as xlsx_download:
        page.locator("[data-test=export-xlsx]").click()
    download = xlsx_download.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook_path = tmp_path / "registry.xlsx"
    download.save_as(workbook_path)
    sheet = load_workbook(workbook_path, read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == EXPORT_HEADER
    assert [line[0] for line in values[1:]] == numbers
    amounts = [line[11] for line in values[1:]]
    assert amounts == sorted(amounts)  # sorted by amount, as the page was


def test_bank_file_and_mark_paid(stack, sign_in, shot):
    page = sign_in("accountant")
    page.goto(f"{stack.base_url}/registry?view=all")
    page.locator("input[name=status][value=approved]").check()
    page.locator("select[name=kind]").select_option("payment")
    apply_filters(page)
    approved = page.locator(ROWS).filter(has=page.locator("input[name=ids]"))
    assert approved.count() >= 1, "the demo has an approved payment request"
    row = approved.first
    request_id = row.get_attribute("data-id")
    number = row.locator("td a").first.inner_text().strip()
    assert row.locator(".status").inner_text() == STATUS["approved"]
    row.locator("input[name=ids]").check()

    # The bank client's file of the selection: 1C's exchange format, in cp1251.
    with page.expect_download() as bank_download:
        page.locator("[data-test=bank-file]").click()
    content = Path(bank_download.value.path()).read_bytes()
    assert content.startswith(b"1CClientBankExchange")
    text = content.decode("cp1251")
    assert "СекцияДокумент=Платежное поручение" in text and "КонецФайла" in text
    assert "47300.00" in text

    # Paid: the flash names it, and the registry says so.
    assert row.locator("input[name=ids]").is_checked()
    with page.expect_navigation():
        page.locator("[data-test=mark-paid]").click()
    flash = page.locator(".flash.ok")
    assert "Отмечено оплаченными: 1" in flash.inner_text() and number in flash.inner_text()
    assert page.locator(f"{ROWS}[data-id='{request_id}']").count() == 0  # gone from "approved"
    page.goto(f"{stack.base_url}/registry?view=all")
    assert page.locator(f"{ROWS}[data-id='{request_id}'] .status").inner_text() == STATUS["paid"]
    shot(page, "registry-paid")
    page.goto(f"{stack.base_url}/requests/{request_id}")
    assert STATUS["paid"] in page.locator("h1 .status").inner_text()
    assert "Оплачена" in page.locator("[data-test=timeline]").inner_text()
    assert page.locator("[data-test=request-mark-paid]").count() == 0


def test_registry_on_a_phone(stack, sign_in, shot):
    page = sign_in("accountant", viewport={"width": 390, "height": 844})
    page.goto(f"{stack.base_url}/registry?view=all")
    assert page.locator(ROWS).count() > 0
    assert page.locator("table[data-test=registry] th.hide-narrow").first.is_hidden()
    assert page.locator("[data-test=totals]").is_visible()
    # The page itself does not scroll sideways (a wide table scrolls inside its own box).
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "registry-phone")


def test_analytics_draws_its_charts(stack, sign_in, shot):
    page = sign_in("admin")
    page.goto(f"{stack.base_url}/registry?view=all")
    with page.expect_navigation():
        page.locator("header nav").get_by_role("link", name="Аналитика").click()
    assert page.url.endswith("/analytics")
    assert page.locator("h1").inner_text() == "Аналитика согласований"
    charts = page.locator("main svg[role=img]")
    assert charts.count() >= 7, charts.count()  # 3 durations, 2 waiting, amounts per currency, overdue
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 40, (index, box)

    # The demo's decisions: the stages it went through, by name, in the chart and in its table.
    by_stage = page.locator("svg[data-chart=by-stage]")
    assert by_stage.locator("title").first.text_content() == "По этапам"
    stage_labels = by_stage.locator("text").all_text_contents()
    assert any("Руководитель отдела" in label for label in stage_labels), stage_labels
    assert by_stage.locator("rect title").count() >= 2  # bars, each with its exact value as a tooltip
    table = page.locator("table[data-test=table-by-stage] tbody tr")
    assert table.count() >= 1 and "Руководитель отдела" in page.locator("table[data-test=table-by-stage]").inner_text()

    # What waits now: the demo's pending requests.
    waiting = page.locator("svg[data-chart=waiting-stage]")
    assert waiting.locator("[data-empty]").count() == 0
    assert "Финансовый директор" in " ".join(waiting.locator("text").all_text_contents())

    # Approved by week, stacked by department; the legend names them.
    amounts = page.locator("svg[data-chart=amounts-RUB]")
    assert amounts.count() == 1
    legend = " ".join(amounts.locator("g.legend text").all_text_contents())
    assert "Отдел продаж" in legend and "Склад" in legend, legend
    assert page.locator("table[data-test=table-amounts-RUB] tbody tr").count() >= 1

    # Nothing in the demo is overdue: the chart says so instead of drawing empty axes.
    overdue = page.locator("svg[data-chart=overdue]")
    assert overdue.locator("[data-empty]").text_content() == "Просроченных оплат нет"
    shot(page, "analytics")


def test_admin_pages_for_the_admin_only(stack, sign_in, new_context, shot):
    page = sign_in("admin")
    page.goto(f"{stack.base_url}/registry?view=all")
    with page.expect_navigation():
        page.locator("header nav").get_by_role("link", name="Администрирование").click()
    assert page.url.endswith("/admin/employees")
    employees = page.locator("table[data-test=employees]")
    assert employees.locator("tbody tr[data-employee]").count() == 11  # the demo's staff
    accountant = employees.locator(f"tr[data-employee='{stack.employees['accountant']}']")
    assert "Татьяна Кузнецова" in accountant.inner_text()
    assert accountant.locator("[data-test=tg-bound]").is_visible()  # bound by the invite's /start
    manager = employees.locator(f"tr[data-employee='{stack.employees['manager']}']")
    assert manager.locator("[data-test=tg-unbound]").is_visible()
    shot(page, "admin-employees")

    with page.expect_navigation():
        page.locator("nav.sub-nav").get_by_role("link", name="Отделы").click()
    departments = page.locator("table[data-test=departments]")
    accounting = departments.locator("tr[data-department]").filter(has_text="Бухгалтерия")
    assert "Татьяна Кузнецова" in accounting.inner_text()
    assert departments.locator("tr[data-department]").count() == 5
    shot(page, "admin-departments")

    with page.expect_navigation():
        page.locator("nav.sub-nav").get_by_role("link", name="Маршруты").click()
    assert page.locator("section[data-type=supplier]").is_visible()
    assert page.locator("section[data-type]").count() >= 6
    shot(page, "admin-routes")

    with page.expect_navigation():
        page.locator("nav.sub-nav").get_by_role("link", name="Сбои доставки").click()
    assert page.locator("h1").inner_text() == "Сбои доставки"
    shot(page, "admin-outbox")

    # An accountant has no such link, and the address itself is refused.
    other = sign_in("accountant")
    other.goto(f"{stack.base_url}/registry?view=all")
    assert other.locator("header nav").get_by_role("link", name="Администрирование").count() == 0
    for path in ("/admin/employees", "/admin/departments", "/admin/routes", "/admin/outbox"):
        refused = other.goto(f"{stack.base_url}{path}")
        assert refused.status == 403, path
        assert other.locator("h1").inner_text() == "Нет доступа"
        assert "только администратору" in other.locator("main").inner_text()
    shot(other, "admin-forbidden")


def test_admin_signs_in_with_an_api_token(stack, new_context):
    page = new_context().new_page()
    page.goto(f"{stack.base_url}/login")
    page.locator("details summary").click()
    page.locator("input[name=token]").fill("viza_not-a-real-token")
    with page.expect_navigation():
        page.get_by_role("button", name="Войти").click()
    assert page.locator("[role=alert]").is_visible() and "/login" in page.url
    page.locator("input[name=token]").fill(stack.tokens["admin"])
    with page.expect_navigation():
        page.get_by_role("button", name="Войти").click()
    page.wait_for_url("**/registry**")
    assert page.locator("header nav").get_by_role("link", name="Администрирование").is_visible()
