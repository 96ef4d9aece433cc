"""Checking an uploaded template, and the shipped default templates.

:func:`check_template` first reads the template's source without running it: every
``{{ name }}`` and ``{{ name.key }}`` (also inside ``{% for line in lines %}``) must be a
variable of its kind — so a misspelt field in a branch the samples never take (``{% if
is_prepayment %}``) is caught too. Then it renders the template against each sample of its
kind (:func:`~.samples.invoice_variants` / :func:`~.samples.contract_variants`); an HTML
template is laid out by WeasyPrint once, with the first sample.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

from backend.errors import InvalidInput

from .context import contract_context, invoice_context
from .docx_render import docx_body_source, docx_place, open_docx, render_docx
from .render import html_source, render_html, render_pdf
from .samples import contract_variants, invoice_variants
from .sandbox import TEMPLATE_FIELD, docx_env, html_env, template_error

__all__ = ["KINDS", "FORMATS", "TEMPLATES_DIR", "check_template", "default_template", "sample_contexts"]

KINDS = ("invoice", "contract")
FORMATS = ("html", "docx")
CLIENT_TYPES = ("company", "individual")
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# Names docxtpl adds to a DOCX context itself.
_DOCX_EXTRA = frozenset(["qr_image"])


def _choice(field: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInput("field.choice", field=field, expected=", ".join(allowed))


def default_template(kind: str, fmt: str, client_type: str = "company") -> bytes:
    """The shipped default: invoice.html / .docx, contract_company.* or contract_individual.*."""
    _choice("template_kind", kind, KINDS)  # not "kind": "field.kind" is the attachment's "Вид файла"
    _choice("template_format", fmt, FORMATS)
    _choice("client_type", client_type, CLIENT_TYPES)
    name = "invoice" if kind == "invoice" else f"contract_{client_type}"
    return (TEMPLATES_DIR / f"{name}.{fmt}").read_bytes()


@lru_cache(maxsize=2)
def sample_contexts(kind: str) -> tuple[dict[str, Any], ...]:
    """The contexts of the sample documents of a kind (made once: the QR code takes a while)."""
    if kind == "invoice":
        return tuple(invoice_context(doc) for doc in invoice_variants())
    return tuple(contract_context(doc) for doc in contract_variants())


# --- reading the source ----------------------------------------------------------------


def _names(target: nodes.Node) -> list[str]:
    return [n.name for n in ([target] if isinstance(target, nodes.Name) else target.find_all(nodes.Name))]


def _static_missing(ast: nodes.Template, context: dict[str, Any], globals_: set[str]) -> tuple[str, int] | None:
    """The first variable the source uses that its kind does not have: (name, line), or None."""
    known = set(context) | globals_
    missing = sorted(meta.find_undeclared_variables(ast) - known)
    if missing:
        line = min((n.lineno for n in ast.find_all(nodes.Name) if n.name == missing[0] and n.ctx == "load"), default=0)
        return missing[0], line
    # Names the template binds itself ({% set %}, macros, loops over its own values) are not
    # checked further; a loop over a list of the context binds its item's sample.
    bound: dict[str, dict[str, Any] | None] = {}
    for node in ast.find_all(nodes.For):
        item = None
        if isinstance(node.target, nodes.Name) and isinstance(node.iter, nodes.Name):
            values = context.get(node.iter.name)
            if isinstance(values, (list, tuple)) and values and isinstance(values[0], dict):
                item = values[0]
        for name in _names(node.target):
            bound[name] = item if bound.get(name, item) is item else None
    for node in ast.find_all((nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.CallBlock, nodes.With)):
        targets = [node.target] if isinstance(node, (nodes.Assign, nodes.AssignBlock)) else []
        if isinstance(node, (nodes.Macro, nodes.CallBlock)):
            targets = list(node.args)
        if isinstance(node, nodes.With):
            targets = list(node.targets)
        for target in targets:
            for name in _names(target):
                bound[name] = None
    found: list[tuple[int, str]] = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        base = node.node
        if not isinstance(base, nodes.Name) or base.ctx != "load":
            continue
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            key = node.arg.value
        else:
            continue
        value = bound[base.name] if base.name in bound else context.get(base.name)
        if isinstance(value, dict) and key not in value and not hasattr(dict, key):
            found.append((node.lineno, f"{base.name}.{key}"))
    if found:
        line, name = min(found)
        return name, line
    return None


def _check_source(env: jinja2.Environment, source: str, context: dict[str, Any], extra: frozenset[str],
                  where: Any = None) -> None:
    try:
        ast = env.parse(source)
        found = _static_missing(ast, context, set(env.globals) | set(extra))  # compiles: unknown filters
    except jinja2.TemplateSyntaxError as error:
        raise template_error(error, where=where) from None
    if found:
        name, line = found
        place = where(line) if where else {"line": line or "?"}
        raise InvalidInput("template.missing_field", field=TEMPLATE_FIELD, name=name, **place)


# --- the check -------------------------------------------------------------------------


def check_template(kind: str, fmt: str, content: bytes) -> None:
    """Raise InvalidInput (``template.*``) unless the template renders every sample of ``kind``.

    ``content`` is the uploaded file: UTF-8 HTML, or a .docx. The first problem found is
    named: ``template.missing_field`` with ``name`` (e.g. ``buyer.kpp_typo``) and ``line``;
    ``template.syntax`` with ``line`` and ``detail``; ``template.not_docx``; ``template.unsafe``; …
    In a DOCX, ``line`` is the paragraph (tables' paragraphs counted) and ``near`` its text.
    """
    _choice("template_kind", kind, KINDS)  # not "kind": "field.kind" is the attachment's "Вид файла"
    _choice("template_format", fmt, FORMATS)
    contexts = sample_contexts(kind)
    if fmt == "html":
        source = html_source(content)
        _check_source(html_env, source, contexts[0], frozenset())
        for context in contexts[1:]:
            render_html(source, context)
        render_pdf(source, contexts[0])
        return
    template = open_docx(content)
    _check_source(docx_env, docx_body_source(template), contexts[0], _DOCX_EXTRA, where=docx_place(template))
    for context in contexts:
        render_docx(content, context)
