"""The integration tests drive the bot too: the fake Bot API fixture of the bot tests."""

from tests.bot.conftest import tg  # noqa: F401
