"""The goods and services catalogue, read from 1C's ``Catalog_Номенклатура`` (seed 001: the lines
of an invoice or a contract are picked from it and checked against the legal entity and the
contract type).

* :func:`read_catalogue` — every item (not the folders) with its unit, VAT rate and folder.
* :func:`refresh_catalogue` — the ``catalogue_items`` table brought in step: upserted by the 1C
  reference, items gone from 1C (or marked for deletion there) kept but marked ``deleted``.
* :class:`CatalogueRefresh` — the refresh every ``VIZA_ONEC_CATALOGUE_MINUTES`` (background work).

**Folders.** An item's ``group_code`` is the code of its *direct* folder. The folder tree itself
(code → parent code, name) is kept in ``external_links`` (system ``onec``, kind
``catalogue_group``, local key = the folder's code, external id = its Ref_Key, data =
``{"name", "parent"}``), so a rule naming a parent folder covers the items of its subfolders:
:class:`GroupTree` walks the ancestors (:meth:`GroupTree.covers`) and lists the descendants
(:meth:`GroupTree.expand`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import Database
from backend.integrations.links import save_link
from backend.integrations.onec.client import OneCClient, OneCError
from backend.models import CatalogueItem, ExternalLink
from backend.services.transactions import in_transaction
from backend.settings import Settings

log = logging.getLogger("viza.onec")

SYSTEM = "onec"
GROUP_KIND = "catalogue_group"
CATALOGUE = "Catalog_Номенклатура"
UNITS = "Catalog_КлассификаторЕдиницИзмерения"
EMPTY_REF = "00000000-0000-0000-0000-000000000000"
SERVICE_UNIT, GOODS_UNIT = "усл", "шт"  # when 1C's unit classifier cannot be read
REFRESH_LOCK = 0x56495A4143415447  # "VIZACATG": one refresh at a time on PostgreSQL

# 1C's ВидСтавкиНДС / СтавкаНДС enum → percent; None = без НДС.
VAT_RATES: dict[str, int | None] = {
    "НДС22": 22, "НДС20": 20, "НДС18": 18, "НДС10": 10, "НДС7": 7, "НДС5": 5, "НДС0": 0, "БезНДС": None,
}
_VAT_NAME = re.compile(r"^НДС(\d{1,2})$")

# Column limits of catalogue_items.
_LIMITS = {"code": 20, "name": 300, "full_name": 1000, "article": 50, "unit": 20, "group_code": 20, "group_name": 300}


@dataclass(frozen=True)
class CatalogueEntry:
    ref: str
    code: str
    name: str
    full_name: str
    article: str
    unit: str
    is_service: bool
    vat_rate: int | None
    group_code: str  # the direct folder's code; "" at the root
    group_name: str
    deleted: bool
    groups: tuple[str, ...] = ()  # the folder chain, direct folder first, up to the top

    def in_group(self, code: str) -> bool:
        """Is the item in the folder ``code`` or in one of its subfolders?"""
        return code.strip() in self.groups


@dataclass(frozen=True)
class CatalogueFolder:
    ref: str
    code: str
    name: str
    parent_code: str  # "" at the root


@dataclass
class GroupTree:
    """The catalogue's folders: code → parent code, code → name."""

    parents: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def chain(self, code: str) -> list[str]:
        """The folder and its ancestors, nearest first ([] for the root)."""
        chain: list[str] = []
        while code and code not in chain:  # a cycle (a broken tree) stops the walk
            chain.append(code)
            code = self.parents.get(code, "")
        return chain

    def covers(self, code: str, groups: Iterable[str]) -> bool:
        """Is a thing in folder ``code`` within one of ``groups`` (a folder or an ancestor of it)?"""
        wanted = {g.strip() for g in groups if g and g.strip()}
        return any(c in wanted for c in self.chain(code))

    def expand(self, groups: Iterable[str]) -> set[str]:
        """The folders and all their subfolders."""
        found = {g.strip() for g in groups if g and g.strip()}
        children: dict[str, list[str]] = {}
        for child, parent in self.parents.items():
            children.setdefault(parent, []).append(child)
        queue = list(found)
        while queue:
            for child in children.get(queue.pop(), ()):
                if child not in found:
                    found.add(child)
                    queue.append(child)
        return found


async def load_group_tree(session: AsyncSession) -> GroupTree:
    tree = GroupTree()
    links = await session.scalars(select(ExternalLink).where(ExternalLink.system == SYSTEM,
                                                             ExternalLink.kind == GROUP_KIND))
    for link in links:
        tree.parents[link.local_key] = str((link.data or {}).get("parent") or "")
        tree.names[link.local_key] = str((link.data or {}).get("name") or "")
    return tree


# --- reading 1C ----------------------------------------------------------------------------------


def vat_rate_of(value: Any) -> int | None:
    """1C's rate name as a percent; None for БезНДС, an empty or an unknown value."""
    name = str(value or "").strip()
    if name in VAT_RATES:
        return VAT_RATES[name]
    found = _VAT_NAME.match(name)
    return int(found.group(1)) if found else None


def _ref(value: Any) -> str:
    ref = str(value or "").lower()
    return "" if ref == EMPTY_REF else ref


def _text(value: Any, column: str) -> str:
    return str(value or "").strip()[: _LIMITS[column]]


async def _units(client: OneCClient) -> dict[str, str] | None:
    """Ref_Key → short name of 1C's unit classifier; None when the base does not publish it."""
    try:
        rows = await client.list(UNITS, orderby="Ref_Key")
    except OneCError as error:
        if error.transient or error.access:
            raise
        log.info("1C unit classifier not read (%s): units default to %s / %s", error, GOODS_UNIT, SERVICE_UNIT)
        return None
    return {_ref(r.get("Ref_Key")): str(r.get("Description") or "").strip() for r in rows if _ref(r.get("Ref_Key"))}


async def read_tree(client: OneCClient) -> tuple[list[CatalogueEntry], list[CatalogueFolder]]:
    """The catalogue's items and folders."""
    rows = await client.list(CATALOGUE, orderby="Ref_Key")
    units = await _units(client)
    raw_folders = {_ref(r.get("Ref_Key")): r for r in rows if r.get("IsFolder")}
    folders = [
        CatalogueFolder(ref, _text(r.get("Code"), "group_code"), _text(r.get("Description"), "group_name"),
                        _text((raw_folders.get(_ref(r.get("Parent_Key"))) or {}).get("Code"), "group_code"))
        for ref, r in raw_folders.items()
    ]
    by_ref = {f.ref: f for f in folders}
    tree = GroupTree({f.code: f.parent_code for f in folders if f.code}, {f.code: f.name for f in folders if f.code})
    entries = []
    for row in rows:
        ref = _ref(row.get("Ref_Key"))
        if row.get("IsFolder") or not ref:
            continue
        folder = by_ref.get(_ref(row.get("Parent_Key")))
        service = bool(row.get("Услуга"))
        unit = (units or {}).get(_ref(row.get("ЕдиницаИзмерения_Key"))) or (SERVICE_UNIT if service else GOODS_UNIT)
        name = _text(row.get("Description"), "name") or _text(row.get("НаименованиеПолное"), "name")
        entries.append(CatalogueEntry(
            ref=ref, code=_text(row.get("Code"), "code"), name=name,
            full_name=_text(row.get("НаименованиеПолное"), "full_name") or name,
            article=_text(row.get("Артикул"), "article"), unit=unit[: _LIMITS["unit"]], is_service=service,
            vat_rate=vat_rate_of(row.get("СтавкаНДС")),
            group_code=folder.code if folder else "", group_name=folder.name if folder else "",
            deleted=bool(row.get("DeletionMark")),
            groups=tuple(tree.chain(folder.code)) if folder else ()))
    return entries, folders


async def read_catalogue(client: OneCClient) -> list[CatalogueEntry]:
    """Every item of ``Catalog_Номенклатура`` (folders give their code and name to their items)."""
    entries, _ = await read_tree(client)
    return entries


# --- the table in step -----------------------------------------------------------------------------

_FIELDS = ("code", "name", "full_name", "article", "unit", "is_service", "vat_rate", "group_code", "group_name")


async def refresh_catalogue(db: Database, client: OneCClient) -> dict[str, int]:
    """Bring ``catalogue_items`` in step with 1C; {"added", "updated", "deleted", "total"}:
    rows added, rows changed, rows newly marked deleted, and the items usable now."""
    entries, folders = await read_tree(client)  # read before the transaction: 1C may be slow
    return await in_transaction(db, lambda session: _store(session, entries, folders))


async def _store(session: AsyncSession, entries: list[CatalogueEntry], folders: list[CatalogueFolder]) -> dict[str, int]:
    if session.bind.dialect.name == "postgresql":
        await session.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK})
    counts = {"added": 0, "updated": 0, "deleted": 0, "total": 0}
    existing = {row.onec_ref: row for row in await session.scalars(select(CatalogueItem))}
    seen: set[str] = set()
    for entry in entries:
        seen.add(entry.ref)
        values = {name: getattr(entry, name) for name in _FIELDS}
        values["name_lc"] = entry.name.lower()
        row = existing.get(entry.ref)
        if row is None:
            if entry.deleted:  # never offered here: nothing refers to it
                continue
            session.add(CatalogueItem(onec_ref=entry.ref, deleted=False, **values))
            counts["added"] += 1
            continue
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if entry.deleted and not row.deleted:
            row.deleted = True
            counts["deleted"] += 1
        elif row.deleted != entry.deleted:  # back in 1C, or unmarked there
            row.deleted = entry.deleted
            changed = True
        counts["updated"] += changed
    if not entries and any(not row.deleted for row in existing.values()):
        # An empty catalogue is a base answering for the wrong thing (a rights or composition
        # change), not every good deleted at once: keep what we have.
        log.warning("1C returned an empty catalogue: the %d items known here are kept", len(existing))
        seen = set(existing)
    for ref, row in existing.items():
        if ref not in seen and not row.deleted:
            row.deleted = True
            counts["deleted"] += 1
    await _store_groups(session, folders)
    await session.flush()
    counts["total"] = sum(1 for e in entries if not e.deleted)
    return counts


async def _store_groups(session: AsyncSession, folders: list[CatalogueFolder]) -> None:
    links = {link.local_key: link for link in await session.scalars(
        select(ExternalLink).where(ExternalLink.system == SYSTEM, ExternalLink.kind == GROUP_KIND))}
    codes = set()
    for folder in folders:
        if not folder.code or folder.code in codes:
            continue
        codes.add(folder.code)
        data = {"name": folder.name, "parent": folder.parent_code}
        link = links.get(folder.code)
        if link is None or link.external_id != folder.ref or link.data != data:
            await save_link(session, SYSTEM, GROUP_KIND, folder.code, folder.ref, **data)
    gone = [code for code in links if code not in codes]
    if gone:
        await session.execute(delete(ExternalLink).where(
            ExternalLink.system == SYSTEM, ExternalLink.kind == GROUP_KIND, ExternalLink.local_key.in_(gone)))


# --- on a schedule -----------------------------------------------------------------------------------


class CatalogueRefresh:
    """Refreshes the catalogue every ``VIZA_ONEC_CATALOGUE_MINUTES`` until :meth:`stop`; a failure
    is logged and tried again next time."""

    def __init__(self, db: Database, client: OneCClient, *, minutes: int = 60) -> None:
        self.db = db
        self.client = client
        self.interval = minutes * 60.0
        self._stopping = asyncio.Event()

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> CatalogueRefresh:
        client = OneCClient(settings.onec_odata_url or "", settings.onec_user, settings.onec_password)
        return cls(db, client, minutes=settings.onec_catalogue_minutes)

    async def refresh(self) -> dict[str, int] | None:
        """One refresh; None when it failed (logged)."""
        try:
            counts = await refresh_catalogue(self.db, self.client)
        except OneCError as error:
            log.warning("1C catalogue not read: %s", error)
            return None
        except Exception:  # the next round tries again
            if not self._stopping.is_set():  # not the client closed under a refresh by stop()
                log.exception("1C catalogue not refreshed")
            return None
        if counts["added"] or counts["updated"] or counts["deleted"]:
            log.info("1C catalogue: %(added)d added, %(updated)d updated, %(deleted)d deleted, %(total)d in all", counts)
        return counts

    async def run(self, interval: float | None = None) -> None:
        interval = interval or self.interval
        while not self._stopping.is_set():
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)

    async def stop(self) -> None:
        self._stopping.set()
        await self.client.aclose()
