"""A fake Telegram Bot API server for end-to-end tests of the bot (see ``driver``).

It speaks the real Bot API over HTTP on 127.0.0.1, so aiogram runs unmodified against
it: ``AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))``.
"""

from .driver import FakeTelegram
from .errors import ApiError
from .limits import RateLimits
from .records import (
    ApiCall,
    CallbackAnswer,
    ChatRecord,
    Delivery,
    FailedCall,
    MessageRecord,
    UserRecord,
)
from .user import FakeUser, SentUpdate, Tap
from .webhook import WebhookRetry

__all__ = [
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "ChatRecord",
    "Delivery",
    "FailedCall",
    "FakeTelegram",
    "FakeUser",
    "MessageRecord",
    "RateLimits",
    "SentUpdate",
    "Tap",
    "UserRecord",
    "WebhookRetry",
]
