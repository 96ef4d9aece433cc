"""Print forms: the invoice for payment ("Счёт на оплату") and the contract ("Договор").

The application builds an :class:`InvoiceDocument` or a :class:`ContractDocument` (money in
integer kopecks), turns it into template variables with :func:`invoice_context` /
:func:`contract_context`, and renders them with a template: HTML (Jinja2) to PDF with
:func:`render_pdf`, or a docxtpl .docx to DOCX with :func:`render_docx`. Admins upload their
own templates per legal entity; :func:`check_template` tries one against the samples before
it is saved, and :func:`default_template` gives the shipped ones. Every error is an
``InvalidInput`` (``print_form.*`` for a document, ``template.*`` for a template) or a
``ValidationFailed`` listing several.

Template variables
==================

Amounts are strings like ``"1 234,50"`` (no-break spaces between thousands, comma, two
digits) with the raw kopecks next to them as ``…_kopecks`` (``int``); dates are
``"24.11.2026"``, with ``…_text`` = ``"24 ноября 2026 г."`` and ``…_value`` = the ``date``.

A party — ``supplier``, ``buyer`` (invoice), ``client`` (contract):
    ``name``, ``inn``, ``kpp``, ``inn_kpp`` ("7728012340 / 772801001", or the INN alone),
    ``ogrn``, ``address``, ``bank_name``, ``bik``, ``account``, ``corr_account``,
    ``signatory`` ("Генеральный директор Иванов И. И."), ``signatory_position``
    ("Генеральный директор") and ``signatory_name`` ("Иванов И. И."; the whole signatory when
    it does not end in "Фамилия И. О."), ``accountant``, ``passport``, ``is_sole_trader``
    (a 12-digit INN of a company-type party), ``is_individual`` (the contract's individual
    client), ``requisites`` (one line as 1C prints it: "ООО «Ромашка», ИНН …, КПП …, address,
    р/с … в bank, БИК …, к/с …"), ``representation`` (the contract's party phrase: "ООО
    «Ромашка», от имени которого на основании Устава действует генеральный директор Иванов
    И. И."; for an individual "гражданин(ка) Российской Федерации ФИО, паспорт …, адрес
    регистрации: …, ИНН …"; for a sole trader "ИП …, ИНН …, ОГРНИП …"), ``acting`` (that
    phrase without the name, to put after "(далее — «Исполнитель»)"; "" for an individual).
    Empty values are ``""``.

A line — items of ``lines`` (both kinds):
    ``no`` (1, 2, …), ``name``, ``code``, ``quantity`` ("1,5"), ``quantity_value``
    (Decimal), ``unit``, ``price``, ``price_kopecks``, ``amount``, ``amount_kopecks``,
    ``vat_rate`` (int or None), ``vat_rate_text`` ("20 %" / "Без НДС"), ``vat`` (the VAT
    inside the amount; "" without VAT), ``vat_kopecks``.

Both kinds:
    ``kind`` ("invoice" / "contract"), ``number``, ``date``, ``date_text``, ``date_value``,
    ``title``, ``supplier``, ``lines``, ``lines_count``, ``has_codes``, ``total``,
    ``total_kopecks``, ``total_words`` ("Одна тысяча двести тридцать четыре рубля 50
    копеек"), ``vat_lines`` (per rate: ``rate``, ``rate_text``, ``label`` ("В том числе НДС
    20 %"), ``amount``, ``amount_kopecks``), ``vat_total``, ``vat_total_kopecks``,
    ``without_vat`` (every line "Без НДС"), ``vat_text`` ("в том числе НДС 20 % — 205,75
    руб." or "Без НДС"), ``is_prepayment``, ``prepayment_percent``, ``rest``,
    ``rest_kopecks``, ``rest_percent``.

Invoice only:
    ``buyer``, ``basis``, ``pay_until``, ``pay_until_text``, ``pay_until_value``,
    ``purpose`` (also the QR code's Purpose; by default "Оплата по счёту № N от DATE, в т.ч.
    НДС 20 % 205,75 руб." / "…, НДС не облагается" — a payment order must state the VAT),
    ``summary`` ("Всего наименований 2, на сумму 1 234,50 руб."), ``prepayment_text``
    ("Предоплата 70 % по договору № …"), ``due`` / ``due_kopecks`` / ``due_words`` (what
    this invoice asks for: the total, or its 70 % part), ``due_vat`` / ``due_vat_kopecks``
    (the VAT inside it), ``qr_payload`` (the GOST R 56042 text), ``qr_png`` (bytes),
    ``qr_png_data_uri`` (for ``<img src="…">``: a raster image, which is what bank apps and
    our own invoice intake read from a PDF), ``qr_svg`` (inline SVG markup; it becomes
    vector paths in a PDF, which readers of pictures cannot see). In a DOCX,
    ``{{ qr_image }}`` is the QR picture (docxtpl InlineImage, 35 mm).

Contract only:
    ``city``, ``client``, ``client_type``, ``is_individual``, ``subject``, ``has_lines``,
    ``amount`` / ``amount_kopecks`` / ``amount_words`` (= ``total…``), ``vat_known`` (the
    contract has lines, so its VAT is known), ``vat_phrase`` ("в том числе НДС 20 % — …",
    "НДС не облагается", or "" without lines), ``price_text`` ("Цена Договора составляет 1
    234,50 руб. (…), в том числе НДС …."), ``payment_terms`` ("full" / "prepay_70_30"),
    ``payment_days``, ``payment_days_text`` ("5 банковских дней", "1 банковского дня"), ``prepayment`` / ``prepayment_kopecks`` / ``prepayment_words`` (the 70
    % part; the whole amount for "full"), ``rest_words``, ``payment_terms_text`` (the whole
    clause for either scheme, with both sums in figures and words), ``valid_until``,
    ``valid_until_text``, ``valid_until_value``, ``validity_text``.
"""

from __future__ import annotations

from .check import check_template, default_template, sample_contexts
from .context import contract_context, invoice_context
from .docx_render import render_docx
from .formatting import format_date, format_date_long, format_money, format_quantity
from .model import (
    ContractDocument,
    InvoiceDocument,
    Line,
    Party,
    Totals,
    line_amount,
    line_vat,
    prepayment_split,
    totals,
    validate_contract,
    validate_invoice,
)
from .render import render_html, render_pdf
from .samples import SAMPLE_CONTRACT, SAMPLE_CONTRACT_INDIVIDUAL, SAMPLE_INVOICE

__all__ = [
    "warm_up",
    "SAMPLE_CONTRACT",
    "SAMPLE_CONTRACT_INDIVIDUAL",
    "SAMPLE_INVOICE",
    "ContractDocument",
    "InvoiceDocument",
    "Line",
    "Party",
    "Totals",
    "check_template",
    "contract_context",
    "default_template",
    "format_date",
    "format_date_long",
    "format_money",
    "format_quantity",
    "invoice_context",
    "line_amount",
    "line_vat",
    "prepayment_split",
    "render_docx",
    "render_html",
    "render_pdf",
    "sample_contexts",
    "totals",
    "validate_contract",
    "validate_invoice",
]


def warm_up() -> None:
    """Render the sample invoice once: the first PDF of a process loads the fonts (about 0.4 s)."""
    render_pdf(default_template("invoice", "html"), invoice_context(SAMPLE_INVOICE))
