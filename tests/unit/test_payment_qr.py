"""The payment QR code is what GOST R 56042-2014 says and what a bank app can scan back."""

from __future__ import annotations

import dataclasses
import io
from decimal import Decimal

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.documents.payment_qr import (
    PAYLOAD_FIELD,
    PaymentDetails,
    PaymentQrError,
    decode,
    encode,
    payload_bytes,
    qr_code,
    qr_png,
    qr_svg,
    validate,
)
from backend.errors import InvalidInput

SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"
# The Russian example of the SWIFT IBAN registry: a valid account at Sberbank's BIK.
SBER_ACCOUNT = "40817810538091310419"
SBER_INN = "7707083893"
SBER_KPP = "773601001"

# What names and purposes are made of, with the separator and "=" among them.
TEXT = "АаБбВвЁёЖжЩщЪъЯя QWqw09 .,;:-–—\"'«»№%()/\\|=+"

MANDATORY = (
    "ST00012|Name=ООО «Три кита»|PersonalAcc=40817810538091310419|BankName=ПАО Сбербанк"
    "|BIC=044525225|CorrespAcc=30101810400000000225"
)


def details(**changes) -> PaymentDetails:
    base = PaymentDetails(
        name="ООО «Три кита»",
        personal_acc=SBER_ACCOUNT,
        bank_name="ПАО Сбербанк",
        bic=SBER_BIK,
        corresp_acc=SBER_CORR,
    )
    return dataclasses.replace(base, **changes)


def full(**changes) -> PaymentDetails:
    values = {
        "payee_inn": SBER_INN,
        "kpp": SBER_KPP,
        "sum_kopecks": 1_234_567_89,
        "purpose": "Оплата по счёту № 17 от 01.03.2026, в т.ч. НДС 20%",
    }
    return details(**{**values, **changes})


def scan(png: bytes) -> bytes:
    """What a phone reads from the picture: the raw bytes of the one QR code in it."""
    # Only QR codes are looked for: among all formats zxing now and then also "sees" a linear code
    # in the QR's modules (a windows-1251 payload once gave a QR and a phantom second barcode).
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].bytes


class TestEncode:
    def test_mandatory_fields_in_gost_order(self):
        assert encode(details()) == MANDATORY

    def test_optional_fields_follow_in_order_then_extras(self):
        payload = encode(full(extra={"DocNo": "17", "DocDate": "01.03.2026"}))
        assert payload == (
            MANDATORY + "|PayeeINN=7707083893|KPP=773601001|Sum=123456789"
            "|Purpose=Оплата по счёту № 17 от 01.03.2026, в т.ч. НДС 20%|DocNo=17|DocDate=01.03.2026"
        )

    def test_absent_optional_fields_are_left_out(self):
        payload = encode(details(sum_kopecks=500_00, purpose="", extra={"PayerINN": "", "CBC": None}))
        assert payload == MANDATORY + "|Sum=50000"

    @pytest.mark.parametrize("encoding, header", [
        ("utf-8", "ST00012"), ("UTF8", "ST00012"), ("windows-1251", "ST00011"), ("cp1251", "ST00011"),
        ("koi8-r", "ST00013"), ("KOI8_R", "ST00013"),
    ])
    def test_the_header_names_the_encoding(self, encoding, header):
        payload = encode(details(name="ООО Три кита"), encoding)
        assert payload.startswith(header + "|Name=ООО Три кита|")

    @pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "cp866", "no-such-codec"])
    def test_other_encodings_are_refused(self, encoding):
        with pytest.raises(ValueError, match="utf-8, windows-1251 or koi8-r"):
            encode(details(), encoding)

    def test_bars_are_stripped_from_every_value(self):
        payload = encode(full(
            name="ООО «Три|кита»", bank_name="|ПАО Сбербанк|", bic="044525|225",
            purpose="Оплата | аванс", extra={"DocNo": "1|7"},
        ))
        assert payload == (
            "ST00012|Name=ООО «Трикита»|PersonalAcc=40817810538091310419|BankName=ПАО Сбербанк"
            "|BIC=044525225|CorrespAcc=30101810400000000225|PayeeINN=7707083893|KPP=773601001"
            "|Sum=123456789|Purpose=Оплата  аванс|DocNo=17"
        )
        assert payload.count("|") == 10  # one bar per field, no more

    @pytest.mark.parametrize("kopecks, written", [
        (1, "Sum=1"), (100, "Sum=100"), (1_234_567_89, "Sum=123456789"),
        (10**18 - 1, "Sum=999999999999999999"),
    ])
    def test_sum_is_kopecks_in_digits(self, kopecks, written):
        assert encode(details(sum_kopecks=kopecks)) == f"{MANDATORY}|{written}"

    def test_digits_are_normalised(self):
        payload = encode(details(
            bic=" 044 525 225 ", personal_acc="40817 810 5 3809 1310419", corresp_acc="30101-810-400000000225",
        ))
        assert payload == MANDATORY

    def test_treasury_payee(self):
        # The single tax payment (ЕНП) as the FNS publishes it: a Treasury BIK, a keyless
        # treasury account and the single treasury account (ЕКС) as the correspondent one.
        enp = PaymentDetails(
            name="Казначейство России (ФНС России)",
            personal_acc="03100643000000018500",
            bank_name="ОТДЕЛЕНИЕ ТУЛА БАНКА РОССИИ//УФК по Тульской области, г Тула",
            bic="017003983",
            corresp_acc="40102810445370000059",
            payee_inn="7727406020",
            kpp="770801001",
            extra={"CBC": "18201061201010000510"},
        )
        assert encode(enp) == (
            "ST00012|Name=Казначейство России (ФНС России)|PersonalAcc=03100643000000018500"
            "|BankName=ОТДЕЛЕНИЕ ТУЛА БАНКА РОССИИ//УФК по Тульской|BIC=017003983"
            "|CorrespAcc=40102810445370000059|PayeeINN=7727406020|KPP=770801001|CBC=18201061201010000510"
        )

    def test_a_long_bank_name_is_cut_to_the_standard_45_characters(self):
        payload = encode(details(bank_name="ФИЛИАЛ «ЦЕНТРАЛЬНЫЙ» БАНКА ВТБ (ПАО) В Г. МОСКВЕ"))
        assert "|BankName=ФИЛИАЛ «ЦЕНТРАЛЬНЫЙ» БАНКА ВТБ (ПАО) В Г. МОС|" in payload

    def test_a_bank_without_correspondent_account_writes_zero(self):
        assert encode(details(corresp_acc="0")).endswith("|CorrespAcc=0")
        assert decode(encode(details(corresp_acc="0"))).corresp_acc == "0"

    def test_windows_1251_takes_typographic_characters(self):
        payload = payload_bytes(full(), "windows-1251")
        assert payload.startswith(b"ST00011|Name=\xce\xce\xce \xab")  # ООО «
        assert "№ 17".encode("cp1251") in payload

    def test_koi8_r_has_no_guillemets(self):
        with pytest.raises(PaymentQrError) as error:
            encode(details(), "koi8-r")
        assert error.value.field == "Name" and "koi8-r" in str(error.value)


class TestEncodeErrors:
    @pytest.mark.parametrize("changes, field, code", [
        ({"name": ""}, "Name", "field.required"),
        ({"name": "  |  "}, "Name", "field.required"),
        ({"name": "Ф" * 161}, "Name", "field.too_long"),
        ({"bank_name": ""}, "BankName", "field.required"),
        ({"purpose": "Н" * 211}, "Purpose", "field.too_long"),
        ({"bic": ""}, "BIC", "bik.required"),
        ({"bic": "04452522"}, "BIC", "bik.format"),
        ({"bic": "14452522X"}, "BIC", "bik.format"),
        ({"personal_acc": ""}, "PersonalAcc", "account.required"),
        ({"personal_acc": "4081781053809131041"}, "PersonalAcc", "account.format"),
        ({"personal_acc": "40817810538091310418"}, "PersonalAcc", "account.checksum"),
        ({"corresp_acc": ""}, "CorrespAcc", "field.required"),
        ({"corresp_acc": "3010181040000000022"}, "CorrespAcc", "corr_account.format"),
        ({"corresp_acc": SBER_ACCOUNT}, "CorrespAcc", "corr_account.prefix"),
        ({"corresp_acc": "30101810500000000225"}, "CorrespAcc", "corr_account.checksum"),
        ({"payee_inn": "7707083894"}, "PayeeINN", "inn.checksum"),
        ({"payee_inn": "77070838"}, "PayeeINN", "inn.length"),
        ({"kpp": "77360100"}, "KPP", "kpp.format"),
        ({"payee_inn": "500100732259", "kpp": SBER_KPP}, "KPP", "kpp.not_for_sole_trader"),
        ({"sum_kopecks": 0}, "Sum", "field.invalid"),
        ({"sum_kopecks": -100}, "Sum", "field.invalid"),
        ({"sum_kopecks": 10**18}, "Sum", "field.invalid"),
        ({"sum_kopecks": 1234.56}, "Sum", "field.integer"),
        ({"sum_kopecks": Decimal("1234.56")}, "Sum", "field.integer"),
        ({"sum_kopecks": True}, "Sum", "field.integer"),
        ({"extra": {"sum": "100"}}, "sum", "field.invalid"),
        ({"extra": {"PURPOSE": "x"}}, "PURPOSE", "field.invalid"),
        ({"extra": {"Doc No": "1"}}, "Doc No", "field.invalid"),
        ({"extra": {"a=b": "1"}}, "a=b", "field.invalid"),
        ({"extra": {"DocNo": "1", "docno": "2"}}, "docno", "field.invalid"),
    ])
    def test_errors_name_the_gost_field(self, changes, field, code):
        with pytest.raises(PaymentQrError) as error:
            encode(details(**changes))
        assert error.value.field == field and error.value.code == code
        assert str(error.value).startswith(f"{field}: ")

    def test_an_error_is_both_an_invalid_input_and_a_value_error(self):
        with pytest.raises(PaymentQrError) as error:
            encode(details(bic="123"))
        assert isinstance(error.value, InvalidInput) and isinstance(error.value, ValueError)
        assert error.value.message("ru").startswith("BIC: нужно 9 цифр")

    def test_the_longest_values_the_standard_allows_are_accepted(self):
        payload = encode(full(name="Ф" * 160, bank_name="Б" * 45, purpose="Н" * 210))
        assert "|Name=" + "Ф" * 160 + "|" in payload and "|Purpose=" + "Н" * 210 in payload


class TestDecode:
    @pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
    def test_round_trip(self, encoding):
        sent = full(extra={"DocNo": "17", "PayerINN": "500100732259"})
        assert decode(encode(sent, encoding)) == sent
        assert decode(payload_bytes(sent, encoding)) == sent

    def test_round_trip_koi8_r(self):
        sent = full(name="ООО \"Три кита\"", purpose="Оплата по счёту N 17, НДС не облагается")
        assert payload_bytes(sent, "koi8-r").startswith(b"ST00013|")
        assert decode(payload_bytes(sent, "koi8-r")) == sent

    def test_the_header_decides_how_bytes_are_read(self):
        text = MANDATORY.replace("ST00012", "ST00011")
        assert decode(text.encode("cp1251")).name == "ООО «Три кита»"
        koi = MANDATORY.replace("ST00012", "ST00013").replace("«Три кита»", "Три кита")
        assert decode(koi.encode("koi8-r")).name == "ООО Три кита"

    def test_keys_in_any_case_and_unknown_keys_kept(self):
        decoded = decode(
            "ST00012|NAME=ООО Ромашка|personalacc=40817810538091310419|bankName=ПАО Сбербанк"
            "|bic=044525225|CORRESPACC=30101810400000000225|payeeinn=7707083893|Kpp=773601001"
            "|SUM=150000|purpose=Аванс|LastName=Иванов|CBC=18201061201010000510|lastname=Петров"
        )
        assert decoded == PaymentDetails(
            name="ООО Ромашка", personal_acc=SBER_ACCOUNT, bank_name="ПАО Сбербанк", bic=SBER_BIK,
            corresp_acc=SBER_CORR, payee_inn=SBER_INN, kpp=SBER_KPP, sum_kopecks=150000,
            purpose="Аванс", extra={"LastName": "Иванов", "CBC": "18201061201010000510", "lastname": "Петров"},
        )

    def test_another_separator_trailing_separator_and_newline(self):
        decoded = decode(MANDATORY.replace("|", "#") + "#Sum=100#\r\n")
        assert decoded == details(sum_kopecks=100)

    def test_an_equals_sign_inside_a_value(self):
        assert decode(MANDATORY + "|Purpose=Аванс = 30%").purpose == "Аванс = 30%"

    def test_a_utf8_byte_order_mark_is_ignored(self):
        assert decode(b"\xef\xbb\xbf" + MANDATORY.encode()) == details()

    def test_an_empty_sum_is_no_sum(self):
        assert decode(MANDATORY + "|Sum=").sum_kopecks is None

    def test_values_are_not_checked_until_validated(self):
        decoded = decode(MANDATORY.replace("BIC=044525225", "BIC=12345"))
        assert decoded.bic == "12345"
        with pytest.raises(PaymentQrError) as error:
            validate(decoded)
        assert error.value.field == "BIC"

    @pytest.mark.parametrize("payload", [
        "", "hello", "ST0001", "ST00012", "ST00014|Name=x", "ST00022|Name=x", "st00012|Name=x",
        "https://qr.nspk.ru/AS1000670LSS7DN18SJQDNP4B05KLJL2?type=01&bank=100000000111",
        b"", b"\xff\xfe\x00S", "ST000121Name=x", "ST00012=Name=x",
    ])
    def test_not_a_payment_code(self, payload):
        with pytest.raises(PaymentQrError) as error:
            decode(payload)
        assert error.value.field == PAYLOAD_FIELD
        assert "GOST R 56042" in str(error.value)

    def test_a_wrong_header_is_named(self):
        with pytest.raises(PaymentQrError, match="not ST00011, ST00012 or ST00013"):
            decode("ST00014|Name=x")

    def test_bytes_that_do_not_match_the_header(self):
        with pytest.raises(PaymentQrError, match="utf-8"):
            decode(MANDATORY.encode("cp1251"))

    def test_a_field_without_equals(self):
        with pytest.raises(PaymentQrError, match="not key=value") as error:
            decode(MANDATORY + "|Purpose")
        assert error.value.field == PAYLOAD_FIELD

    @pytest.mark.parametrize("key", ["Name", "PersonalAcc", "BankName", "BIC", "CorrespAcc"])
    def test_a_missing_mandatory_field_is_named(self, key):
        fields = [part for part in MANDATORY.split("|") if not part.startswith(f"{key}=")]
        with pytest.raises(PaymentQrError) as error:
            decode("|".join(fields))
        assert error.value.field == key and error.value.code == "field.required"

    def test_an_empty_mandatory_field_is_named(self):
        with pytest.raises(PaymentQrError) as error:
            decode(MANDATORY.replace("BankName=ПАО Сбербанк", "BankName="))
        assert error.value.field == "BankName"

    def test_a_known_key_twice_is_refused(self):
        with pytest.raises(PaymentQrError, match="given twice") as error:
            decode(MANDATORY + "|personalAcc=40702810900000000123")
        assert error.value.field == "PersonalAcc"

    @pytest.mark.parametrize("written", ["12.50", "1 000", "-5", "١٢", "1234567890123456789"])
    def test_a_sum_that_is_not_kopecks(self, written):
        with pytest.raises(PaymentQrError) as error:
            decode(f"{MANDATORY}|Sum={written}")
        assert error.value.field == "Sum"

    @settings(max_examples=200, deadline=None)
    @given(
        name=st.text(TEXT, min_size=1, max_size=160).filter(lambda t: t.replace("|", "").strip()),
        purpose=st.text(TEXT, max_size=210),
        kopecks=st.none() | st.integers(min_value=1, max_value=10**18 - 1),
        encoding=st.sampled_from(["utf-8", "windows-1251"]),
    )
    def test_any_text_round_trips(self, name, purpose, kopecks, encoding):
        sent = full(name=name, purpose=purpose, sum_kopecks=kopecks)
        assert decode(payload_bytes(sent, encoding)) == validate(sent)

    def test_only_text_or_bytes(self):
        with pytest.raises(TypeError):
            decode(12345)


class TestQrImage:
    @pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
    def test_the_png_scans_back_to_the_exact_payload(self, encoding):
        sent = full(extra={"DocNo": "17"})
        scanned = scan(qr_png(sent, encoding=encoding))
        assert scanned == payload_bytes(sent, encoding)
        assert decode(scanned) == sent

    def test_koi8_r_scans_back(self):
        sent = full(name="ИП Иванов Иван Иванович", purpose="Оплата по счету N 5")
        scanned = scan(qr_png(sent, encoding="koi8-r"))
        assert scanned.startswith(b"ST00013|") and decode(scanned) == sent

    def test_utf8_is_written_as_utf8_bytes_without_eci(self):
        sent = full()
        results = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(sent))))
        assert results[0].bytes == encode(sent).encode("utf-8")
        assert results[0].text == encode(sent)  # a reader guessing UTF-8 gets the same text
        assert results[0].symbology_identifier == "]Q1"  # model 2, no ECI designator

    def test_byte_mode_error_correction_m(self):
        for sent in (details(), full(name="Ф" * 160, bank_name="Б" * 45, purpose="Н" * 210)):
            code = qr_code(sent)
            assert code.mode == "byte" and code.error == "M" and not code.is_micro

    def test_the_longest_payload_still_scans(self):
        sent = full(name="Ф" * 160, bank_name="Б" * 45, purpose="Назначение платежа " * 11)
        assert decode(scan(qr_png(sent))) == validate(sent)

    @settings(max_examples=25, deadline=None)
    @given(
        name=st.text(TEXT, min_size=1, max_size=160).filter(lambda t: t.replace("|", "").strip()),
        purpose=st.text(TEXT, max_size=210),
        encoding=st.sampled_from(["utf-8", "windows-1251"]),
    )
    def test_any_text_scans_back(self, name, purpose, encoding):
        sent = full(name=name, purpose=purpose)
        assert decode(scan(qr_png(sent, scale=2, encoding=encoding))) == validate(sent)

    def test_png_size_follows_scale(self):
        code = qr_code(full())
        for scale in (1, 3, 8):
            image = Image.open(io.BytesIO(qr_png(full(), scale=scale)))
            assert image.size == code.symbol_size(scale=scale, border=4)

    def test_a_small_scale_still_scans(self):
        assert decode(scan(qr_png(full(), scale=2))) == full()

    def test_svg_is_inline_ready(self):
        svg = qr_svg(full(), scale=2)
        width, height = qr_code(full()).symbol_size(scale=2, border=4)
        assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
        assert "<?xml" not in svg and f'width="{width}" height="{height}"' in svg

    def test_too_much_for_a_qr_code(self):
        with pytest.raises(PaymentQrError) as error:
            qr_png(full(extra={"Note": "Я" * 2000}))
        assert error.value.field == PAYLOAD_FIELD and "bytes" in str(error.value)

    def test_an_invalid_detail_makes_no_picture(self):
        with pytest.raises(PaymentQrError) as error:
            qr_svg(details(personal_acc="40817810538091310418"))
        assert error.value.field == "PersonalAcc"
