"""Telling admins in chat that a system refuses our access (once a day per system): the sync
waits until somebody fixes the webhook, the password or the rights."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from backend.db import Database, utcnow
from backend.notifications import queue_notice
from backend.services.transactions import in_transaction
from backend.workflows.routing import Directory


def access_alert(db: Database, system: str) -> Callable[[str], Awaitable[None]]:
    async def tell(message: str) -> None:
        async def work(session) -> None:
            day = utcnow().date().isoformat()
            for admin in await Directory(session).with_role("admin"):
                await queue_notice(session, admin.id, "integration_unavailable",
                                   dedup_key=f"{system}:access:{day}:{admin.id}",
                                   data={"system": system, "error": message[:500]})

        await in_transaction(db, work)

    return tell
