"""The words of the scheduled notices, in both languages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from backend.db import utcnow
from backend.models import ApprovalTask, PaymentRequest, RequestStage
from backend.workflows.lifecycle import Action
from bot.notices import scheduled_notice_text, waited
from bot.texts import Texts
from tests.factories import new_request, setup_company
from tests.notifications.test_jobs import act, approved

LANGS = ["ru", "en"]


async def waiting_since(db, company, hours_ago: float, **overrides) -> tuple[int, int]:
    """A request at its first stage for ``hours_ago``; returns (request id, task id)."""
    rid = await new_request(db, company, **overrides)
    await act(db, company, "manager", rid, Action.SUBMIT)
    async with db.session() as session:
        await session.execute(update(RequestStage).where(RequestStage.request_id == rid)
                              .where(RequestStage.status == "active")
                              .values(started_at=utcnow() - timedelta(hours=hours_ago)))
        await session.commit()
        task_id = await session.scalar(select(ApprovalTask.id).where(ApprovalTask.request_id == rid,
                                                                      ApprovalTask.status == "pending"))
    return rid, task_id


async def render(db, company, lang: str, who: str, kind: str, *, request_id: int | None = None, **data) -> str:
    payload = {"event": kind, "recipient_id": company.people[who].id, "urgent": False, "data": data}
    if request_id is not None:
        payload["request_id"] = request_id
    async with db.session() as session:
        return await scheduled_notice_text(session, Texts(lang), payload, company.people[who])


async def request(db, rid: int) -> PaymentRequest:
    async with db.session() as session:
        return await session.get(PaymentRequest, rid)


@pytest.mark.parametrize("lang", LANGS)
async def test_sla_reminder_names_the_request_and_how_long_it_waited(db, lang):
    company = await setup_company(db)
    rid, task_id = await waiting_since(db, company, 26.5, contractor_name="ООО «Альфа»", amount="123456.78")
    t, r = Texts(lang), await request(db, rid)
    text = await render(db, company, lang, "north_head", "sla_reminder", request_id=rid, with_card=True,
                        task_id=task_id)
    for part in (f"/r{rid}", r.number, t.money(12345678, "RUB"), "ООО «Альфа»", "Руководитель отдела", "8",
                 t("notice.waited_days", days=1, hours=2)):
        assert part in text, (part, text)
    async with db.session() as session:
        started = await session.scalar(select(RequestStage.started_at).where(RequestStage.request_id == rid,
                                                                             RequestStage.status == "active"))
    assert t.moment(started, "Europe/Moscow") in text and text.startswith("⏰")


@pytest.mark.parametrize("lang", LANGS)
async def test_a_reminder_about_a_decided_task_says_nothing(db, lang):
    company = await setup_company(db)
    rid, task_id = await waiting_since(db, company, 10)
    await act(db, company, "north_head", rid, Action.APPROVE)
    assert await render(db, company, lang, "north_head", "sla_reminder", request_id=rid, task_id=task_id) == ""
    assert await render(db, company, lang, "head", "escalation", request_id=rid, task_id=task_id,
                        head_id=company.people["head"].id) == ""


@pytest.mark.parametrize("lang", LANGS)
async def test_escalation_to_the_head_and_to_the_assignee(db, lang):
    company = await setup_company(db)
    rid, task_id = await waiting_since(db, company, 20, contractor_name="ИП Бета")
    t, r = Texts(lang), await request(db, rid)
    head_id = company.people["head"].id
    to_head = await render(db, company, lang, "head", "escalation", request_id=rid, task_id=task_id, head_id=head_id)
    for part in (f"/r{rid}", r.number, t.money(r.amount, r.currency), "ИП Бета", "Сидоров С.С.",
                 t("notice.waited_hours", hours=20)):
        assert part in to_head, (part, to_head)
    to_assignee = await render(db, company, lang, "north_head", "escalated", request_id=rid, task_id=task_id,
                               head_id=head_id, with_card=True)
    assert "Петров П.П." in to_assignee and r.number in to_assignee and "8" in to_assignee


@pytest.mark.parametrize("lang", LANGS)
async def test_escalation_names_the_deputy_acting_for_the_approver(db, lang):
    company = await setup_company(db)
    rid, task_id = await waiting_since(db, company, 20)
    async with db.session() as session:
        await session.execute(update(ApprovalTask).where(ApprovalTask.id == task_id)
                              .values(assignee_id=company.people["manager2"].id))
        await session.commit()
    text = await render(db, company, lang, "head", "escalation", request_id=rid, task_id=task_id)
    assert Texts(lang)("notice.on_behalf", deputy="Смирнова А.А.", approver="Сидоров С.С.") in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["pay_due_next", "pay_due_today", "pay_overdue"])
async def test_pay_reminders_list_every_request_with_a_total(db, lang, kind):
    company = await setup_company(db)
    first = await approved(db, company, date(2026, 3, 9), contractor_name="ООО «Гамма»", amount="1000.00")
    second = await approved(db, company, date(2026, 3, 10), contractor_name="ООО «Дельта»", amount="2500.50")
    t = Texts(lang)
    text = await render(db, company, lang, "accountant", kind, request_ids=[second, first])
    lines = text.splitlines()
    assert lines[0] == {"pay_due_next": t("notice.pay_due_next", count=2),
                        "pay_due_today": t("notice.pay_due_today", count=2),
                        "pay_overdue": t("notice.pay_overdue", count=2)}[kind]
    one, two = await request(db, first), await request(db, second)
    # By pay-by date, each with its number, amount, contractor and date.
    assert all(p in lines[1] for p in (f"/r{first}", one.number, t.money(100000, "RUB"), "ООО «Гамма»",
                                       t.day(date(2026, 3, 9))))
    assert all(p in lines[2] for p in (f"/r{second}", two.number, t.money(250050, "RUB"), "ООО «Дельта»",
                                       t.day(date(2026, 3, 10))))
    assert t.money(350050, "RUB") in lines[3] and lines[4].endswith("/pay")


@pytest.mark.parametrize("lang", LANGS)
async def test_a_request_paid_since_the_reminder_shows_its_status(db, lang):
    company = await setup_company(db)
    rid = await approved(db, company, date(2026, 3, 9))
    await act(db, company, "accountant", rid, Action.MARK_PAID)
    text = await render(db, company, lang, "accountant", "pay_overdue", request_ids=[rid])
    assert Texts(lang).status("paid") in text.splitlines()[1]


@pytest.mark.parametrize("lang", LANGS)
async def test_digest_says_what_waits_and_how_to_open_it(db, lang):
    company = await setup_company(db)
    oldest, _ = await waiting_since(db, company, 50, contractor_name="ООО «Эпсилон»")
    returned = await new_request(db, company)
    await act(db, company, "manager", returned, Action.SUBMIT)
    await act(db, company, "north_head", returned, Action.RETURN, comment="Нет счёта")
    t, r, back = Texts(lang), await request(db, oldest), await request(db, returned)
    since = (utcnow() - timedelta(hours=50)).isoformat()
    text = await render(db, company, lang, "north_head", "digest", inbox=3, oldest_request_id=oldest,
                        oldest_since=since, returned=[returned], pay_today=2, pay_overdue=1)
    title, inbox, back_line, pay = text.splitlines()
    assert title == t("notice.digest_title")
    for part in ("3", f"/r{oldest}", r.number, t.money(r.amount, r.currency), "ООО «Эпсилон»",
                 t("notice.waited_days", days=2, hours=2), "/inbox"):
        assert part in inbox, (part, inbox)
    assert back.number in back_line and back_line.endswith("/my")
    assert "2" in pay and "1" in pay and pay.endswith("/pay")


@pytest.mark.parametrize("lang", LANGS)
async def test_digest_leaves_out_what_does_not_wait(db, lang):
    company = await setup_company(db)
    text = await render(db, company, lang, "accountant", "digest", pay_today=0, pay_overdue=4)
    assert "/inbox" not in text and "/my" not in text and text.endswith("/pay") and "4" in text


async def test_an_unknown_kind_is_an_error_not_silence(db):
    company = await setup_company(db)
    with pytest.raises(ValueError):
        await render(db, company, "ru", "manager", "paid", request_id=1)


@pytest.mark.parametrize("lang", LANGS)
def test_waited_reads_naturally(lang):
    t = Texts(lang)
    assert waited(t, timedelta(minutes=40)) == t("notice.waited_minutes")
    assert waited(t, timedelta(hours=5, minutes=59)) == t("notice.waited_hours", hours=5)
    assert waited(t, timedelta(days=3, hours=1)) == t("notice.waited_days", days=3, hours=1)
    assert waited(Texts("ru"), timedelta(hours=26)) == "1 дн. 2 ч"
    assert waited(Texts("en"), timedelta(hours=26)) == "1 d 2 h"
