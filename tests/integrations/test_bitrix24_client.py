"""The Bitrix24 client against the portal emulator: paging, batches, errors that say what to do."""

from __future__ import annotations

import pytest

from backend.integrations.bitrix24.client import Bitrix24Client, Bitrix24Error
from tests.emulators.bitrix24 import Bitrix24Emulator


@pytest.fixture
async def portal():
    async with Bitrix24Emulator() as emu:
        yield emu


@pytest.fixture
async def client(portal):
    b24 = Bitrix24Client(portal.webhook_url)
    yield b24
    await b24.aclose()


async def test_a_list_is_read_page_by_page(portal, client):
    for n in range(120):
        portal.add_company(TITLE=f"Компания {n}")
    companies = await client.list_all("crm.company.list", {"select": ["ID", "TITLE"], "order": {"ID": "ASC"}})
    assert [c["TITLE"] for c in companies] == [f"Компания {n}" for n in range(120)]
    assert client.hits == 3  # 50 + 50 + 20


async def test_a_batch_uses_earlier_results_and_reports_each_failure(portal, client):
    answer = await client.batch({
        "company": ("crm.company.add", {"fields": {"TITLE": "ООО «Ромашка» & Co"}}),
        "requisite": ("crm.requisite.add", {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": "$result[company]",
                                                       "PRESET_ID": 1, "NAME": "Реквизиты", "RQ_INN": "7707083893"}}),
        "broken": ("crm.requisite.add", {"fields": {"ENTITY_TYPE_ID": 4}}),
    })
    company = portal.companies[int(answer.results["company"])]
    assert company["TITLE"] == "ООО «Ромашка» & Co"
    assert str(portal.requisites[int(answer.results["requisite"])]["ENTITY_ID"]) == str(company["ID"])
    assert set(answer.errors) == {"broken"} and answer.errors["broken"].description
    assert client.hits == 1


async def test_errors_say_whether_to_wait_or_to_act(portal, client):
    portal.revoke()
    with pytest.raises(Bitrix24Error) as revoked:
        await client.call("crm.deal.list")
    assert revoked.value.access and "VIZA_BITRIX24_WEBHOOK_URL" in str(revoked.value)
    portal.restore()
    portal.down = True
    with pytest.raises(Bitrix24Error) as down:
        await client.call("crm.deal.list")
    assert down.value.transient and down.value.code == "PORTAL_UNAVAILABLE"
    portal.down = False
    portal.block_method("crm.deal.update", seconds=60)
    with pytest.raises(Bitrix24Error) as blocked:
        await client.call("crm.deal.update", {"id": 1, "fields": {}})
    assert blocked.value.transient and blocked.value.code == "OPERATION_TIME_LIMIT"
    with pytest.raises(Bitrix24Error) as unknown:
        await client.call("crm.deal.fly")
    assert unknown.value.code == "ERROR_METHOD_NOT_FOUND" and not unknown.value.transient


async def test_a_wrong_address_is_an_error_not_a_hang():
    client = Bitrix24Client("http://127.0.0.1:9/rest/1/abc/", timeout=2)
    with pytest.raises(Bitrix24Error) as error:
        await client.call("crm.deal.list")
    assert error.value.code == "NETWORK" and error.value.transient
    await client.aclose()
