"""The body-size limit as a server delivers bodies: declared, or streamed in chunks."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from api.app import create_app
from tests.api.conftest import Api

LIMIT = 16 * 1024


def _post(body: bytes, *, chunk: int, declared: bool) -> int:
    """POST ``body`` to the login route in ``chunk``-sized ASGI messages; the status."""
    app = create_app()
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    headers.append(
        (b"content-length", str(len(body)).encode())
        if declared
        else (b"transfer-encoding", b"chunked")
    )
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/auth/login",
        "raw_path": b"/api/v1/auth/login",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    parts = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    asyncio.run(app(scope, receive, send))
    return statuses[0]


def _json_of(size: int) -> bytes:
    """A JSON body of exactly ``size`` bytes (the API refuses it, but not for its size)."""
    head = b'{"username": "ana", "password": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    assert _post(_json_of(LIMIT + 1), chunk=4096, declared=False) == 413
    assert _post(_json_of(4 * LIMIT), chunk=1024, declared=False) == 413


def test_the_limit_is_exact_declared_or_streamed(api: Api) -> None:
    for declared in (True, False):
        assert _post(_json_of(LIMIT), chunk=4096, declared=declared) != 413, declared
        assert _post(_json_of(LIMIT + 1), chunk=4096, declared=declared) == 413, declared
