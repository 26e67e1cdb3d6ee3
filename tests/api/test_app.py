"""Health, start-up refusal without a real signing key, CORS, and the OpenAPI description."""

from __future__ import annotations

import boto3
import jwt
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core import reset
from core.accounts import ConfigurationError, signing_key
from core.settings import DEVELOPMENT_SIGNING_KEY
from local.dev import exposure_warning
from tests.api.conftest import Api
from tests.conftest import Telemetry


def test_health_answers_and_reaches_the_table(api: Api) -> None:
    response = api.client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "table": "reachable"}


def test_health_is_503_when_the_table_cannot_be_reached(api: Api, telemetry: Telemetry) -> None:
    boto3.client("dynamodb").delete_table(TableName="toro-assistant")
    response = api.client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "dependency_unavailable"
    assert response.headers["Retry-After"]
    # The operator's log says what was not reachable and why; the client is told neither.
    why = telemetry.read().log("Request failed")["error"]
    assert why.startswith("The table is not reachable: ") and "toro-assistant" in why
    assert "toro-assistant" not in response.text


@pytest.mark.parametrize("key", [None, DEVELOPMENT_SIGNING_KEY, "too-short"])
def test_outside_development_the_app_refuses_to_start_without_a_real_key(
    aws: str, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    if key is not None:
        monkeypatch.setenv("TOKEN_SIGNING_KEY", key)
    reset.clear_caches()
    with pytest.raises(ConfigurationError), TestClient(create_app()):
        pass


def test_outside_development_a_real_key_starts_and_signs(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("TOKEN_SIGNING_KEY", "k" * 48)
    reset.clear_caches()
    with TestClient(create_app()) as client:
        client.post("/api/v1/auth/register", json={"username": "ana", "password": "long-enough"})
        login = client.post(
            "/api/v1/auth/login", json={"username": "ana", "password": "long-enough"}
        )
        assert login.status_code == 200


def test_cors_is_same_origin_only_by_default(api: Api) -> None:
    preflight = api.client.options(
        "/api/v1/questions",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_the_configured_origins(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://app.example, https://other.example")
    reset.clear_caches()
    with TestClient(create_app()) as client:
        allowed = client.options(
            "/api/v1/questions",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        refused = client.options(
            "/api/v1/questions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in refused.headers


def test_openapi_describes_every_route_and_its_errors(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }
    assert set(operations) == {
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/sessions"),
        ("GET", "/api/v1/sessions"),
        ("POST", "/api/v1/questions"),
        ("GET", "/api/v1/questions"),
        ("GET", "/api/v1/questions/{session_id}"),
        ("GET", "/api/v1/questions/{session_id}/{question_id}"),
        ("PUT", "/api/v1/questions/{session_id}/{question_id}/feedback"),
        ("POST", "/api/v1/questions/{session_id}/{question_id}/retry"),
        ("GET", "/api/v1/knowledge/{entry_id}"),
        ("GET", "/api/v1/me/export"),
        ("POST", "/api/v1/live/ticket"),
        ("DELETE", "/api/v1/me"),
        ("GET", "/api/v1/notifications"),
        ("POST", "/api/v1/notifications/{notification_id}/read"),
        ("GET", "/api/v1/health"),
    }
    for key, operation in operations.items():
        assert "422" in operation["responses"], key
        assert operation["summary"], key
        public = key[1] == "/api/v1/health" or key[1].startswith("/api/v1/auth")
        if not public or key[1] == "/api/v1/auth/logout":
            assert "401" in operation["responses"], key
            assert operation.get("security"), key
    assert "ErrorResponse" in spec["components"]["schemas"]
    assert api.client.get("/docs").status_code == 200


def test_a_wrong_method_lists_every_method_the_path_serves(api: Api) -> None:
    response = api.client.delete("/api/v1/questions")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert api.client.put("/api/v1/sessions").headers["Allow"] == "GET, POST"


def test_without_an_environment_the_app_is_production_and_needs_a_key(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENVIRONMENT")
    reset.clear_caches()
    with pytest.raises(ConfigurationError), TestClient(create_app()):
        pass


def test_development_signs_with_a_key_of_its_own_never_the_published_one(api: Api) -> None:
    ana = api.user("ana")
    claims = jwt.decode(ana.tokens["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, DEVELOPMENT_SIGNING_KEY, algorithm="HS256")
    response = api.client.get("/api/v1/questions", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert signing_key() != DEVELOPMENT_SIGNING_KEY and len(signing_key()) >= 32


@pytest.mark.parametrize(
    ("host", "warned"),
    [
        ("127.0.0.1", False),
        ("localhost", False),
        ("::1", False),
        ("0.0.0.0", True),  # noqa: S104 - the address whose warning is tested
        ("192.168.0.10", True),
    ],
)
def test_toro_dev_warns_when_it_listens_beyond_this_machine(host: str, warned: bool) -> None:
    warning = exposure_warning(host)
    assert (warning is not None) is warned
    assert warning is None or host in warning
