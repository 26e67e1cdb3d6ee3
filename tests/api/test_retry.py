"""Trying a failed question again: the same question, back to pending, in a new execution."""

from __future__ import annotations

import json

import pytest

from core import reset
from core.models import QuestionStatus
from core.repository import QuestionRepository
from core.usage import TokenUsage
from tests.api.conftest import Api, User, error_of

QUESTIONS = "/api/v1/questions"


def failed(api: Api, user: User) -> str:
    question_id: str = api.ask(user, "Devo comprar ações?").json()["question_id"]
    api.published()  # the first hand-off
    QuestionRepository().transition(
        user.user_id, question_id, QuestionStatus.FAILED, error_code="LLMTimeout", error_message="x"
    )
    return question_id


def retry(api: Api, user: User, question_id: str) -> object:
    return api.client.post(
        f"{QUESTIONS}/{user.session_id}/{question_id}/retry", headers=user.headers
    )


def test_a_failed_question_is_tried_again_as_the_same_question(api: Api) -> None:
    ana = api.user("ana")
    question_id = failed(api, ana)

    response = retry(api, ana, question_id)
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    assert response.json()["question_id"] == question_id  # type: ignore[attr-defined]
    assert response.headers["location"].endswith(f"/{question_id}")  # type: ignore[attr-defined]
    stored = QuestionRepository().get(ana.user_id, question_id)
    assert stored.status is QuestionStatus.PENDING
    assert (stored.error_code, stored.error_message, stored.failed_at) == (None, None, None)
    assert (stored.retries, stored.execution_name) == (1, f"{question_id}-retry-1")
    [message] = [json.loads(m["Message"]) for m in api.published()]
    assert message["question_id"] == question_id
    assert message["execution_name"] == f"{question_id}-retry-1"
    # Still one question in the conversation.
    listed = api.client.get(f"{QUESTIONS}/{ana.session_id}", headers=ana.headers).json()
    assert [item["question_id"] for item in listed["items"]] == [question_id]

    # Failed again, tried again: the next execution has the next number.
    QuestionRepository().transition(ana.user_id, question_id, QuestionStatus.FAILED)
    assert retry(api, ana, question_id).status_code == 202  # type: ignore[attr-defined]
    [message] = [json.loads(m["Message"]) for m in api.published()]
    assert message["execution_name"] == f"{question_id}-retry-2"


def test_only_a_failed_or_rejected_question_is_tried_again(api: Api) -> None:
    ana = api.user("ana")
    pending = api.ask(ana, "O que é CDI?").json()["question_id"]
    response = retry(api, ana, pending)
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert error_of(response)["code"] == "not_retryable"
    bia = api.user("bia")
    assert retry(api, bia, failed(api, ana)).status_code == 404  # type: ignore[attr-defined]


def test_trying_again_counts_against_the_asker_s_limits_only(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_QUESTIONS_PER_MINUTE", "2")
    reset.clear_caches()
    ana, bia = api.user("ana"), api.user("bia")
    question_id = failed(api, ana)  # ana's first question
    assert retry(api, ana, question_id).status_code == 202  # type: ignore[attr-defined]
    QuestionRepository().transition(ana.user_id, question_id, QuestionStatus.FAILED)
    limited = retry(api, ana, question_id)  # a third in the minute
    assert limited.status_code == 429  # type: ignore[attr-defined]
    assert error_of(limited)["code"] == "rate_limited"
    assert QuestionRepository().get(ana.user_id, question_id).status is QuestionStatus.FAILED
    # Bia's limit is her own.
    assert retry(api, bia, failed(api, bia)).status_code == 202  # type: ignore[attr-defined]


def test_trying_again_is_refused_once_the_day_s_tokens_are_spent(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_TOKEN_BUDGET_PER_USER", "1000")
    reset.clear_caches()
    ana, bia = api.user("ana"), api.user("bia")
    question_id, theirs = failed(api, ana), failed(api, bia)
    TokenUsage().add(ana.user_id, 1000)
    refused = retry(api, ana, question_id)
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert "budget" in error_of(refused)["message"]
    assert retry(api, bia, theirs).status_code == 202  # type: ignore[attr-defined]
