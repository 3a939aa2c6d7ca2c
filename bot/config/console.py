"""The ``console:`` section: the newsroom console on the daemon's HTTP side (``bot.web``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from bot.config.values import UNSET_SECRET, Duration, Secret, _Model


class ConsoleConfig(_Model):
    """The web console for editors, at ``/`` of the daemon's port (or ``bot console``)."""

    #: Signs the session cookies: at least 32 characters, from the environment (``${BOT_CONSOLE_SECRET}``).
    #: Changing it signs every editor out.
    secret_key: Secret
    #: The interface's language when a person has not chosen: Arabic first, English second.
    language: Literal["ar", "en"] = "ar"
    #: How long a sign-in lasts without use (a page refreshing itself is no use).
    session_idle: Duration = timedelta(hours=12)
    #: How long a sign-in lasts at most, used or not.
    session_max: Duration = timedelta(days=7)
    #: Failed sign-ins per user and address within ``login_window`` after which sign-in waits.
    login_failures: int = Field(default=5, ge=1, le=100)
    login_window: Duration = timedelta(minutes=15)
    #: Sign in with a WordPress username and application password, checked by the site's REST API
    #: (administrator → admin, editor → editor, any other role → viewer).
    wordpress_login: bool = False
    #: Cookies are marked Secure when the request came over HTTPS (directly or as a trusted proxy says:
    #: ``server.trusted_proxies``); ``always``: whatever the request says.
    secure_cookies: Literal["auto", "always"] = "auto"

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, v: object) -> object:
        value = v.get_secret_value() if hasattr(v, "get_secret_value") else str(v)
        if value != UNSET_SECRET and len(value) < 32:
            raise ValueError("must be at least 32 characters (for example: python -c \"import secrets; "
                             "print(secrets.token_urlsafe(32))\")")
        return v
