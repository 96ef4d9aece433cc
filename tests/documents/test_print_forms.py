"""Print forms: the sums, the rendered PDF and DOCX read back, templates that go wrong."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
import zxingcpp
from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from backend.documents.invoice_intake import read_invoice, read_payment_qr
from backend.documents.payment_qr import decode
from backend.documents.print_forms import (
    SAMPLE_CONTRACT,
    SAMPLE_CONTRACT_INDIVIDUAL,
    SAMPLE_INVOICE,
    Line,
    Party,
    check_template,
    contract_context,
    default_template,
    format_date_long,
    format_money,
    format_quantity,
    invoice_context,
    line_amount,
    line_vat,
    prepayment_split,
    render_docx,
    render_html,
    render_pdf,
    totals,
)
from backend.documents.print_forms.model import VAT_RATES
from backend.errors import InvalidInput, ValidationFailed

SUPPLIER = SAMPLE_INVOICE.supplier
BUYER = SAMPLE_INVOICE.buyer
TOTAL = "1 234,50"
WORDS = "Одна тысяча двести тридцать четыре рубля 50 копеек"


def _flat(text: str) -> str:
    """Whitespace of any kind (NBSP, line breaks of the layout) as single spaces."""
    return " ".join(text.split())


def _pdf_text(pdf: bytes) -> str:
    return _flat("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def _docx_text(docx: bytes) -> str:
    xml = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode("utf-8")
    return _flat(re.sub(r"<[^>]+>", "", xml.replace("</w:p>", " \n")))  # runs join, paragraphs don't


def _docx(*paragraphs: str) -> bytes:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _error(call, *args) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return caught.value


@pytest.fixture(scope="module")
def invoice_pdf() -> bytes:
    return render_pdf(default_template("invoice", "html").decode(), invoice_context(SAMPLE_INVOICE))


@pytest.fixture(scope="module")
def invoice_docx() -> bytes:
    return render_docx(default_template("invoice", "docx"), invoice_context(SAMPLE_INVOICE))


# --- the sums --------------------------------------------------------------------------


class TestSums:
    def test_the_sample_adds_up(self):
        sums = totals(SAMPLE_INVOICE.lines)
        assert sums.amounts == (90000, 33450) and sums.total == 123450
        assert sums.vat_by_rate == {20: 20575} and not sums.without_vat  # 123450 × 20 / 120 = 20575

    def test_amounts_and_vat_round_half_up_per_line(self):
        line = Line("x", Decimal("0.005"), "шт", 100, 20)  # 0,5 kopeck → 1
        assert line_amount(line) == 1
        assert line_vat(Line("x", Decimal("1"), "шт", 3, 20)) == 1  # 3 × 20 / 120 = 0,5 → 1
        assert line_vat(Line("x", Decimal("1"), "шт", 2, 20)) == 0  # 0,33 → 0
        assert line_vat(Line("x", Decimal("1"), "шт", 2, None)) == 0

    @pytest.mark.parametrize(("total", "first", "rest"), [
        (100001, 70001, 30000),  # 1 000,01 ₽: 700,007 → 700,01
        (3, 2, 1),  # 0,03 ₽: 0,021 → 0,02
        (1, 1, 0),  # 0,007 → 0,01
        (5, 4, 1),  # 3,5 kopecks → 4
        (123450, 86415, 37035),
    ])
    def test_seventy_thirty_adds_up_to_the_kopeck(self, total, first, rest):
        assert prepayment_split(total) == (first, rest)
        assert first + rest == total

    @given(st.integers(min_value=1, max_value=10**18 - 1))
    def test_seventy_thirty_property(self, total):
        first, rest = prepayment_split(total)
        assert first + rest == total and first >= 0 and rest >= 0
        assert first == int((Decimal(total) * 70 / 100).quantize(Decimal(1), ROUND_HALF_UP))

    @settings(max_examples=200)
    @given(st.lists(
        st.tuples(
            st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"), places=3),
            st.integers(min_value=0, max_value=10**9),
            st.sampled_from((*VAT_RATES, None)),
        ),
        min_size=1, max_size=12,
    ))
    def test_lines_add_up_to_the_totals(self, raw):
        lines = tuple(Line(f"Позиция {i}", q, "шт", price, rate) for i, (q, price, rate) in enumerate(raw))
        sums = totals(lines)
        exact = [int((q * price).quantize(Decimal(1), ROUND_HALF_UP)) for q, price, _ in raw]
        assert list(sums.amounts) == exact and sum(sums.amounts) == sums.total
        expected_vat: dict[int, int] = {}
        for amount, (_, _, rate) in zip(exact, raw, strict=True):
            if rate is not None:
                vat = int((Decimal(amount) * rate / (100 + rate)).quantize(Decimal(1), ROUND_HALF_UP))
                expected_vat[rate] = expected_vat.get(rate, 0) + vat
        assert sums.vat_by_rate == dict(sorted(expected_vat.items()))
        assert sums.vat_total == sum(sums.vats) == sum(expected_vat.values())
        assert sums.without_vat == all(rate is None for _, _, rate in raw)


class TestFormats:
    def test_russian_formats(self):
        assert format_money(123450) == "1\u00a0234,50"
        assert format_money(100000000001) == "1\u00a0000\u00a0000\u00a0000,01"
        assert format_money(3) == "0,03"
        assert format_quantity(Decimal("1.500")) == "1,5" and format_quantity(Decimal("2500")) == "2\u00a0500"
        assert format_date_long(date(2026, 11, 24)) == "24 ноября 2026 г."
        assert format_date_long(date(2026, 3, 1)) == "1 марта 2026 г."

    def test_invoice_context(self):
        context = invoice_context(SAMPLE_INVOICE)
        assert context["total"] == "1\u00a0234,50" and context["total_kopecks"] == 123450
        assert context["date"] == "24.11.2026" and context["date_text"] == "24 ноября 2026 г."
        assert context["total_words"] == WORDS
        assert context["vat_lines"][0]["amount_kopecks"] == 20575
        assert context["purpose"] == "Оплата по счёту № С-26-0012 от 24.11.2026, в т.ч. НДС 20 % 205,75 руб."
        qr = decode(context["qr_payload"])
        assert (qr.sum_kopecks, qr.personal_acc, qr.payee_inn, qr.kpp) == (123450, SUPPLIER.account, SUPPLIER.inn,
                                                                            SUPPLIER.kpp)
        assert context["qr_png"].startswith(b"\x89PNG") and context["qr_svg"].startswith("<svg")

    def test_seventy_percent_invoice_asks_for_the_part(self):
        doc = replace(SAMPLE_INVOICE, lines=(Line("Услуги", Decimal("1"), "усл", 100001, 20),), prepayment_percent=70)
        context = invoice_context(doc)
        assert (context["due_kopecks"], context["rest_kopecks"]) == (70001, 30000)
        assert decode(context["qr_payload"]).sum_kopecks == 70001
        assert context["prepayment_text"] == "Предоплата 70\u00a0% по договору № Д-26-0007 от 01.02.2026"
        assert context["purpose"].startswith("Предоплата 70 % по счёту № С-26-0012 от 24.11.2026")

    def test_without_vat(self):
        doc = replace(SAMPLE_INVOICE, lines=tuple(replace(line, vat_rate=None) for line in SAMPLE_INVOICE.lines))
        context = invoice_context(doc)
        assert context["without_vat"] and context["vat_text"] == "Без НДС" and context["vat_lines"] == []
        assert context["purpose"].endswith(", НДС не облагается")


# --- the invoice PDF and DOCX ----------------------------------------------------------


class TestInvoicePdf:
    def test_the_text_reads_back(self, invoice_pdf):
        text = _pdf_text(invoice_pdf)
        assert "Счёт на оплату № С-26-0012 от 24 ноября 2026 г." in text
        assert SUPPLIER.inn in text and BUYER.inn in text
        assert f"Итого: {TOTAL}" in text and f"Всего к оплате: {TOTAL}" in text
        assert "В том числе НДС 20 %: 205,75" in text
        assert f"Всего наименований 2, на сумму {TOTAL} руб." in text
        assert WORDS in text
        assert "Консультационные услуги по настройке согласования платежей" in text
        assert len(PdfReader(io.BytesIO(invoice_pdf)).pages) == 1

    def test_the_qr_code_decodes_to_the_document(self, invoice_pdf):
        qr = read_payment_qr(invoice_pdf)
        assert qr is not None
        assert (qr.sum_kopecks, qr.personal_acc, qr.payee_inn) == (123450, SUPPLIER.account, SUPPLIER.inn)
        assert (qr.bic, qr.corresp_acc, qr.name) == (SUPPLIER.bik, SUPPLIER.corr_account, SUPPLIER.name)

    def test_our_own_invoice_is_read_by_the_intake(self, invoice_pdf):
        reading = read_invoice(invoice_pdf)
        assert reading.readable and reading.warnings == []
        assert (reading.supplier_inn, reading.supplier_kpp) == (SUPPLIER.inn, SUPPLIER.kpp)
        assert (reading.bik, reading.account, reading.corr_account) == (SUPPLIER.bik, SUPPLIER.account,
                                                                        SUPPLIER.corr_account)
        assert reading.amount_kopecks == 123450 and reading.vat_kopecks == 20575
        assert (reading.invoice_number, reading.invoice_date) == ("С-26-0012", date(2026, 11, 24))
        assert reading.supplier_name == SUPPLIER.name

    def test_a_seventy_percent_invoice_is_read_as_its_part(self):
        doc = replace(SAMPLE_INVOICE, prepayment_percent=70)
        pdf = render_pdf(default_template("invoice", "html").decode(), invoice_context(doc))
        text = _pdf_text(pdf)
        assert "Предоплата 70 % по договору № Д-26-0007 от 01.02.2026: 864,15" in text
        assert "Всего к оплате: 864,15" in text and f"на сумму {TOTAL} руб." in text
        reading = read_invoice(pdf)
        assert reading.amount_kopecks == 86415 and reading.supplier_inn == SUPPLIER.inn
        # "К оплате" is the part, "на сумму" the whole: the intake says they differ, which is true.
        assert reading.warnings == ["invoice.totals_differ"]
        assert read_payment_qr(pdf).sum_kopecks == 86415

    def test_an_invoice_without_vat_to_a_person(self):
        lines = tuple(replace(line, vat_rate=None) for line in SAMPLE_INVOICE.lines)
        person = Party(name="Сидоров Иван Петрович")
        pdf = render_pdf(default_template("invoice", "html").decode(),
                         invoice_context(replace(SAMPLE_INVOICE, lines=lines, buyer=person, basis="")))
        text = _pdf_text(pdf)
        assert "Без НДС" in text and "Основание" not in text and "Сидоров Иван Петрович" in text
        assert read_invoice(pdf).vat_kopecks == 0


class TestInvoiceDocx:
    def test_the_document_text(self, invoice_docx):
        text = _docx_text(invoice_docx)
        assert "Счёт на оплату № С-26-0012 от 24 ноября 2026 г." in text
        assert "Консультационные услуги по настройке согласования платежей (код УС-001)" in text
        assert "Лицензия на сервис «Виза», 1 месяц" in text
        assert "600,00" in text and "334,50" in text and TOTAL in text
        assert WORDS in text and SUPPLIER.inn in text and BUYER.inn in text and SUPPLIER.account in text
        assert "{{" not in text and "{%" not in text

    def test_the_qr_picture_is_in_the_media(self, invoice_docx):
        archive = zipfile.ZipFile(io.BytesIO(invoice_docx))
        media = [name for name in archive.namelist() if name.startswith("word/media/")]
        assert len(media) == 1 and archive.read(media[0]).startswith(b"\x89PNG")
        image = Image.open(io.BytesIO(archive.read(media[0])))
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert decode(found[0].bytes).sum_kopecks == 123450

    def test_values_are_escaped_as_xml(self):
        buyer = replace(BUYER, name='ООО "Р&Д <Плюс>"')
        docx = render_docx(default_template("invoice", "docx"), invoice_context(replace(SAMPLE_INVOICE, buyer=buyer)))
        assert 'ООО "Р&Д <Плюс>"' in _docx_text(docx).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        Document(io.BytesIO(docx))  # still a valid document


# --- contracts -------------------------------------------------------------------------


class TestContracts:
    def test_company_contract_pdf(self):
        pdf = render_pdf(default_template("contract", "html").decode(), contract_context(SAMPLE_CONTRACT))
        text = _pdf_text(pdf)
        assert "Договор № Д-26-0007" in text and "г. Москва" in text and "1 февраля 2026 г." in text
        assert "ООО «Ромашка» (далее — «Исполнитель»), от имени которого на основании Устава действует " \
               "генеральный директор Иванов И. И." in text
        assert "ООО «Альфа Сервис» (далее — «Заказчик»)" in text
        assert f"Цена Договора составляет {TOTAL} руб. ({WORDS}), в том числе НДС 20 % — 205,75 руб." in text
        assert "предоплату в размере 70 % цены Договора — 864,15 руб. (Восемьсот шестьдесят четыре рубля 15 " \
               "копеек)" in text
        assert "Оставшиеся 30 % цены Договора — 370,35 руб. (Триста семьдесят рублей 35 копеек)" in text
        assert "действует до 31 декабря 2026 г. включительно" in text
        for heading in ("1. Предмет договора", "2. Цена и порядок расчётов", "3. Срок действия договора",
                        "4. Реквизиты и подписи сторон"):
            assert heading in text
        assert SUPPLIER.account in text and BUYER.inn in text and "КПП 770401001" in text

    def test_individual_contract_docx(self):
        context = contract_context(SAMPLE_CONTRACT_INDIVIDUAL)
        text = _docx_text(render_docx(default_template("contract", "docx", "individual"), context))
        person = SAMPLE_CONTRACT_INDIVIDUAL.client
        assert "гражданин(ка) Российской Федерации Петров Пётр Петрович, паспорт серия 45 10 № 123456" in text
        assert "Цена Договора составляет 15 000,00 руб. (Пятнадцать тысяч рублей 00 копеек)." in text
        assert "в течение 10 банковских дней" in text and "до полного исполнения" in text
        assert "1.2. Состав" not in text  # no lines, no table
        assert f"ИНН {person.inn}" in text and "КПП" not in text.split("Заказчик Петров")[-1]

    def test_individual_without_inn(self):
        client = replace(SAMPLE_CONTRACT_INDIVIDUAL.client, inn="")
        context = contract_context(replace(SAMPLE_CONTRACT_INDIVIDUAL, client=client))
        text = _pdf_text(render_pdf(default_template("contract", "html", "individual").decode(), context))
        after = text.split("Заказчик Петров Пётр Петрович")[-1]
        assert "Паспорт: серия 45 10" in after and "ИНН" not in after and "КПП" not in after

    def test_terms_differ_between_full_and_seventy_thirty(self):
        full = contract_context(replace(SAMPLE_CONTRACT, payment_terms="full"))
        split = contract_context(SAMPLE_CONTRACT)
        assert full["payment_terms_text"].startswith("Заказчик оплачивает 100\u00a0% цены Договора — 1\u00a0234,50")
        assert "предоплату" not in full["payment_terms_text"] and "30\u00a0%" not in full["payment_terms_text"]
        assert "864,15" in split["payment_terms_text"] and "370,35" in split["payment_terms_text"]
        assert split["prepayment_kopecks"] + split["rest_kopecks"] == split["amount_kopecks"]
        docx = _docx_text(render_docx(default_template("contract", "docx"), full))
        assert "Заказчик оплачивает 100 % цены Договора" in docx and "Оставшиеся" not in docx

    def test_a_sole_trader_and_one_banking_day(self):
        trader = Party(name="ИП Иванов Иван Иванович", inn="500100732259", ogrn="304500116000157")
        context = contract_context(replace(SAMPLE_CONTRACT, client=trader, payment_days=1, payment_terms="full"))
        assert context["client"]["acting"] == ", ИНН 500100732259, ОГРНИП 304500116000157"
        assert "в течение 1 банковского дня" in context["payment_terms_text"]


# --- templates -------------------------------------------------------------------------


class TestTemplates:
    @pytest.mark.parametrize(("kind", "fmt", "client_type"), [
        ("invoice", "html", "company"), ("invoice", "docx", "company"),
        ("contract", "html", "company"), ("contract", "html", "individual"),
        ("contract", "docx", "company"), ("contract", "docx", "individual"),
    ])
    def test_every_default_passes(self, kind, fmt, client_type):
        check_template(kind, fmt, default_template(kind, fmt, client_type))

    def test_a_misspelt_field_is_named_in_full(self):
        source = default_template("invoice", "html").decode().replace("{{ buyer.requisites }}", "{{ buyer.kpp_typo }}")
        error = _error(check_template, "invoice", "html", source.encode())
        assert (error.code, error.field, error.params["name"]) == ("template.missing_field", "template",
                                                                  "buyer.kpp_typo")
        assert source.splitlines()[error.params["line"] - 1].strip().endswith("{{ buyer.kpp_typo }}</td>")

    def test_at_render_time_too(self):
        context = invoice_context(SAMPLE_INVOICE)
        error = _error(render_pdf, "<p>{{ number }}</p>\n<p>{{ buyer.kpp_typo }}</p>", context)
        assert (error.code, error.params["name"], error.params["line"]) == ("template.missing_field",
                                                                           "buyer.kpp_typo", 2)
        error = _error(render_html, "{% for line in lines %}{{ line.unitz }}{% endfor %}", context)
        assert error.params["name"] == "lines[0].unitz"
        assert _error(render_html, "{{ nothing }}", context).params["name"] == "nothing"

    def test_a_field_in_a_branch_the_sample_does_not_take(self):
        source = "{% if is_prepayment %}{{ prepayment_txt }}{% endif %}{% for l in lines %}{{ l.pricee }}{% endfor %}"
        error = _error(check_template, "invoice", "html", source.encode())
        assert error.params["name"] == "prepayment_txt"
        error = _error(check_template, "invoice", "html", b"{% for l in lines %}{{ l.pricee }}{% endfor %}")
        assert error.params["name"] == "l.pricee"

    def test_a_syntax_error_names_its_line(self):
        error = _error(check_template, "contract", "html", "<h1>{{ title }}</h1>\n<p>\n{{ number }\n</p>".encode())
        assert (error.code, error.field, error.params["line"]) == ("template.syntax", "template", 3)
        assert error.params["detail"]
        assert _error(check_template, "invoice", "html", b"{{ total|no_such_filter }}").code == "template.syntax"

    @pytest.mark.parametrize("source", [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lines.append(1) }}",
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{{ 'x' * 100000000 }}",
        "{{ 'x'.center(100000000) }}",
        "{{ 'x'|center(100000000) }}",
        "{{ '{:>100000000}'.format(1) }}",
        "{{ '%0100000000d' % 1 }}",
        "{{ 9**9**9 }}",
    ])
    def test_unsafe_templates_are_refused(self, source):
        error = _error(check_template, "invoice", "html", source.encode())
        assert (error.code, error.field) == ("template.unsafe", "template")

    def test_no_files_and_no_network(self):
        source = ('<a rel="attachment" href="file:///etc/passwd">x</a><img src="file:///etc/hostname">'
                  '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">{{ number }}')
        pdf = render_pdf(source, invoice_context(SAMPLE_INVOICE))
        assert b"root:" not in pdf and b"/EmbeddedFile" not in pdf

    def test_other_runtime_errors_are_template_errors(self):
        error = _error(render_html, "\n{{ total_kopecks / 0 }}", invoice_context(SAMPLE_INVOICE))
        assert (error.code, error.params["line"]) == ("template.render_error", 2)
        assert "ZeroDivisionError" in error.params["detail"]

    def test_not_a_docx(self):
        for data in (b"%PDF-1.4 not a zip", b"PK\x03\x04 broken", _zip_without_document()):
            error = _error(check_template, "invoice", "docx", data)
            assert (error.code, error.field) == ("template.not_docx", "template")

    def test_docx_errors_name_the_paragraph(self):
        error = _error(check_template, "invoice", "docx", _docx("Счёт {{ number }}", "Покупатель: {{ buyer.kpp_typo }}"))
        assert (error.code, error.params["name"], error.params["line"]) == ("template.missing_field",
                                                                           "buyer.kpp_typo", 2)
        assert error.params["near"] == "Покупатель: {{ buyer.kpp_typo }}"
        error = _error(check_template, "invoice", "docx", _docx("{{ number }}", "второй", "{% if total %}{{ total }"))
        assert (error.code, error.params["line"], error.params["near"]) == ("template.syntax", 3,
                                                                            "{% if total %}{{ total }")
        assert _error(check_template, "invoice", "docx", _docx("{{ ''.__class__ }}")).code == "template.unsafe"

    def test_a_docx_render_error_at_render_time(self):
        error = _error(render_docx, _docx("a", "{{ supplier.nmae }}"), invoice_context(SAMPLE_INVOICE))
        assert (error.code, error.params["name"], error.params["line"]) == ("template.missing_field",
                                                                           "supplier.nmae", 2)

    def test_html_must_be_utf8(self):
        assert _error(check_template, "invoice", "html", "Счёт".encode("cp1251")).code == "template.not_utf8"

    def test_unknown_kind_or_format(self):
        assert _error(check_template, "act", "html", b"").field == "template_kind"
        assert _error(default_template, "invoice", "odt").field == "template_format"


def _zip_without_document() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a docx")
    return buffer.getvalue()


# --- validation ------------------------------------------------------------------------


class TestValidation:
    def test_no_lines(self):
        error = _error(invoice_context, replace(SAMPLE_INVOICE, lines=()))
        assert (error.code, error.field) == ("print_form.no_lines", "lines")

    def test_a_negative_price(self):
        lines = (SAMPLE_INVOICE.lines[0], replace(SAMPLE_INVOICE.lines[1], price=-100))
        error = _error(invoice_context, replace(SAMPLE_INVOICE, lines=lines))
        assert (error.code, error.field) == ("print_form.price_negative", "lines[1].price")

    @pytest.mark.parametrize(("change", "code", "field"), [
        ({"quantity": Decimal("0")}, "print_form.quantity_positive", "lines[0].quantity"),
        ({"quantity": Decimal("1.0005")}, "print_form.quantity_places", "lines[0].quantity"),
        ({"quantity": 1.5}, "field.invalid", "lines[0].quantity"),
        ({"quantity": Decimal("1E+30")}, "print_form.quantity_too_large", "lines[0].quantity"),
        ({"price": 10**19}, "amount.too_large", "lines[0].price"),
        ({"price": 100.5}, "field.integer", "lines[0].price"),
        ({"vat_rate": 18}, "print_form.vat_rate", "lines[0].vat_rate"),
        ({"name": " "}, "field.required", "lines[0].name"),
    ])
    def test_bad_lines(self, change, code, field):
        lines = (replace(SAMPLE_INVOICE.lines[0], **change),)
        error = _error(invoice_context, replace(SAMPLE_INVOICE, lines=lines))
        assert (error.code, error.field) == (code, field)

    def test_amount_mismatch_in_a_contract(self):
        error = _error(contract_context, replace(SAMPLE_CONTRACT, amount=123400))
        assert (error.code, error.field) == ("print_form.amount_mismatch", "amount")
        assert (error.params["expected"], error.params["given"]) == (123450, 123400)

    def test_a_contract_without_lines_needs_a_positive_amount(self):
        error = _error(contract_context, replace(SAMPLE_CONTRACT_INDIVIDUAL, amount=0))
        assert (error.code, error.field) == ("amount.positive", "amount")

    def test_requisites_are_checked_under_the_party(self):
        supplier = replace(SUPPLIER, inn="7728012341")
        error = _error(invoice_context, replace(SAMPLE_INVOICE, supplier=supplier))
        assert (error.code, error.field) == ("inn.checksum", "supplier.inn")
        supplier = replace(SUPPLIER, account=SUPPLIER.account[:-1] + "5")
        assert _error(invoice_context, replace(SAMPLE_INVOICE, supplier=supplier)).field == "supplier.account"

    def test_an_individual_has_no_kpp(self):
        client = replace(SAMPLE_CONTRACT_INDIVIDUAL.client, kpp="770101001")
        error = _error(contract_context, replace(SAMPLE_CONTRACT_INDIVIDUAL, client=client))
        assert (error.code, error.field) == ("print_form.individual_kpp", "client.kpp")

    def test_dates_and_choices(self):
        error = _error(invoice_context, replace(SAMPLE_INVOICE, pay_until=date(2026, 11, 1)))
        assert (error.code, error.field) == ("print_form.date_before", "pay_until")
        error = _error(contract_context, replace(SAMPLE_CONTRACT, payment_terms="prepay_50_50"))
        assert (error.code, error.field) == ("field.choice", "payment_terms")
        error = _error(invoice_context, replace(SAMPLE_INVOICE, prepayment_percent=0))
        assert (error.code, error.field) == ("print_form.prepayment_percent", "prepayment_percent")

    def test_a_total_too_large_for_the_qr_code(self):
        lines = (replace(SAMPLE_INVOICE.lines[0], quantity=Decimal("1000000000000"), price=10**18 - 1),)
        error = _error(invoice_context, replace(SAMPLE_INVOICE, lines=lines))
        assert (error.code, error.field) == ("amount.too_large", "lines")

    def test_several_errors_at_once(self):
        lines = (replace(SAMPLE_INVOICE.lines[0], price=-1), replace(SAMPLE_INVOICE.lines[1], unit=""))
        with pytest.raises(ValidationFailed) as caught:
            invoice_context(replace(SAMPLE_INVOICE, number="", lines=lines))
        assert [e.field for e in caught.value.errors] == ["number", "lines[0].price", "lines[1].unit"]


def test_the_final_invoice_asks_for_what_the_prepayment_left_to_the_kopeck():
    from dataclasses import replace

    from backend.documents.print_forms import SAMPLE_INVOICE, invoice_context, prepayment_split, totals

    for price in (3, 99, 100_001, 123_450):  # (1 kopeck leaves nothing for the final part)
        lines = (replace(SAMPLE_INVOICE.lines[0], price=price, quantity=Decimal(1)),)
        first = invoice_context(replace(SAMPLE_INVOICE, lines=lines, prepayment_percent=70))
        final = invoice_context(replace(SAMPLE_INVOICE, lines=lines, settles_prepayment=70))
        assert first["due_kopecks"] + final["due_kopecks"] == totals(lines).total
        assert final["due_kopecks"] == prepayment_split(totals(lines).total, 70)[1]
        assert final["prepayment_text"].startswith("Окончательный расчёт 30")


def test_the_warm_up_renders_without_a_database():
    from backend.documents.print_forms import warm_up

    warm_up()  # what `viza serve` runs at start, in a thread
