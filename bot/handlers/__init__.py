"""The bot's routers. Onboarding is open to anyone; every other router is for bound employees."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import accounting, decisions, lists, new_request, start
from bot.middlewares import DomainErrors, MembersOnly


def build_router() -> Router:
    root = Router(name="viza")
    members = Router(name="members")
    for observer in (members.message, members.callback_query):
        observer.middleware(MembersOnly())
    for observer in (root.message, root.callback_query):
        observer.middleware(DomainErrors())
    # Commands first, so /my or /help work in the middle of a dialog without ending it.
    members.include_routers(start.commands, lists.router, decisions.router, accounting.router,
                            new_request.router, start.fallback)
    root.include_routers(start.onboarding, members)
    return root
