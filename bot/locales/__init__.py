"""The bot's texts: ru.py and en.py hold the same keys (checked by tests/bot/test_texts.py)."""
