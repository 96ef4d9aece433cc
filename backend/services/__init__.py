"""The application core's use cases: what the bot, the API and the scheduler call."""
