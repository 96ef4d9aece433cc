"""The bot's routers. Onboarding is open to anyone; every other router is for bound employees."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import accounting, bank_files, contracts, deals, decisions, lists, new_request, settings, start, vacation, web
from bot.middlewares import DomainErrors, MembersOnly


def build_router() -> Router:
    root = Router(name="viza")
    members = Router(name="members")
    for observer in (members.message, members.callback_query):
        observer.middleware(MembersOnly())
    for observer in (root.message, root.callback_query):
        observer.middleware(DomainErrors())
    # Commands first, so /my or /help work in the middle of a dialog without ending it.
    leaves = (start.commands, web.router, lists.router, vacation.router, settings.router, decisions.router, accounting.router, deals.router,
              contracts.router, bank_files.router, new_request.router, start.fallback)
    for leaf in (*leaves, start.onboarding):
        # The handler modules' routers are module-level; a second bot in the same process (tests,
        # benchmarks) attaches them again. aiogram refuses a second parent, so release the first.
        leaf._parent_router = None
    members.include_routers(*leaves)
    root.include_routers(start.onboarding, members)
    return root
