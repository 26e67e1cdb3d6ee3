"""``toro dev``'s WebSocket server (local/live.py) keeps a connection as API Gateway does: the
page's keepalive is accepted and answered with nothing, and a connection silent both ways for
the idle time is closed with 1001, as API Gateway closes one after 10 minutes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from local import live

# Short, so the test waits seconds, not minutes; the keepalive goes four times as often.
IDLE = 1.5
KEEPALIVE = json.dumps({"action": "keepalive"})


class _Connections:
    def remove(self, connection_id: str) -> None:
        pass


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("TORO_LIVE_IDLE_SECONDS", str(IDLE))
    # The ticket's check (core/live.py) and the table are not what is tested here.
    monkeypatch.setattr(live, "connect", lambda protocols, connection_id: None)
    monkeypatch.setattr(live, "Connections", _Connections)
    app = FastAPI()
    live.install(app)
    with TestClient(app) as started:
        yield started


def only_connection() -> str:
    (connection_id,) = live._open
    return connection_id


def push(client: TestClient, connection_id: str, message: dict[str, Any]) -> int:
    return client.post(f"/@connections/{connection_id}", content=json.dumps(message)).status_code


def opened(client: TestClient) -> WebSocketTestSession:
    return client.websocket_connect("/ws", subprotocols=["toro.v1", "ticket.t"])


def test_a_silent_connection_is_closed_going_away_after_the_idle_time(client: TestClient) -> None:
    with opened(client) as socket:
        connection_id = only_connection()
        time.sleep(IDLE * 2)
        assert push(client, connection_id, {"type": "question"}) == 410
        assert socket.receive() == {"type": "websocket.close", "code": 1001, "reason": ""}
    assert live._open == {}


def test_keepalives_keep_it_open_and_get_no_answer(client: TestClient) -> None:
    with opened(client) as socket:
        connection_id = only_connection()
        until = time.monotonic() + IDLE * 3
        while time.monotonic() < until:
            socket.send_text(KEEPALIVE)
            time.sleep(IDLE / 4)
        # Still open: a push arrives, and it is the first message the client receives (nothing
        # answered the keepalives).
        assert push(client, connection_id, {"type": "question", "n": 1}) == 200
        assert json.loads(socket.receive_text()) == {"type": "question", "n": 1}
        described = client.get(f"/@connections/{connection_id}").json()
        assert described["lastActiveAt"] > described["connectedAt"]


def test_pushes_count_as_activity_too(client: TestClient) -> None:
    """API Gateway's idle time runs while no message goes either way."""
    with opened(client) as socket:
        connection_id = only_connection()
        until = time.monotonic() + IDLE * 3
        while time.monotonic() < until:
            assert push(client, connection_id, {"type": "question"}) == 200
            assert socket.receive_json() == {"type": "question"}
            time.sleep(IDLE / 4)
