"""``OneCEmulator`` — the test-side handle: start/stop, faults, seeding helpers, inspection.

async with OneCEmulator(username="odata", password="s3cret", base="accounting") as emu:
    org = emu.add_organization("7707083893", "773601001", "ООО Виза")
    supplier = emu.add_counterparty(Description="ООО Ромашка", ИНН="7701234567", account="40702810…")
    ... the code under test talks to emu.odata_url over HTTP ...
    emu.record_payment(order_ref, "2025-01-20")   # the bank statement arrives
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote

from . import documents
from .metadata import BANK_ACCOUNTS, BANKS, COUNTERPARTIES, ITEMS, ORGS, build_schema
from .server import ODataServer
from .state import Call, Store

RUB_KEY = "8e5a5f4c-1c1c-11e5-80c5-000c29a4d6b1"  # ВалютаДенежныхСредств_Key of seeded accounts
INTERNAL_ERROR = "Произошла внутренняя ошибка OData сервиса. Дополнительные сведения можно найти в технологическом журнале."


@dataclass
class Fault:
    status: int
    message: str
    code: str
    times: int


class OneCEmulator:
    """A 1C:Бухгалтерия 3.0 standard OData interface on 127.0.0.1 (see the package docstring)."""

    def __init__(
        self,
        username: str = "odata",
        password: str = "s3cret",
        base: str = "accounting",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        number_prefix: str = "0000",
        paid_flag: bool = False,
        plus_as_space: bool = False,
    ) -> None:
        self.username, self.password, self.base = username, password, base
        self.schema = build_schema(paid_flag=paid_flag)
        self.store = Store(self.schema, number_prefix=number_prefix)
        self.calls: list[Call] = []
        self.down = False  # True: the web server answers 503 with an HTML page
        self.posting_error: str | None = None  # set: every posting fails with this text (500)
        self.plus_as_space = plus_as_space  # real 1C reads a bare "+" in the query as "+"
        self._faults: list[Fault] = []
        self._host, self._port = host, port
        self._server = ODataServer(self)
        self.base_url = ""
        self.odata_url = ""

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> Self:
        self.base_url = await self._server.start(self._host, self._port)
        self.odata_url = f"{self.base_url}/{quote(self.base)}/odata/standard.odata/"
        return self

    async def stop(self) -> None:
        await self._server.stop()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def internal_errors(self) -> list[BaseException]:
        """Exceptions raised inside the emulator itself (answered as 500); should stay empty."""
        return self._server.internal_errors

    # -- faults ----------------------------------------------------------------------------------

    def fail_next(self, status: int = 500, message: str = INTERNAL_ERROR, times: int = 1, code: str = "-1") -> None:
        """The next ``times`` authorised requests get ``status`` with an ``odata.error`` body."""
        self._faults.append(Fault(status, message, code, times))

    def _take_fault(self) -> Fault | None:
        while self._faults and self._faults[0].times <= 0:
            self._faults.pop(0)
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        return fault

    # -- inspection --------------------------------------------------------------------------------

    @property
    def entities(self) -> dict[str, dict[str, dict]]:
        """Entity set name → {Ref_Key: stored object}. Mutable: edits are visible over HTTP."""
        return self.store.entities

    def get(self, set_name: str, ref: str) -> dict | None:
        return self.store.get(set_name, ref)

    def write_offs_for(self, order_ref: str) -> list[dict]:
        """Bank write-offs (``Document_СписаниеСРасчетногоСчета``) based on the payment order."""
        ref = order_ref.lower()
        return [
            doc
            for doc in self.store.entities["Document_СписаниеСРасчетногоСчета"].values()
            if doc["ДокументОснование"] == ref
        ]

    # -- seeding (no HTTP) ---------------------------------------------------------------------------

    def add_entity(self, set_name: str, **props: Any) -> str:
        """Store an object as if it had been created in 1C; returns its Ref_Key."""
        return self.store.create(self.schema[set_name], props)["Ref_Key"]

    def add_bank(self, bik: str, name: str = "ПАО СБЕРБАНК", corr_account: str = "", city: str = "г. Москва") -> str:
        for ref, bank in self.store.entities[BANKS].items():
            if bank["Code"] == bik:
                return ref
        return self.add_entity(BANKS, Code=bik, Description=name, КоррСчет=corr_account, Город=city)

    def add_bank_account(
        self,
        owner_ref: str,
        number: str,
        *,
        bik: str = "044525225",
        owner_set: str = COUNTERPARTIES,
        **props: Any,
    ) -> str:
        sberbank = bik == "044525225"
        bank_ref = self.add_bank(
            bik, "ПАО СБЕРБАНК" if sberbank else f"БАНК {bik}", "30101810400000000225" if sberbank else ""
        )
        bank = self.store.get(BANKS, bank_ref) or {}
        fields = {
            "Owner": owner_ref,
            "Owner_Type": f"StandardODATA.{owner_set}",
            "Description": f"{number}, {bank.get('Description', '')}",
            "НомерСчета": number,
            "Банк_Key": bank_ref,
            "ВидСчета": "Расчетный",
            "ВалютаДенежныхСредств_Key": RUB_KEY,
            **props,
        }
        return self.add_entity(BANK_ACCOUNTS, **fields)

    def add_organization(
        self,
        inn: str,
        kpp: str,
        name: str,
        *,
        account: str | None = "40702810900000000001",
        bik: str = "044525225",
        **props: Any,
    ) -> str:
        """Our own company; with a settlement account set as ``ОсновнойБанковскийСчет_Key``."""
        fields = {
            "Description": name,
            "НаименованиеПолное": name,
            "НаименованиеСокращенное": name,
            "ИНН": inn,
            "КПП": kpp,
            "ЮридическоеФизическоеЛицо": "ФизическоеЛицо" if len(inn) == 12 else "ЮридическоеЛицо",
            **props,
        }
        ref = self.add_entity(ORGS, **fields)
        if account:
            account_ref = self.add_bank_account(ref, account, bik=bik, owner_set=ORGS)
            self.store.update(self.schema[ORGS], self.store.get(ORGS, ref), {"ОсновнойБанковскийСчет_Key": account_ref})
        return ref

    def add_counterparty(self, *, account: str | None = None, bik: str = "044525225", **props: Any) -> str:
        """A supplier. OData property names as keyword arguments (``Description=…, ИНН=…``);
        ``account``/``bik`` also create its settlement account (``ОсновнойБанковскийСчет_Key``)."""
        inn = str(props.get("ИНН", ""))
        fields = {
            "Description": props.get("Description") or f"Контрагент {len(self.store.entities[COUNTERPARTIES]) + 1}",
            "ЮридическоеФизическоеЛицо": "ФизическоеЛицо" if len(inn) == 12 else "ЮридическоеЛицо",
            **props,
        }
        fields.setdefault("НаименованиеПолное", fields["Description"])
        ref = self.add_entity(COUNTERPARTIES, **fields)
        if account:
            account_ref = self.add_bank_account(ref, account, bik=bik)
            self.store.update(
                self.schema[COUNTERPARTIES], self.store.get(COUNTERPARTIES, ref), {"ОсновнойБанковскийСчет_Key": account_ref}
            )
        return ref

    def add_item(self, name: str, *, service: bool = True, **props: Any) -> str:
        return self.add_entity(ITEMS, Description=name, НаименованиеПолное=name, Услуга=service, **props)

    def record_payment(self, order_ref: str, date: str | dt.date | dt.datetime, amount: float | None = None) -> str:
        """The bank statement is loaded: a posted ``Document_СписаниеСРасчетногоСчета`` based on the
        order (organisation, counterparty, accounts, amount, purpose copied); returns its Ref_Key."""
        return documents.record_payment(self.store, order_ref, date, amount)
