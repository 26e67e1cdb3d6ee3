"""Less to attackers: security headers, CORS on refusals, no internal ids in errors, invisible
questions refused."""

from __future__ import annotations

import boto3
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core import reset
from tests.api.conftest import Api

QUESTIONS = "/api/v1/questions"


def test_api_answers_are_never_cached_and_carry_the_security_headers(api: Api) -> None:
    ana = api.user("ana")
    for response in (
        api.client.post("/api/v1/auth/login", json={"username": "ana", "password": "x" * 9}),
        api.client.get(QUESTIONS, headers=ana.headers),
        api.client.get(f"{QUESTIONS}/{ana.session_id}/01NOSUCHQUESTION", headers=ana.headers),
    ):
        assert response.headers["cache-control"] == "no-store", response.url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # plain HTTP here


def test_hsts_when_the_request_came_over_https(api: Api) -> None:
    response = api.client.get("/api/v1/health", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_page_keeps_its_own_cache_policy(api: Api) -> None:
    page = api.client.get("/")
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_refused_body_still_carries_cors_headers(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://app.example")
    reset.clear_caches()
    with TestClient(create_app()) as client:
        response = client.post(
            QUESTIONS,
            content=b"{" + b" " * 20_000 + b"}",
            headers={"Origin": "https://app.example", "Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == "https://app.example"


def test_an_unknown_question_does_not_name_the_internal_user_id(api: Api) -> None:
    ana = api.user("ana")
    response = api.client.get(f"{QUESTIONS}/{ana.session_id}/01NOSUCHQUESTION", headers=ana.headers)
    assert response.status_code == 404
    assert ana.user_id not in response.text
    assert response.json()["error"]["message"] == "Question 01NOSUCHQUESTION does not exist."


@pytest.mark.parametrize("text", ["\u200b", "\u200b\u200c\u200d\ufeff", " \u2060 \u00ad "])
def test_a_question_of_invisible_characters_is_empty(api: Api, text: str) -> None:
    ana = api.user("ana")
    response = api.ask(ana, text)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["reason"] == "The question is empty."
    assert api.published() == []


def test_invisible_characters_around_a_question_are_trimmed(api: Api) -> None:
    ana = api.user("ana")
    accepted = api.ask(ana, "\u200bO que é CDB?\ufeff")
    assert accepted.status_code == 202
    one = api.client.get(accepted.headers["Location"], headers=ana.headers).json()
    assert one["question"] == "O que é CDB?"


def test_a_5xx_names_no_table_endpoint_or_sdk_error(api: Api) -> None:
    ana = api.user("ana")
    boto3.client("dynamodb").delete_table(TableName="toro-assistant")
    health = api.client.get("/api/v1/health")
    listed = api.client.get(QUESTIONS, headers=ana.headers)
    assert health.status_code == 503
    assert health.json()["error"]["message"].startswith("A service the API needs")
    assert listed.status_code >= 500
    for response in (health, listed):
        for leak in ("toro-assistant", "ResourceNotFound", "127.0.0.1", "botocore", "arn:aws"):
            assert leak not in response.text, (leak, response.text)


def test_only_the_allowed_hosts_are_answered_when_set(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "api.example.com")
    reset.clear_caches()
    with TestClient(create_app(), base_url="https://api.example.com") as client:
        assert client.get("/api/v1/health").status_code == 200
        # A redirect (the trailing slash) stays on the allowed host...
        redirect = client.get("/api/v1/questions/", follow_redirects=False)
        assert redirect.headers["location"].startswith("https://api.example.com/")
        # ...and a forged Host header is refused before anything is built from it.
        forged = client.get("/api/v1/questions/", headers={"Host": "evil.example"})
        assert forged.status_code == 400
        assert "evil.example" not in forged.headers.get("location", "")


def test_the_docs_page_and_its_assets_come_from_the_app_under_a_policy(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "cdn" not in page.text and "<script>" not in page.text  # no CDN, no inline script
    for asset in ("vendor/swagger-ui/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui.css"):
        served = api.client.get(f"/static/{asset}")
        assert served.status_code == 200, asset
        assert served.headers["content-security-policy"] == policy
    assert api.client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_docs_and_schema_can_be_turned_off(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_DOCS", "false")
    reset.clear_caches()
    with TestClient(create_app()) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/api/v1/health").status_code == 200
