"""Formatted text the way Telegram parses it: parse_mode → plain text + entities.

The parsers follow TDLib's (td/telegram/MessageEntity.cpp) closely enough to produce the
same *errors* Telegram sends, which is the point: a bot that forgets to escape ``<`` in a
user's name must fail here as it would in production.  Entity offsets and lengths are in
UTF-16 code units, as in the Bot API.  Length limits are checked on the plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request

Entity = dict[str, Any]


@dataclass
class FormattedText:
    """``text`` after parsing (what the user sees) and its entities."""

    text: str
    entities: list[Entity] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _entities_error(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


# --------------------------------------------------------------------------- HTML

_HTML_TAGS = {
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
    "tg-spoiler", "tg-emoji", "tg-time", "span", "pre", "code", "blockquote",
}  # fmt: skip
_HTML_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "u": "underline", "ins": "underline", "tg-spoiler": "spoiler", "span": "spoiler",
    "code": "code", "pre": "pre",
}  # fmt: skip
_SPACES = " \t\r\n\v\0"
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#x([0-9a-fA-F]{1,8})|#([0-9]{1,10})|([a-zA-Z]+));")


def _decode_html_entity(text: str, index: int) -> tuple[str, int] | None:
    """``&lt;``, ``&#60;``, ``&#x3c;`` → (char, length); anything else stays literal."""
    match = _ENTITY_RE.match(text, index)
    if match is None:
        return None
    hex_code, dec_code, name = match.groups()
    if name is not None:
        char = _NAMED_ENTITIES.get(name)
        return None if char is None else (char, match.end() - index)
    code = int(hex_code, 16) if hex_code is not None else int(dec_code)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end() - index


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the output
    attributes: dict[str, str]


def parse_html(source: str) -> FormattedText:
    out: list[str] = []
    position = 0  # UTF-16 length of ``out``
    stack: list[_OpenTag] = []
    entities: list[Entity] = []
    i, n = 0, len(source)

    def emit(char: str) -> None:
        nonlocal position
        out.append(char)
        position += utf16_len(char)

    while i < n:
        char = source[i]
        if char == "&" and (decoded := _decode_html_entity(source, i)) is not None:
            emit(decoded[0])
            i += decoded[1]
            continue
        if char != "<":
            emit(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and source[i] == "/":
            if not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
            j = i + 1
            while j < n and source[j] not in _SPACES and source[j] != ">":
                j += 1
            end_name = source[i + 1 : j]
            while j < n and source[j] in _SPACES:
                j += 1
            if j >= n or source[j] != ">":
                raise _entities_error(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
            opened = stack.pop()
            if end_name and end_name.lower() != opened.name:
                raise _entities_error(
                    f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
                    f'expected "</{opened.name}>", found "</{end_name}>"'
                )
            _close_html_tag(opened, position, "".join(out), entities)
            i = j + 1
            continue
        j = i
        while j < n and source[j] not in _SPACES and source[j] != ">":
            j += 1
        if j >= n:
            raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
        name = source[i:j].lower()
        if name not in _HTML_TAGS:
            raise _entities_error(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, begin)}'
            )
        attributes, i = _parse_attributes(source, j, name, begin)
        stack.append(_OpenTag(name, "", position, attributes))
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise _entities_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(source, begin)}'
            )
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText("".join(out), entities)


def _parse_attributes(source: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse ``name="value"`` pairs up to ``>``; returns them and the index after ``>``."""
    n = len(source)
    attributes: dict[str, str] = {}
    while True:
        while i < n and source[i] in _SPACES:
            i += 1
        if i >= n:
            raise _entities_error(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(source, begin)}')
        if source[i] == ">":
            return attributes, i + 1
        start = i
        while i < n and source[i] not in _SPACES and source[i] not in "=>":
            i += 1
        name = source[start:i].lower()
        if not name:
            raise _entities_error(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        while i < n and source[i] in _SPACES:
            i += 1
        if i < n and source[i] != "=":
            attributes[name] = ""  # e.g. <blockquote expandable>
            continue
        i += 1
        while i < n and source[i] in _SPACES:
            i += 1
        if i >= n:
            raise _entities_error(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(source, begin)}')
        if source[i] in "'\"":
            quote = source[i]
            i += 1
            value: list[str] = []
            while i < n and source[i] != quote:
                if source[i] == "&" and (decoded := _decode_html_entity(source, i)) is not None:
                    value.append(decoded[0])
                    i += decoded[1]
                    continue
                value.append(source[i])
                i += 1
            i += 1
            attributes[name] = "".join(value)
        else:
            start = i
            while i < n and (source[i].isalnum() or source[i] in ".-"):
                i += 1
            if i < n and source[i] not in _SPACES and source[i] != ">":
                raise _entities_error(
                    f"Unexpected end of name token at byte offset {_byte_offset(source, start)}"
                )
            attributes[name] = source[start:i].lower()


def _close_html_tag(opened: _OpenTag, position: int, text: str, entities: list[Entity]) -> None:
    length = position - opened.offset
    if length <= 0:
        return
    entity: Entity = {"offset": opened.offset, "length": length}
    if opened.name == "a":
        href = opened.attributes.get("href", "")
        entity.update({"type": "text_link", "url": href} if href else {"type": "url"})
    elif opened.name == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in opened.attributes else "blockquote"
    elif opened.name == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=opened.attributes.get("emoji-id", ""))
    elif opened.name == "tg-time":
        entity.update(_date_time(opened.attributes.get("unix", ""), opened.attributes.get("format")))
    else:
        entity["type"] = _HTML_SIMPLE[opened.name]
        language = opened.attributes.get("class", "")
        if opened.name == "code" and language.startswith("language-"):
            entity["language"] = language.removeprefix("language-")
        if opened.name == "pre" and entities:
            inner = entities[-1]
            if inner["type"] == "code" and (inner["offset"], inner["length"]) == (opened.offset, length):
                entities.pop()  # <pre><code class="language-x"> is one pre entity
                if "language" in inner:
                    entity["language"] = inner["language"]
    entities.append(entity)


def _date_time(unix: str, date_format: str | None) -> Entity:
    if not unix.isdigit():
        raise _entities_error("Invalid Unix time specified")
    entity: Entity = {"type": "date_time", "unix_time": int(unix)}
    if date_format:
        if not re.fullmatch(r"r|w?[dD]?[tT]?", date_format):
            raise _entities_error("Invalid date and time format specified")
        entity["date_time_format"] = date_format
    return entity


# ------------------------------------------------------------------ MarkdownV2

_MD2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MD2_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl",
    "custom": "CustomEmoji",
}  # fmt: skip


def _md2_url(source: str, i: int) -> tuple[str, int]:
    """The ``(...)`` after ``]`` starting at ``i``; ``\\)`` and ``\\\\`` are escapes there."""
    url: list[str] = []
    j = i + 1
    while j < len(source) and source[j] != ")":
        if source[j] == "\\" and j + 1 < len(source):
            j += 1
        url.append(source[j])
        j += 1
    if j >= len(source):
        raise _entities_error(f"Can't find end of a URL at byte offset {_byte_offset(source, i)}")
    return "".join(url), j + 1


def _md2_custom(url: str) -> Entity:
    """``![x](tg://emoji?id=…)`` or ``![x](tg://time?unix=…&format=…)``."""
    query = dict(part.partition("=")[::2] for part in url.partition("?")[2].split("&") if part)
    if url.startswith("tg://emoji?"):
        return {"type": "custom_emoji", "custom_emoji_id": query.get("id", "")}
    if url.startswith("tg://time?"):
        return _date_time(query.get("unix", ""), query.get("format"))
    raise _entities_error("Custom emoji URL must have scheme tg")


def parse_markdown_v2(source: str) -> FormattedText:
    """MarkdownV2 (bold, italic, underline, strike, spoiler, code, pre, links, ``>`` quotes).

    Every reserved character outside code must be escaped, exactly as Telegram demands.
    """
    out: list[str] = []
    position = 0
    stack: list[tuple[str, int, int, str]] = []  # (type, utf16 offset, source index, extra)
    entities: list[Entity] = []
    quote_start: int | None = None
    quote_kind = "blockquote"
    i, n = 0, len(source)

    def emit(text: str) -> None:
        nonlocal position
        out.append(text)
        position += utf16_len(text)

    def add(kind: str, offset: int, extra: str = "") -> None:
        if position > offset:
            entity: Entity = {"type": kind, "offset": offset, "length": position - offset}
            if kind == "text_link":
                entity["url"] = extra
            if kind == "pre" and extra:
                entity["language"] = extra
            if kind == "custom":
                entity.update(_md2_custom(extra))
            entities.append(entity)

    while i < n:
        char = source[i]
        top = stack[-1][0] if stack else None
        line_start = i == 0 or source[i - 1] == "\n"
        if char == "\\" and i + 1 < n and 0 < ord(source[i + 1]) <= 126:
            emit(source[i + 1])
            i += 2
            continue
        if top in ("code", "pre"):
            closing = "```" if top == "pre" else "`"
            if source.startswith(closing, i):
                kind, offset, _, extra = stack.pop()
                add(kind, offset, extra)
                i += len(closing)
            else:
                emit(char)
                i += 1
            continue
        if char == "\n" and quote_start is not None and not source.startswith((">", "**>"), i + 1):
            add(quote_kind, quote_start)
            quote_start = None
        if line_start and source.startswith(("**>", ">"), i) and not stack:
            if quote_start is None:
                quote_start = position
                quote_kind = "expandable_blockquote" if char == "*" else "blockquote"
            i += 3 if char == "*" else 1
            continue
        expandability_mark = source.startswith("||", i) and (i + 2 == n or source[i + 2] == "\n")
        if quote_kind == "expandable_blockquote" and quote_start is not None and expandability_mark:
            i += 2
            continue
        if char not in _MD2_RESERVED:
            emit(char)
            i += 1
            continue
        closes = {
            "bold": char == "*",
            "italic": char == "_" and not source.startswith("__", i),
            "underline": source.startswith("__", i),
            "strikethrough": char == "~",
            "spoiler": source.startswith("||", i),
            "text_link": char == "]",
            "custom": char == "]",
        }
        if top is not None and closes.get(top, False):
            kind, offset, _, _ = stack.pop()
            i += 2 if kind in ("underline", "spoiler") else 1
            url = ""
            if kind in ("text_link", "custom"):
                if i < n and source[i] == "(":
                    url, i = _md2_url(source, i)
                if kind == "custom":
                    add(kind, offset, url)
                else:
                    add("text_link" if url else "url", offset, url)
            else:
                add(kind, offset)
            continue
        opener = (
            "pre" if source.startswith("```", i)
            else "code" if char == "`"
            else "underline" if source.startswith("__", i)
            else "spoiler" if source.startswith("||", i)
            else "custom" if source.startswith("![", i)
            else {"*": "bold", "_": "italic", "~": "strikethrough", "[": "text_link"}.get(char)
        )  # fmt: skip
        if opener is None:
            raise _entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        begin = i
        i += {"pre": 3, "underline": 2, "spoiler": 2, "custom": 2}.get(opener, 1)
        language = ""
        if opener == "pre":
            end_of_line = source.find("\n", i)
            if end_of_line >= 0 and " " not in source[i:end_of_line] and "`" not in source[i:end_of_line]:
                language, i = source[i:end_of_line], end_of_line + 1
        stack.append((opener, position, begin, language))
    if stack:
        kind, _, begin, _ = stack[-1]
        raise _entities_error(
            f"Can't find end of {_MD2_NAMES[kind]} entity at byte offset {_byte_offset(source, begin)}"
        )
    if quote_start is not None:
        add(quote_kind, quote_start)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText("".join(out), entities)


# -------------------------------------------------------------- Markdown (legacy)


def parse_markdown(source: str) -> FormattedText:
    """Legacy Markdown: ``*bold*``, ``_italic_``, `` `code` ``, ```` ```pre``` ````, ``[text](url)``."""
    out: list[str] = []
    position = 0
    entities: list[Entity] = []
    i, n = 0, len(source)
    pairs = {"*": ("*", "bold"), "_": ("_", "italic"), "`": ("`", "code"), "[": ("]", "text_link")}
    while i < n:
        char = source[i]
        if char == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            out.append(source[i + 1])
            position += 1
            i += 2
            continue
        if source.startswith("```", i):
            end = source.find("```", i + 3)
            closing, kind, width = "```", "pre", 3
        elif char in pairs:
            closing, kind = pairs[char]
            end, width = source.find(closing, i + 1), 1
        else:
            out.append(char)
            position += utf16_len(char)
            i += 1
            continue
        if end < 0:
            raise _entities_error(
                f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}"
            )
        inner = source[i + width : end]
        entity: Entity = {"type": kind, "offset": position, "length": utf16_len(inner)}
        i = end + width
        if kind == "text_link":
            url_end = source.find(")", i) if source.startswith("(", i) else -1
            if url_end >= 0:
                entity["url"] = source[i + 1 : url_end]
                i = url_end + 1
            else:
                entity["type"] = "url"
        out.append(inner)
        position += entity["length"]
        if entity["length"]:
            entities.append(entity)
    return FormattedText("".join(out), entities)


# ---------------------------------------------------------------------- common

_PARSERS = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


def parse_formatted(text: str, parse_mode: str | None, entities: list[Entity] | None = None) -> FormattedText:
    """Text as sent by the bot → what Telegram stores (trimmed, like Telegram does)."""
    if entities is not None:
        parsed = FormattedText(text, [dict(e) for e in entities])
    elif parse_mode:
        parser = _PARSERS.get(parse_mode.lower())
        if parser is None:
            raise bad_request("unsupported parse_mode")
        parsed = parser(text)
    else:
        parsed = FormattedText(text, [])
    return _strip(parsed)


def _strip(parsed: FormattedText) -> FormattedText:
    """Telegram drops leading and trailing whitespace; entities are clipped to what's left."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    head = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - head, 0)
        end = min(entity["offset"] + entity["length"] - head, size)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(stripped, entities)


_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")


def command_entities(text: str) -> list[Entity]:
    """``bot_command`` entities the Telegram client attaches to ``/start`` and the like."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in _COMMAND_RE.finditer(text)
    ]
