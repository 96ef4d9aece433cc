"""Requisites are checked the way the FNS and the bank will check them, with clear messages."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.ru import inn as stdnum_inn

from backend.errors import InvalidInput, ValidationFailed
from backend.i18n import CATALOGUES
from backend.requisites import (
    Requisites,
    account_control_key_ok,
    corr_account_control_key_ok,
    make_valid_account,
    make_valid_corr_account,
    make_valid_inn10,
    make_valid_inn12,
    normalize_digits,
    validate_bik,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
    validate_requisites,
    validate_settlement_account,
)

SBER_INN = "7707083893"
YANDEX_INN = "7736207543"
PERSON_INN = "500100732259"
SBER_KPP = "773601001"
SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"
# The Russian example of the SWIFT IBAN registry: RU03 044525225 40817810538091310419.
SBER_PUBLISHED_ACCOUNT = "40817810538091310419"
# Other banks' correspondent accounts, as printed in their requisites.
REAL_CORR_ACCOUNTS = [
    ("044525225", "30101810400000000225"),  # Sberbank
    ("044525974", "30101810145250000974"),  # T-Bank
    ("044525593", "30101810200000000593"),  # Alfa-Bank
    ("044525187", "30101810700000000187"),  # VTB
    ("046577674", "30101810500000000674"),  # Sberbank's Ural bank, Yekaterinburg
]
# The single tax payment (ЕНП) as the FNS publishes it: a Treasury BIK, a keyless treasury
# account and the single treasury account (ЕКС) in the correspondent-account field.
ENP = {
    "inn": "7727406020",
    "kpp": "770801001",
    "bik": "017003983",
    "account": "03100643000000018500",
    "corr_account": "40102810445370000059",
}

DIGITS = "0123456789"


def digit_strings(length: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=length, max_size=length)


def with_digit(value: str, position: int, digit: str) -> str:
    return value[:position] + digit + value[position + 1 :]


def single_digit_changes(value: str) -> list[str]:
    """Every string that differs from ``value`` in exactly one digit."""
    return [
        with_digit(value, position, digit)
        for position in range(len(value))
        for digit in DIGITS
        if digit != value[position]
    ]


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(InvalidInput) as caught:
        call()
    return caught.value.code


def inn10_residue(inn: str) -> int:
    return sum(int(d) * w for d, w in zip(inn[:9], (2, 4, 10, 3, 5, 9, 4, 6, 8))) % 11


class TestNormalizeDigits:
    @pytest.mark.parametrize(
        ("typed", "expected"),
        [
            ("7707 083 893", "7707083893"),
            ("7707\u00a0083\u00a0893", "7707083893"),
            ("7707\u202f083\u2009893", "7707083893"),
            ("4070-2810-1", "407028101"),
            ("4070 \u2013 2810", "40702810"),
            ("\ufeff\u200b7707083893\n", "7707083893"),
            ("", ""),
            (None, ""),
        ],
    )
    def test_drops_what_people_type_between_digits(self, typed, expected):
        assert normalize_digits(typed) == expected

    def test_keeps_letters_for_the_validators_to_reject(self):
        assert normalize_digits("77O7 083") == "77O7083"


class TestValidateInn:
    @pytest.mark.parametrize("inn", [SBER_INN, YANDEX_INN, PERSON_INN, ENP["inn"]])
    def test_accepts_real_inns(self, inn):
        assert validate_inn(inn) == inn

    def test_returns_the_normalised_inn(self):
        assert validate_inn(" 7707\u00a0083-893 ") == SBER_INN

    @pytest.mark.parametrize("empty", [None, "", "   ", "\u00a0"])
    def test_empty_is_required(self, empty):
        assert code_of(lambda: validate_inn(empty)) == "inn.required"

    @pytest.mark.parametrize("typed", ["77070838ЗЗ", "7707O83893", "7707.083.893", "٧٧٠٧٠٨٣٨٩٣"])
    def test_letters_and_foreign_digits_are_not_digits(self, typed):
        assert code_of(lambda: validate_inn(typed)) == "inn.not_digits"

    @pytest.mark.parametrize("typed", ["770708389", "77070838931", "5001007322590"])
    def test_wrong_length_reports_the_length(self, typed):
        with pytest.raises(InvalidInput) as caught:
            validate_inn(typed)
        assert (caught.value.code, caught.value.field) == ("inn.length", "inn")
        assert caught.value.params == {"length": len(typed)}

    @pytest.mark.parametrize("inn", [SBER_INN, YANDEX_INN, PERSON_INN])
    def test_every_single_digit_change_of_a_real_inn_is_rejected(self, inn):
        for changed in single_digit_changes(inn):
            assert code_of(lambda: validate_inn(changed)) == "inn.checksum", changed

    def test_the_mod_11_blind_spot_is_the_fns_algorithm_not_ours(self):
        # Residues 0 and 10 both give check digit 0, so a few one-digit typos stay valid.
        assert inn10_residue("3449786900") == 10 and inn10_residue("9449786900") == 0
        assert validate_inn("9449786900") == "9449786900"
        assert stdnum_inn.is_valid("9449786900")

    @given(digit_strings(10) | digit_strings(12) | digit_strings(11))
    def test_agrees_with_python_stdnum(self, typed):
        try:
            validate_inn(typed)
            ours = True
        except InvalidInput:
            ours = False
        assert ours == stdnum_inn.is_valid(typed)


class TestMakeValidInn:
    @given(digit_strings(9))
    def test_inn10_passes(self, prefix):
        inn = make_valid_inn10(prefix)
        assert inn.startswith(prefix) and validate_inn(inn) == inn

    @given(digit_strings(9), st.integers(0, 9), st.integers(1, 9))
    def test_inn10_with_one_digit_changed_fails(self, prefix, position, delta):
        inn = make_valid_inn10(prefix)
        changed = with_digit(inn, position, str((int(inn[position]) + delta) % 10))
        # The only typos the check digit cannot see: residue 0 ↔ 10 (see the blind-spot test).
        assume({inn10_residue(inn), inn10_residue(changed)} != {0, 10})
        assert code_of(lambda: validate_inn(changed)) == "inn.checksum"

    @given(digit_strings(10))
    def test_inn12_passes(self, prefix):
        inn = make_valid_inn12(prefix)
        assert inn.startswith(prefix) and validate_inn(inn) == inn

    @pytest.mark.parametrize(
        ("make", "prefix"),
        [(make_valid_inn10, "77070838"), (make_valid_inn10, "77070838a"), (make_valid_inn12, "500100732")],
    )
    def test_a_wrong_prefix_is_a_programming_error(self, make, prefix):
        with pytest.raises(ValueError):
            make(prefix)


class TestValidateKpp:
    @pytest.mark.parametrize("kpp", [SBER_KPP, "7701AB001", "770801001"])
    def test_accepts_digits_and_latin_letters_in_positions_5_and_6(self, kpp):
        assert validate_kpp(kpp, inn=SBER_INN) == kpp

    def test_keeps_leading_zeros_because_kpp_is_a_string(self):
        assert validate_kpp("027401001") == "027401001"

    def test_lower_case_is_made_upper(self):
        assert validate_kpp("7701ab001") == "7701AB001"

    def test_cyrillic_look_alikes_become_latin(self):
        assert validate_kpp("7701АВ001") == "7701AB001"  # Cyrillic А and В

    @pytest.mark.parametrize("empty", [None, "", "  "])
    def test_empty_is_none_even_for_a_company(self, empty):
        assert validate_kpp(empty, inn=SBER_INN) is None

    @pytest.mark.parametrize("kpp", ["77360100", "7736010011", "77AB01001", "7736010A1", "7701ЖЖ001", "7701_A001"])
    def test_rejects_a_bad_format(self, kpp):
        with pytest.raises(InvalidInput) as caught:
            validate_kpp(kpp, inn=SBER_INN)
        assert (caught.value.code, caught.value.field) == ("kpp.format", "kpp")

    def test_sole_trader_has_no_kpp(self):
        with pytest.raises(InvalidInput) as caught:
            validate_kpp(SBER_KPP, inn=PERSON_INN)
        assert (caught.value.code, caught.value.field) == ("kpp.not_for_sole_trader", "kpp")

    def test_sole_trader_without_kpp_is_fine(self):
        assert validate_kpp("", inn=PERSON_INN) is None


class TestValidateBik:
    @pytest.mark.parametrize("bik", [SBER_BIK, "044525974", "049805746", ENP["bik"], "004525988"])
    def test_accepts_bank_and_treasury_biks(self, bik):
        assert validate_bik(bik) == bik

    def test_returns_the_normalised_bik(self):
        assert validate_bik("04 45 25 225") == SBER_BIK

    @pytest.mark.parametrize("empty", [None, "", " "])
    def test_empty_is_required(self, empty):
        assert code_of(lambda: validate_bik(empty)) == "bik.required"

    @pytest.mark.parametrize("bik", ["04452522", "0445252250", "144525225", "04452522O", "44525225"])
    def test_rejects_a_bad_format(self, bik):
        with pytest.raises(InvalidInput) as caught:
            validate_bik(bik)
        assert (caught.value.code, caught.value.field) == ("bik.format", "bik")


class TestValidateSettlementAccount:
    def test_accepts_a_published_sberbank_account(self):
        assert validate_settlement_account(SBER_PUBLISHED_ACCOUNT, SBER_BIK) == SBER_PUBLISHED_ACCOUNT
        assert account_control_key_ok(SBER_BIK, SBER_PUBLISHED_ACCOUNT)

    def test_returns_the_normalised_account(self):
        assert validate_settlement_account("40817 810 5 3809 1310419", SBER_BIK) == SBER_PUBLISHED_ACCOUNT

    def test_every_single_digit_change_is_rejected(self):
        for changed in single_digit_changes(SBER_PUBLISHED_ACCOUNT):
            assert code_of(lambda: validate_settlement_account(changed, SBER_BIK)) == "account.checksum"

    def test_the_same_account_at_another_bank_is_rejected(self):
        assert code_of(lambda: validate_settlement_account(SBER_PUBLISHED_ACCOUNT, "044525974")) == "account.checksum"

    def test_a_treasury_account_carries_no_key(self):
        assert not account_control_key_ok(ENP["bik"], ENP["account"])
        assert validate_settlement_account(ENP["account"], ENP["bik"]) == ENP["account"]

    def test_a_bank_bik_gets_no_treasury_exemption(self):
        assert code_of(lambda: validate_settlement_account(ENP["account"], SBER_BIK)) == "account.checksum"

    @pytest.mark.parametrize("empty", [None, "", " "])
    def test_empty_is_required(self, empty):
        assert code_of(lambda: validate_settlement_account(empty, SBER_BIK)) == "account.required"

    @pytest.mark.parametrize("account", ["4081781053809131041", "408178105380913104190", "4081781053809131041O"])
    def test_rejects_a_bad_format(self, account):
        with pytest.raises(InvalidInput) as caught:
            validate_settlement_account(account, SBER_BIK)
        assert (caught.value.code, caught.value.field) == ("account.format", "account")

    def test_a_bad_bik_is_reported_as_the_bik(self):
        with pytest.raises(InvalidInput) as caught:
            validate_settlement_account(SBER_PUBLISHED_ACCOUNT, "04452522")
        assert (caught.value.code, caught.value.field) == ("bik.format", "bik")

    def test_key_helper_is_false_for_garbage(self):
        assert not account_control_key_ok("04452522", SBER_PUBLISHED_ACCOUNT)
        assert not account_control_key_ok(SBER_BIK, "4081781053809131041")


class TestMakeValidAccount:
    @given(digit_strings(9).map(lambda s: "04" + s[2:]), digit_strings(8), st.integers(0, 10**11 - 1))
    def test_passes_and_keeps_prefix_and_serial(self, bik, prefix, serial):
        account = make_valid_account(bik, prefix, serial)
        assert validate_settlement_account(account, bik) == account
        assert account[:8] == prefix and int(account[9:]) == serial

    def test_every_single_digit_change_is_rejected(self):
        account = make_valid_account(SBER_BIK, "40702810", 38000012345)
        for changed in single_digit_changes(account):
            assert not account_control_key_ok(SBER_BIK, changed), changed

    def test_rebuilds_a_published_account(self):
        assert make_valid_account(SBER_BIK, "40817810", 38091310419) == SBER_PUBLISHED_ACCOUNT

    @pytest.mark.parametrize(
        ("bik", "prefix", "serial"),
        [(SBER_BIK, "4070281", 1), (SBER_BIK, "407028101", 1), ("04452522", "40702810", 1), (SBER_BIK, "40702810", -1)],
    )
    def test_wrong_arguments_are_a_programming_error(self, bik, prefix, serial):
        with pytest.raises(ValueError):
            make_valid_account(bik, prefix, serial)

    @pytest.mark.parametrize(("bik", "corr"), [(b, c) for b, c in REAL_CORR_ACCOUNTS if c[9:17] == "0" * 8])
    def test_corr_account_matches_the_real_one_for_banks_numbered_that_way(self, bik, corr):
        assert make_valid_corr_account(bik) == corr


class TestValidateCorrespondentAccount:
    @pytest.mark.parametrize(("bik", "corr"), REAL_CORR_ACCOUNTS)
    def test_accepts_real_correspondent_accounts(self, bik, corr):
        assert validate_correspondent_account(corr, bik) == corr
        assert corr_account_control_key_ok(bik, corr)

    def test_accepts_the_single_treasury_account_with_a_treasury_bik(self):
        assert validate_correspondent_account(ENP["corr_account"], ENP["bik"]) == ENP["corr_account"]

    @pytest.mark.parametrize("empty", [None, "", " "])
    def test_empty_is_none(self, empty):
        assert validate_correspondent_account(empty, SBER_BIK) is None

    def test_every_single_digit_change_is_rejected(self):
        for changed in single_digit_changes(SBER_CORR):
            code = code_of(lambda: validate_correspondent_account(changed, SBER_BIK))
            expected = "corr_account.checksum" if changed.startswith("30101") else "corr_account.prefix"
            assert code == expected, changed

    def test_a_settlement_account_in_its_place_names_the_prefix(self):
        with pytest.raises(InvalidInput) as caught:
            validate_correspondent_account(SBER_PUBLISHED_ACCOUNT, SBER_BIK)
        assert (caught.value.code, caught.value.field) == ("corr_account.prefix", "corr_account")
        assert caught.value.params == {"prefix": "30101"}

    def test_another_banks_corr_account_in_another_division_fails_the_key(self):
        assert code_of(lambda: validate_correspondent_account(SBER_CORR, "046577674")) == "corr_account.checksum"

    def test_another_banks_corr_account_in_the_same_division_is_caught_by_its_tail(self):
        # T-Bank and Sberbank are both keyed with Moscow's "025", so only the tail differs.
        assert corr_account_control_key_ok("044525974", SBER_CORR)
        with pytest.raises(InvalidInput) as caught:
            validate_correspondent_account(SBER_CORR, "044525974")
        assert (caught.value.code, caught.value.field) == ("corr_account.bik_mismatch", "corr_account")

    def test_settlement_key_is_not_the_corr_key(self):
        # Sberbank's corr account passes only with "0" + BIK[4:6] = "025", not with BIK[-3:].
        assert not account_control_key_ok(SBER_BIK, SBER_CORR)

    @pytest.mark.parametrize("corr", ["3010181040000000022", "301018104000000002250", "3010181040000000022S"])
    def test_rejects_a_bad_format(self, corr):
        assert code_of(lambda: validate_correspondent_account(corr, SBER_BIK)) == "corr_account.format"


class TestValidateRequisites:
    def test_returns_normalised_requisites(self):
        got = validate_requisites(
            inn="7707 083 893",
            kpp="773601001",
            bik="044 525 225",
            account="40817\u00a0810\u00a05\u00a03809\u00a01310419",
            corr_account="30101-810-4-0000-0000225",
        )
        assert got == Requisites(SBER_INN, SBER_KPP, SBER_BIK, SBER_PUBLISHED_ACCOUNT, SBER_CORR)
        assert not got.is_sole_trader

    def test_is_frozen(self):
        got = validate_requisites(inn=SBER_INN, require_bank=False)
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.inn = YANDEX_INN  # type: ignore[misc]

    def test_accepts_the_single_tax_payment(self):
        assert validate_requisites(**ENP) == Requisites(**ENP)

    def test_sole_trader(self):
        account = make_valid_account(SBER_BIK, "40802810", 7)
        got = validate_requisites(inn=PERSON_INN, bik=SBER_BIK, account=account)
        assert got.is_sole_trader and got.kpp is None and got.corr_account is None

    def test_reports_every_bad_field_at_once(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_requisites(
                inn="7707083894",
                kpp="77360100",
                bik="04452522",
                account="4081781053809131041",
                corr_account="3010181040000000022",
            )
        assert [(e.field, e.code) for e in caught.value.errors] == [
            ("inn", "inn.checksum"),
            ("kpp", "kpp.format"),
            ("bik", "bik.format"),
            ("account", "account.format"),
            ("corr_account", "corr_account.format"),
        ]
        assert caught.value.params == {"count": 5}

    def test_a_bad_bik_hides_the_account_checks_that_depend_on_it(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_requisites(inn=SBER_INN, bik="14452522X", account="40817810538091310418", corr_account=SBER_CORR)
        assert [e.code for e in caught.value.errors] == ["bik.format"]

    def test_an_account_that_does_not_match_a_good_bik(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_requisites(inn=SBER_INN, bik="044525974", account=SBER_PUBLISHED_ACCOUNT, corr_account=SBER_CORR)
        assert [e.code for e in caught.value.errors] == ["account.checksum", "corr_account.bik_mismatch"]

    def test_bank_details_are_required_by_default(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_requisites(inn=SBER_INN)
        assert [e.code for e in caught.value.errors] == ["bik.required", "account.required"]

    def test_bank_details_may_be_left_out(self):
        assert validate_requisites(inn=SBER_INN, kpp=SBER_KPP, require_bank=False) == Requisites(SBER_INN, SBER_KPP)

    def test_partial_bank_details_are_completed_or_refused(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_requisites(inn=SBER_INN, account=SBER_PUBLISHED_ACCOUNT, require_bank=False)
        assert [e.code for e in caught.value.errors] == ["bik.required"]

    def test_kpp_with_a_sole_trader_inn(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_requisites(inn=PERSON_INN, kpp=SBER_KPP, require_bank=False)
        assert [(e.field, e.code) for e in caught.value.errors] == [("kpp", "kpp.not_for_sole_trader")]

    def test_the_api_body_lists_every_field(self):
        with pytest.raises(ValidationFailed) as caught:
            validate_requisites(inn="", kpp="1", require_bank=False)
        body = caught.value.as_dict("ru")
        assert body["code"] == "validation_failed"
        assert body["message"] == "Проверьте данные: ошибок — 2."
        assert [(e["field"], e["code"]) for e in body["errors"]] == [("inn", "inn.required"), ("kpp", "kpp.format")]
        assert body["errors"][0]["message"].startswith("ИНН: ")


# One real way to hit every error code the module has.
ERROR_CASES: dict[str, Callable[[], object]] = {
    "inn.required": lambda: validate_inn(None),
    "inn.not_digits": lambda: validate_inn("7707O83893"),
    "inn.length": lambda: validate_inn("770708389"),
    "inn.checksum": lambda: validate_inn("7707083894"),
    "kpp.format": lambda: validate_kpp("7736010"),
    "kpp.not_for_sole_trader": lambda: validate_kpp(SBER_KPP, inn=PERSON_INN),
    "bik.required": lambda: validate_bik(""),
    "bik.format": lambda: validate_bik("1234"),
    "account.required": lambda: validate_settlement_account(None, SBER_BIK),
    "account.format": lambda: validate_settlement_account("40817", SBER_BIK),
    "account.checksum": lambda: validate_settlement_account("40817810538091310418", SBER_BIK),
    "corr_account.format": lambda: validate_correspondent_account("30101", SBER_BIK),
    "corr_account.prefix": lambda: validate_correspondent_account(SBER_PUBLISHED_ACCOUNT, SBER_BIK),
    "corr_account.checksum": lambda: validate_correspondent_account("30101810400000000226", SBER_BIK),
    "corr_account.bik_mismatch": lambda: validate_correspondent_account(SBER_CORR, "044525974"),
}
REQUISITE_PREFIXES = ("inn.", "kpp.", "bik.", "account.", "corr_account.")
FIELD_NAMES = {
    "ru": {
        "inn": "ИНН",
        "kpp": "КПП",
        "bik": "БИК",
        "account": "Расчётный счёт",
        "corr_account": "Корр. счёт",
    },
    "en": {
        "inn": "INN",
        "kpp": "KPP",
        "bik": "BIK",
        "account": "Settlement account",
        "corr_account": "Correspondent account",
    },
}


class TestMessages:
    @pytest.mark.parametrize("lang", ["ru", "en"])
    def test_every_code_in_the_catalogue_has_a_case(self, lang):
        codes = {code for code in CATALOGUES[lang] if code.startswith(REQUISITE_PREFIXES)}
        assert codes == set(ERROR_CASES)

    @pytest.mark.parametrize("lang", ["ru", "en"])
    @pytest.mark.parametrize("code", sorted(ERROR_CASES))
    def test_renders_with_the_field_name_and_no_placeholders(self, code, lang):
        with pytest.raises(InvalidInput) as caught:
            ERROR_CASES[code]()
        error = caught.value
        assert error.code == code
        message = error.message(lang)
        assert not re.search(r"[{}]", message), message
        assert message.startswith(FIELD_NAMES[lang][error.field] + ": ")
        assert message.endswith(".")

    def test_russian_and_english_differ(self):
        for code, call in ERROR_CASES.items():
            with pytest.raises(InvalidInput) as caught:
                call()
            assert caught.value.message("ru") != caught.value.message("en"), code

    def test_the_length_is_in_the_message(self):
        with pytest.raises(InvalidInput) as caught:
            validate_inn("77070838931")
        assert "11" in caught.value.message("ru") and "11" in caught.value.message("en")

    def test_the_expected_prefix_is_in_the_message(self):
        with pytest.raises(InvalidInput) as caught:
            validate_correspondent_account(SBER_CORR, ENP["bik"])
        assert "40102" in caught.value.message("ru")
