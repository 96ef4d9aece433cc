"""The 1C OData emulator, driven with plain httpx over real HTTP."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx
import pytest

from tests.emulators.onec import EMPTY_GUID, OneCEmulator

PAYMENT_ORDER = "Document_ПлатежноеПоручение"
WRITE_OFF = "Document_СписаниеСРасчетногоСчета"


def url(path: str, **params: object) -> str:
    """Build ``path?query`` the way a 1C client must: spaces as %20, never '+'."""
    if not params:
        return path
    query = "&".join(f"{quote(k, safe='$')}={quote(str(v), safe='')}" for k, v in params.items())
    return f"{path}?{query}"


@pytest.fixture
async def emu():
    async with OneCEmulator(username="odata", password="s3cret", base="accounting") as emulator:
        yield emulator
        assert emulator.internal_errors == []


@pytest.fixture
async def client(emu):
    async with httpx.AsyncClient(base_url=emu.odata_url, auth=("odata", "s3cret"), timeout=5) as c:
        yield c


@pytest.fixture
def seeded(emu):
    org = emu.add_organization("7707083893", "773601001", "ООО Виза")
    supplier = emu.add_counterparty(
        Description="ООО Ромашка", ИНН="7701234567", КПП="770101001", account="40702810000000000002"
    )
    return {
        "org": org,
        "org_account": emu.get("Catalog_Организации", org)["ОсновнойБанковскийСчет_Key"],
        "supplier": supplier,
        "supplier_account": emu.get("Catalog_Контрагенты", supplier)["ОсновнойБанковскийСчет_Key"],
    }


def order_body(seeded: dict, **overrides: object) -> dict:
    body = {
        "Date": "2025-01-15T00:00:00",
        "ВидОперации": "ОплатаПоставщику",
        "Организация_Key": seeded["org"],
        "СчетОрганизации_Key": seeded["org_account"],
        "Контрагент": seeded["supplier"],
        "Контрагент_Type": "StandardODATA.Catalog_Контрагенты",
        "СчетКонтрагента_Key": seeded["supplier_account"],
        "СуммаДокумента": 12500.5,
        "НазначениеПлатежа": "Оплата по счету № 17 от 10.01.2025. Без НДС",
        "СтавкаНДС": "БезНДС",
    }
    body.update(overrides)
    return body


async def create_order(client: httpx.AsyncClient, seeded: dict, query: str = "", **overrides: object) -> dict:
    response = await client.post(f"{PAYMENT_ORDER}?$format=json{query}", json=order_body(seeded, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def error_of(response: httpx.Response) -> dict:
    error = response.json()["odata.error"]
    assert error["message"]["lang"] == "ru"
    return error


# -- auth & formats ---------------------------------------------------------------------------------


async def test_basic_auth_is_required(emu):
    async with httpx.AsyncClient(base_url=emu.odata_url, timeout=5) as anonymous:
        response = await anonymous.get(url("Catalog_Контрагенты", **{"$format": "json"}))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="1C:Enterprise"'
        wrong = await anonymous.get("Catalog_Контрагенты", auth=("odata", "nope"))
        assert wrong.status_code == 401
        token = base64.b64encode(b"odata:s3cret").decode()
        ok = await anonymous.get(url("Catalog_Контрагенты", **{"$format": "json"}), headers={"Authorization": f"Basic {token}"})
        assert ok.status_code == 200
    assert [c.status for c in emu.calls] == [401, 401, 200]


async def test_collection_and_entity_json_shapes(emu, client, seeded):
    response = await client.get(url("Catalog_Контрагенты", **{"$format": "json"}))
    assert response.status_code == 200
    body = response.json()
    assert body["odata.metadata"] == f"{emu.odata_url}$metadata#Catalog_Контрагенты"
    (row,) = body["value"]
    assert row["Ref_Key"] == seeded["supplier"]
    assert row["Code"] == "00-000001"
    assert row["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо"
    assert row["DeletionMark"] is False and row["IsFolder"] is False
    assert row["Parent_Key"] == EMPTY_GUID
    assert row["ОсновнойБанковскийСчет_Key"] == seeded["supplier_account"]
    assert row["КонтактнаяИнформация"] == []
    assert isinstance(row["DataVersion"], str) and row["DataVersion"].endswith("=")
    assert row["ОсновнойБанковскийСчет@navigationLinkUrl"] == (
        f"Catalog_Контрагенты(guid'{seeded['supplier']}')/ОсновнойБанковскийСчет"
    )

    one = await client.get(url(f"Catalog_Контрагенты(guid'{seeded['supplier']}')", **{"$format": "json"}))
    assert one.status_code == 200
    assert one.json()["odata.metadata"] == f"{emu.odata_url}$metadata#Catalog_Контрагенты/@Element"
    assert one.json()["ИНН"] == "7701234567"

    account = (await client.get(url(f"Catalog_БанковскиеСчета(guid'{seeded['supplier_account']}')", **{"$format": "json"}))).json()
    assert account["Owner"] == seeded["supplier"]
    assert account["Owner_Type"] == "StandardODATA.Catalog_Контрагенты"
    assert account["НомерСчета"] == "40702810000000000002"
    bank = (await client.get(url(f"Catalog_Банки(guid'{account['Банк_Key']}')", **{"$format": "json"}))).json()
    assert (bank["Code"], bank["КоррСчет"]) == ("044525225", "30101810400000000225")


async def test_atom_by_default_json_by_accept_and_nometadata(client, seeded):
    atom = await client.get("Catalog_Организации")
    assert atom.status_code == 200
    assert atom.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(atom.content)
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert seeded["org"] in atom.text

    by_accept = await client.get("Catalog_Организации", headers={"Accept": "application/json"})
    assert by_accept.json()["value"][0]["ИНН"] == "7707083893"

    bare = await client.get(url("Catalog_Организации", **{"$format": "application/json;odata=nometadata"}))
    body = bare.json()
    assert "odata.metadata" not in body
    assert not any("@navigationLinkUrl" in key for key in body["value"][0])

    missing = await client.get("Catalog_Нет")
    assert missing.status_code == 404
    assert ET.fromstring(missing.content).tag.endswith("error")


async def test_cyrillic_path_percent_encoded_or_not(emu, client, seeded):
    encoded = quote("Catalog_Контрагенты") + f"(guid'{seeded['supplier']}')?$format=json"
    response = await client.get(encoded)
    assert response.status_code == 200
    assert response.json()["Description"] == "ООО Ромашка"
    assert emu.calls[-1].path == f"Catalog_Контрагенты(guid'{seeded['supplier']}')"
    assert emu.calls[-1].query == {"$format": "json"}


# -- $filter --------------------------------------------------------------------------------------


@pytest.fixture
def people(emu, seeded):
    return {
        "ivanov": emu.add_counterparty(Description="ИП Иванов И.И.", ИНН="770987654321"),
        "obrien": emu.add_counterparty(Description="O'Brien Ltd", ИНН="9909000000", Комментарий="иностранец"),
        "deleted": emu.add_counterparty(Description="ООО Старое", ИНН="7700000001", DeletionMark=True),
        **seeded,
    }


async def names(client: httpx.AsyncClient, flt: str, set_name: str = "Catalog_Контрагенты", **extra: object) -> list[str]:
    response = await client.get(url(set_name, **{"$format": "json", "$filter": flt, **extra}))
    assert response.status_code == 200, response.text
    return [row.get("Description", row.get("Number")) for row in response.json()["value"]]


async def test_filter_cases(client, people):
    assert await names(client, f"Ref_Key eq guid'{people['ivanov']}'") == ["ИП Иванов И.И."]
    assert await names(client, f"Ref_Key eq guid'{people['ivanov'].upper()}'") == ["ИП Иванов И.И."]
    assert await names(client, "ИНН eq '7701234567' and КПП eq '770101001'") == ["ООО Ромашка"]
    assert sorted(await names(client, "ИНН eq '7701234567' or ЮридическоеФизическоеЛицо eq 'ФизическоеЛицо'")) == [
        "ИП Иванов И.И.",
        "ООО Ромашка",
    ]
    assert await names(client, "DeletionMark eq true") == ["ООО Старое"]
    assert await names(client, "not (DeletionMark eq true) and (ИНН eq '9909000000' or ИНН eq 'нет')") == ["O'Brien Ltd"]
    assert await names(client, "Description eq 'O''Brien Ltd'") == ["O'Brien Ltd"]
    assert await names(client, "substringof('ромаш', Description)") == ["ООО Ромашка"]
    assert await names(client, "startswith(Description, 'ИП') eq true") == ["ИП Иванов И.И."]
    assert await names(client, "IsFolder eq false and Parent_Key eq guid'00000000-0000-0000-0000-000000000000'", **{"$top": 1}) == [
        "ООО Ромашка"
    ]


async def test_filter_by_owner_navigation_and_dates(client, people, emu):
    accounts = await client.get(
        url("Catalog_БанковскиеСчета", **{"$format": "json", "$filter": f"Owner eq cast(guid'{people['supplier']}', 'Catalog_Контрагенты')"})
    )
    assert [a["НомерСчета"] for a in accounts.json()["value"]] == ["40702810000000000002"]
    as_string = await client.get(url("Catalog_БанковскиеСчета", **{"$format": "json", "$filter": f"Owner eq '{people['org']}'"}))
    assert [a["Owner_Type"] for a in as_string.json()["value"]] == ["StandardODATA.Catalog_Организации"]
    assert await names(client, "isof(Owner, 'Catalog_Организации')", "Catalog_БанковскиеСчета") == [
        "40702810900000000001, ПАО СБЕРБАНК"
    ]

    for day, amount in (("2024-12-31T23:59:59", 100), ("2025-01-01T00:00:00", 200), ("2025-02-01T10:00:00", 300)):
        emu.add_entity(
            PAYMENT_ORDER,
            Date=day,
            СуммаДокумента=amount,
            Организация_Key=people["org"],
            Контрагент=people["supplier"],
            Контрагент_Type="StandardODATA.Catalog_Контрагенты",
        )
    january = await client.get(
        url(PAYMENT_ORDER, **{
            "$format": "json",
            "$filter": "Date ge datetime'2025-01-01T00:00:00' and Date lt datetime'2025-02-01T00:00:00'",
        })
    )
    assert [d["СуммаДокумента"] for d in january.json()["value"]] == [200]
    by_org_inn = await client.get(url(PAYMENT_ORDER, **{"$format": "json", "$filter": "Организация/ИНН eq '7707083893' and СуммаДокумента gt 150"}))
    assert sorted(d["СуммаДокумента"] for d in by_org_inn.json()["value"]) == [200, 300]
    by_year = await client.get(url(PAYMENT_ORDER, **{"$format": "json", "$filter": "year(Date) eq 2024"}))
    assert [d["Number"] for d in by_year.json()["value"]] == ["0000-000001"]  # numbering restarts each year


async def test_filter_errors(client, people):
    unknown = await client.get(url("Catalog_Контрагенты", **{"$format": "json", "$filter": "ИННН eq '1'"}))
    assert unknown.status_code == 400
    assert "ИННН" in error_of(unknown)["message"]["value"]

    guid_as_string = await client.get(url("Catalog_Контрагенты", **{"$format": "json", "$filter": f"Ref_Key eq '{people['org']}'"}))
    assert guid_as_string.status_code == 400

    broken = await client.get(url("Catalog_Контрагенты", **{"$format": "json", "$filter": "ИНН eq '1' and"}))
    assert broken.status_code == 400
    unclosed = await client.get(url("Catalog_Контрагенты", **{"$format": "json", "$filter": "(ИНН eq '1'"}))
    assert unclosed.status_code == 400
    bad_date = await client.get(url(PAYMENT_ORDER, **{"$format": "json", "$filter": "Date gt '2025-01-01'"}))
    assert bad_date.status_code == 400


async def test_plus_in_query_is_not_a_space(client, people):
    # httpx's params= encodes spaces as '+'; 1C takes '+' literally and the query fails
    response = await client.get("Catalog_Контрагенты", params={"$format": "json", "$filter": "ИНН eq '7701234567'"})
    assert response.status_code == 500
    assert "ГДЕ" in error_of(response)["message"]["value"]


async def test_plus_as_space_can_be_allowed():
    async with OneCEmulator(plus_as_space=True) as emu:
        emu.add_counterparty(Description="ООО Ромашка", ИНН="7701234567")
        async with httpx.AsyncClient(base_url=emu.odata_url, auth=("odata", "s3cret")) as client:
            response = await client.get("Catalog_Контрагенты", params={"$format": "json", "$filter": "ИНН eq '7701234567'"})
            assert response.status_code == 200
            assert len(response.json()["value"]) == 1


# -- paging, order, select, count -----------------------------------------------------------------


async def test_top_skip_orderby_inlinecount_select(client, emu):
    for name, inn in (("Бета", "3"), ("Альфа", "2"), ("Гамма", "1"), ("Альфа", "0")):
        emu.add_counterparty(Description=name, ИНН=inn)
    response = await client.get(
        url("Catalog_Контрагенты", **{
            "$format": "json",
            "$orderby": "Description asc, ИНН desc",
            "$top": 2,
            "$skip": 1,
            "$inlinecount": "allpages",
            "$select": "Description,ИНН",
        })
    )
    body = response.json()
    assert body["odata.count"] == "4"  # a string, counted before $top/$skip
    assert body["value"] == [{"Description": "Альфа", "ИНН": "0"}, {"Description": "Бета", "ИНН": "3"}]
    newest = await client.get(url("Catalog_Контрагенты", **{"$format": "json", "$orderby": "Code desc", "$top": 1}))
    assert newest.json()["value"][0]["Code"] == "00-000004"
    count = await client.get(url("Catalog_Контрагенты/$count", **{"$filter": "Description eq 'Альфа'"}))
    assert count.text == "2"
    bad = await client.get(url("Catalog_Контрагенты", **{"$format": "json", "$top": "-1"}))
    assert bad.status_code == 400
    bad_order = await client.get(url("Catalog_Контрагенты", **{"$format": "json", "$orderby": "Нет desc"}))
    assert bad_order.status_code == 400
    expand_is_accepted = await client.get(url("Catalog_Контрагенты", **{"$format": "json", "$expand": "ОсновнойБанковскийСчет"}))
    assert expand_is_accepted.status_code == 200


# -- writes ---------------------------------------------------------------------------------------


async def test_post_patch_delete_catalog(emu, client):
    created = await client.post(
        url("Catalog_Контрагенты", **{"$format": "json"}),
        json={"Description": "ООО Новый", "ИНН": "7712345678", "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо"},
    )
    assert created.status_code == 201
    body = created.json()
    ref = body["Ref_Key"]
    assert body["odata.metadata"].endswith("#Catalog_Контрагенты/@Element")
    assert body["Code"] == "00-000001" and body["DeletionMark"] is False
    assert f"(guid'{ref}')" in created.headers["Location"]
    assert ref in emu.entities["Catalog_Контрагенты"]

    patched = await client.patch(
        url(f"Catalog_Контрагенты(guid'{ref}')", **{"$format": "json"}),
        json={
            "КПП": "771201001",
            "КонтактнаяИнформация": [{"LineNumber": "1", "Тип": "АдресЭлектроннойПочты", "Представление": "a@b.ru"}],
        },
    )
    assert patched.status_code == 200
    assert patched.json()["КПП"] == "771201001" and patched.json()["Description"] == "ООО Новый"
    assert patched.json()["DataVersion"] != body["DataVersion"]
    assert patched.json()["КонтактнаяИнформация"][0]["Ref_Key"] == ref
    replaced = await client.patch(
        url(f"Catalog_Контрагенты(guid'{ref}')", **{"$format": "json"}),
        json={"КонтактнаяИнформация": [{"LineNumber": 1, "Тип": "Телефон", "Представление": "+7 495 000-00-00"}]},
    )
    rows = replaced.json()["КонтактнаяИнформация"]
    assert [(r["LineNumber"], r["Тип"]) for r in rows] == [("1", "Телефон")]  # Edm.Int64 comes back as a string

    stale = await client.patch(
        url(f"Catalog_Контрагенты(guid'{ref}')", **{"$format": "json"}),
        json={"Комментарий": "x"},
        headers={"If-Match": body["DataVersion"]},
    )
    assert stale.status_code == 412

    typo = await client.patch(url(f"Catalog_Контрагенты(guid'{ref}')", **{"$format": "json"}), json={"Инн": "1"})
    assert typo.status_code == 400
    wrong_type = await client.post(url("Catalog_Контрагенты", **{"$format": "json"}), json={"Description": "X", "ИНН": 7701})
    assert wrong_type.status_code == 400

    deleted = await client.delete(f"Catalog_Контрагенты(guid'{ref}')")
    assert deleted.status_code == 204
    gone = await client.get(url(f"Catalog_Контрагенты(guid'{ref}')", **{"$format": "json"}))
    assert gone.status_code == 404
    assert error_of(gone)["code"] == "9"


async def test_unknown_entity_set_and_bad_keys(client):
    unknown = await client.get(url("Document_Фантазия", **{"$format": "json"}))
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "8"
    assert "Document_Фантазия" in error_of(unknown)["message"]["value"]
    bad_key = await client.get(url("Catalog_Контрагенты('abc')", **{"$format": "json"}))
    assert bad_key.status_code == 400


async def test_document_create_post_unpost(emu, client, seeded):
    order = await create_order(client, seeded)
    assert order["Number"] == "0000-000001"
    assert order["Posted"] is False and order["DeletionMark"] is False
    assert order["СуммаДокумента"] == 12500.5
    assert order["Контрагент"] == seeded["supplier"]
    assert order["ДокументОснование_Type"] == "StandardODATA.Undefined"

    posted = await client.post(f"{PAYMENT_ORDER}(guid'{order['Ref_Key']}')/Post?PostingModeOperational=false")
    assert posted.status_code == 200
    assert posted.content == b""
    assert emu.get(PAYMENT_ORDER, order["Ref_Key"])["Posted"] is True

    unposted = await client.post(f"{PAYMENT_ORDER}(guid'{order['Ref_Key']}')/Unpost")
    assert unposted.status_code == 200
    assert emu.get(PAYMENT_ORDER, order["Ref_Key"])["Posted"] is False

    second = await create_order(client, seeded, "&PostingModeOperational=false", СуммаДокумента=300)
    assert second["Number"] == "0000-000002"
    assert second["Posted"] is True


async def test_posting_failures(emu, client, seeded):
    no_recipient = await create_order(client, seeded, Контрагент="", Контрагент_Type="StandardODATA.Undefined")
    response = await client.post(f"{PAYMENT_ORDER}(guid'{no_recipient['Ref_Key']}')/Post?PostingModeOperational=false&$format=json")
    assert response.status_code == 500
    text = error_of(response)["message"]["value"]
    assert 'Поле "Получатель" не заполнено' in text
    assert "Платежное поручение 0000-000001 от 15.01.2025" in text
    assert emu.get(PAYMENT_ORDER, no_recipient["Ref_Key"])["Posted"] is False

    zero = await client.post(f"{PAYMENT_ORDER}?$format=json&PostingModeOperational=false", json=order_body(seeded, СуммаДокумента=0))
    assert zero.status_code == 500
    assert 'Поле "Сумма" не заполнено' in error_of(zero)["message"]["value"]
    assert len(emu.entities[PAYMENT_ORDER]) == 1  # the failed create+post wrote nothing

    good = await create_order(client, seeded)
    emu.posting_error = "Период закрыт для изменений"
    forced = await client.post(f"{PAYMENT_ORDER}(guid'{good['Ref_Key']}')/Post?PostingModeOperational=false&$format=json")
    assert forced.status_code == 500
    assert error_of(forced)["message"]["value"] == "Период закрыт для изменений"
    emu.posting_error = None
    ok = await client.post(f"{PAYMENT_ORDER}(guid'{good['Ref_Key']}')/Post?PostingModeOperational=false")
    assert ok.status_code == 200


async def test_posted_document_must_be_unposted_before_edit(client, seeded):
    order = await create_order(client, seeded, "&PostingModeOperational=false")
    key = f"{PAYMENT_ORDER}(guid'{order['Ref_Key']}')"
    refused = await client.patch(url(key, **{"$format": "json"}), json={"СуммаДокумента": 1})
    assert refused.status_code == 500
    await client.post(f"{key}/Unpost")
    accepted = await client.patch(url(key, **{"$format": "json"}), json={"СуммаДокумента": 1})
    assert accepted.status_code == 200 and accepted.json()["СуммаДокумента"] == 1


async def test_table_parts(client, seeded):
    no_line_number = await client.post(
        url(PAYMENT_ORDER, **{"$format": "json"}),
        json=order_body(seeded, РасшифровкаПлатежа=[{"СуммаПлатежа": 1}]),
    )
    assert no_line_number.status_code == 500
    direct = await client.post(url(f"{PAYMENT_ORDER}_РасшифровкаПлатежа", **{"$format": "json"}), json={"LineNumber": 1})
    assert direct.status_code == 400
    assert error_of(direct)["code"] == "13"
    order = await create_order(
        client, seeded, РасшифровкаПлатежа=[{"LineNumber": 1, "СуммаПлатежа": 12500.5, "СтавкаНДС": "БезНДС"}]
    )
    rows = await client.get(url(f"{PAYMENT_ORDER}_РасшифровкаПлатежа", **{"$format": "json", "$filter": f"Ref_Key eq guid'{order['Ref_Key']}'"}))
    assert [(r["LineNumber"], r["СуммаПлатежа"]) for r in rows.json()["value"]] == [("1", 12500.5)]


# -- faults ----------------------------------------------------------------------------------------


async def test_down_and_fail_next(emu, client, seeded):
    emu.down = True
    down = await client.get(url("Catalog_Организации", **{"$format": "json"}))
    assert down.status_code == 503
    assert down.headers["content-type"].startswith("text/html")
    emu.down = False

    emu.fail_next(status=500, message="Ошибка блокировки объекта", times=2)
    for _ in range(2):
        failed = await client.get(url("Catalog_Организации", **{"$format": "json"}))
        assert failed.status_code == 500
        assert error_of(failed)["message"]["value"] == "Ошибка блокировки объекта"
    assert (await client.get(url("Catalog_Организации", **{"$format": "json"}))).status_code == 200
    assert [c.status for c in emu.calls[-4:]] == [503, 500, 500, 200]


# -- the bank statement -------------------------------------------------------------------------------


async def test_record_payment_creates_posted_write_off(emu, client, seeded):
    order = await create_order(client, seeded, "&PostingModeOperational=false")
    write_off_ref = emu.record_payment(order["Ref_Key"], "2025-01-20")

    flt = (
        f"ДокументОснование eq cast(guid'{order['Ref_Key']}', 'Document_ПлатежноеПоручение') "
        "and Posted eq true and DeletionMark eq false"
    )
    found = await client.get(url(WRITE_OFF, **{"$format": "json", "$filter": flt}))
    (write_off,) = found.json()["value"]
    assert write_off["Ref_Key"] == write_off_ref
    assert write_off["Date"] == "2025-01-20T00:00:00"
    assert write_off["ВидОперации"] == "ОплатаПоставщику"
    assert write_off["ДокументОснование_Type"] == "StandardODATA.Document_ПлатежноеПоручение"
    assert (write_off["Организация_Key"], write_off["Контрагент"]) == (seeded["org"], seeded["supplier"])
    assert write_off["СуммаДокумента"] == 12500.5
    assert write_off["НазначениеПлатежа"] == order["НазначениеПлатежа"]
    assert (write_off["НомерВходящегоДокумента"], write_off["ДатаВходящегоДокумента"]) == ("0000-000001", "2025-01-15T00:00:00")
    assert write_off["ПроведеноБанком"] is True
    assert write_off["Number"] == "0000-000001"  # write-offs have their own numbering

    also = await client.get(
        url(WRITE_OFF, **{"$format": "json", "$filter": f"ДокументОснование eq guid'{order['Ref_Key']}' and ДокументОснование_Type eq 'StandardODATA.Document_ПлатежноеПоручение'"})
    )
    assert len(also.json()["value"]) == 1
    state = await client.get(
        url("InformationRegister_СостоянияБанковскихДокументов", **{"$format": "json", "$filter": f"СсылкаНаОбъект eq '{order['Ref_Key']}'"})
    )
    assert [s["Состояние"] for s in state.json()["value"]] == ["Оплачено"]
    partial = emu.record_payment(order["Ref_Key"], "2025-01-21", amount=100)
    assert emu.get(WRITE_OFF, partial)["СуммаДокумента"] == 100
    assert len(emu.write_offs_for(order["Ref_Key"])) == 2


async def test_paid_flag_variant():
    async with OneCEmulator(paid_flag=True) as emu:
        org = emu.add_organization("7707083893", "773601001", "ООО Виза")
        supplier = emu.add_counterparty(Description="ООО Ромашка", ИНН="7701234567", account="40702810000000000002")
        order = emu.add_entity(
            PAYMENT_ORDER, Организация_Key=org, Контрагент=supplier, Контрагент_Type="StandardODATA.Catalog_Контрагенты", СуммаДокумента=10
        )
        assert emu.get(PAYMENT_ORDER, order)["Оплачено"] is False
        emu.record_payment(order, "2025-03-01")
        assert emu.get(PAYMENT_ORDER, order)["Оплачено"] is True


# -- $metadata -------------------------------------------------------------------------------------


async def test_metadata_lists_sets_and_properties(client):
    response = await client.get("$metadata")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    edm = "{http://schemas.microsoft.com/ado/2009/11/edm}"
    sets = {s.get("Name") for s in root.iter(f"{edm}EntitySet")}
    assert {
        "Catalog_Организации",
        "Catalog_Контрагенты",
        "Catalog_Банки",
        "Catalog_БанковскиеСчета",
        "Catalog_Номенклатура",
        PAYMENT_ORDER,
        WRITE_OFF,
    } <= sets
    types = {t.get("Name"): {p.get("Name"): p.get("Type") for p in t.iter(f"{edm}Property")} for t in root.iter(f"{edm}EntityType")}
    order = types[PAYMENT_ORDER]
    assert order["Контрагент"] == "Edm.String" and order["Контрагент_Type"] == "Edm.String"
    assert order["СуммаДокумента"] == "Edm.Double" and order["Date"] == "Edm.DateTime"
    assert order["РасшифровкаПлатежа"] == "Collection(StandardODATA.Document_ПлатежноеПоручение_РасшифровкаПлатежа_RowType)"
    assert "Контрагент_Key" not in order
    assert types["Catalog_Номенклатура"]["Услуга"] == "Edm.Boolean"
