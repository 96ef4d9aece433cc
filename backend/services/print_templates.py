"""Print-form templates: admins upload their own per legal entity, client type and region (seed 001);
the most specific active one is used, and the built-in defaults stand behind them all."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents.print_forms import check_template, default_template
from backend.errors import InvalidInput
from backend.models import DocumentTemplate, LegalEntity
from backend.services.attachments import FileStore, clean_filename
from backend.services.records import get_or_not_found
from backend.workflows.actors import Actor

KINDS = ("invoice", "contract")
FORMATS = {"html": ".html", "docx": ".docx"}


class TemplateFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["invoice", "contract"]
    legal_entity_id: int | None = Field(default=None, description="Only for this legal entity; every one if omitted")
    client_type: Literal["", "company", "individual"] = Field(default="", description="\"\" = any client")
    region: str = Field(default="", max_length=10, description="Region code, \"\" = any region")
    allowed_groups: list[str] = Field(default_factory=list, description="Catalogue folders (1C codes) allowed on it")


def format_of(filename: str) -> str:
    lowered = filename.lower()
    for fmt, suffix in FORMATS.items():
        if lowered.endswith(suffix) or (fmt == "html" and lowered.endswith(".htm")):
            return fmt
    raise InvalidInput("template.format", field="file")


async def upload_template(session: AsyncSession, store: FileStore, actor: Actor, fields: TemplateFields, *,
                          filename: str, content: bytes, max_bytes: int) -> DocumentTemplate:
    """Check the template by rendering it against a sample document (a missing field is named),
    then keep it; the file itself goes to the content-addressed store."""
    if not content:
        raise InvalidInput("attachment.empty", field="file")
    if len(content) > max_bytes:
        raise InvalidInput("attachment.too_large", field="file", max_mb=max_bytes // (1024 * 1024))
    fmt = format_of(filename)
    if fields.legal_entity_id is not None and await session.get(LegalEntity, fields.legal_entity_id) is None:
        raise InvalidInput("reference.unknown", field="legal_entity_id", id=fields.legal_entity_id)
    await asyncio.to_thread(check_template, fields.kind, fmt, content)
    template = DocumentTemplate(
        name=fields.name, kind=fields.kind, fmt=fmt, legal_entity_id=fields.legal_entity_id,
        client_type=fields.client_type, region=fields.region, allowed_groups=fields.allowed_groups,
        sha256=store.put(content), filename=clean_filename(filename), size=len(content),
        uploaded_by_id=actor.employee_id,
    )
    session.add(template)
    await session.flush()
    return template


async def list_templates(session: AsyncSession, *, kind: str | None = None,
                         legal_entity_id: int | None = None) -> list[DocumentTemplate]:
    query = select(DocumentTemplate).order_by(DocumentTemplate.id)
    if kind:
        query = query.where(DocumentTemplate.kind == kind)
    if legal_entity_id is not None:
        query = query.where(DocumentTemplate.legal_entity_id == legal_entity_id)
    return list(await session.scalars(query))


async def set_active(session: AsyncSession, template_id: int, active: bool) -> DocumentTemplate:
    template = await get_or_not_found(session, DocumentTemplate, template_id, "template.not_found")
    template.active = active
    await session.flush()
    return template


async def get_template(session: AsyncSession, template_id: int) -> DocumentTemplate:
    return await get_or_not_found(session, DocumentTemplate, template_id, "template.not_found")


def template_view(template: DocumentTemplate) -> dict[str, Any]:
    return {"id": template.id, "name": template.name, "kind": template.kind, "fmt": template.fmt,
            "legal_entity_id": template.legal_entity_id, "client_type": template.client_type,
            "region": template.region, "allowed_groups": template.allowed_groups, "filename": template.filename,
            "size": template.size, "sha256": template.sha256, "active": template.active,
            "uploaded_by_id": template.uploaded_by_id, "uploaded_at": template.uploaded_at}


async def pick_template(session: AsyncSession, kind: str, fmt: str, *, legal_entity_id: int,
                        client_type: str, region: str) -> DocumentTemplate | None:
    """The most specific active template that fits: its legal entity beats "any", then its client
    type, then its region. None means the built-in default."""
    rows = await session.scalars(select(DocumentTemplate).where(
        DocumentTemplate.kind == kind, DocumentTemplate.fmt == fmt, DocumentTemplate.active.is_(True)))
    fitting = [t for t in rows
               if t.legal_entity_id in (None, legal_entity_id) and t.client_type in ("", client_type)
               and t.region in ("", region)]
    if not fitting:
        return None
    return max(fitting, key=lambda t: (t.legal_entity_id is not None, t.client_type != "", t.region != "", t.id))


async def template_source(session: AsyncSession, store: FileStore, kind: str, fmt: str, *, legal_entity_id: int,
                          client_type: str = "company", region: str = "",
                          template_id: int | None = None) -> tuple[bytes, DocumentTemplate | None]:
    """The template to render with: the one asked for (when it has this format), else the best fit."""
    chosen = None
    if template_id is not None:
        asked = await session.get(DocumentTemplate, template_id)
        if asked is not None and asked.active and asked.kind == kind:
            chosen = asked if asked.fmt == fmt else await _sibling(session, asked, fmt)
    if chosen is None:
        chosen = await pick_template(session, kind, fmt, legal_entity_id=legal_entity_id, client_type=client_type,
                                     region=region)
    if chosen is None:
        return default_template(kind, fmt, client_type or "company"), None
    return store.read(chosen.sha256), chosen


async def _sibling(session: AsyncSession, template: DocumentTemplate, fmt: str) -> DocumentTemplate | None:
    """The same form in the other format (same name, entity, client type and region)."""
    return await session.scalar(select(DocumentTemplate).where(
        DocumentTemplate.kind == template.kind, DocumentTemplate.fmt == fmt, DocumentTemplate.active.is_(True),
        DocumentTemplate.name == template.name, DocumentTemplate.legal_entity_id == template.legal_entity_id,
        DocumentTemplate.client_type == template.client_type, DocumentTemplate.region == template.region,
    ).order_by(DocumentTemplate.id.desc()).limit(1))
