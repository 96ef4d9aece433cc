"""Тексты бота на русском: notices, reminders and digests."""

TEXTS: dict[str, str] = {
}
