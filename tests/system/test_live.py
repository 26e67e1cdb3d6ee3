"""Live updates over WebSocket against ``toro dev``: who may connect, who receives what."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from local import http
from tests.system.test_toro_dev import User
from tests.toro_dev import Dev


def ticket(dev: Dev, user: User) -> dict[str, Any]:
    response = http.call("POST", f"{dev.api_url}/api/v1/live/ticket", {}, user.token)
    assert response.status == 200, response.body
    body: dict[str, Any] = response.body
    return body


def open_live(dev: Dev, user: User) -> ClientConnection:
    given = ticket(dev, user)
    return connect(given["url"], subprotocols=given["protocols"], open_timeout=10)


def updates_until_final(socket: ClientConnection, question_id: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["status"] not in ("answered", "failed", "rejected"):
        message = json.loads(socket.recv(timeout=30))
        if message["question_id"] == question_id:
            seen.append(message)
    return seen


def refused(url: str, protocols: list[str]) -> bool:
    try:
        with connect(url, subprotocols=protocols, open_timeout=10):  # type: ignore[arg-type]
            return False
    except InvalidStatus as exc:
        return exc.response.status_code in (401, 403)


def test_the_asker_receives_each_change_and_the_answer_in_every_tab(dev: Dev) -> None:
    ana, bia = User(dev, "ana-live"), User(dev, "bia-live")
    with open_live(dev, ana) as first, open_live(dev, ana) as second, open_live(dev, bia) as other:
        assert first.subprotocol == "toro.v1"
        question_id = ana.ask("O que é o Tesouro Selic?")
        updates = updates_until_final(first, question_id)
        assert [u["status"] for u in updates] == ["processing", "answered"]
        assert "Selic" in updates[-1]["answer"]
        assert updates[-1]["sources"][0]["id"] == "tesouro-selic"
        assert updates[-1]["session_id"] == ana.session
        # The second tab gets the same; Bia gets nothing of Ana's.
        assert [u["status"] for u in updates_until_final(second, question_id)] == [
            "processing",
            "answered",
        ]
        with pytest.raises(TimeoutError):
            other.recv(timeout=1)


def test_only_a_fresh_unused_ticket_of_a_live_session_connects(dev: Dev) -> None:
    ana = User(dev, "ana-tickets")
    given = ticket(dev, ana)
    url = given["url"]
    assert refused(url, ["toro.v1"])  # no ticket
    assert refused(url, ["toro.v1", f"ticket.{ana.token}"])  # an access token is not a ticket
    assert refused(url, ["toro.v1", "ticket.not-a-ticket"])
    key = (dev.log.parent / ".toro" / "signing-key").read_text().strip()
    claims = jwt.decode(given["ticket"], key, algorithms=["HS256"], audience="toro-assistant-api")
    expired = {**claims, "exp": datetime.now(UTC) - timedelta(seconds=5)}
    assert refused(url, ["toro.v1", f"ticket.{jwt.encode(expired, key, algorithm='HS256')}"])
    with connect(url, subprotocols=given["protocols"]):
        pass
    assert refused(url, given["protocols"])  # used once already
    # A ticket of a session that has ended.
    late = ticket(dev, ana)
    assert http.call("POST", f"{dev.api_url}/api/v1/auth/logout", token=ana.token).status == 204
    assert refused(url, late["protocols"])


def test_a_gone_connection_is_forgotten_when_a_push_finds_it(dev: Dev) -> None:
    ana = User(dev, "ana-gone")
    table = dev.dynamodb()
    stale = {"pk": {"S": f"USER#{ana.user_id}"}, "sk": {"S": "WS#gone-connection"}}
    table.put_item(TableName="toro-assistant", Item={**stale, "entity": {"S": "connection"}})
    question_id = ana.ask("What is a CDB?")
    ana.wait_answered(question_id)
    deadline = time.monotonic() + 10
    while "Item" in table.get_item(TableName="toro-assistant", Key=stale):
        assert time.monotonic() < deadline, "the gone connection is still stored"
        time.sleep(0.2)
