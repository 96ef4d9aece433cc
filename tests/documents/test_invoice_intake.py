"""Reading suppliers' invoices: the sample PDFs field by field, then the tricky texts."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest

from backend.documents.invoice_intake import (
    InvoiceReading,
    read_invoice,
    read_invoice_text,
)
from backend.errors import InvalidInput
from backend.requisites import make_valid_account, make_valid_inn10, make_valid_inn12

SAMPLES = Path(__file__).resolve().parent / "samples"

BIK = "044525225"
CORR = "30101810400000000225"
SBER = "ПАО СБЕРБАНК г. Москва"
SUPPLIER_INN = make_valid_inn10("772801234")  # 7728012340
OTHER_INN = make_valid_inn10("770401567")  # 7704015670
BUYER_INN = make_valid_inn10("500100123")  # 5001001239
SOLE_TRADER_INN = make_valid_inn12("5001007322")  # 500100732259
ACCOUNT = make_valid_account(BIK, "40702810", 1234)  # 40702810500000001234
BUYER_ACCOUNT = make_valid_account(BIK, "40702810", 4321)
BAD_KEY_ACCOUNT = ACCOUNT[:8] + str((int(ACCOUNT[8]) + 1) % 10) + ACCOUNT[9:]


def _bad_inn(inn: str) -> str:
    return inn[:-1] + str((int(inn[-1]) + 1) % 10)


def _fields(**values):
    return values


EXPECTED = {
    "classic_1c.pdf": _fields(
        readable=True, reason=None,
        supplier_name='ООО "Ромашка"', supplier_inn="7728012340", supplier_kpp="772801001",
        bik=BIK, account="40702810500000001234", corr_account=CORR, bank_name=SBER,
        amount_kopecks=2600050, vat_kopecks=433342,
        invoice_number="123", invoice_date=date(2026, 11, 20),
        purpose_hint="Оплата по счету № 123 от 20.11.2026, в т.ч. НДС 4333.42",
        warnings=[],
    ),
    "services_vat.pdf": _fields(
        readable=True, reason=None,
        supplier_name='ООО "Альфа Сервис"', supplier_inn="7704015670", supplier_kpp="7704AB001",
        bik=BIK, account="40702810900000005678", corr_account=CORR, bank_name=SBER,
        amount_kopecks=15000000, vat_kopecks=2500000,
        invoice_number="А-15", invoice_date=date(2026, 11, 20),
        purpose_hint="Оплата по счету № А-15 от 20.11.2026 за услуги, в т.ч. НДС 20%",
        warnings=[],
    ),
    "sole_trader.pdf": _fields(
        readable=True, reason=None,
        supplier_name="ИП Иванов Иван Иванович", supplier_inn="500100732259", supplier_kpp=None,
        bik=BIK, account="40802810600000000077", corr_account=CORR, bank_name=SBER,
        amount_kopecks=1500050, vat_kopecks=0,
        invoice_number="2026-0042", invoice_date=date(2026, 12, 5),
        purpose_hint="Оплата по счету № 2026-0042 от 05.12.2026, НДС не облагается",
        warnings=[],
    ),
    "multipage.pdf": _fields(
        readable=True, reason=None,
        supplier_name='АО "Техснаб"', supplier_inn="7704015670", supplier_kpp="770401001",
        bik=BIK, account="40702810300000009999", corr_account=CORR, bank_name=SBER,
        amount_kopecks=4000000, vat_kopecks=666667,
        invoice_number="ТС-981", invoice_date=date(2027, 3, 3),
        purpose_hint="Оплата по счету № ТС-981 от 03.03.2027, в т.ч. НДС 6666.67",
        warnings=[],
    ),
    # A scan with no text at all, but with the payment QR code: everything comes from the code.
    "scan_with_qr.pdf": _fields(
        readable=True, reason=None,
        supplier_name='ООО "Квадрат"', supplier_inn="7715024683", supplier_kpp="771501001",
        bik=BIK, account="40702810100000002468", corr_account=CORR, bank_name="ПАО СБЕРБАНК",
        amount_kopecks=4800000, vat_kopecks=None, invoice_number=None, invoice_date=None,
        purpose_hint="Оплата по счету № 77 от 18.11.2026, в т.ч. НДС 8000.00",
        warnings=["invoice.from_qr_only"],
    ),
}


class TestPaymentQr:
    def test_the_qr_code_fills_what_the_text_lacks_and_wins_where_they_differ(self):
        from backend.documents.invoice_intake import with_qr
        from backend.documents.payment_qr import PaymentDetails

        text = read_invoice_text(f"Поставщик: ООО \"Ромашка\", ИНН {SUPPLIER_INN}\nИтого к оплате: 1 000,00\n")
        qr = PaymentDetails(name="ООО Ромашка (из QR)", personal_acc=make_valid_account(BIK, "40702810", 55),
                            bank_name=SBER, bic=BIK, corresp_acc=CORR, payee_inn=SUPPLIER_INN, sum_kopecks=120_000)
        merged = with_qr(text, qr)
        assert merged.supplier_name == 'ООО "Ромашка"'  # the text's words are kept
        assert merged.account == make_valid_account(BIK, "40702810", 55) and merged.bik == BIK  # filled in
        assert merged.amount_kopecks == 120_000 and "invoice.qr_differs" in merged.warnings  # the code wins, said
        assert "QR" in merged.warning_messages("en")[-1]

    def test_a_pdf_without_a_qr_code_reads_as_before(self):
        from backend.documents.invoice_intake import read_payment_qr

        assert read_payment_qr((SAMPLES / "classic_1c.pdf").read_bytes()) is None


class TestSamplePdfs:
    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_every_field_is_read(self, name):
        reading = read_invoice((SAMPLES / name).read_bytes())
        assert asdict(reading) == EXPECTED[name]

    def test_samples_are_small(self):
        assert all(p.stat().st_size < 40_000 for p in SAMPLES.glob("*.pdf"))

    def test_a_scan_is_unreadable_and_nothing_is_guessed(self):
        reading = read_invoice((SAMPLES / "scan.pdf").read_bytes())
        assert reading.readable is False
        assert reading.reason == "invoice.no_text_layer"
        assert asdict(reading) == asdict(InvoiceReading(readable=False, reason="invoice.no_text_layer"))


class TestBadFiles:
    def test_an_empty_file(self):
        with pytest.raises(InvalidInput) as caught:
            read_invoice(b"")
        assert caught.value.code == "attachment.empty"

    @pytest.mark.parametrize("data", [b"PK\x03\x04 a zip, not a pdf", "Счет на оплату".encode()])
    def test_not_a_pdf(self, data):
        with pytest.raises(InvalidInput) as caught:
            read_invoice(data)
        assert (caught.value.code, caught.value.field) == ("invoice.not_pdf", "file")
        assert "не PDF" in caught.value.message("ru")

    @pytest.mark.parametrize("cut", ["header_only", "truncated"])
    def test_a_broken_pdf(self, cut):
        whole = (SAMPLES / "classic_1c.pdf").read_bytes()
        data = b"%PDF-1.4\n garbage" if cut == "header_only" else whole[: len(whole) // 2]
        with pytest.raises(InvalidInput) as caught:
            read_invoice(data)
        assert (caught.value.code, caught.value.field) == ("invoice.pdf_broken", "file")
        assert "повреждён" in caught.value.message("ru")


class TestSupplierInn:
    def test_the_supplier_not_the_buyer(self):
        text = (f"Покупатель: ООО \"Виза Тест\", ИНН {BUYER_INN}, КПП 500101001\n"
                f"Поставщик: ООО \"Ромашка\", ИНН {SUPPLIER_INN}, КПП 772801001\n")
        reading = read_invoice_text(text)
        assert (reading.supplier_inn, reading.supplier_kpp) == (SUPPLIER_INN, "772801001")
        assert reading.supplier_name == 'ООО "Ромашка"'
        assert reading.warnings == []

    def test_only_the_buyer_is_labelled_the_heading_is_the_supplier(self):
        text = (f"ИНН {SUPPLIER_INN} КПП 772801001 Сч. № {ACCOUNT}\nБИК {BIK}\n"
                f"Плательщик: ООО \"Виза Тест\" ИНН {BUYER_INN} р/с {BUYER_ACCOUNT}\n")
        reading = read_invoice_text(text)
        assert (reading.supplier_inn, reading.account, reading.bik) == (SUPPLIER_INN, ACCOUNT, BIK)

    def test_the_buyer_inn_repeated_in_the_heading_is_not_taken(self):
        reading = read_invoice_text(f"ИНН {BUYER_INN}\nЗаказчик: ИНН {BUYER_INN}\n")
        assert reading.supplier_inn is None

    @pytest.mark.parametrize("text", [
        f"ИНН/КПП {SUPPLIER_INN}/772801001",
        f"ИНН {SUPPLIER_INN} КПП 772801001",
        f"ИНН {SUPPLIER_INN} / КПП 772801001",
        f"ИНН: {SUPPLIER_INN}, КПП: 772801001",
        f"ИНН\n{SUPPLIER_INN}\nКПП\n772801001",  # table cells, one per line
        f"ИНН\u00a0{SUPPLIER_INN}\u00a0\u00a0КПП\u202f772801001",
        f"КПП 772801001\nИНН {SUPPLIER_INN}",  # the KPP apart from its INN
    ])
    def test_inn_and_kpp_layouts(self, text):
        reading = read_invoice_text("Поставщик: ООО \"Ромашка\"\n" + text)
        assert (reading.supplier_inn, reading.supplier_kpp) == (SUPPLIER_INN, "772801001")

    def test_kpp_letters_typed_in_cyrillic_become_latin(self):
        reading = read_invoice_text(f"Исполнитель: ООО \"А\", ИНН/КПП {SUPPLIER_INN}/7728АВ001")
        assert reading.supplier_kpp == "7728AB001"

    def test_a_sole_trader_has_no_kpp(self):
        reading = read_invoice_text(f"Поставщик: ИП Петров П. П., ИНН {SOLE_TRADER_INN}\nКПП 772801001")
        assert (reading.supplier_inn, reading.supplier_kpp) == (SOLE_TRADER_INN, None)

    def test_a_wrong_check_digit_is_never_taken(self):
        reading = read_invoice_text(f"Поставщик: ООО \"Ромашка\", ИНН {_bad_inn(SUPPLIER_INN)}")
        assert reading.supplier_inn is None
        assert reading.warnings == ["invoice.inn_invalid"]

    def test_a_wrong_inn_beside_a_right_one(self):
        text = f"ИНН {_bad_inn(SUPPLIER_INN)}\nПоставщик: ООО \"Ромашка\", ИНН {SUPPLIER_INN}"
        reading = read_invoice_text(text)
        assert reading.supplier_inn == SUPPLIER_INN
        assert reading.warnings == ["invoice.inn_invalid"]

    def test_two_supplier_inns_the_labelled_one_with_a_warning(self):
        text = f"ИНН {OTHER_INN}\nПоставщик: ООО \"Ромашка\", ИНН {SUPPLIER_INN}"
        reading = read_invoice_text(text)
        assert reading.supplier_inn == SUPPLIER_INN
        assert reading.warnings == ["invoice.supplier_inn_conflict"]

    def test_received_and_consignee_words_are_not_labels(self):
        text = (f"Банк получателя\nГрузополучатель: ООО \"Виза Тест\", ИНН {BUYER_INN}\n"
                f"Получатель: ООО \"Ромашка\", ИНН {SUPPLIER_INN}")
        reading = read_invoice_text(text)
        assert (reading.supplier_inn, reading.supplier_name) == (SUPPLIER_INN, 'ООО "Ромашка"')

    def test_a_name_wrapped_onto_the_next_line(self):
        text = f"Поставщик: ООО «Очень длинное\nназвание компании», ИНН {SUPPLIER_INN}"
        assert read_invoice_text(text).supplier_name == "ООО «Очень длинное название компании»"

    def test_the_name_above_the_recipient_cell(self):
        text = f"ИНН {SUPPLIER_INN} КПП 772801001 Сч. № {ACCOUNT}\nООО \"Ромашка\"\nПолучатель\n"
        assert read_invoice_text(text).supplier_name == 'ООО "Ромашка"'


class TestBankDetails:
    def test_the_1c_table_split_cell_by_cell(self):
        cells = [
            SBER, "БИК", BIK, "Сч. №", CORR, "Банк получателя",
            "ИНН", SUPPLIER_INN, "КПП", "772801001", "Сч. №", ACCOUNT, 'ООО "Ромашка"', "Получатель",
        ]
        text = "\n".join(cells)  # each cell on its own line
        reading = read_invoice_text(text)
        assert (reading.bik, reading.corr_account, reading.account) == (BIK, CORR, ACCOUNT)
        assert (reading.supplier_inn, reading.supplier_kpp) == (SUPPLIER_INN, "772801001")
        assert reading.bank_name == SBER
        assert reading.supplier_name == 'ООО "Ромашка"'

    @pytest.mark.parametrize("text", [
        f"р/с {ACCOUNT} в {SBER}\nк/с {CORR}\nБИК {BIK}",
        f"Расчетный счет: {ACCOUNT}\nБанк: {SBER}\nКорр. счет: {CORR}\nБИК: {BIK}",
        (f"Р/сч {ACCOUNT[:4]} {ACCOUNT[4:8]} {ACCOUNT[8:12]} {ACCOUNT[12:16]} {ACCOUNT[16:]}\n"
         f"Банк получателя: {SBER}\nБИК\u00a0{BIK} К/с\u00a0{CORR}"),
    ])
    def test_labels_and_groupings(self, text):
        reading = read_invoice_text(text)
        assert (reading.account, reading.corr_account, reading.bik) == (ACCOUNT, CORR, BIK)
        assert reading.bank_name == SBER
        assert reading.warnings == []

    def test_a_bad_control_key_is_kept_with_a_warning(self):
        reading = read_invoice_text(f"БИК {BIK}\nр/с {BAD_KEY_ACCOUNT}")
        assert reading.account == BAD_KEY_ACCOUNT
        assert reading.warnings == ["invoice.account_key_mismatch"]

    def test_the_account_that_matches_the_bik_wins(self):
        reading = read_invoice_text(f"р/с {BAD_KEY_ACCOUNT}\nр/с {ACCOUNT}\nБИК {BIK}")
        assert reading.account == ACCOUNT
        assert reading.warnings == []

    def test_the_buyer_account_is_never_taken(self):
        reading = read_invoice_text(f"Плательщик: ООО \"Виза Тест\", р/с {BUYER_ACCOUNT}, БИК {BIK}")
        assert (reading.account, reading.bik) == (None, None)

    def test_an_account_without_a_bik(self):
        reading = read_invoice_text(f"р/с {ACCOUNT}")
        assert reading.account == ACCOUNT
        assert reading.warnings == ["invoice.account_without_bik"]

    def test_a_corr_account_of_another_bank(self):
        reading = read_invoice_text(f"БИК {BIK} к/с 30101810145250000974 р/с {ACCOUNT}")
        assert reading.corr_account == "30101810145250000974"
        assert reading.warnings == ["invoice.corr_account_mismatch"]


class TestAmounts:
    @pytest.mark.parametrize(("written", "kopecks"), [
        ("15 000,50", 1500050),
        ("15000.50", 1500050),
        ("15 000-50", 1500050),
        ("15\u00a0000,50", 1500050),
        ("15\u202f000.50", 1500050),
        ("1 215 000,00", 121500000),
        ("15000", 1500000),
        ("15 000 руб. 50 коп.", 1500050),
        ("15 000,50 руб.", 1500050),
    ])
    def test_formats(self, written, kopecks):
        assert read_invoice_text(f"Итого к оплате: {written}").amount_kopecks == kopecks

    def test_the_total_not_a_line_amount(self):
        text = ("1 Бумага 2 шт 500,00 1 000,00\nИтого по странице: 1 000,00\n2 Ручка 1 шт 200,00 200,00\n"
                "Итого: 1 200,00\nВ том числе НДС (20%): 200,00\nВсего к оплате: 1 200,00")
        reading = read_invoice_text(text)
        assert (reading.amount_kopecks, reading.vat_kopecks) == (120000, 20000)

    def test_vat_on_top_to_pay_wins_over_the_net_total(self):
        text = "Итого без НДС: 1 000,00\nНДС 20%: 200,00\nИтого: 1 000,00\nИтого к оплате: 1 200,00"
        reading = read_invoice_text(text)
        assert (reading.amount_kopecks, reading.vat_kopecks) == (120000, 20000)

    def test_only_the_count_of_items_line(self):
        reading = read_invoice_text("Всего наименований 3, на сумму 7 500,00 руб.")
        assert reading.amount_kopecks == 750000

    def test_totals_that_disagree_are_flagged(self):
        reading = read_invoice_text("Всего к оплате: 1 200,00\nВсего наименований 2, на сумму 1 100,00 руб.")
        assert reading.amount_kopecks == 120000
        assert reading.warnings == ["invoice.totals_differ"]

    def test_the_total_on_the_next_line(self):
        assert read_invoice_text("Итого к оплате:\n26 000,50").amount_kopecks == 2600050

    @pytest.mark.parametrize(("text", "vat"), [
        ("Итого: 100,00\nБез НДС", 0),
        ("Всего: 100,00\nНДС не облагается", 0),
        ("Итого: 120,00\nВ т.ч. НДС 20% - 20,00", 2000),
        ("Итого: 120,00\nСумма НДС: 20-00", 2000),
        ("Итого: 120,00", None),
    ])
    def test_vat(self, text, vat):
        assert read_invoice_text(text).vat_kopecks == vat


class TestNumberAndDate:
    @pytest.mark.parametrize(("title", "number", "when"), [
        ("Счет на оплату № 123 от 20 ноября 2026 г.", "123", date(2026, 11, 20)),
        ("Счёт № А-15 от 20.11.2026", "А-15", date(2026, 11, 20)),
        ("СЧЕТ №2026-0042 от «5» декабря 2026 г.", "2026-0042", date(2026, 12, 5)),
        ("Счет-оферта № 77/11 от 1 мая 2026 года", "77/11", date(2026, 5, 1)),
        ("Счет на оплату № 9 от 03 марта 2027", "9", date(2027, 3, 3)),
        ("Счет № 5 от 20.11.26", "5", date(2026, 11, 20)),
        ("Счет на оплату\n№ 123 от\n20.11.2026", "123", date(2026, 11, 20)),  # split lines
    ])
    def test_titles(self, title, number, when):
        reading = read_invoice_text(title)
        assert (reading.invoice_number, reading.invoice_date) == (number, when)

    def test_an_impossible_date_is_not_guessed(self):
        reading = read_invoice_text("Счет № 5 от 31.02.2026")
        assert (reading.invoice_number, reading.invoice_date) == ("5", None)

    def test_the_payment_purpose_is_built(self):
        reading = read_invoice_text("Счет № 5 от 20.11.2026\nИтого к оплате: 120,00\nВ том числе НДС: 20,00")
        assert reading.purpose_hint == "Оплата по счету № 5 от 20.11.2026, в т.ч. НДС 20.00"

    def test_a_stated_purpose_is_kept(self):
        text = "Счет № 5 от 20.11.2026\nВ назначении платежа укажите: Оплата по сч. 5 за ноябрь"
        assert read_invoice_text(text).purpose_hint == "Оплата по сч. 5 за ноябрь"

    def test_nothing_found(self):
        assert asdict(read_invoice_text("Акт сверки")) == asdict(InvoiceReading())

    def test_warnings_have_words_even_before_the_catalogue_does(self):
        reading = read_invoice_text(f"р/с {ACCOUNT}")
        # The code itself until backend/locales gets the texts, then the words.
        assert reading.warning_messages("en")[0] in ("invoice.account_without_bik", *_words("en"))


def _words(lang):
    from backend.i18n import CATALOGUES

    text = CATALOGUES[lang].get("invoice.account_without_bik")
    return [text] if text else []
