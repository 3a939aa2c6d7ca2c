"""A local Telegram Bot API: checks the token, the bot's membership of the channel, each method's parameters
(against the Bot API as data in ../shared/contracts when it is here) and Telegram's length limits."""

from __future__ import annotations

import itertools
import json
from email.message import EmailMessage
from typing import Any

from .paths import CONTRACTS
from .servers import Answer, FakeServer, Request

CONTRACT = CONTRACTS / "telegram-bot-api.json"


def _error(code: int, description: str, **parameters: Any) -> Answer:
    payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return Answer(code, payload)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram(FakeServer):
    def __init__(self, token: str = "123456:AA-fake-token", channel: str = "qurays_news",
                 chat_id: int = -1001234567890) -> None:
        super().__init__()
        self.token = token
        self.channel = channel
        self.chat_id = chat_id
        self.member = True
        self.messages: list[dict[str, Any]] = []
        self.photos: list[bytes] = []
        self._ids = itertools.count(101)
        self._methods: dict[str, Any] = {}
        if CONTRACT.exists():
            self._methods = json.loads(CONTRACT.read_text(encoding="utf-8"))["methods"]

    def rate_limit_next(self, retry_after: int) -> None:
        self.fail_next("/bot", _error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after))

    def answer(self, request: Request) -> Answer:
        prefix = f"/bot{self.token}/"
        if not request.path.startswith(prefix):
            return _error(401, "Unauthorized")
        method = request.path[len(prefix):]
        params = request.form()
        problem = self._check_parameters(method, params)
        if problem:
            self.problems.append(problem)
            return _error(400, f"Bad Request: {problem}")
        if method == "getMe":
            return self._ok({"id": 123456, "is_bot": True, "first_name": "قريش", "username": "qurays_bot"})
        chat = params.get("chat_id")
        if str(chat) not in (f"@{self.channel}", str(self.chat_id)):
            return _error(400, "Bad Request: chat not found")
        if not self.member:
            return _error(403, "Forbidden: bot is not a member of the channel chat")
        if method == "getChat":
            return self._ok({"id": self.chat_id, "type": "channel", "title": "قريش", "username": self.channel})
        if method == "sendMessage":
            text = str(params.get("text", ""))
            if not 1 <= _utf16(text) <= 4096:
                return _error(400, "Bad Request: message is too long")
            return self._ok(self._store({"text": text, "link_preview_options": params.get("link_preview_options"),
                                         "parse_mode": params.get("parse_mode")}))
        if method == "sendPhoto":
            caption = str(params.get("caption", ""))
            if _utf16(caption) > 1024:
                return _error(400, "Bad Request: message caption is too long")
            photo = params.get("photo")
            if not isinstance(photo, EmailMessage):
                return _error(400, "Bad Request: there is no photo in the request")
            data = photo.get_payload(decode=True)
            assert isinstance(data, bytes)
            self.photos.append(data)
            return self._ok(self._store({"caption": caption, "photo": len(self.photos) - 1,
                                         "parse_mode": params.get("parse_mode")}))
        if method == "deleteMessage":
            before = len(self.messages)
            self.messages = [m for m in self.messages if m["message_id"] != int(params["message_id"])]
            return self._ok(True) if len(self.messages) < before else \
                _error(400, "Bad Request: message to delete not found")
        return _error(404, "Not Found")

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        message["message_id"] = next(self._ids)
        self.messages.append(message)
        return {"message_id": message["message_id"], "date": 1795932000,
                "chat": {"id": self.chat_id, "type": "channel", "title": "قريش", "username": self.channel},
                **{k: v for k, v in message.items() if k in ("text", "caption")}}

    @staticmethod
    def _ok(result: Any) -> Answer:
        return Answer(200, {"ok": True, "result": result})

    def _check_parameters(self, method: str, params: dict[str, Any]) -> str | None:
        spec = self._methods.get(method)
        if spec is None:
            return None if not self._methods else f"method {method} is not in the Bot API"
        fields = {f["name"]: f for f in spec.get("fields", [])}
        unknown = [p for p in params if p not in fields]
        missing = [n for n, f in fields.items() if f.get("required") and n not in params]
        if unknown or missing:
            return f"{method}: unknown {unknown}, missing {missing}"
        return None
