"""The caller's rights over their data: a copy of all of it, and deleting the account."""

from __future__ import annotations

import json
from typing import Any

import boto3

from core.cache import AnswerCache
from core.models import Notification, QuestionStatus
from core.push import Connections
from core.repository import NotificationRepository, QuestionRepository
from tests.api.conftest import PASSWORD, Api, User, error_of
from tests.conftest import completion

ANSWER = "O Tesouro Selic rende a taxa Selic e tem liquidez diária."


def _answered(api: Api, user: User, text: str, answer: str = ANSWER, **headers: str) -> str:
    question_id: str = api.ask(user, text, **headers).json()["question_id"]
    repository = QuestionRepository()
    repository.transition(user.user_id, question_id, QuestionStatus.PROCESSING)
    repository.transition(
        user.user_id, question_id, QuestionStatus.ANSWERED, answer=answer, cache_key="k-" + text
    )
    NotificationRepository().add(
        Notification(
            notification_id=question_id,
            user_id=user.user_id,
            question_id=question_id,
            status=QuestionStatus.ANSWERED,
            message="Your question has been answered.",
        )
    )
    return question_id


def _everything() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName="toro-assistant")["Items"]


def _idempotency_records_of(user: User) -> list[dict[str, Any]]:
    return [
        item
        for item in _everything()
        if item["pk"]["S"].startswith("IDEMPOTENCY#") and user.user_id in json.dumps(item)
    ]


def test_the_export_holds_everything_about_the_caller_and_no_secret(api: Api) -> None:
    ana = api.user("ana")
    question_id = _answered(api, ana, "O que é o Tesouro Selic?")
    api.client.put(
        f"/api/v1/questions/{ana.session_id}/{question_id}/feedback",
        json={"rating": "up", "comment": "Clara."},
        headers=ana.headers,
    )
    api.client.post("/api/v1/sessions", headers=ana.headers)

    response = api.client.get("/api/v1/me/export", headers=ana.headers)
    assert response.status_code == 200
    data = response.json()
    assert data["profile"]["username"] == "ana"
    assert [q["question_id"] for q in data["questions"]] == [question_id]
    assert data["questions"][0]["answer"] == ANSWER
    assert data["questions"][0]["feedback"]["comment"] == "Clara."
    assert [n["question_id"] for n in data["notifications"]] == [question_id]
    assert len(data["conversations"]) == 2 and len(data["sessions"]) == 1
    text = json.dumps(data)
    assert "password_hash" not in text and "argon2" not in text and "jti" not in text
    assert api.client.get("/api/v1/me/export").status_code == 401


def test_deleting_the_account_leaves_nothing_of_it(api: Api) -> None:
    ana, bia = api.user("ana"), api.user("bia")
    first = _answered(api, ana, "O que é o Tesouro Selic?", **{"Idempotency-Key": "k1"})
    AnswerCache().put(
        "k-O que é o Tesouro Selic?",
        first,
        completion(ANSWER),
    )
    # The record Powertools keeps of the model's answer for a day (found by its content).
    boto3.client("dynamodb").put_item(
        TableName="toro-assistant",
        Item={
            "pk": {"S": "IDEMPOTENCY#call_openai"},
            "sk": {"S": "call_openai#0123456789abcdef"},
            "data": {"S": json.dumps({"answer": ANSWER})},
            "status": {"S": "COMPLETED"},
        },
    )
    kept = _answered(
        api, bia, "E o CDB?", answer="O CDB é um título de banco.", **{"Idempotency-Key": "k2"}
    )
    bias_records = _idempotency_records_of(bia)
    assert bias_records  # her question's record, kept for a day
    Connections().add(ana.user_id, "ana-connection")  # a live connection still open
    open_question = api.ask(ana, "Quanto rende a poupança?").json()["question_id"]

    wrong = api.client.request(
        "DELETE", "/api/v1/me", json={"password": "not the password"}, headers=ana.headers
    )
    assert wrong.status_code == 401
    busy = api.client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=ana.headers
    )
    assert (busy.status_code, error_of(busy)["code"]) == (409, "questions_open")
    QuestionRepository().transition(ana.user_id, open_question, QuestionStatus.FAILED)

    deleted = api.client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=ana.headers
    )
    assert deleted.status_code == 204, deleted.text
    left = json.dumps(_everything(), ensure_ascii=False)
    # Nothing of hers: no item with her id, her username, or her answer (question, answer cache,
    # idempotency records).
    assert ana.user_id not in left
    assert "USERNAME#ana" not in left
    assert ANSWER not in left
    assert "ana-connection" not in left
    # Its tokens stop working; its name is free again; Bia's data is untouched.
    assert api.client.get("/api/v1/questions", headers=ana.headers).status_code == 401
    login = api.client.post("/api/v1/auth/login", json={"username": "ana", "password": PASSWORD})
    assert login.status_code == 401
    assert (
        api.client.post(
            "/api/v1/auth/register", json={"username": "ana", "password": PASSWORD}
        ).status_code
        == 201
    )
    assert QuestionRepository().get(bia.user_id, kept).answer == "O CDB é um título de banco."
    assert _idempotency_records_of(bia) == bias_records


def test_a_cached_answer_made_from_someone_else_s_question_stays(api: Api) -> None:
    """Ana's answer left the cache and Bia's same question filled it again: it is Bia's."""
    ana, bia = api.user("ana"), api.user("bia")
    text = "O que é o Tesouro Selic?"
    _answered(api, ana, text)
    theirs = _answered(api, bia, text, answer="A resposta da Bia.")
    assert AnswerCache().put("k-" + text, theirs, completion("A resposta da Bia."))

    deleted = api.client.request(
        "DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=ana.headers
    )
    assert deleted.status_code == 204, deleted.text
    cached = AnswerCache().get("k-" + text)
    assert cached is not None
    assert (cached.question_id, cached.answer) == (theirs, "A resposta da Bia.")
