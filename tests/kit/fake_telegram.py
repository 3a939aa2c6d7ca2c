"""A local Telegram Bot API: checks the token, the bot's membership of the channel, each method's parameters
(against the Bot API as data in ../shared/contracts when it is here) and Telegram's length limits.

Each message keeps its kind (``text`` or ``photo``) and its text or caption; edits answer as Telegram does:
``editMessageText`` of a photo, ``editMessageCaption`` of a text, the same content again, an unknown message, a
caption over 1024, each with Telegram's own description; ``edits`` is the history of what changed. Messages in
``undeletable`` / ``uneditable`` are refused as Telegram refuses a channel's message older than 48 hours."""

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
        #: every edit made: the message's id, the method, its text or caption before and after
        self.edits: list[dict[str, Any]] = []
        self.undeletable: set[int] = set()  #: message ids deleteMessage refuses ("message can't be deleted")
        self.uneditable: set[int] = set()  #: message ids edits refuse ("message can't be edited")
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
            return self._ok(self._store({"kind": "text", "text": text, "parse_mode": params.get("parse_mode"),
                                         "link_preview_options": params.get("link_preview_options")}))
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
            return self._ok(self._store({"kind": "photo", "caption": caption, "photo": len(self.photos) - 1,
                                         "parse_mode": params.get("parse_mode")}))
        if method in ("editMessageText", "editMessageCaption"):
            return self._edit(method, params)
        if method == "deleteMessage":
            found = self._message(params)
            if found is None:
                return _error(400, "Bad Request: message to delete not found")
            if found["message_id"] in self.undeletable:
                return _error(400, "Bad Request: message can't be deleted")
            self.messages.remove(found)
            return self._ok(True)
        return _error(404, "Not Found")

    def _message(self, params: dict[str, Any]) -> dict[str, Any] | None:
        try:
            wanted = int(str(params.get("message_id")))
        except ValueError:
            return None
        return next((m for m in self.messages if m["message_id"] == wanted), None)

    def _edit(self, method: str, params: dict[str, Any]) -> Answer:
        """editMessageText / editMessageCaption of a message in the channel, as Telegram answers them."""
        message = self._message(params)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if message["message_id"] in self.uneditable:
            return _error(400, "Bad Request: message can't be edited")
        if method == "editMessageText":
            if message["kind"] != "text":
                return _error(400, "Bad Request: there is no text in the message to edit")
            field, new = "text", str(params.get("text", ""))
            if not 1 <= _utf16(new) <= 4096:
                return _error(400, "Bad Request: message is too long")
            changed = {"text": new, "link_preview_options": params.get("link_preview_options")}
        else:
            if message["kind"] != "photo":
                return _error(400, "Bad Request: there is no caption in the message to edit")
            field, new = "caption", str(params.get("caption", ""))
            if _utf16(new) > 1024:
                return _error(400, "Bad Request: message caption is too long")
            changed = {"caption": new}
        changed["parse_mode"] = params.get("parse_mode")
        if all(message.get(k) == v for k, v in changed.items()):
            return _error(400, "Bad Request: message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup of the message")
        self.edits.append({"message_id": message["message_id"], "method": method, "before": message[field],
                           "after": new})
        message.update(changed)
        message["edit_date"] = 1795932600
        return self._ok({**self._result(message), "edit_date": message["edit_date"]})

    def _store(self, message: dict[str, Any]) -> dict[str, Any]:
        message["message_id"] = next(self._ids)
        self.messages.append(message)
        return self._result(message)

    def _result(self, message: dict[str, Any]) -> dict[str, Any]:
        """The Message object Telegram answers for ``message``."""
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
