"""Rendering an HTML template to PDF: Jinja2 in the sandbox (:mod:`.sandbox`), then WeasyPrint.

HTML output is autoescaped, WeasyPrint may load ``data:`` URLs only (no files of the server,
no network), and the HTML a render makes is capped at 4 MB. Failures are ``InvalidInput``
``template.*``: ``missing_field`` (``name``, ``line``), ``syntax`` (``line``, ``detail``),
``unsafe``, ``render_error``, ``not_utf8``, ``too_large``, ``output_too_large``, ``pdf_failed``.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import jinja2

from backend.errors import InvalidInput

from .sandbox import TEMPLATE_FIELD, RangeBudget, html_env, template_error, track

__all__ = ["compile_html", "html_source", "render_html", "render_pdf"]

log = logging.getLogger(__name__)

MAX_HTML_TEMPLATE = 1_000_000  # bytes of an uploaded HTML template
MAX_HTML_OUTPUT = 4_000_000  # characters of HTML a render may produce


@lru_cache(maxsize=32)
def compile_html(source: str) -> jinja2.Template:
    """The compiled template (the same source compiles once); errors as template.*."""
    try:
        return html_env.from_string(source)
    except jinja2.TemplateError as error:
        raise template_error(error) from None


def html_source(html_template: str | bytes) -> str:
    if isinstance(html_template, (bytes, bytearray, memoryview)):
        data = bytes(html_template)
        if len(data) > MAX_HTML_TEMPLATE:
            raise InvalidInput("template.too_large", field=TEMPLATE_FIELD, max_mb=MAX_HTML_TEMPLATE // 1_000_000)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("template.not_utf8", field=TEMPLATE_FIELD) from None
    if not isinstance(html_template, str):
        raise TypeError(f"an HTML template is str or bytes, not {type(html_template).__name__}")
    if len(html_template) > MAX_HTML_TEMPLATE:
        raise InvalidInput("template.too_large", field=TEMPLATE_FIELD, max_mb=MAX_HTML_TEMPLATE // 1_000_000)
    return html_template


def render_html(html_template: str | bytes, context: dict[str, Any]) -> str:
    """The template's HTML for ``context`` (Jinja2 only, no PDF)."""
    template = compile_html(html_source(html_template))
    parts: list[str] = []
    size = 0
    with RangeBudget():
        try:
            for chunk in template.generate(track(context)):
                size += len(chunk)
                if size > MAX_HTML_OUTPUT:
                    raise InvalidInput("template.output_too_large", field=TEMPLATE_FIELD,
                                       max_mb=MAX_HTML_OUTPUT // 1_000_000)
                parts.append(chunk)
        except InvalidInput:
            raise
        except Exception as error:  # noqa: BLE001 — whatever a template raises is the template's fault
            raise template_error(error) from None
    return "".join(parts)


def render_pdf(html_template: str, context: dict[str, Any]) -> bytes:
    """The PDF of an HTML template: Jinja2 sandbox + StrictUndefined, then WeasyPrint.

    Only ``data:`` URLs are fetched (the QR code's ``qr_png_data_uri``): a template cannot
    read files of the server or reach the network. Fonts come from the system (fontconfig).
    """
    import weasyprint  # imported here: the module works (DOCX, contexts) where pango is missing

    html = render_html(html_template, context)
    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), timeout=5)
    try:
        return weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
    except Exception as error:  # noqa: BLE001 — a template WeasyPrint cannot lay out
        log.info("WeasyPrint failed on a template: %r", error)
        raise InvalidInput("template.pdf_failed", field=TEMPLATE_FIELD,
                           detail=f"{type(error).__name__}: {error}") from None
