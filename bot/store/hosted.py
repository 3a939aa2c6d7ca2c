"""Images at a public address (:mod:`bot.pictures`), and the tokens platforms gave in place of the config's."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store.engine import StoreBase
from bot.store.records import AccountToken
from bot.store.tables import account_tokens, hosted_images


class HostedMixin(StoreBase):
    """The :class:`~bot.store.Store`'s part for hosted images and refreshed tokens."""

    def host_image(self, key: str, data: bytes, content_type: str, expires_at: datetime, now: datetime) -> None:
        with self.engine.begin() as c:
            c.execute(hosted_images.delete().where(hosted_images.c.expires_at <= now))
            c.execute(hosted_images.insert().values(key=key, data=data, content_type=content_type,
                                                    created_at=now, expires_at=expires_at))

    def hosted_image(self, key: str, now: datetime) -> tuple[bytes, str] | None:
        """The image at the address whose token hashes to ``key``, while it has not expired."""
        with self.light.connect() as c:
            row = c.execute(sa.select(hosted_images.c.data, hosted_images.c.content_type)
                            .where(hosted_images.c.key == key, hosted_images.c.expires_at > now)).first()
        return (bytes(row.data), row.content_type) if row else None

    def drop_hosted(self, key: str) -> None:
        with self.engine.begin() as c:
            c.execute(hosted_images.delete().where(hosted_images.c.key == key))

    def prune_hosted(self, now: datetime) -> int:
        with self.engine.begin() as c:
            return c.execute(hosted_images.delete().where(hosted_images.c.expires_at <= now)).rowcount or 0

    def account_token(self, account_id: str) -> AccountToken | None:
        """The token the platform last gave this account (refreshed), if any."""
        with self.light.connect() as c:
            row = c.execute(sa.select(account_tokens).where(account_tokens.c.account_id == account_id)).first()
        return AccountToken(row.account_id, row.token, row.source, row.expires_at, row.refreshed_at) if row else None

    def save_account_token(self, account_id: str, token: str, source: str, expires_at: datetime | None,
                           now: datetime) -> None:
        """Keep the token the platform gave (``source``: the SHA-256 of the config's token it came from: a new
        token in the config wins over one refreshed from the old)."""
        values = {"token": token, "source": source, "expires_at": expires_at, "refreshed_at": now}
        with self.engine.begin() as c:
            done = c.execute(account_tokens.update().where(account_tokens.c.account_id == account_id)
                             .values(**values)).rowcount
            if not done:
                c.execute(account_tokens.insert().values(account_id=account_id, **values))
