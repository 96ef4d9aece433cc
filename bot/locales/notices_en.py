"""The bot's English texts: notices, reminders and digests."""

TEXTS: dict[str, str] = {
}
