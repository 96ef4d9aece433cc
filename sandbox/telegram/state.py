"""Everything the fake Telegram knows, in one object shared by the methods and the driver."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

from . import errors
from .files import FileStore
from .limits import RateLimiter, RateLimits
from .records import (
    Activity,
    ApiCall,
    CallbackAnswer,
    CallbackQueryRecord,
    ChatRecord,
    Delivery,
    FailedCall,
    MessageRecord,
    UserRecord,
    WebhookConfig,
    now_unix,
)
from .updates import UpdateQueue

CommandKey = tuple[str, str]  # (scope key, language code or "")


def scope_key(scope: dict[str, Any] | str | None) -> str:
    """A BotCommandScope as a dictionary key: "default", "chat:42", "chat_member:42:7"…"""
    if scope is None:
        return "default"
    if isinstance(scope, str):
        return scope
    kind = str(scope.get("type", "default"))
    if kind in ("chat", "chat_administrators"):
        return f"{kind}:{scope.get('chat_id')}"
    if kind == "chat_member":
        return f"{kind}:{scope.get('chat_id')}:{scope.get('user_id')}"
    return kind


class State:
    """The whole fake world; methods and the test driver both work on it."""

    def __init__(self, token: str, bot: UserRecord, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.token = token
        self.bot = bot
        self.limiter = RateLimiter(limits, clock)
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.activity: list[Activity] = []
        self.activity_by_chat: dict[int, list[Activity]] = {}
        self._watchers: set[asyncio.Future[None]] = set()
        self._seq = itertools.count(1)
        self._query_ids = itertools.count(1)
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.commands: dict[CommandKey, list[dict[str, str]]] = {}
        self.settings: dict[tuple[str, str], str] = {}  # setMyName/Description…, per language
        self.webhook: WebhookConfig | None = None
        self.deliveries: list[Delivery] = []
        self.calls: list[ApiCall] = []
        self.failed_calls: list[FailedCall] = []
        self.sent_count = 0
        self.closing = False
        # For idle(): API calls (other than getUpdates) and webhook POSTs in progress,
        # and when the last one started or ended (time.monotonic).
        self.busy = 0
        self.last_activity = time.monotonic()
        self.poll_generation = 0  # bumped by each getUpdates; older long polls get 409

    # -- bookkeeping -----------------------------------------------------------

    def next_seq(self) -> int:
        return next(self._seq)

    def new_query_id(self) -> str:
        return f"{4_000_000_000_000_000 + next(self._query_ids) * 7919}"

    def touch(self) -> None:
        self.last_activity = time.monotonic()
        self.notify()

    def log(self, entry: Activity) -> None:
        self.activity.append(entry)
        if entry.chat_id is not None:
            self.activity_by_chat.setdefault(entry.chat_id, []).append(entry)
        self.notify()

    def notify(self) -> None:
        """Wake the driver's waits: something a test may be waiting for has changed."""
        for watcher in self._watchers:
            if not watcher.done():
                watcher.set_result(None)
        self._watchers.clear()

    async def changed(self, timeout: float) -> None:
        """Return on the next ``notify`` or after ``timeout`` seconds."""
        watcher: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._watchers.add(watcher)
        try:
            await asyncio.wait_for(asyncio.shield(watcher), timeout)
        except TimeoutError:
            pass
        finally:
            self._watchers.discard(watcher)

    # -- chats and messages ----------------------------------------------------

    def chat_for_bot(self, chat_id: int | str | None) -> ChatRecord:
        """The chat the bot wants to write to, or the error Telegram would give."""
        if chat_id is None or chat_id == "":
            raise errors.bad_request("chat_id is empty")
        chat = None
        if isinstance(chat_id, int):
            chat = self.chats.get(chat_id)
        elif chat_id.startswith("@"):
            chat = next((c for c in self.chats.values() if c.user and c.user.username == chat_id[1:]), None)
        if chat is None or not chat.known:
            raise errors.bad_request(errors.CHAT_NOT_FOUND)
        if chat.user is not None and chat.user.blocked:
            raise errors.forbidden(errors.BOT_BLOCKED)
        return chat

    def add_message(self, chat: ChatRecord, sender: UserRecord, **content: Any) -> MessageRecord:
        message = MessageRecord(
            chat=chat,
            message_id=chat.next_message_id(),
            sender=sender,
            date=now_unix(),
            seq=self.next_seq(),
            **content,
        )
        chat.messages.append(message)
        if sender.is_bot:
            self.log(Activity(message.seq, "sent", chat.id, message))
        return message

    def record_edit(self, message: MessageRecord) -> None:
        self.log(Activity(self.next_seq(), "edited", message.chat.id, message))

    def record_delete(self, message: MessageRecord) -> None:
        message.deleted = True
        self.log(Activity(self.next_seq(), "deleted", message.chat.id, message))

    def push_update(
        self, body: dict[str, Any], chat_id: int | None, message: MessageRecord | None
    ) -> tuple[dict[str, Any], Activity]:
        """Queue an update for the bot and note it in the activity log."""
        update = self.updates.push(body)
        entry = Activity(self.next_seq(), "update", chat_id, message, update["update_id"], next(iter(body)))
        self.log(entry)
        self.touch()
        return update, entry

    def require_message(self, chat: ChatRecord, message_id: int | None, missing: str) -> MessageRecord:
        message = chat.message(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise errors.bad_request(missing)
        return message
