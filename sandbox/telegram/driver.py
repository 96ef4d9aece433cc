"""The test-side driver: start the fake, play users, inspect transcripts, wait for the bot.

async with FakeTelegram() as tg:
    bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
    alice = tg.user(1001, "Alice", language_code="ru")
    update = await alice.send("/start")
    reply = await alice.wait_bot_message(since=update)
"""

from __future__ import annotations

import bisect
import copy
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

from .files import FileRecord
from .limits import RateLimiter, RateLimits
from .records import (
    Activity,
    ApiCall,
    CallbackAnswer,
    ChatRecord,
    ChatType,
    Delivery,
    FailedCall,
    MessageRecord,
    UserRecord,
    WebhookConfig,
)
from .server import ApiServer
from .state import State, scope_key
from .user import FakeUser, SentUpdate
from .webhook import WebhookDeliverer, WebhookRetry

T = TypeVar("T")


class FakeTelegram:
    """A fake Telegram Bot API server on 127.0.0.1, plus handles to drive and inspect it."""

    def __init__(
        self,
        token: str = "123456:TEST",
        limits: RateLimits | None = None,
        *,
        bot_username: str = "viza_test_bot",
        bot_name: str = "Viza",
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        webhook_retry: WebhookRetry | None = None,
    ) -> None:
        bot = UserRecord(int(token.split(":", 1)[0]), bot_name, username=bot_username, is_bot=True)
        self.state = State(token, bot, limits or RateLimits(), clock)
        self._server = ApiServer(self.state)
        self._deliverer = WebhookDeliverer(self.state, webhook_retry or WebhookRetry(), self._server.execute)
        self._host, self._port = host, port
        self._users: dict[int, FakeUser] = {}
        self.base_url = ""

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> Self:
        self.base_url = await self._server.start(self._host, self._port)
        self._deliverer.start()
        return self

    async def close(self) -> None:
        """End long polls (they return at once), stop webhook delivery, stop the server."""
        self.state.closing = True
        self.state.updates.wake()
        await self._deliverer.stop()
        await self._server.stop()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        await self.close()
        if exc_type is None and self._server.internal_errors:
            raise AssertionError(f"the fake Telegram itself failed: {self._server.internal_errors!r}")

    # -- the world ---------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def bot(self) -> UserRecord:
        return self.state.bot

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        started: bool = False,
    ) -> FakeUser:
        """A user (the same object for the same id).  The bot can't write to her until she
        writes first ("chat not found"), unless ``started=True``."""
        existing = self._users.get(user_id)
        if existing is not None:
            existing.chat.known = existing.chat.known or started
            return existing
        assert user_id > 0, "user ids are positive"
        record = UserRecord(user_id, first_name or f"User{user_id}", last_name, username, language_code)
        chat = ChatRecord(user_id, "private", user=record, known=started)
        self.state.users[user_id] = record
        self.state.chats[user_id] = chat
        user = self._users[user_id] = FakeUser(self, record, chat)
        return user

    def group(self, chat_id: int, title: str = "Group", *, type: ChatType = "supergroup") -> ChatRecord:
        """A group the bot is a member of; users post there with ``send(..., chat=group)``."""
        assert chat_id < 0, "group ids are negative"
        chat = self.state.chats.get(chat_id)
        if chat is None:
            chat = self.state.chats[chat_id] = ChatRecord(chat_id, type, title=title, known=True)
        return chat

    def set_limits(self, limits: RateLimits) -> None:
        """Flood control from now on: fresh buckets, and the 429 counts start again from zero."""
        self.state.limiter = RateLimiter(limits, self.state.limiter.clock)

    def redeliver(self, update_id: int) -> SentUpdate:
        """Queue an update the bot already got once more, unchanged (same ``update_id``), as
        Telegram does when it did not get the bot's answer. For webhook mode (a long poll would
        drop it at once: its offset confirms every id below the last one it saw). Returns the
        update like ``FakeUser.send`` does, so ``since=`` waits for what follows the redelivery."""
        original = next((u for u in self.state.updates.history if u["update_id"] == update_id), None)
        if original is None:
            raise KeyError(f"no update {update_id} was ever queued")
        first = next((a for a in self.state.activity if a.kind == "update" and a.update_id == update_id), None)
        chat_id, message = (first.chat_id, first.message) if first is not None else (None, None)
        again = copy.deepcopy(original)
        self.state.updates.requeue(again)
        entry = Activity(self.state.next_seq(), "update", chat_id, message, update_id, next(iter(
            k for k in again if k != "update_id")))
        self.state.log(entry)
        self.state.touch()
        return SentUpdate(update_id, entry.seq, again, message)

    def chat(self, chat_id: int) -> ChatRecord:
        """The transcript of a chat (``.messages``, ``.bot_messages``, ``.last_bot_message``)."""
        try:
            return self.state.chats[chat_id]
        except KeyError:
            raise KeyError(f"no chat {chat_id}; create it with tg.user() or tg.group()") from None

    # -- inspection ----------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """Every Bot API call, in order, as (method, params) with params decoded."""
        return self.state.calls

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [call.params for call in self.state.calls if call.method.lower() == method.lower()]

    @property
    def failed_calls(self) -> list[FailedCall]:
        return self.state.failed_calls

    @property
    def updates(self) -> list[dict[str, Any]]:
        """Every update ever queued; ``pending_updates`` are those not yet confirmed."""
        return self.state.updates.history

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return self.state.updates.pending

    @property
    def callback_answers(self) -> dict[str, CallbackAnswer]:
        return self.state.callback_answers

    @property
    def deliveries(self) -> list[Delivery]:
        return self.state.deliveries

    @property
    def webhook(self) -> WebhookConfig | None:
        return self.state.webhook

    @property
    def webhook_in_flight(self) -> int:
        """Webhook POSTs waiting for the bot's answer right now."""
        return self._deliverer.in_flight

    @property
    def webhook_peak_in_flight(self) -> int:
        """The most webhook POSTs that were ever in flight at once."""
        return self._deliverer.peak_in_flight

    @property
    def sent_count(self) -> int:
        """Messages the bot sent successfully (sendMessage, sendDocument, sendPhoto)."""
        return self.state.sent_count

    @property
    def too_many_requests_count(self) -> int:
        return sum(self.state.limiter.too_many_requests.values())

    @property
    def too_many_requests_by_chat(self) -> dict[int, int]:
        return dict(self.state.limiter.too_many_requests)

    def file(self, file_id: str) -> FileRecord:
        record = self.state.files.get(file_id)
        if record is None:
            raise KeyError(f"no file {file_id!r}")
        return record

    def download(self, file_id: str) -> bytes:
        return self.file(file_id).data

    def commands(
        self, scope: str | dict[str, Any] = "default", language_code: str | None = None
    ) -> list[dict[str, str]]:
        """What setMyCommands stored for exactly this scope and language (no fallback)."""
        return list(self.state.commands.get((scope_key(scope), language_code or ""), []))

    def dump(self, last: int = 30) -> str:
        """Recent activity and API calls, for assertion messages."""
        lines = ["recent activity:"]
        for entry in self.state.activity[-last:]:
            where = f"chat {entry.chat_id}" if entry.chat_id is not None else ""
            if entry.kind == "update":
                lines.append(
                    f"  #{entry.seq} update {entry.update_id} {entry.update_type} {where}: {entry.message!r}"
                )
            else:
                lines.append(f"  #{entry.seq} bot {entry.kind} {where}: {entry.message!r}")
        lines.append("recent API calls:")
        lines += [
            f"  {call.method} {call.params}"
            for call in self.state.calls[-last:]
            if call.method != "getUpdates"
        ]
        if self.state.failed_calls:
            lines.append("failed API calls:")
            lines += [
                f"  {c.method} → {c.error_code} {c.description}" for c in self.state.failed_calls[-last:]
            ]
        lines.append(f"pending updates: {[u['update_id'] for u in self.state.updates.pending]}")
        return "\n".join(lines)

    # -- waiting -------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], T | None | Awaitable[T | None]],
        timeout: float = 5.0,
        *,
        interval: float = 0.02,
        message: str = "condition not met",
    ) -> T:
        """Re-check ``predicate`` whenever the fake's state changes (and at least every
        ``interval`` s, for conditions outside it) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{message} within {timeout}s\n{self.dump()}")
            await self.state.changed(min(interval, remaining))

    async def idle(self, quiet: float = 0.1, timeout: float = 5.0) -> None:
        """Wait until every update is confirmed (or acknowledged by the webhook) and the bot
        made no API call for ``quiet`` seconds.  Work a handler does without calling the
        API (database, HTTP elsewhere) for longer than ``quiet`` is invisible here."""
        state = self.state

        def settled() -> bool:
            return (
                not state.updates.pending
                and state.busy == 0
                and time.monotonic() - state.last_activity >= quiet
            )

        await self.wait_for(settled, timeout, message="the bot did not go idle")

    async def wait_bot_message(
        self, chat_id: int, timeout: float = 5.0, since: SentUpdate | MessageRecord | int | None = None
    ) -> MessageRecord:
        """The first bot message sent or edited in ``chat_id`` after ``since`` (see FakeUser)."""
        activity = self.state.activity_by_chat.setdefault(chat_id, [])
        if since is None:
            seq = next((a.seq for a in reversed(activity) if a.kind == "update"), 0)
        else:
            seq = since if isinstance(since, int) else since.seq

        def find() -> MessageRecord | None:
            start = bisect.bisect_right(activity, seq, key=lambda a: a.seq)
            for entry in activity[start:]:
                if entry.kind in ("sent", "edited"):
                    return entry.message
            return None

        return await self.wait_for(find, timeout, message=f"no bot message in chat {chat_id} after #{seq}")
