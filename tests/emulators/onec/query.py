"""OData v3 query options as 1C's standard interface reads them: ``$filter`` (parser + evaluator),
``$orderby``, ``$select``, ``$top``/``$skip``, and the key predicate ``(guid'…')`` / ``(A=…,B=…)``.

Supported in ``$filter``: ``eq ne gt ge lt le and or not``, parentheses, literals ``'text'``
(``''`` escapes a quote), numbers, ``true``/``false``/``null``, ``guid'…'``, ``datetime'…'``;
functions ``substringof startswith endswith tolower toupper trim length year month day hour
minute second``, ``cast(guid'…','Catalog_X')`` and ``isof(Field,'Catalog_X')`` for composite
fields; a reference may be followed to the referenced object (``Организация/ИНН``).

Types are checked before anything is evaluated, as a server does: an unknown property, or a
``Edm.Guid`` field compared with a plain string (``Ref_Key eq '…'`` instead of ``guid'…'``), is a
400 even when the collection is empty. String comparison ignores case (1C's query language does).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import errors
from .metadata import (
    BOOL,
    DATE,
    DOUBLE,
    EMPTY_GUID,
    GUID,
    INT16,
    INT64,
    EntitySetDef,
    Prop,
)

# -- tokens -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<typed>(?:guid|datetime|datetimeoffset|time)'[^']*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
  | (?P<name>[^\W\d][\w]*)
  | (?P<punct>[(),/=])
    """,
    re.VERBOSE,
)

COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise errors.bad_request(f"Синтаксическая ошибка в выражении отбора в позиции {pos + 1}: '{text[pos:pos + 20]}'")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


# -- AST ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    kind: str  # string guid datetime number bool null
    value: Any


@dataclass(frozen=True)
class Member:
    path: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


def parse_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise errors.bad_request(f"Неверное значение даты: '{text}'") from None
    return value.replace(tzinfo=None)


def format_datetime(value: datetime) -> str:
    return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")


def _literal(token: Token) -> Literal:
    if token.kind == "string":
        return Literal("string", token.text[1:-1].replace("''", "'"))
    if token.kind == "number":
        raw = token.text.rstrip("mMdDfFlL")
        return Literal("number", float(raw) if any(c in raw for c in ".eE") else int(raw))
    prefix, _, rest = token.text.partition("'")
    body = rest[:-1]
    if prefix == "guid":
        if not _GUID.fullmatch(body):
            raise errors.bad_request(f"Неверное значение типа Edm.Guid: '{body}'")
        return Literal("guid", body.lower())
    if prefix in ("datetime", "datetimeoffset"):
        return Literal("datetime", parse_datetime(body))
    raise errors.bad_request(f"Литерал типа {prefix} не поддерживается")


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and bool(_GUID.fullmatch(value))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise errors.bad_request(f"Неожиданный конец выражения отбора: '{self.text}'")
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise errors.bad_request(f"Синтаксическая ошибка в выражении отбора в позиции {token.pos + 1}: ожидалось '{text}'")

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text in words

    def parse(self):
        node = self.or_expr()
        if self.peek() is not None:
            token = self.peek()
            raise errors.bad_request(f"Синтаксическая ошибка в выражении отбора в позиции {token.pos + 1}: '{token.text}'")
        return node

    def or_expr(self):
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = Binary("or", node, self.and_expr())
        return node

    def and_expr(self):
        node = self.not_expr()
        while self.is_word("and"):
            self.take()
            node = Binary("and", node, self.not_expr())
        return node

    def not_expr(self):
        if self.is_word("not"):
            self.take()
            return Not(self.not_expr())
        return self.comparison()

    def comparison(self):
        left = self.primary()
        if self.is_word(*COMPARISONS):
            op = self.take().text
            return Binary(op, left, self.primary())
        if self.is_word("add", "sub", "mul", "div", "mod"):
            raise errors.bad_request("Арифметические операции в отборе не поддерживаются эмулятором")
        return left

    def primary(self):
        token = self.take()
        if token.text == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if token.kind in ("string", "number", "typed"):
            return _literal(token)
        if token.kind == "name":
            if token.text in ("true", "false"):
                return Literal("bool", token.text == "true")
            if token.text == "null":
                return Literal("null", None)
            nxt = self.peek()
            if nxt is not None and nxt.text == "(":
                self.take()
                args = []
                if self.peek() is not None and self.peek().text != ")":
                    args.append(self.or_expr())
                    while self.peek() is not None and self.peek().text == ",":
                        self.take()
                        args.append(self.or_expr())
                self.expect(")")
                return Call(token.text, tuple(args))
            path = [token.text]
            while self.peek() is not None and self.peek().text == "/":
                self.take()
                part = self.take()
                if part.kind != "name":
                    raise errors.bad_request(f"Синтаксическая ошибка в выражении отбора в позиции {part.pos + 1}")
                path.append(part.text)
            return Member(tuple(path))
        raise errors.bad_request(f"Синтаксическая ошибка в выражении отбора в позиции {token.pos + 1}: '{token.text}'")


def parse_filter(text: str):
    return _Parser(text).parse()


# -- typing & evaluation -----------------------------------------------------------------------

Resolver = Callable[[str, str], dict | None]  # (entity set, guid) -> stored entity or None


def _member_type(prop: Prop) -> str:
    if prop.composite:
        return "composite"
    return {
        GUID: "guid",
        DATE: "datetime",
        DOUBLE: "number",
        INT64: "number",
        INT16: "number",
        BOOL: "bool",
    }.get(prop.edm, "string")


_FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "substringof": (("string", "string"), "bool"),
    "startswith": (("string", "string"), "bool"),
    "endswith": (("string", "string"), "bool"),
    "tolower": (("string",), "string"),
    "toupper": (("string",), "string"),
    "trim": (("string",), "string"),
    "length": (("string",), "number"),
    "year": (("datetime",), "number"),
    "month": (("datetime",), "number"),
    "day": (("datetime",), "number"),
    "hour": (("datetime",), "number"),
    "minute": (("datetime",), "number"),
    "second": (("datetime",), "number"),
}

_COMPATIBLE = {
    ("guid", "guid"),
    ("composite", "guid"),
    ("composite", "string"),
    ("composite", "cast"),
    ("composite", "composite"),
    ("guid", "composite"),
    ("string", "string"),
    ("datetime", "datetime"),
    ("number", "number"),
    ("bool", "bool"),
}


class Filter:
    """A parsed, type-checked ``$filter`` bound to one entity set."""

    def __init__(self, text: str, definition: EntitySetDef, schema: dict[str, EntitySetDef]) -> None:
        self.definition = definition
        self.schema = schema
        self.root = parse_filter(text)
        if self._type(self.root) != "bool":
            raise errors.bad_request("Выражение отбора должно иметь тип Edm.Boolean")

    # static typing: raises 400 for unknown properties and mismatched operands
    def _resolve(self, path: tuple[str, ...]) -> tuple[EntitySetDef, Prop, str | None]:
        definition = self.definition
        if len(path) == 1:
            return definition, _prop(definition, path[0]), None
        if len(path) == 2:
            ref = definition.props.get(f"{path[0]}_Key")
            if ref is None or ref.ref not in self.schema:
                if path[0] in definition.props:
                    raise errors.bad_request(f"Переход по свойству '{path[0]}' составного типа не поддерживается")
                raise errors.unknown_property(path[0], definition.name)
            target = self.schema[ref.ref]
            return target, _prop(target, path[1]), ref.name
        raise errors.bad_request("Переход более чем через одно свойство не поддерживается эмулятором")

    def _type(self, node) -> str:
        if isinstance(node, Literal):
            return node.kind
        if isinstance(node, Member):
            return _member_type(self._resolve(node.path)[1])
        if isinstance(node, Not):
            if self._type(node.operand) != "bool":
                raise errors.bad_request("Операнд 'not' должен иметь тип Edm.Boolean")
            return "bool"
        if isinstance(node, Binary):
            left, right = self._type(node.left), self._type(node.right)
            if node.op in ("and", "or"):
                if left != "bool" or right != "bool":
                    raise errors.bad_request(f"Операнды '{node.op}' должны иметь тип Edm.Boolean")
                return "bool"
            if "null" in (left, right):
                if node.op not in ("eq", "ne"):
                    raise errors.bad_request("Сравнение с null допустимо только операциями eq и ne")
                return "bool"
            if (left, right) not in _COMPATIBLE and (right, left) not in _COMPATIBLE:
                raise errors.bad_request(f"Несовместимые типы операндов операции '{node.op}': {left} и {right}")
            if node.op not in ("eq", "ne") and "composite" in (left, right):
                raise errors.bad_request(f"Операция '{node.op}' не применима к значению составного типа")
            return "bool"
        if isinstance(node, Call):
            return self._call_type(node)
        raise errors.bad_request("Неподдерживаемое выражение отбора")  # pragma: no cover

    def _call_type(self, node: Call) -> str:
        if node.name == "cast":
            if len(node.args) != 2 or not isinstance(node.args[1], Literal) or node.args[1].kind != "string":
                raise errors.bad_request("Функция cast ожидает значение и имя типа: cast(guid'…','Catalog_X')")
            if self._type(node.args[0]) not in ("guid", "null"):
                raise errors.bad_request("Функция cast поддерживается эмулятором только для guid-значений")
            return "cast"
        if node.name == "isof":
            if len(node.args) != 2 or not isinstance(node.args[0], Member) or not isinstance(node.args[1], Literal):
                raise errors.bad_request("Функция isof ожидает поле составного типа и имя типа")
            if self._type(node.args[0]) != "composite":
                raise errors.bad_request("Функция isof применима только к полю составного типа")
            return "bool"
        spec = _FUNCTIONS.get(node.name)
        if spec is None:
            raise errors.bad_request(f"Неизвестная функция '{node.name}'")
        params, result = spec
        if len(node.args) != len(params):
            raise errors.bad_request(f"Неверное число параметров функции '{node.name}'")
        for arg, expected in zip(node.args, params):
            actual = self._type(arg)
            if not (actual == expected or (expected == "string" and actual == "composite")):
                raise errors.bad_request(f"Неверный тип параметра функции '{node.name}': {actual}")
        return result

    # evaluation
    def matches(self, entity: dict, resolve: Resolver) -> bool:
        return bool(self._eval(self.root, entity, resolve))

    def _member_value(self, node: Member, entity: dict, resolve: Resolver):
        target_def, prop, via = self._resolve(node.path)
        source = entity
        if via is not None:
            source = resolve(target_def.name, str(entity.get(via, EMPTY_GUID)).lower()) or {}
        value = source.get(prop.name, prop.default())
        kind = _member_type(prop)
        if kind == "datetime":
            return parse_datetime(value) if value else parse_datetime("0001-01-01T00:00:00")
        if kind == "number":
            return float(value) if value not in (None, "") else 0.0
        if kind in ("guid", "composite"):
            return ("composite", str(value).lower(), source.get(f"{prop.name}_Type")) if kind == "composite" else str(value).lower()
        return value

    def _eval(self, node, entity: dict, resolve: Resolver):
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Member):
            return self._member_value(node, entity, resolve)
        if isinstance(node, Not):
            return not self._eval(node.operand, entity, resolve)
        if isinstance(node, Binary):
            if node.op == "and":
                return self._eval(node.left, entity, resolve) and self._eval(node.right, entity, resolve)
            if node.op == "or":
                return self._eval(node.left, entity, resolve) or self._eval(node.right, entity, resolve)
            return _compare(node.op, self._eval(node.left, entity, resolve), self._eval(node.right, entity, resolve))
        if isinstance(node, Call):
            return self._eval_call(node, entity, resolve)
        raise errors.bad_request("Неподдерживаемое выражение отбора")  # pragma: no cover

    def _eval_call(self, node: Call, entity: dict, resolve: Resolver):
        if node.name == "cast":
            value = self._eval(node.args[0], entity, resolve)
            return ("cast", value, _full_type(node.args[1].value))
        if node.name == "isof":
            value = self._eval(node.args[0], entity, resolve)
            return value[2] == _full_type(node.args[1].value)
        args = [self._eval(a, entity, resolve) for a in node.args]
        args = [a[1] if isinstance(a, tuple) else a for a in args]
        name = node.name
        if name == "substringof":
            return str(args[0]).casefold() in str(args[1]).casefold()
        if name == "startswith":
            return str(args[0]).casefold().startswith(str(args[1]).casefold())
        if name == "endswith":
            return str(args[0]).casefold().endswith(str(args[1]).casefold())
        if name == "tolower":
            return str(args[0]).lower()
        if name == "toupper":
            return str(args[0]).upper()
        if name == "trim":
            return str(args[0]).strip()
        if name == "length":
            return len(str(args[0]))
        return getattr(args[0], name)  # year month day hour minute second


def _full_type(name: str) -> str:
    return name if name.startswith("StandardODATA.") else f"StandardODATA.{name}"


def _prop(definition: EntitySetDef, name: str) -> Prop:
    prop = definition.props.get(name)
    if prop is None:
        raise errors.unknown_property(name, definition.name)
    return prop


def _normalise(value):
    if isinstance(value, str):
        return value.casefold()
    return value


def _compare(op: str, left, right) -> bool:
    if left is None or right is None:
        equal = left is None and right is None
        return equal if op == "eq" else not equal
    if isinstance(left, tuple) or isinstance(right, tuple):
        return _compare_composite(op, left, right)
    left, right = _normalise(left), _normalise(right)
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    except TypeError:
        raise errors.bad_request("Несравнимые значения в выражении отбора") from None


def _compare_composite(op: str, left, right) -> bool:
    if not isinstance(left, tuple) or left[0] != "composite":
        left, right = right, left
    value, value_type = left[1], left[2]
    if isinstance(right, tuple) and right[0] == "cast":
        equal = value == str(right[1]).lower() and value_type == right[2]
    elif isinstance(right, tuple):
        equal = value == right[1] and value_type == right[2]
    else:
        equal = value == str(right).lower()
    return equal if op == "eq" else not equal


# -- other options ------------------------------------------------------------------------------


def parse_orderby(text: str, definition: EntitySetDef) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise errors.bad_request(f"Синтаксическая ошибка в параметре $orderby: '{part.strip()}'")
        _prop(definition, words[0])
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    return keys


def _sort_key(prop: Prop, value):
    kind = _member_type(prop)
    if kind == "number":
        return float(value or 0)
    if kind == "bool":
        return bool(value)
    return str(value).casefold()


def apply_orderby(rows: list[dict], keys: list[tuple[str, bool]], definition: EntitySetDef) -> list[dict]:
    for name, desc in reversed(keys):
        prop = definition.props[name]
        rows = sorted(rows, key=lambda row: _sort_key(prop, row.get(name, prop.default())), reverse=desc)
    return rows


def parse_select(text: str, definition: EntitySetDef) -> list[str] | None:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or "*" in names:
        return None
    for name in names:
        head = name.split("/", 1)[0]
        if head not in definition.props and head not in definition.table_parts:
            nav = definition.props.get(f"{head}_Key")
            if nav is None or not nav.ref:
                raise errors.unknown_property(head, definition.name)
    return names


def parse_count(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    if not text.strip().isdigit():
        raise errors.bad_request(f"Неверное значение параметра {name}: '{text}'")
    return int(text)


def parse_key(text: str, definition: EntitySetDef) -> dict[str, Any]:
    """The inside of ``Set(…)``: ``guid'…'`` or ``A=guid'…',B='…'``; values as stored."""
    tokens = tokenize(text)
    if len(tokens) == 1:
        if len(definition.key) != 1:
            raise errors.bad_request("Для записи регистра нужно указать все поля ключа: (Поле=значение,…)")
        return {definition.key[0]: _key_value(_literal_or_error(tokens[0]))}
    key: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        if i + 2 >= len(tokens) or tokens[i].kind != "name" or tokens[i + 1].text != "=":
            raise errors.bad_request(f"Неверный формат ключа сущности: '({text})'")
        name = tokens[i].text
        if name not in definition.props and name not in ("Ref_Key", "LineNumber"):
            raise errors.unknown_property(name, definition.name)
        key[name] = _key_value(_literal_or_error(tokens[i + 2]))
        i += 3
        if i < len(tokens):
            if tokens[i].text != ",":
                raise errors.bad_request(f"Неверный формат ключа сущности: '({text})'")
            i += 1
    return key


def _literal_or_error(token: Token) -> Literal:
    if token.kind not in ("string", "number", "typed"):
        raise errors.bad_request(f"Неверное значение ключа сущности: '{token.text}'")
    return _literal(token)


def _key_value(literal: Literal):
    if literal.kind == "datetime":
        return format_datetime(literal.value)
    return literal.value


__all__ = [
    "Filter",
    "apply_orderby",
    "format_datetime",
    "is_guid",
    "parse_count",
    "parse_datetime",
    "parse_key",
    "parse_orderby",
    "parse_select",
]
