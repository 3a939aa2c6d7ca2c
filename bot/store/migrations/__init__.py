"""Alembic migrations of the bot's schema (see bot/store/schema.py). Run by `bot migrate`."""
