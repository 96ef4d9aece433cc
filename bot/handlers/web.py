"""/web: a one-time link that signs the employee in to the web pages."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message

from backend.services import web_login
from backend.services.core import Core
from backend.settings import Settings
from bot.texts import Texts

router = Router(name="web")


@router.message(Command("web"))
async def send_login_link(message: Message, core: Core, settings: Settings, t: Texts) -> None:
    minutes = settings.web_login_link_minutes
    code = await core.call(web_login.issue_link, core.actor, minutes=minutes, view=lambda issued: issued[1])
    url = f"{settings.effective_web_url}/login/link/{code}"
    # No preview: a preview would make Telegram's servers open the link (they only see the
    # confirm page, which does not spend it, but there is no reason to show them even that).
    await message.answer(t("web.link", url=url, minutes=minutes),
                         link_preview_options=LinkPreviewOptions(is_disabled=True))
