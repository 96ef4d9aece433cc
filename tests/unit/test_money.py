"""Exact money: parsing what people type, never floats."""

from decimal import Decimal

import pytest

from backend.errors import InvalidInput
from backend.money import format_amount, format_rub, parse_amount


class TestParseAmount:
    @pytest.mark.parametrize("typed, kopecks", [
        ("1234.56", 123456), ("1 234,56", 123456), ("1\u00a0234,5", 123450), ("100", 10000),
        (Decimal("0.01"), 1), ("99999999999.99", 9999999999999),
    ])
    def test_what_people_type(self, typed, kopecks):
        assert parse_amount(typed) == kopecks

    @pytest.mark.parametrize("typed, code", [
        ("12.345", "amount.precision"), ("0", "amount.positive"), ("-5", "amount.positive"),
        ("abc", "amount.format"), ("NaN", "amount.format"), ("Infinity", "amount.format"),
        ("1e20", "amount.too_large"), (1.5, "amount.float"),
    ])
    def test_bad_amounts_are_named(self, typed, code):
        with pytest.raises(InvalidInput) as error:
            parse_amount(typed)
        assert error.value.code == code and error.value.field == "amount"


def test_formats():
    assert format_amount(123456) == "1234.56"
    assert format_rub(123456789) == "1\u00a0234\u00a0567,89"
