"""The template variables of an invoice and a contract (listed in the package's docstring).

Everything a template prints is here already formatted the Russian way — "1 234,50" with a
no-break space between the thousands, "24.11.2026", "24 ноября 2026 г.", "20 %" — next to
the raw value (kopecks as ``int``, dates as ``date``) for a template that wants its own format.
"""

from __future__ import annotations

import base64
import io
import re
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from backend.documents.amount_in_words import rubles_in_words
from backend.documents.payment_qr import (
    PaymentDetails,
    PaymentQrError,
    encode,
    qr_code,
)
from backend.errors import InvalidInput
from backend.requisites import normalize_digits

from .formatting import (
    NBSP,
    format_date,
    format_date_long,
    format_money,
    format_quantity,
    format_rate,
)
from .model import (
    PREPAY_PERCENT,
    QR_PURPOSE_LIMIT,
    ContractDocument,
    InvoiceDocument,
    Line,
    Party,
    Totals,
    prepayment_split,
    validate_contract,
    validate_invoice,
)

__all__ = ["contract_context", "invoice_context", "party_context"]

QR_SCALE = 4  # pixels a module in the PNG: about 300 px for an invoice's code
QR_BORDER = 4  # the standard quiet zone, in modules
# GOST key → the document's field, so an error of the code names what to fix.
_QR_FIELDS = {"Name": "supplier.name", "PersonalAcc": "supplier.account", "BankName": "supplier.bank_name",
              "BIC": "supplier.bik", "CorrespAcc": "supplier.corr_account", "PayeeINN": "supplier.inn",
              "KPP": "supplier.kpp", "Sum": "lines", "Purpose": "purpose"}
# "Генеральный директор Иванов И. И." → ("Генеральный директор", "Иванов И. И.")
_SIGNATORY = re.compile(r"^(.*?)\s*([А-ЯЁA-Z][а-яёa-z'-]+(?:-[А-ЯЁ][а-яё]+)?\s+[А-ЯЁA-Z]\.\s?(?:[А-ЯЁA-Z]\.)?)$")


# --- parties -----------------------------------------------------------------------------


def _split_signatory(signatory: str) -> tuple[str, str]:
    match = _SIGNATORY.match(signatory.strip())
    if not match:
        return "", signatory.strip()
    return match.group(1).strip(" ,"), match.group(2)


def _lower_first(text: str) -> str:
    """"Генеральный директор Иванов И. И." → "генеральный директор …" (mid-sentence); "ИП …" stays."""
    text = text.strip()
    first = text.split(" ", 1)[0]
    return text if not first or first.isupper() else text[0].lower() + text[1:]


def party_context(party: Party, *, individual: bool = False) -> dict[str, Any]:
    """A party's fields (as given, digits normalised) and the lines print forms build of them."""
    inn, kpp = normalize_digits(party.inn), normalize_digits(party.kpp).upper()
    bik, account, corr = (normalize_digits(v) for v in (party.bik, party.account, party.corr_account))
    ogrn = normalize_digits(party.ogrn)
    sole_trader = not individual and len(inn) == 12
    position, signatory_name = _split_signatory(party.signatory)
    parts = [party.name]
    if inn:
        parts.append(f"ИНН {inn}")
    if kpp:
        parts.append(f"КПП {kpp}")
    if party.address.strip():
        parts.append(party.address.strip())
    if account:
        bank = f" в {party.bank_name.strip()}" if party.bank_name.strip() else ""
        parts.append(f"р/с {account}{bank}")
    if bik:
        parts.append(f"БИК {bik}")
    if corr:
        parts.append(f"к/с {corr}")
    acting = ""
    if individual:
        details = [party.name]
        if party.passport.strip():
            details.append(f"паспорт {party.passport.strip()}")
        if party.address.strip():
            details.append(f"адрес регистрации: {party.address.strip()}")
        if inn:
            details.append(f"ИНН {inn}")
        representation = "гражданин(ка) Российской Федерации " + ", ".join(details)
    elif sole_trader:
        acting = f", ИНН {inn}" + (f", ОГРНИП {ogrn}" if ogrn else "")
        representation = party.name + acting
    else:
        # "в лице" would need the signatory's name in the genitive ("в лице Генерального
        # директора Иванова И. И."), which we cannot make reliably from a nominative string.
        # This turn keeps the nominative and the usual meaning.
        if party.signatory.strip():
            acting = f", от имени которого на основании Устава действует {_lower_first(party.signatory)}"
        representation = party.name + acting
    return {
        "name": party.name,
        "inn": inn,
        "kpp": kpp,
        "inn_kpp": f"{inn} / {kpp}" if kpp else inn,
        "ogrn": ogrn,
        "address": party.address.strip(),
        "bank_name": party.bank_name.strip(),
        "bik": bik,
        "account": account,
        "corr_account": corr,
        "signatory": party.signatory.strip(),
        "signatory_position": position,
        "signatory_name": signatory_name,
        "accountant": party.accountant.strip(),
        "passport": party.passport.strip(),
        "is_sole_trader": sole_trader,
        "is_individual": individual,
        "requisites": ", ".join(parts),
        "representation": representation,
        "acting": acting,
    }


# --- lines and sums ----------------------------------------------------------------------


def _lines_context(lines: tuple[Line, ...], sums: Totals) -> list[dict[str, Any]]:
    return [
        {
            "no": number,
            "name": line.name,
            "code": line.code,
            "quantity": format_quantity(line.quantity),
            "quantity_value": Decimal(line.quantity),
            "unit": line.unit,
            "price": format_money(line.price),
            "price_kopecks": line.price,
            "amount": format_money(amount),
            "amount_kopecks": amount,
            "vat_rate": line.vat_rate,
            "vat_rate_text": format_rate(line.vat_rate),
            "vat": format_money(vat) if line.vat_rate is not None else "",
            "vat_kopecks": vat,
        }
        for number, (line, amount, vat) in enumerate(zip(lines, sums.amounts, sums.vats, strict=True), start=1)
    ]


def _vat_context(sums: Totals) -> dict[str, Any]:
    vat_lines = [
        {"rate": rate, "rate_text": format_rate(rate), "label": f"В том числе НДС {format_rate(rate)}",
         "amount": format_money(vat), "amount_kopecks": vat}
        for rate, vat in sums.vat_by_rate.items()
    ]
    if sums.without_vat or not vat_lines:
        vat_text = "Без НДС"
    else:
        vat_text = "в том числе " + ", ".join(
            f"НДС {line['rate_text']} — {line['amount']} руб." for line in vat_lines)
    return {
        "vat_lines": vat_lines,
        "vat_total": format_money(sums.vat_total),
        "vat_total_kopecks": sums.vat_total,
        "without_vat": sums.without_vat,
        "vat_text": vat_text,
    }


def _part_vat(sums: Totals, part: int) -> dict[int, int]:
    """The VAT inside a part of the total, per rate, in proportion (half up)."""
    if not sums.total:
        return {}
    return {rate: (2 * vat * part + sums.total) // (2 * sums.total) for rate, vat in sums.vat_by_rate.items()}


def _purpose_vat(sums: Totals, part: int) -> str:
    """", в т.ч. НДС 20 % 205,75 руб." or ", НДС не облагается" — payment orders must say it."""
    if sums.without_vat:
        return ", НДС не облагается"
    vats = _part_vat(sums, part)
    return ", в т.ч. " + ", ".join(f"НДС {rate} % {format_money(vat, space=' ')} руб." for rate, vat in vats.items())


# --- the invoice -------------------------------------------------------------------------


def _prepayment_text(percent: int, basis: str, *, final: bool = False) -> str:
    text = f"{'Окончательный расчёт' if final else 'Предоплата'} {percent}{NBSP}%"
    basis = basis.strip()
    if re.match(r"договор\b", basis, re.IGNORECASE):
        return f"{text} по договору{basis[len('договор'):]}"
    return f"{text} ({basis})" if basis else text


def _qr_details(doc: InvoiceDocument, supplier: dict[str, Any], due: int, purpose: str) -> PaymentDetails:
    return PaymentDetails(
        name=doc.supplier.name,
        personal_acc=supplier["account"],
        bank_name=supplier["bank_name"],
        bic=supplier["bik"],
        corresp_acc=supplier["corr_account"],
        payee_inn=supplier["inn"] or None,
        kpp=supplier["kpp"] or None,
        sum_kopecks=due,
        purpose=purpose,
    )


def _qr_pictures(details: PaymentDetails) -> tuple[bytes, str]:
    """The code as PNG and as SVG, as payment_qr.qr_png / qr_svg make them, but encoded once
    (choosing the mask is most of a QR code's cost: 15 ms of the 30 a context took)."""
    code = qr_code(details)
    png, svg = io.BytesIO(), io.BytesIO()
    code.save(png, kind="png", scale=QR_SCALE, border=QR_BORDER)
    code.save(svg, kind="svg", scale=QR_SCALE, border=QR_BORDER, xmldecl=False)
    return png.getvalue(), svg.getvalue().decode("utf-8")


def invoice_context(doc: InvoiceDocument) -> dict[str, Any]:
    """The invoice's template variables (see the package docstring for the list)."""
    sums = validate_invoice(doc)
    supplier = party_context(doc.supplier)
    buyer = party_context(doc.buyer)
    percent = doc.prepayment_percent
    is_prepayment = percent < 100
    due, rest = prepayment_split(sums.total, percent) if is_prepayment else (sums.total, 0)
    part_text = _prepayment_text(percent, doc.basis) if is_prepayment else ""
    lead = f"Предоплата {percent} % по счёту" if is_prepayment else "Оплата по счёту"
    if doc.settles_prepayment:  # the final invoice: what the prepayment left, to the kopeck
        percent = 100 - doc.settles_prepayment
        is_prepayment, (_, due), rest = True, prepayment_split(sums.total, doc.settles_prepayment), 0
        part_text = _prepayment_text(percent, doc.basis, final=True)
        lead = f"Окончательный расчёт {percent} % по счёту"
    title_date = f"{doc.date:%d.%m.%Y}"
    if doc.purpose.strip():
        purpose = doc.purpose.strip()
    else:
        purpose = f"{lead} № {doc.number} от {title_date}{_purpose_vat(sums, due)}"
    if len(purpose) > QR_PURPOSE_LIMIT:  # many VAT rates after a long number: the QR code holds 210
        raise InvalidInput("field.too_long", field="purpose", max=QR_PURPOSE_LIMIT)
    details = _qr_details(doc, supplier, due, purpose)
    try:
        payload = encode(details)
        png, svg = _qr_pictures(details)
    except PaymentQrError as error:  # validate_invoice checked the requisites; this is a safety net
        raise InvalidInput(error.code, field=_QR_FIELDS.get(error.field or "", "supplier"), **error.params) from None
    due_vat = _part_vat(sums, due)
    lines = _lines_context(doc.lines, sums)
    return {
        "kind": "invoice",
        "number": doc.number,
        "date": title_date,
        "date_text": format_date_long(doc.date),
        "date_value": doc.date,
        "title": f"Счёт на оплату № {doc.number} от {format_date_long(doc.date)}",
        "supplier": supplier,
        "buyer": buyer,
        "basis": doc.basis.strip(),
        "pay_until": format_date(doc.pay_until),
        "pay_until_text": format_date_long(doc.pay_until),
        "pay_until_value": doc.pay_until,
        "purpose": purpose,
        "lines": lines,
        "lines_count": len(lines),
        "has_codes": any(line.code.strip() for line in doc.lines),
        "total": format_money(sums.total),
        "total_kopecks": sums.total,
        "total_words": rubles_in_words(sums.total),
        **_vat_context(sums),
        "summary": f"Всего наименований {len(lines)}, на сумму {format_money(sums.total)} руб.",
        "prepayment_percent": percent,
        "is_prepayment": is_prepayment,
        "prepayment_text": part_text,
        "due": format_money(due),
        "due_kopecks": due,
        "due_words": rubles_in_words(due),
        "due_vat": format_money(sum(due_vat.values())),
        "due_vat_kopecks": sum(due_vat.values()),
        "rest": format_money(rest),
        "rest_kopecks": rest,
        "rest_percent": 100 - percent,
        "qr_payload": payload,
        "qr_png": png,
        "qr_png_data_uri": Markup("data:image/png;base64," + base64.b64encode(png).decode("ascii")),
        "qr_svg": Markup(svg),
    }


# --- the contract ------------------------------------------------------------------------


def _money_phrase(kopecks: int) -> str:
    """1 234,50 руб. (Одна тысяча двести тридцать четыре рубля 50 копеек)"""
    return f"{format_money(kopecks)} руб. ({rubles_in_words(kopecks)})"


def _banking_days(days: int) -> str:
    """"в течение 5 банковских дней", but "1 банковского дня", "21 банковского дня"."""
    return f"{days} банковского дня" if days % 10 == 1 and days % 100 != 11 else f"{days} банковских дней"


def _terms_text(doc: ContractDocument, first: int, rest: int) -> str:
    days = _banking_days(doc.payment_days)
    if doc.payment_terms == "prepay_70_30":
        return (
            f"Заказчик вносит предоплату в размере {PREPAY_PERCENT}{NBSP}% цены Договора — "
            f"{_money_phrase(first)} — в течение {days} с даты выставления "
            f"Исполнителем счёта. Оставшиеся {100 - PREPAY_PERCENT}{NBSP}% цены Договора — "
            f"{_money_phrase(rest)} — Заказчик оплачивает в течение {days} "
            f"с даты подписания Сторонами актов об оказании услуг (выполнении работ)."
        )
    return (
        f"Заказчик оплачивает 100{NBSP}% цены Договора — {_money_phrase(doc.amount)} — "
        f"в течение {days} с даты выставления Исполнителем счёта."
    )


def contract_context(doc: ContractDocument) -> dict[str, Any]:
    """The contract's template variables (see the package docstring for the list)."""
    sums = validate_contract(doc)
    individual = doc.client_type == "individual"
    supplier = party_context(doc.supplier)
    client = party_context(doc.client, individual=individual)
    prepay = doc.payment_terms == "prepay_70_30"
    first, rest = prepayment_split(doc.amount) if prepay else (doc.amount, 0)
    vat = _vat_context(sums)
    vat_known = bool(doc.lines)
    if not vat_known:
        vat_phrase = ""
    elif sums.without_vat:
        vat_phrase = "НДС не облагается"
    else:
        vat_phrase = vat["vat_text"]
    price_text = f"Цена Договора составляет {_money_phrase(doc.amount)}"
    price_text += f", {vat_phrase.rstrip('.')}." if vat_phrase else "."
    if doc.valid_until:
        validity_text = (f"Договор вступает в силу с даты его подписания Сторонами и действует "
                         f"до {format_date_long(doc.valid_until)} включительно.")
    else:
        validity_text = ("Договор вступает в силу с даты его подписания Сторонами и действует "
                         "до полного исполнения Сторонами своих обязательств.")
    lines = _lines_context(doc.lines, sums)
    return {
        "kind": "contract",
        "number": doc.number,
        "date": format_date(doc.date),
        "date_text": format_date_long(doc.date),
        "date_value": doc.date,
        "title": f"Договор № {doc.number}",
        "city": doc.city.strip(),
        "supplier": supplier,
        "client": client,
        "client_type": doc.client_type,
        "is_individual": individual,
        "subject": doc.subject.strip(),
        "lines": lines,
        "lines_count": len(lines),
        "has_lines": bool(lines),
        "has_codes": any(line.code.strip() for line in doc.lines),
        "amount": format_money(doc.amount),
        "amount_kopecks": doc.amount,
        "amount_words": rubles_in_words(doc.amount),
        "total": format_money(doc.amount),
        "total_kopecks": doc.amount,
        "total_words": rubles_in_words(doc.amount),
        **vat,
        "vat_known": vat_known,
        "vat_phrase": vat_phrase,
        "price_text": price_text,
        "payment_terms": doc.payment_terms,
        "is_prepayment": prepay,
        "payment_days": doc.payment_days,
        "payment_days_text": _banking_days(doc.payment_days),
        "prepayment_percent": PREPAY_PERCENT if prepay else 100,
        "rest_percent": 100 - PREPAY_PERCENT if prepay else 0,
        "prepayment": format_money(first),
        "prepayment_kopecks": first,
        "prepayment_words": rubles_in_words(first),
        "rest": format_money(rest),
        "rest_kopecks": rest,
        "rest_words": rubles_in_words(rest) if prepay else "",
        "payment_terms_text": _terms_text(doc, first, rest),
        "valid_until": format_date(doc.valid_until),
        "valid_until_text": format_date_long(doc.valid_until),
        "valid_until_value": doc.valid_until,
        "validity_text": validity_text,
    }
