"""English texts of the core."""

MESSAGES: dict[str, str] = {
    "validation_failed": "Please check the data: {count} error(s).",
    # Requisites (backend/requisites.py)
    "field.inn": "INN",
    "field.kpp": "KPP",
    "field.bik": "BIK",
    "field.account": "Settlement account",
    "field.corr_account": "Correspondent account",
    "inn.required": "{field_name}: please fill it in — 10 digits for a company, 12 for a sole trader or an individual.",
    "inn.not_digits": "{field_name}: only digits are allowed — please remove letters and other characters.",
    "inn.length": "{field_name}: a company has 10 digits, a sole trader or an individual 12, but {length} were entered.",
    "inn.checksum": "{field_name}: the check digit is wrong — please look for a typo.",
    "kpp.format": "{field_name}: 9 characters are needed — digits, with capital Latin letters allowed in positions 5 and 6 (e.g. 770101001 or 7701AB001).",
    "kpp.not_for_sole_trader": "{field_name}: sole traders and individuals (12-digit INN) have no KPP — please leave it empty.",
    "bik.required": "{field_name}: please enter the bank's BIK — 9 digits.",
    "bik.format": "{field_name}: 9 digits starting with 0 are needed (e.g. 044525225) — please look for a typo.",
    "account.required": "{field_name}: please enter the account number — 20 digits.",
    "account.format": "{field_name}: an account number has exactly 20 digits — please check that all are there.",
    "account.checksum": "{field_name}: the number does not match the bank's BIK (control key) — please check the account and the BIK for a typo.",
    "corr_account.format": "{field_name}: an account number has exactly 20 digits — please check that all are there.",
    "corr_account.prefix": "{field_name}: it must start with {prefix} — perhaps the settlement account was entered here.",
    "corr_account.checksum": "{field_name}: the number does not match the bank's BIK (control key) — please check the correspondent account and the BIK.",
    "corr_account.bik_mismatch": "{field_name}: its last three digits must match the last three digits of the BIK — it looks like another bank's account.",
}
