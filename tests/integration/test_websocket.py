"""The WebSocket API's function (AWS) with its sample events and real tickets, against moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3

from core.accounts import AccountRepository, Principal, TokenService
from core.push import Connections
from handlers import websocket
from local.lambda_gateway import LambdaContext
from tests.conftest import EVENTS
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
