"""An OpenAI-compatible HTTP server that answers from a script, for tests.

The real SDK talks to it over HTTP, so the project's error mapping, timeouts and idempotency are
exercised exactly as against OpenAI. A script is a list of outcomes keyed by a marker string: a
request whose user message contains the marker gets the next outcome of that list (the last one
repeats). Requests with no matching marker are answered normally.

Outcomes: ``ok``, ``rate_limit`` (429), ``quota`` (429 insufficient_quota), ``auth`` (401),
``bad_request`` (400), ``server_error`` (500), ``slow`` (answers after ``slow_seconds``) and
``malformed`` (200 with a body that is not JSON).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OUTCOMES = frozenset(
    {"ok", "rate_limit", "quota", "auth", "bad_request", "server_error", "slow", "malformed"}
)

_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "rate_limit": (
        429,
        {
            "message": "Rate limit reached for requests. Please try again in 1s.",
            "type": "requests",
            "code": "rate_limit_exceeded",
        },
    ),
    "quota": (
        429,
        {
            "message": "You exceeded your current quota, please check your plan and billing.",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        },
    ),
    "auth": (
        401,
        {
            "message": "Incorrect API key provided.",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        },
    ),
    "bad_request": (
        400,
        {"message": "Invalid request.", "type": "invalid_request_error", "code": None},
    ),
    "server_error": (
        500,
        {"message": "The server had an error.", "type": "server_error", "code": None},
    ),
}


@dataclass(frozen=True)
class Call:
    path: str
    text: str
    outcome: str


class ScriptedOpenAI:
    def __init__(self, *, host: str = "127.0.0.1", slow_seconds: float = 3.0) -> None:
        self.slow_seconds = slow_seconds
        self._scripts: dict[str, list[str]] = {}
        self._flagged: set[str] = set()
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> ScriptedOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, marker: str, outcomes: list[str]) -> None:
        unknown = set(outcomes) - OUTCOMES
        if unknown or not outcomes:
            raise ValueError(f"Unknown outcomes {sorted(unknown)}; choose from {sorted(OUTCOMES)}")
        with self._lock:
            self._scripts[marker] = list(outcomes)

    def flag(self, marker: str) -> None:
        """Moderation flags any input containing ``marker``."""
        with self._lock:
            self._flagged.add(marker)

    def calls_for(self, marker: str, path: str = "/v1/chat/completions") -> list[Call]:
        with self._lock:
            return [call for call in self.calls if marker in call.text and call.path == path]

    def completions_billed(self, marker: str) -> int:
        """Completions that were answered (and so would have been paid for)."""
        return sum(1 for call in self.calls_for(marker) if call.outcome in ("ok", "slow"))

    def _next_outcome(self, text: str) -> str:
        with self._lock:
            for marker, outcomes in self._scripts.items():
                if marker in text:
                    return outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        return "ok"

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "Body is not JSON."}})
                    return
                if self.path.endswith("/chat/completions"):
                    self._completion(body)
                elif self.path.endswith("/moderations"):
                    self._moderation(body)
                else:
                    self._json(404, {"error": {"message": f"No route {self.path}"}})

            def _completion(self, body: dict[str, Any]) -> None:
                messages = body.get("messages", [])
                text = next(
                    (m.get("content", "") for m in reversed(messages) if m.get("role") == "user"),
                    "",
                )
                outcome = scripted._next_outcome(text)
                scripted._record(Call(self.path, text, outcome))
                if outcome in _ERRORS:
                    status, error = _ERRORS[outcome]
                    self._json(status, {"error": error})
                    return
                if outcome == "malformed":
                    self._raw(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
                    return
                if outcome == "slow":
                    time.sleep(scripted.slow_seconds)
                answer = f"Scripted answer to: {text}"
                prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
                self._json(
                    200,
                    {
                        "id": f"chatcmpl-{len(scripted.calls)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "scripted"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": answer},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": len(answer.split()),
                            "total_tokens": prompt_tokens + len(answer.split()),
                        },
                    },
                )

            def _moderation(self, body: dict[str, Any]) -> None:
                raw = body.get("input", "")
                text = raw if isinstance(raw, str) else json.dumps(raw)
                with scripted._lock:
                    flagged = any(marker in text for marker in scripted._flagged)
                scripted._record(Call(self.path, text, "flagged" if flagged else "ok"))
                categories = defaultdict(bool, {"harassment": flagged})
                self._json(
                    200,
                    {
                        "id": "modr-scripted",
                        "model": body.get("model", "omni-moderation-latest"),
                        "results": [
                            {
                                "flagged": flagged,
                                "categories": dict(categories),
                                "category_scores": {"harassment": 0.99 if flagged else 0.0},
                            }
                        ],
                    },
                )

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                self._raw(status, json.dumps(payload).encode(), "application/json")

            def _raw(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
