"""Тексты бота на русском: /vacation and /settings."""

TEXTS: dict[str, str] = {
}
