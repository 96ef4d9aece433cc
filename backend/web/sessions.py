"""Web sessions: a signed cookie that says who is signed in, until when, and the CSRF token.

The cookie holds no data beyond ids; who the person is and what they may do is read from
the database on every request, so deactivating an employee or revoking a token ends their
session at once. The expiry is absolute (from sign-in), not renewed by activity.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "viza_session"
SALT = "viza.web.session"


@dataclass
class WebSession:
    employee_id: int | None = None
    token_id: int | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    signed_in_at: float = field(default_factory=time.time)
    language: str | None = None
    flash: list[list[str]] = field(default_factory=list)  # [kind, text] shown once on the next page

    @property
    def signed_in(self) -> bool:
        return self.employee_id is not None or self.token_id is not None


class SessionCodec:
    def __init__(self, key: str, lifetime_seconds: int) -> None:
        self._serializer = URLSafeSerializer(key, salt=SALT)
        self.lifetime = lifetime_seconds

    def dumps(self, session: WebSession) -> str:
        return self._serializer.dumps(asdict(session))

    def loads(self, cookie: str | None) -> WebSession | None:
        """The session in a cookie; None for a missing, forged, damaged or expired one."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie)
            session = WebSession(**data)
        except (BadSignature, TypeError, ValueError):
            return None
        if not isinstance(session.signed_in_at, (int, float)) or time.time() - session.signed_in_at > self.lifetime:
            return None
        return session
