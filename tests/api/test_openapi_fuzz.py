"""Property-based run of the OpenAPI schema: generated requests across every route.

No generated case may get a 5xx or a response that contradicts the schema (status code, content
type, headers, body). Requests carry a real access token, so the protected routes are reached.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from api.app import create_app
from core import reset
from tests.api.conftest import PASSWORD, provision_api_resources

MIN_CASES = 200
# Loading the schema starts the app, at collection, before the fixtures set the environment.
with pytest.MonkeyPatch.context() as collecting:
    collecting.setenv("ENVIRONMENT", "test")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
cases: Counter[str] = Counter()


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto import mock_aws

    with mock_aws():
        provision_api_resources()
        monkeypatch.setenv(
            "QUESTIONS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:toro-questions"
        )
        monkeypatch.setenv("RATE_LIMIT_QUESTIONS_PER_MINUTE", "1000")
        reset.clear_caches()
        client = schema.app
        from fastapi.testclient import TestClient

        with TestClient(client) as http:
            http.post("/api/v1/auth/register", json={"username": "fuzz", "password": PASSWORD})
            login = http.post("/api/v1/auth/login", json={"username": "fuzz", "password": PASSWORD})
            yield str(login.json()["access_token"])


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_requests_get_no_5xx_and_match_the_schema(case: Case[Any], token: str) -> None:
    cases[case.operation.label] += 1
    # Every request carries a valid token, which undoes the generator's "drop the required
    # Authorization header" mutation, and unknown query parameters are ignored as HTTP APIs do:
    # so "invalid data must be rejected" cannot be judged here (tests/api covers rejections).
    # A cursor is opaque: one the service never issued is refused (422) though any string fits
    # the schema, so "valid data must be accepted" cannot hold for it either.
    # Likewise a new password: the policy (zxcvbn's guessability) is more than a schema can say.
    excluded: list[CheckFunction] = [negative_data_rejection]
    if (case.query and "cursor" in case.query) or case.operation.path == "/api/v1/auth/register":
        excluded.append(positive_data_acceptance)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded)


def test_enough_cases_ran_across_all_routes(request: pytest.FixtureRequest) -> None:
    generated = [
        item
        for item in request.session.items
        if item.name.startswith("test_generated_requests_get_no_5xx_and_match_the_schema")
    ]
    if not generated:
        pytest.skip("the generated tests were not selected in this session")
    # Selected but not run (an error in the fixtures, a generator that produced nothing): fail.
    print(f"{sum(cases.values())} generated cases: {dict(cases)}")  # noqa: T201
    assert sum(cases.values()) >= MIN_CASES, cases
    assert len(cases) == len(list(schema.get_all_operations())), cases
