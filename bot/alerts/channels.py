"""The alert channels: a Telegram chat, email over SMTP, a webhook (the bot's JSON, or Slack's or Discord's).

Each takes a :class:`Notice` and either delivers it or raises :class:`AlertError` with the reason in words
(never the token or the webhook's address, which are secrets). The channel's ``timeout`` bounds each step
(a request; each step of an SMTP session); nothing here retries: the alerts' outbox tries again later.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import requests

from bot.config.alerts import AlertChannel, EmailChannel, TelegramChannel, WebhookChannel
from bot.errors import BotError
from bot.platforms.http import send

log = logging.getLogger("bot.alerts")

#: Telegram takes 4096 characters a message; alerts stay well under it (a long platform error is cut).
MAX_TEXT = 3000


class AlertError(BotError):
    """A channel did not take a notice: why, in words."""


@dataclass(frozen=True)
class Notice:
    """What a channel is given: a problem began (``raised``) or ended (``cleared``)."""

    site: str  #: the site's name
    event: str  #: raised | cleared
    key: str  #: the problem's key (``held:x``)
    text: str  #: the message, in words
    at: datetime  #: when the problem began or ended, in the site's timezone

    @property
    def kind(self) -> str:
        return self.key.partition(":")[0]

    @property
    def subject(self) -> str:
        return self.key.partition(":")[2]

    @property
    def mark(self) -> str:
        """⚠️ for a beginning, ✅ for an end."""
        return "⚠️" if self.event == "raised" else "✅"

    @property
    def headline(self) -> str:
        """One line: the site, whether it began or ended, and the first sentence of the text."""
        first = " ".join(self.text.split(". ", 1)[0].split()).rstrip(".")  # one line: a mail header
        return f"{self.mark} {self.site}: {first}"

    @property
    def body(self) -> str:
        text = self.text if len(self.text) <= MAX_TEXT else self.text[:MAX_TEXT].rsplit(" ", 1)[0] + " …"
        return f"{self.mark} {self.site} — {text}\n({self.at:%Y-%m-%d %H:%M %z}; bot status says more)"


class Channel(Protocol):
    """Somewhere operators are told."""

    name: str

    def send(self, notice: Notice) -> None:
        """Deliver the notice, or raise AlertError."""
        ...

    def close(self) -> None:
        ...


class TelegramAlerts:
    """``sendMessage`` to a chat, without a link preview."""

    def __init__(self, config: TelegramChannel, user_agent: str) -> None:
        self.name = config.name
        self.config = config
        self.user_agent = user_agent
        self.session = requests.Session()

    def send(self, notice: Notice) -> None:
        token = self.config.bot_token.get_secret_value()
        base = (self.config.base_url or "https://api.telegram.org").rstrip("/")
        try:
            reply = send(self.session, "POST", f"{base}/bot{token}/sendMessage", platform="Telegram",
                         timeout=self.config.timeout.total_seconds(), user_agent=self.user_agent,
                         json={"chat_id": self.config.chat_id, "text": notice.body,
                               "link_preview_options": {"is_disabled": True}}, allow_redirects=False)
        except BotError as exc:
            raise AlertError(str(exc)) from None
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status != 200 or not body.get("ok"):
            said = body.get("description") or f"HTTP {reply.status}"
            if reply.status == 401:
                said = "Unauthorized: the bot token is wrong (alerts.channels bot_token)"
            raise AlertError(f"Telegram refused the alert: {said}")

    def close(self) -> None:
        self.session.close()


class EmailAlerts:
    """One email to every address of ``to``, through the configured SMTP server."""

    def __init__(self, config: EmailChannel, user_agent: str) -> None:
        self.name = config.name
        self.config = config
        self.user_agent = user_agent

    def send(self, notice: Notice) -> None:
        c = self.config
        message = EmailMessage()
        message["Subject"] = notice.headline
        message["From"] = c.sender
        message["To"] = ", ".join(c.to)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=c.sender.rpartition("@")[2] or None)
        message["X-Mailer"] = self.user_agent
        message.set_content(notice.body)
        timeout = c.timeout.total_seconds()
        smtp: smtplib.SMTP | None = None
        try:
            if c.security == "ssl":
                smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=timeout)
            if c.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if c.username and c.password:
                smtp.login(c.username, c.password.get_secret_value())
            refused = smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise AlertError(f"the SMTP server {c.host} refused the login of {c.username}: {_smtp_said(exc)}") from None
        except smtplib.SMTPNotSupportedError:
            raise AlertError(f"the SMTP server {c.host}:{c.port} does not offer STARTTLS (security: ssl for port "
                             "465, or none for a relay on this machine)") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise AlertError(f"the SMTP server {c.host} refused every address: {', '.join(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            raise AlertError(f"the SMTP server {c.host} said {exc.smtp_code}: {_smtp_said(exc)}") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise AlertError(f"cannot send email through {c.host}:{c.port}: {_os_said(exc)}") from None
        finally:
            _quit(smtp)
        if refused:  # the others took it: sent (again, they would get it twice); the refused ones are said
            log.warning("alerts: the SMTP server %s refused %s (the others were sent the alert)", c.host,
                        ", ".join(refused))

    def close(self) -> None:
        pass


def _quit(smtp: smtplib.SMTP | None) -> None:
    """End the session; what the server says to QUIT does not matter once the message was taken."""
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _smtp_said(exc: smtplib.SMTPResponseException) -> str:
    said = exc.smtp_error
    return (said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)).strip()


def _os_said(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return "the name does not resolve (DNS)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    return str(exc) or type(exc).__name__


class WebhookAlerts:
    """A POST of JSON. ``json``: ``{"site", "event", "problem", "kind", "subject", "text", "at"}``; ``slack``:
    ``{"text"}``; ``discord``: ``{"content"}`` (at most 2000 characters)."""

    def __init__(self, config: WebhookChannel, user_agent: str) -> None:
        self.name = config.name
        self.config = config
        self.user_agent = user_agent
        self.session = requests.Session()

    def payload(self, notice: Notice) -> dict[str, Any]:
        # What alerts quote (a platform's or a feed server's words) never pings the room: no mentions.
        if self.config.format == "slack":
            escaped = notice.body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            return {"text": escaped}
        if self.config.format == "discord":
            return {"content": notice.body[:2000], "allowed_mentions": {"parse": []}}
        return {"site": notice.site, "event": notice.event, "problem": notice.key, "kind": notice.kind,
                "subject": notice.subject, "text": notice.text, "at": notice.at.isoformat(timespec="seconds")}

    def send(self, notice: Notice) -> None:
        try:
            reply = send(self.session, "POST", self.config.url.get_secret_value(), platform="the webhook",
                         timeout=self.config.timeout.total_seconds(), user_agent=self.user_agent,
                         json=self.payload(notice), allow_redirects=False)
        except BotError as exc:
            raise AlertError(str(exc)) from None
        if not 200 <= reply.status < 300:
            raise AlertError(f"the webhook answered HTTP {reply.status}")

    def close(self) -> None:
        self.session.close()


def make_channel(config: AlertChannel, user_agent: str) -> Channel:
    if isinstance(config, TelegramChannel):
        return TelegramAlerts(config, user_agent)
    if isinstance(config, EmailChannel):
        return EmailAlerts(config, user_agent)
    return WebhookAlerts(config, user_agent)
