"""Files attached to requests (invoices, payment orders, closing documents).

Stored content-addressed under data_dir/files/ab/cd/<sha256>: the same invoice sent twice
is kept once, and a file can never be silently replaced under a request.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
import tempfile
from pathlib import Path

import filetype
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import InvalidInput, NotFound
from backend.models import Attachment, PaymentRequest
from backend.workflows.actors import Actor
from backend.workflows.engine import transition
from backend.workflows.lifecycle import Action

KINDS = ("invoice", "payment_order", "closing", "contract", "other")
# What people really send: scans, PDFs, office documents. Sniffed from the bytes, not the name.
ALLOWED_TYPES = {
    "application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/heic": "heic",
    "image/webp": "webp", "image/tiff": "tif",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/msword": "doc", "application/vnd.ms-excel": "xls", "application/zip": "zip",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc/.xls (not told apart by filetype)


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        target = self.path_of(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write aside and rename, so a crash never leaves half a file under its hash.
            fd, temp = tempfile.mkstemp(dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(temp, target)
        return digest

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()


def sniff_type(content: bytes, filename: str) -> str:
    kind = filetype.guess(content)
    if kind is not None:
        mime = kind.mime
        if mime == "application/zip" and filename.lower().endswith((".docx", ".xlsx")):
            mime = next(m for m, ext in ALLOWED_TYPES.items() if ext == filename.lower().rsplit(".", 1)[1])
        return mime
    if content.startswith(OLE_MAGIC):
        return "application/vnd.ms-excel" if filename.lower().endswith(".xls") else "application/msword"
    return "application/octet-stream"


def clean_filename(name: str) -> str:
    base = Path(name.replace("\\", "/")).name.strip() or "file"
    return "".join(ch for ch in base if ch.isprintable())[:255]


def check_file(content: bytes, filename: str, max_bytes: int) -> str:
    """The file's type if it is one we keep (sniffed from the bytes) and not too large."""
    if not content:
        raise InvalidInput("attachment.empty", field="file")
    if len(content) > max_bytes:
        raise InvalidInput("attachment.too_large", field="file", max_mb=max_bytes // (1024 * 1024))
    mime = sniff_type(content, filename)
    if mime not in ALLOWED_TYPES:
        raise InvalidInput("attachment.type", field="file", allowed="PDF, JPG, PNG, HEIC, WEBP, TIFF, DOCX, XLSX, DOC, XLS, ZIP")
    return mime


async def attach(session: AsyncSession, store: FileStore, actor: Actor, request: PaymentRequest, *,
                 kind: str, filename: str, content: bytes, max_bytes: int) -> Attachment:
    """Check and store a file, then record it through the life cycle (who may attach what, when)."""
    if kind not in KINDS:
        raise InvalidInput("attachment.kind", field="kind", allowed=", ".join(KINDS))
    mime = check_file(content, filename, max_bytes)
    version = await _contract_version(session, request, kind, mime)
    if version is not None and mime == DOCX and not _is_word_document(content):
        raise InvalidInput("attachment.contract_type", field="file")
    attachment = Attachment(request_id=request.id, kind=kind, sha256=hashlib.sha256(content).hexdigest(),
                            size=len(content), content_type=mime, filename=clean_filename(filename),
                            uploaded_by_id=actor.employee_id, version=version)
    session.add(attachment)
    await session.flush()
    await transition(session, request, Action.ATTACH, actor, data={"attachment": attachment})
    # Written only once the rules passed; a file left by a later rollback is harmless (same hash).
    store.put(content)
    return attachment


CONTRACT_TYPES = {"application/pdf", "application/msword",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _is_word_document(content: bytes) -> bool:
    """Any zip is "a DOCX" by its name; a Word document has its body in word/document.xml."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


async def _contract_version(session: AsyncSession, request: PaymentRequest, kind: str, mime: str) -> int | None:
    """A contract file is the next version of the contract text (1, 2, …); only a contract
    approval has one, and only as a document (DOCX, DOC or PDF)."""
    if kind == "invoice" and request.kind == "contract":
        raise InvalidInput("attachment.kind_for_contract", field="kind")
    if kind != "contract":
        return None
    if request.kind != "contract":
        raise InvalidInput("attachment.contract_on_payment", field="kind")
    if mime not in CONTRACT_TYPES:
        raise InvalidInput("attachment.contract_type", field="file")
    latest = await session.scalar(select(func.max(Attachment.version)).where(
        Attachment.request_id == request.id, Attachment.kind == "contract"))
    return (latest or 0) + 1


async def list_attachments(session: AsyncSession, request_id: int) -> list[Attachment]:
    return list(await session.scalars(select(Attachment).where(Attachment.request_id == request_id).order_by(Attachment.id)))


async def get_attachment(session: AsyncSession, request_id: int, attachment_id: int) -> Attachment:
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None or attachment.request_id != request_id:
        raise NotFound("attachment.not_found", id=attachment_id)
    return attachment


def attachment_view(a: Attachment) -> dict:
    return {"id": a.id, "kind": a.kind, "filename": a.filename, "size": a.size, "content_type": a.content_type,
            "sha256": a.sha256, "uploaded_by_id": a.uploaded_by_id, "uploaded_at": a.uploaded_at,
            "version": a.version}
