"""The API's Lambda entry point, driven with the API Gateway REST API (proxy) sample events."""

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


def with_header(event: dict[str, Any], name: str, value: str) -> None:
    event["headers"][name] = value
    event["multiValueHeaders"][name] = [value]


def with_path(event: dict[str, Any], path: str, stage: str = "dev") -> None:
    """The request to ``path`` on the stage's URL (``/<stage><path>``), as API Gateway sends it."""
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["requestContext"]["path"] = f"/{stage}{path}"


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
    if "Authorization" in event["headers"]:
        tokens = api.login("ana", PASSWORD)
        with_header(event, "Authorization", f"Bearer {tokens['access_token']}")
        with_path(event, event["path"].replace("<session-id>", tokens["session_id"]))

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
    with_path(event, path)
    with_header(event, "Accept", "text/html,*/*")

    response = lambda_handler.handler(event, lambda_context("api"))

    assert response["statusCode"] == 200
    assert content_type in response["headers"]["content-type"]
    assert response["isBase64Encoded"] is False
    assert response["body"].startswith(start)
    assert "content-security-policy" in response["headers"]


@pytest.mark.parametrize(
    ("requested", "routed", "prefix"),
    [
        ("/dev/api/v1/health", "/api/v1/health", "/dev"),
        ("/dev/", "/", "/dev"),
        ("/dev", "/", "/dev"),
        ("/api/api/v1/health", "/api/v1/health", "/api"),  # a stage named like a route
        ("/api/v1/health", "/api/v1/health", ""),  # a custom domain at its root
        (None, "/api/v1/health", ""),  # no REST request context (an HTTP API event)
    ],
)
def test_the_stage_prefix_is_what_the_browser_has_in_front_of_the_route(
    requested: str | None, routed: str, prefix: str
) -> None:
    event = {"path": routed, "requestContext": {"path": requested} if requested else {}}
    assert lambda_handler.stage_prefix(event) == prefix


def test_urls_the_app_builds_carry_the_stage_prefix(
    api: Api,
    load_event: Callable[[str], dict[str, Any]],
    lambda_context: Callable[[str], LambdaContext],
) -> None:
    api.user("ana")
    login = load_event("api/login")
    with_path(login, "/api/v1/auth/login")
    login["queryStringParameters"] = {"refresh_cookie": "true"}
    login["multiValueQueryStringParameters"] = {"refresh_cookie": ["true"]}
    response = lambda_handler.handler(login, lambda_context("api"))
    assert response["statusCode"] == 200, response["body"]
    cookie = response["headers"].get("set-cookie") or response["multiValueHeaders"]["set-cookie"]
    assert "Path=/dev/api/v1/auth/refresh" in cookie  # the browser's path to the route

    for path, base in (("/", "/dev/"), ("/docs", "/dev/")):
        event = load_event("api/health")
        with_path(event, path)
        page = lambda_handler.handler(event, lambda_context("api"))
        assert page["statusCode"] == 200, path
        assert f'<base href="{base}">' in page["body"], path
    # Without the trailing slash too: the page's relative URLs resolve under the stage.
    bare = load_event("api/health")
    with_path(bare, "/")
    bare["requestContext"]["path"] = "/dev"
    assert '<base href="/dev/">' in lambda_handler.handler(bare, lambda_context("api"))["body"]

    asked = load_event("api/post_question")
    with_header(asked, "Authorization", f"Bearer {json.loads(response['body'])['access_token']}")
    accepted = lambda_handler.handler(asked, lambda_context("api"))
    assert accepted["statusCode"] == 202, accepted["body"]
    assert accepted["headers"]["location"].startswith("/dev/api/v1/questions/")

    schema = load_event("api/health")
    with_path(schema, "/openapi.json")
    spec = json.loads(lambda_handler.handler(schema, lambda_context("api"))["body"])
    assert spec["servers"] == [{"url": "/dev"}]  # Swagger UI's "Try it out" goes there
