"""A supplier's invoice (PDF) as the fields of a new payment request, for a person to confirm.

The bot's dialog and the API's ``POST /api/v1/payment-requests/read-invoice`` both use it: the
payee only when all its bank details were read and pass their control keys (a half-read requisite
is asked for, never carried), the amount, the invoice's number and date, and a purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.documents.invoice_intake import InvoiceReading
from backend.errors import DomainError
from backend.money import format_amount
from backend.requisites import validate_requisites


@dataclass
class Prefill:
    fields: dict[str, Any] = field(default_factory=dict)  # PaymentRequestFields' names
    read: list[str] = field(default_factory=list)  # contractor | amount | purpose | invoice
    warnings: list[str] = field(default_factory=list)  # message codes


def prefill_from_invoice(reading: InvoiceReading) -> Prefill:
    prefill = Prefill(warnings=list(reading.warnings))
    if not reading.readable:
        return prefill
    try:
        checked = validate_requisites(inn=reading.supplier_inn, kpp=reading.supplier_kpp, bik=reading.bik,
                                      account=reading.account, corr_account=reading.corr_account)
    except DomainError:
        checked = None
    if checked is not None and reading.supplier_name:
        prefill.fields |= {"contractor_inn": checked.inn, "contractor_kpp": checked.kpp or "", "bik": checked.bik,
                           "account": checked.account, "corr_account": checked.corr_account or "",
                           "contractor_name": reading.supplier_name[:300],
                           "bank_name": (reading.bank_name or "")[:300]}
        prefill.read.append("contractor")
    if reading.amount_kopecks:
        prefill.fields["amount"] = format_amount(reading.amount_kopecks)
        prefill.read.append("amount")
    if reading.purpose_hint:
        prefill.fields["purpose"] = " ".join(reading.purpose_hint.split())[:210]
        prefill.read.append("purpose")
    if reading.invoice_number:
        prefill.fields["invoice_number"] = reading.invoice_number[:100]
        if reading.invoice_date:
            prefill.fields["invoice_date"] = reading.invoice_date
        prefill.read.append("invoice")
    return prefill
