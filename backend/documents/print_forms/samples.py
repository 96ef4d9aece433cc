"""Realistic sample documents: every INN, OGRN, BIK and account passes its check digits.

They are what :func:`check_template` renders an uploaded template against, what the
benchmark renders, and what the tests read back. Sberbank's BIK 044525225 and its
correspondent account; the settlement accounts are made with the control key of
:func:`backend.requisites.make_valid_account`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from backend.requisites import make_valid_account, make_valid_inn10, make_valid_inn12

from .model import ContractDocument, InvoiceDocument, Line, Party

__all__ = [
    "SAMPLE_BUYER",
    "SAMPLE_CONTRACT",
    "SAMPLE_CONTRACT_INDIVIDUAL",
    "SAMPLE_INDIVIDUAL",
    "SAMPLE_INVOICE",
    "SAMPLE_LINES",
    "SAMPLE_SUPPLIER",
    "contract_variants",
    "invoice_variants",
]

SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"
SBER_NAME = "ПАО СБЕРБАНК г. Москва"

SAMPLE_SUPPLIER = Party(
    name="ООО «Ромашка»",
    inn=make_valid_inn10("772801234"),  # 7728012340
    kpp="772801001",
    ogrn="1157746123457",
    address="123056, г. Москва, ул. Тверская, д. 1, офис 101",
    bank_name=SBER_NAME,
    bik=SBER_BIK,
    account=make_valid_account(SBER_BIK, "40702810", 1234),  # 40702810500000001234
    corr_account=SBER_CORR,
    signatory="Генеральный директор Иванов И. И.",
    accountant="Петрова А. С.",
)

SAMPLE_BUYER = Party(
    name="ООО «Альфа Сервис»",
    inn=make_valid_inn10("770401567"),  # 7704015670
    kpp="770401001",
    ogrn="1027700132195",
    address="119021, г. Москва, ул. Льва Толстого, д. 16",
    bank_name=SBER_NAME,
    bik=SBER_BIK,
    account=make_valid_account(SBER_BIK, "40702810", 5678),  # 40702810900000005678
    corr_account=SBER_CORR,
    signatory="Директор Смирнова Е. В.",
)

SAMPLE_INDIVIDUAL = Party(
    name="Петров Пётр Петрович",
    inn=make_valid_inn12("7707083893"),
    address="125009, г. Москва, ул. Никитская, д. 5, кв. 12",
    passport="серия 45 10 № 123456, выдан ГУ МВД России по г. Москве 15.03.2015, код подразделения 770-001",
    signatory="Петров П. П.",
)

# 1,5 ч × 600,00 + 1 шт × 334,50 = 1 234,50, of which VAT 20 % is 205,75.
SAMPLE_LINES = (
    Line(name="Консультационные услуги по настройке согласования платежей", quantity=Decimal("1.5"),
         unit="ч", price=60000, vat_rate=20, code="УС-001"),
    Line(name="Лицензия на сервис «Виза», 1 месяц", quantity=Decimal("1"), unit="шт", price=33450,
         vat_rate=20, code="ЛИЦ-12"),
)

SAMPLE_INVOICE = InvoiceDocument(
    number="С-26-0012",
    date=date(2026, 11, 24),
    supplier=SAMPLE_SUPPLIER,
    buyer=SAMPLE_BUYER,
    lines=SAMPLE_LINES,
    basis="Договор № Д-26-0007 от 01.02.2026",
    pay_until=date(2026, 12, 1),
)

SAMPLE_CONTRACT = ContractDocument(
    number="Д-26-0007",
    date=date(2026, 2, 1),
    city="Москва",
    supplier=SAMPLE_SUPPLIER,
    client=SAMPLE_BUYER,
    client_type="company",
    subject="оказание консультационных услуг по настройке согласования платежей и предоставление "
            "доступа к сервису «Виза»",
    lines=SAMPLE_LINES,
    amount=123450,
    payment_terms="prepay_70_30",
    valid_until=date(2026, 12, 31),
)

SAMPLE_CONTRACT_INDIVIDUAL = replace(
    SAMPLE_CONTRACT,
    number="Д-26-0008",
    client=SAMPLE_INDIVIDUAL,
    client_type="individual",
    lines=(),
    amount=1500000,
    payment_terms="full",
    valid_until=None,
    payment_days=10,
)


def invoice_variants() -> tuple[InvoiceDocument, ...]:
    """The sample and its other branches: a 70 % prepayment; no VAT and a buyer without INN."""
    no_vat = tuple(replace(line, vat_rate=None) for line in SAMPLE_LINES)
    return (
        SAMPLE_INVOICE,
        replace(SAMPLE_INVOICE, prepayment_percent=70, pay_until=None),
        replace(SAMPLE_INVOICE, lines=no_vat, basis="", buyer=SAMPLE_INDIVIDUAL, purpose="Оплата за услуги"),
    )


def contract_variants() -> tuple[ContractDocument, ...]:
    """The company sample (70/30, lines) and an individual one (full payment, no lines)."""
    return SAMPLE_CONTRACT, SAMPLE_CONTRACT_INDIVIDUAL
