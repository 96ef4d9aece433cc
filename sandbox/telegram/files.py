"""Files the bot and the users exchanged, with Bot API identifiers and download paths."""

from __future__ import annotations

import mimetypes
import secrets
import struct
from dataclasses import dataclass
from typing import Any, Literal

FileKind = Literal["document", "photo"]
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses bigger files for bots


@dataclass(eq=False)
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: FileKind
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    from_bot: bool = False

    @property
    def size(self) -> int:
        return len(self.data)

    def document_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name is not None:
            body["file_name"] = self.file_name
        if self.mime_type is not None:
            body["mime_type"] = self.mime_type
        return body

    def photo_api(self) -> list[dict[str, Any]]:
        """One PhotoSize: the fake does not make thumbnails, so ``photo[-1]`` is the original."""
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.size,
                "width": self.width,
                "height": self.height,
            }
        ]

    def file_api(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


class FileStore:
    def __init__(self) -> None:
        self.by_id: dict[str, FileRecord] = {}
        self.by_path: dict[str, FileRecord] = {}
        self._counter = 0

    def add(
        self,
        data: bytes,
        kind: FileKind,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        from_bot: bool = False,
    ) -> FileRecord:
        self._counter += 1
        n = self._counter
        if kind == "photo":
            width, height = image_size(data)
            record = FileRecord(
                file_id=f"AgACAgIAAxkBAAI{n:06d}{secrets.token_urlsafe(12)}",
                file_unique_id=f"AQAD{n:06d}",
                kind=kind,
                data=data,
                file_path=f"photos/file_{n}.jpg",
                width=width,
                height=height,
                from_bot=from_bot,
            )
        else:
            if mime_type is None and file_name:
                mime_type = mimetypes.guess_type(file_name)[0]
            suffix = ""
            if file_name and "." in file_name:
                suffix = "." + file_name.rsplit(".", 1)[1]
            record = FileRecord(
                file_id=f"BQACAgIAAxkBAAI{n:06d}{secrets.token_urlsafe(12)}",
                file_unique_id=f"AgAD{n:06d}",
                kind=kind,
                data=data,
                file_path=f"documents/file_{n}{suffix}",
                file_name=file_name,
                mime_type=mime_type,
                from_bot=from_bot,
            )
        self.by_id[record.file_id] = record
        self.by_path[record.file_path] = record
        return record

    def get(self, file_id: str) -> FileRecord | None:
        return self.by_id.get(file_id)


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF or JPEG; (1, 1) when the bytes are not one of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return 1, 1
