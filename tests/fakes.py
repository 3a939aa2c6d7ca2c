"""Building blocks for the fake platforms: a threaded HTTP server that hands each request to a Python
function and records it, plus queued faults. Each fake answers as its real service does (CONTRACTS.md)."""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  #: case-insensitive, as HTTP header names are
    body: bytes
    raw_query: str = ""  #: the query string as sent (an OAuth 1.0a signature covers it)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    def form(self) -> dict[str, Any]:
        """JSON, url-encoded or multipart parameters as one dict (multipart files as EmailMessage parts)."""
        kind = self.headers.get("Content-Type", "")
        if kind.startswith("application/json"):
            data = self.json()
            return data if isinstance(data, dict) else {}
        if kind.startswith("multipart/form-data"):
            message = BytesParser(policy=policy.default).parsebytes(
                f"Content-Type: {kind}\r\n\r\n".encode() + self.body)
            out: dict[str, Any] = {}
            for part in message.iter_parts():
                assert isinstance(part, EmailMessage)
                name = part.get_param("name", header="content-disposition")
                raw = part.get_payload(decode=True)
                assert isinstance(raw, bytes)
                out[str(name)] = part if part.get_filename() else raw.decode("utf-8")  # form fields are UTF-8
            return out
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True)) | self.query


@dataclass
class Answer:
    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """Answer the next request whose path starts with ``path`` like this (or hang first)."""

    path: str
    answer: Answer
    hang: float = 0.0


class FakeServer:
    """Subclasses implement ``answer(request) -> Answer``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []  #: (method, path, status) once answered
        self.arrived: list[tuple[str, str]] = []  #: (method, path) as requests come in
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, as from a real server

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                if not isinstance(sys.exc_info()[1], OSError):
                    fake.errors.append(traceback.format_exc())

        self.httpd = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, path: str, answer: Answer, n: int = 1, hang: float = 0.0) -> None:
        self.faults.extend(Fault(path, answer, hang) for _ in range(n))

    def calls_to(self, path_start: str) -> list[tuple[str, str, int]]:
        with self._lock:
            return [c for c in self.calls if c[1].startswith(path_start)]

    def answer(self, request: Request) -> Answer:  # pragma: no cover - subclasses answer
        raise NotImplementedError

    def respond(self, request: Request) -> Answer:
        """A queued fault for this path if there is one (after its hang), else ``answer``."""
        fault = None
        with self._lock:
            for f in self.faults:
                if request.path.startswith(f.path):
                    fault = f
                    self.faults.remove(f)
                    break
        if fault is None:
            return self.answer(request)
        if fault.hang:
            time.sleep(fault.hang)
        return fault.answer

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        headers: dict[str, str] = CaseInsensitiveDict(h.headers.items())  # type: ignore[assignment]
        request = Request(h.command, parts.path, dict(parse_qsl(parts.query)), headers, body, parts.query)
        with self._lock:
            self.arrived.append((request.method, request.path))
        answer = self.respond(request)
        data = json.dumps(answer.payload, ensure_ascii=False).encode()
        with self._lock:
            self.calls.append((request.method, request.path, answer.status))
        try:
            h.send_response(answer.status)
            h.send_header("Content-Type", "application/json; charset=utf-8")
            for k, v in answer.headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass
