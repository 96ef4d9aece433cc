"""A callback answer that comes too late is not an error of the tap.

Telegram takes one answer per callback query, within about 15 seconds. A tap handled again (the
replica that handled it died before marking it done, and another replica handles it when
Telegram delivers it again) or handled after a long wait gets "query is too old" for its answer.
The decision itself is made and recorded either way; the answer is only the little notice on the
person's screen, so a refused answer is logged and the handler goes on instead of failing the
update (which the webhook would answer with a 500).
"""

from __future__ import annotations

import logging

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramBadRequest

log = logging.getLogger("viza.bot")

TOO_LATE = ("query is too old", "query id is invalid")


class StaleCallbackAnswers(BaseRequestMiddleware):
    async def __call__(self, make_request, bot, method):
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as error:
            if method.__api_method__ != "answerCallbackQuery" or not any(
                    words in error.message.lower() for words in TOO_LATE):
                raise
            log.info("callback answer refused as too late: %s", error.message)
            return True
