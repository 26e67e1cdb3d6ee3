"""Requests per second of the API in-process against moto, next to a bare FastAPI endpoint.

Both apps run in this process behind the same TestClient, so HTTP framing and the test
transport cost the same on both sides. The bare endpoints do the same pydantic validation and
response serialisation and nothing else (no token, no DynamoDB, no SNS): the ratio is what the
service's own work costs.

- POST /api/v1/questions: verify the token, rate-limit (one DynamoDB update), store the question
  (one conditional put), publish to SNS.
- GET /api/v1/questions/{session_id}?limit=20: verify the token, check the session (one read),
  one Query for 20 questions.

Usage: python -m bench.api_throughput [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI, status
from fastapi.testclient import TestClient
from moto import mock_aws

from api.app import create_app
from api.schemas import QuestionAccepted, QuestionCreate, QuestionList, QuestionPublic
from core import reset
from core.models import QuestionStatus
from core.observability import metrics
from tests.api.conftest import provision_api_resources


def bare_app(listing: QuestionList) -> FastAPI:
    app = FastAPI()

    @app.post(
        "/bare/questions", status_code=status.HTTP_202_ACCEPTED, response_model=QuestionAccepted
    )
    def ask(body: QuestionCreate) -> QuestionAccepted:
        return QuestionAccepted(
            question_id="01M8K66YGJ7P49CR8BYPNAE45P",
            session_id="01M8K66YGJ7P49CR8BYPNAE45Q",
            status=QuestionStatus.PENDING,
            created_at=datetime.now(UTC),
        )

    @app.get("/bare/questions/{session_id}", response_model=QuestionList)
    def list_questions(session_id: str, limit: int = 20) -> QuestionList:
        return listing

    return app


def rate(call: Callable[[int], int], requests: int) -> float:
    started = time.perf_counter()
    for index in range(requests):
        status_code = call(index)
        if status_code >= 400:
            raise RuntimeError(f"Request {index} answered {status_code}")
    return requests / (time.perf_counter() - started)


def run(requests: int, rounds: int) -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        QUESTIONS_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:toro-questions",
        RATE_LIMIT_QUESTIONS_PER_MINUTE="1000000",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.setdefault("ENVIRONMENT", "development")  # moto in-process: development
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        provision_api_resources()
        reset.clear_caches()
        with (
            TestClient(create_app()) as service,
            TestClient(bare_app(QuestionList(items=[]))) as bare,
        ):
            credentials = {"username": "bench", "password": "correct horse battery"}
            service.post("/api/v1/auth/register", json=credentials)
            tokens = service.post("/api/v1/auth/login", json=credentials).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            session = tokens["session_id"]
            for n in range(20):  # a history of 20 to list
                service.post("/api/v1/questions", json={"question": f"Seed {n}?"}, headers=headers)
            listed = service.get(f"/api/v1/questions/{session}?limit=20", headers=headers).json()
            assert len(listed["items"]) == 20
            bare_listing = QuestionList(
                items=[QuestionPublic.model_validate(item) for item in listed["items"]]
            )
            bare = TestClient(bare_app(bare_listing))
            metrics.clear_metrics()

            question = {"question": "O que é o Tesouro Selic e como ele rende?"}
            cases: dict[str, tuple[Callable[[int], int], Callable[[int], int]]] = {
                "POST /questions": (
                    lambda i: (
                        service.post(
                            "/api/v1/questions", json=question, headers=headers
                        ).status_code
                    ),
                    lambda i: bare.post("/bare/questions", json=question).status_code,
                ),
                "GET /questions/{session_id}": (
                    lambda i: (
                        service.get(
                            f"/api/v1/questions/{session}?limit=20", headers=headers
                        ).status_code
                    ),
                    lambda i: bare.get(f"/bare/questions/{session}?limit=20").status_code,
                ),
            }
            results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in cases}
            for round_number in range(1, rounds + 1):
                for name, (service_call, bare_call) in cases.items():
                    results[name][0].append(rate(service_call, requests))
                    results[name][1].append(rate(bare_call, requests))
                    metrics.clear_metrics()  # no Lambda invocation flushes them here
                print(f"  round {round_number}/{rounds} done", flush=True)

    print()
    print(f"{requests} sequential requests per measurement, median of {rounds} rounds")
    print(f"{'route':<30}{'service req/s':>15}{'bare req/s':>13}{'bare/service':>14}")
    for name, (service_rates, bare_rates) in results.items():
        service_rps, bare_rps = statistics.median(service_rates), statistics.median(bare_rates)
        print(f"{name:<30}{service_rps:>15.1f}{bare_rps:>13.1f}{bare_rps / service_rps:>13.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run(args.requests, args.rounds)


if __name__ == "__main__":
    main()
