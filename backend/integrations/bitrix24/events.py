"""Events the portal posts to us (an outbound webhook): form-encoded PHP-style arrays that carry
the application token and only the changed record's id (FACTS gotcha 4: re-read the record).

Nothing is called back while the portal waits for our answer: a deal event becomes a
``deal_event`` outbox row, so the gate check runs in order with the deal's other rows and
survives a restart.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncSession

from backend.integrations.bitrix24.php_form import parse
from backend.integrations.outbox_rows import deal_event_row
from backend.outbox import enqueue

DEAL_EVENTS = {"ONCRMDEALADD", "ONCRMDEALUPDATE"}
MAX_BODY = 64 * 1024


class EventRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class DealEvent:
    event: str
    deal_id: str
    stamp: str


def read_event(body: bytes, application_token: str | None) -> DealEvent | None:
    """The deal event in a posted body; None for an event we do not act on. Raises
    :class:`EventRejected` for a forged, unconfigured or malformed post."""
    if not application_token:
        raise EventRejected(403, "Bitrix24 events are not accepted: VIZA_BITRIX24_APP_TOKEN is not set")
    if len(body) > MAX_BODY:
        raise EventRejected(413, "the event is larger than any Bitrix24 event")
    try:
        form = parse(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except (UnicodeDecodeError, ValueError) as error:
        raise EventRejected(400, f"not a form-encoded event: {error}") from error
    auth = form.get("auth")
    token = auth.get("application_token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), application_token.encode()):
        raise EventRejected(401, "auth[application_token] is missing or does not match")
    event = form.get("event")
    if not isinstance(event, str) or not event:
        raise EventRejected(400, "the field 'event' is missing")
    if event.upper() not in DEAL_EVENTS:
        return None
    data = form.get("data")
    fields = data.get("FIELDS") if isinstance(data, dict) else None
    deal_id = fields.get("ID") if isinstance(fields, dict) else None
    if not isinstance(deal_id, str) or not deal_id.isdigit():
        raise EventRejected(400, "data[FIELDS][ID] must be the deal's numeric id")
    # Two changes of a deal within one second post identical bodies, so a body is not an identity:
    # every post is checked (the check reads the deal as it is then, so a repeat costs one read).
    stamp = f"{form.get('ts') or ''}:{uuid.uuid4().hex}"
    return DealEvent(event.upper(), deal_id, stamp)


async def accept_event(session: AsyncSession, event: DealEvent) -> bool:
    row = deal_event_row(event.deal_id, event.event, event.stamp)
    return await enqueue(session, row.topic, row.dedup_key, row.payload, ordering_key=row.ordering_key)
