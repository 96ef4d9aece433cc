"""user.get and user.current (user/user-get.md): a few seeded employees."""

from __future__ import annotations

from typing import Any

from ..filters import matches, page, sort_records
from ..params import as_start, get_ci
from .base import Context, Page, rest_method

_NOT_FILTERS = {"SORT", "ORDER", "FILTER", "ADMIN_MODE", "SELECT", "IMAGE_RESIZE", "START", "AUTH"}


@rest_method("user.get", "user")
def user_get(ctx: Context, params: dict[str, Any]) -> Page:
    # filter conditions come either in FILTER or as plain top-level parameters (ID=1)
    flt = dict(get_ci(params, "filter") or {})
    flt.update({k: v for k, v in params.items() if k.upper() not in _NOT_FILTERS})

    def resolve(user: dict[str, Any], name: str) -> Any:
        return user.get(name.upper())

    found = [u for u in ctx.state.users.values() if matches(u, flt, resolve, ctx.state.tz)]
    sort = str(get_ci(params, "sort") or "ID")
    found = sort_records(found, {sort: str(get_ci(params, "order") or "ASC")}, resolve)
    chunk, total, following = page(found, as_start(get_ci(params, "start")))
    return Page([dict(u) for u in chunk], total, following)


@rest_method("user.current", "user")
def user_current(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return dict(ctx.state.users[ctx.user_id])
