"""The analytics page: SVG charts drawn on the server with their labels, the numbers in tables,
names escaped, bad filters told on the page, and no page for those without analytics."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from sqlalchemy import update

from backend.db import utcnow
from backend.models import Department, RequestStage
from backend.web import charts
from tests.factories import inn, new_request
from tests.services.test_analytics import approved_request, drive, set_times

SVG = re.compile(r"<svg\b.*?</svg>", re.S)
NS = "{http://www.w3.org/2000/svg}"


def svgs(html: str) -> dict[str, ET.Element]:
    """Every chart on the page, parsed as XML (so each must be well-formed), by its data-chart name."""
    found = {}
    for text in SVG.findall(html):
        root = ET.fromstring(text)
        assert root.get("role") == "img" and root.get("aria-label")
        assert root.find(f"{NS}title") is not None
        found[root.get("data-chart")] = root
    return found


def texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(f"{NS}text")]


def tips(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{NS}title")]


async def seed(db, company) -> dict[str, int]:
    """Two approved requests with known times, one waiting at the head's stage."""
    now = utcnow()
    first = await approved_request(db, company, contractor_inn=inn(11), amount="1500.00")
    second = await approved_request(db, company, contractor_inn=inn(12), amount="2500.00")
    await set_times(db, first, approved_at=now - timedelta(days=2),
                    stage_durations=[timedelta(hours=2), timedelta(hours=1)], to_approve=timedelta(hours=4))
    await set_times(db, second, approved_at=now - timedelta(days=2),
                    stage_durations=[timedelta(hours=4), timedelta(hours=3)], to_approve=timedelta(hours=8))
    waiting = await new_request(db, company, contractor_inn=inn(13))
    from backend.workflows.lifecycle import Action

    await drive(db, company, waiting, ("manager", Action.SUBMIT))
    return {"first": first, "second": second, "waiting": waiting}


async def test_the_admin_sees_charts_with_the_expected_labels_and_tables(db, company, browser):
    await seed(db, company)
    await browser.sign_in(company.people["admin"].id)
    response = await browser.get("/analytics")
    assert response.status_code == 200
    html = response.text
    drawn = svgs(html)
    assert {"by-stage", "by-approver", "by-type", "waiting-stage", "waiting-approver", "amounts-RUB",
            "overdue"} <= set(drawn)
    assert "Руководитель отдела" in texts(drawn["by-stage"]) and "Финансовый директор" in texts(drawn["by-stage"])
    assert {"Медиана", "90-й процентиль"} <= set(texts(drawn["by-stage"]))  # the legend
    # Head's stage: 2 h and 4 h → median 3 h, p90 3 h 48 min; written at the bars and in the table.
    assert {"3 ч 0 мин", "3 ч 48 мин"} <= set(texts(drawn["by-stage"]))
    assert "Сидоров С.С." in texts(drawn["by-approver"]) and "Финансов Ф.Ф." in texts(drawn["by-approver"])
    assert "Оплата поставщику" in texts(drawn["by-type"])
    assert "Продажи Север" in texts(drawn["amounts-RUB"])
    assert any("4\u00a0000,00\u00a0₽" in tip for tip in tips(drawn["amounts-RUB"]))  # the week's exact total
    assert "Руководитель отдела" in texts(drawn["waiting-stage"])
    table = html[html.index('data-test="table-by-stage"'):]
    table = table[: table.index("</table>")]
    assert re.search(r"Руководитель отдела</td><td class=\"num\">2</td>\s*<td[^>]*>3 ч 0 мин</td>\s*"
                     r"<td[^>]*>3 ч 48 мин</td>", table)
    assert "4\u00a0000,00\u00a0₽" in html  # the approved total in the amounts table
    assert "/static/viza.css" in html and "cdn" not in html.lower()


async def test_accounting_sees_its_numbers_but_not_what_still_waits(db, company, browser):
    await seed(db, company)
    await browser.sign_in(company.people["accountant"].id)
    response = await browser.get("/analytics")
    assert response.status_code == 200
    drawn = svgs(response.text)
    assert "Руководитель отдела" in texts(drawn["by-stage"])
    assert "Руководитель отдела" not in texts(drawn["waiting-stage"])  # pending requests are not accounting's
    assert [e.get("data-empty") for e in drawn["waiting-stage"].iter(f"{NS}text")] == ["1"]


async def test_user_given_names_are_escaped_in_charts_and_tables(db, company, browser):
    ids = await seed(db, company)
    evil = '<script>alert("x")</script> Этап & Co'
    async with db.session() as session:
        await session.execute(update(RequestStage).where(RequestStage.request_id == ids["first"],
                                                         RequestStage.position == 1).values(name=evil))
        await session.execute(update(Department).where(Department.id == company.departments["north"].id)
                              .values(name="<b>Север</b> & Co"))
        await session.commit()
    await browser.sign_in(company.people["admin"].id)
    html = (await browser.get("/analytics")).text
    assert "<script>alert" not in html and "<b>Север" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Этап &amp; Co" in html or \
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Этап &amp; Co" in html
    drawn = svgs(html)  # still well-formed XML
    assert evil in tips(drawn["by-stage"]) or any(evil in tip for tip in tips(drawn["by-stage"]))
    assert "<b>Север</b> & Co" in texts(drawn["amounts-RUB"])


async def test_bad_filters_are_told_on_the_page_not_a_server_error(db, company, browser):
    await seed(db, company)
    await browser.sign_in(company.people["admin"].id)
    response = await browser.get("/analytics?since=2026-13-45&department_id=abc&kind=loan"
                                 "&request_type_id=99999999999999999999999")
    assert response.status_code == 200
    problems = re.findall(r'data-test="problem">([^<]*)<', response.text)
    assert len(problems) == 4
    assert any("2026-13-45" in p and "Период с" in p for p in problems)
    assert any("abc" in p and "Отдел" in p for p in problems)
    assert "Сидоров С.С." in texts(svgs(response.text)["by-approver"])  # the rest of the page is there

    response = await browser.get("/analytics?since=2026-03-10&until=2026-03-01")
    assert response.status_code == 200
    problems = re.findall(r'data-test="problem">([^<]*)<', response.text)
    assert problems == ["Период по: конец периода раньше его начала."]
    assert "Сидоров С.С." in texts(svgs(response.text)["by-approver"])  # shown for the default period

    response = await browser.get("/analytics?since=2019-01-01&until=2026-03-01")
    assert response.status_code == 200
    assert "не больше 731 дней" in response.text


async def test_a_filter_narrows_the_page(db, company, browser):
    await seed(db, company)
    await browser.sign_in(company.people["admin"].id)
    html = (await browser.get(f"/analytics?request_type_id={company.types['rent'].id}")).text
    drawn = svgs(html)
    assert "Оплата поставщику" not in texts(drawn["by-type"])
    assert [e.get("data-empty") for e in drawn["by-type"].iter(f"{NS}text")] == ["1"]
    assert f'<option value="{company.types["rent"].id}" selected>' in html


async def test_a_plain_manager_gets_a_no_access_page(db, company, browser):
    await browser.sign_in(company.people["manager"].id)
    response = await browser.get("/analytics")
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "Аналитика доступна администраторам" in response.text
    assert "<svg" not in response.text


async def test_a_department_head_sees_the_page_in_english(db, company, browser):
    await seed(db, company)
    await browser.sign_in(company.people["north_head"].id)
    await browser.post("/language", {"language": "en", "back": "/analytics"})
    html = (await browser.get("/analytics")).text
    assert "Approval analytics" in html
    drawn = svgs(html)
    assert {"Median", "90th percentile"} <= set(texts(drawn["by-stage"]))
    assert "Supplier payment" in texts(drawn["by-type"])
    assert "3 h 0 min" in texts(drawn["by-stage"])


class TestCharts:
    def test_an_empty_chart_says_so_and_is_valid_svg(self):
        for svg in (charts.bar_chart([], ["a"], title="T", empty_text="No data"),
                    charts.stacked_chart([], [], title="T", empty_text="No data"),
                    charts.stacked_chart(["w1"], [charts.Series("x", [0])], title="T", empty_text="No data")):
            root = ET.fromstring(svg)
            assert texts(root) == ["No data"] and root.get("aria-label") == "T"

    def test_one_row_and_one_column(self):
        root = ET.fromstring(charts.bar_chart([charts.Row("Only", [5, 9])], ["median", "p90"], title="T",
                                              empty_text="-"))
        rects = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None and "Only" in
                 r.find(f"{NS}title").text]
        widths = [float(r.get("width")) for r in rects]
        assert len(widths) == 2 and widths[1] > widths[0] > 0
        assert widths[0] / widths[1] == 5 / 9 or abs(widths[0] / widths[1] - 5 / 9) < 0.01
        root = ET.fromstring(charts.stacked_chart(["w1"], [charts.Series("dept", [300])], title="T", empty_text="-"))
        assert "300" in texts(root) and "dept" in texts(root)

    def test_stacked_parts_add_up_to_the_column(self):
        svg = charts.stacked_chart(["a", "b"], [charts.Series("x", [10, 0]), charts.Series("y", [30, 20])],
                                   title="T", empty_text="-", height=300)
        root = ET.fromstring(svg)
        parts = {r.find(f"{NS}title").text: float(r.get("height")) for r in root.iter(f"{NS}rect")
                 if r.find(f"{NS}title") is not None and " — " in (r.find(f"{NS}title").text or "")}
        assert set(parts) == {"a — x: 10", "a — y: 30", "b — y: 20"}  # no zero-height part drawn
        assert abs(parts["a — y: 30"] - 3 * parts["a — x: 10"]) < 0.01
        assert abs(parts["b — y: 20"] - 2 * parts["a — x: 10"]) < 0.01

    def test_control_characters_and_markup_cannot_break_the_svg(self):
        svg = charts.bar_chart([charts.Row('a\x00b <i>"q"</i> & \x1f', [1])], ["s"], title="<T>", empty_text="-")
        root = ET.fromstring(svg)
        assert root.get("aria-label") == "<T>"
        assert 'ab <i>"q"</i> &' in texts(root)

    def test_nice_ticks(self):
        assert charts.nice_ticks(9.1) == [0, 2, 4, 6, 8, 10]
        assert charts.nice_ticks(3, integer=True) == [0, 1, 2, 3]
        assert charts.nice_ticks(0) == [0, 1]
        assert charts.nice_ticks(1_234_567)[-1] >= 1_234_567
