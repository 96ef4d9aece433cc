"""What Viza keeps in step on the Bitrix24 portal, one outbox row at a time (topic ``bitrix24``).

Row kinds (``backend/integrations/outbox_rows.py``):

* ``company`` — a contractor as a company with its requisite and bank details, matched by INN
  (+ KPP) so none is created twice; companies the portal already holds twice are reported to admins.
* ``request`` — a history event of a payment request: the smart-process item mirroring the
  request (its stage follows the status), a timeline comment on the deal for decisions and
  payments, and a task for whoever must act next when a request is approved, rejected or returned.
* ``deal_expenses`` — the deal's money field showing what its paid requests cost.
* ``deal_event`` — the portal told us a deal changed: the stage gates (:mod:`.gates`).
* ``deal_closing`` — the accountant's closing confirmation written to the deal.

Every create is idempotent: the twin is looked up (by INN, by the item's ``xmlId``, by the
comment's or task's marker) before it is created whenever an earlier attempt may have got as
far as sending it, and remembered in ``external_links`` once known.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database, utcnow
from backend.integrations.alerts import access_alert
from backend.integrations.bitrix24 import texts
from backend.integrations.bitrix24.batching import CommandBatcher
from backend.integrations.bitrix24.client import Bitrix24Client, Bitrix24Error
from backend.integrations.bitrix24.gates import CONDITIONS, deal_state
from backend.integrations.bitrix24.limiter import LeakyBucket, SharedLeakyBucket
from backend.integrations.links import find_link, forget_link, save_link
from backend.integrations.outbox_rows import BITRIX24
from backend.integrations.worker import Done, Refused, RowContext, SyncWorker, Unavailable
from backend.models import Bitrix24Deal, Counterparty, Employee, HistoryEvent, PaymentRequest
from backend.money import to_decimal
from backend.notifications import queue_notice
from backend.services.attachments import FileStore
from backend.settings import Settings
from backend.workflows.routing import Directory

log = logging.getLogger("viza.bitrix24")

SYSTEM = "bitrix24"
ORIGINATOR = "viza"
STAGE_SUFFIX = {"draft": "NEW", "returned": "NEW", "pending": "PREPARATION", "approved": "CLIENT",
                "paid": "SUCCESS", "closed": "SUCCESS", "rejected": "FAIL", "cancelled": "FAIL"}
COMMENTED = {"submit", "approve", "reject", "return", "mark_paid", "close", "cancel"}


# The portal as a whole cannot take work now: no answer, a maintenance page, its limits.
PORTAL_WIDE = {"NETWORK", "PORTAL_UNAVAILABLE", "QUERY_LIMIT_EXCEEDED", "OVERLOAD_LIMIT", "OPERATION_TIME_LIMIT"}


def classify(error: Bitrix24Error) -> Exception:
    """The portal's answer as the worker's outcome: unavailable (everything waits), this row's
    trouble that may pass (retried with backoff), or this row refused."""
    if error.access:
        return Unavailable(error.message, access=True)
    if error.code in PORTAL_WIDE:
        return Unavailable(error.message)
    if error.transient:
        return RuntimeError(error.message)
    return Refused(error.message)


class Bitrix24Sync:
    def __init__(self, db: Database, settings: Settings, client: Bitrix24Client) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        self.language = settings.default_language
        self._companies: dict[str, asyncio.Future] = {}  # INN/KPP being resolved in this pass

    @classmethod
    def from_settings(cls, db: Database, settings: Settings, redis: Redis | None = None) -> Bitrix24Sync:
        if redis is not None:  # several replicas call one portal: one bucket for all of them
            portal = urlsplit(settings.bitrix24_webhook_url or "").hostname or "portal"
            limiter = SharedLeakyBucket(redis, f"viza:bitrix24:{portal}:bucket", settings.bitrix24_bucket_size,
                                        settings.bitrix24_drain_per_second)
        else:
            limiter = LeakyBucket(settings.bitrix24_bucket_size, settings.bitrix24_drain_per_second)
        return cls(db, settings, Bitrix24Client(settings.bitrix24_webhook_url or "", limiter=limiter))

    def worker(self, *, batch: int = 50, poll: float = 5.0) -> SyncWorker:
        return SyncWorker(self.db, BITRIX24, self.handle, instance=self.settings.instance_name,
                          runner=self._new_pass, batch=batch, poll=poll, on_access_error=access_alert(self.db, "Bitrix24"))

    def _new_pass(self) -> CommandBatcher:
        self._companies = {}
        return CommandBatcher(self.client)

    async def handle(self, ctx: RowContext) -> Done:
        handler = getattr(self, f"_{ctx.payload.get('kind')}", None)
        if handler is None:
            raise Refused(f"unknown row kind {ctx.payload.get('kind')!r}")
        try:
            return await handler(ctx)
        except Bitrix24Error as error:
            raise classify(error) from error

    # --- companies ----------------------------------------------------------------------------

    async def _company(self, ctx: RowContext) -> Done:
        counterparty = await ctx.read(lambda s: s.get(Counterparty, ctx.payload["counterparty_id"]))
        if counterparty is None:
            return Done("the contractor no longer exists", status="skipped")
        company_id = await self.company_for(ctx, counterparty.inn, counterparty.kpp, counterparty.name, counterparty)
        return Done(f"company {company_id}")

    async def company_for(self, ctx: RowContext, inn: str, kpp: str, name: str,
                          bank: Counterparty | PaymentRequest | None) -> str:
        """The portal's company for this INN + KPP: remembered, found by its requisite, or created.
        Two rows of one pass asking for the same company share one lookup and one create."""
        key = f"{inn}/{kpp}"
        if key in self._companies:
            async with ctx.runner.aside():
                return await asyncio.shield(self._companies[key])
        future = asyncio.get_running_loop().create_future()
        self._companies[key] = future
        try:
            company_id = await self._resolve_company(ctx, key, inn, kpp, name, bank)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: a second asker re-raises it, nobody else must
            del self._companies[key]
            raise
        future.set_result(company_id)
        return company_id

    async def _resolve_company(self, ctx: RowContext, key: str, inn: str, kpp: str, name: str,
                               bank: Counterparty | PaymentRequest | None) -> str:
        link = await ctx.read(lambda s: find_link(s, SYSTEM, "company", key))
        if link is not None:
            return link.external_id
        requisites = await ctx.runner.call("crm.requisite.list", {
            "filter": {"RQ_INN": inn, "ENTITY_TYPE_ID": 4}, "select": ["ID", "ENTITY_ID", "RQ_KPP"]})
        companies = sorted({str(r["ENTITY_ID"]) for r in requisites or []
                            if not kpp or (r.get("RQ_KPP") or "") in (kpp, "")}, key=int)
        if len(companies) > 1:
            await ctx.write(lambda s: self._report_duplicates(s, inn, kpp, name, companies))
        if companies:
            company_id = companies[0]
        else:
            company_id = await self._create_company(ctx, key, inn, kpp, name, bank)
        await ctx.write(lambda s: save_link(s, SYSTEM, "company", key, company_id))
        return company_id

    async def _create_company(self, ctx: RowContext, key: str, inn: str, kpp: str, name: str,
                              bank: Counterparty | PaymentRequest | None) -> str:
        """The company and its requisite go in one batch (the requisite names the company as
        ``$result[...]``), so the portal never holds one without the other: a retry finds it by INN.
        Two commands a company pack a batch of 50 exactly; the bank details follow in the next one."""
        prefix = ctx.runner.prefix()
        results = await ctx.runner.group({
            f"{prefix}company": ("crm.company.add", {"fields": {
                "TITLE": name, "COMPANY_TYPE": "SUPPLIER", "ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": key}}),
            f"{prefix}requisite": ("crm.requisite.add", {"fields": {
                "ENTITY_TYPE_ID": 4, "ENTITY_ID": f"$result[{prefix}company]",
                # Presets 1 (organisation) and 2 (sole trader) exist on every portal.
                "PRESET_ID": 2 if len(inn) == 12 else 1, "NAME": name[:150], "RQ_INN": inn, "RQ_KPP": kpp,
                "RQ_COMPANY_NAME" if len(inn) == 10 else "RQ_NAME": name}}),
        })
        if bank is not None and bank.bik and bank.account:
            await ctx.runner.call("crm.requisite.bankdetail.add", {"fields": {
                "ENTITY_ID": results[f"{prefix}requisite"],
                "NAME": bank.bank_name or texts.get("bank_account", self.language),
                "RQ_BIK": bank.bik, "RQ_ACC_NUM": bank.account, "RQ_COR_ACC_NUM": bank.corr_account,
                "RQ_BANK_NAME": bank.bank_name}})
        return str(results[f"{prefix}company"])

    async def _report_duplicates(self, session: AsyncSession, inn: str, kpp: str, name: str, companies: list[str]) -> None:
        for admin in await Directory(session).with_role("admin"):
            await queue_notice(session, admin.id, "bitrix24_duplicates", urgent=False,
                               dedup_key=f"bitrix24:duplicates:{inn}/{kpp}:{len(companies)}:{admin.id}",
                               data={"inn": inn, "kpp": kpp, "name": name, "companies": companies})

    # --- a payment request's events ---------------------------------------------------------

    async def _request(self, ctx: RowContext) -> Done:
        loaded = await ctx.read(lambda s: _request_and_event(s, ctx.payload["request_id"], ctx.payload["history_id"]))
        if loaded is None:
            return Done("the request no longer exists", status="skipped")
        request, event, people = loaded
        done = []
        # The smart process mirrors payment requests; a contract lives on its deal (comments, tasks).
        if self.settings.bitrix24_item_type_id and request.kind == "payment" and "item" not in ctx.progress:
            company_id = await self.company_for(ctx, request.contractor_inn, request.contractor_kpp,
                                                request.contractor_name, request)
            item_id = await self._mirror_item(ctx, request, company_id, people)
            await ctx.save(item=item_id)
            done.append(f"item {item_id}")
        if request.bitrix24_deal_id and event.action in COMMENTED and "comment" not in ctx.progress:
            comment_id = await self._comment(ctx, request, event, people)
            done.append(f"comment {comment_id}")
        task = self._task_for(request, event, people)
        if task is not None and "task" not in ctx.progress:
            task_id = await self._task(ctx, request, *task)
            done.append(f"task {task_id}")
        return Done(", ".join(done) or "nothing to change", status="sent" if done else "skipped")

    async def _mirror_item(self, ctx: RowContext, request: PaymentRequest, company_id: str,
                           people: dict[int, Employee]) -> str:
        type_id = self.settings.bitrix24_item_type_id
        fields = self._item_fields(request, company_id, people)
        link = await ctx.read(lambda s: find_link(s, SYSTEM, "item", str(request.id)))
        if link is not None:
            if link.data.get("fields") == fields:
                return link.external_id  # a comment or an added approver changes nothing on the item
            try:
                await ctx.runner.call("crm.item.update", {"entityTypeId": type_id, "id": link.external_id,
                                                          "fields": fields})
            except Bitrix24Error as error:
                if not error.not_found:
                    raise
                await ctx.write(lambda s: forget_link(s, SYSTEM, "item", str(request.id)))  # deleted on the portal
                return await self._mirror_item(ctx, request, company_id, people)
            await ctx.write(lambda s: save_link(s, SYSTEM, "item", str(request.id), link.external_id, fields=fields))
            return link.external_id
        item_id = None
        if ctx.progress.get("item_sending"):  # an earlier attempt may have created it
            found = await ctx.runner.call("crm.item.list", {"entityTypeId": type_id, "filter": {"xmlId": fields["xmlId"]},
                                                            "select": ["id"]})
            items = (found or {}).get("items") or []
            item_id = str(items[0]["id"]) if items else None
        if item_id is None:
            await ctx.save(item_sending=True)
            created = await ctx.runner.call("crm.item.add", {"entityTypeId": type_id, "fields": fields})
            item_id = str(created["item"]["id"])
        else:
            await ctx.runner.call("crm.item.update", {"entityTypeId": type_id, "id": item_id, "fields": fields})
        await ctx.write(lambda s: save_link(s, SYSTEM, "item", str(request.id), item_id, fields=fields))
        return item_id

    def _item_fields(self, request: PaymentRequest, company_id: str, people: dict[int, Employee]) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "title": f"{request.number} · {request.contractor_name} · {request.subject}"[:255],
            "stageId": self.item_stage(request.status),
            "opportunity": str(to_decimal(request.amount)), "currencyId": request.currency,
            "companyId": company_id, "xmlId": f"viza:{request.id}",
        }
        if request.bitrix24_deal_id:
            fields["parentId2"] = request.bitrix24_deal_id  # 2 = deals: the item shows on the deal
        initiator = people.get(request.initiator_id)
        if initiator is not None and initiator.bitrix24_user_id:
            fields["assignedById"] = initiator.bitrix24_user_id
        return fields

    def item_stage(self, status: str) -> str:
        configured = self.settings.bitrix24_item_stages.get(status)
        if configured:
            return configured
        s = self.settings
        return f"DT{s.bitrix24_item_type_id}_{s.bitrix24_item_category_id}:{STAGE_SUFFIX[status]}"

    async def _comment(self, ctx: RowContext, request: PaymentRequest, event: HistoryEvent,
                       people: dict[int, Employee]) -> str:
        deal = request.bitrix24_deal_id
        text = texts.comment(request, event, self.language, people)
        marker = texts.marker(event.id)
        if ctx.progress.get("comment_sending"):
            comments = await ctx.runner.call("crm.timeline.comment.list", {
                "filter": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}, "select": ["ID", "COMMENT"],
                "order": {"ID": "DESC"}})
            for comment in comments or []:
                if marker in (comment.get("COMMENT") or ""):
                    await ctx.save(comment=str(comment["ID"]))
                    return str(comment["ID"])
        await ctx.save(comment_sending=True)
        comment_id = await ctx.runner.call("crm.timeline.comment.add", {"fields": {
            "ENTITY_ID": deal, "ENTITY_TYPE": "deal", "COMMENT": f"{text}\n{marker}"}})
        await ctx.save(comment=str(comment_id))
        return str(comment_id)

    def _task_for(self, request: PaymentRequest, event: HistoryEvent,
                  people: dict[int, Employee]) -> tuple[str, str, str, Employee, datetime] | None:
        """Who must act after this outcome (seed 000): accounting pays an approved request by its
        pay-by date; the initiator fixes a returned one or learns why it was rejected. An approved
        contract goes to its manager to send to the client for signature."""
        if request.kind == "contract" and event.to_status == "approved" and event.from_status != "approved":
            manager = people.get(request.initiator_id)
            if manager is None or not manager.bitrix24_user_id:
                return None
            number = (event.details or {}).get("contract_number", "")
            deadline = utcnow() + timedelta(hours=self.settings.bitrix24_task_deadline_hours)
            return ("approved", texts.task_title("approved", request, self.language, number),
                    texts.task_description("approved", request, self.language, contract_number=number),
                    manager, deadline)
        if event.to_status == "approved" and event.from_status != "approved":
            payer = next((p for p in people.values() if "accountant" in (p.roles or []) and p.bitrix24_user_id), None)
            if payer is None:
                return None
            zone = ZoneInfo(payer.timezone or self.settings.default_timezone)
            deadline = datetime.combine(request.pay_by, time(18, 0), zone)
            return ("pay", texts.task_title("pay", request, self.language),
                    texts.task_description("pay", request, self.language), payer, deadline)
        if event.action in ("reject", "return"):
            initiator = people.get(request.initiator_id)
            if initiator is None or not initiator.bitrix24_user_id:
                return None
            deadline = utcnow() + timedelta(hours=self.settings.bitrix24_task_deadline_hours)
            return (event.action, texts.task_title(event.action, request, self.language),
                    texts.task_description(event.action, request, self.language, event.comment), initiator, deadline)
        return None

    async def _task(self, ctx: RowContext, request: PaymentRequest, kind: str, title: str, description: str,
                    responsible: Employee, deadline: datetime) -> str:
        marker = texts.marker(ctx.payload["history_id"])
        if ctx.progress.get("task_sending"):
            found = await ctx.runner.call("tasks.task.list", {"filter": {"TITLE": title}, "select": ["ID", "DESCRIPTION"]})
            for task in (found or {}).get("tasks") or []:
                if marker in (task.get("description") or ""):
                    await ctx.save(task=str(task["id"]))
                    return str(task["id"])
        fields: dict[str, Any] = {
            "TITLE": title, "RESPONSIBLE_ID": responsible.bitrix24_user_id, "DEADLINE": deadline.isoformat(),
            "DESCRIPTION": f"{description}\n{marker}",
        }
        if request.bitrix24_deal_id:
            fields["UF_CRM_TASK"] = [f"D_{request.bitrix24_deal_id}"]
        await ctx.save(task_sending=True)
        created = await ctx.runner.call("tasks.task.add", {"fields": fields})
        task_id = str((created or {}).get("task", {}).get("id"))
        await ctx.save(task=task_id)
        return task_id

    # --- deals ----------------------------------------------------------------------------------

    async def _deal_expenses(self, ctx: RowContext) -> Done:
        field = self.settings.bitrix24_expenses_field
        if not field:
            return Done("VIZA_BITRIX24_EXPENSES_FIELD is not set", status="skipped")
        deal = ctx.payload["deal_id"]
        total = await ctx.read(lambda s: paid_total(s, deal))
        await ctx.runner.call("crm.deal.update", {"id": deal, "fields": {field: f"{total}|RUB"}})
        return Done(f"deal {deal}: {total} RUB")

    async def _deal_closing(self, ctx: RowContext) -> Done:
        field = self.settings.bitrix24_closing_field
        if not field:
            return Done("VIZA_BITRIX24_CLOSING_FIELD is not set", status="skipped")
        value = "Y" if ctx.payload.get("confirmed") else "N"
        await ctx.runner.call("crm.deal.update", {"id": ctx.payload["deal_id"], "fields": {field: value}})
        return Done(f"deal {ctx.payload['deal_id']}: {field}={value}")

    async def _deal_documents(self, ctx: RowContext) -> Done:
        """Documents made for the deal in Viza (its contract, its invoice) go to the deal's timeline
        as one comment with the files attached (seed 001: "готовые документы крепятся к сделке")."""
        deal, key = ctx.payload["deal_id"], ctx.payload["key"]
        marker = f"[Viza docs {key}]"
        if ctx.progress.get("documents_sending"):  # an earlier attempt may have posted it
            comments = await ctx.runner.call("crm.timeline.comment.list", {
                "filter": {"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}, "select": ["ID", "COMMENT"], "order": {"ID": "DESC"}})
            found = next((c for c in comments or [] if marker in (c.get("COMMENT") or "")), None)
            if found is not None:
                return Done(f"comment {found['ID']} (posted before)")
        store = FileStore(self.settings.files_dir)
        files = [[f["filename"], base64.b64encode(store.read(f["sha256"])).decode("ascii")]
                 for f in ctx.payload["files"]]
        await ctx.save(documents_sending=True)
        comment_id = await ctx.runner.call("crm.timeline.comment.add", {"fields": {
            "ENTITY_ID": deal, "ENTITY_TYPE": "deal", "COMMENT": f"{ctx.payload['title']}\n{marker}", "FILES": files}})
        return Done(f"comment {comment_id} with {len(files)} file(s)")

    async def _deal_event(self, ctx: RowContext) -> Done:
        deal_id = ctx.payload["deal_id"]
        try:
            deal = await ctx.runner.call("crm.deal.get", {"id": deal_id})
        except Bitrix24Error as error:
            if error.not_found:
                return Done("the deal no longer exists", status="skipped")
            raise
        stage = str(deal.get("STAGE_ID") or "")
        condition = self.gate_for(stage)
        if condition is None:
            await ctx.write(lambda s: _remember_stage(s, deal_id, stage))
            return Done(f"deal {deal_id} at {stage}")
        reason = await ctx.read(lambda s: CONDITIONS[condition](s, deal_id))
        if reason is None:
            await ctx.write(lambda s: _remember_stage(s, deal_id, stage))
            return Done(f"deal {deal_id} at {stage}: {condition} holds")
        back = await self._stage_before(ctx, deal_id, stage)
        if back is not None and "moved_back" not in ctx.progress:
            await ctx.runner.call("crm.deal.update", {"id": deal_id, "fields": {"STAGE_ID": back}})
            await ctx.save(moved_back=back)
        names = await self._stage_names(ctx, deal)
        await ctx.write(lambda s: self._tell_gate(s, ctx.row.id, deal, names.get(stage, stage),
                                                  names.get(back, back) if back else None, reason))
        return Done(f"deal {deal_id}: {stage} needs {condition}; " + (f"moved back to {back}" if back else "left"))

    async def _stage_before(self, ctx: RowContext, deal_id: str, stage: str) -> str | None:
        """Where the deal came from: the portal's stage history (events are not retried, and two
        moves may come before we read the first), else the last stage we saw it pass."""
        history = await ctx.runner.call("crm.stagehistory.list", {
            "entityTypeId": 2, "filter": {"OWNER_ID": deal_id}, "order": {"ID": "DESC"}, "select": ["STAGE_ID"]})
        for entry in (history or {}).get("items") or []:
            if entry.get("STAGE_ID") and entry["STAGE_ID"] != stage:
                return str(entry["STAGE_ID"])
        known = await ctx.read(lambda s: _known_stage(s, deal_id))
        return known if known and known != stage else None

    async def _stage_names(self, ctx: RowContext, deal: dict[str, Any]) -> dict[str, str]:
        """The stages' names as the portal shows them (people know "В работе", not EXECUTING)."""
        category = str(deal.get("CATEGORY_ID") or "0")
        entity = "DEAL_STAGE" if category == "0" else f"DEAL_STAGE_{category}"
        try:
            statuses = await ctx.runner.call("crm.status.list", {"filter": {"ENTITY_ID": entity}})
        except Bitrix24Error as error:
            log.warning("deal stage names not read: %s", error)
            return {}
        return {str(s["STATUS_ID"]): str(s["NAME"]) for s in statuses or [] if s.get("STATUS_ID") and s.get("NAME")}

    def gate_for(self, stage: str) -> str | None:
        """The condition of a stage: by its full id (``C3:EXECUTING``) or its id in any pipeline."""
        gates = self.settings.bitrix24_stage_gates
        return gates.get(stage) or gates.get(stage.split(":", 1)[-1])

    async def _tell_gate(self, session: AsyncSession, row_id: int, deal: dict[str, Any], stage: str,
                         back: str | None, reason: str) -> None:
        recipients = {e.id for e in await Directory(session).with_role("accountant")}
        manager_b24 = str(deal.get("ASSIGNED_BY_ID") or "")
        if manager_b24:
            recipients |= set((await session.scalars(select(Employee.id).where(
                Employee.bitrix24_user_id == manager_b24, Employee.active.is_(True)))).all())
        data = {"deal_id": str(deal.get("ID")), "title": deal.get("TITLE") or "", "stage": stage,
                "back_to": back or "", "reason": reason}
        for recipient in sorted(recipients):
            await queue_notice(session, recipient, "deal_stage_blocked", urgent=True, data=data,
                               dedup_key=f"bitrix24:gate:{row_id}:{recipient}")

    async def stop(self) -> None:
        await self.client.aclose()


async def _request_and_event(session: AsyncSession, request_id: int, history_id: int):
    request = await session.get(PaymentRequest, request_id)
    event = await session.get(HistoryEvent, history_id)
    if request is None or event is None:
        return None
    # The accountants only when one of them gets the task to pay.
    approved = event.to_status == "approved" and event.from_status != "approved"
    people = {e.id: e for e in await Directory(session).with_role("accountant")} if approved else {}
    initiator = await session.get(Employee, request.initiator_id)
    if initiator is not None:
        people[initiator.id] = initiator
    actor = await session.get(Employee, event.actor_id) if event.actor_id else None
    if actor is not None:
        people[actor.id] = actor
    return request, event, people


async def paid_total(session: AsyncSession, deal_id: str) -> Decimal:
    kopecks = await session.scalar(select(func.coalesce(func.sum(PaymentRequest.amount), 0)).where(
        PaymentRequest.bitrix24_deal_id == deal_id, PaymentRequest.status.in_(("paid", "closed")),
        PaymentRequest.currency == "RUB"))
    return to_decimal(int(kopecks or 0))


async def _remember_stage(session: AsyncSession, deal_id: str, stage: str) -> None:
    state = await deal_state(session, deal_id)
    state.stage_id = stage


async def _known_stage(session: AsyncSession, deal_id: str) -> str:
    state = await session.get(Bitrix24Deal, deal_id)
    return state.stage_id if state is not None else ""
