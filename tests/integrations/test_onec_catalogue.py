"""The goods catalogue read from 1C (``Catalog_Номенклатура``) against the OData emulator, and the
lines of invoices and contracts checked against it (seed 001)."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from backend.errors import DomainError, InvalidInput, ValidationFailed
from backend.integrations.onec.catalogue import (
    CatalogueRefresh,
    load_group_tree,
    read_catalogue,
    refresh_catalogue,
    vat_rate_of,
)
from backend.integrations.onec.client import OneCClient, OneCError
from backend.models import CatalogueItem, LegalEntity
from backend.services.catalogue import (
    LineIn,
    catalogue_item_view,
    check_lines,
    default_vat_rate,
    line_vat,
    lines_total,
    search_catalogue,
    vat_total,
)
from tests.emulators.onec import OneCEmulator

ITEMS = "Catalog_Номенклатура"
UNITS = "Catalog_КлассификаторЕдиницИзмерения"


def seed_catalogue(emu: OneCEmulator) -> dict[str, str]:
    """Two top folders with nested subfolders, goods, services, a deleted item, a root item.

    01 Товары ─ 0101 Бумага ─ Бумага А4 (НДС22), Бумага А3
              └ Ручка шариковая (НДС20), Старый степлер (marked for deletion)
    02 Услуги ─ 0201 Консультации ─ 020101 Юридические ─ Консультация юриста (service, ч)
              └ Доставка (service, no unit)
    (root)    Сувенир (БезНДС)
    """
    pcs = emu.add_entity(UNITS, Code="796", Description="шт", НаименованиеПолное="Штука")
    pack = emu.add_entity(UNITS, Code="778", Description="упак", НаименованиеПолное="Упаковка")
    hour = emu.add_entity(UNITS, Code="356", Description="ч", НаименованиеПолное="Час")

    def folder(code: str, name: str, parent: str | None = None) -> str:
        return emu.add_entity(ITEMS, Code=code, Description=name, IsFolder=True, **({"Parent_Key": parent} if parent else {}))

    def item(name: str, parent: str | None, **props) -> str:
        props.setdefault("Услуга", False)
        return emu.add_entity(ITEMS, Description=name, НаименованиеПолное=f"{name} (полное)",
                              **({"Parent_Key": parent} if parent else {}), **props)

    goods = folder("01", "Товары")
    paper = folder("0101", "Бумага", goods)
    services = folder("02", "Услуги")
    consulting = folder("0201", "Консультации", services)
    legal = folder("020101", "Юридические", consulting)
    return {
        "goods": goods, "paper": paper, "services": services, "consulting": consulting, "legal": legal,
        "a4": item("Бумага А4", paper, Code="00-0001", Артикул="A4-500", ЕдиницаИзмерения_Key=pack, СтавкаНДС="НДС22"),
        "a3": item("Бумага А3", paper, Code="00-0002", ЕдиницаИзмерения_Key=pack, СтавкаНДС="НДС22"),
        "pen": item("Ручка шариковая", goods, Code="00-0003", ЕдиницаИзмерения_Key=pcs, СтавкаНДС="НДС20"),
        "stapler": item("Старый степлер", goods, Code="00-0004", ЕдиницаИзмерения_Key=pcs, DeletionMark=True),
        "lawyer": item("Консультация юриста", legal, Code="00-0005", Услуга=True, ЕдиницаИзмерения_Key=hour,
                       СтавкаНДС="НДС22"),
        "delivery": item("Доставка", services, Code="00-0006", Услуга=True),
        "souvenir": item("Сувенир", None, Code="00-0007", ЕдиницаИзмерения_Key=pcs, СтавкаНДС="БезНДС"),
    }


@pytest.fixture
async def onec():
    async with OneCEmulator(username="odata", password="s3cret", base="accounting") as emu:
        yield emu


@pytest.fixture
async def refs(onec):
    return seed_catalogue(onec)


@pytest.fixture
async def onec_client(onec):
    client = OneCClient(onec.odata_url, "odata", "s3cret")
    yield client
    await client.aclose()


async def items_by_name(db) -> dict[str, CatalogueItem]:
    async with db.session() as session:
        return {i.name: i for i in await session.scalars(select(CatalogueItem))}


def codes(error: DomainError) -> set[tuple[str, str | None]]:
    errors = error.errors if isinstance(error, ValidationFailed) else [error]
    return {(e.code, e.field) for e in errors}


class TestReading:
    async def test_items_carry_their_folder_the_chain_above_it_their_unit_and_vat(self, onec, refs, onec_client):
        entries = {e.name: e for e in await read_catalogue(onec_client)}
        assert set(entries) == {"Бумага А4", "Бумага А3", "Ручка шариковая", "Старый степлер", "Консультация юриста",
                                "Доставка", "Сувенир"}  # folders are not items
        a4 = entries["Бумага А4"]
        assert (a4.ref, a4.code, a4.article, a4.full_name) == (refs["a4"], "00-0001", "A4-500", "Бумага А4 (полное)")
        assert (a4.group_code, a4.group_name, a4.groups) == ("0101", "Бумага", ("0101", "01"))
        assert (a4.unit, a4.vat_rate, a4.is_service, a4.deleted) == ("упак", 22, False, False)
        assert a4.in_group("01") and a4.in_group("0101") and not a4.in_group("02")
        lawyer = entries["Консультация юриста"]
        assert lawyer.groups == ("020101", "0201", "02") and lawyer.unit == "ч" and lawyer.is_service
        assert entries["Доставка"].unit == "усл"  # no unit in 1C: a service counts in "усл"
        assert entries["Ручка шариковая"].vat_rate == 20
        assert entries["Старый степлер"].deleted is True
        souvenir = entries["Сувенир"]
        assert (souvenir.group_code, souvenir.groups, souvenir.vat_rate, souvenir.unit) == ("", (), None, "шт")

    async def test_without_the_unit_classifier_goods_count_in_pieces_and_services_in_services(
            self, onec, refs, onec_client):
        del onec.schema[UNITS]  # the base does not publish it: 404
        entries = {e.name: e for e in await read_catalogue(onec_client)}
        assert entries["Бумага А4"].unit == "шт" and entries["Консультация юриста"].unit == "усл"

    @pytest.mark.parametrize(("name", "rate"), [("НДС20", 20), ("НДС22", 22), ("НДС10", 10), ("НДС5", 5), ("НДС7", 7),
                                                ("НДС0", 0), ("БезНДС", None), ("", None), (None, None)])
    def test_vat_names_of_1c(self, name, rate):
        assert vat_rate_of(name) == rate

    async def test_a_1c_that_does_not_answer_is_an_error_of_1c(self, onec, refs, onec_client):
        onec.down = True
        with pytest.raises(OneCError) as raised:
            await read_catalogue(onec_client)
        assert raised.value.transient


class TestRefresh:
    async def test_the_first_refresh_adds_the_second_changes_nothing(self, db, onec, refs, onec_client):
        first = await refresh_catalogue(db, onec_client)
        assert first == {"added": 6, "updated": 0, "deleted": 0, "total": 6}  # the marked stapler is not offered
        again = await refresh_catalogue(db, onec_client)
        assert again == {"added": 0, "updated": 0, "deleted": 0, "total": 6}
        stored = await items_by_name(db)
        assert "Старый степлер" not in stored
        a4 = stored["Бумага А4"]
        assert (a4.onec_ref, a4.name_lc, a4.group_code, a4.group_name, a4.unit, a4.vat_rate, a4.deleted) == (
            refs["a4"], "бумага а4", "0101", "Бумага", "упак", 22, False)
        async with db.session() as session:
            tree = await load_group_tree(session)
        assert tree.parents == {"01": "", "0101": "01", "02": "", "0201": "02", "020101": "0201"}
        assert tree.names["020101"] == "Юридические"
        assert tree.covers("020101", ["02"]) and not tree.covers("0101", ["02"]) and not tree.covers("", ["01"])
        assert tree.expand(["02"]) == {"02", "0201", "020101"}

    async def test_items_removed_or_marked_in_1c_become_deleted_and_changes_are_taken(self, db, onec, refs, onec_client):
        await refresh_catalogue(db, onec_client)
        del onec.entities[ITEMS][refs["a3"]]
        onec.entities[ITEMS][refs["pen"]]["DeletionMark"] = True
        onec.entities[ITEMS][refs["a4"]]["Description"] = "Бумага А4 Снегурочка"
        onec.entities[ITEMS][refs["delivery"]]["Parent_Key"] = refs["consulting"]  # moved to another folder
        counts = await refresh_catalogue(db, onec_client)
        assert counts == {"added": 0, "updated": 2, "deleted": 2, "total": 4}
        stored = await items_by_name(db)
        assert stored["Бумага А3"].deleted and stored["Ручка шариковая"].deleted
        assert stored["Бумага А4 Снегурочка"].name_lc == "бумага а4 снегурочка"
        assert stored["Доставка"].group_code == "0201"
        assert (await refresh_catalogue(db, onec_client))["deleted"] == 0  # deleted once, not again
        onec.entities[ITEMS][refs["pen"]]["DeletionMark"] = False  # unmarked in 1C: offered again
        assert await refresh_catalogue(db, onec_client) == {"added": 0, "updated": 1, "deleted": 0, "total": 5}
        assert not (await items_by_name(db))["Ручка шариковая"].deleted

    async def test_a_folder_removed_in_1c_leaves_the_tree(self, db, onec, refs, onec_client):
        await refresh_catalogue(db, onec_client)
        del onec.entities[ITEMS][refs["lawyer"]]
        del onec.entities[ITEMS][refs["legal"]]
        await refresh_catalogue(db, onec_client)
        async with db.session() as session:
            tree = await load_group_tree(session)
        assert "020101" not in tree.parents and tree.parents["0201"] == "02"

    async def test_an_empty_answer_does_not_delete_everything(self, db, onec, refs, onec_client):
        await refresh_catalogue(db, onec_client)
        onec.entities[ITEMS].clear()
        assert await refresh_catalogue(db, onec_client) == {"added": 0, "updated": 0, "deleted": 0, "total": 0}
        assert not any(i.deleted for i in (await items_by_name(db)).values())

    async def test_a_failed_read_changes_nothing(self, db, onec, refs, onec_client):
        await refresh_catalogue(db, onec_client)
        onec.fail_next(502, "Сервис недоступен", times=3)
        with pytest.raises(OneCError):
            await refresh_catalogue(db, onec_client)
        assert not any(i.deleted for i in (await items_by_name(db)).values())


class TestSchedule:
    async def test_the_loop_refreshes_survives_an_outage_and_stops(self, db, onec, refs, tmp_path):
        refresher = CatalogueRefresh(db, OneCClient(onec.odata_url, "odata", "s3cret"), minutes=1)
        onec.down = True
        assert await refresher.refresh() is None  # logged, tried again next time
        onec.down = False
        task = asyncio.create_task(refresher.run(interval=0.05))
        for _ in range(100):
            if len(await items_by_name(db)) == 6:
                break
            await asyncio.sleep(0.05)
        assert len(await items_by_name(db)) == 6
        await refresher.stop()
        await asyncio.wait_for(task, timeout=5)

    async def test_the_background_work_refreshes_when_1c_is_configured(self, db, onec, refs, tmp_path):
        from backend.background import BackgroundWork
        from backend.settings import Settings

        without = BackgroundWork(db, Settings(data_dir=tmp_path, scheduler_enabled=False))
        assert without.catalogue is None
        work = BackgroundWork(db, Settings(data_dir=tmp_path, scheduler_enabled=False, onec_odata_url=onec.odata_url,
                                           onec_user="odata", onec_password="s3cret"))
        await work.start()
        try:
            for _ in range(100):
                if len(await items_by_name(db)) == 6:
                    break
                await asyncio.sleep(0.05)
        finally:
            await work.stop()
        assert len(await items_by_name(db)) == 6

    def test_the_interval_comes_from_the_settings(self, tmp_path):
        from backend.settings import Settings

        settings = Settings(data_dir=tmp_path, onec_odata_url="http://1c.local/odata/standard.odata/",
                            onec_catalogue_minutes=15)
        assert CatalogueRefresh.from_settings(None, settings).interval == 15 * 60
        assert Settings(data_dir=tmp_path).onec_catalogue_minutes == 60
        with pytest.raises(ValueError):
            Settings(data_dir=tmp_path, onec_catalogue_minutes=0)
        with pytest.raises(ValueError):
            Settings(data_dir=tmp_path, onec_catalogue_minutes=1441)


# --- lines ----------------------------------------------------------------------------------------


def entity(regime: str = "osn", groups: list[str] | None = None) -> LegalEntity:
    return LegalEntity(name="ООО «Ромашка»", tax_regime=regime, catalogue_groups=groups or [])


@pytest.fixture
async def stored(db, onec, refs, onec_client) -> dict[str, CatalogueItem]:
    """The catalogue refreshed, with the pen since removed from 1C (deleted here)."""
    await refresh_catalogue(db, onec_client)
    del onec.entities[ITEMS][refs["pen"]]
    await refresh_catalogue(db, onec_client)
    return await items_by_name(db)


async def check(db, lines: list[LineIn], **kw) -> list[dict]:
    kw.setdefault("legal_entity", entity())
    async with db.session() as session:
        return await check_lines(session, lines, **kw)


async def refused(db, lines: list[LineIn], **kw) -> set[tuple[str, str | None]]:
    with pytest.raises(DomainError) as raised:
        await check(db, lines, **kw)
    return codes(raised.value)


class TestLines:
    async def test_a_catalogue_line_is_stored_with_its_amount_and_the_vat_inside(self, db, stored):
        a4 = stored["Бумага А4"]
        (line,) = await check(db, [LineIn(catalogue_item_id=a4.id, quantity="1,5", price="1 000,01")])
        assert line == {"catalogue_item_id": a4.id, "name": "Бумага А4", "code": "00-0001", "unit": "упак",
                        "quantity": "1.5", "price": 100001, "vat_rate": 22,
                        "amount": 150002,  # 1.5 × 1000.01 = 1500.015 → 1500.02 (half up)
                        "vat": 27050}  # 150002 × 22 / 122 = 27049.54
        assert lines_total([line, line]) == 300004 and vat_total([line, line]) == 54100

    async def test_units_and_rates_given_on_the_line_win(self, db, stored):
        pen_free = stored["Консультация юриста"]
        (line,) = await check(db, [LineIn(catalogue_item_id=pen_free.id, quantity=Decimal("2.125"), unit="час",
                                          price="100", vat_rate="none")])
        assert (line["unit"], line["vat_rate"], line["vat"], line["quantity"], line["amount"]) == (
            "час", None, 0, "2.125", 21250)
        (ten,) = await check(db, [LineIn(catalogue_item_id=pen_free.id, price="110", vat_rate=10)])
        assert (ten["vat_rate"], ten["vat"], ten["quantity"]) == (10, 1000, "1")

    async def test_the_rate_follows_the_item_for_a_vat_payer_and_is_none_on_the_simplified_system(self, db, stored):
        lines = [LineIn(catalogue_item_id=stored[n].id, price="100") for n in ("Бумага А4", "Сувенир", "Доставка")]
        osn = await check(db, lines, legal_entity=entity("osn"), on=date(2026, 3, 1))
        assert [line["vat_rate"] for line in osn] == [22, 22, 22]  # no rate in 1C: the year's general rate
        osn_2025 = await check(db, lines, legal_entity=entity("osn"), on=date(2025, 3, 1))
        assert [line["vat_rate"] for line in osn_2025] == [22, 20, 20]  # the item's own rate stays
        for regime in ("usn_income", "usn_income_expense", "patent"):
            usn = await check(db, lines, legal_entity=entity(regime))
            assert [line["vat_rate"] for line in usn] == [None, None, None] and vat_total(usn) == 0
        assert default_vat_rate("osn", 2026) == 22 and default_vat_rate("osn", 2024) == 20
        assert default_vat_rate("usn_income", 2026) is None
        assert line_vat(12200, 22) == 2200 and line_vat(100, None) == 0

    async def test_at_least_one_line(self, db, stored):
        assert await refused(db, []) == {("catalogue.no_lines", "lines")}
        assert await refused(db, [], field="contract.lines") == {("catalogue.no_lines", "contract.lines")}

    async def test_unknown_and_deleted_items_are_refused(self, db, stored):
        assert await refused(db, [
            LineIn(catalogue_item_id=stored["Бумага А4"].id, price="1"),
            LineIn(catalogue_item_id=999_999, price="1"),
            LineIn(catalogue_item_id=stored["Ручка шариковая"].id, price="1"),
            LineIn(catalogue_item_id=10**30, price="1"),
        ]) == {("catalogue.unknown_item", "lines.1.catalogue_item_id"),
               ("catalogue.deleted_item", "lines.2.catalogue_item_id"),
               ("catalogue.unknown_item", "lines.3.catalogue_item_id")}

    async def test_with_a_catalogue_free_text_lines_are_refused(self, db, stored):
        assert await refused(db, [LineIn(name="Что-то своё", price="10")]) == {
            ("catalogue.pick_from_catalogue", "lines.0.catalogue_item_id")}

    async def test_without_a_catalogue_free_text_lines_are_taken(self, db):
        (line,) = await check(db, [LineIn(name="  Монтаж  ", quantity="3", price="1000.00")], on=date(2026, 1, 10))
        assert line == {"catalogue_item_id": None, "name": "Монтаж", "code": "", "unit": "шт", "quantity": "3",
                        "price": 100000, "vat_rate": 22, "amount": 300000, "vat": 54098}
        assert await refused(db, [LineIn(price="1"), LineIn(name="x" * 301, price="1")]) == {
            ("field.required", "lines.0.name"), ("field.too_long", "lines.1.name")}

    async def test_items_outside_the_legal_entitys_folders_are_refused_subfolders_included(self, db, stored):
        seller = entity(groups=["01"])  # goods, with the paper subfolder
        ok = await check(db, [LineIn(catalogue_item_id=stored["Бумага А4"].id, price="1")], legal_entity=seller)
        assert ok[0]["name"] == "Бумага А4"
        with pytest.raises(InvalidInput) as raised:
            await check(db, [LineIn(catalogue_item_id=stored["Консультация юриста"].id, price="1")], legal_entity=seller)
        assert (raised.value.code, raised.value.field) == ("catalogue.wrong_entity", "lines.0.catalogue_item_id")
        assert raised.value.params == {"item": "Консультация юриста", "entity": "ООО «Ромашка»"}
        assert await refused(db, [LineIn(catalogue_item_id=stored["Сувенир"].id, price="1")], legal_entity=seller) == {
            ("catalogue.wrong_entity", "lines.0.catalogue_item_id")}  # a root item is in no folder

    async def test_items_outside_the_contract_types_folders_are_refused(self, db, stored):
        lawyer = LineIn(catalogue_item_id=stored["Консультация юриста"].id, price="1")
        assert (await check(db, [lawyer], allowed_groups=["0201"]))[0]["code"] == "00-0005"  # the grandparent folder
        assert await refused(db, [LineIn(catalogue_item_id=stored["Бумага А4"].id, price="1"), lawyer],
                             allowed_groups=["02"], legal_entity=entity(groups=["01"])) == {
            ("catalogue.wrong_contract_type", "lines.0.catalogue_item_id"),
            ("catalogue.wrong_entity", "lines.1.catalogue_item_id")}

    async def test_every_problem_is_reported_at_once(self, db, stored):
        a4 = stored["Бумага А4"].id
        assert await refused(db, [
            LineIn(catalogue_item_id=a4, quantity="0", price="1"),
            LineIn(catalogue_item_id=a4, quantity="1.0005", price="0"),
            LineIn(catalogue_item_id=a4, quantity="много", price="1.001", vat_rate=18),
            LineIn(catalogue_item_id=a4, quantity="-1", price="abc", unit="у" * 21),
            LineIn(catalogue_item_id=a4, quantity="1000000000", price="1"),
            LineIn(catalogue_item_id=a4, quantity="1000", price="9999999999999"),
        ]) == {
            ("catalogue.quantity_positive", "lines.0.quantity"),
            ("catalogue.quantity_precision", "lines.1.quantity"), ("amount.positive", "lines.1.price"),
            ("catalogue.quantity_format", "lines.2.quantity"), ("amount.precision", "lines.2.price"),
            ("catalogue.vat_rate", "lines.2.vat_rate"),
            ("catalogue.quantity_positive", "lines.3.quantity"), ("amount.format", "lines.3.price"),
            ("field.too_long", "lines.3.unit"),
            ("field.range", "lines.4.quantity"),
            ("amount.too_large", "lines.5.price"),
        }

    def test_lines_refuse_unknown_fields(self):
        with pytest.raises(ValueError):
            LineIn(catalogue_item_id=1, price="1", colour="red")


class TestSearch:
    async def test_search_by_words_code_article_folder_and_kind(self, db, stored):
        async def names(q=None, **kw) -> list[str]:
            async with db.session() as session:
                return [i.name for i in await search_catalogue(session, q, **kw)]

        assert await names() == ["Бумага А3", "Бумага А4", "Доставка", "Консультация юриста", "Сувенир"]  # no deleted
        assert await names("БУМАГА а4") == ["Бумага А4"]
        assert await names("а4 бумага") == ["Бумага А4"]  # every word, any order
        assert await names("00-0005") == ["Консультация юриста"]
        assert await names("a4-500") == ["Бумага А4"]
        assert await names("100%") == []
        assert await names(group="02") == ["Доставка", "Консультация юриста"]
        assert await names(include_services=False) == ["Бумага А3", "Бумага А4", "Сувенир"]
        assert await names(include_services=True, group="0201") == ["Консультация юриста"]
        assert await names(limit=2, offset=1) == ["Бумага А4", "Доставка"]

    async def test_a_legal_entity_sees_its_folders_only(self, db, stored):
        async with db.session() as session:
            seller = LegalEntity(name="ООО «Услуги»", short_code="УС", inn="7700000001", catalogue_groups=["0201"])
            anyone = LegalEntity(name="ООО «Всё»", short_code="ВС", inn="7700000002", catalogue_groups=[])
            session.add_all([seller, anyone])
            await session.commit()
            found = await search_catalogue(session, None, legal_entity_id=seller.id)
            assert [i.name for i in found] == ["Консультация юриста"]
            assert len(await search_catalogue(session, None, legal_entity_id=anyone.id)) == 5
            assert await search_catalogue(session, None, legal_entity_id=seller.id, group="01") == []
            with pytest.raises(InvalidInput) as raised:
                await search_catalogue(session, None, legal_entity_id=987654)
            assert (raised.value.code, raised.value.field) == ("reference.unknown", "legal_entity_id")
            view = catalogue_item_view(found[0])
        assert view["name"] == "Консультация юриста" and view["group_code"] == "020101" and view["unit"] == "ч"
        assert view["is_service"] is True and view["vat_rate"] == 22 and view["price"] is None
