"""The bot's English texts: /vacation and /settings."""

TEXTS: dict[str, str] = {
}
