"""The Bitrix24 emulator driven with plain httpx over real HTTP, the way a client would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Self
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest
from aiohttp import web

from tests.emulators.bitrix24 import Bitrix24Emulator


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emu(clock: FakeClock) -> AsyncIterator[Bitrix24Emulator]:
    async with Bitrix24Emulator(clock=clock) as emulator:
        yield emulator
    assert not emulator.internal_errors


@pytest.fixture
async def client(emu: Bitrix24Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emu.webhook_url, timeout=5) as http:
        yield http


class Receiver:
    """A tiny aiohttp server standing in for the backend's event handler."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        raw = (await request.read()).decode()
        self.requests.append((request.content_type, raw, parse_qsl(raw, keep_blank_values=True)))
        return web.Response(status=self.status, text="ok" if self.status == 200 else "nope")

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/b24/events", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/b24/events"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


# ---- URL shapes, parameters, credentials ---------------------------------------------------------


async def test_webhook_url_and_envelope(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    assert emu.webhook_url.startswith("http://127.0.0.1:")
    assert emu.webhook_url.endswith("/rest/1/s3cr3tc0de/")
    response = await client.post("crm.company.add.json", json={"fields": {"TITLE": "ООО Ромашка"}})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["result"] == 1
    assert set(body["time"]) == {
        "start", "finish", "duration", "processing", "date_start", "date_finish", "operating", "operating_reset_at",
    }
    assert body["time"]["date_start"].endswith("+03:00")
    assert isinstance(body["time"]["operating_reset_at"], int)
    # without .json, with a trailing slash, method names in any case
    assert (await client.get("crm.company.get", params={"id": 1})).json()["result"]["TITLE"] == "ООО Ромашка"
    assert (await client.get("CRM.Company.Get/", params={"ID": 1})).json()["result"]["ID"] == "1"


async def test_php_style_form_and_query_parameters(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    form = "fields[TITLE]=" + quote("Оплата & доставка") + "&fields[OPPORTUNITY]=1500.5&fields[UF_CRM_TAGS][]=a&fields[UF_CRM_TAGS][]=b"
    response = await client.post(
        "crm.deal.add.json", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    deal_id = response.json()["result"]
    deal = emu.deals[deal_id]
    assert deal["TITLE"] == "Оплата & доставка"
    assert deal["OPPORTUNITY"] == "1500.50"
    assert deal["UF_CRM_TAGS"] == ["a", "b"]
    assert deal["STAGE_ID"] == "NEW" and deal["CATEGORY_ID"] == "0"
    # a GET with the parameters in the query string, brackets percent-encoded
    got = await client.get(f"crm.deal.get.json?{urlencode({'id': deal_id})}")
    assert got.json()["result"]["ID"] == str(deal_id)
    listed = await client.get("crm.deal.list", params={"filter[@ID][]": [deal_id], "select[]": ["ID", "TITLE"]})
    assert listed.json()["result"] == [{"ID": str(deal_id), "TITLE": "Оплата & доставка"}]


async def test_credentials_method_not_found_revoke_and_scope(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    base = emu.webhook_url.split("/rest/")[0]
    async with httpx.AsyncClient(timeout=5) as http:
        wrong_code = await http.get(f"{base}/rest/1/wrong/crm.deal.list")
        wrong_user = await http.get(f"{base}/rest/2/s3cr3tc0de/crm.deal.list")
    for response in (wrong_code, wrong_user):
        assert response.status_code == 401
        assert response.json() == {"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"}

    missing = await client.get("crm.deal.frobnicate")
    assert missing.status_code == 404
    assert missing.json()["error"] == "ERROR_METHOD_NOT_FOUND"

    emu.revoke()
    assert (await client.get("crm.deal.list")).status_code == 401
    emu.restore()
    assert (await client.get("crm.deal.list")).status_code == 200

    emu.deny_scope("tasks")
    denied = await client.post("tasks.task.add", json={"fields": {"TITLE": "x", "RESPONSIBLE_ID": 1}})
    assert denied.status_code == 403
    assert denied.json()["error"] == "insufficient_scope"
    assert (await client.get("crm.deal.list")).status_code == 200
    assert not emu.tasks


# ---- classic CRM entities ---------------------------------------------------------------------------


async def test_deal_crud_and_classic_errors(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    company_id = emu.add_company(TITLE="ООО Ромашка")
    deal_id = (await client.post("crm.deal.add", json={"fields": {"TITLE": "Счёт 42", "COMPANY_ID": company_id, "UF_CRM_VIZA_ID": "r-1"}})).json()["result"]
    updated = await client.post("crm.deal.update", json={"id": deal_id, "fields": {"STAGE_ID": "WON", "BOGUS": 1}})
    assert updated.json()["result"] is True
    deal = (await client.get("crm.deal.get", params={"id": deal_id})).json()["result"]
    assert deal["STAGE_ID"] == "WON" and deal["STAGE_SEMANTIC_ID"] == "S" and deal["CLOSED"] == "Y"
    assert deal["COMPANY_ID"] == str(company_id) and deal["UF_CRM_VIZA_ID"] == "r-1"
    assert "BOGUS" not in deal

    not_found = await client.get("crm.deal.get", params={"id": 999})
    assert not_found.status_code == 400
    assert not_found.json() == {"error": "", "error_description": "Not found"}
    bad_id = await client.get("crm.deal.get", params={"id": "abc"})
    assert bad_id.json()["error_description"] == "ID is not defined or invalid."

    assert (await client.post("crm.deal.delete", json={"id": deal_id})).json()["result"] is True
    assert deal_id not in emu.deals


async def test_list_paging_start_and_next(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    for n in range(120):
        emu.add_deal(TITLE=f"Deal {n}", OPPORTUNITY=n)
    first = (await client.get("crm.deal.list")).json()
    assert len(first["result"]) == 50 and first["total"] == 120 and first["next"] == 50
    last = (await client.get("crm.deal.list", params={"start": 100})).json()
    assert len(last["result"]) == 20 and last["total"] == 120 and "next" not in last
    fast = (await client.get("crm.deal.list", params={"start": -1})).json()
    assert len(fast["result"]) == 50 and fast["total"] == 0 and "next" not in fast


async def test_list_filters_order_and_select(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    for title, amount, inn in [("Альфа", 100, "1"), ("Бета", 200, "2"), ("Гамма", 300, "3"), ("альфа-2", 400, "")]:
        emu.add_deal(TITLE=title, OPPORTUNITY=amount, UF_CRM_INN=inn)

    async def ids(params: dict) -> list[str]:
        body = (await client.post("crm.deal.list", json={"select": ["ID"], **params})).json()
        return [d["ID"] for d in body["result"]]

    assert await ids({"filter": {"TITLE": "альфа"}}) == ["1"]  # exact, case-insensitive
    assert await ids({"filter": {"ID": [2, 3]}}) == ["2", "3"]  # array = IN
    assert await ids({"filter": {"@ID": ["1", "4"]}}) == ["1", "4"]
    assert await ids({"filter": {"!ID": 1}}) == ["2", "3", "4"]
    assert await ids({"filter": {"!=ID": [1, 2]}}) == ["3", "4"]
    assert await ids({"filter": {">OPPORTUNITY": 200}}) == ["3", "4"]
    assert await ids({"filter": {">=OPPORTUNITY": 200, "<=OPPORTUNITY": 300}}) == ["2", "3"]
    assert await ids({"filter": {"<OPPORTUNITY": "150"}}) == ["1"]
    assert await ids({"filter": {"%TITLE": "ЛЬФ"}}) == ["1", "4"]
    assert await ids({"filter": {"=%TITLE": "Аль%"}}) == ["1", "4"]
    assert await ids({"filter": {"=ID": 3}}) == ["3"]
    assert await ids({"filter": {"UF_CRM_INN": ""}}) == ["4"]  # empty value = empty field
    assert await ids({"filter": {"NO_SUCH_FIELD": "x"}}) == ["1", "2", "3", "4"]  # ignored, as in Bitrix24
    assert await ids({"order": {"OPPORTUNITY": "DESC"}}) == ["4", "3", "2", "1"]

    plain = (await client.post("crm.deal.list", json={"filter": {"ID": 1}})).json()["result"][0]
    assert "TITLE" in plain and "UF_CRM_INN" not in plain  # '*' is without user fields
    both = (await client.post("crm.deal.list", json={"filter": {"ID": 1}, "select": ["*", "UF_*"]})).json()["result"][0]
    assert both["UF_CRM_INN"] == "1" and "TITLE" in both
    only_uf = (await client.post("crm.deal.list", json={"filter": {"ID": 1}, "select": ["UF_*"]})).json()["result"][0]
    assert only_uf == {"UF_CRM_INN": "1"}


async def test_requisites_allow_duplicate_inn_and_bank_details(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    first = emu.add_company(TITLE="ООО Ромашка")
    second = emu.add_company(TITLE="Ромашка ООО")
    emu.add_requisite(ENTITY_TYPE_ID=4, ENTITY_ID=first, PRESET_ID=1, NAME="Организация", RQ_INN="7707083893")
    added = await client.post(
        "crm.requisite.add",
        json={"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": second, "PRESET_ID": 1, "NAME": "Организация",
                         "RQ_INN": "7707083893", "RQ_KPP": "773601001", "RQ_COMPANY_NAME": "Ромашка"}},
    )
    assert added.status_code == 200  # Bitrix24 does not refuse a duplicate INN
    requisite_id = added.json()["result"]
    found = (await client.post("crm.requisite.list", json={"filter": {"RQ_INN": "7707083893"}, "select": ["ID", "ENTITY_ID"]})).json()
    assert found["total"] == 2 and {r["ENTITY_ID"] for r in found["result"]} == {str(first), str(second)}

    missing = await client.post("crm.requisite.add", json={"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": first, "NAME": "x"}})
    assert missing.status_code == 400
    assert missing.json() == {"error": "", "error_description": "PRESET_ID is not defined or invalid."}
    orphan = await client.post("crm.requisite.add", json={"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": 999, "PRESET_ID": 1, "NAME": "x"}})
    assert orphan.json()["error_description"] == "Entity not found."
    gone = await client.get("crm.requisite.get", params={"id": 57})
    assert gone.json()["error_description"] == "The Requisite with ID '57' is not found"

    bank = await client.post(
        "crm.requisite.bankdetail.add",
        json={"fields": {"ENTITY_ID": requisite_id, "NAME": "Сбербанк", "RQ_BIK": "044525225",
                         "RQ_ACC_NUM": "40702810938000060473", "RQ_COR_ACC_NUM": "30101810400000000225"}},
    )
    bank_id = bank.json()["result"]
    listed = (await client.post("crm.requisite.bankdetail.list", json={"filter": {"ENTITY_ID": requisite_id}})).json()
    assert [b["RQ_BIK"] for b in listed["result"]] == ["044525225"]
    assert emu.bankdetails[bank_id]["ENTITY_TYPE_ID"] == "8"
    bad = await client.post("crm.requisite.bankdetail.add", json={"fields": {"ENTITY_ID": 999, "NAME": "x"}})
    assert bad.json()["error_description"] == "ENTITY_ID is not defined or invalid."


# ---- crm.item, timeline, tasks, users ---------------------------------------------------------------


async def test_smart_process_items(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    deal_id = emu.add_deal(TITLE="Сделка")
    added = await client.post(
        "crm.item.add",
        json={"entityTypeId": 1032, "fields": {"TITLE": "Заявка МГ-26-00042", "OPPORTUNITY": "1500.50",
                                               "PARENT_ID_2": deal_id, "UF_CRM_7_1639669411830": "МГ-26-00042",
                                               "xmlId": "viza:42", "nonsense": 1}},
    )
    item = added.json()["result"]["item"]
    assert item["id"] == 1 and item["title"] == "Заявка МГ-26-00042" and item["opportunity"] == 1500.5
    assert item["stageId"] == "DT1032_7:NEW" and item["categoryId"] == 7 and item["parentId2"] == deal_id
    assert item["ufCrm7_1639669411830"] == "МГ-26-00042" and item["xmlId"] == "viza:42"
    assert "nonsense" not in item and item["createdTime"].endswith("+03:00")

    moved = await client.post("crm.item.update", json={"entityTypeId": 1032, "id": 1, "fields": {"stageId": "DT1032_7:SUCCESS"}})
    assert moved.json()["result"]["item"]["stageId"] == "DT1032_7:SUCCESS"
    bad_stage = await client.post("crm.item.update", json={"entityTypeId": 1032, "id": 1, "fields": {"stageId": "WON"}})
    assert bad_stage.status_code == 400 and bad_stage.json()["error"] == "CRM_FIELD_ERROR_VALUE_NOT_VALID"

    listed = (await client.post(
        "crm.item.list",
        json={"entityTypeId": 1032, "filter": {"=xmlId": "viza:42", "@stageId": ["DT1032_7:SUCCESS"]}, "select": ["id", "title"]},
    )).json()
    assert listed["result"] == {"items": [{"id": 1, "title": "Заявка МГ-26-00042"}]} and listed["total"] == 1
    original = (await client.get("crm.item.get", params={"entityTypeId": 1032, "id": 1, "useOriginalUfNames": "Y"})).json()
    assert original["result"]["item"]["UF_CRM_7_1639669411830"] == "МГ-26-00042"

    no_type = await client.get("crm.item.get", params={"entityTypeId": 9999, "id": 1})
    assert no_type.status_code == 400 and no_type.json()["error"] == "NOT_FOUND"
    no_item = await client.get("crm.item.get", params={"entityTypeId": 1032, "id": 77})
    assert no_item.status_code == 400 and no_item.json() == {"error": "NOT_FOUND", "error_description": "Item not found"}
    bad_filter = await client.post("crm.item.list", json={"entityTypeId": 1032, "filter": {"FOO": 1}})
    assert bad_filter.json()["error"] == "INVALID_ARG_VALUE"
    # deals through crm.item see the crm.deal record, typed and camelCase
    via_item = (await client.get("crm.item.get", params={"entityTypeId": 2, "id": deal_id})).json()["result"]["item"]
    assert via_item["id"] == deal_id and via_item["stageId"] == "NEW" and via_item["opportunity"] == 0.0


async def test_timeline_comments(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    deal_id = emu.add_deal(TITLE="Сделка")
    added = await client.post("crm.timeline.comment.add", json={"fields": {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal", "COMMENT": "Оплачено", "AUTHOR_ID": 3}})
    comment_id = added.json()["result"]
    listed = (await client.post("crm.timeline.comment.list", json={"filter": {"ENTITY_ID": deal_id, "ENTITY_TYPE": "deal"}})).json()
    assert listed["total"] == 1 and listed["result"][0]["COMMENT"] == "Оплачено" and listed["result"][0]["AUTHOR_ID"] == "3"
    assert (await client.get("crm.timeline.comment.get", params={"id": comment_id})).json()["result"]["ENTITY_TYPE"] == "deal"
    orphan = await client.post("crm.timeline.comment.add", json={"fields": {"ENTITY_ID": 999, "ENTITY_TYPE": "deal", "COMMENT": "x"}})
    assert orphan.status_code == 400 and orphan.json()["error"] == "NOT_FOUND"


async def test_tasks(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    added = await client.post(
        "tasks.task.add",
        json={"fields": {"TITLE": "Оплатить счёт", "RESPONSIBLE_ID": 3, "DEADLINE": "2026-05-01T15:00:00+00:00", "UF_CRM_TASK": ["D_42"]}},
    )
    task = added.json()["result"]["task"]
    assert task["id"] == "1" and task["responsibleId"] == "3" and task["title"] == "Оплатить счёт"
    assert task["deadline"] == "2026-05-01T18:00:00+03:00"  # stored in the portal's time zone
    assert "ufCrmTask" not in task  # only when selected
    got = (await client.get("tasks.task.get", params={"taskId": 1, "select[]": ["ID", "UF_CRM_TASK"]})).json()
    assert got["result"]["task"]["ufCrmTask"] == ["D_42"]
    assert (await client.get("tasks.task.get", params={"taskId": 99})).json()["result"] == []

    emu.add_task(TITLE="Другое", RESPONSIBLE_ID=2, UF_CRM_TASK=["D_7"])
    by_deal = (await client.post("tasks.task.list", json={"filter": {"UF_CRM_TASK": "D_42"}, "select": ["ID", "TITLE"]})).json()
    assert by_deal["result"] == {"tasks": [{"id": "1", "title": "Оплатить счёт"}]} and by_deal["total"] == 1
    by_title = (await client.post("tasks.task.list", json={"filter": {"TITLE": "%счёт%"}, "select": ["ID"]})).json()
    assert [t["id"] for t in by_title["result"]["tasks"]] == ["1"]
    newest_first = (await client.post("tasks.task.list", json={"select": ["ID"]})).json()
    assert [t["id"] for t in newest_first["result"]["tasks"]] == ["2", "1"]

    updated = await client.post("tasks.task.update", json={"taskId": 1, "fields": {"STATUS": 5}})
    assert updated.json()["result"]["task"]["status"] == "5"
    no_title = await client.post("tasks.task.add", json={"fields": {"RESPONSIBLE_ID": 1}})
    assert no_title.status_code == 400 and no_title.json()["error"] == "ERROR_CORE"
    nobody = await client.post("tasks.task.add", json={"fields": {"TITLE": "x", "RESPONSIBLE_ID": 777}})
    assert nobody.json()["error"] == "ERROR_CORE"


async def test_user_get(client: httpx.AsyncClient) -> None:
    users = (await client.get("user.get", params={"ID": 3})).json()
    assert [u["ID"] for u in users["result"]] == ["3"] and users["total"] == 1
    by_filter = (await client.post("user.get", json={"FILTER": {"@ID": [1, 2]}})).json()
    assert [u["ID"] for u in by_filter["result"]] == ["1", "2"]


# ---- batch -------------------------------------------------------------------------------------------------


async def test_batch_with_references_counts_as_one_request(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "batch",
        json={
            "halt": 0,
            "cmd": {
                "c1": "crm.item.add?entityTypeId=1032&fields[title]=Заявка",
                "d1": "crm.deal.add?fields[TITLE]=Сделка&fields[UF_CRM_ITEM]=$result[c1][item][id]",
                "g": "crm.deal.get?id=$result[d1]",
                "l": "crm.deal.list?filter[ID]=$result[d1]&select[]=ID",
                "bad": "crm.deal.get?id=999",
            },
        },
    )
    assert response.status_code == 200
    body = response.json()["result"]
    assert body["result"]["c1"]["item"]["id"] == 1
    assert body["result"]["g"]["UF_CRM_ITEM"] == "1"
    assert body["result"]["l"] == [{"ID": str(body["result"]["d1"])}]
    assert body["result_total"] == {"l": 1}
    assert body["result_next"] == []  # PHP's empty array
    assert body["result_error"] == {"bad": {"error": "", "error_description": "Not found"}}
    assert set(body["result_time"]) == {"c1", "d1", "g", "l"}
    assert "time" in response.json()
    assert emu.hits == 1 and emu.commands == 5
    assert [c.method for c in emu.calls if c.batch] == ["crm.item.add", "crm.deal.add", "crm.deal.get", "crm.deal.list", "crm.deal.get"]


async def test_batch_form_encoded_twice_halt_and_limit(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    # the sub-query is URL-encoded, then encoded again as the value of cmd[...]
    inner = "crm.company.add?" + urlencode({"fields[TITLE]": "John&Martin"})
    form = urlencode({"cmd[0]": inner, "cmd[1]": "crm.company.get?id=$result[0]", "halt": "0"})
    response = await client.post("batch", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    result = response.json()["result"]["result"]
    assert isinstance(result, list)  # numeric command keys come back as a JSON list
    assert result[1]["TITLE"] == "John&Martin"

    halted = (await client.post("batch", json={"halt": 1, "cmd": {"a": "crm.deal.get?id=404", "b": "crm.company.add?fields[TITLE]=x"}})).json()
    assert halted["result"]["result"] == [] and list(halted["result"]["result_error"]) == ["a"]
    assert len(emu.companies) == 1  # "b" never ran

    cmd = {f"c{i}": "crm.deal.list?select[]=ID" for i in range(51)}
    too_long = (await client.post("batch", json={"cmd": cmd})).json()["result"]
    assert len(too_long["result"]) == 50
    assert too_long["result_error"] == {"c50": {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"}}
    nested = (await client.post("batch", json={"cmd": {"x": "batch?cmd[y]=user.current"}})).json()["result"]
    assert nested["result_error"]["x"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"


# ---- limits and faults --------------------------------------------------------------------------------------


async def test_leaky_bucket(emu: Bitrix24Emulator, client: httpx.AsyncClient, clock: FakeClock) -> None:
    for _ in range(50):
        assert (await client.post("crm.company.add", json={"fields": {"TITLE": "x"}})).status_code == 200
    refused = await client.post("crm.company.add", json={"fields": {"TITLE": "x"}})
    assert refused.status_code == 503
    assert refused.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    assert len(emu.companies) == 50  # the refused request did nothing
    assert (emu.hits, emu.rejected, emu.max_level) == (50, 1, 50)

    clock.advance(1.0)  # drains 2
    assert (await client.get("crm.company.list")).status_code == 200
    assert (await client.get("crm.company.list")).status_code == 200
    assert (await client.get("crm.company.list")).status_code == 503
    assert (emu.hits, emu.rejected) == (52, 2)
    clock.advance(25.0)
    assert emu.bucket_level == 0


async def test_operation_time_limit(emu: Bitrix24Emulator, client: httpx.AsyncClient, clock: FakeClock) -> None:
    deal_id = emu.add_deal(TITLE="x")
    emu.block_method("crm.deal.update", seconds=10)
    blocked = await client.post("crm.deal.update", json={"id": deal_id, "fields": {"TITLE": "y"}})
    assert blocked.status_code == 429
    assert blocked.json() == {"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."}
    assert (await client.get("crm.deal.get", params={"id": deal_id})).status_code == 200
    in_batch = (await client.post("batch", json={"cmd": {"u": f"crm.deal.update?id={deal_id}&fields[TITLE]=y"}})).json()
    assert in_batch["result"]["result_error"]["u"]["error"] == "OPERATION_TIME_LIMIT"
    assert emu.deals[deal_id]["TITLE"] == "x"

    clock.advance(10.5)
    done = await client.post("crm.deal.update", json={"id": deal_id, "fields": {"TITLE": "y"}})
    assert done.status_code == 200 and done.json()["time"]["operating"] >= 0

    emu.method_cost["crm.deal.get"] = 500.0  # one heavy call exceeds the 480 s budget
    heavy = (await client.get("crm.deal.get", params={"id": deal_id})).json()["time"]
    assert heavy["operating"] > 480
    # the minute's basket began with the first crm.deal.get, 10.5 s before, and lives 10 minutes
    assert heavy["operating_reset_at"] - heavy["finish"] == pytest.approx(589.5, abs=1)
    assert (await client.get("crm.deal.get", params={"id": deal_id})).status_code == 429
    emu.method_cost.clear()
    clock.advance(589)
    assert (await client.get("crm.deal.get", params={"id": deal_id})).status_code == 429
    clock.advance(1)
    assert (await client.get("crm.deal.get", params={"id": deal_id})).status_code == 200


async def test_down_and_fail_next(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    emu.down = True
    maintenance = await client.get("crm.deal.list")
    assert maintenance.status_code == 503
    assert maintenance.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        json.loads(maintenance.text)
    emu.down = False

    emu.fail_next("crm.deal.add", times=1)
    failed = await client.post("crm.deal.add", json={"fields": {"TITLE": "a"}})
    assert failed.status_code == 500
    assert failed.json() == {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}
    assert not emu.deals
    assert (await client.post("crm.deal.add", json={"fields": {"TITLE": "a"}})).status_code == 200

    emu.fail_next("crm.deal.add", status=504, error="GATEWAY_TIMEOUT", after=True)
    lost = await client.post("crm.deal.add", json={"fields": {"TITLE": "b"}})
    assert lost.status_code == 504
    assert [d["TITLE"] for d in emu.deals.values()] == ["a", "b"]  # made, but the answer was lost


# ---- events ---------------------------------------------------------------------------------------------


async def test_event_delivery_to_bound_handler(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    async with Receiver() as receiver:
        bound = await client.post("event.bind", json={"event": "onCrmDealUpdate", "handler": receiver.url})
        assert bound.json()["result"] is True
        again = await client.post("event.bind", json={"event": "ONCRMDEALUPDATE", "handler": receiver.url})
        assert again.json()["error"] == "ERROR_HANDLER_ALREADY_EXIST"
        handlers = (await client.get("event.get")).json()["result"]
        assert handlers == [{"event": "ONCRMDEALUPDATE", "handler": receiver.url, "auth_type": "0", "offline": 0}]

        deal_id = emu.add_deal(TITLE="x")
        await client.post("crm.deal.update", json={"id": deal_id, "fields": {"TITLE": "y"}})
        await emu.flush_events()
        assert len(receiver.requests) == 1
        content_type, raw, pairs = receiver.requests[0]
        assert content_type == "application/x-www-form-urlencoded"
        assert "data%5BFIELDS%5D%5BID%5D=" in raw  # PHP-style keys, brackets encoded
        assert [k for k, _ in pairs] == [
            "event", "event_handler_id", "data[FIELDS][ID]", "ts", "auth[domain]", "auth[client_endpoint]",
            "auth[server_endpoint]", "auth[member_id]", "auth[application_token]",
        ]
        form = dict(pairs)
        assert form["event"] == "ONCRMDEALUPDATE" and form["data[FIELDS][ID]"] == str(deal_id)
        assert form["auth[domain]"] == "viza-test.bitrix24.ru"
        assert form["auth[client_endpoint]"] == "https://viza-test.bitrix24.ru/rest/"
        assert form["auth[server_endpoint]"] == "https://oauth.bitrix.info/rest/"
        assert form["auth[application_token]"] == "apptoken123"
        assert form["ts"].isdigit()
        assert emu.event_deliveries[0].ok

        # a user drags the deal in the UI: no bucket, same event
        hits = emu.hits
        deliveries = await emu.move_deal(deal_id, "WON")
        assert emu.hits == hits and emu.deals[deal_id]["STAGE_ID"] == "WON"
        assert [d.status for d in deliveries] == [200] and len(receiver.requests) == 2

        status, _ = await emu.post_event(receiver.url, "ONCRMDEALUPDATE", deal_id, application_token="forged")
        assert status == 200 and dict(receiver.requests[-1][2])["auth[application_token]"] == "forged"

        assert (await client.post("event.unbind", json={"event": "ONCRMDEALUPDATE", "handler": receiver.url})).json()["result"] == {"count": 1}
        await client.post("crm.deal.update", json={"id": deal_id, "fields": {"TITLE": "z"}})
        await emu.flush_events()
        assert len(receiver.requests) == 3


async def test_failed_deliveries_are_recorded_not_retried(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    async with Receiver(status=500) as broken:
        emu.bind_event("ONCRMDEALADD", broken.url)
        emu.bind_event("ONCRMDEALADD", "http://127.0.0.1:9/nothing-listens")
        await client.post("crm.deal.add", json={"fields": {"TITLE": "x"}})
        await emu.flush_events()
        assert len(broken.requests) == 1
    by_url = {d.url: d for d in emu.event_deliveries}
    assert by_url[broken.url].status == 500 and by_url[broken.url].body == "nope" and not by_url[broken.url].ok
    unreachable = by_url["http://127.0.0.1:9/nothing-listens"]
    assert unreachable.status is None and unreachable.error
    assert len(emu.event_deliveries) == 2


async def test_stage_history_of_a_deal(emu: Bitrix24Emulator, client: httpx.AsyncClient) -> None:
    deal = emu.add_deal(TITLE="Поставка", STAGE_ID="PREPARATION")
    await emu.move_deal(deal, "EXECUTING")
    await client.post("crm.deal.update.json", json={"id": deal, "fields": {"STAGE_ID": "WON"}})
    await client.post("crm.deal.update.json", json={"id": deal, "fields": {"TITLE": "Поставка (итог)"}})  # no move
    body = (await client.post("crm.stagehistory.list.json", json={
        "entityTypeId": 2, "filter": {"OWNER_ID": deal}, "order": {"ID": "DESC"}, "select": ["STAGE_ID", "TYPE_ID"]})).json()
    assert body["result"]["items"] == [{"STAGE_ID": "WON", "TYPE_ID": 3}, {"STAGE_ID": "EXECUTING", "TYPE_ID": 2},
                                       {"STAGE_ID": "PREPARATION", "TYPE_ID": 1}]
    refused = await client.post("crm.stagehistory.list.json", json={"entityTypeId": 1})
    assert refused.status_code == 400
