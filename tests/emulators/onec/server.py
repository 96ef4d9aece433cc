"""The HTTP side: one aiohttp route under ``/<base>/odata/standard.odata/`` that answers like the
1C web-server extension does — Basic auth, JSON or Atom, 1C's status codes and error bodies."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, unquote_plus

from aiohttp import web

from sandbox.local_server import LocalServer

from . import documents, errors, formats
from .errors import ODataError
from .metadata import EntitySetDef, TablePart, metadata_xml
from .query import (
    Filter,
    apply_orderby,
    is_guid,
    parse_count,
    parse_key,
    parse_orderby,
    parse_select,
)
from .state import Call

if TYPE_CHECKING:
    from .emulator import OneCEmulator

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json;odata=minimalmetadata;streaming=true;charset=utf-8"
ATOM_FEED = "application/atom+xml;type=feed;charset=utf-8"
ATOM_ENTRY = "application/atom+xml;type=entry;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"
WRITE_METHODS = ("PATCH", "PUT", "MERGE")

DOWN_PAGE = (
    "<html><head><title>503 Service Unavailable</title></head><body>"
    "<h1>Service Unavailable</h1>"
    "<p>Ошибка при выполнении операции с информационной базой: "
    "сервер 1С:Предприятия не обнаружен. Информационная база недоступна.</p>"
    "</body></html>"
)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    rel: str
    query: dict[str, str]
    plus_in: set[str]
    json: bool
    nometadata: bool
    root: str
    headers: Any
    raw: web.Request


def parse_query(raw: str, plus_as_space: bool) -> tuple[dict[str, str], set[str]]:
    """Decode the query string the way 1C does: ``%20`` is a space, a bare ``+`` is a plus."""
    query: dict[str, str] = {}
    plus_in: set[str] = set()
    for piece in raw.split("&") if raw else []:
        if not piece:
            continue
        name, _, value = piece.partition("=")
        key = unquote(name)
        if "+" in value and not plus_as_space:
            plus_in.add(key)
        query[key] = unquote_plus(value) if plus_as_space else unquote(value)
    return query, plus_in


def split_resource(rel: str) -> tuple[str, str | None, str | None]:
    """``Set(key)/Tail`` → (Set, key, Tail); key/tail are None when absent."""
    paren, slash = rel.find("("), rel.find("/")
    if paren == -1 or (slash != -1 and slash < paren):
        name, _, tail = rel.partition("/")
        return name, None, tail or None
    i, quoted = paren + 1, False
    while i < len(rel):
        if rel[i] == "'":
            quoted = not quoted
        elif rel[i] == ")" and not quoted:
            break
        i += 1
    rest = rel[i + 1 :]
    if i >= len(rel) or (rest and not rest.startswith("/")):
        raise errors.bad_request(f"Неверный формат адреса ресурса: '{rel}'")
    return rel[:paren], rel[paren + 1 : i], rest[1:] or None


class ODataServer(LocalServer):
    def __init__(self, emu: OneCEmulator) -> None:
        self.emu = emu
        self.internal_errors: list[BaseException] = []
        self.part_defs: dict[str, tuple[EntitySetDef, TablePart]] = {}
        for definition in emu.schema.values():
            for part in definition.table_parts.values():
                self.part_defs[part.set_name] = (
                    EntitySetDef(part.set_name, part.props, key=("Ref_Key", "LineNumber")),
                    part,
                )
        super().__init__(web.Application(client_max_size=16 * 1024 * 1024))
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    # -- entry point ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        emu = self.emu
        query, plus_in = parse_query(request.rel_url.raw_query_string, emu.plus_as_space)
        prefix = f"/{emu.base}/odata/standard.odata"
        path = request.path
        if path != prefix and not path.startswith(prefix + "/"):
            emu.calls.append(Call(request.method, path, query, 404))
            return web.Response(status=404, text="<html><body><h1>404 Not Found</h1></body></html>", content_type="text/html")
        rel = path[len(prefix) :].lstrip("/")
        wants_json, nometadata = self._wants_json(request, query)
        req = Request(
            request.method,
            rel,
            query,
            plus_in,
            wants_json,
            nometadata,
            f"http://{request.host}/{quote(emu.base)}/odata/standard.odata/",
            request.headers,
            request,
        )
        try:
            reply = await self._guarded(req)
        except ODataError as error:
            reply = self._error(error, wants_json)
        except Exception as exc:  # a bug in the emulator: answer like 1C does, keep it for the test
            logger.exception("1C emulator failed on %s %s", request.method, rel)
            self.internal_errors.append(exc)
            reply = self._error(
                errors.internal("Произошла внутренняя ошибка OData сервиса. "
                                "Дополнительные сведения можно найти в технологическом журнале."),
                wants_json,
            )
        emu.calls.append(Call(request.method, rel, query, reply.status))
        response = web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        if reply.content_type:
            response.headers["Content-Type"] = reply.content_type
        response.headers.setdefault("DataServiceVersion", "3.0;")
        return response

    @staticmethod
    def _wants_json(request: web.Request, query: dict[str, str]) -> tuple[bool, bool]:
        fmt = query.get("$format")
        if fmt is not None:
            lowered = fmt.lower()
            return lowered.startswith(("json", "application/json")), "nometadata" in lowered
        accept = request.headers.get("Accept", "").lower()
        return "application/json" in accept, "nometadata" in accept

    def _error(self, error: ODataError, wants_json: bool) -> Reply:
        if wants_json:
            return Reply(error.status, formats.dumps(error.to_json()), JSON_TYPE)
        return Reply(error.status, formats.error_xml(error), XML_TYPE)

    async def _guarded(self, req: Request) -> Reply:
        emu = self.emu
        if emu.down:
            return Reply(503, DOWN_PAGE.encode("utf-8"), "text/html; charset=utf-8")
        if not self._authorized(req.headers.get("Authorization", "")):
            return Reply(
                401,
                b"401 Unauthorized",
                "text/plain; charset=utf-8",
                {"WWW-Authenticate": 'Basic realm="1C:Enterprise"'},
            )
        fault = emu._take_fault()
        if fault is not None:
            raise ODataError(fault.status, fault.message, fault.code)
        fmt = req.query.get("$format")
        if fmt is not None and not fmt.lower().startswith(
            ("json", "application/json", "atom", "xml", "application/atom+xml", "application/xml")
        ):
            raise errors.bad_request(f"Неверное значение параметра $format: '{fmt}'")
        return await self._dispatch(req)

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.emu.username and password == self.emu.password

    # -- routing ----------------------------------------------------------------------------------

    async def _dispatch(self, req: Request) -> Reply:
        if req.rel == "":
            return self._service(req)
        if req.rel == "$metadata":
            if req.method != "GET":
                raise ODataError(405, "Метод не поддерживается для $metadata", "-1")
            return Reply(200, metadata_xml(self.emu.schema).encode("utf-8"), XML_TYPE)
        name, key, tail = split_resource(req.rel)
        definition = self.emu.schema.get(name)
        if definition is None:
            if name in self.part_defs:
                return self._table_part(req, *self.part_defs[name], key, tail)
            raise errors.unknown_entity_set(name)
        if key is None:
            if tail == "$count":
                if req.method != "GET":
                    raise ODataError(405, "Метод не поддерживается", "-1")
                rows = self._select_rows(req, definition, list(self.emu.store.entities[name].values()), paged=False)
                return Reply(200, str(len(rows)).encode(), "text/plain;charset=utf-8")
            if tail is not None:
                raise errors.bad_request(f"Неизвестный сегмент адреса: '{tail}'")
            if req.method == "GET":
                return self._list(req, definition)
            if req.method == "POST":
                return await self._create(req, definition)
            raise ODataError(405, f"Метод {req.method} не поддерживается для коллекции", "-1")
        entity = self._locate(definition, key)
        if tail in ("Post", "Unpost"):
            return self._posting(req, definition, entity, tail)
        if tail is not None:
            raise errors.bad_request(f"Обращение к сегменту '{tail}' не поддерживается эмулятором")
        if req.method == "GET":
            return self._entity_reply(req, definition, entity, 200)
        if req.method in WRITE_METHODS:
            return await self._update(req, definition, entity)
        if req.method == "DELETE":
            return self._delete(req, definition, entity)
        raise ODataError(405, f"Метод {req.method} не поддерживается", "-1")

    def _service(self, req: Request) -> Reply:
        names = list(self.emu.schema) + list(self.part_defs)
        if req.json:
            body = {"odata.metadata": f"{req.root}$metadata", "value": [{"name": n, "url": n} for n in names]}
            return Reply(200, formats.dumps(body), JSON_TYPE)
        return Reply(200, formats.atom_service(req.root, names), "application/atomsvc+xml;charset=utf-8")

    def _locate(self, definition: EntitySetDef, key_text: str) -> dict:
        key = parse_key(key_text, definition)
        if definition.key == ("Ref_Key",):
            ref = key.get("Ref_Key")
            if not is_guid(ref):
                raise errors.bad_request(f"Неверное значение ключа сущности: '({key_text})'. Ожидается guid'…'")
        elif set(key) != set(definition.key):
            raise errors.bad_request("Нужно указать все поля ключа записи: " + ", ".join(definition.key))
        entity = self.emu.store.get(definition.name, self.emu.store.record_key(definition, key))
        if entity is None:
            raise errors.not_found()
        return entity

    # -- reading ----------------------------------------------------------------------------------

    def _select_rows(self, req: Request, definition: EntitySetDef, rows: list[dict], *, paged: bool = True) -> list[dict]:
        text = req.query.get("$filter")
        if text is not None:
            if "$filter" in req.plus_in:
                raise ODataError(500, errors.PLUS_IN_QUERY, "-1")
            flt = Filter(text, definition, self.emu.schema)
            rows = [row for row in rows if flt.matches(row, self.emu.store.get)]
        orderby = req.query.get("$orderby")
        if orderby is not None:
            rows = apply_orderby(rows, parse_orderby(orderby, definition), definition)
        if paged:
            skip = parse_count("$skip", req.query.get("$skip")) or 0
            top = parse_count("$top", req.query.get("$top"))
            rows = rows[skip:] if top is None else rows[skip : skip + top]
        return rows

    def _inline_count(self, req: Request) -> bool:
        value = req.query.get("$inlinecount")
        if value is None or value == "none":
            return False
        if value != "allpages":
            raise errors.bad_request(f"Неверное значение параметра $inlinecount: '{value}'")
        return True

    def _list(self, req: Request, definition: EntitySetDef) -> Reply:
        select = parse_select(req.query["$select"], definition) if "$select" in req.query else None
        counted = self._inline_count(req)
        everything = list(self.emu.store.entities[definition.name].values())
        total = len(self._select_rows(req, definition, everything, paged=False)) if counted else None
        rows = self._select_rows(req, definition, everything)
        fields = [formats.entity_fields(definition, row, select=select, links=not req.nometadata) for row in rows]
        return self._collection_reply(req, definition.name, fields, total, [self._key_text(definition, r) for r in rows])

    def _collection_reply(self, req: Request, name: str, fields: list[dict], total: int | None, keys: list[str]) -> Reply:
        if req.json:
            body: dict = {}
            if not req.nometadata:
                body["odata.metadata"] = f"{req.root}$metadata#{name}"
            if total is not None:
                body["odata.count"] = str(total)
            body["value"] = fields
            return Reply(200, formats.dumps(body), JSON_TYPE)
        return Reply(200, formats.atom_feed(req.root, name, list(zip(keys, fields)), total), ATOM_FEED)

    @staticmethod
    def _key_text(definition: EntitySetDef, entity: dict) -> str:
        if definition.key == ("Ref_Key",):
            return f"(guid'{entity['Ref_Key']}')"
        parts = []
        for name in definition.key:
            value = entity.get(name, "")
            prop = definition.props.get(name)
            literal = f"guid'{value}'" if prop is not None and prop.edm == "Edm.Guid" else f"'{value}'"
            parts.append(f"{name}={literal}")
        return "(" + ",".join(parts) + ")"

    def _entity_reply(self, req: Request, definition: EntitySetDef, entity: dict, status: int, headers: dict | None = None) -> Reply:
        select = parse_select(req.query["$select"], definition) if "$select" in req.query else None
        fields = formats.entity_fields(definition, entity, select=select, links=not req.nometadata)
        if req.json:
            body = fields if req.nometadata else {"odata.metadata": f"{req.root}$metadata#{definition.name}/@Element", **fields}
            return Reply(status, formats.dumps(body), JSON_TYPE, headers or {})
        key = self._key_text(definition, entity)
        return Reply(status, formats.atom_entry(req.root, definition.name, key, fields), ATOM_ENTRY, headers or {})

    # -- writing ----------------------------------------------------------------------------------

    @staticmethod
    async def _body(req: Request) -> dict:
        raw = await req.raw.read()
        if not raw.strip():
            raise errors.bad_request("Пустое тело запроса")
        try:
            body = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise errors.bad_request("Ошибка разбора тела запроса: ожидается JSON") from None
        if not isinstance(body, dict):
            raise errors.bad_request("Тело запроса должно быть JSON-объектом")
        return body

    async def _create(self, req: Request, definition: EntitySetDef) -> Reply:
        body = await self._body(req)
        store = self.emu.store
        entity = store.create(definition, body)
        key = store.record_key(definition, entity)
        if definition.is_document and documents.parse_posting_mode(req.query) is not None:
            try:
                documents.post(store, definition, entity, forced_error=self.emu.posting_error)
            except ODataError:
                del store.entities[definition.name][key]  # the write and the posting are one transaction
                raise
            store.touch(definition.name, key)
        location = req.root + quote(f"{definition.name}{self._key_text(definition, entity)}", safe="()'=,_-")
        return self._entity_reply(req, definition, entity, 201, {"Location": location})

    def _check_version(self, req: Request, entity: dict) -> None:
        expected = req.headers.get("If-Match")
        if expected is None or expected.strip() == "*" or "DataVersion" not in entity:
            return
        tag = expected.strip()
        tag = tag.removeprefix("W/")
        if tag.strip('"') != entity["DataVersion"]:
            raise ODataError(412, "Версия объекта не совпадает с указанной в If-Match: объект изменен или удален другим пользователем", "-1")

    async def _update(self, req: Request, definition: EntitySetDef, entity: dict) -> Reply:
        self._check_version(req, entity)
        body = await self._body(req)
        if definition.is_document and entity.get("Posted"):
            changed = [
                k for k in body
                if k not in ("Posted", "DeletionMark", "DataVersion", "odata.metadata") and "@navigationLinkUrl" not in k
            ]
            if changed:
                raise errors.internal(
                    f'Не удалось записать "{documents.presentation(definition, entity)}"!\n'
                    "Документ проведен: для изменения реквизитов сначала отмените проведение (Unpost). "
                    f"Изменяемые свойства: {', '.join(changed)}"
                )
        self.emu.store.update(definition, entity, body)
        if definition.is_document and body.get("DeletionMark") is True:
            entity["Posted"] = False  # marking a posted document for deletion cancels its posting
        return self._entity_reply(req, definition, entity, 200)

    def _delete(self, req: Request, definition: EntitySetDef, entity: dict) -> Reply:
        self._check_version(req, entity)
        store = self.emu.store
        del store.entities[definition.name][store.record_key(definition, entity)]
        return Reply(204)

    def _posting(self, req: Request, definition: EntitySetDef, entity: dict, action: str) -> Reply:
        if req.method != "POST":
            raise ODataError(405, f"Операция {action} вызывается методом POST", "-1")
        if not definition.is_document:
            raise errors.bad_request(f"Операция {action} применима только к документам")
        store = self.emu.store
        if action == "Post":
            documents.parse_posting_mode(req.query)
            documents.post(store, definition, entity, forced_error=self.emu.posting_error)
        else:
            documents.unpost(definition, entity)
        store.touch(definition.name, store.record_key(definition, entity))
        return Reply(200)

    # -- table parts ------------------------------------------------------------------------------

    def _table_part(self, req: Request, definition: EntitySetDef, part: TablePart, key: str | None, tail: str | None) -> Reply:
        if req.method != "GET":
            verb = "Cоздание" if key is None else "Изменение"
            raise ODataError(400, f"{verb} строк табличной части напрямую не поддерживается", "13")
        if tail is not None:
            raise errors.bad_request(f"Неизвестный сегмент адреса: '{tail}'")
        rows = [
            formats.table_row_fields(part, row)
            for owner in self.emu.store.entities[part.owner].values()
            for row in owner.get(part.name, [])
        ]
        if key is not None:
            wanted = parse_key(key, definition)
            for row in rows:
                if all(str(row.get(k, "")).lower() == str(v).lower() for k, v in wanted.items()):
                    body = row if req.nometadata else {"odata.metadata": f"{req.root}$metadata#{part.set_name}/@Element", **row}
                    return Reply(200, formats.dumps(body), JSON_TYPE)
            raise errors.not_found()
        counted = self._inline_count(req)
        total = len(self._select_rows(req, definition, rows, paged=False)) if counted else None
        rows = self._select_rows(req, definition, rows)
        keys = [f"(Ref_Key=guid'{r['Ref_Key']}',LineNumber={r['LineNumber']})" for r in rows]
        return self._collection_reply(req, part.set_name, rows, total, keys)
