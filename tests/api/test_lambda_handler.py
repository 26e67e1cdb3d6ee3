"""The API's Lambda entry point, driven with the API Gateway HTTP API (v2) sample events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from api import lambda_handler
from local.lambda_gateway import LambdaContext
from tests.api.conftest import PASSWORD, Api
from tests.conftest import sample_events

# What each sample event must answer once its placeholders are filled in.
EXPECTED_STATUS = {
    "health": 200,
    "register": 201,
    "login": 200,
    "post_question": 202,
    "list_questions": 200,
    "list_notifications": 200,
}


@pytest.fixture(autouse=True)
def fresh_adapter() -> None:
    lambda_handler._adapter.cache_clear()


def test_every_api_event_is_covered() -> None:
    assert {path.stem for path in sample_events("api")} == set(EXPECTED_STATUS)


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_each_sample_event_through_the_lambda_handler(
    api: Api,
    load_event: Callable[[str], dict[str, Any]],
    lambda_context: Callable[[str], LambdaContext],
    name: str,
) -> None:
    if name != "register":
        api.user("ana")
    event = load_event(f"api/{name}")
    if "authorization" in event["headers"]:
        tokens = api.login("ana", PASSWORD)
        event["headers"]["authorization"] = f"Bearer {tokens['access_token']}"
        for key in ("rawPath",):
            event[key] = event[key].replace("<session-id>", tokens["session_id"])
        event["requestContext"]["http"]["path"] = event["rawPath"]

    response = lambda_handler.handler(event, lambda_context("api"))

    assert response["statusCode"] == EXPECTED_STATUS[name], response.get("body")
    body = json.loads(response["body"])
    assert "error" not in body
    assert response["headers"]["content-type"] == "application/json"


def test_errors_come_back_as_the_error_body_not_a_crash(
    api: Api,
    load_event: Callable[[str], dict[str, Any]],
    lambda_context: Callable[[str], LambdaContext],
) -> None:
    event = load_event("api/post_question")  # its token is a placeholder: refused
    response = lambda_handler.handler(event, lambda_context("api"))
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("path", "content_type", "start"),
    [
        ("/", "text/html; charset=utf-8", "<!doctype html>"),
        ("/static/app.js", "javascript", "// Toro Assistant"),
        ("/static/app.css", "text/css", "/* Toro Assistant"),
    ],
)
def test_the_web_page_is_served_through_the_lambda_handler(
    api: Api,
    load_event: Callable[[str], dict[str, Any]],
    lambda_context: Callable[[str], LambdaContext],
    path: str,
    content_type: str,
    start: str,
) -> None:
    event = load_event("api/health")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["headers"]["accept"] = "text/html,*/*"

    response = lambda_handler.handler(event, lambda_context("api"))

    assert response["statusCode"] == 200
    assert content_type in response["headers"]["content-type"]
    assert response["isBase64Encoded"] is False
    assert response["body"].startswith(start)
    assert "content-security-policy" in response["headers"]
