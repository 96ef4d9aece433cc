"""Rendering a docxtpl template to DOCX, in the same sandbox as HTML (:mod:`.sandbox`).

Values are XML-escaped (autoescape), the QR code is ``{{ qr_image }}`` (an InlineImage).
Errors name the paragraph: docxtpl puts each paragraph of the body on a line of its own
before Jinja reads it, so a Jinja line is a paragraph (``line``), shown with its text (``near``).
Failures are ``InvalidInput`` ``template.*``: ``not_docx``, ``too_large``, ``missing_field``,
``syntax``, ``unsafe``, ``render_error`` (each with ``line`` = the paragraph and ``near``),
``docx_failed``.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable
from typing import Any

import jinja2
from markupsafe import Markup

from backend.errors import InvalidInput

from .sandbox import TEMPLATE_FIELD, RangeBudget, docx_env, template_error, track

__all__ = ["check_docx_zip", "docx_body_source", "docx_paragraphs", "open_docx", "render_docx"]

log = logging.getLogger(__name__)

MAX_DOCX_TEMPLATE = 10_000_000  # bytes of an uploaded .docx
MAX_DOCX_UNPACKED = 50_000_000  # bytes it unpacks to (a zip bomb is not a template)
QR_WIDTH_MM = 35  # the QR code's width in a DOCX


def check_docx_zip(data: bytes) -> None:
    """A .docx is a zip with word/document.xml, not too big packed or unpacked."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a DOCX template is bytes, not {type(data).__name__}")
    if len(data) > MAX_DOCX_TEMPLATE:
        raise InvalidInput("template.too_large", field=TEMPLATE_FIELD, max_mb=MAX_DOCX_TEMPLATE // 1_000_000)
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            names = set(archive.namelist())
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InvalidInput("template.not_docx", field=TEMPLATE_FIELD) from None
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise InvalidInput("template.not_docx", field=TEMPLATE_FIELD)
    if unpacked > MAX_DOCX_UNPACKED:
        raise InvalidInput("template.too_large", field=TEMPLATE_FIELD, max_mb=MAX_DOCX_UNPACKED // 1_000_000)


def open_docx(data: bytes) -> Any:
    from docxtpl import DocxTemplate

    check_docx_zip(data)
    template = DocxTemplate(io.BytesIO(bytes(data)))
    try:
        template.init_docx()
    except Exception:  # noqa: BLE001 — python-docx refuses it: not a Word document
        raise InvalidInput("template.not_docx", field=TEMPLATE_FIELD) from None
    return template


def docx_body_source(template: Any) -> str:
    """The body's Jinja source as docxtpl renders it: one line per paragraph."""
    xml = template.patch_xml(template.get_xml())
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


def docx_paragraphs(template: Any) -> list[str]:
    """The text of each line of :func:`docx_body_source`, so an error's line can be shown as
    the words around it."""
    return [re.sub(r"<[^>]+>", "", line).strip() for line in docx_body_source(template).split("\n")]


def docx_place(template: Any) -> Callable[[int | None], dict[str, Any]]:
    def where(line: int | None) -> dict[str, Any]:
        if line is None:
            return {"line": "?", "near": ""}
        try:
            texts = docx_paragraphs(template)
            near = texts[line - 1] if 0 < line <= len(texts) else ""
        except Exception:  # noqa: BLE001 — the place is a help, not a must
            near = ""
        # Line 1 is the body's opening tag, so paragraph N is on line N + 1.
        return {"line": max(line - 1, 1), "near": near[:120]}

    return where


def _docx_context(template: Any, context: dict[str, Any]) -> dict[str, Any]:
    from docx.shared import Mm
    from docxtpl import InlineImage

    values = {k: (str(v) if isinstance(v, Markup) else v) for k, v in context.items()}  # SVG is text in Word
    png = context.get("qr_png")
    if isinstance(png, (bytes, bytearray)) and "qr_image" not in values:
        values["qr_image"] = InlineImage(template, io.BytesIO(bytes(png)), width=Mm(QR_WIDTH_MM))
    return track(values)


def render_docx(docx_template: bytes, context: dict[str, Any]) -> bytes:
    """The DOCX of a docxtpl template: Jinja2 sandbox + StrictUndefined, values XML-escaped.

    ``{{ qr_image }}`` is the payment QR code (an InlineImage, 35 mm wide) when the context
    has ``qr_png``.
    """
    template = open_docx(docx_template)
    with RangeBudget():
        try:
            template.render(_docx_context(template, context), jinja_env=docx_env, autoescape=True)
            out = io.BytesIO()
            template.save(out)
        except InvalidInput:
            raise
        except jinja2.TemplateError as error:
            raise template_error(error, where=docx_place(open_docx(docx_template))) from None
        except Exception as error:  # noqa: BLE001 — broken XML after rendering, a bad picture…
            log.info("docxtpl failed on a template: %r", error)
            raise InvalidInput("template.docx_failed", field=TEMPLATE_FIELD,
                               detail=f"{type(error).__name__}: {error}") from None
    return out.getvalue()
