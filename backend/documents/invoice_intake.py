"""Reading a supplier's invoice (счёт на оплату) from the text layer of its PDF.

:func:`read_invoice` extracts the text with pypdf and hands it to :func:`read_invoice_text`,
which finds the payee's requisites, the total, the VAT and the invoice's number and date.
Nothing here is trusted blindly: a person checks the result before a request is filed, so
a field we are not sure of stays ``None`` and a doubt becomes a warning.

How the text is split into parties: the labels Поставщик/Исполнитель/Продавец/Получатель
open the supplier's part, Покупатель/Плательщик/Заказчик (our own company) the buyer's; the
text before the first label is the heading, where invoices print the payee's bank table, so
it counts as the supplier's too. The check digits of :mod:`backend.requisites` then choose:
an INN with a wrong check digit is never taken, and of the accounts and BIKs found the pair
whose control key matches wins.

A PDF with no text layer (a scan) gives ``readable=False``: we never guess from pictures.
A file that is not a PDF, or a broken one, raises :class:`~backend.errors.InvalidInput`.

Warnings and unreadable reasons are message codes (``invoice.*``); :meth:`InvoiceReading.
warning_messages` translates them, falling back to the code itself until the locale
catalogues have the texts.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date

import zxingcpp
from pypdf import PdfReader

from backend.documents.payment_qr import PaymentDetails, decode
from backend.errors import InvalidInput
from backend.i18n import translate
from backend.requisites import (
    account_control_key_ok,
    normalize_digits,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
)

__all__ = [
    "InvoiceReading",
    "read_invoice",
    "read_invoice_text",
]

# Warning and reason codes (texts to be added to backend/locales/ru.py and en.py).
NO_TEXT_LAYER = "invoice.no_text_layer"
GARBLED_TEXT = "invoice.garbled_text"
ACCOUNT_KEY_MISMATCH = "invoice.account_key_mismatch"
ACCOUNT_WITHOUT_BIK = "invoice.account_without_bik"
CORR_ACCOUNT_MISMATCH = "invoice.corr_account_mismatch"
SUPPLIER_INN_CONFLICT = "invoice.supplier_inn_conflict"
INN_INVALID = "invoice.inn_invalid"
TOTALS_DIFFER = "invoice.totals_differ"

# Errors about the file itself. Until the catalogues get their own keys (invoice.not_pdf,
# invoice.pdf_broken, invoice.pdf_encrypted), the existing attachment texts are used and
# ``reason`` tells the cases apart.
_FILE_FIELD = "file"

QR_PAGES = 3  # the payment QR code is printed on the first page, rarely the last of a short invoice
FROM_QR_ONLY = "invoice.from_qr_only"
QR_DIFFERS = "invoice.qr_differs"
MIN_TEXT_CHARS = 20  # fewer letters and digits than this on all pages: a scan
MAX_PAGES = 30  # an invoice is a page or two; this bounds the work on a hostile file

log = logging.getLogger(__name__)


@dataclass(slots=True)
class InvoiceReading:
    """What was read from an invoice; each field is None when it was not found."""

    readable: bool = True
    reason: str | None = None  # why the file is not readable (a message code)
    supplier_name: str | None = None
    supplier_inn: str | None = None
    supplier_kpp: str | None = None
    bik: str | None = None
    account: str | None = None
    corr_account: str | None = None
    bank_name: str | None = None
    amount_kopecks: int | None = None
    vat_kopecks: int | None = None
    invoice_number: str | None = None
    invoice_date: date | None = None
    purpose_hint: str | None = None
    warnings: list[str] = field(default_factory=list)

    def warning_messages(self, lang: str = "ru") -> list[str]:
        """The warnings in words, in ``lang``."""
        return [translate(code, lang) for code in self.warnings]


# --- the PDF -------------------------------------------------------------------------


def read_invoice(pdf: bytes) -> InvoiceReading:
    """Read an invoice PDF: its text layer, and the payment QR code (GOST R 56042) in its
    pictures when there is one. A scan without text or QR gives ``readable=False``; a non-PDF raises."""
    text = _extract_text(pdf)
    qr = read_payment_qr(pdf)
    letters = sum(ch.isalnum() for ch in text)
    if letters < MIN_TEXT_CHARS or not _looks_like_words(text):
        if qr is not None:  # a scan, but the QR code says everything a request needs
            return with_qr(InvoiceReading(warnings=[FROM_QR_ONLY]), qr)
        # A font without a ToUnicode map gives glyph codes, not letters: as good as a scan.
        return InvoiceReading(readable=False, reason=NO_TEXT_LAYER if letters < MIN_TEXT_CHARS else GARBLED_TEXT)
    reading = read_invoice_text(text)
    return with_qr(reading, qr) if qr is not None else reading


def read_payment_qr(pdf: bytes) -> PaymentDetails | None:
    """The first GOST payment QR code in the pictures of the first pages, or None. A picture that
    cannot be read is skipped: the QR code only adds to what the text says."""
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        pages = reader.pages[:QR_PAGES]
        for page in pages:
            for picture in page.images:
                for found in zxingcpp.read_barcodes(picture.image, formats=zxingcpp.BarcodeFormat.QRCode):
                    if found.bytes[:7] in (b"ST00011", b"ST00012", b"ST00013"):
                        return decode(found.bytes)
    except Exception as error:  # noqa: BLE001 — a broken picture or a bad code: read the text alone
        log.info("no payment QR read from the invoice: %r", error)
    return None


def with_qr(reading: InvoiceReading, qr: PaymentDetails) -> InvoiceReading:
    """The QR code's payee and payment where the text had none; where both have a value and
    they differ, the QR code's (machine-made) is kept and the difference is a warning."""
    pairs = (("supplier_name", qr.name), ("account", qr.personal_acc), ("bank_name", qr.bank_name),
             ("bik", qr.bic), ("corr_account", qr.corresp_acc if qr.corresp_acc.strip("0") else None),
             ("supplier_inn", qr.payee_inn), ("supplier_kpp", qr.kpp), ("amount_kopecks", qr.sum_kopecks),
             ("purpose_hint", qr.purpose))
    differs = False
    for name, value in pairs:
        if value in (None, ""):
            continue
        current = getattr(reading, name)
        if current not in (None, "") and current != value and name not in ("supplier_name", "bank_name", "purpose_hint"):
            differs = True
        if current in (None, "") or name not in ("supplier_name", "bank_name", "purpose_hint"):
            setattr(reading, name, value)
    if differs and QR_DIFFERS not in reading.warnings:
        reading.warnings.append(QR_DIFFERS)
    reading.readable, reading.reason = True, None
    return reading


def _extract_text(pdf: bytes) -> str:
    if not pdf:
        raise InvalidInput("attachment.empty", field=_FILE_FIELD, reason="empty")
    # The header may follow some junk (the spec allows it within the first 1024 bytes).
    if b"%PDF-" not in pdf[:1024]:
        raise InvalidInput("invoice.not_pdf", field=_FILE_FIELD)
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput("invoice.pdf_encrypted", field=_FILE_FIELD)
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PAGES]]
    except InvalidInput:
        raise
    except Exception as error:  # pypdf raises many kinds on broken files; all mean "broken"
        log.info("invoice PDF unreadable: %r", error)
        raise InvalidInput("invoice.pdf_broken", field=_FILE_FIELD) from error
    return "\n".join(pages)


def _looks_like_words(text: str) -> bool:
    visible = [ch for ch in text if not ch.isspace()]
    normal = sum(ch.isalnum() or ch in ".,:;№%()/\"'«»-–—_" for ch in visible)
    return normal >= 0.7 * len(visible)


# --- the text ------------------------------------------------------------------------

_I = re.IGNORECASE

_SPACES = re.compile(r"[^\S\n]+")  # every kind of space but the line break, NBSP included
_BREAKS = re.compile(r"[\r\u2028\u2029\x0b\x0c]")

_SUPPLIER_LABEL = r"поставщик|исполнитель|продавец|получатель|грузоотправитель"
_BUYER_LABEL = r"покупатель|плательщик|заказчик|грузополучатель"
# Whole words only: "Банк получателя" and "Грузополучатель" are not "Получатель".
_LABEL = re.compile(rf"(?<![а-яёa-z])(?:({_SUPPLIER_LABEL})|({_BUYER_LABEL}))(?![а-яё])", _I)

_KPP_TOKEN = r"[0-9]{4}[0-9A-ZА-Я]{2}[0-9]{3}"
_INN = re.compile(
    r"ИНН(?:\s*/\s*КПП)?[\s:№]*(\d{12}|\d{10}|\d{9,13})(?!\d)"
    rf"(?:\s*/\s*({_KPP_TOKEN})(?![0-9A-ZА-Я]))?"
    rf"(?:[\s,;/]*КПП[\s:№]*({_KPP_TOKEN})(?![0-9A-ZА-Я]))?",
    _I,
)
_LONE_KPP = re.compile(rf"(?<![а-яёa-z/])КПП[\s:№]*({_KPP_TOKEN})(?![0-9A-ZА-Я])", _I)
_BIK = re.compile(r"БИК[\s:№]*(\d{9})(?!\d)", _I)
# 20 digits, possibly grouped by single spaces ("4070 2810 …") as on many web invoices.
_ACCOUNT = re.compile(r"(?<!\d)(\d(?: ?\d){19})(?! ?\d)")
_CORR_LABEL = re.compile(r"(?:к/с|к/сч|корр?\.?\s*сч[её]т|корреспондентский\s+сч[её]т)[\s:№.]*$", _I)

_AMOUNT = (
    r"(?<![\d.,])(\d{1,3}(?: \d{3})+|\d+)"
    r"(?:(?: ?[.,\-] ?(\d{2}))|\s*(?:руб(?:\.|лей|ля)?|р\.)\s*(\d{1,2})\s*коп)?"
    r"(?![\d%])"
)
_BEFORE_AMOUNT = r"\s*(?:\(?\s*(?:в\s+)?руб(?:\.|лях)?\s*\)?)?\s*[:\-–—=]?\s*(?:руб\.?\s*)?"
_TOTALS = (  # best first; within a kind the last one in the text wins (totals come last)
    re.compile(r"(?:итого|всего)\s+к\s+оплате" + _BEFORE_AMOUNT + _AMOUNT, _I),
    re.compile(r"всего\s+наименований\s*\d+\s*,?\s*на\s+сумму" + _BEFORE_AMOUNT + _AMOUNT, _I),
    re.compile(r"итого(?:\s+с\s+ндс)?(?!\s*(?:по\s+(?:странице|листу)|без\s+ндс|ндс))" + _BEFORE_AMOUNT + _AMOUNT, _I),
    re.compile(r"всего(?:\s+с\s+ндс)?(?!\s*(?:наименований|ндс|к\s+оплате))" + _BEFORE_AMOUNT + _AMOUNT, _I),
)
_RATE = r"(?:\s*\(?\s*\d{1,2}(?:[.,]\d+)?\s*%\s*\)?)?"
_VATS = (
    re.compile(r"(?:в\s+том\s+числе|в\s+т\.\s?ч\.?|итого|всего|сумма)\s+ндс" + _RATE + _BEFORE_AMOUNT + _AMOUNT, _I),
    re.compile(r"(?:^|(?<=[\n,;(]))[^\S\n]*ндс" + _RATE + _BEFORE_AMOUNT + _AMOUNT, _I | re.MULTILINE),
)
_NO_VAT = re.compile(r"без\s+ндс|ндс\s+не\s+(?:облагается|предусмотрен)|не\s+облагается\s+ндс", _I)

_MONTHS = {
    "январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6,
    "июл": 7, "август": 8, "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12,
}
_DATE = (
    r"(?:(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?!\d)"
    r"|[«\"]?\s*(\d{1,2})\s*[»\"]?\s+(январ|феврал|март|апрел|ма|июн|июл|август|сентябр|октябр|ноябр|декабр)"
    r"[а-я]*\s+(\d{4})"
    r"|(\d{4})-(\d{2})-(\d{2}))"
)
_TITLE = re.compile(
    r"(?<![а-яё])сч[её]т(?:\s*-\s*(?:оферта|договор))?(?:\s+на\s+оплату)?\s*№\s*([^\s,;]+?)\s+от\s+" + _DATE,
    _I,
)
_STATED_PURPOSE = (
    re.compile(r"назначени[еяи]\s+платежа[^\n:]*:\s*([^\n]{5,})", _I),
    re.compile(r"((?<![а-яё])оплата\s+по\s+сч[её]ту\s*№[^\n]+)", _I),
)
_BANK_AFTER_ACCOUNT = re.compile(
    r"(?:р/с|р/сч|расч[её]тный\s+сч[её]т|сч\.)[^\n]*?\d{20}\s*,?\s+в\s+([^\n]+)", _I
)
# "Банк получателя" anywhere, or "Банк:" opening a line ("ПАО Банк ВТБ" is a name, not a label).
_BANK_LABEL = re.compile(
    r"(?:(?<![а-яё])банк\s+получателя|^банк(?=[^\S\n]*:))(?![а-яё])[^\S\n]*:?[^\S\n]*([^\n]*)",
    _I | re.MULTILINE,
)
_REQUISITE_TAIL = re.compile(
    r"\s*[,;]?\s*(?<![а-яё])(?:(?:БИК|ИНН|КПП|сч[её]т)(?![а-яё])|Сч\.|р/с|к/с|корр?\.).*$"
    r"|\s*[,;]?\s*\d{9,}.*$",
    _I
)
_NAME_AFTER_LABEL = re.compile(
    rf"(?<![а-яёa-z])({_SUPPLIER_LABEL})(?![а-яё])(?:\s*\([^)\n]*\))?\s*:\s*([^\n]+)", _I
)
_NAME_END = re.compile(r"\s*(?:[,;]\s*)?(?:ИНН|КПП|р/с|тел\.?|адрес)\b.*$|\s*,\s*\d{6}\b.*$", _I)


@dataclass(slots=True)
class _Found:
    value: str
    start: int
    role: str  # supplier | buyer | head
    extra: str | None = None  # the KPP that came with an INN; "corr" for a labelled к/с


def read_invoice_text(text: str) -> InvoiceReading:
    """Parse the text of an invoice (as a PDF's text layer gives it) into an InvoiceReading."""
    text = _normalise(text)
    reading = InvoiceReading()
    roles = _Roles(text)
    _read_supplier(text, roles, reading)
    _read_bank(text, roles, reading)
    _read_amounts(text, reading)
    _read_title(text, reading)
    reading.purpose_hint = _stated_purpose(text) or _built_purpose(reading)
    return reading


def _normalise(text: str) -> str:
    text = _BREAKS.sub("\n", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class _Roles:
    """Which party each position of the text is about."""

    def __init__(self, text: str) -> None:
        self.starts: list[tuple[int, str]] = [(0, "head")]
        for match in _LABEL.finditer(text):
            self.starts.append((match.start(), "supplier" if match.group(1) else "buyer"))

    def at(self, position: int) -> str:
        role = "head"
        for start, kind in self.starts:
            if start > position:
                break
            role = kind
        return role


def _ours(found: list[_Found]) -> list[_Found]:
    """The supplier's findings first (labelled), then the heading's, in text order."""
    return [f for f in found if f.role == "supplier"] + [f for f in found if f.role == "head"]


# --- supplier ------------------------------------------------------------------------


def _read_supplier(text: str, roles: _Roles, reading: InvoiceReading) -> None:
    found = [
        _Found(m.group(1), m.start(), roles.at(m.start()), (m.group(2) or m.group(3) or None))
        for m in _INN.finditer(text)
    ]
    buyers = {f.value for f in found if f.role == "buyer"}
    valid: list[_Found] = []
    for candidate in _ours(found):
        if candidate.value in buyers:
            continue  # our own company's INN repeated in the heading
        try:
            validate_inn(candidate.value)
        except InvalidInput:
            _warn(reading, INN_INVALID)
            continue
        valid.append(candidate)
    if not valid:
        reading.supplier_name = _supplier_name(text)
        return
    chosen = valid[0]
    if any(f.value != chosen.value for f in valid):
        _warn(reading, SUPPLIER_INN_CONFLICT)
    reading.supplier_inn = chosen.value
    if len(chosen.value) == 10:
        kpps = [f.extra for f in valid if f.value == chosen.value and f.extra]
        if not kpps:  # "КПП" printed apart from its INN, e.g. in another cell of the table
            kpps = [m.group(1) for m in _LONE_KPP.finditer(text) if roles.at(m.start()) != "buyer"]
        for kpp in kpps:
            try:
                reading.supplier_kpp = validate_kpp(kpp)
                break
            except InvalidInput:
                continue
    reading.supplier_name = _supplier_name(text)


def _supplier_name(text: str) -> str | None:
    # "Поставщик (Исполнитель): ООО "Ромашка", ИНН …" — the label's own line.
    lines = text.split("\n")
    for match in _NAME_AFTER_LABEL.finditer(text):
        name = _clean_name(match.group(2))
        if name and _quotes_open(name):  # the name was wrapped onto the next line
            line_no = text.count("\n", 0, match.start())
            if line_no + 1 < len(lines):
                name = _clean_name(name + " " + lines[line_no + 1]) or name
        if name:
            return name
    # The 1C bank table: the payee's name in the cell right above the "Получатель" label.
    for number, line in enumerate(lines):
        if re.fullmatch(r"получатель", line, _I) and number > 0:
            name = _clean_name(_strip_requisites(lines[number - 1]))
            if name:
                return name
    return None


def _clean_name(raw: str) -> str | None:
    name = _NAME_END.sub("", raw).strip(" ,;")
    return name if re.search(r"[A-Za-zА-Яа-яЁё]{2}", name) else None


def _quotes_open(name: str) -> bool:
    return name.count("«") > name.count("»") or name.count('"') % 2 == 1


def _strip_requisites(line: str) -> str:
    return _REQUISITE_TAIL.sub("", line).strip(" ,;")


# --- bank ----------------------------------------------------------------------------


def _read_bank(text: str, roles: _Roles, reading: InvoiceReading) -> None:
    biks = [_Found(m.group(1), m.start(), roles.at(m.start())) for m in _BIK.finditer(text)]
    accounts = []
    for match in _ACCOUNT.finditer(text):
        digits = normalize_digits(match.group(1))
        labelled_corr = bool(_CORR_LABEL.search(text[max(0, match.start() - 30) : match.start()]))
        kind = "corr" if labelled_corr or digits.startswith(("30101", "40102")) else "account"
        accounts.append(_Found(digits, match.start(), roles.at(match.start()), kind))
    our_biks = _distinct(_ours(biks))
    settlement = _distinct(_ours([a for a in accounts if a.extra == "account"]))
    corr = _distinct(_ours([a for a in accounts if a.extra == "corr"]))

    # The pair whose control key matches wins: a buyer's or a second bank's numbers
    # printed nearby cannot be taken for the payee's by their place alone.
    pair = next(((b, a) for b in our_biks for a in settlement if account_control_key_ok(b, a)), None)
    if pair:
        reading.bik, reading.account = pair
    else:
        reading.bik = our_biks[0] if our_biks else None
        reading.account = settlement[0] if settlement else None
        if reading.account and reading.bik:
            _warn(reading, ACCOUNT_KEY_MISMATCH)
        elif reading.account:
            _warn(reading, ACCOUNT_WITHOUT_BIK)
    if corr:
        reading.corr_account = next((c for c in corr if _corr_ok(c, reading.bik)), corr[0])
        if reading.bik and not _corr_ok(reading.corr_account, reading.bik):
            _warn(reading, CORR_ACCOUNT_MISMATCH)
    reading.bank_name = _bank_name(text)


def _corr_ok(corr: str, bik: str | None) -> bool:
    if not bik:
        return False
    try:
        validate_correspondent_account(corr, bik)
    except InvalidInput:
        return False
    return True


def _bank_name(text: str) -> str | None:
    # "р/с 40702… в ПАО СБЕРБАНК г. Москва"
    match = _BANK_AFTER_ACCOUNT.search(text)
    if match and (name := _bank_clean(match.group(1))):
        return name
    lines = text.split("\n")
    for match in _BANK_LABEL.finditer(text):
        # "Банк получателя: ПАО …" / "Банк: ПАО …" on the label's line
        if match.group(1) and (name := _bank_clean(match.group(1))):
            return name
        # The 1C table: the bank's name in the cells above "Банк получателя".
        line_no = text.count("\n", 0, match.start())
        before_label = _bank_clean(lines[line_no][: match.start() - _line_start(text, match.start())])
        if before_label:
            return before_label
        # Up to five cells back: one per line when the extractor splits the table.
        for previous in reversed(lines[max(0, line_no - 5) : line_no]):
            if name := _bank_clean(previous):
                return name
    return None


def _line_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def _bank_clean(raw: str) -> str | None:
    name = _strip_requisites(raw)
    name = re.sub(r"\s*(?:Сч\.|БИК)\s*№?.*$", "", name, flags=_I).strip(" ,;")
    return name if re.search(r"[A-Za-zА-Яа-яЁё]{2}", name) else None


def _distinct(found: list[_Found]) -> list[str]:
    return list(dict.fromkeys(f.value for f in found))


# --- amounts -------------------------------------------------------------------------


def _kopecks(match: re.Match[str]) -> int:
    rubles = int(match.group(1).replace(" ", ""))
    cents = match.group(2) or match.group(3) or "0"
    return rubles * 100 + int(cents.ljust(2, "0") if match.group(2) else cents)


def _read_amounts(text: str, reading: InvoiceReading) -> None:
    totals = [[_kopecks(m) for m in pattern.finditer(text)] for pattern in _TOTALS]
    best = next((kind for kind in totals if kind), None)
    reading.amount_kopecks = best[-1] if best else None
    to_pay, positions_sum = totals[0], totals[1]
    if to_pay and positions_sum and to_pay[-1] != positions_sum[-1]:
        _warn(reading, TOTALS_DIFFER)
    for pattern in _VATS:
        vats = [_kopecks(m) for m in pattern.finditer(text)]
        if vats:
            reading.vat_kopecks = vats[-1]
            return
    if _NO_VAT.search(text):
        reading.vat_kopecks = 0


# --- number, date, purpose -----------------------------------------------------------


def _read_title(text: str, reading: InvoiceReading) -> None:
    for match in _TITLE.finditer(text):
        when = _date(match.groups()[1:])
        if when is not None:
            reading.invoice_number = match.group(1)
            reading.invoice_date = when
            return
    match = re.search(r"(?<![а-яё])сч[её]т(?:\s+на\s+оплату)?\s*№\s*([^\s,;]+)", text, _I)
    if match:
        reading.invoice_number = match.group(1)


def _date(groups: tuple[str | None, ...]) -> date | None:
    d1, m1, y1, d2, month_word, y2, iy, im, iday = groups
    try:
        if d1:
            year = int(y1) + (2000 if len(y1) == 2 else 0)
            return date(year, int(m1), int(d1))
        if d2:
            return date(int(y2), _MONTHS[month_word.lower()], int(d2))
        if iy:
            return date(int(iy), int(im), int(iday))
    except (ValueError, KeyError):
        return None
    return None


def _stated_purpose(text: str) -> str | None:
    for pattern in _STATED_PURPOSE:
        match = pattern.search(text)
        if match:
            return match.group(1).strip(" .;")
    return None


def _built_purpose(reading: InvoiceReading) -> str | None:
    if not reading.invoice_number:
        return None
    purpose = f"Оплата по счету № {reading.invoice_number}"
    if reading.invoice_date:
        purpose += f" от {reading.invoice_date:%d.%m.%Y}"
    if reading.vat_kopecks:
        rubles, kopecks = divmod(reading.vat_kopecks, 100)
        purpose += f", в т.ч. НДС {rubles}.{kopecks:02d}"
    elif reading.vat_kopecks == 0:
        purpose += ", НДС не облагается"
    return purpose


def _warn(reading: InvoiceReading, code: str) -> None:
    if code not in reading.warnings:
        reading.warnings.append(code)
