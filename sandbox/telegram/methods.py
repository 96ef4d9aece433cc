"""Bot API methods: one coroutine per method, working on :class:`State`.

Each takes the parsed :class:`Params` and returns the ``result`` value (or
:class:`Described` when Telegram adds a ``description`` to a success), or raises
:class:`ApiError` with Telegram's own wording.  ``METHODS`` maps lower-cased names
(Telegram matches method names case-insensitively) to them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from . import errors
from .entities import FormattedText, parse_formatted
from .files import MAX_DOWNLOAD_SIZE, FileKind, FileRecord
from .params import Params, Upload
from .records import CallbackAnswer, ChatRecord, MessageRecord, WebhookConfig, now_unix
from .state import State, scope_key

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_UPLOAD = 50 * 1024 * 1024
MAX_POLL_TIMEOUT = 50.0
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}  # fmt: skip
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


class Described(NamedTuple):
    """A successful result that Telegram accompanies with a ``description``."""

    result: Any
    description: str


Method = Callable[[State, Params], Awaitable[Any]]
METHODS: dict[str, Method] = {}


def method(name: str) -> Callable[[Method], Method]:
    def register(function: Method) -> Method:
        METHODS[name.lower()] = function
        return function

    return register


# ------------------------------------------------------------------ helpers


def _formatted(
    p: Params, key: str, mode_key: str, entities_key: str
) -> tuple[str | None, FormattedText | None]:
    raw = p.get_str(key)
    if raw is None:
        return None, None
    entities = p.get_json(entities_key)
    return raw, parse_formatted(raw, p.get_str(mode_key), entities if isinstance(entities, list) else None)


def _text(p: Params) -> tuple[str, FormattedText]:
    raw, formatted = _formatted(p, "text", "parse_mode", "entities")
    if raw is None or formatted is None or not formatted.text:
        raise errors.bad_request(errors.TEXT_EMPTY)
    if len(formatted.text) > MAX_TEXT:
        raise errors.bad_request(errors.TEXT_TOO_LONG)
    return raw, formatted


def _caption(p: Params) -> tuple[str | None, FormattedText | None]:
    raw, formatted = _formatted(p, "caption", "parse_mode", "caption_entities")
    if formatted is not None and len(formatted.text) > MAX_CAPTION:
        raise errors.bad_request(errors.CAPTION_TOO_LONG)
    if formatted is not None and not formatted.text:
        return None, None
    return raw, formatted


def _reply_markup(p: Params) -> dict[str, Any] | None:
    """Validated reply_markup; an empty inline keyboard means "no keyboard"."""
    markup = p.get_json("reply_markup", errors.BAD_MARKUP_JSON)
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise errors.bad_request(errors.BAD_MARKUP_JSON)
    if "inline_keyboard" not in markup:
        return markup  # reply keyboards, remove_keyboard, force_reply: stored as sent
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise errors.bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            _check_button(button)
    return markup if any(rows) else None


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise errors.bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not any(key in button for key in _BUTTON_ACTIONS):
        raise errors.bad_request(errors.TEXT_BUTTONS_UNALLOWED)
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
            raise errors.bad_request(errors.BUTTON_DATA_INVALID)
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+$", url):
            raise errors.bad_request(errors.BUTTON_URL_INVALID)


def _reply_to(state: State, p: Params, chat: ChatRecord) -> MessageRecord | None:
    parameters = p.get_json("reply_parameters")
    allow_missing = p.get_bool("allow_sending_without_reply")
    if isinstance(parameters, dict):
        message_id = parameters.get("message_id")
        allow_missing = bool(parameters.get("allow_sending_without_reply", allow_missing))
    else:
        message_id = p.get_int("reply_to_message_id")
    if message_id is None:
        return None
    target = chat.message(int(message_id))
    if target is None or target.deleted:
        if allow_missing:
            return None
        raise errors.bad_request(errors.MESSAGE_TO_REPLY_NOT_FOUND)
    return target


def _sent(state: State, chat: ChatRecord, **content: Any) -> dict[str, Any]:
    """Count the message against the flood limits, then put it in the chat."""
    state.limiter.acquire(chat.id)
    message = state.add_message(chat, state.bot, **content)
    state.sent_count += 1
    return message.to_api()


def _bot_message(state: State, p: Params, missing: str) -> MessageRecord:
    if p.get_str("inline_message_id"):
        raise errors.bad_request(missing)  # inline messages are not simulated
    chat = state.chat_for_bot(p.chat_id())
    message = state.require_message(chat, p.get_int("message_id"), missing)
    if not message.from_bot:
        raise errors.bad_request(errors.MESSAGE_CANT_BE_EDITED)
    return message


def _apply_edit(
    state: State, message: MessageRecord, changes: dict[str, Any], source: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Edit what the user sees (``changes``); ``source`` (raw markup) is not compared."""
    if all(getattr(message, key) == value for key, value in changes.items()):
        raise errors.bad_request(errors.NOT_MODIFIED)
    state.limiter.acquire(message.chat.id, edit=True)
    message.history.append(message.version())
    for key, value in {**changes, **(source or {})}.items():
        setattr(message, key, value)
    message.edit_date = now_unix()
    state.record_edit(message)
    return message.to_api()


def _file(state: State, p: Params, key: str, kind: FileKind) -> FileRecord:
    source = p.get_file(key)
    if source is None or source == "":
        raise errors.bad_request(f"there is no {key} in the request")
    if isinstance(source, Upload):
        if not source.data:
            raise errors.bad_request("file must be non-empty")
        if len(source.data) > MAX_UPLOAD:
            raise errors.ApiError(413, "Request Entity Too Large")
        if kind == "photo" and not source.data.startswith(_IMAGE_MAGIC) and source.data[8:12] != b"WEBP":
            raise errors.bad_request("IMAGE_PROCESS_FAILED")
        mime = source.content_type if source.content_type != "application/octet-stream" else None
        return state.files.add(source.data, kind, file_name=source.filename, mime_type=mime, from_bot=True)
    record = state.files.get(source)  # a file_id; URLs are not fetched by the fake
    if record is None:
        raise errors.bad_request(errors.WRONG_FILE_ID)
    if record.kind != kind:
        raise errors.bad_request("type of file mismatch")
    return record


def _commands_key(p: Params) -> tuple[str, str]:
    scope = p.get_json("scope")
    return scope_key(scope if isinstance(scope, dict) else None), p.get_str("language_code") or ""


# --------------------------------------------------------------- bot info


@method("getMe")
async def get_me(state: State, p: Params) -> dict[str, Any]:
    return {
        **state.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("setMyCommands")
async def set_my_commands(state: State, p: Params) -> bool:
    commands = p.get_json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise errors.bad_request("can't parse commands JSON object")
    stored: list[dict[str, str]] = []
    for item in commands:
        command = item.get("command") if isinstance(item, dict) else None
        description = item.get("description") if isinstance(item, dict) else None
        if not isinstance(command, str) or not _COMMAND_RE.fullmatch(command.removeprefix("/")):
            raise errors.bad_request(errors.BOT_COMMAND_INVALID)
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise errors.bad_request(errors.BOT_COMMAND_DESCRIPTION_INVALID)
        stored.append({"command": command.removeprefix("/"), "description": description})
    key = _commands_key(p)
    if stored:
        state.commands[key] = stored
    else:
        state.commands.pop(key, None)
    return True


@method("getMyCommands")
async def get_my_commands(state: State, p: Params) -> list[dict[str, str]]:
    return list(state.commands.get(_commands_key(p), []))


@method("deleteMyCommands")
async def delete_my_commands(state: State, p: Params) -> bool:
    state.commands.pop(_commands_key(p), None)
    return True


# ----------------------------------------------------------------- updates


@method("getUpdates")
async def get_updates(state: State, p: Params) -> list[dict[str, Any]]:
    """Long polling: answer at once if updates are waiting, else when one arrives or at timeout.

    A newer getUpdates call ends an older one with 409, as Telegram does when two bot
    instances poll; closing the fake ends every poll with what it has.
    """
    if state.webhook is not None:
        raise errors.conflict(errors.WEBHOOK_ACTIVE)
    limit = min(max(p.get_int("limit") or 100, 1), 100)
    timeout = min(max(float(p.get_int("timeout") or 0), 0.0), MAX_POLL_TIMEOUT)
    unconfirmed = len(state.updates.pending)
    state.updates.confirm(p.get_int("offset"))
    if len(state.updates.pending) != unconfirmed:
        state.touch()  # confirming counts as bot activity for idle()
    state.poll_generation += 1
    generation = state.poll_generation
    state.updates.wake()  # an older poll notices it was superseded
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ready = state.updates.pending[:limit]
        if ready or state.closing:
            if ready:
                state.touch()
            return ready
        remaining = deadline - loop.time()
        if remaining <= 0:
            return []
        await state.updates.wait(remaining)
        if state.poll_generation != generation:
            raise errors.conflict(errors.TERMINATED_BY_OTHER_POLL)
        if state.webhook is not None:
            raise errors.conflict(errors.WEBHOOK_ACTIVE)


@method("setWebhook")
async def set_webhook(state: State, p: Params) -> Described:
    url = p.get_str("url") or ""
    if not url:
        state.webhook = None
        return Described(True, "Webhook was deleted")
    if not re.match(r"https?://[^/\s]+", url):
        raise errors.bad_request(errors.BAD_WEBHOOK_URL)  # plain http is allowed here, for 127.0.0.1
    secret = p.get_str("secret_token") or None
    if secret is not None and not _SECRET_RE.fullmatch(secret):
        raise errors.bad_request(errors.SECRET_TOKEN_INVALID)
    already = state.webhook is not None and state.webhook.url == url
    if p.get_bool("drop_pending_updates"):
        state.updates.clear()
    allowed = p.get_json("allowed_updates")
    state.webhook = WebhookConfig(
        url=url,
        secret_token=secret,
        max_connections=p.get_int("max_connections") or 40,
        allowed_updates=allowed if isinstance(allowed, list) else None,
        ip_address=p.get_str("ip_address"),
    )
    state.updates.wake()  # the deliverer starts; pending long polls get 409
    return Described(True, "Webhook is already set" if already else "Webhook was set")


@method("deleteWebhook")
async def delete_webhook(state: State, p: Params) -> Described:
    was_set = state.webhook is not None
    state.webhook = None
    if p.get_bool("drop_pending_updates"):
        state.updates.clear()
    state.updates.wake()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


@method("getWebhookInfo")
async def get_webhook_info(state: State, p: Params) -> dict[str, Any]:
    info: dict[str, Any] = {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates.pending),
    }
    hook = state.webhook
    if hook is not None:
        info.update(url=hook.url, max_connections=hook.max_connections)
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.allowed_updates is not None:
            info["allowed_updates"] = hook.allowed_updates
        if hook.last_error_date is not None:
            info.update(last_error_date=hook.last_error_date, last_error_message=hook.last_error_message)
    return info


# ---------------------------------------------------------------- messages


@method("sendMessage")
async def send_message(state: State, p: Params) -> dict[str, Any]:
    chat = state.chat_for_bot(p.chat_id())
    raw, formatted = _text(p)
    markup = _reply_markup(p)
    reply_to = _reply_to(state, p, chat)
    return _sent(
        state,
        chat,
        text=formatted.text,
        entities=formatted.entities,
        raw_text=raw,
        parse_mode=p.get_str("parse_mode"),
        reply_markup=markup,
        reply_to=reply_to,
    )


@method("sendDocument")
async def send_document(state: State, p: Params) -> dict[str, Any]:
    return await _send_file(state, p, "document")


@method("sendPhoto")
async def send_photo(state: State, p: Params) -> dict[str, Any]:
    return await _send_file(state, p, "photo")


async def _send_file(state: State, p: Params, kind: FileKind) -> dict[str, Any]:
    chat = state.chat_for_bot(p.chat_id())
    raw_caption, caption = _caption(p)
    markup = _reply_markup(p)
    reply_to = _reply_to(state, p, chat)
    record = _file(state, p, kind, kind)
    return _sent(
        state,
        chat,
        **{kind: record},
        caption=caption.text if caption else None,
        caption_entities=caption.entities if caption else [],
        raw_caption=raw_caption if caption else None,
        parse_mode=p.get_str("parse_mode"),
        reply_markup=markup,
        reply_to=reply_to,
    )


@method("editMessageText")
async def edit_message_text(state: State, p: Params) -> dict[str, Any]:
    message = _bot_message(state, p, errors.MESSAGE_TO_EDIT_NOT_FOUND)
    if message.text is None:
        raise errors.bad_request(errors.NO_TEXT_TO_EDIT)
    raw, formatted = _text(p)
    changes = {"text": formatted.text, "entities": formatted.entities, "reply_markup": _reply_markup(p)}
    return _apply_edit(state, message, changes, {"raw_text": raw, "parse_mode": p.get_str("parse_mode")})


@method("editMessageCaption")
async def edit_message_caption(state: State, p: Params) -> dict[str, Any]:
    message = _bot_message(state, p, errors.MESSAGE_TO_EDIT_NOT_FOUND)
    if message.document is None and message.photo is None:
        raise errors.bad_request(errors.NO_CAPTION_TO_EDIT)
    raw, caption = _caption(p)
    changes = {
        "caption": caption.text if caption else None,
        "caption_entities": caption.entities if caption else [],
        "reply_markup": _reply_markup(p),
    }
    return _apply_edit(state, message, changes, {"raw_caption": raw if caption else None})


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(state: State, p: Params) -> dict[str, Any]:
    message = _bot_message(state, p, errors.MESSAGE_TO_EDIT_NOT_FOUND)
    return _apply_edit(state, message, {"reply_markup": _reply_markup(p)})


@method("deleteMessage")
async def delete_message(state: State, p: Params) -> bool:
    chat = state.chat_for_bot(p.chat_id())
    message = state.require_message(chat, p.get_int("message_id"), errors.MESSAGE_TO_DELETE_NOT_FOUND)
    state.record_delete(message)
    return True


@method("sendChatAction")
async def send_chat_action(state: State, p: Params) -> bool:
    state.chat_for_bot(p.chat_id())
    if p.get_str("action") not in _CHAT_ACTIONS:
        raise errors.bad_request(errors.WRONG_ACTION)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(state: State, p: Params) -> bool:
    query_id = p.get_str("callback_query_id") or ""
    query = state.callback_queries.get(query_id)
    if query is None or query.answered:
        raise errors.bad_request(errors.QUERY_TOO_OLD)
    query.answered = True
    query.url = p.get_str("url")
    state.callback_answers[query_id] = CallbackAnswer(p.get_str("text"), p.get_bool("show_alert"))
    return True


# ------------------------------------------------------------------- files


@method("getFile")
async def get_file(state: State, p: Params) -> dict[str, Any]:
    record = state.files.get(p.get_str("file_id") or "")
    if record is None:
        raise errors.bad_request(errors.INVALID_FILE_ID)
    if record.size > MAX_DOWNLOAD_SIZE:
        raise errors.bad_request(errors.FILE_TOO_BIG)
    return record.file_api()


# ------------------------------------------------------- profile settings


def _setting(name: str, field: str) -> None:
    """setMy<Name>/getMy<Name> pairs that only store a per-language string."""

    async def setter(state: State, p: Params) -> bool:
        state.settings[(name, p.get_str("language_code") or "")] = p.get_str(field) or ""
        return True

    async def getter(state: State, p: Params) -> dict[str, str]:
        return {field: state.settings.get((name, p.get_str("language_code") or ""), "")}

    METHODS[f"setmy{name}"] = setter
    METHODS[f"getmy{name}"] = getter


_setting("name", "name")
_setting("description", "description")
_setting("shortdescription", "short_description")
