"""Records of the fake world that tests inspect: users, chats with transcripts, messages,
and the logs (activity, API calls, callback answers, webhook deliveries).

Each chat-facing record renders itself as the Bot API object aiogram parses (``to_api``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from .files import FileRecord


def now_unix() -> int:
    return int(time.time())


@dataclass(eq=False)
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    blocked: bool = False  # this user blocked the bot

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                body[key] = value
        return body


Button = tuple[str, str | None]  # (text, callback_data); url and other buttons have None


@dataclass
class MessageVersion:
    """A message's content as it was before an edit."""

    text: str | None
    entities: list[dict[str, Any]]
    caption: str | None
    caption_entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    edit_date: int | None


@dataclass(eq=False)
class MessageRecord:
    """One message in a chat transcript, by a user or by the bot.

    ``text``/``caption`` are what the user sees (markup parsed away); ``raw_text`` and
    ``raw_caption`` are what the bot sent, e.g. with HTML tags.
    """

    chat: ChatRecord
    message_id: int
    sender: UserRecord
    date: int
    seq: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    raw_text: str | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    raw_caption: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: FileRecord | None = None
    photo: FileRecord | None = None
    reply_to: MessageRecord | None = None
    edit_date: int | None = None
    history: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    update_id: int | None = None  # the update that carried a user's message

    @property
    def from_bot(self) -> bool:
        return self.sender.is_bot

    @property
    def content(self) -> str | None:
        """The text, or the caption of a document or photo."""
        return self.text if self.text is not None else self.caption

    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def buttons(self) -> list[list[Button]]:
        """Inline keyboard rows as (text, callback_data); [] when there is none."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data")) for b in row] for row in rows]

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    @property
    def reply_keyboard(self) -> list[list[str]]:
        """Rows of a reply keyboard (``ReplyKeyboardMarkup``) as button texts; [] if none."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]

    @property
    def button_data(self) -> list[str]:
        return [data for row in self.buttons for _, data in row if data is not None]

    def find_button(self, *, text: str | None = None, data: str | None = None) -> Button | None:
        for row in self.buttons:
            for button in row:
                if (text is None or button[0] == text) and (data is None or button[1] == data):
                    return button
        return None

    def version(self) -> MessageVersion:
        return MessageVersion(
            self.text,
            list(self.entities),
            self.caption,
            list(self.caption_entities),
            self.reply_markup,
            self.edit_date,
        )

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            body["edit_date"] = self.edit_date
        if self.reply_to is not None and with_reply:
            body["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            body["text"] = self.text
            if self.entities:
                body["entities"] = self.entities
        if self.document is not None:
            body["document"] = self.document.document_api()
        if self.photo is not None:
            body["photo"] = self.photo.photo_api()
        if self.caption is not None:
            body["caption"] = self.caption
            if self.caption_entities:
                body["caption_entities"] = self.caption_entities
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            body["reply_markup"] = self.reply_markup  # only inline keyboards are echoed back
        return body

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else self.sender.first_name
        flags = "".join(
            [" deleted" if self.deleted else "", f" edited×{len(self.history)}" if self.history else ""]
        )
        files = " [document]" if self.document else " [photo]" if self.photo else ""
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        return f"<#{self.message_id} {who}{files}: {self.content!r}{buttons}{flags}>"


ChatType = Literal["private", "group", "supergroup"]


@dataclass(eq=False)
class ChatRecord:
    """A chat and its transcript (user and bot messages, in order)."""

    id: int
    type: ChatType
    user: UserRecord | None = None  # the other side of a private chat
    title: str | None = None
    known: bool = False  # the bot may write here (the user has started it / bot is a member)
    messages: list[MessageRecord] = field(default_factory=list)
    last_message_id: int = 0

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def to_api(self) -> dict[str, Any]:
        if self.user is not None:
            body: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name is not None:
                body["last_name"] = self.user.last_name
            if self.user.username is not None:
                body["username"] = self.user.username
            return body
        return {"id": self.id, "type": self.type, "title": self.title or str(self.id)}

    def message(self, message_id: int) -> MessageRecord | None:
        for message in reversed(self.messages):
            if message.message_id == message_id:
                return message
        return None

    @property
    def visible_messages(self) -> list[MessageRecord]:
        return [m for m in self.messages if not m.deleted]

    @property
    def bot_messages(self) -> list[MessageRecord]:
        return [m for m in self.messages if m.from_bot]

    @property
    def user_messages(self) -> list[MessageRecord]:
        return [m for m in self.messages if not m.from_bot]

    @property
    def last_bot_message(self) -> MessageRecord | None:
        bot_messages = [m for m in self.bot_messages if not m.deleted]
        return bot_messages[-1] if bot_messages else None

    @property
    def last_message(self) -> MessageRecord | None:
        return self.messages[-1] if self.messages else None

    def __repr__(self) -> str:
        lines = "\n".join(f"  {m!r}" for m in self.messages)
        return f"<chat {self.id} ({self.type})\n{lines}>"


ActivityKind = Literal["update", "sent", "edited", "deleted"]


class Activity(NamedTuple):
    """One thing that happened, in global order (``seq``), for ``since=`` waits and dumps."""

    seq: int
    kind: ActivityKind
    chat_id: int | None
    message: MessageRecord | None
    update_id: int | None = None
    update_type: str | None = None  # "message", "callback_query"… for updates


class ApiCall(NamedTuple):
    method: str
    params: dict[str, Any]


class FailedCall(NamedTuple):
    method: str
    params: dict[str, Any]
    error_code: int
    description: str


class CallbackAnswer(NamedTuple):
    text: str | None
    show_alert: bool


@dataclass(eq=False)
class CallbackQueryRecord:
    id: str
    user: UserRecord
    message: MessageRecord
    data: str | None
    answered: bool = False
    url: str | None = None  # answerCallbackQuery(url=...), for games and t.me/bot?start= links


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class Delivery(NamedTuple):
    """One webhook POST: ``status`` is None when the connection itself failed."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    attempt: int
