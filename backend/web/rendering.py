"""Pages from Jinja2 templates: autoescaped, with the viewer's words, money and times."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from backend.money import format_money
from backend.web.context import Page
from backend.web.sessions import COOKIE

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["query_string"] = query_string
    return env


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """The page's filters as a query string, with some changed (None drops a parameter)."""
    merged = {**params, **changes}
    pairs: list[tuple[str, Any]] = []
    for key, value in merged.items():
        if value is None or value == "" or value == []:
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            pairs.append((key, item))
    return urlencode(pairs)


def duration_text(page: Page, seconds: float | None) -> str:
    """3 d 4 h, 2 h 15 min, 5 min: two units at most, as people say it."""
    if seconds is None:
        return "—"
    minutes = max(int(seconds // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return page.t("duration.days_hours", d=days, h=hours)
    if hours:
        return page.t("duration.hours_minutes", h=hours, m=mins)
    return page.t("duration.minutes", m=mins)


def helpers(page: Page) -> dict[str, Any]:
    zone = ZoneInfo(page.actor.timezone if page.actor else "Europe/Moscow")

    def when(value: datetime | None, with_time: bool = True) -> str:
        if value is None:
            return "—"
        local = value.astimezone(zone)
        return local.strftime("%d.%m.%Y %H:%M") if with_time else local.strftime("%d.%m.%Y")

    def day(value: date | None) -> str:
        return value.strftime("%d.%m.%Y") if value else "—"

    def money(minor: int | None, currency: str = "RUB") -> str:
        return "—" if minor is None else format_money(minor, currency, page.lang)

    return {
        "t": page.t, "lang": page.lang, "actor": page.actor, "csrf": page.session.csrf, "when": when, "day": day,
        "money": money, "duration": lambda seconds: duration_text(page, seconds),
        "seconds": lambda delta: delta.total_seconds() if isinstance(delta, timedelta) else delta,
        "path": page.request.url.path, "is_admin": bool(page.actor and page.actor.is_admin),
        "is_accountant": bool(page.actor and page.actor.has("accountant", "admin")),
        # Analytics is for those who compare (services/analytics.check_access decides; heads of
        # departments are approvers); a plain initiator is not shown a link that would say no.
        "sees_analytics": bool(page.actor and (page.actor.is_admin or page.actor.has(
            "cfo", "director", "accountant", "approver"))),
    }


def render(page: Page, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    values = helpers(page)
    values["flash"] = page.take_flash()
    values.update(context)
    html = environment().get_template(template).render(**values)
    response = HTMLResponse(html, status_code=status)
    return with_session(page, response)


def redirect(page: Page, url: str) -> RedirectResponse:
    return with_session(page, RedirectResponse(url, status_code=303))


def with_session(page: Page, response: Response) -> Response:
    if page.session_changed:
        from backend.web.context import codec_of_app

        codec = codec_of_app(page.request.app)
        secure = page.settings.effective_web_url.startswith("https://")
        response.set_cookie(COOKIE, codec.dumps(page.session), max_age=codec.lifetime, httponly=True,
                            samesite="lax", secure=secure, path="/")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
