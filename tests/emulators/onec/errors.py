"""OData errors as 1C answers them: an HTTP status plus ``odata.error`` {code, message{lang, value}}.

The ``code`` is 1C's internal error number, sent as a string. The numbers below are the ones
public clients report from live bases (9 — "instance not found", 8 — "entity not found",
-1 — internal/application error, 13 — table-part rows can't be created directly); the others are
this emulator's own choice, so clients should branch on the HTTP status, never on the text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ODataError(Exception):
    status: int
    message: str
    code: str = "-1"

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.status} [{self.code}] {self.message}"

    def to_json(self) -> dict:
        return {"odata.error": {"code": self.code, "message": {"lang": "ru", "value": self.message}}}


def unknown_entity_set(name: str) -> ODataError:
    return ODataError(404, f"Сущность '{name}' не найдена", "8")


def not_found() -> ODataError:
    return ODataError(404, "Экземпляр сущности не найден", "9")


def bad_request(message: str, code: str = "6") -> ODataError:
    return ODataError(400, message, code)


def unknown_property(prop: str, type_name: str) -> ODataError:
    return ODataError(400, f"Поле объекта не обнаружено ({prop}). Тип: StandardODATA.{type_name}", "6")


def internal(message: str) -> ODataError:
    return ODataError(500, message, "-1")


PLUS_IN_QUERY = 'Операция не разрешена в предложении "ГДЕ"'
