"""The fake Telegram against the real aiogram client: if aiogram parses it, the bot will."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from sandbox.telegram import FakeTelegram, RateLimits, WebhookRetry
from sandbox.telegram.entities import parse_formatted

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
PNG_3X2 = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", 3, 2) + b"\x08\x02\x00\x00\x00"


class LocalSession(AiohttpSession):
    """aiogram's session without the 250 ms sleep its close() spends waiting for TLS to shut."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(tg: FakeTelegram, token: str | None = None) -> Bot:
    return Bot(token or tg.token, session=LocalSession(api=TelegramAPIServer.from_base(tg.base_url)))


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data) for text, data in buttons]]
    )


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    client = make_bot(tg)
    yield client
    await client.session.close()


async def test_get_me_and_wire_errors(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "viza_test_bot")

    stranger = make_bot(tg, "123456:WRONG")
    with pytest.raises(TelegramUnauthorizedError):
        await stranger.get_me()
    await stranger.session.close()

    async with httpx.AsyncClient(base_url=tg.base_url) as http:
        wrong = await http.post("/bot1:nope/getMe")
        assert (wrong.status_code, wrong.json()) == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
        unknown = await http.post(f"/bot{tg.token}/sendHologram")
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert (await http.get(f"/bot{tg.token}/getme")).json()["result"]["id"] == 123456  # case-insensitive
        tg.user(1001, "Alice", started=True)
        as_json = await http.post(f"/bot{tg.token}/sendMessage", json={"chat_id": 1001, "text": "json"})
        as_form = await http.post(f"/bot{tg.token}/sendMessage", data={"chat_id": "1001", "text": "form"})
        assert as_json.json()["result"]["text"] == "json"
        assert as_form.json()["result"]["message_id"] == 2
    assert [m.text for m in tg.chat(1001).bot_messages] == ["json", "form"]
    assert tg.calls_to("sendMessage")[0] == {"chat_id": 1001, "text": "json"}


async def test_send_edit_and_delete(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(1001, "Alice", language_code="ru", username="alice")
    await alice.send("/start")
    sent = await bot.send_message(
        1001, "<b>Заявка</b> #7 &lt;срочно&gt;", parse_mode="HTML", reply_markup=keyboard(("Approve", "ap:7"))
    )
    assert sent.message_id == 2 and sent.from_user and sent.from_user.is_bot
    assert sent.text == "Заявка #7 <срочно>" and sent.html_text == "<b>Заявка</b> #7 &lt;срочно&gt;"
    record = tg.chat(1001).last_bot_message
    assert (
        record is not None
        and record.buttons == [[("Approve", "ap:7")]]
        and record.button_texts == ["Approve"]
    )
    assert record.raw_text == "<b>Заявка</b> #7 &lt;срочно&gt;"

    edited = await bot.edit_message_text(
        text="Approved", chat_id=1001, message_id=sent.message_id, reply_markup=keyboard(("Undo", "un:7"))
    )
    assert isinstance(edited, Message) and edited.edit_date is not None and edited.text == "Approved"
    with pytest.raises(TelegramBadRequest) as not_modified:
        await bot.edit_message_text(
            text="Approved", chat_id=1001, message_id=sent.message_id, reply_markup=keyboard(("Undo", "un:7"))
        )
    assert not_modified.value.message == NOT_MODIFIED
    await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id, reply_markup=None)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id)
    assert record.text == "Approved" and record.buttons == [] and len(record.history) == 2
    assert record.history[0].text == "Заявка #7 <срочно>"

    assert await bot.delete_message(1001, sent.message_id)
    assert record.deleted and tg.chat(1001).last_bot_message is None
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to edit not found"):
        await bot.edit_message_text(text="again", chat_id=1001, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message to delete not found"):
        await bot.delete_message(1001, sent.message_id)
    assert [m.message_id for m in tg.chat(1001).messages] == [1, 2]  # one id sequence per chat


async def test_validation_errors(tg: FakeTelegram, bot: Bot) -> None:
    tg.user(1001, "Alice", started=True)
    cases = [
        ({"chat_id": 2002, "text": "hi"}, "Bad Request: chat not found"),
        ({"chat_id": 1001, "text": "   "}, "Bad Request: message text is empty"),
        ({"chat_id": 1001, "text": "x" * 4097}, "Bad Request: message is too long"),
        ({"chat_id": 1001, "text": "a < b", "parse_mode": "HTML"},
         'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2'),
        ({"chat_id": 1001, "text": "<b>bold", "parse_mode": "HTML"},
         'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"'),
        ({"chat_id": 1001, "text": "Total: 1.5", "parse_mode": "MarkdownV2"},
         "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"),
        ({"chat_id": 1001, "text": "hi", "reply_markup": keyboard(("Long", "x" * 65))}, "Bad Request: BUTTON_DATA_INVALID"),
    ]  # fmt: skip
    for params, description in cases:
        with pytest.raises(TelegramBadRequest) as error:
            await bot.send_message(**params)  # type: ignore[arg-type]
        assert error.value.message == description
    assert await bot.send_message(1001, "x" * 4096, reply_markup=keyboard(("Ok", "я" * 32)))  # 64 bytes
    assert await bot.send_message(1001, "<b>x</b>" + "y" * 4095, parse_mode="HTML")  # length after parsing
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(1001, BufferedInputFile(b"1", "a.txt"), caption="c" * 1025)


def test_entity_parsing() -> None:
    html = parse_formatted(
        ' <a href="https://x.io">link</a> <pre><code class="language-py">1</code></pre>\n', "HTML"
    )
    assert html.text == "link 1"
    assert html.entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://x.io"},
        {"type": "pre", "offset": 5, "length": 1, "language": "py"},
    ]
    emoji = parse_formatted("😀<i>x</i>", "HTML")
    assert emoji.entities == [{"type": "italic", "offset": 2, "length": 1}]  # UTF-16 offsets
    md = parse_formatted(r"*bold* _it_ __u__ ||s|| [a](https://a.b) `c\`d` 1\.5", "MarkdownV2")
    assert md.text == "bold it u s a c`d 1.5"
    assert [e["type"] for e in md.entities] == ["bold", "italic", "underline", "spoiler", "text_link", "code"]


async def test_blocked_user_and_my_chat_member(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(1001, "Alice")
    await alice.send("/start")
    alice.block()
    with pytest.raises(TelegramForbiddenError) as error:
        await bot.send_message(1001, "hello?")
    assert error.value.message == "Forbidden: bot was blocked by the user"
    updates = await bot.get_updates()
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"
    alice.unblock()
    assert await bot.send_message(1001, "welcome back")


async def test_rate_limits_raise_retry_after() -> None:
    now = [0.0]
    limits = RateLimits(global_rate=30, global_burst=30, private_burst=2)
    async with FakeTelegram(limits=limits, clock=lambda: now[0]) as tg:
        bot = make_bot(tg)
        tg.user(1001, started=True)
        group = tg.group(-100500, "Finance")
        first = await bot.send_message(1001, "1")
        await bot.send_message(1001, "2")
        with pytest.raises(TelegramRetryAfter) as error:
            await bot.send_message(1001, "3")
        assert error.value.retry_after == 1
        assert error.value.message.endswith("Original description: Too Many Requests: retry after 1")
        # edits draw from the global bucket only, so the empty private bucket doesn't stop them
        await bot.edit_message_text(text="1 (edited)", chat_id=1001, message_id=first.message_id)
        now[0] += 1.0
        assert await bot.send_message(1001, "after a second")
        for i in range(20):
            await bot.send_message(group.id, f"g{i}")
        with pytest.raises(TelegramRetryAfter) as group_error:
            await bot.send_message(group.id, "one too many")
        assert group_error.value.retry_after == 3  # 20 per minute: a token every 3 s
        assert tg.too_many_requests_count == 2
        assert tg.too_many_requests_by_chat == {1001: 1, -100500: 1}
        assert tg.sent_count == 23
        await bot.session.close()


async def test_global_rate_limit() -> None:
    now = [0.0]
    async with FakeTelegram(limits=RateLimits(global_rate=2, global_burst=2), clock=lambda: now[0]) as tg:
        bot = make_bot(tg)
        for user_id in (1, 2, 3):
            tg.user(user_id, started=True)
        await bot.send_message(1, "a")
        await bot.send_message(2, "b")
        with pytest.raises(TelegramRetryAfter) as error:
            await bot.send_message(3, "c")
        assert error.value.retry_after == 1  # half a second, rounded up
        now[0] += 0.5
        assert await bot.send_message(3, "c")
        await bot.session.close()
    async with FakeTelegram(limits=RateLimits.off()) as tg:
        bot = make_bot(tg)
        tg.user(1, started=True)
        for i in range(50):
            await bot.send_message(1, str(i))
        assert tg.too_many_requests_count == 0 and tg.sent_count == 50
        await bot.session.close()


async def test_long_poll_wakes_on_user_message_and_offset_confirms(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(1001, "Alice")
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    assert not poll.done()
    started = time.monotonic()
    sent = await alice.send("/start abc")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 0.5
    assert [u.update_id for u in updates] == [sent.update_id]
    message = updates[0].message
    assert message is not None and message.text == "/start abc" and message.from_user is not None
    assert message.entities is not None and message.entities[0].type == "bot_command"
    assert message.chat.type == "private" and message.from_user.language_code is None
    assert len(tg.pending_updates) == 1  # delivered, not yet confirmed
    assert await bot.get_updates(offset=sent.update_id + 1, timeout=0) == []
    assert tg.pending_updates == []


async def test_second_poll_terminates_first_and_close_ends_polls() -> None:
    tg = await FakeTelegram().start()
    bot = make_bot(tg)
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=10))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)
    started = time.monotonic()
    await tg.close()
    assert await asyncio.wait_for(second, 2) == []
    assert time.monotonic() - started < 1.5
    await bot.session.close()


async def test_dispatcher_polling_answers_message_and_tap(tg: FakeTelegram, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            "Заявка <b>#7</b>", parse_mode="HTML", reply_markup=keyboard(("Approve", "ap:7"))
        )

    @router.callback_query(F.data.startswith("ap:"))
    async def approve(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("Approved ✅")
        await query.answer("Approved!", show_alert=True)

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    alice = tg.user(1001, "Alice", language_code="ru")
    try:
        update = await alice.send("/start")
        reply = await alice.wait_bot_message(since=update)
        assert reply.text == "Заявка #7" and reply.button_texts == ["Approve"]
        tap = await alice.tap(reply, text="Approve")
        assert await tap.wait() == "Approved!" and tap.show_alert
        edited = await alice.wait_bot_message(since=tap)
        assert edited is reply and edited.text == "Approved ✅" and edited.buttons == []
        await tg.idle()
        assert tg.pending_updates == []
        assert [m.content for m in alice.messages] == ["/start", "Approved ✅"]
        with pytest.raises(AssertionError, match="no callback button 'Approve'"):
            await alice.tap(reply, text="Approve")
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 3)
    answer = tg.callback_answers[tap.query_id]
    assert answer == ("Approved!", True)
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(tap.query_id, text="twice")


async def test_wait_failures_explain_themselves(tg: FakeTelegram) -> None:
    alice = tg.user(1001, "Alice")
    await alice.send("hello?")
    with pytest.raises(AssertionError, match=r"(?s)no bot message in chat 1001.*update 1 message chat 1001"):
        await alice.wait_bot_message(timeout=0.05)
    with pytest.raises(AssertionError, match="did not go idle"):
        await tg.idle(timeout=0.05)


async def test_bot_document_upload_get_file_and_download(tg: FakeTelegram, bot: Bot) -> None:
    tg.user(1001, "Alice", started=True)
    sent = await bot.send_document(
        1001, BufferedInputFile(b"%PDF-1.4 invoice", "invoice.pdf"), caption="Счёт"
    )
    assert sent.document is not None and sent.caption == "Счёт"
    assert (sent.document.file_name, sent.document.mime_type, sent.document.file_size) == (
        "invoice.pdf", "application/pdf", 16
    )  # fmt: skip
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None and file.file_size == 16
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.4 invoice"
    assert tg.download(sent.document.file_id) == b"%PDF-1.4 invoice"
    again = await bot.send_document(1001, sent.document.file_id)  # resend by file_id
    assert again.document is not None and again.document.file_id == sent.document.file_id
    photo = await bot.send_photo(1001, BufferedInputFile(PNG_3X2, "qr.png"))
    assert photo.photo is not None and (photo.photo[-1].width, photo.photo[-1].height) == (3, 2)
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_document(1001, "no-such-file-id")
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(1001, BufferedInputFile(b"not an image", "x.png"))
    record = tg.chat(1001).bot_messages[0]
    assert record.document is not None and record.document.file_name == "invoice.pdf"


async def test_user_uploads_reach_the_bot(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(1001, "Alice")
    await alice.send_document(b"%PDF-1.4 contract", filename="contract.pdf", caption="договор")
    await alice.send_photo(PNG_3X2, caption="scan")
    updates = await bot.get_updates()
    document_message, photo_message = (u.message for u in updates)
    assert document_message is not None and document_message.document is not None
    assert document_message.caption == "договор" and document_message.document.mime_type == "application/pdf"
    data = await bot.download(document_message.document.file_id)
    assert data is not None and data.read() == b"%PDF-1.4 contract"
    assert photo_message is not None and photo_message.photo is not None
    largest = photo_message.photo[-1]
    assert (largest.width, largest.height) == (3, 2)
    photo = await bot.download(largest)
    assert photo is not None and photo.read() == PNG_3X2


async def test_commands_per_scope_and_language(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(1001, "Alice", language_code="ru")
    bob = tg.user(1002, "Bob", language_code="en")
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    await bot.set_my_commands(
        [BotCommand(command="admin", description="Admin")], scope=BotCommandScopeChat(chat_id=1002)
    )
    assert tg.commands() == [{"command": "start", "description": "Start"}]
    assert tg.commands(language_code="ru") == [{"command": "start", "description": "Начать"}]
    assert tg.commands({"type": "chat", "chat_id": 1002}) == [{"command": "admin", "description": "Admin"}]
    assert [c.description for c in await bot.get_my_commands(language_code="ru")] == ["Начать"]
    assert alice.visible_commands()[0]["description"] == "Начать"
    assert bob.visible_commands()[0]["command"] == "admin"
    assert await bot.delete_my_commands(language_code="ru")
    assert tg.commands(language_code="ru") == [] and alice.visible_commands()[0]["description"] == "Start"
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_webhook_delivery_secret_retry_and_reply() -> None:
    router = Router()

    @router.message(F.text == "ping")
    async def ping(message: Message) -> object:
        return message.answer("pong")  # answered inside the webhook response

    dp = Dispatcher()
    dp.include_router(router)
    statuses_to_fail = [500]

    @web.middleware
    async def flaky(request: web.Request, handler: object) -> web.StreamResponse:
        if statuses_to_fail:
            return web.Response(status=statuses_to_fail.pop())
        return await handler(request)  # type: ignore[operator]

    async with FakeTelegram(webhook_retry=WebhookRetry(first_delay=0.01, max_delay=0.05)) as tg:
        bot = make_bot(tg)
        app = web.Application(middlewares=[flaky])
        SimpleRequestHandler(dp, bot, secret_token="s3cret-token", handle_in_background=False).register(
            app, "/hook"
        )
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
                await bot.set_webhook(f"http://{host}:{port}/hook", secret_token="not allowed!")
            assert await bot.set_webhook(f"http://{host}:{port}/hook", secret_token="s3cret-token")
            with pytest.raises(
                TelegramConflictError, match="can't use getUpdates method while webhook is active"
            ):
                await bot.get_updates()
            alice = tg.user(1001, "Alice")
            update = await alice.send("ping")
            reply = await alice.wait_bot_message(since=update)
            assert reply.text == "pong"
            assert [(d.update_id, d.status) for d in tg.deliveries] == [
                (update.update_id, 500),
                (update.update_id, 200),
            ]
            info = await bot.get_webhook_info()
            assert info.url.endswith("/hook") and info.pending_update_count == 0
            assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"

            await bot.set_webhook(f"http://{host}:{port}/hook", secret_token="wrong-secret")
            await alice.send("ping")
            await tg.wait_for(lambda: any(d.status == 401 for d in tg.deliveries))
            assert await bot.delete_webhook(drop_pending_updates=True)
            assert tg.pending_updates == [] and tg.webhook is None
            assert await bot.get_updates() == []
        finally:
            await runner.cleanup()
            await bot.session.close()


async def test_groups_replies_and_user_edits(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(1001, "Alice")
    group = tg.group(-100777, "Finance")
    sent = await alice.send("/report@viza_test_bot", chat=group)
    assert sent.message is not None
    reply = await bot.send_message(group.id, "ok", reply_to_message_id=sent.message.message_id)
    assert reply.chat.type == "supergroup" and reply.chat.title == "Finance"
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "/report@viza_test_bot"
    assert (await alice.wait_bot_message(since=sent)).text == "ok"  # since= works in any chat
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(group.id, "?", reply_to_message_id=999)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(alice.id, "she never wrote to the bot in private")
    assert await bot.send_chat_action(group.id, "typing")
    await alice.edit(sent.message, "/report")
    edited = (await bot.get_updates())[-1].edited_message
    assert edited is not None and edited.text == "/report" and edited.edit_date is not None


# --- webhook delivery over parallel connections, redelivery ---------------------------------------


class HookServer:
    """A bare webhook endpoint on 127.0.0.1 that notes each POST and answers when ``gate`` opens
    (at once when it is open); ``fail`` maps an update_id to how many times to answer 500 first."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.arrivals: list[tuple[int, int]] = []  # (chat id, update_id) in arrival order
        self.bodies: list[dict] = []
        self.in_flight: dict[int, int] = {}  # chat id → POSTs of it being answered now
        self.most_per_chat = 0
        self.fail: dict[int, int] = {}
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat = body["message"]["chat"]["id"]
        self.arrivals.append((chat, body["update_id"]))
        self.bodies.append(body)
        self.in_flight[chat] = self.in_flight.get(chat, 0) + 1
        self.most_per_chat = max(self.most_per_chat, self.in_flight[chat])
        try:
            await asyncio.wait_for(self.gate.wait(), 10)
            if self.fail.get(body["update_id"], 0) > 0:
                self.fail[body["update_id"]] -= 1
                return web.Response(status=500)
            return web.json_response({"ok": True})
        finally:
            self.in_flight[chat] -= 1

    async def __aenter__(self) -> HookServer:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        return self

    async def __aexit__(self, *_: object) -> None:
        self.gate.set()
        assert self.runner is not None
        await self.runner.cleanup()


async def test_webhook_posts_chats_in_parallel_but_each_chat_in_order(tg: FakeTelegram, bot: Bot) -> None:
    async with HookServer() as hook:
        hook.gate.clear()
        assert await bot.set_webhook(hook.url, max_connections=3)
        assert (await bot.get_webhook_info()).max_connections == 3
        users = [tg.user(2001 + n, f"U{n}") for n in range(5)]
        sent: dict[int, list[int]] = {u.id: [] for u in users}
        for round_ in range(3):
            for user in users:
                sent[user.id].append((await user.send(f"message {round_}")).update_id)
        # Three POSTs at once (max_connections), from three different chats, each chat's first.
        await tg.wait_for(lambda: len(hook.arrivals) == 3 and tg.webhook_in_flight == 3)
        await asyncio.sleep(0.1)  # nothing more starts while the three wait for their answers
        assert len(hook.arrivals) == 3 and tg.webhook_in_flight == 3
        assert {chat for chat, _ in hook.arrivals} == {u.id for u in users[:3]}
        assert all(update_id == sent[chat][0] for chat, update_id in hook.arrivals)

        hook.gate.set()
        await tg.wait_for(lambda: not tg.pending_updates and tg.webhook_in_flight == 0)
        assert len(hook.arrivals) == 15 and hook.most_per_chat == 1
        assert tg.webhook_peak_in_flight == 3
        for user in users:  # every chat's updates arrived in the order they were sent
            assert [u for chat, u in hook.arrivals if chat == user.id] == sent[user.id]
        assert all(d.status == 200 for d in tg.deliveries)

        # Without max_connections Telegram's default applies: 40.
        assert await bot.set_webhook(hook.url)
        assert (await bot.get_webhook_info()).max_connections == 40


async def test_a_failing_update_holds_back_its_own_chat_only() -> None:
    async with FakeTelegram(webhook_retry=WebhookRetry(first_delay=0.05, max_delay=0.1)) as tg, \
            HookServer() as hook:
        client = make_bot(tg)
        try:
            alice, bob = tg.user(2101, "Alice"), tg.user(2102, "Bob")
            first = await alice.send("first")
            hook.fail[first.update_id] = 2  # answered 500 twice, then 200
            second = await alice.send("second")
            from_bob = await bob.send("hello")
            assert await client.set_webhook(hook.url)
            await tg.wait_for(lambda: not tg.pending_updates)
            order = [u for _, u in hook.arrivals]
            # Bob did not wait for Alice's retries; Alice's second waited for her first.
            assert order.index(from_bob.update_id) < order.index(first.update_id, 1)
            assert [u for chat, u in hook.arrivals if chat == alice.id] == [first.update_id] * 3 + [second.update_id]
            assert [(d.update_id, d.status, d.attempt) for d in tg.deliveries if d.update_id == first.update_id] == [
                (first.update_id, 500, 1), (first.update_id, 500, 2), (first.update_id, 200, 3)]
        finally:
            await client.session.close()


async def test_an_update_is_dropped_after_max_attempts_and_its_chat_goes_on() -> None:
    async with FakeTelegram(webhook_retry=WebhookRetry(first_delay=0.01, max_delay=0.01, max_attempts=3)) as tg, \
            HookServer() as hook:
        client = make_bot(tg)
        try:
            alice = tg.user(2201, "Alice")
            doomed = await alice.send("never answered well")
            hook.fail[doomed.update_id] = 100
            after = await alice.send("next")
            assert await client.set_webhook(hook.url)
            await tg.wait_for(lambda: not tg.pending_updates)
            assert [u for _, u in hook.arrivals] == [doomed.update_id] * 3 + [after.update_id]
        finally:
            await client.session.close()


def test_webhook_retry_patience() -> None:
    default = WebhookRetry()
    assert [default.delay(n) for n in (1, 2, 3, 4, 5)] == [0.05, 0.1, 0.2, 0.4, 0.5]
    assert 5 < default.patience < 10
    # Long enough to outlast a killed replica's ~10 s lock on a chat, many times over.
    patient = WebhookRetry(max_attempts=200, max_delay=1.0)
    assert patient.patience > 180 and patient.delay(1000) == 1.0


async def test_redeliver_sends_the_same_update_again(tg: FakeTelegram, bot: Bot) -> None:
    async with HookServer() as hook:
        assert await bot.set_webhook(hook.url, secret_token="s3cret")
        alice = tg.user(2301, "Alice")
        sent = await alice.send("/my")
        await tg.wait_for(lambda: not tg.pending_updates and len(hook.arrivals) == 1)
        again = tg.redeliver(sent.update_id)
        assert again.update_id == sent.update_id and again.seq > sent.seq and again.message is sent.message
        await tg.wait_for(lambda: not tg.pending_updates and len(hook.arrivals) == 2)
        assert hook.bodies[0] == hook.bodies[1] == sent.payload
        assert [u["update_id"] for u in tg.updates] == [sent.update_id]  # one update, delivered twice
        assert [(d.update_id, d.status) for d in tg.deliveries] == [(sent.update_id, 200)] * 2

        # Redelivered while the original is still pending (its POST hangs): both go, one after the other.
        hook.gate.clear()
        slow = await alice.send("slow")
        await tg.wait_for(lambda: len(hook.arrivals) == 3)
        tg.redeliver(slow.update_id)
        await asyncio.sleep(0.05)
        assert len(hook.arrivals) == 3 and len(tg.pending_updates) == 2  # same chat: the copy waits
        hook.gate.set()
        await tg.wait_for(lambda: not tg.pending_updates and len(hook.arrivals) == 4)
        assert [u for _, u in hook.arrivals[2:]] == [slow.update_id] * 2
        with pytest.raises(KeyError):
            tg.redeliver(999_999)


async def test_set_limits_replaces_flood_control(tg: FakeTelegram, bot: Bot) -> None:
    alice = tg.user(2401, "Alice", started=True)
    tg.set_limits(RateLimits(private_burst=1, private_rate=0.01))
    await bot.send_message(alice.id, "one")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(alice.id, "two")
    assert tg.too_many_requests_count == 1
    tg.set_limits(RateLimits.off())
    assert tg.too_many_requests_count == 0
    for n in range(5):
        await bot.send_message(alice.id, f"free {n}")
