"""Generate the default DOCX print forms (docxtpl templates) beside this script.

The .docx files are committed; run this only to change them::

    .venv/bin/python backend/documents/templates/make_docx_templates.py

They carry what the HTML defaults carry, in docxtpl's syntax: ``{{ … }}`` in runs, ``{%tr for
line in lines %}`` … ``{%tr endfor %}`` as rows of their own around the row they repeat,
``{%p if … %}`` … ``{%p endif %}`` as paragraphs of their own, and ``{{ qr_image }}`` for the
payment QR code (``render_docx`` makes it a picture). Each Jinja tag is written as one run,
so Word's splitting of text into runs cannot break it. The variables are listed in
``backend/documents/print_forms/__init__.py``.

The output is the same bytes on every run (fixed dates in the document's properties and in
the zip), so a regeneration shows up in a diff only when the content changed. The fonts are
Arial (invoice) and Times New Roman (contracts), which Word has everywhere; LibreOffice
substitutes its metric twins.
"""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

HERE = Path(__file__).resolve().parent
FIXED = datetime(2026, 1, 1, 0, 0, 0)


# --- helpers -----------------------------------------------------------------------------


def _new_document(font: str, size: float, title: str):
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(18), Mm(12)
    section.top_margin, section.bottom_margin = Mm(12), Mm(14)
    normal = document.styles["Normal"]
    normal.font.name = font
    normal.font.size = Pt(size)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), font)
    normal.paragraph_format.space_after = Pt(2)
    normal.paragraph_format.space_before = Pt(0)
    properties = document.core_properties
    properties.author = "Viza"
    properties.last_modified_by = "Viza"
    properties.title = title
    properties.created = FIXED
    properties.modified = FIXED
    properties.revision = 1
    return document


def _runs(paragraph, *parts, size: float | None = None):
    """Add runs: a str is plain, a (text, "b") tuple is bold."""
    for part in parts:
        text, bold = (part, False) if isinstance(part, str) else (part[0], "b" in part[1])
        run = paragraph.add_run(text)
        run.bold = bold or None
        if size:
            run.font.size = Pt(size)
    return paragraph


def _para(container, *parts, align=None, size: float | None = None, space_before: float | None = None,
          indent: float | None = None):
    paragraph = container.add_paragraph()
    _runs(paragraph, *parts, size=size)
    if align is not None:
        paragraph.alignment = align
    if space_before is not None:
        paragraph.paragraph_format.space_before = Pt(space_before)
    if indent is not None:
        paragraph.paragraph_format.first_line_indent = Mm(indent)
    return paragraph


def _cell(cell, *parts, align=None, size: float | None = None):
    """Write into a cell's first paragraph (a new cell has one, empty)."""
    paragraph = cell.paragraphs[0]
    _runs(paragraph, *parts, size=size)
    paragraph.paragraph_format.space_after = Pt(0)
    if align is not None:
        paragraph.alignment = align
    return paragraph


def _widths(table, *millimetres: float) -> None:
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, millimetres, strict=False):
            cell.width = Mm(width)


def _no_borders(table) -> None:
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def _loop_rows(table, opening: str, closing: str, cells: list[tuple], *, align: list | None = None) -> None:
    """Three rows: ``{%tr opening %}``, the row of ``cells``, ``{%tr closing %}``."""
    row = table.add_row()
    _cell(row.cells[0], f"{{%tr {opening} %}}")
    row = table.add_row()
    for index, (cell, parts) in enumerate(zip(row.cells, cells, strict=True)):
        _cell(cell, *(parts if isinstance(parts, tuple) else (parts,)), align=(align or [None] * len(cells))[index])
    row = table.add_row()
    _cell(row.cells[0], f"{{%tr {closing} %}}")


RIGHT, CENTER, JUSTIFY = WD_ALIGN_PARAGRAPH.RIGHT, WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY


def _deterministic(data: bytes) -> bytes:
    """The same zip with fixed timestamps, so a regeneration without changes is the same file."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def _save(document, name: str) -> Path:
    buffer = io.BytesIO()
    document.save(buffer)
    path = HERE / name
    path.write_bytes(_deterministic(buffer.getvalue()))
    return path


# --- the invoice -------------------------------------------------------------------------


def make_invoice() -> Path:
    document = _new_document("Arial", 8.5, "Счёт на оплату")

    top = document.add_table(rows=1, cols=2)
    _widths(top, 140, 40)
    _cell(top.cell(0, 0), "Оплата данного счёта означает согласие с условиями поставки товара (оказания услуг). ",
          "{% if pay_until %}Счёт действителен к оплате до {{ pay_until }}. {% endif %}",
          "В платёжном поручении укажите номер счёта.", size=7.5)
    _cell(top.cell(0, 1), "{{ qr_image }}", align=RIGHT)
    _para(document, "")

    bank = document.add_table(rows=4, cols=4)
    bank.style = "Table Grid"
    _widths(bank, 62, 56, 14, 48)
    bank.cell(0, 0).merge(bank.cell(1, 1))
    _cell(bank.cell(0, 0), "{{ supplier.bank_name }}")
    _para(bank.cell(0, 0), "Банк получателя", size=7)
    _cell(bank.cell(0, 2), "БИК")
    _cell(bank.cell(0, 3), "{{ supplier.bik }}")
    _cell(bank.cell(1, 2), "Сч. №")
    _cell(bank.cell(1, 3), "{{ supplier.corr_account }}")
    _cell(bank.cell(2, 0), "ИНН ", "{{ supplier.inn }}")
    _cell(bank.cell(2, 1), "КПП ", "{{ supplier.kpp }}")
    bank.cell(3, 0).merge(bank.cell(3, 1))
    _cell(bank.cell(3, 0), "{{ supplier.name }}")
    _para(bank.cell(3, 0), "Получатель", size=7)
    bank.cell(2, 2).merge(bank.cell(3, 2))
    bank.cell(2, 3).merge(bank.cell(3, 3))
    _cell(bank.cell(2, 2), "Сч. №")
    _cell(bank.cell(2, 3), "{{ supplier.account }}")

    _para(document, ("{{ title }}", "b"), size=13, space_before=10)

    parties = document.add_table(rows=2, cols=2)
    _widths(parties, 32, 148)
    _cell(parties.cell(0, 0), "Поставщик (Исполнитель):")
    _cell(parties.cell(0, 1), ("{{ supplier.requisites }}", "b"))
    _cell(parties.cell(1, 0), "Покупатель (Заказчик):")
    _cell(parties.cell(1, 1), ("{{ buyer.requisites }}", "b"))
    _loop_rows(parties, "if basis", "endif", ["Основание:", (("{{ basis }}", "b"),)])
    _widths(parties, 32, 148)
    _para(document, "")

    goods = document.add_table(rows=1, cols=6)
    goods.style = "Table Grid"
    align = [CENTER, None, RIGHT, CENTER, RIGHT, RIGHT]
    for cell, title, where in zip(goods.rows[0].cells, ("№", "Товары (работы, услуги)", "Кол-во", "Ед.", "Цена",
                                                         "Сумма"), align, strict=True):
        _cell(cell, (title, "b"), align=CENTER if where is None else where)
    _loop_rows(goods, "for line in lines", "endfor", [
        "{{ line.no }}", ("{{ line.name }}", "{% if line.code %} (код {{ line.code }}){% endif %}"),
        "{{ line.quantity }}", "{{ line.unit }}", "{{ line.price }}", "{{ line.amount }}",
    ], align=align)
    _widths(goods, 8, 96, 17, 11, 24, 24)

    sums = document.add_table(rows=1, cols=2)
    sums.alignment = WD_TABLE_ALIGNMENT.RIGHT
    _cell(sums.cell(0, 0), ("Итого:", "b"), align=RIGHT)
    _cell(sums.cell(0, 1), ("{{ total }}", "b"), align=RIGHT)
    _loop_rows(sums, "if without_vat", "else", [(("Без НДС", "b"),), (("—", "b"),)], align=[RIGHT, RIGHT])
    _loop_rows(sums, "for vat in vat_lines", "endfor", [(("{{ vat.label }}:", "b"),), (("{{ vat.amount }}", "b"),)],
               align=[RIGHT, RIGHT])
    row = sums.add_row()
    _cell(row.cells[0], "{%tr endif %}")
    _loop_rows(sums, "if is_prepayment", "endif", [(("{{ prepayment_text }}:", "b"),), (("{{ due }}", "b"),)],
               align=[RIGHT, RIGHT])
    row = sums.add_row()
    _cell(row.cells[0], ("Всего к оплате:", "b"), align=RIGHT)
    _cell(row.cells[1], ("{{ due }}", "b"), align=RIGHT)
    _widths(sums, 95, 28)

    _para(document, "{{ summary }}", space_before=6)
    _para(document, ("{{ total_words }}", "b"))
    _para(document, "{%p if is_prepayment %}")
    _para(document, "К оплате ({{ prepayment_percent }} %): ", ("{{ due_words }}", "b"),
          "{% if not without_vat %}, в т.ч. НДС {{ due_vat }} руб.{% endif %}")
    _para(document, "{%p endif %}")
    _para(document, "Назначение платежа: ", "{{ purpose }}", space_before=4)
    _para(document, "{%p if pay_until %}")
    _para(document, "Оплатить не позднее ", "{{ pay_until }}", ".")
    _para(document, "{%p endif %}")
    _para(document, "")

    signs = document.add_table(rows=2, cols=6)
    _widths(signs, 24, 32, 34, 22, 32, 34)
    _cell(signs.cell(0, 0), ("Руководитель", "b"))
    _cell(signs.cell(0, 1), "______________________")
    _cell(signs.cell(0, 2), "{{ supplier.signatory_name }}")
    _cell(signs.cell(0, 3), ("Бухгалтер", "b"))
    _cell(signs.cell(0, 4), "______________________")
    _cell(signs.cell(0, 5), "{{ supplier.accountant }}")
    _cell(signs.cell(1, 1), "{{ supplier.signatory_position }}", size=6.5, align=CENTER)
    _cell(signs.cell(1, 2), "расшифровка подписи", size=6.5)
    _cell(signs.cell(1, 4), "подпись", size=6.5, align=CENTER)
    _cell(signs.cell(1, 5), "расшифровка подписи", size=6.5)
    return _save(document, "invoice.docx")


# --- the contracts -----------------------------------------------------------------------


def _heading(document, text: str) -> None:
    _para(document, (text, "b"), align=CENTER, space_before=8)


def _clause(document, *parts) -> None:
    _para(document, *parts, align=JUSTIFY, indent=8)


def _requisites(cell, role: str, rows: list[tuple]) -> None:
    _cell(cell, (role, "b"))
    for parts in rows:
        _para(cell, *parts)


def make_contract(client_type: str) -> Path:
    individual = client_type == "individual"
    document = _new_document("Times New Roman", 11, "Договор")
    _para(document, ("{{ title }}", "b"), align=CENTER, size=14)
    place = document.add_table(rows=1, cols=2)
    _widths(place, 90, 90)
    _cell(place.cell(0, 0), "г. ", "{{ city }}")
    _cell(place.cell(0, 1), "{{ date_text }}", align=RIGHT)
    _para(document, "")

    if individual:
        _clause(document, "{{ supplier.name }}", " (далее — «Исполнитель»)", "{{ supplier.acting }}",
                ", с одной стороны, и гражданин(ка) Российской Федерации ", "{{ client.name }}",
                "{% if client.passport %}, паспорт {{ client.passport }}{% endif %}",
                "{% if client.address %}, адрес регистрации: {{ client.address }}{% endif %}",
                " (далее — «Заказчик»), с другой стороны, вместе именуемые «Стороны», заключили настоящий "
                "Договор о нижеследующем.")
    else:
        _clause(document, "{{ supplier.name }}", " (далее — «Исполнитель»)", "{{ supplier.acting }}",
                ", с одной стороны, и ", "{{ client.name }}", " (далее — «Заказчик»)", "{{ client.acting }}",
                ", с другой стороны, вместе именуемые «Стороны», заключили настоящий Договор о нижеследующем.")

    _heading(document, "1. Предмет договора")
    _clause(document, "1.1. Предмет договора: ", "{{ subject }}",
            ". Исполнитель обязуется выполнить его по заданию Заказчика, а Заказчик — принять и оплатить "
            "результат на условиях настоящего Договора.")
    _para(document, "{%p if has_lines %}")
    _clause(document, "1.2. Состав, количество и стоимость работ (услуг):")
    items = document.add_table(rows=1, cols=6)
    items.style = "Table Grid"
    align = [CENTER, None, RIGHT, CENTER, RIGHT, RIGHT]
    for cell, title in zip(items.rows[0].cells, ("№", "Наименование", "Кол-во", "Ед.", "Цена, руб.", "Сумма, руб."),
                           strict=True):
        _cell(cell, (title, "b"), align=CENTER, size=10)
    _loop_rows(items, "for line in lines", "endfor", [
        "{{ line.no }}", "{{ line.name }}", "{{ line.quantity }}", "{{ line.unit }}", "{{ line.price }}",
        "{{ line.amount }}",
    ], align=align)
    row = items.add_row()
    row.cells[0].merge(row.cells[4])
    _cell(row.cells[0], ("Итого", "b"),
          ("{% if not without_vat %}, в том числе НДС {{ vat_total }} руб.{% else %} (без НДС){% endif %}", "b"))
    _cell(row.cells[5], ("{{ total }}", "b"), align=RIGHT)
    _widths(items, 8, 92, 18, 12, 25, 25)
    _para(document, "{%p endif %}")

    _heading(document, "2. Цена и порядок расчётов")
    _clause(document, "2.1. ", "{{ price_text }}")
    _clause(document, "2.2. ", "{{ payment_terms_text }}")
    _clause(document, "2.3. Оплата производится в рублях безналичным перечислением на расчётный счёт Исполнителя. "
                      "Датой оплаты считается дата зачисления денежных средств на расчётный счёт Исполнителя.")

    _heading(document, "3. Срок действия договора")
    _clause(document, "3.1. ", "{{ validity_text }}")
    _clause(document, "3.2. Все изменения и дополнения к Договору действительны, если они совершены в письменной "
                      "форме и подписаны уполномоченными представителями Сторон.")

    _heading(document, "4. Реквизиты и подписи сторон")
    table = document.add_table(rows=2, cols=2)
    _widths(table, 90, 90)
    _requisites(table.cell(0, 0), "Исполнитель", [
        ("{{ supplier.name }}",),
        ("{% if supplier.address %}Адрес: {{ supplier.address }}{% endif %}",),
        ("ИНН ", "{{ supplier.inn }}", "{% if supplier.kpp %}, КПП {{ supplier.kpp }}{% endif %}"),
        ("{% if supplier.ogrn %}{% if supplier.is_sole_trader %}ОГРНИП{% else %}ОГРН{% endif %} "
         "{{ supplier.ogrn }}{% endif %}",),
        ("Р/с ", "{{ supplier.account }}"),
        ("в ", "{{ supplier.bank_name }}"),
        ("БИК ", "{{ supplier.bik }}"),
        ("К/с ", "{{ supplier.corr_account }}"),
    ])
    if individual:
        _requisites(table.cell(0, 1), "Заказчик", [
            ("{{ client.name }}",),
            ("{% if client.passport %}Паспорт: {{ client.passport }}{% endif %}",),
            ("{% if client.address %}Адрес регистрации: {{ client.address }}{% endif %}",),
            ("{% if client.inn %}ИНН {{ client.inn }}{% endif %}",),
            ("{% if client.account %}Счёт {{ client.account }} в {{ client.bank_name }}, БИК {{ client.bik }}"
             "{% endif %}",),
        ])
    else:
        _requisites(table.cell(0, 1), "Заказчик", [
            ("{{ client.name }}",),
            ("{% if client.address %}Адрес: {{ client.address }}{% endif %}",),
            ("ИНН ", "{{ client.inn }}", "{% if client.kpp %}, КПП {{ client.kpp }}{% endif %}"),
            ("{% if client.ogrn %}{% if client.is_sole_trader %}ОГРНИП{% else %}ОГРН{% endif %} "
             "{{ client.ogrn }}{% endif %}",),
            ("{% if client.account %}Р/с {{ client.account }}{% endif %}",),
            ("{% if client.account %}в {{ client.bank_name }}, БИК {{ client.bik }}{% endif %}",),
            ("{% if client.account %}К/с {{ client.corr_account }}{% endif %}",),
        ])
    _cell(table.cell(1, 0), "{{ supplier.signatory_position }}")
    _para(table.cell(1, 0), "______________ / ", "{{ supplier.signatory_name }}", " /")
    if individual:
        _cell(table.cell(1, 1), "")
        _para(table.cell(1, 1), "______________ / ", "{{ client.signatory_name or client.name }}", " /")
    else:
        _cell(table.cell(1, 1), "{{ client.signatory_position }}")
        _para(table.cell(1, 1), "______________ / ", "{{ client.signatory_name }}", " /")
    for cell in table.rows[1].cells:
        cell.paragraphs[0].paragraph_format.space_before = Pt(24)
    return _save(document, f"contract_{client_type}.docx")


def main() -> None:
    for path in (make_invoice(), make_contract("company"), make_contract("individual")):
        print(f"{path.relative_to(HERE.parents[2])}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    sys.exit(main())
