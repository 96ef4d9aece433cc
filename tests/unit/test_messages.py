"""Every error the core can raise has its words in Russian and in English."""

import re
from pathlib import Path

import pytest

from backend.locales import en, ru
from backend.workflows.lifecycle import Action, Status

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "\n".join(p.read_text(encoding="utf-8") for folder in ("backend", "bot")
                   for p in sorted((ROOT / folder).rglob("*.py")))
RAISED = set(re.findall(r'(?:InvalidInput|Conflict|NotFound|Forbidden|Unauthorized|DomainError)\(\s*"([a-z_.]+)"', SOURCE))
PAIRS = {code for code, _ in re.findall(r'\("([a-z_]+\.[a-z_.]+)", "([a-z_]+)"\)', SOURCE)}
FIELDS = set(re.findall(r'field="([a-z_]+)"', SOURCE))
BUILT = {f"comment.required_for_{a}" for a in ("reject", "return", "comment")}
BUILT |= {f"status.{s.value}" for s in Status} | {f"action.{a.value}" for a in Action if a != Action.CREATE}


def test_both_languages_have_the_same_keys():
    assert sorted(set(ru.MESSAGES) ^ set(en.MESSAGES)) == []


@pytest.mark.parametrize("catalogue", [ru.MESSAGES, en.MESSAGES], ids=["ru", "en"])
def test_every_raised_code_and_named_field_has_a_text(catalogue):
    assert len(RAISED) > 50 and FIELDS
    assert sorted(c for c in RAISED | PAIRS | BUILT if c not in catalogue) == []
    assert sorted(f for f in FIELDS if f"field.{f}" not in catalogue and f != "include_inactive") == []
