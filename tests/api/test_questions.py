"""Asking and reading questions through the API, against moto."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from core.errors import RateLimited
from core.models import QuestionStatus
from core.rate_limit import RateLimiter
from core.repository import QuestionRepository
from tests.api.conftest import Api, User, error_of
from tests.conftest import Telemetry

QUESTIONS = "/api/v1/questions"


def test_asking_stores_a_pending_question_and_publishes_it(api: Api) -> None:
    ana = api.user("ana")
    response = api.ask(ana, "  O que é o Tesouro Selic?  ")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["session_id"] == ana.session_id
    assert response.headers["Location"] == f"{QUESTIONS}/{ana.session_id}/{body['question_id']}"
    stored = QuestionRepository().get(ana.user_id, body["question_id"])
    assert stored.text == "O que é o Tesouro Selic?"
    assert stored.status is QuestionStatus.PENDING
    [published] = api.published()
    message = json.loads(published["Message"])
    assert message == {
        "question_id": body["question_id"],
        "user_id": ana.user_id,
        "session_id": ana.session_id,
    }
    assert published["MessageAttributes"]["user_id"]["Value"] == ana.user_id


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"question": ""}, "question", "The question is empty."),
        ({"question": "   \n\t "}, "question", "The question is empty."),
        ({"question": "a" * 2001}, "question", "at most 2000 characters"),
        ({"question": "Olá\x00mundo"}, "question", "control character"),
        ({"question": 12}, "question", "string"),
        ({"question": None}, "question", "string"),
        ({}, "question", "required"),
        ({"question": "ok?", "priority": "high"}, "priority", "not permitted"),
        ([], "body", "dictionary"),
    ],
)
def test_bad_questions_are_refused_with_the_field_and_reason(
    api: Api, payload: Any, field: str, reason: str
) -> None:
    ana = api.user("ana")
    response = api.client.post(QUESTIONS, json=payload, headers=ana.headers)
    assert response.status_code == 422
    [detail] = error_of(response)["details"]
    assert detail["field"] == field
    assert reason in detail["reason"]
    assert api.published() == []


def test_a_body_over_16_kib_is_413(api: Api) -> None:
    ana = api.user("ana")
    big = json.dumps({"question": "x" * 17_000})
    response = api.client.post(
        QUESTIONS, content=big, headers={**ana.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_an_idempotency_key_replay_creates_one_question_and_one_message(api: Api) -> None:
    ana = api.user("ana")
    first = api.ask(ana, "Quanto rende a poupança?", **{"Idempotency-Key": "k-123"})
    again = api.ask(ana, "Quanto rende a poupança?", **{"Idempotency-Key": "k-123"})

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first.headers["Location"] == again.headers["Location"]
    listed = api.client.get(f"{QUESTIONS}/{ana.session_id}", headers=ana.headers).json()
    assert len(listed["items"]) == 1
    assert len(api.published()) == 1


def test_each_idempotency_key_stands_for_its_own_question(api: Api) -> None:
    ana = api.user("ana")
    first = api.ask(ana, "O que é CDB?", **{"Idempotency-Key": "k-1"})
    second = api.ask(ana, "O que é LCI?", **{"Idempotency-Key": "k-2"})
    same_text = api.ask(ana, "O que é CDB?", **{"Idempotency-Key": "k-3"})
    assert [r.status_code for r in (first, second, same_text)] == [202, 202, 202]
    ids = {r.json()["question_id"] for r in (first, second, same_text)}
    assert len(ids) == 3
    assert len(api.published()) == 3


def test_an_idempotency_key_reused_for_another_question_is_refused(api: Api) -> None:
    ana = api.user("ana")
    assert api.ask(ana, "Primeira?", **{"Idempotency-Key": "k-9"}).status_code == 202
    response = api.ask(ana, "Outra pergunta?", **{"Idempotency-Key": "k-9"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "idempotency_key_reused"
    assert error_of(response)["message"] == (
        "This Idempotency-Key was already used with a different question."
    )
    assert error_of(response)["details"][0]["field"] == "Idempotency-Key"


def test_an_idempotency_key_repeated_while_its_request_runs_answers_409(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request is held while it stores the question; the repeat is told to wait, then
    gets the first request's question once that finished."""
    ana = api.user("ana")
    storing, release = threading.Event(), threading.Event()
    create = QuestionRepository.create

    def slow_create(self: QuestionRepository, question: Any) -> Any:
        storing.set()
        release.wait(timeout=30)
        return create(self, question)

    monkeypatch.setattr(QuestionRepository, "create", slow_create)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(api.ask, ana, "Demora?", **{"Idempotency-Key": "slow"})
        try:
            assert storing.wait(timeout=30)
            repeated = api.ask(ana, "Demora?", **{"Idempotency-Key": "slow"})
        finally:
            release.set()
        answered = first.result(timeout=30)

    assert repeated.status_code == 409
    assert error_of(repeated)["code"] == "idempotency_in_progress"
    assert error_of(repeated)["message"] == (
        "A request with this Idempotency-Key is still being processed."
    )
    assert answered.status_code == 202
    again = api.ask(ana, "Demora?", **{"Idempotency-Key": "slow"})
    assert again.status_code == 202
    assert again.json()["question_id"] == answered.json()["question_id"]
    assert len(api.published()) == 1


def test_idempotency_keys_belong_to_their_user(api: Api) -> None:
    ana, bia = api.user("ana"), api.user("bia")
    mine = api.ask(ana, "Mesma pergunta?", **{"Idempotency-Key": "shared"}).json()
    theirs = api.ask(bia, "Mesma pergunta?", **{"Idempotency-Key": "shared"}).json()
    assert mine["question_id"] != theirs["question_id"]


def test_the_per_user_rate_limit_answers_429_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_QUESTIONS_PER_MINUTE", "3")
    from core import reset

    reset.clear_caches()
    ana, bia = api.user("ana"), api.user("bia")
    for n in range(3):
        assert api.ask(ana, f"Pergunta {n}?").status_code == 202
    limited = api.ask(ana, "Mais uma?")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert error_of(limited)["code"] == "rate_limited"
    assert api.ask(bia, "E eu?").status_code == 202  # per user
    assert len(api.published()) == 4


def test_a_failed_publish_answers_503_and_leaves_a_marked_question_to_resend(
    api: Api, monkeypatch: pytest.MonkeyPatch, telemetry: Telemetry
) -> None:
    from core import reset

    ana = api.user("ana")
    monkeypatch.setenv("QUESTIONS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:missing")
    monkeypatch.setenv("PUBLISH_ATTEMPTS", "3")
    reset.clear_caches()
    telemetry = telemetry.read().fresh()  # the sign-up and login left out
    failed = api.ask(ana, "Vai falhar?", **{"Idempotency-Key": "retry-me"})
    assert failed.status_code == 503
    assert failed.headers["Retry-After"]
    assert error_of(failed)["code"] == "publish_failed"
    [stored] = QuestionRepository().list_for_user(ana.user_id, limit=10).items
    assert error_of(failed)["message"] == (
        f"Question {stored.question_id} is saved but could not be queued for an answer; it will "
        "be sent automatically. Retrying with the same Idempotency-Key sends it now."
    )
    telemetry.read()
    tries = [log for log in telemetry.logs if log["message"] == "Publishing the question failed"]
    assert [log["attempt"] for log in tries] == [1, 2, 3]
    assert telemetry.metric("QuestionDispatchFailures") == [(1.0, "Count")]
    assert telemetry.metric("QuestionsSubmitted") == [(1.0, "Count")]  # stored all the same
    assert stored.status is QuestionStatus.PENDING
    assert stored.dispatch_failed_at is not None

    monkeypatch.setenv("QUESTIONS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:toro-questions")
    reset.clear_caches()
    retried = api.ask(ana, "Vai falhar?", **{"Idempotency-Key": "retry-me"})
    assert retried.status_code == 202
    assert retried.json()["question_id"] == stored.question_id
    assert len(api.published()) == 1
    resent = QuestionRepository().get(ana.user_id, stored.question_id)
    assert resent.dispatch_failed_at is None


def test_listing_is_newest_first_paginated_and_filterable(api: Api) -> None:
    ana = api.user("ana")
    asked = [api.ask(ana, f"Pergunta número {n}?").json()["question_id"] for n in range(5)]
    url = f"{QUESTIONS}/{ana.session_id}"

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(url, params=params, headers=ana.headers).json()
        seen += [item["question_id"] for item in page["items"]]
        pages += 1
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == list(reversed(asked))
    assert pages == 3

    repository = QuestionRepository()
    repository.transition(ana.user_id, asked[1], QuestionStatus.REJECTED, error_code="x")
    rejected = api.client.get(url, params={"status": "rejected"}, headers=ana.headers).json()
    assert [item["question_id"] for item in rejected["items"]] == [asked[1]]
    assert rejected["items"][0]["error"] == {"code": "x", "message": None}
    pending = api.client.get(url, params={"status": "pending", "limit": 3}, headers=ana.headers)
    assert [i["question_id"] for i in pending.json()["items"]] == [asked[4], asked[3], asked[2]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJhZnRlciI6IlVTRVIjb3RoZXIifQ"}, "cursor"),
        ({"status": "lost"}, "status"),
    ],
)
def test_bad_list_parameters_are_422(api: Api, params: dict[str, Any], field: str) -> None:
    ana = api.user("ana")
    response = api.client.get(f"{QUESTIONS}/{ana.session_id}", params=params, headers=ana.headers)
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == field
    if field == "cursor":  # made up, or one this service never issued: the same words
        assert error_of(response)["details"][0]["reason"] == "The cursor is not valid."


def test_one_question_shows_its_status_answer_and_timestamps(api: Api) -> None:
    ana = api.user("ana")
    question_id = api.ask(ana, "O que é um ETF?").json()["question_id"]
    repository = QuestionRepository()
    repository.transition(ana.user_id, question_id, QuestionStatus.PROCESSING)
    repository.transition(
        ana.user_id,
        question_id,
        QuestionStatus.ANSWERED,
        answer="Um fundo negociado em bolsa.",
        model="gpt-4o-mini",
        prompt_tokens=10,
        completion_tokens=7,
        llm_latency_ms=321,
        sources=[{"id": "etfs", "title": "ETFs", "url": None}],
        kb_version="kb-0123456789ab",
        grounded=True,
    )
    response = api.client.get(f"{QUESTIONS}/{ana.session_id}/{question_id}", headers=ana.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "answered"
    assert body["answer"] == "Um fundo negociado em bolsa."
    assert body["sources"] == [{"id": "etfs", "title": "ETFs", "url": None}]
    assert (body["grounded"], body["kb_version"], body["from_cache"]) == (
        True,
        "kb-0123456789ab",
        False,
    )
    assert (body["model"], body["prompt_tokens"], body["completion_tokens"]) == (
        "gpt-4o-mini",
        10,
        7,
    )
    assert body["latency_ms"] == 321
    assert body["processing_at"] and body["answered_at"]
    assert "user_id" not in body and "execution_arn" not in body


def test_questions_of_an_earlier_session_stay_visible_after_a_new_login(api: Api) -> None:
    ana = api.user("ana")
    question_id = api.ask(ana, "Como funciona o FGC?").json()["question_id"]
    later = User("ana", api.login("ana"))
    # The new login is a new conversation: empty. Every question stays in the full list,
    # and the earlier conversation keeps its own.
    fresh = api.client.get(f"{QUESTIONS}/{later.session_id}", headers=later.headers).json()
    assert fresh["items"] == []
    everything = api.client.get(QUESTIONS, headers=later.headers).json()
    assert [item["question_id"] for item in everything["items"]] == [question_id]
    earlier = api.client.get(f"{QUESTIONS}/{ana.session_id}", headers=later.headers).json()
    assert [item["question_id"] for item in earlier["items"]] == [question_id]
    # The earlier session is still the user's, so its id still works with the new token.
    one = api.client.get(f"{QUESTIONS}/{ana.session_id}/{question_id}", headers=later.headers)
    assert one.status_code == 200


def test_unknown_question_or_session_is_404(api: Api) -> None:
    ana = api.user("ana")
    missing = api.client.get(f"{QUESTIONS}/{ana.session_id}/01M8NOPE", headers=ana.headers)
    assert missing.status_code == 404
    no_session = api.client.get(f"{QUESTIONS}/01M8NOSESSION", headers=ana.headers)
    assert no_session.status_code == 404
    assert error_of(no_session)["code"] == "not_found"


def test_another_users_questions_are_invisible(api: Api) -> None:
    ana, bia = api.user("ana"), api.user("bia")
    question_id = api.ask(ana, "Pergunta da Ana?").json()["question_id"]

    # Bia with Ana's session id, Bia with her own session and Ana's question id: both 404.
    assert api.client.get(f"{QUESTIONS}/{ana.session_id}", headers=bia.headers).status_code == 404
    for session in (ana.session_id, bia.session_id):
        response = api.client.get(f"{QUESTIONS}/{session}/{question_id}", headers=bia.headers)
        assert response.status_code == 404
        assert error_of(response)["code"] in ("not_found", "question_not_found")
    own = api.client.get(f"{QUESTIONS}/{bia.session_id}", headers=bia.headers).json()
    assert own["items"] == []


def test_every_route_needs_a_token_except_auth_and_health(api: Api) -> None:
    for method, path in [
        ("post", QUESTIONS),
        ("get", f"{QUESTIONS}/S1"),
        ("get", f"{QUESTIONS}/S1/Q1"),
        ("get", "/api/v1/notifications"),
        ("post", "/api/v1/notifications/N1/read"),
    ]:
        assert getattr(api.client, method)(path).status_code == 401, path
    assert api.client.get("/api/v1/health").status_code == 200


def test_the_rate_limit_slides_instead_of_resetting_on_the_minute(api: Api) -> None:
    """At most the limit in any 60 s: ten at 0:59 and ten more at 1:01 was twenty in 2 s."""
    now = [3_600.0 + 59]
    limiter = RateLimiter(clock=lambda: now[0])
    for _ in range(10):
        limiter.hit("ana", "questions", limit=10)
    now[0] += 2  # across the minute's edge
    with pytest.raises(RateLimited) as refused:
        limiter.hit("ana", "questions", limit=10)
    assert refused.value.retry_after == 58
    now[0] += 57.5  # 59.5 s after the ten: still inside the window
    with pytest.raises(RateLimited):
        limiter.hit("ana", "questions", limit=10)
    now[0] += 1  # 60.5 s after: the oldest has left the window
    limiter.hit("ana", "questions", limit=10)
    limiter.hit("bia", "questions", limit=10)  # per user


def test_one_users_questions_at_the_same_moment_are_all_counted_and_accepted(api: Api) -> None:
    """Six hits of one user racing on the limit's item: each is counted once, none is lost."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: RateLimiter().hit("ana", "race", limit=100), range(6)))
    with pytest.raises(RateLimited):
        for _ in range(95):
            RateLimiter().hit("ana", "race", limit=100)
