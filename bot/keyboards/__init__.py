"""Inline keyboards and the callback data their buttons carry (≤ 64 bytes: ids, never payloads)."""
