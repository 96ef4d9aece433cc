"""The 1CClientBankExchange format: what we write is what a bank client reads (cp1251, CRLF, kopecks
exact), and what banks send is read back, or refused with the line and the key that are wrong."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.integrations.bank import clientbank
from backend.integrations.bank.clientbank import (
    PAYMENT_ORDER, Balance, ClientBankError, Document, ExchangeFile, Party, clean_value, dump, format_amount, parse,
    parse_amount,
)
from backend.locales import en, ru

PAYER = Party(name="ООО «Ромашка»", inn="7700000017", kpp="770101001", account="40702810938000000001",
              bank_name="ПАО СБЕРБАНК", bik="044525225", corr_account="30101810400000000225")
RECIPIENT = Party(name="ИП Петров Пётр Петрович", inn="770000000028", account="40802810938000000002",
                  bank_name="АО «ТИНЬКОФФ БАНК»", bank_city="г. Москва", bik="044525974",
                  corr_account="30101810145250000974")


def order(number: str = "42", amount: int = 15_000_50, purpose: str = "Оплата по счёту № 15, в т.ч. НДС 20%",
          **changes) -> Document:
    values = dict(number=number, date=date(2026, 11, 20), amount=amount, payer=PAYER, recipient=RECIPIENT,
                  purpose=purpose)
    values.update(changes)
    return Document(**values)


def exchange(*documents: Document, **changes) -> ExchangeFile:
    values = dict(sender="Viza", created=datetime(2026, 11, 20, 9, 30, 5), start=date(2026, 11, 20),
                  end=date(2026, 11, 20), accounts=[PAYER.account], document_kinds=[PAYMENT_ORDER],
                  documents=list(documents))
    values.update(changes)
    return ExchangeFile(**values)


def error_of(data: bytes) -> ClientBankError:
    with pytest.raises(ClientBankError) as caught:
        parse(data)
    return caught.value


class TestWriting:
    def test_a_round_trip_gives_back_every_field(self):
        documents = [order("42"), order("43", amount=1, purpose="Аренда за ноябрь 2026, НДС не облагается",
                                        recipient=Party(name="АО «Склады»", inn="7700000033", kpp="770201001",
                                                        account="40702810000000000003", bank_name="Банк",
                                                        bik="044525225", corr_account="30101810400000000225"))]
        written = exchange(*documents)
        read = parse(dump(written))
        assert read.documents == documents
        assert (read.version, read.encoding, read.sender, read.created, read.start, read.end) == (
            "1.03", "Windows", "Viza", datetime(2026, 11, 20, 9, 30, 5), date(2026, 11, 20), date(2026, 11, 20))
        assert read.accounts == [PAYER.account] and read.document_kinds == [PAYMENT_ORDER]
        assert read.documents[0].fields["ВидОплаты"] == "01" and read.documents[0].fields["Очередность"] == "5"

    def test_the_bytes_are_cp1251_with_crlf_and_every_field_banks_require(self):
        content = dump(exchange(order()))
        assert content.startswith(b"1CClientBankExchange\r\n") and content.endswith("КонецФайла\r\n".encode("cp1251"))
        assert b"\n" not in content.replace(b"\r\n", b"") and b"\r" not in content.replace(b"\r\n", b"")
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")  # Cyrillic as single cp1251 bytes, not UTF-8 pairs
        lines = content.decode("cp1251").split("\r\n")
        for expected in ("ВерсияФормата=1.03", "Кодировка=Windows", "Отправитель=Viza", "Получатель=",
                         "ДатаСоздания=20.11.2026", "ВремяСоздания=09:30:05", "ДатаНачала=20.11.2026",
                         "ДатаКонца=20.11.2026", f"РасчСчет={PAYER.account}", "Документ=Платежное поручение",
                         "СекцияДокумент=Платежное поручение", "Номер=42", "Дата=20.11.2026", "Сумма=15000.50",
                         f"ПлательщикСчет={PAYER.account}", "Плательщик=ООО «Ромашка»", "ПлательщикИНН=7700000017",
                         "ПлательщикКПП=770101001", "ПлательщикБанк1=ПАО СБЕРБАНК", "ПлательщикБИК=044525225",
                         "ПлательщикКорсчет=30101810400000000225", f"ПолучательСчет={RECIPIENT.account}",
                         "Получатель1=ИП Петров Пётр Петрович", "ПолучательИНН=770000000028", "ПолучательКПП=",
                         "ПолучательБанк1=АО «ТИНЬКОФФ БАНК»", "ПолучательБанк2=г. Москва",
                         "ПолучательБИК=044525974", "ПолучательКорсчет=30101810145250000974", "ВидОплаты=01",
                         "Очередность=5", "НазначениеПлатежа=Оплата по счёту № 15, в т.ч. НДС 20%",
                         "КонецДокумента", "КонецФайла"):
            assert expected in lines, expected
        assert lines.index("ВерсияФормата=1.03") == 1 and lines.index("КонецДокумента") < lines.index("КонецФайла")

    @pytest.mark.parametrize(("kopecks", "text"), [
        (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"), (15_000_50, "15000.50"),
        (100_000_000_000, "1000000000.00"), (123_456_789_012_345, "1234567890123.45"),
    ])
    def test_amounts_are_exact_kopecks_with_a_point(self, kopecks, text):
        assert format_amount(kopecks) == text
        assert parse_amount(text) == kopecks
        content = dump(exchange(order(amount=kopecks)))
        assert f"Сумма={text}\r\n".encode("cp1251") in content
        assert parse(content).documents[0].amount == kopecks

    def test_what_cp1251_cannot_hold_is_replaced_and_line_breaks_removed(self):
        purpose = "Оплата 🚀 по счёту № 7\r\nза «кофе» ✅️ — 1 500 ₽, café\tи ещё\nстрока 👨‍👩‍👧"
        content = dump(exchange(order(purpose=purpose, recipient=RECIPIENT.__class__(
            **{**RECIPIENT.__dict__, "name": "ООО «Вкусно» 🍕"}))))
        text = content.decode("cp1251")  # every byte is cp1251
        line = next(s for s in text.split("\r\n") if s.startswith("НазначениеПлатежа="))
        assert line == "НазначениеПлатежа=Оплата по счёту № 7 за «кофе» — 1 500 руб., cafe и ещё строка"
        assert "Получатель1=ООО «Вкусно»\r\n" in text
        assert parse(content).documents[0].purpose == line.split("=", 1)[1]

    @pytest.mark.parametrize(("value", "cleaned"), [
        ("a\rb\nc\r\nd", "a b c d"), ("x\u2028y", "x y"), ("  спереди  ", "спереди"), ("日本", "??"),
        ("ﬁle", "file"), ("a\u00a0b", "a b"), (None, ""), (42, "42"),
    ])
    def test_values_become_one_clean_line(self, value, cleaned):
        assert clean_value(value) == cleaned

    def test_dos_encoding_is_cp866(self):
        written = exchange(order(), encoding="DOS")
        content = dump(written)
        assert "Кодировка=DOS\r\n".encode("cp866") in content
        assert "Получатель1=ИП Петров Пётр Петрович".encode("cp866") in content
        read = parse(content)
        assert read.encoding == "DOS" and read.documents[0].payer.name == 'ООО "Ромашка"'  # cp866 has no «»
        assert read.documents[0].recipient.name == "ИП Петров Пётр Петрович"
        assert read.documents[0].purpose == "Оплата по счёту № 15, в т.ч. НДС 20%"
        assert read.documents[0].amount == 15_000_50


STATEMENT = """1CClientBankExchange
ВерсияФормата=1.03
Кодировка={encoding}
Отправитель=Сбербанк Бизнес Онлайн
Получатель=1С:Предприятие
ДатаСоздания=21.11.2026
ВремяСоздания=08:15
ДатаНачала=20.11.2026
ДатаКонца=20.11.2026
РасчСчет=40702810938000000001
СекцияРасчСчет
ДатаНачала=20.11.2026
ДатаКонца=20.11.2026
РасчСчет=40702810938000000001
НачальныйОстаток=100000.00
ВсегоПоступило=5000.00
ВсегоСписано=15000.50
КонечныйОстаток=89999.50
КонецРасчСчет
СекцияДокумент=Платежное поручение
Номер=42
Дата=19.11.2026
Сумма=15000.5
КвитанцияДата=20.11.2026
КвитанцияСодержание=статус документа: Исполнен 
ПлательщикСчет=40702810938000000001
ДатаСписано=20.11.2026
Плательщик=ИНН 7700000017 ООО \"Ромашка\"
ПлательщикИНН=7700000017
ПлательщикБИК=044525225
ПолучательСчет=40802810938000000002
ДатаПоступило=
Получатель1=ИП Петров Пётр Петрович
ПолучательИНН=770000000028
ПолучательБИК=044525974
ВидОплаты=01
Очередность=5
НазначениеПлатежа=
НазначениеПлатежа1=Оплата по счёту № 15
НазначениеПлатежа2=в т.ч. НДС 20%
КонецДокумента
СекцияДокумент=Платежное поручение
Номер=7
Дата=20.11.2026
Сумма=5000.00
ПлательщикСчет=40702810000000000099
Плательщик1=ООО \"Покупатель\"
ПлательщикИНН=7700000041
ПолучательСчет=40702810938000000001
ДатаПоступило=20.11.2026
Получатель1=ООО \"Ромашка\"
ПолучательИНН=7700000017
НазначениеПлатежа=Оплата по договору 5
КонецДокумента
КонецФайла
"""


class TestReading:
    @pytest.mark.parametrize(("encoding", "codec", "newline"), [
        ("Windows", "cp1251", "\r\n"), ("DOS", "cp866", "\r\n"), ("Windows", "cp1251", "\n"),
        ("Windows", "utf-8-sig", "\r\n"),  # some banks send UTF-8 and still declare Windows
    ])
    def test_a_bank_statement(self, encoding, codec, newline):
        data = STATEMENT.format(encoding=encoding).replace("\n", newline).encode(codec)
        read = parse(data)
        assert (read.sender, read.receiver, read.start, read.end, read.created) == (
            "Сбербанк Бизнес Онлайн", "1С:Предприятие", date(2026, 11, 20), date(2026, 11, 20),
            datetime(2026, 11, 21, 8, 15))
        assert read.balances == [Balance(account="40702810938000000001", start=date(2026, 11, 20),
                                         end=date(2026, 11, 20), opening=100_000_00, credited=5_000_00,
                                         debited=15_000_50, closing=89_999_50)]
        paid, received = read.documents
        assert (paid.number, paid.date, paid.amount, paid.debited_on, paid.credited_on, paid.line) == (
            "42", date(2026, 11, 19), 15_000_50, date(2026, 11, 20), None, 20)
        assert paid.payer.name == 'ООО "Ромашка"' and paid.payer.account == "40702810938000000001"
        assert (paid.recipient.name, paid.recipient.inn) == ("ИП Петров Пётр Петрович", "770000000028")
        assert paid.purpose == "Оплата по счёту № 15 в т.ч. НДС 20%"
        assert paid.fields["КвитанцияСодержание"] == "статус документа: Исполнен"
        assert (received.credited_on, received.payer.name, received.recipient.account) == (
            date(2026, 11, 20), 'ООО "Покупатель"', "40702810938000000001")

    def test_not_an_exchange_file(self):
        error = error_of("Выписка по счёту\r\n".encode("cp1251"))
        assert (error.code, error.line) == ("not_exchange", 1)
        assert error_of(b"%PDF-1.4\n%%EOF").code == "not_exchange"
        assert error_of(b"").code == "empty"
        assert error_of(b"1CClientBankExchange\r\nVersion=1\r\n").code == "no_encoding"

    def test_an_unknown_encoding_is_named_with_its_line(self):
        error = error_of(STATEMENT.format(encoding="UTF-16").encode("cp1251"))
        assert (error.code, error.line, error.key, error.value) == ("encoding", 3, "Кодировка", "UTF-16")

    def test_bytes_the_declared_code_page_has_no_letter_for(self):
        name = "Получатель1=ИП".encode("cp1251")
        data = STATEMENT.format(encoding="Windows").encode("cp1251").replace(name, name + b"\x98")
        error = error_of(data)
        assert (error.code, error.line) == ("undecodable", 33)

    @pytest.mark.parametrize("bad", ["1 234,50", "1234,50", "12.345", "-5.00", "1e5", "abc", "1234.50 руб"])
    def test_a_bad_amount_names_its_line_and_key(self, bad):
        data = STATEMENT.format(encoding="Windows").replace("Сумма=15000.5\n", f"Сумма={bad}\n").encode("cp1251")
        error = error_of(data)
        assert (error.code, error.line, error.key, error.value) == ("amount", 23, "Сумма", bad)

    def test_a_document_without_its_end(self):
        text = STATEMENT.format(encoding="Windows")
        error = error_of(text.replace("КонецДокумента\n", "", 1).replace("\n", "\r\n").encode("cp1251"))
        assert (error.code, error.line, error.key) == ("unclosed", 20, "КонецДокумента")
        cut = text[:text.index("Номер=7")].encode("cp1251")  # a download cut short in a document
        assert (error_of(cut).code, error_of(cut).line, error_of(cut).key) == ("unclosed", 42, "КонецДокумента")
        no_end = text.replace("КонецФайла\n", "").encode("cp1251")
        assert (error_of(no_end).code, error_of(no_end).key) == ("no_end", "КонецФайла")

    @pytest.mark.parametrize(("old", "new", "code", "line", "key"), [
        ("Дата=19.11.2026", "Дата=2026-11-19", "date", 22, "Дата"),
        ("Дата=19.11.2026", "Дата=31.02.2026", "date", 22, "Дата"),
        ("ДатаСписано=20.11.2026", "ДатаСписано=20/11/2026", "date", 27, "ДатаСписано"),
        ("ВремяСоздания=08:15", "ВремяСоздания=8 утра", "time", 7, "ВремяСоздания"),
        ("Номер=42\n", "", "missing", 20, "Номер"),
        ("Сумма=15000.5\n", "Сумма=\n", "missing", 20, "Сумма"),
        ("ВидОплаты=01", "ВидОплаты 01", "line", 36, ""),
        ("КонецРасчСчет\n", "КонецРасчСчет\nКонецДокумента\n", "unexpected", 20, "КонецДокумента"),
        ("КонецРасчСчет\n", "", "unclosed", 11, "КонецРасчСчет"),
        ("НачальныйОстаток=100000.00", "НачальныйОстаток=100 000", "amount", 15, "НачальныйОстаток"),
    ])
    def test_errors_name_the_line_and_the_key(self, old, new, code, line, key):
        text = STATEMENT.format(encoding="Windows")
        assert old in text
        error = error_of(text.replace(old, new, 1).encode("cp1251"))
        assert (error.code, error.line, error.key) == (code, line, key)

    def test_a_negative_balance_is_an_overdraft_not_an_error(self):
        text = STATEMENT.format(encoding="Windows").replace("КонечныйОстаток=89999.50", "КонечныйОстаток=-10.05")
        assert parse(text.encode("cp1251")).balances[0].closing == -10_05

    def test_every_error_has_words_in_both_languages(self):
        source = Path(clientbank.__file__).read_text(encoding="utf-8")
        codes = set(re.findall(r'ClientBankError\("([a-z_]+)"', source))
        assert len(codes) >= 10
        for catalogue in (ru.MESSAGES, en.MESSAGES):
            assert sorted(c for c in codes if f"bank_file.{c}" not in catalogue) == []


VALID = dump(exchange(order(), order("43", amount=1)))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_damage_is_a_clientbank_error_never_a_crash(data):
    """Lines dropped, doubled or replaced by anything: the parser answers or names the problem."""
    lines = VALID.split(b"\r\n")
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "double", "replace", "garble"]))
        if action == "drop":
            lines.pop(index)
        elif action == "double":
            lines.insert(index, lines[index])
        elif action == "replace":
            lines[index] = data.draw(st.binary(max_size=40))
        else:
            key = lines[index].split(b"=", 1)[0]
            lines[index] = key + b"=" + data.draw(st.binary(max_size=20))
        if not lines:
            lines = [b""]
    try:
        parse(b"\r\n".join(lines))
    except ClientBankError:
        pass
