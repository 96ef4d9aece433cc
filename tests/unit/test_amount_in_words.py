"""The sum in words reads exactly as a Russian accountant writes it on an invoice.

Every expected string here was written out by hand, not produced by the code under test.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.documents.amount_in_words import (
    MAX_MINOR_UNITS,
    number_in_words,
    plural_form,
    rubles_in_words,
)

RUBLE = ("рубль", "рубля", "рублей")


class TestEdgeCases:
    @pytest.mark.parametrize("kopecks, words", [
        (0, "Ноль рублей 00 копеек"),
        (1, "Ноль рублей 01 копейка"),
        (100, "Один рубль 00 копеек"),
        (200, "Два рубля 00 копеек"),
        (500, "Пять рублей 00 копеек"),
        (2100, "Двадцать один рубль 00 копеек"),
        (1_000_00, "Одна тысяча рублей 00 копеек"),
        (2_000_00, "Две тысячи рублей 00 копеек"),
        (1_000_000_00, "Один миллион рублей 00 копеек"),
        (1_000_000_000_00, "Один миллиард рублей 00 копеек"),
        (1_234_567_89, "Один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь рублей 89 копеек"),
    ])
    def test_the_landmarks(self, kopecks, words):
        assert rubles_in_words(kopecks) == words

    @pytest.mark.parametrize("kopecks, words", [
        (11_00, "Одиннадцать рублей 00 копеек"),
        (12_00, "Двенадцать рублей 00 копеек"),
        (13_00, "Тринадцать рублей 00 копеек"),
        (14_00, "Четырнадцать рублей 00 копеек"),
        (111_00, "Сто одиннадцать рублей 00 копеек"),
        (112_00, "Сто двенадцать рублей 00 копеек"),
        (11_000_00, "Одиннадцать тысяч рублей 00 копеек"),
        (14_000_000_00, "Четырнадцать миллионов рублей 00 копеек"),
        (19_19, "Девятнадцать рублей 19 копеек"),
    ])
    def test_teens_take_the_plural_of_many(self, kopecks, words):
        assert rubles_in_words(kopecks) == words

    @pytest.mark.parametrize("kopecks, words", [
        (3_000_00, "Три тысячи рублей 00 копеек"),
        (5_000_00, "Пять тысяч рублей 00 копеек"),
        (21_000_00, "Двадцать одна тысяча рублей 00 копеек"),
        (22_000_00, "Двадцать две тысячи рублей 00 копеек"),
        (101_000_00, "Сто одна тысяча рублей 00 копеек"),
        (2_001_00, "Две тысячи один рубль 00 копеек"),
        (1_002_00, "Одна тысяча два рубля 00 копеек"),
    ])
    def test_thousand_is_feminine_and_the_ruble_masculine(self, kopecks, words):
        assert rubles_in_words(kopecks) == words

    @pytest.mark.parametrize("kopecks, words", [
        (2_000_000_00, "Два миллиона рублей 00 копеек"),
        (4_000_000_00, "Четыре миллиона рублей 00 копеек"),
        (5_000_000_00, "Пять миллионов рублей 00 копеек"),
        (21_000_000_00, "Двадцать один миллион рублей 00 копеек"),
        (2_000_000_000_00, "Два миллиарда рублей 00 копеек"),
        (1_000_000_000_000_00, "Один триллион рублей 00 копеек"),
    ])
    def test_millions_and_above_are_masculine(self, kopecks, words):
        assert rubles_in_words(kopecks) == words

    @pytest.mark.parametrize("kopecks, tail", [
        (1, "01 копейка"), (2, "02 копейки"), (4, "04 копейки"), (5, "05 копеек"),
        (10, "10 копеек"), (11, "11 копеек"), (12, "12 копеек"), (14, "14 копеек"),
        (21, "21 копейка"), (22, "22 копейки"), (25, "25 копеек"), (91, "91 копейка"),
        (99, "99 копеек"),
    ])
    def test_kopecks_are_two_digits_with_their_noun(self, kopecks, tail):
        assert rubles_in_words(500 + kopecks) == f"Пять рублей {tail}"

    def test_ten_to_the_fifteenth_kopecks(self):
        assert rubles_in_words(10**15) == "Десять триллионов рублей 00 копеек"
        assert rubles_in_words(10**15 - 1) == (
            "Девять триллионов девятьсот девяносто девять миллиардов девятьсот девяносто девять "
            "миллионов девятьсот девяносто девять тысяч девятьсот девяносто девять рублей 99 копеек"
        )

    def test_the_largest_amount_a_bigint_column_holds(self):
        assert MAX_MINOR_UNITS == 9_223_372_036_854_775_807
        assert rubles_in_words(MAX_MINOR_UNITS) == (
            "Девяносто два квадриллиона двести тридцать три триллиона семьсот двадцать миллиардов "
            "триста шестьдесят восемь миллионов пятьсот сорок семь тысяч семьсот пятьдесят восемь "
            "рублей 07 копеек"
        )


# Amounts as they appear on real invoices, acts and contracts, with the words an
# accountant writes under them.
REAL_AMOUNTS = [
    (1_500_00, "Одна тысяча пятьсот рублей 00 копеек"),
    (12_345_67, "Двенадцать тысяч триста сорок пять рублей 67 копеек"),
    (99_999_99, "Девяносто девять тысяч девятьсот девяносто девять рублей 99 копеек"),
    (118_000_00, "Сто восемнадцать тысяч рублей 00 копеек"),
    (120_000_00, "Сто двадцать тысяч рублей 00 копеек"),
    (4_242_42, "Четыре тысячи двести сорок два рубля 42 копейки"),
    (3_001_01, "Три тысячи один рубль 01 копейка"),
    (54_321_21, "Пятьдесят четыре тысячи триста двадцать один рубль 21 копейка"),
    (250_000_50, "Двести пятьдесят тысяч рублей 50 копеек"),
    (744_613_14, "Семьсот сорок четыре тысячи шестьсот тринадцать рублей 14 копеек"),
    (44_444_44, "Сорок четыре тысячи четыреста сорок четыре рубля 44 копейки"),
    (999_00, "Девятьсот девяносто девять рублей 00 копеек"),
    (1_000_001_00, "Один миллион один рубль 00 копеек"),
    (2_002_002_02, "Два миллиона две тысячи два рубля 02 копейки"),
    (5_555_555_55, "Пять миллионов пятьсот пятьдесят пять тысяч пятьсот пятьдесят пять рублей 55 копеек"),
    (11_011_011_11, "Одиннадцать миллионов одиннадцать тысяч одиннадцать рублей 11 копеек"),
    (21_021_021_21, "Двадцать один миллион двадцать одна тысяча двадцать один рубль 21 копейка"),
    (111_000_000_00, "Сто одиннадцать миллионов рублей 00 копеек"),
    (450_000_000_00, "Четыреста пятьдесят миллионов рублей 00 копеек"),
    (490_500_000_00, "Четыреста девяносто миллионов пятьсот тысяч рублей 00 копеек"),
    (1_234_567_890_12, (
        "Один миллиард двести тридцать четыре миллиона пятьсот шестьдесят семь тысяч "
        "восемьсот девяносто рублей 12 копеек"
    )),
    (3_000_000_000_03, "Три миллиарда рублей 03 копейки"),
    (7_080_90, "Семь тысяч восемьдесят рублей 90 копеек"),
    (60_040_00, "Шестьдесят тысяч сорок рублей 00 копеек"),
]


@pytest.mark.parametrize("kopecks, words", REAL_AMOUNTS)
def test_real_amounts(kopecks, words):
    assert rubles_in_words(kopecks) == words


class TestOtherCurrencies:
    @pytest.mark.parametrize("kopecks, currency, words", [
        (100, "USD", "Один доллар США 00 центов"),
        (22_01, "USD", "Двадцать два доллара США 01 цент"),
        (2_500_75, "USD", "Две тысячи пятьсот долларов США 75 центов"),
        (100, "EUR", "Один евро 00 центов"),
        (11_50, "EUR", "Одиннадцать евро 50 центов"),
        (21_03, "EUR", "Двадцать один евро 03 цента"),
        (100, "CNY", "Один юань 00 фыней"),
        (3_01, "CNY", "Три юаня 01 фынь"),
        (1_234_02, "CNY", "Одна тысяча двести тридцать четыре юаня 02 фыня"),
        (15_00, "CNY", "Пятнадцать юаней 00 фыней"),
    ])
    def test_words(self, kopecks, currency, words):
        assert rubles_in_words(kopecks, currency) == words

    def test_the_code_is_read_in_any_case(self):
        assert rubles_in_words(100, " rub ") == "Один рубль 00 копеек"

    @pytest.mark.parametrize("currency", ["KZT", "BYN", "RUR", "XYZ", ""])
    def test_other_currencies_are_refused_by_name(self, currency):
        with pytest.raises(ValueError, match="RUB, USD, EUR, CNY"):
            rubles_in_words(100, currency)


class TestRefused:
    @pytest.mark.parametrize("kopecks", [-1, -100, -(10**15)])
    def test_negative_amounts(self, kopecks):
        with pytest.raises(ValueError, match="negative"):
            rubles_in_words(kopecks)

    def test_more_than_a_bigint(self):
        with pytest.raises(ValueError, match="larger"):
            rubles_in_words(MAX_MINOR_UNITS + 1)

    @pytest.mark.parametrize("amount", [1234.56, Decimal("1234.56"), "123456", True, None])
    def test_anything_but_integer_kopecks(self, amount):
        with pytest.raises(TypeError, match="minor units"):
            rubles_in_words(amount)


class TestPluralForm:
    @pytest.mark.parametrize("number, form", [
        (0, "рублей"), (1, "рубль"), (2, "рубля"), (4, "рубля"), (5, "рублей"), (11, "рублей"),
        (12, "рублей"), (14, "рублей"), (20, "рублей"), (21, "рубль"), (24, "рубля"),
        (101, "рубль"), (111, "рублей"), (112, "рублей"), (1001, "рубль"), (1011, "рублей"),
        (1_000_000, "рублей"),
    ])
    def test_forms(self, number, form):
        assert plural_form(number, RUBLE) == form

    def test_every_ending(self):
        # The rule as a grammar book states it, written as sets rather than as the code's test.
        one = {1, 21, 31, 41, 51, 61, 71, 81, 91}
        few = {n for n in range(100) if n % 10 in (2, 3, 4)} - {12, 13, 14}
        for ending in range(100):
            expected = "рубль" if ending in one else "рубля" if ending in few else "рублей"
            assert plural_form(ending, RUBLE) == expected
            assert plural_form(1000 + ending, RUBLE) == expected


@given(st.integers(min_value=0, max_value=MAX_MINOR_UNITS))
def test_shape_of_any_amount(kopecks):
    text = rubles_in_words(kopecks)
    assert text[0].isupper() and text[1:] == text[1:].lower()
    assert "  " not in text and text == text.strip()
    whole, minor = divmod(kopecks, 100)
    assert text.endswith(f" {minor:02d} " + plural_form(minor, ("копейка", "копейки", "копеек")))
    assert f" {plural_form(whole, RUBLE)} {minor:02d} " in text


@given(st.integers(min_value=0, max_value=MAX_MINOR_UNITS // 100))
def test_genders_never_mix(number):
    # num2words' feminine mode writes "одна миллион"; we must never ask it for that, and
    # the masculine mode must keep "тысяча" feminine.
    words = f" {number_in_words(number)} "
    for wrong in (" один тысяч", " два тысяч", " одна миллион", " две миллион", " одна миллиард",
                  " две миллиард", " одна триллион", " одна квадриллион"):
        assert wrong not in words
