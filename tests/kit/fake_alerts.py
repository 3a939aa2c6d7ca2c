"""Local servers for the alert channels: an SMTP server (aiosmtpd, with its login checked) and a webhook that
keeps what it was sent. They answer as real ones do: SMTP codes, HTTP statuses."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from .runs import free_port
from .servers import Answer, FakeServer, Request


@dataclass
class _Mailbox:
    """What the SMTP server was given, and how it answers."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_with: str | None = None  #: answer DATA with this (e.g. "451 4.3.0 try later") instead of 250
    over_tls: list[bool] = field(default_factory=list)  #: for each message taken: whether TLS carried it
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.refuse_with:
            return self.refuse_with
        data = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
            transport = getattr(server, "transport", None)  # implicit TLS (port 465), or STARTTLS
            implicit = transport is not None and transport.get_extra_info("ssl_object") is not None
            self.over_tls.append(session.ssl is not None or implicit)
            self.envelopes.append((str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos]))
        return "250 OK"


class FakeSMTP:
    """An SMTP server on localhost that takes mail only after AUTH LOGIN/PLAIN with ``username`` and
    ``password``: over the plain connection (as a local relay), or, given ``tls``, only after STARTTLS."""

    def __init__(self, username: str = "alerts@news.example", password: str = "smtp-secret-1",
                 tls: ssl.SSLContext | None = None, implicit_tls: ssl.SSLContext | None = None,
                 quit_reply: str | None = None) -> None:
        self.username, self.password = username, password
        self.mailbox = _Mailbox()

        def authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str,
                         auth_data: Any) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.username \
                and auth_data.password.decode() == self.password
            return AuthResult(success=ok, handled=False)

        self.port = free_port()
        quit_with = quit_reply
        if quit_with:
            async def handle_QUIT(server: Any, session: Session, envelope: Envelope) -> str:
                return quit_with  # an odd answer to QUIT (the message was already taken)
            self.mailbox.handle_QUIT = handle_QUIT  # type: ignore[attr-defined]
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, authenticator=authenticate,
                                     auth_required=True, auth_require_tls=tls is not None, tls_context=tls,
                                     require_starttls=tls is not None, ssl_context=implicit_tls, ready_timeout=10)
        self.controller.start()

    @property
    def messages(self) -> list[EmailMessage]:
        with self.mailbox.lock:
            return list(self.mailbox.messages)

    def channel(self, **settings: Any) -> dict[str, Any]:
        """The ``alerts.channels`` entry that sends here."""
        return {"type": "email", "host": "127.0.0.1", "port": self.port, "security": "none",
                "username": self.username, "password": self.password, "sender": "bot@news.example",
                "to": ["desk@news.example"], **settings}

    def close(self) -> None:
        self.controller.stop()


class FakeWebhook(FakeServer):
    """An incoming webhook at ``/hooks/T0/B0/secret-path``: 200 for a JSON body, 404 elsewhere (as Slack)."""

    PATH = "/hooks/T0/B0/secret-path"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []

    @property
    def address(self) -> str:
        return self.url(self.PATH)

    def answer(self, request: Request) -> Answer:
        if request.method != "POST" or request.path != self.PATH:
            return Answer(404, {"error": "no_service"})
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return Answer(400, {"error": "invalid_payload"})
        with self._lock:
            self.received.append(request.json())
        return Answer(200, {"ok": True})
