"""The 1CClientBankExchange format, version 1.03 (v8.1c.ru/edi/edi_stnd/100/101.htm): a writer of
payment orders for a bank client and a parser of the statements it sends back.

A file is text, one ``key=value`` a line: the line ``1CClientBankExchange``, a header (format
version, encoding, sender, receiver, period, accounts), then sections — ``СекцияРасчСчет`` …
``КонецРасчСчет`` with an account's balances, ``СекцияДокумент=<kind>`` … ``КонецДокумента`` per
document — and ``КонецФайла``. ``Кодировка=Windows`` means cp1251, ``DOS`` cp866. Amounts are
rubles with a decimal point (``1234.50``), dates ``дд.мм.гггг``.

The module knows the format and nothing of the application: amounts are integer kopecks,
dates are ``date``, and every problem in a file is a :class:`ClientBankError` naming the line
and the key, which the service turns into a message in the user's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time

MARKER = "1CClientBankExchange"
VERSION = "1.03"
PAYMENT_ORDER = "Платежное поручение"
CODECS = {"Windows": "cp1251", "DOS": "cp866"}

BALANCE_START, BALANCE_END = "СекцияРасчСчет", "КонецРасчСчет"
DOCUMENT_START, DOCUMENT_END = "СекцияДокумент", "КонецДокумента"
FILE_END = "КонецФайла"
CLOSES = {BALANCE_START: BALANCE_END, DOCUMENT_START: DOCUMENT_END}
MARKERS = (BALANCE_START, DOCUMENT_START, BALANCE_END, DOCUMENT_END, FILE_END)
ENCODING_KEY = "Кодировка"

AMOUNT = re.compile(r"^\d{1,16}(?:\.\d{1,2})?$")
SIGNED_AMOUNT = re.compile(r"^-?\d{1,16}(?:\.\d{1,2})?$")
DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
LINE_BREAK = re.compile(rb"\r\n|\r|\n")
INN_PREFIX = re.compile(r"^ИНН\s*\d+\s+")  # "Плательщик=ИНН 7701234567 ООО «Ромашка»" in some banks' files

# What a cp1251 bank client cannot show, said in characters it can (before the last resort "?").
SUBSTITUTES = {
    "₽": "руб.", "“": '"', "”": '"', "„": '"', "‟": '"', "‘": "'", "’": "'", "‚": "'", "−": "-", "‐": "-",
    "‑": "-", "‒": "-", "―": "-", "–": "-", "—": "-", "«": '"', "»": '"', "…": "...", "\u2009": " ",
    "\u202f": " ", "\u200b": "",
}


class ClientBankError(ValueError):
    """What is wrong with a file, where: ``code`` (see the service's message catalogue), the
    1-based ``line``, the format's ``key`` (``Сумма``) and the ``value`` found there."""

    def __init__(self, code: str, *, line: int | None = None, key: str = "", value: str = "") -> None:
        self.code = code
        self.line = line
        self.key = key
        self.value = value
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{code} {key}={value!r}".strip())


@dataclass(frozen=True)
class Party:
    """The payer or the recipient of a document, with their bank."""

    name: str = ""
    inn: str = ""
    kpp: str = ""
    account: str = ""
    bank_name: str = ""
    bank_city: str = ""
    bik: str = ""
    corr_account: str = ""


@dataclass(frozen=True)
class Document:
    """One ``СекцияДокумент``: a payment order, or a statement's line."""

    number: str
    date: date
    amount: int  # kopecks
    payer: Party
    recipient: Party
    purpose: str = ""
    kind: str = PAYMENT_ORDER
    payment_kind: str = "01"  # ВидОплаты: 01 is a payment order
    priority: str = "5"  # Очередность: 5 for ordinary payments to suppliers
    debited_on: date | None = None  # ДатаСписано: when the bank took the money (statements)
    credited_on: date | None = None  # ДатаПоступило
    line: int = field(default=0, compare=False)  # where the section starts in a parsed file
    fields: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # every key as read


@dataclass(frozen=True)
class Balance:
    """One ``СекцияРасчСчет``: an account's balances and turnover over the period."""

    account: str
    start: date | None = None
    end: date | None = None
    opening: int | None = None
    credited: int | None = None  # ВсегоПоступило
    debited: int | None = None  # ВсегоСписано
    closing: int | None = None
    line: int = field(default=0, compare=False)


@dataclass
class ExchangeFile:
    version: str = VERSION
    encoding: str = "Windows"  # or "DOS"
    sender: str = ""
    receiver: str = ""
    created: datetime | None = None
    start: date | None = None
    end: date | None = None
    accounts: list[str] = field(default_factory=list)
    document_kinds: list[str] = field(default_factory=list)
    balances: list[Balance] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)


# --- values ------------------------------------------------------------------------------------

def format_amount(kopecks: int) -> str:
    """123456 → '1234.56': integer arithmetic, so no amount is ever rounded."""
    sign = "-" if kopecks < 0 else ""
    rubles, rest = divmod(abs(kopecks), 100)
    return f"{sign}{rubles}.{rest:02d}"


def parse_amount(text: str, *, signed: bool = False) -> int:
    """'1234.5' → 123450 kopecks, exactly; a comma, a space or a third decimal is refused."""
    value = text.strip()
    if not (SIGNED_AMOUNT if signed else AMOUNT).match(value):
        raise ValueError(text)
    negative = value.startswith("-")
    rubles, _, kopecks = value.lstrip("-").partition(".")
    minor = int(rubles) * 100 + int((kopecks + "00")[:2])
    return -minor if negative else minor


def format_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def parse_date(text: str) -> date:
    found = DATE.match(text.strip())
    if not found:
        raise ValueError(text)
    day, month, year = (int(g) for g in found.groups())
    return date(year, month, day)


def clean_value(value: object, codec: str = "cp1251") -> str:
    """A value as one line the bank's code page can hold: line breaks and other control
    characters become spaces; a character the code page has no place for is said another way
    (₽ → руб., é → e), an emoji is dropped, and anything else becomes '?'."""
    text = "" if value is None else str(value)
    out = [" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char == "\xa0" else _encodable(char, codec)
           for char in text]
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def _encodable(char: str, codec: str) -> str:
    try:
        char.encode(codec)
        return char
    except UnicodeEncodeError:
        pass
    if char in SUBSTITUTES:
        return SUBSTITUTES[char]
    if unicodedata.category(char) in ("Mn", "Me", "Cf", "So", "Sk"):
        return ""  # emoji and pictographs, their variation selectors and joiners: nothing to say in a bank file
    # é → e, ﬁ → fi: the compatibility decomposition keeps letters readable.
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    try:
        plain.encode(codec)
        return plain if plain else "?"
    except UnicodeEncodeError:
        return "?"


# --- writing -----------------------------------------------------------------------------------

def dump(exchange: ExchangeFile) -> bytes:
    """The file as a bank client reads it: the declared code page, CRLF line ends."""
    codec = CODECS[exchange.encoding]
    lines: list[tuple[str, object]] = [
        ("ВерсияФормата", exchange.version), (ENCODING_KEY, exchange.encoding),
        ("Отправитель", exchange.sender), ("Получатель", exchange.receiver),
    ]
    if exchange.created is not None:
        lines += [("ДатаСоздания", format_date(exchange.created.date())),
                  ("ВремяСоздания", exchange.created.strftime("%H:%M:%S"))]
    lines += [("ДатаНачала", _date_or_empty(exchange.start)), ("ДатаКонца", _date_or_empty(exchange.end))]
    lines += [("РасчСчет", account) for account in exchange.accounts]
    lines += [("Документ", kind) for kind in exchange.document_kinds]
    text = [MARKER] + [f"{key}={clean_value(value, codec)}" for key, value in lines]
    for balance in exchange.balances:
        text += [BALANCE_START] + [f"{k}={clean_value(v, codec)}" for k, v in _balance_fields(balance)] + [BALANCE_END]
    for document in exchange.documents:
        text.append(f"{DOCUMENT_START}={clean_value(document.kind, codec)}")
        text += [f"{k}={clean_value(v, codec)}" for k, v in document_fields(document)]
        text.append(DOCUMENT_END)
    text.append(FILE_END)
    return ("\r\n".join(text) + "\r\n").encode(codec)


def _date_or_empty(value: date | None) -> str:
    return format_date(value) if value is not None else ""


def _balance_fields(balance: Balance) -> list[tuple[str, object]]:
    fields: list[tuple[str, object]] = [("ДатаНачала", _date_or_empty(balance.start)),
                                        ("ДатаКонца", _date_or_empty(balance.end)), ("РасчСчет", balance.account)]
    for key, value in (("НачальныйОстаток", balance.opening), ("ВсегоПоступило", balance.credited),
                       ("ВсегоСписано", balance.debited), ("КонечныйОстаток", balance.closing)):
        if value is not None:
            fields.append((key, format_amount(value)))
    return fields


def document_fields(document: Document) -> list[tuple[str, object]]:
    """The document's keys in the order 1C writes them. Names, banks, BIK and correspondent
    accounts, ``ВидОплаты`` and ``Очередность`` are always there: banks refuse orders without them."""
    fields: list[tuple[str, object]] = [
        ("Номер", document.number), ("Дата", format_date(document.date)), ("Сумма", format_amount(document.amount)),
    ]
    for role, party, day_key, day in (("Плательщик", document.payer, "ДатаСписано", document.debited_on),
                                      ("Получатель", document.recipient, "ДатаПоступило", document.credited_on)):
        fields.append((f"{role}Счет", party.account))
        if day is not None:
            fields.append((day_key, format_date(day)))
        fields += [(role, party.name), (f"{role}ИНН", party.inn), (f"{role}1", party.name),
                   (f"{role}РасчСчет", party.account), (f"{role}Банк1", party.bank_name)]
        if party.bank_city:
            fields.append((f"{role}Банк2", party.bank_city))
        fields += [(f"{role}БИК", party.bik), (f"{role}Корсчет", party.corr_account)]
    fields += [
        ("ВидОплаты", document.payment_kind), ("Очередность", document.priority),
        ("НазначениеПлатежа", document.purpose),
        ("ПлательщикКПП", document.payer.kpp), ("ПолучательКПП", document.recipient.kpp),
    ]
    return fields


# --- reading -----------------------------------------------------------------------------------

def detect_codec(raw_lines: list[bytes]) -> str:
    """The code page of the file, from its ``Кодировка`` line: the key itself is written in it,
    so it is looked for as each code page would write it (and as UTF-8, which some banks send
    while still declaring Windows)."""
    for number, raw in enumerate(raw_lines, start=1):
        for codec in ("cp1251", "cp866", "utf-8"):
            prefix = (ENCODING_KEY + "=").encode(codec)
            if raw.lstrip().startswith(prefix):
                declared = raw.lstrip()[len(prefix):].decode("ascii", errors="replace").strip()
                if declared not in CODECS:
                    raise ClientBankError("encoding", line=number, key=ENCODING_KEY, value=declared)
                return codec
        if raw.strip() and number > 1 and not _looks_like_header(raw):
            break  # the header is over and said nothing about its code page
    raise ClientBankError("no_encoding", key=ENCODING_KEY)


def _looks_like_header(raw: bytes) -> bool:
    """A header line (``key=value``) before the first section; sections start with ``Секция``."""
    return b"=" in raw and not any(raw.startswith(s.encode(c)) for s in (BALANCE_START, DOCUMENT_START)
                                   for c in ("cp1251", "cp866", "utf-8"))


def parse(data: bytes) -> ExchangeFile:
    """Read a file; anything that is not the format is a :class:`ClientBankError` (never another
    exception), so a bad upload is answered with what and where, not with a crash."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise ClientBankError("empty", line=1)
    raw_lines = LINE_BREAK.split(data)
    if raw_lines[0].strip() != MARKER.encode():
        raise ClientBankError("not_exchange", line=1, value=raw_lines[0][:40].decode("latin-1").strip())
    codec = detect_codec(raw_lines)
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            lines.append(raw.decode(codec))
        except UnicodeDecodeError:
            raise ClientBankError("undecodable", line=number, value=codec) from None
    return _Reader(lines).read(encoding="DOS" if codec == "cp866" else "Windows")


class _Reader:
    """A walk through the lines: the header, then sections, until ``КонецФайла``."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def read(self, *, encoding: str) -> ExchangeFile:
        header: dict[str, tuple[int, str]] = {}
        exchange = ExchangeFile(encoding=encoding)
        section: str | None = None  # BALANCE_START or DOCUMENT_START while inside one
        started = 0
        kind = ""
        values: dict[str, tuple[int, str]] = {}
        for number, line in enumerate(self.lines[1:], start=2):
            text = line.strip()
            if not text:
                continue
            key, has_value, value = text.partition("=")
            key, value = key.strip(), value.strip()
            if key in MARKERS:
                if section is not None and key != CLOSES[section]:
                    raise ClientBankError("unclosed", line=started, key=CLOSES[section], value=str(number))
                if key == FILE_END:
                    self._header(header, exchange)
                    return exchange
                if key in (BALANCE_END, DOCUMENT_END):
                    if section is None:
                        raise ClientBankError("unexpected", line=number, key=key)
                    if section == BALANCE_START:
                        exchange.balances.append(_balance(values, started))
                    else:
                        exchange.documents.append(_document(kind, values, started))
                    section, values = None, {}
                    continue
                section, started, kind, values = key, number, value if key == DOCUMENT_START else "", {}
                continue
            if not has_value or not key:
                raise ClientBankError("line", line=number, value=text[:60])
            target = values if section is not None else header
            if section is None and key in ("РасчСчет", "Документ"):  # may repeat in the header
                (exchange.accounts if key == "РасчСчет" else exchange.document_kinds).append(value)
            target[key] = (number, value)
        if section is not None:  # the file ends inside a section: cut short
            raise ClientBankError("unclosed", line=started, key=CLOSES[section])
        raise ClientBankError("no_end", line=len(self.lines), key=FILE_END)

    @staticmethod
    def _header(header: dict[str, tuple[int, str]], exchange: ExchangeFile) -> None:
        exchange.version = _text(header, "ВерсияФормата")
        exchange.sender = _text(header, "Отправитель")
        exchange.receiver = _text(header, "Получатель")
        exchange.start = _date(header, "ДатаНачала")
        exchange.end = _date(header, "ДатаКонца")
        created = _date(header, "ДатаСоздания")
        at = _time(header, "ВремяСоздания")
        exchange.created = datetime.combine(created, at or time()) if created else None


def _text(values: dict[str, tuple[int, str]], key: str) -> str:
    return values[key][1] if key in values else ""


def _required(values: dict[str, tuple[int, str]], key: str, started: int) -> tuple[int, str]:
    if key not in values or not values[key][1]:
        raise ClientBankError("missing", line=started, key=key)
    return values[key]


def _given(values: dict[str, tuple[int, str]], key: str, started: int | None) -> tuple[int, str] | None:
    """(line, text) of ``key``: required when ``started`` (the section's first line) is given,
    else None when it is absent or empty."""
    if started is not None:
        return _required(values, key, started)
    return values[key] if values.get(key, (0, ""))[1] else None


def _date(values: dict[str, tuple[int, str]], key: str, *, started: int | None = None) -> date | None:
    if (given := _given(values, key, started)) is None:
        return None
    number, text = given
    try:
        return parse_date(text)
    except ValueError:
        raise ClientBankError("date", line=number, key=key, value=text) from None


def _time(values: dict[str, tuple[int, str]], key: str) -> time | None:
    if not values.get(key, (0, ""))[1]:
        return None
    number, text = values[key]
    found = TIME.match(text)
    try:
        if not found:
            raise ValueError(text)
        return time(int(found.group(1)), int(found.group(2)), int(found.group(3) or 0))
    except ValueError:
        raise ClientBankError("time", line=number, key=key, value=text) from None


def _amount(values: dict[str, tuple[int, str]], key: str, *, started: int | None = None,
            signed: bool = False) -> int | None:
    if (given := _given(values, key, started)) is None:
        return None
    number, text = given
    try:
        return parse_amount(text, signed=signed)
    except ValueError:
        raise ClientBankError("amount", line=number, key=key, value=text) from None


def _party(values: dict[str, tuple[int, str]], role: str) -> Party:
    name = _text(values, f"{role}1") or INN_PREFIX.sub("", _text(values, role))
    return Party(
        name=name, inn=_text(values, f"{role}ИНН"), kpp=_text(values, f"{role}КПП"),
        account=_text(values, f"{role}Счет") or _text(values, f"{role}РасчСчет"),
        bank_name=_text(values, f"{role}Банк1"), bank_city=_text(values, f"{role}Банк2"),
        bik=_text(values, f"{role}БИК"), corr_account=_text(values, f"{role}Корсчет"),
    )


def _document(kind: str, values: dict[str, tuple[int, str]], started: int) -> Document:
    purpose = _text(values, "НазначениеПлатежа") or " ".join(
        p for p in (_text(values, f"НазначениеПлатежа{i}") for i in range(1, 7)) if p)
    return Document(
        number=_required(values, "Номер", started)[1], date=_date(values, "Дата", started=started),
        amount=_amount(values, "Сумма", started=started), payer=_party(values, "Плательщик"),
        recipient=_party(values, "Получатель"), purpose=purpose, kind=kind,
        payment_kind=_text(values, "ВидОплаты"), priority=_text(values, "Очередность"),
        debited_on=_date(values, "ДатаСписано"), credited_on=_date(values, "ДатаПоступило"),
        line=started, fields={k: v for k, (_, v) in values.items()},
    )


def _balance(values: dict[str, tuple[int, str]], started: int) -> Balance:
    return Balance(
        account=_text(values, "РасчСчет"), start=_date(values, "ДатаНачала"), end=_date(values, "ДатаКонца"),
        opening=_amount(values, "НачальныйОстаток", signed=True), credited=_amount(values, "ВсегоПоступило"),
        debited=_amount(values, "ВсегоСписано"), closing=_amount(values, "КонечныйОстаток", signed=True),
        line=started,
    )
