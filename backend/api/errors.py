"""Errors as JSON a machine can read: a code, a message in the caller's language, the fields."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import DomainError
from backend.i18n import pick_language, translate

log = logging.getLogger(__name__)

STATUS = {"invalid": 422, "forbidden": 403, "not_found": 404, "conflict": 409, "unauthorized": 401}

PYDANTIC_CODES = {
    "missing": "field.required", "extra_forbidden": "field.unknown", "int_parsing": "field.integer",
    "int_type": "field.integer", "date_from_datetime_parsing": "field.date", "date_parsing": "field.date",
    "date_type": "field.date", "bool_parsing": "field.boolean", "bool_type": "field.boolean",
    "string_type": "field.string", "decimal_parsing": "amount.format", "json_invalid": "body.json",
    "string_too_long": "field.too_long", "string_too_short": "field.required", "greater_than": "field.range",
    "greater_than_equal": "field.range", "less_than_equal": "field.range", "literal_error": "field.choice",
    "enum": "field.choice", "list_type": "field.list", "dict_type": "field.object", "model_attributes_type": "body.json",
}


def _field_of(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def language_of(request: Request) -> str:
    """The caller's language: Accept-Language, else the saved language of whoever the token
    belongs to (known once authentication ran), else the default."""
    if request.headers.get("accept-language"):
        return pick_language(request.headers.get("accept-language"))
    return getattr(request.state, "language", None) or pick_language(None)


def _page_error(request: Request, status: int, code: str, message: str | None = None):
    """The web pages answer errors with a page; everything else gets JSON. None for JSON."""
    from backend.web import is_page
    from backend.web.errors import error_page

    return error_page(request, status, code, message) if is_page(request) else None


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        lang = language_of(request)
        if (page := _page_error(request, STATUS.get(exc.kind, 400), exc.code, exc.message(lang))) is not None:
            return await page
        headers = {"WWW-Authenticate": "Bearer"} if exc.kind == "unauthorized" else None
        return JSONResponse(exc.as_dict(lang), status_code=STATUS.get(exc.kind, 400), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = language_of(request)
        errors = []
        for item in exc.errors():
            code = PYDANTIC_CODES.get(item.get("type", ""), "field.invalid")
            field = _field_of(tuple(item.get("loc", ())))
            ctx = {k: str(v) for k, v in (item.get("ctx") or {}).items()}
            if "max_length" in ctx:  # pydantic's name for the limit the message calls {max}
                ctx.setdefault("max", ctx["max_length"])
            errors.append({"code": code, "field": field,
                           "message": translate(code, lang, field=field, detail=item.get("msg", ""), **ctx)})
        body = {"code": "validation_failed", "message": translate("validation_failed", lang, count=len(errors)),
                "errors": errors}
        if (page := _page_error(request, 422, "validation_failed", "; ".join(e["message"] for e in errors))) is not None:
            return await page
        return JSONResponse(body, status_code=422)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # A unique key raced past the service's own checks; the caller can look and retry.
        log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
        lang = language_of(request)
        if (page := _page_error(request, 409, "conflict.integrity", translate("conflict.integrity", lang))) is not None:
            return await page
        return JSONResponse({"code": "conflict.integrity", "message": translate("conflict.integrity", lang)},
                            status_code=409)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DBAPIError)
    @app.exception_handler(StatementError)
    async def database_refused(request: Request, exc: Exception) -> JSONResponse:
        # A number past 64 bits (an id like 10**30) reaches the driver before any row is read.
        cause = getattr(exc, "orig", None) or exc
        if isinstance(cause, OverflowError) or "out of int64 range" in str(cause) or "out of range" in str(cause):
            lang = language_of(request)
            if (page := _page_error(request, 422, "field.out_of_range", translate("field.out_of_range", lang))) is not None:
                return await page
            return JSONResponse({"code": "field.out_of_range",
                                 "message": translate("field.out_of_range", lang)}, status_code=422)
        return await unexpected_error(request, exc)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        lang = language_of(request)
        if (page := _page_error(request, 500, "internal_error", translate("internal_error", lang))) is not None:
            return await page
        return JSONResponse({"code": "internal_error", "message": translate("internal_error", lang)}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        lang = language_of(request)
        code = {404: "http.not_found", 405: "http.method_not_allowed"}.get(exc.status_code, "http.error")
        if (page := _page_error(request, exc.status_code, code, translate(code, lang, detail=str(exc.detail)))) is not None:
            return await page
        return JSONResponse({"code": code, "message": translate(code, lang, detail=str(exc.detail))},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))
