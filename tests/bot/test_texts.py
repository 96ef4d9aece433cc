"""Every text the bot says exists in Russian and in English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.services.attachments import KINDS
from bot.app import COMMANDS
from bot.handlers.lists import PERIODS
from bot.handlers.new_request import EDITABLE_FIELDS, ORDER
from bot.texts import CATALOGUES, Texts

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "bot").rglob("*.py")))
LITERAL = set(re.findall(r'\bt\("([a-z_.]+)"', SOURCE)) | set(re.findall(r'"((?:btn|flag)\.[a-z_]+)"', SOURCE))
EVENTS = ("stage_decided", "approved", "rejected", "returned", "comment", "paid", "closed", "cancelled",
          "payment_order_attached")
BUILT = (
    {f"ask.{a}" for a in ("reject", "return", "comment")} | {f"command.{c}" for c in COMMANDS}
    | {f"file.{k}" for k in KINDS} | {f"new.ask_{s}" for s in ORDER if s != "summary"}
    | {f"new.edit_{f}" for f in EDITABLE_FIELDS} | {"new.no_type", "new.no_entity"}
    | {f"notice.{e}" for e in EVENTS} | {f"pay.{p}" for p in PERIODS}
)


def test_both_languages_have_the_same_keys():
    assert sorted(set(CATALOGUES["ru"]) ^ set(CATALOGUES["en"])) == []


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_key_used_has_a_text(lang):
    t = Texts(lang)
    assert len(LITERAL) > 60
    assert sorted(k for k in LITERAL | BUILT if not t.has(k)) == []


def test_money_and_dates_read_naturally():
    assert Texts("ru").money(12_345_678_90, "RUB") == "12\u00a0345\u00a0678,90\u00a0₽"
    assert Texts("en").money(150_00, "USD") == "150.00 $"
    assert Texts("ru").month_name(11) == "Ноябрь" and len(Texts("en").weekdays()) == 7
