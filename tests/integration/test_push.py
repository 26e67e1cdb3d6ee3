"""Pushing a question's update to its user's WebSocket connections, against moto's API Gateway
Management API: what each connection receives, to whom, and never an error for the workflow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core.models import DEFAULT_ACCOUNT_ID

from core import reset
from core.models import AnswerReady, Question, QuestionStatus, Source, ValidateTask
from core.push import Connections, push_question, push_question_by_id
from core.repository import QuestionRepository
from core.steps import record_notification, validate_question
from tests.conftest import Telemetry
from tests.integration.conftest import Aws, hooked

ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com"


def received(connection_id: str) -> list[dict[str, Any]]:
    """The updates a connection received (moto keeps what was posted to it, end to end)."""
    backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    data = backend.connections[connection_id].data.decode()
    return [json.loads(line) for line in data.replace("}{", "}\n{").splitlines()]


@pytest.fixture
def live(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Connections:
    monkeypatch.setenv("WEBSOCKET_ENDPOINT", ENDPOINT)
    reset.clear_caches()
    connections = Connections()
    connections.add("ana", "ana-tab-1")
    connections.add("ana", "ana-tab-2")
    connections.add("bia", "bia-tab")
    return connections


def _answered() -> Question:
    repository = QuestionRepository()
    question = repository.create(Question(user_id="ana", session_id="s1", text="O que é CDI?"))
    repository.transition("ana", question.question_id, QuestionStatus.PROCESSING)
    return repository.transition(
        "ana",
        question.question_id,
        QuestionStatus.ANSWERED,
        answer="O CDI é a taxa dos empréstimos entre bancos. [1]",
        sources=[Source(id="cdi", title="CDI", url="https://example.com/cdi").model_dump()],
        grounded=True,
        kb_version="kb-1",
        from_cache=False,
        model="gpt-4o-mini",
        llm_latency_ms=840,
    )


def test_an_answer_reaches_every_connection_of_its_user_and_no_one_else(
    live: Connections, telemetry: Telemetry
) -> None:
    question = _answered()
    assert push_question(question) == 2
    assert telemetry.read().metric("UpdatesPushed") == [(2.0, "Count")]
    expected = {
        "type": "question",
        "question_id": question.question_id,
        "session_id": "s1",
        "status": "answered",
        "updated_at": question.updated_at.isoformat(),
        "answer": "O CDI é a taxa dos empréstimos entre bancos. [1]",
        "sources": [{"id": "cdi", "title": "CDI", "url": "https://example.com/cdi"}],
        "grounded": True,
        "kb_version": "kb-1",
        "from_cache": False,
        "model": "gpt-4o-mini",
        "latency_ms": 840,
    }
    assert received("ana-tab-1") == received("ana-tab-2") == [expected]
    assert received("bia-tab") == []


def test_a_failed_question_carries_its_error_and_no_answer(live: Connections) -> None:
    repository = QuestionRepository()
    question = repository.create(Question(user_id="bia", session_id="s2", text="Oi?"))
    repository.transition("bia", question.question_id, QuestionStatus.PROCESSING)
    repository.transition(
        "bia",
        question.question_id,
        QuestionStatus.FAILED,
        error_code="LLMTimeout",
        error_message="The assistant's model took too long to answer. Please ask again.",
    )
    assert push_question_by_id("bia", question.question_id) == 1
    [update] = received("bia-tab")
    assert update["status"] == "failed" and "answer" not in update
    assert update["error"] == {
        "code": "LLMTimeout",
        "message": "The assistant's model took too long to answer. Please ask again.",
    }


def test_a_question_in_progress_carries_its_status_only(live: Connections) -> None:
    repository = QuestionRepository()
    question = repository.create(Question(user_id="bia", session_id="s2", text="Oi?"))
    processing = repository.transition("bia", question.question_id, QuestionStatus.PROCESSING)
    assert push_question(processing) == 1
    [update] = received("bia-tab")
    assert set(update) == {"type", "question_id", "session_id", "status", "updated_at"}
    assert update["status"] == "processing"


def test_validating_a_question_pushes_that_it_is_being_answered(live: Connections) -> None:
    question = QuestionRepository().create(Question(user_id="bia", session_id="s2", text="Oi?"))
    validate_question(ValidateTask(user_id="bia", question_id=question.question_id))
    [update] = received("bia-tab")
    assert (update["question_id"], update["status"]) == (question.question_id, "processing")
    assert received("ana-tab-1") == []


def test_pushing_never_fails_the_caller(
    live: Connections, monkeypatch: pytest.MonkeyPatch, telemetry: Telemetry
) -> None:
    assert push_question_by_id("ana", "01JDXQ3M7T4W5Y8Z9A0B1C2D3Z") == 0  # no such question
    missing = telemetry.read().log("The update could not be pushed")
    assert "01JDXQ3M7T4W5Y8Z9A0B1C2D3Z" in missing["error"]
    assert telemetry.metric("PushFailures") == []  # nothing to push is not a failure

    monkeypatch.setenv("WEBSOCKET_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    reset.clear_caches()
    question = _answered()
    failed = telemetry.fresh()
    assert push_question(question) == 0
    failed.read()
    assert failed.metric("PushFailures") == [(1.0, "Count")]
    assert failed.metric("UpdatesPushed") == []
    assert "127.0.0.1:9" in failed.log("The update could not be pushed")["error"]


def test_without_a_websocket_api_nothing_is_pushed(aws: Aws) -> None:
    Connections().add("ana", "ana-tab-1")
    question = _answered()
    assert push_question(question) == 0
    assert push_question_by_id("ana", question.question_id) == 0
    backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    assert "ana-tab-1" not in backend.connections


def test_notifying_the_user_stores_counts_logs_and_pushes_the_answer(
    live: Connections, telemetry: Telemetry
) -> None:
    question = _answered()
    ready = AnswerReady(
        question_id=question.question_id,
        user_id="ana",
        status=QuestionStatus.ANSWERED,
        message="Your answer is ready.",
    )
    notification = record_notification(ready)
    assert (notification.question_id, notification.status) == (
        question.question_id,
        QuestionStatus.ANSWERED,
    )
    seen = telemetry.read()
    assert seen.metric("UsersNotified") == [(1.0, "Count")]
    logged = seen.log("User notified")
    assert (logged["notification_id"], logged["status"]) == (question.question_id, "answered")
    [update] = received("ana-tab-1")
    assert (update["question_id"], update["status"]) == (question.question_id, "answered")
    assert update["answer"] == question.answer
    assert received("bia-tab") == []


@pytest.fixture
def gone_connections() -> Iterator[None]:
    """API Gateway answers 410 Gone for connections whose id starts with 'gone' (closed by the
    client); moto keeps every connection, so the answer is given before the call is sent."""

    def gone(params: dict[str, Any], **_: Any) -> Any:  # botocore uses what it returns
        if "/@connections/gone" not in str(params.get("url_path", "")):
            return None
        error = {"Code": "GoneException", "Message": "the connection is gone"}
        return AWSResponse(ENDPOINT, 410, {}, None), {  # type: ignore[arg-type]
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": 410},
        }

    events = boto3._get_default_session().events
    events.register(GONE_EVENT, gone)
    try:
        yield
    finally:
        events.unregister(GONE_EVENT, gone)


GONE_EVENT = "before-call.apigatewaymanagementapi.PostToConnection"


def test_a_connection_that_has_gone_is_forgotten(live: Connections, gone_connections: None) -> None:
    live.add("ana", "gone-tab")
    assert sorted(live.of_user("ana")) == ["ana-tab-1", "ana-tab-2", "gone-tab"]
    answered = _answered()
    reads: list[str] = []

    def count_reads(params: dict[str, Any], **_: Any) -> None:
        reads.append(params["Key"]["pk"]["S"])

    with hooked("before-parameter-build.dynamodb.GetItem", count_reads):
        assert push_question(answered) == 2  # the two open tabs
    assert reads == []  # whose connection it was is known: forgotten without reading it
    assert sorted(live.of_user("ana")) == ["ana-tab-1", "ana-tab-2"]
    left = json.dumps(boto3.client("dynamodb").scan(TableName="toro-assistant")["Items"])
    assert "gone-tab" not in left  # both of its items went
