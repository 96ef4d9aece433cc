"""Generate the sample supplier invoices in ``tests/documents/samples/``.

The PDFs are committed, so the tests do not need this script; run it only to change or add
a sample, then update the expected values in ``test_invoice_intake.py``::

    .venv/bin/pip install fpdf2      # a tool for this script only, not a project dependency
    .venv/bin/python tests/documents/make_samples.py

The text is set in DejaVu Sans (``/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf``, for the
Cyrillic), subset by fpdf2, so each file stays a few tens of kilobytes. The requisites are made
valid with :mod:`backend.requisites`, with Sberbank's BIK 044525225 and its correspondent
account, so every check digit in the samples holds.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from backend.requisites import make_valid_account, make_valid_inn10, make_valid_inn12

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SAMPLES = Path(__file__).resolve().parent / "samples"
FIXED_DATE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # same bytes on every run

BIK = "044525225"
CORR = "30101810400000000225"
BANK = "ПАО СБЕРБАНК г. Москва"

BUYER = 'ООО "Виза Тест"'
BUYER_INN = make_valid_inn10("500100123")  # 5001001239
BUYER_KPP = "500101001"
BUYER_ACCOUNT = make_valid_account(BIK, "40702810", 4321)

ROMASHKA_INN = make_valid_inn10("772801234")  # 7728012340
ROMASHKA_ACCOUNT = make_valid_account(BIK, "40702810", 1234)
SERVICES_INN = make_valid_inn10("770401567")  # 7704015670
SERVICES_ACCOUNT = make_valid_account(BIK, "40702810", 5678)
SOLE_TRADER_INN = make_valid_inn12("5001007322")  # 500100732259
SOLE_TRADER_ACCOUNT = make_valid_account(BIK, "40802810", 77)
MULTIPAGE_INN = make_valid_inn10("770401567")
MULTIPAGE_ACCOUNT = make_valid_account(BIK, "40702810", 9999)


def _new_pdf():
    from fpdf import FPDF  # imported here: only this script needs fpdf2

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_auto_page_break(auto=False)
    pdf.add_font("DejaVu", fname=FONT)
    pdf.set_font("DejaVu", size=9)
    return pdf


def _row(pdf, cells, h=6.0, border=1):
    for width, text in cells:
        pdf.cell(width, h, text, border=border)
    pdf.ln(h)


def _items(pdf, rows, widths=(10, 95, 15, 15, 25, 30)):
    _row(pdf, zip(widths, ("№", "Товары (работы, услуги)", "Кол-во", "Ед.", "Цена", "Сумма")))
    for row in rows:
        _row(pdf, zip(widths, row))


def classic_1c() -> bytes:
    """The 1C "Счет на оплату": the bank table on top, then supplier, buyer, items, totals."""
    pdf = _new_pdf()
    pdf.add_page()
    pdf.set_font("DejaVu", size=8)
    pdf.cell(0, 5, "Внимание! Оплата данного счета означает согласие с условиями поставки товара.")
    pdf.ln(8)
    pdf.set_font("DejaVu", size=9)
    # The bank table as 1C draws it: cell by cell, left to right, top to bottom.
    _row(pdf, [(100, BANK), (20, "БИК"), (70, BIK)], border="LTR")
    _row(pdf, [(100, ""), (20, "Сч. №"), (70, CORR)], border="LR")
    _row(pdf, [(100, "Банк получателя"), (20, ""), (70, "")], border="LBR")
    _row(pdf, [(50, f"ИНН {ROMASHKA_INN}"), (50, "КПП 772801001"), (20, "Сч. №"), (70, ROMASHKA_ACCOUNT)])
    _row(pdf, [(100, 'ООО "Ромашка"'), (20, ""), (70, "")], border="LR")
    _row(pdf, [(100, "Получатель"), (20, ""), (70, "")], border="LBR")
    pdf.ln(4)
    pdf.set_font("DejaVu", size=14)
    pdf.cell(0, 8, "Счет на оплату № 123 от 20 ноября 2026 г.")
    pdf.ln(10)
    pdf.set_font("DejaVu", size=9)
    pdf.multi_cell(190, 5, f'Поставщик (Исполнитель): ООО "Ромашка", ИНН {ROMASHKA_INN}, КПП 772801001, '
                           "125009, Москва г, Тверская ул, дом № 1")
    pdf.ln(2)
    pdf.multi_cell(190, 5, f"Покупатель (Заказчик): {BUYER}, ИНН {BUYER_INN}, КПП {BUYER_KPP}, "
                           "141400, Московская обл, Химки г, Ленинградская ул, дом № 5")
    pdf.ln(4)
    _items(pdf, [
        ("1", "Бумага офисная А4, 500 л.", "50", "пач", "350,00", "17 500,00"),
        ("2", "Картридж лазерный", "2", "шт", "4 250,25", "8 500,50"),
    ])
    pdf.ln(2)
    for label, value in (("Итого:", "26 000,50"), ("В том числе НДС (20%):", "4 333,42"),
                         ("Всего к оплате:", "26 000,50")):
        pdf.cell(150, 5, label, align="R")
        pdf.cell(40, 5, value, align="R")
        pdf.ln(5)
    pdf.ln(2)
    pdf.cell(0, 5, "Всего наименований 2, на сумму 26 000,50 руб.")
    pdf.ln(5)
    pdf.cell(0, 5, "Двадцать шесть тысяч рублей 50 копеек")
    pdf.ln(10)
    pdf.cell(0, 5, "Руководитель ____________ Петров П. П.      Бухгалтер ____________ Сидорова С. С.")
    return bytes(pdf.output())


def services_vat() -> bytes:
    """A services invoice: "ИНН/КПП" on one line, р/с and к/с, VAT 20% added on top."""
    pdf = _new_pdf()
    pdf.add_page()
    pdf.set_font("DejaVu", size=12)
    pdf.cell(0, 7, 'ООО "Альфа Сервис"')
    pdf.ln(7)
    pdf.set_font("DejaVu", size=9)
    for line in (
        f"ИНН/КПП {SERVICES_INN}/7704AB001",
        f"р/с {SERVICES_ACCOUNT} в {BANK}",
        f"к/с {CORR}, БИК {BIK}",
        "Адрес: 119021, г. Москва, ул. Льва Толстого, д. 16",
    ):
        pdf.cell(0, 5, line)
        pdf.ln(5)
    pdf.ln(6)
    pdf.set_font("DejaVu", size=14)
    pdf.cell(0, 8, "Счёт № А-15 от 20.11.2026", align="C")
    pdf.ln(12)
    pdf.set_font("DejaVu", size=9)
    pdf.cell(0, 5, f'Исполнитель: ООО "Альфа Сервис", ИНН/КПП {SERVICES_INN}/7704AB001')
    pdf.ln(5)
    pdf.cell(0, 5, f"Заказчик: {BUYER}, ИНН/КПП {BUYER_INN}/{BUYER_KPP}, р/с {BUYER_ACCOUNT}")
    pdf.ln(5)
    pdf.cell(0, 5, "Основание: Договор № 7/2026 от 01.02.2026")
    pdf.ln(8)
    _items(pdf, [
        ("1", "Техническое сопровождение сайта, ноябрь 2026", "1", "усл", "100 000,00", "100 000,00"),
        ("2", "Хостинг, ноябрь 2026", "1", "усл", "25 000,00", "25 000,00"),
    ])
    pdf.ln(2)
    for label, value in (("Итого без НДС:", "125 000.00"), ("НДС 20%:", "25 000.00"),
                         ("Итого к оплате:", "150 000.00")):
        pdf.cell(150, 5, label, align="R")
        pdf.cell(40, 5, value, align="R")
        pdf.ln(5)
    pdf.ln(4)
    pdf.cell(0, 5, "Назначение платежа: Оплата по счету № А-15 от 20.11.2026 за услуги, в т.ч. НДС 20%")
    pdf.ln(5)
    pdf.cell(0, 5, "Счет действителен 5 банковских дней.")
    return bytes(pdf.output())


def sole_trader() -> bytes:
    """A sole trader: 12-digit INN, no KPP, "Без НДС", date in words, amount as "15 000-50"."""
    pdf = _new_pdf()
    pdf.add_page()
    pdf.set_font("DejaVu", size=13)
    pdf.cell(0, 8, "СЧЕТ № 2026-0042 от «5» декабря 2026 г.")
    pdf.ln(12)
    pdf.set_font("DejaVu", size=9)
    for line in (
        "Получатель: ИП Иванов Иван Иванович",
        f"ИНН {SOLE_TRADER_INN}",
        f"Расчетный счет № {SOLE_TRADER_ACCOUNT}",
        f"Банк получателя: {BANK}",
        f"БИК {BIK}   Корр. счет {CORR}",
        "",
        f"Плательщик: {BUYER}, ИНН {BUYER_INN}, КПП {BUYER_KPP}",
    ):
        pdf.cell(0, 5, line)
        pdf.ln(5)
    pdf.ln(4)
    _items(pdf, [("1", "Фотосъемка мероприятия 28.11.2026", "1", "усл", "15 000-50", "15 000-50")])
    pdf.ln(2)
    pdf.cell(150, 5, "Итого:", align="R")
    pdf.cell(40, 5, "15 000-50", align="R")
    pdf.ln(5)
    pdf.cell(150, 5, "Без НДС", align="R")
    pdf.cell(40, 5, "-", align="R")
    pdf.ln(8)
    pdf.cell(0, 5, "НДС не облагается (упрощенная система налогообложения).")
    return bytes(pdf.output())


def multipage() -> bytes:
    """Forty item lines over two pages; the totals are on page 2, a page subtotal on page 1."""
    pdf = _new_pdf()
    pdf.add_page()
    _row(pdf, [(100, BANK), (20, "БИК"), (70, BIK)], border="LTR")
    _row(pdf, [(100, "Банк получателя"), (20, "Сч. №"), (70, CORR)], border="LBR")
    _row(pdf, [(50, f"ИНН {MULTIPAGE_INN}"), (50, "КПП 770401001"), (20, "Сч. №"), (70, MULTIPAGE_ACCOUNT)])
    _row(pdf, [(100, 'АО "Техснаб"'), (20, ""), (70, "")], border="LR")
    _row(pdf, [(100, "Получатель"), (20, ""), (70, "")], border="LBR")
    pdf.ln(4)
    pdf.set_font("DejaVu", size=14)
    pdf.cell(0, 8, "Счет на оплату № ТС-981 от 3 марта 2027 г.")
    pdf.ln(10)
    pdf.set_font("DejaVu", size=9)
    pdf.cell(0, 5, f'Поставщик: АО "Техснаб", ИНН {MULTIPAGE_INN}, КПП 770401001')
    pdf.ln(5)
    pdf.cell(0, 5, f"Покупатель: {BUYER}, ИНН {BUYER_INN}, КПП {BUYER_KPP}")
    pdf.ln(7)
    rows = [(str(n), f"Комплектующие, артикул ТС-{n:04d}", "1", "шт", "1 000,00", "1 000,00")
            for n in range(1, 41)]
    _items(pdf, rows[:30])
    pdf.cell(150, 5, "Итого по странице:", align="R")
    pdf.cell(40, 5, "30 000,00", align="R")
    pdf.ln(8)
    pdf.cell(0, 5, "Страница 1 из 2", align="C")
    pdf.add_page()
    _items(pdf, rows[30:])
    pdf.ln(2)
    for label, value in (("Итого:", "40 000,00"), ("В том числе НДС:", "6 666,67"),
                         ("Всего к оплате:", "40 000,00")):
        pdf.cell(150, 5, label, align="R")
        pdf.cell(40, 5, value, align="R")
        pdf.ln(5)
    pdf.ln(2)
    pdf.cell(0, 5, "Всего наименований 40, на сумму 40 000,00 руб.")
    pdf.ln(8)
    pdf.cell(0, 5, "Страница 2 из 2", align="C")
    return bytes(pdf.output())


def scan() -> bytes:
    """A "scanned" invoice: only shapes, no text layer at all."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()
    pdf.set_fill_color(235, 235, 235)
    pdf.rect(10, 10, 190, 277, style="F")  # the grey paper
    pdf.set_fill_color(40, 40, 40)
    for n in range(12):  # dark strokes where the lines of print would be
        pdf.rect(20, 30 + n * 12, 60 + (n * 37) % 100, 4, style="F")
    pdf.rect(20, 200, 170, 40, style="D")  # the items table
    return bytes(pdf.output())


QR_INN = make_valid_inn10("771502468")
QR_ACCOUNT = make_valid_account(BIK, "40702810", 2468)


def scan_with_qr() -> bytes:
    """A scanned invoice (no text layer) that carries the GOST R 56042 payment QR code, as
    many invoices printed from 1C do: everything the request needs is in the picture."""
    import io

    from backend.documents.payment_qr import PaymentDetails, qr_png

    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()
    pdf.set_fill_color(235, 235, 235)
    pdf.rect(10, 10, 190, 277, style="F")
    pdf.set_fill_color(40, 40, 40)
    for n in range(8):
        pdf.rect(20, 30 + n * 12, 60 + (n * 37) % 100, 4, style="F")
    details = PaymentDetails(name='ООО "Квадрат"', personal_acc=QR_ACCOUNT, bank_name="ПАО СБЕРБАНК", bic=BIK,
                             corresp_acc=CORR, payee_inn=QR_INN, kpp="771501001", sum_kopecks=4_800_000,
                             purpose="Оплата по счету № 77 от 18.11.2026, в т.ч. НДС 8000.00")
    pdf.image(io.BytesIO(qr_png(details, scale=4)), x=150, y=30, w=40)
    return bytes(pdf.output())


SAMPLE_BUILDERS = {
    "classic_1c.pdf": classic_1c,
    "services_vat.pdf": services_vat,
    "sole_trader.pdf": sole_trader,
    "multipage.pdf": multipage,
    "scan.pdf": scan,
    "scan_with_qr.pdf": scan_with_qr,
}


def main() -> None:
    SAMPLES.mkdir(exist_ok=True)
    for name, build in SAMPLE_BUILDERS.items():
        data = build()
        (SAMPLES / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
