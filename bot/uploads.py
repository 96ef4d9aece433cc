"""A file someone sent the bot (a document, or a photo of one), fetched from Telegram and checked
by the core's file rules."""

from __future__ import annotations

import io

from aiogram import Bot
from aiogram.types import Message

from backend.errors import InvalidInput
from backend.services.attachments import check_file, clean_filename
from backend.settings import Settings


async def received_file(message: Message, bot: Bot, settings: Settings, *, document_name: str,
                        photo_name: str) -> tuple[str, bytes]:
    """(file name, content); a file over the size limit is refused before it is downloaded."""
    max_bytes = settings.max_upload_mb * 1024 * 1024
    if message.document is not None:
        file_id, size = message.document.file_id, message.document.file_size or 0
        filename = clean_filename(message.document.file_name or document_name)
    else:
        photo = message.photo[-1]  # the largest size Telegram made
        file_id, size, filename = photo.file_id, photo.file_size or 0, photo_name
    if size > max_bytes:
        raise InvalidInput("attachment.too_large", field="file", max_mb=settings.max_upload_mb)
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    content = buffer.getvalue()
    check_file(content, filename, max_bytes)
    return filename, content
