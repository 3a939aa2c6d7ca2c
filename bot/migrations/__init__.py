"""Alembic migrations of the bot's schema (see bot/schema.py). Run by `bot migrate`."""
