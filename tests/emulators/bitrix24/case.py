"""Field names between UPPER_CASE and camelCase, as Bitrix24's CRM converter does it.

``STAGE_ID`` ↔ ``stageId``, ``PARENT_ID_2`` ↔ ``parentId2``,
``UF_CRM_7_1639669411830`` ↔ ``ufCrm7_1639669411830`` (an underscore between two digits
survives), ``UF_CRM_7_AMOUNT`` ↔ ``ufCrm7Amount``, and the odd ones such as
``UF_CRM_1720019876534`` ↔ ``ufCrm_1720019876534`` get the prefix swapped and nothing else.
"""

from __future__ import annotations

import re

_PLAIN_UPPER = (
    re.compile(r"[A-Z_]+"),
    re.compile(r"UF_CRM_\d{1,4}_[\d_]+"),
    re.compile(r"UF_CRM_\d{1,4}_[A-Z_]+"),
)
_PLAIN_CAMEL = (
    re.compile(r"[A-Za-z_]+"),
    re.compile(r"ufCrm\d{1,4}_[\d_]+"),
    re.compile(r"ufCrm\d{1,4}[A-Za-z_]+"),
)
_MARK = "\x00"


def is_upper(name: str) -> bool:
    return any(c.isalpha() for c in name) and name == name.upper()


def to_camel(name: str) -> str:
    if not any(p.fullmatch(name) for p in _PLAIN_UPPER) and name.upper().startswith("UF_"):
        if name.upper().startswith("UF_CRM_"):
            return "ufCrm_" + name[7:]
        if name.upper().startswith("UF_CRM"):
            return "ufCrm" + name[6:]
        return "uf" + name[3:]
    marked = re.sub(r"(?<=\d)_(?=\d)", _MARK, name)
    words = marked.lower().split("_")
    camel = words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return camel.replace(_MARK, "_")


def to_upper(name: str) -> str:
    if is_upper(name):
        return name
    if not any(p.fullmatch(name) for p in _PLAIN_CAMEL) and name.lower().startswith("uf"):
        if name.startswith("ufCrm_"):
            return "UF_CRM_" + name[6:]
        if name.startswith("ufCrm"):
            return "UF_CRM" + name[5:]
        return "UF_" + name[2:]
    snake = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", "_", name)
    return snake.upper()


def camel_key(name: str) -> str:
    """Accept either spelling on input; answer the camelCase one."""
    return to_camel(name) if is_upper(name) else name
