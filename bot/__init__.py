"""The Telegram front door (aiogram 3): handlers in bot/handlers, keyboards in bot/keyboards.

It calls the same service functions as the API (backend.services) and holds no rules.
"""
