"""What Viza keeps in step in 1C (topic ``onec``), and the payments it reads back.

* ``counterparty`` — a contractor is sent only once its requisites are complete (seed 000: no
  half-filled companies of deals that never happened), matched by INN (+ KPP) so none is
  created twice, with its bank account.
* ``payment_order`` — an approved request becomes a posted ``Document_ПлатежноеПоручение``
  (Бухгалтерия 3.0); a request that leaves "approved" other than by being paid (cancelled, or
  changed and sent round again) has its order unposted and marked for deletion.
* **Payments read back** (:meth:`OneCSync.read_payments`, every ``VIZA_ONEC_POLL_SECONDS``): a
  posted ``Document_СписаниеСРасчетногоСчета`` based on one of our orders — the bank statement
  loaded in 1C — marks its request paid here, on the write-off's date, through the same
  transition as the accountant's tap, so the initiator is told at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.errors import DomainError
from backend.integrations.alerts import access_alert
from backend.integrations.links import find_link, forget_link, save_link
from backend.integrations.onec.client import OneCClient, OneCError, guid, moment, string
from backend.integrations.outbox_rows import ONEC
from backend.integrations.worker import Done, Refused, RowContext, SyncWorker, Unavailable
from backend.models import BankAccount, Counterparty, ExternalLink, LegalEntity, PaymentRequest
from backend.money import to_decimal
from backend.requisites import validate_requisites
from backend.services.transactions import in_transaction
from backend.settings import Settings
from backend.workflows.actors import Actor
from backend.workflows.engine import transition
from backend.workflows.lifecycle import Action

log = logging.getLogger("viza.onec")

SYSTEM = "onec"
COUNTERPARTIES = "Catalog_Контрагенты"
BANKS = "Catalog_Банки"
BANK_ACCOUNTS = "Catalog_БанковскиеСчета"
ORGANISATIONS = "Catalog_Организации"
PAYMENT_ORDERS = "Document_ПлатежноеПоручение"
WRITE_OFFS = "Document_СписаниеСРасчетногоСчета"
ORDER_TYPE = "StandardODATA.Document_ПлатежноеПоручение"


def classify(error: OneCError) -> Exception:
    if error.access:
        return Unavailable(f"{error}. Check VIZA_ONEC_USER / VIZA_ONEC_PASSWORD and the user's rights", access=True)
    if error.transient:
        return Unavailable(str(error))
    if error.not_found and "Catalog_" not in error.where and "Document_" not in error.where:
        return Unavailable(f"{error}. Check VIZA_ONEC_ODATA_URL", access=True)
    if error.status == 404 or "сегмент" in error.text.lower():
        return Refused(f"{error}. Add the object to the OData composition in 1C "
                       "(«Настройка стандартного интерфейса OData»)")
    return Refused(str(error))


class Incomplete(Exception):
    """The contractor's requisites are not complete enough to be sent to 1C."""


def complete_requisites(name: str, inn: str, kpp: str, bik: str, account: str, corr: str) -> None:
    problems = []
    if not name.strip():
        problems.append("name")
    if len(inn) == 10 and not kpp:
        problems.append("kpp")
    try:
        validate_requisites(inn=inn, kpp=kpp or None, bik=bik, account=account, corr_account=corr or None)
    except DomainError as error:
        problems.extend(getattr(e, "field", None) or e.code for e in getattr(error, "errors", [error]))
    if problems:
        raise Incomplete("requisites incomplete: " + ", ".join(str(p) for p in problems))


class OneCSync:
    def __init__(self, db: Database, settings: Settings, client: OneCClient) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        self.zone = ZoneInfo(settings.default_timezone)  # 1C keeps local time without an offset
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task | None = None

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> OneCSync:
        return cls(db, settings, OneCClient(settings.onec_odata_url or "", settings.onec_user, settings.onec_password))

    def worker(self, *, batch: int = 20, poll: float = 5.0) -> SyncWorker:
        return SyncWorker(self.db, ONEC, self.handle, instance=self.settings.instance_name, batch=batch, poll=poll,
                          on_access_error=access_alert(self.db, "1C"))

    async def handle(self, ctx: RowContext) -> Done:
        kind = ctx.payload.get("kind")
        try:
            if kind == "counterparty":
                return await self._counterparty(ctx)
            if kind == "payment_order":
                return await self._payment_order(ctx)
        except OneCError as error:
            raise classify(error) from error
        raise Refused(f"unknown row kind {kind!r}")

    # --- contractors --------------------------------------------------------------------------

    async def _counterparty(self, ctx: RowContext) -> Done:
        counterparty = await ctx.read(lambda s: s.get(Counterparty, ctx.payload["counterparty_id"]))
        if counterparty is None:
            return Done("the contractor no longer exists", status="skipped")
        c = counterparty
        try:
            complete_requisites(c.name, c.inn, c.kpp, c.bik, c.account, c.corr_account)
        except Incomplete as reason:
            return Done(f"not sent: {reason}", status="skipped")
        ref = await self.counterparty_ref(ctx, c.name, c.inn, c.kpp, c.bik, c.account, c.corr_account, c.bank_name)
        return Done(f"counterparty {ref}")

    async def counterparty_ref(self, ctx: RowContext, name: str, inn: str, kpp: str, bik: str, account: str,
                               corr: str, bank_name: str) -> str:
        """The 1C contractor for this INN + KPP: remembered, found by INN, or created; with this
        bank account among its accounts."""
        key = f"{inn}/{kpp}"
        link = await ctx.read(lambda s: find_link(s, SYSTEM, "counterparty", key))
        if link is not None:
            ref = link.external_id
        else:
            found = await self.client.list(COUNTERPARTIES, filter=f"ИНН eq {string(inn)} and DeletionMark eq false")
            matching = [r for r in found if not kpp or (r.get("КПП") or "") in (kpp, "")]
            if matching:
                ref = matching[0]["Ref_Key"]
            else:
                created = await self.client.create(COUNTERPARTIES, {
                    "Description": name[:100], "НаименованиеПолное": name, "ИНН": inn, "КПП": kpp,
                    "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо" if len(inn) == 10 else "ФизическоеЛицо",
                    "Комментарий": "Viza"})
                ref = created["Ref_Key"]
            await ctx.write(lambda s: save_link(s, SYSTEM, "counterparty", key, ref))
        await self._bank_account(ctx, ref, bik, account, corr, bank_name)
        return ref

    async def _bank_account(self, ctx: RowContext, owner: str, bik: str, account: str, corr: str,
                            bank_name: str) -> str:
        key = f"{owner}/{account}"
        link = await ctx.read(lambda s: find_link(s, SYSTEM, "bank_account", key))
        if link is not None:
            return link.external_id
        found = await self.client.list(BANK_ACCOUNTS, filter=f"Owner eq {guid(owner)} and НомерСчета eq {string(account)}")
        if found:
            ref = found[0]["Ref_Key"]
        else:
            banks = await self.client.list(BANKS, filter=f"Code eq {string(bik)}", top=1)
            bank = banks[0]["Ref_Key"] if banks else (await self.client.create(BANKS, {
                "Code": bik, "Description": bank_name or f"БИК {bik}", "КоррСчет": corr}))["Ref_Key"]
            created = await self.client.create(BANK_ACCOUNTS, {
                "Owner": owner, "Owner_Type": "StandardODATA.Catalog_Контрагенты", "НомерСчета": account,
                "Банк_Key": bank, "Description": f"{account}, {bank_name}"[:100] if bank_name else account})
            ref = created["Ref_Key"]
            counterparty = await self.client.get(COUNTERPARTIES, owner)
            if counterparty is not None and not _filled(counterparty.get("ОсновнойБанковскийСчет_Key")):
                await self.client.update(COUNTERPARTIES, owner, {"ОсновнойБанковскийСчет_Key": ref})
        await ctx.write(lambda s: save_link(s, SYSTEM, "bank_account", key, ref))
        return ref

    # --- payment orders ------------------------------------------------------------------------

    async def _payment_order(self, ctx: RowContext) -> Done:
        loaded = await ctx.read(lambda s: _request_with_payer(s, ctx.payload["request_id"]))
        if loaded is None:
            return Done("the request no longer exists", status="skipped")
        request, entity, payer_account = loaded
        if request.status in ("approved", "paid", "closed"):
            if request.status != "approved" and "order" not in ctx.progress:
                link = await ctx.read(lambda s: find_link(s, SYSTEM, "payment_order", str(request.id)))
                if link is None:
                    return Done(f"the request is {request.status} already; no order made", status="skipped")
            return await self._make_order(ctx, request, entity, payer_account)
        return await self._void_order(ctx, request)

    async def _make_order(self, ctx: RowContext, request: PaymentRequest, entity: LegalEntity,
                          payer_account: BankAccount | None) -> Done:
        if request.currency != "RUB":
            raise Refused(f"a payment order in {request.currency} is not made in 1C: pay it from a currency account")
        link = await ctx.read(lambda s: find_link(s, SYSTEM, "payment_order", str(request.id)))
        if link is not None and link.data.get("posted"):
            return Done(f"order {link.external_id} exists", status="skipped")
        organisation = await self._organisation(ctx, entity)
        try:
            complete_requisites(request.contractor_name, request.contractor_inn, request.contractor_kpp,
                                request.bik, request.account, request.corr_account)
        except Incomplete as reason:
            raise Refused(f"the payee's {reason}") from reason
        counterparty = await self.counterparty_ref(
            ctx, request.contractor_name, request.contractor_inn, request.contractor_kpp, request.bik,
            request.account, request.corr_account, request.bank_name)
        payee_account = await self._bank_account(ctx, counterparty, request.bik, request.account,
                                                 request.corr_account, request.bank_name)
        marker = order_marker(request)
        ref = link.external_id if link is not None else None
        if ref is None and ctx.progress.get("order_sending"):  # an earlier attempt may have created it
            found = await self.client.list(PAYMENT_ORDERS, filter=f"substringof({string(marker)}, Комментарий)", top=1)
            ref = found[0]["Ref_Key"] if found else None
        if ref is None:
            await ctx.save(order_sending=True)
            record: dict[str, Any] = {
                "Date": datetime.now(self.zone).strftime("%Y-%m-%dT%H:%M:%S"),
                # The payee is a composite field in БП 3.0: the reference and its type.
                "ВидОперации": "ОплатаПоставщику", "Организация_Key": organisation,
                "Контрагент": counterparty, "Контрагент_Type": "StandardODATA.Catalog_Контрагенты",
                "СчетКонтрагента_Key": payee_account, "СуммаДокумента": float(to_decimal(request.amount)),
                "НазначениеПлатежа": request.purpose, "Комментарий": marker,
            }
            own = await self._own_account(organisation, payer_account)
            if own:
                record["СчетОрганизации_Key"] = own
            ref = (await self.client.create(PAYMENT_ORDERS, record))["Ref_Key"]
            await ctx.write(lambda s: save_link(s, SYSTEM, "payment_order", str(request.id), ref, posted=False))
        await self.client.post_document(PAYMENT_ORDERS, ref)
        await ctx.write(lambda s: save_link(s, SYSTEM, "payment_order", str(request.id), ref, posted=True))
        await ctx.save(order=ref)
        return Done(f"payment order {ref} posted")

    async def _void_order(self, ctx: RowContext, request: PaymentRequest) -> Done:
        link = await ctx.read(lambda s: find_link(s, SYSTEM, "payment_order", str(request.id)))
        if link is None:
            return Done("no payment order to void", status="skipped")
        with contextlib.suppress(OneCError):  # already unposted (a retry) is fine
            await self.client.unpost_document(PAYMENT_ORDERS, link.external_id)
        await self.client.update(PAYMENT_ORDERS, link.external_id, {"DeletionMark": True})
        await ctx.write(lambda s: forget_link(s, SYSTEM, "payment_order", str(request.id)))
        return Done(f"payment order {link.external_id} voided ({request.status})")

    async def _organisation(self, ctx: RowContext, entity: LegalEntity) -> str:
        link = await ctx.read(lambda s: find_link(s, SYSTEM, "organisation", str(entity.id)))
        if link is not None:
            return link.external_id
        found = await self.client.list(ORGANISATIONS, filter=f"ИНН eq {string(entity.inn)}")
        if not found:
            raise Refused(f"1C has no organisation with INN {entity.inn} ({entity.name}); add it in 1C or check the INN")
        ref = found[0]["Ref_Key"]
        await ctx.write(lambda s: save_link(s, SYSTEM, "organisation", str(entity.id), ref))
        return ref

    async def _own_account(self, organisation: str, account: BankAccount | None) -> str | None:
        """The organisation's account the money leaves from: ours by number, else 1C's main one."""
        if account is not None:
            found = await self.client.list(
                BANK_ACCOUNTS, filter=f"Owner eq {guid(organisation)} and НомерСчета eq {string(account.account)}", top=1)
            if found:
                return found[0]["Ref_Key"]
        record = await self.client.get(ORGANISATIONS, organisation)
        main = (record or {}).get("ОсновнойБанковскийСчет_Key")
        return main if _filled(main) else None

    # --- payments read back -------------------------------------------------------------------

    async def read_payments(self) -> int:
        """Mark paid every approved request whose 1C order has a posted write-off; how many."""
        async with self.db.session() as session:
            rows = await _open_orders(session)
        if not rows:
            return 0
        by_order = {ref: int(request_id) for request_id, ref, _ in rows}
        since = min(created for _, _, created in rows).astimezone(self.zone).replace(tzinfo=None) - timedelta(days=1)
        write_offs = await self.client.list(WRITE_OFFS, filter=f"Posted eq true and Date ge {moment(since)}",
                                            orderby="Date")
        # An order may be paid in parts: it is paid once its write-offs cover it.
        covered: dict[int, tuple[float, date, str]] = {}
        for write_off in write_offs:
            request_id = by_order.get(write_off.get("ДокументОснование") or "")
            if request_id is None:
                continue
            so_far, _, _ = covered.get(request_id, (0.0, date.min, ""))
            on = _date(write_off.get("Date")) or datetime.now(self.zone).date()
            covered[request_id] = (so_far + float(write_off.get("СуммаДокумента") or 0), on,
                                   str(write_off.get("Number") or ""))
        paid = 0
        for request_id, (amount, on, number) in covered.items():
            if await in_transaction(self.db, lambda s, r=request_id, a=amount, d=on, n=number: self._mark_paid(s, r, a, d, n)):
                paid += 1
        return paid

    async def _mark_paid(self, session: AsyncSession, request_id: int, amount: float, on: date, number: str) -> bool:
        request = await session.get(PaymentRequest, request_id)
        if request is None or request.status != "approved" or round(amount * 100) < request.amount:
            return False
        actor = Actor.system("1С")
        await transition(session, request, Action.MARK_PAID, actor, data={"paid_on": min(on, actor.today())},
                         comment=f"Списание с расчётного счёта {number} в 1С".strip())
        return True

    async def run_payments(self, interval: float | None = None) -> None:
        """Read payments back until :meth:`stop`; an unavailable 1C is tried again next time."""
        interval = interval or float(self.settings.onec_poll_seconds)
        while not self._stopping.is_set():
            try:
                count = await self.read_payments()
                if count:
                    log.info("1C: %d request(s) paid", count)
            except OneCError as error:
                log.warning("1C payments not read: %s", error)
            except Exception:  # noqa: BLE001 — the next round tries again
                log.exception("1C payments not read")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)

    async def stop(self) -> None:
        self._stopping.set()
        await self.client.aclose()


async def _open_orders(session: AsyncSession) -> list[tuple[str, str, datetime]]:
    """(request id, order ref, linked at) of the approved requests that have a 1C order: what a
    write-off may pay. Bounded by what is waiting for payment, not by every order ever made."""
    approved = [str(i) for i in (await session.scalars(
        select(PaymentRequest.id).where(PaymentRequest.status == "approved"))).all()]
    if not approved:
        return []
    return list((await session.execute(
        select(ExternalLink.local_key, ExternalLink.external_id, ExternalLink.created_at)
        .where(ExternalLink.system == SYSTEM, ExternalLink.kind == "payment_order",
               ExternalLink.local_key.in_(approved)))).all())


async def _request_with_payer(session: AsyncSession, request_id: int):
    request = await session.get(PaymentRequest, request_id)
    if request is None:
        return None
    entity = await session.get(LegalEntity, request.legal_entity_id)
    account = await session.scalar(select(BankAccount).where(BankAccount.legal_entity_id == entity.id)
                                   .order_by(BankAccount.is_default.desc(), BankAccount.id).limit(1))
    return request, entity, account


def order_marker(request: PaymentRequest) -> str:
    return f"Viza {request.number} [viza:{request.id}]"


def _filled(ref: Any) -> bool:
    return bool(ref) and ref != "00000000-0000-0000-0000-000000000000"


def _date(value: Any) -> date | None:
    try:
        return datetime.fromisoformat(str(value)).date()
    except ValueError:
        return None
