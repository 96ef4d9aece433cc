"""Fake users: what they send the bot (updates) and what they see (their chat)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .entities import command_entities
from .records import (
    CallbackAnswer,
    CallbackQueryRecord,
    ChatRecord,
    MessageRecord,
    UserRecord,
    now_unix,
)

if TYPE_CHECKING:
    from .driver import FakeTelegram


@dataclass(frozen=True)
class SentUpdate:
    """An update a fake user caused; pass it as ``since=`` to wait for what follows it."""

    update_id: int
    seq: int
    payload: dict[str, Any] = field(repr=False)  # the Update exactly as the bot receives it
    message: MessageRecord | None = None


@dataclass(frozen=True)
class Tap(SentUpdate):
    """A callback_query update; ``await tap.wait()`` returns the answerCallbackQuery text."""

    query_id: str = ""
    tg: FakeTelegram | None = field(default=None, repr=False, compare=False)

    @property
    def answer(self) -> CallbackAnswer | None:
        return self.tg.callback_answers.get(self.query_id) if self.tg else None

    @property
    def show_alert(self) -> bool:
        return bool(self.answer and self.answer.show_alert)

    async def wait(self, timeout: float = 5.0) -> str | None:
        assert self.tg is not None
        answer: CallbackAnswer = await self.tg.wait_for(
            lambda: self.answer, timeout=timeout, message=f"callback query {self.query_id} was not answered"
        )
        return answer.text


class FakeUser:
    """A Telegram user talking to the bot; the private chat id equals the user id."""

    def __init__(self, tg: FakeTelegram, record: UserRecord, chat: ChatRecord) -> None:
        self.tg = tg
        self.record = record
        self.chat = chat

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def messages(self) -> list[MessageRecord]:
        return self.chat.messages

    @property
    def last_bot_message(self) -> MessageRecord | None:
        return self.chat.last_bot_message

    def __repr__(self) -> str:
        return f"<FakeUser {self.id} {self.record.full_name!r}>"

    # -- acting ------------------------------------------------------------------

    def _target(self, chat: ChatRecord | int | None) -> ChatRecord:
        target = self.chat if chat is None else chat if isinstance(chat, ChatRecord) else self.tg.chat(chat)
        if self.record.blocked and target is self.chat:
            raise AssertionError(f"{self!r} has blocked the bot; call unblock() first")
        target.known = True
        return target

    async def _post(self, chat: ChatRecord, kind: str, message: MessageRecord) -> SentUpdate:
        payload, entry = self.tg.state.push_update({kind: message.to_api()}, chat.id, message)
        if kind == "message":
            message.update_id = payload["update_id"]
        await asyncio.sleep(0)  # let a waiting long poll see it
        return SentUpdate(payload["update_id"], entry.seq, payload, message)

    async def send(
        self, text: str, *, chat: ChatRecord | int | None = None, reply_to: MessageRecord | None = None
    ) -> SentUpdate:
        """A text message; ``/commands`` get bot_command entities like a real client adds."""
        target = self._target(chat)
        message = self.tg.state.add_message(
            target, self.record, text=text, entities=command_entities(text), raw_text=text, reply_to=reply_to
        )
        return await self._post(target, "message", message)

    async def send_document(
        self,
        data: bytes,
        filename: str = "document.pdf",
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        chat: ChatRecord | int | None = None,
    ) -> SentUpdate:
        target = self._target(chat)
        record = self.tg.state.files.add(data, "document", file_name=filename, mime_type=mime_type)
        message = self.tg.state.add_message(
            target, self.record, document=record, caption=caption, raw_caption=caption
        )
        return await self._post(target, "message", message)

    async def send_photo(
        self, data: bytes, caption: str | None = None, *, chat: ChatRecord | int | None = None
    ) -> SentUpdate:
        target = self._target(chat)
        record = self.tg.state.files.add(data, "photo")
        message = self.tg.state.add_message(
            target, self.record, photo=record, caption=caption, raw_caption=caption
        )
        return await self._post(target, "message", message)

    async def edit(self, message: MessageRecord, text: str) -> SentUpdate:
        """Edit one of her own text messages (an ``edited_message`` update)."""
        assert message.sender is self.record and message.text is not None, f"{self!r} can't edit {message!r}"
        message.history.append(message.version())
        message.text, message.raw_text, message.entities = text, text, command_entities(text)
        message.edit_date = now_unix()
        return await self._post(message.chat, "edited_message", message)

    async def tap(
        self,
        message: MessageRecord | None = None,
        *,
        data: str | None = None,
        text: str | None = None,
        forged: bool = False,
    ) -> Tap:
        """Press an inline button of a bot message (default: the last one with buttons).

        Find it by ``text`` or ``data``; a button that isn't there fails the test, unless
        ``forged=True`` sends ``data`` anyway (a crafted or stale callback).
        """
        if message is None:
            with_buttons = [m for m in self.chat.bot_messages if m.buttons and not m.deleted]
            if not with_buttons:
                raise AssertionError(f"no bot message with buttons in {self!r}'s chat\n{self.tg.dump()}")
            message = with_buttons[-1]
        if not message.from_bot or message.deleted:
            raise AssertionError(f"{self!r} can't tap {message!r}")
        if message.chat is self.chat and self.record.blocked:
            raise AssertionError(f"{self!r} has blocked the bot; call unblock() first")
        if text is not None:
            button = message.find_button(text=text, data=data)
            if button is None or button[1] is None:
                raise AssertionError(
                    f"no callback button {text!r} on {message!r}; buttons: {message.buttons}"
                )
            data = button[1]
        elif data is None:
            raise AssertionError("tap() needs text= or data=")
        elif not forged and data not in message.button_data:
            raise AssertionError(f"no button with data {data!r} on {message!r}; buttons: {message.buttons}")
        state = self.tg.state
        query_id = state.new_query_id()
        state.callback_queries[query_id] = CallbackQueryRecord(query_id, self.record, message, data)
        body = {
            "callback_query": {
                "id": query_id,
                "from": self.record.to_api(),
                "message": message.to_api(),
                "chat_instance": str((message.chat.id * 2654435761) % 2**63),
                "data": data,
            }
        }
        payload, entry = state.push_update(body, message.chat.id, message)
        await asyncio.sleep(0)
        return Tap(payload["update_id"], entry.seq, payload, message, query_id=query_id, tg=self.tg)

    def block(self) -> None:
        """Block the bot: its messages to her now fail with 403 (and it gets my_chat_member)."""
        if not self.record.blocked:
            self.record.blocked = True
            self._member_update("member", "kicked")

    def unblock(self) -> None:
        if self.record.blocked:
            self.record.blocked = False
            self._member_update("kicked", "member")

    def _member_update(self, old: str, new: str) -> None:
        if not self.chat.known:
            return
        bot = self.tg.state.bot.to_api()

        def member(status: str) -> dict[str, Any]:
            return {"status": status, "user": bot, **({"until_date": 0} if status == "kicked" else {})}

        body = {
            "my_chat_member": {
                "chat": self.chat.to_api(),
                "from": self.record.to_api(),
                "date": now_unix(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            }
        }
        self.tg.state.push_update(body, self.chat.id, None)

    # -- waiting and looking -------------------------------------------------------

    async def wait_bot_message(
        self, timeout: float = 5.0, since: SentUpdate | MessageRecord | int | None = None
    ) -> MessageRecord:
        """The first bot message sent or edited in her private chat after ``since``.

        ``since`` defaults to the latest update in that chat, so ``await alice.send(...)``
        then ``await alice.wait_bot_message()`` gets the reply.  When ``since`` is an update
        she caused in a group, the group is watched instead.
        """
        chat_id = since.message.chat.id if isinstance(since, SentUpdate) and since.message else self.chat.id
        return await self.tg.wait_bot_message(chat_id, timeout=timeout, since=since)

    def visible_commands(self) -> list[dict[str, str]]:
        """The command menu her client would show in the private chat (scope and language fallback)."""
        state = self.tg.state
        for scope in (f"chat:{self.id}", "all_private_chats", "default"):
            for language in (self.record.language_code or "", ""):
                if (scope, language) in state.commands:
                    return list(state.commands[(scope, language)])
        return []
