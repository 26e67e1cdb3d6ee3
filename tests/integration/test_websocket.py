"""The WebSocket API's function (AWS) with its sample events and real tickets, against moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from core.accounts import AccountRepository, Principal, TokenService
from core.errors import AuthenticationFailed
from core.live import connect, ticket_from_protocols
from core.push import Connections
from handlers import websocket
from local.lambda_gateway import LambdaContext
from tests.conftest import EVENTS, Telemetry
from tests.integration.conftest import Aws

Context = Callable[[str], LambdaContext]


def _event(name: str, **protocols: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "websocket" / f"{name}.json").read_text())
    if protocols:
        event["headers"]["Sec-WebSocket-Protocol"] = protocols["value"]
    return event


def test_the_sample_events_run_and_a_made_up_ticket_is_refused(
    aws: Aws, lambda_context: Context
) -> None:
    assert websocket.handler(_event("connect"), lambda_context("websocket")) == {"statusCode": 401}
    assert websocket.handler(_event("disconnect"), lambda_context("websocket")) == {
        "statusCode": 200
    }


def test_a_ticket_connects_once_and_the_connection_is_forgotten_at_disconnect(
    aws: Aws, lambda_context: Context
) -> None:
    accounts = AccountRepository()
    user = accounts.create_user("ana", "not-a-real-hash")
    accounts.create_session(user.user_id, "s1", "jti-1", 3600)
    ticket, _ = TokenService().socket_ticket(Principal(user_id=user.user_id, session_id="s1"), 60)
    connect = _event("connect", value=f"toro.v1, ticket.{ticket}")

    accepted = websocket.handler(connect, lambda_context("websocket"))
    assert accepted == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "toro.v1"}}
    assert Connections().of_user(user.user_id) == ["Xk2bYc0ZIAMCJ8g="]
    # The same ticket again: refused.
    assert websocket.handler(connect, lambda_context("websocket")) == {"statusCode": 401}

    websocket.handler(_event("disconnect"), lambda_context("websocket"))
    assert Connections().of_user(user.user_id) == []
    left = boto3.client("dynamodb").scan(TableName="toro-assistant")["Items"]
    assert not [item for item in left if "Xk2bYc0ZIAMCJ8g=" in json.dumps(item)]


@pytest.mark.parametrize(
    ("header", "refusal"),
    [
        (None, "The toro.v1 sub-protocol is required."),
        ("", "The toro.v1 sub-protocol is required."),
        ("ticket.abc", "The toro.v1 sub-protocol is required."),
        ("toro.v1", "One ticket is required (POST /api/v1/live/ticket)."),
        ("toro.v1, ticket.", "One ticket is required (POST /api/v1/live/ticket)."),
        ("toro.v1, ticket.a, ticket.b", "One ticket is required (POST /api/v1/live/ticket)."),
    ],
)
def test_a_connection_without_one_ticket_is_told_why(header: str | None, refusal: str) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        ticket_from_protocols(header)
    assert refused.value.message == refusal


def test_the_ticket_is_read_from_the_offered_protocols() -> None:
    assert ticket_from_protocols(" toro.v1 ,  ticket.abc.def ") == "abc.def"


def test_a_connection_is_counted_and_refusals_say_why(aws: Aws, telemetry: Telemetry) -> None:
    accounts = AccountRepository()
    user = accounts.create_user("ana", "not-a-real-hash")
    accounts.create_session(user.user_id, "s1", "jti-1", 3600)
    principal = Principal(user_id=user.user_id, session_id="s1")
    ticket, _ = TokenService().socket_ticket(principal, 60)

    assert connect(f"toro.v1, ticket.{ticket}", "c-1") == principal
    assert telemetry.read().metric("LiveConnections") == [(1.0, "Count")]
    assert Connections().of_user(user.user_id) == ["c-1"]
    with pytest.raises(AuthenticationFailed) as used:
        connect(f"toro.v1, ticket.{ticket}", "c-2")
    assert used.value.message == "The ticket was used already; ask for a new one."

    # Each ticket is used once, not every ticket once: a new one connects.
    second, _ = TokenService().socket_ticket(principal, 60)
    assert connect(f"toro.v1, ticket.{second}", "c-2") == principal
    fresh, _ = TokenService().socket_ticket(principal, 60)
    accounts.revoke_session(user.user_id, "s1")
    with pytest.raises(AuthenticationFailed) as ended:
        connect(f"toro.v1, ticket.{fresh}", "c-3")
    assert ended.value.message == "The session has ended; log in again."
    assert sorted(Connections().of_user(user.user_id)) == ["c-1", "c-2"]
