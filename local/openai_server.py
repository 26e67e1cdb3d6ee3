"""A small OpenAI-compatible HTTP server: ``/v1/chat/completions`` and ``/v1/moderations``.

Subclasses decide the answers. The project's handlers reach it with the official SDK through
``OPENAI_BASE_URL``, exactly as they reach OpenAI.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Payload = dict[str, Any] | bytes


def chat_completion(
    model: str,
    content: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def moderation(model: str, flagged: bool) -> dict[str, Any]:
    return {
        "id": f"modr-{uuid.uuid4().hex[:24]}",
        "model": model,
        "results": [
            {
                "flagged": flagged,
                "categories": {"harassment": flagged},
                "category_scores": {"harassment": 0.99 if flagged else 0.0},
            }
        ],
    }


def error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code}}


def user_message(body: dict[str, Any]) -> str:
    """The last user message of a chat request."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content", "")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


_CONTEXT = re.compile(r"<context>\n(.*?)\n</context>", re.DOTALL)
_QUESTION = re.compile(r"<question>\n(.*?)\n</question>", re.DOTALL)
_ENTRY = re.compile(r"^\[(\d+)\] (.+?)\n(.+?)(?=\n\n\[\d+\] |\Z)", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class ContextEntry:
    number: int
    title: str
    body: str


@dataclass(frozen=True)
class Prompt:
    question: str
    entries: tuple[ContextEntry, ...] = ()
    # Earlier questions of the conversation, oldest first, and the answers given to them.
    history: tuple[str, ...] = field(default_factory=tuple)
    answers: tuple[str, ...] = field(default_factory=tuple)


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content", "")
    return content if isinstance(content, str) else ""


def read_prompt(messages: list[dict[str, Any]]) -> Prompt:
    """The question, the numbered context and the earlier questions of a chat request."""
    users = [message_text(m) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        return Prompt(question="")
    last = users[-1]
    found = _QUESTION.search(last)
    question = found.group(1) if found else last
    context = _CONTEXT.search(last)
    entries = tuple(
        ContextEntry(int(number), title.strip(), body.strip())
        for number, title, body in _ENTRY.findall(context.group(1) if context else "")
    )
    history = tuple(
        match.group(1) for text in users[:-1] if (match := _QUESTION.search(text)) is not None
    )
    answers = tuple(
        message_text(m) for m in messages if isinstance(m, dict) and m.get("role") == "assistant"
    )
    return Prompt(question=question, entries=entries, history=history, answers=answers)


class OpenAICompatibleServer:
    models: tuple[str, ...] = ()
    # When set, only these API keys are accepted (401 invalid_api_key otherwise), as OpenAI does.
    accepted_keys: frozenset[str] | None = None

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self.keys_used: list[str] = []  # the API key of every POST, in order
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=type(self).__name__, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def complete(self, body: dict[str, Any]) -> tuple[int, Payload]:
        raise NotImplementedError

    def moderate(self, body: dict[str, Any]) -> tuple[int, Payload]:
        return 200, moderation(str(body.get("model", "omni-moderation-latest")), False)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": m, "object": "model", "owned_by": "toro"} for m in server.models]
                    self._send(200, {"object": "list", "data": data})
                else:
                    self._send(404, error(f"No route {self.path}", "invalid_request_error"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._send(400, error("The body is not JSON.", "invalid_request_error"))
                    return
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                server.keys_used.append(key)
                if server.accepted_keys is not None and key not in server.accepted_keys:
                    message = "Incorrect API key provided."
                    self._send(401, error(message, "invalid_request_error", "invalid_api_key"))
                elif not isinstance(body, dict):
                    self._send(400, error("The body must be an object.", "invalid_request_error"))
                elif self.path.endswith("/chat/completions"):
                    self._send(*server.complete(body))
                elif self.path.endswith("/moderations"):
                    self._send(*server.moderate(body))
                else:
                    self._send(404, error(f"No route {self.path}", "invalid_request_error"))

            def _send(self, status: int, payload: Payload) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
