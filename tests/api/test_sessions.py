"""Conversations: starting and listing them, asking in one, listing one, and ownership."""

from __future__ import annotations

import json

import pytest

from core.conversations import ConversationRepository
from core.errors import DependencyUnavailable
from core.models import Question, QuestionStatus
from core.repository import QuestionRepository
from tests.api.conftest import Api
from tests.conftest import Telemetry

SESSIONS = "/api/v1/sessions"
QUESTIONS = "/api/v1/questions"


def test_a_new_conversation_starts_empty_and_is_listed(api: Api) -> None:
    ana = api.user("ana")
    started = api.client.post(SESSIONS, headers=ana.headers)
    assert started.status_code == 201
    body = started.json()
    assert body["title"] is None and body["question_count"] == 0
    assert started.headers["Location"] == f"{QUESTIONS}/{body['session_id']}"
    assert body["session_id"] != ana.session_id
    listed = api.client.get(SESSIONS, headers=ana.headers).json()
    assert [c["session_id"] for c in listed["items"]] == [body["session_id"]]
    empty = api.client.get(f"{QUESTIONS}/{body['session_id']}", headers=ana.headers).json()
    assert empty == {"items": [], "next_cursor": None}


def test_questions_go_to_the_conversation_named_or_else_the_login_session(api: Api) -> None:
    ana = api.user("ana")
    conversation = api.client.post(SESSIONS, headers=ana.headers).json()["session_id"]
    first = api.ask(ana, "O que é uma LCI?", conversation).json()
    follow_up = api.ask(ana, "E eu pago imposto nela?", conversation).json()
    elsewhere = api.ask(ana, "O que é um ETF?").json()
    assert first["session_id"] == follow_up["session_id"] == conversation
    assert elsewhere["session_id"] == ana.session_id

    thread = api.client.get(f"{QUESTIONS}/{conversation}", headers=ana.headers).json()
    assert [q["question"] for q in thread["items"]] == [
        "E eu pago imposto nela?",
        "O que é uma LCI?",
    ]
    login = api.client.get(f"{QUESTIONS}/{ana.session_id}", headers=ana.headers).json()
    assert [q["question"] for q in login["items"]] == ["O que é um ETF?"]
    everything = api.client.get(QUESTIONS, headers=ana.headers).json()
    assert len(everything["items"]) == 3

    listed = api.client.get(SESSIONS, headers=ana.headers).json()["items"]
    assert [(c["session_id"], c["title"], c["question_count"]) for c in listed] == [
        (conversation, "O que é uma LCI?", 2),
        (ana.session_id, "O que é um ETF?", 1),
    ]
    assert listed[0]["last_activity_at"] >= listed[0]["created_at"]


def test_a_conversation_is_paginated_and_filtered(api: Api) -> None:
    ana = api.user("ana")
    conversation = api.client.post(SESSIONS, headers=ana.headers).json()["session_id"]
    ids = [
        api.ask(ana, f"Pergunta {n} sobre CDB", conversation).json()["question_id"]
        for n in range(5)
    ]
    api.ask(ana, "Outra conversa")
    QuestionRepository().transition(ana.user_id, ids[1], QuestionStatus.REJECTED)
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(f"{QUESTIONS}/{conversation}", params=query, headers=ana.headers)
        seen += [q["question_id"] for q in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    rejected = api.client.get(
        f"{QUESTIONS}/{conversation}", params={"status": "rejected"}, headers=ana.headers
    ).json()
    assert [q["question_id"] for q in rejected["items"]] == [ids[1]]


def test_conversations_list_in_pages(api: Api) -> None:
    ana = api.user("ana")
    started = [
        api.client.post(SESSIONS, headers=ana.headers).json()["session_id"] for _ in range(3)
    ]
    first = api.client.get(SESSIONS, params={"limit": 2}, headers=ana.headers).json()
    second = api.client.get(
        SESSIONS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=ana.headers
    ).json()
    assert [c["session_id"] for c in first["items"] + second["items"]] == list(reversed(started))
    assert second["next_cursor"] is None


def test_another_users_conversation_is_404_everywhere(api: Api) -> None:
    ana, bia = api.user("ana"), api.user("bia")
    conversation = api.client.post(SESSIONS, headers=ana.headers).json()["session_id"]
    api.ask(ana, "O que é uma LCI?", conversation)

    asked = api.ask(bia, "Me mostra a conversa da Ana", conversation)
    assert asked.status_code == 404
    assert asked.json()["error"]["code"] == "not_found"
    assert api.client.get(f"{QUESTIONS}/{conversation}", headers=bia.headers).status_code == 404
    assert api.client.get(f"{QUESTIONS}/{ana.session_id}", headers=bia.headers).status_code == 404
    assert api.client.get(SESSIONS, headers=bia.headers).json()["items"] == []
    # Nothing was stored for Bia's refused question, and nothing published.
    assert api.client.get(QUESTIONS, headers=bia.headers).json()["items"] == []


def test_an_unknown_or_malformed_session_id_is_refused(api: Api) -> None:
    ana = api.user("ana")
    assert api.ask(ana, "O que é CDB?", "01NOSUCHSESSION").status_code == 404
    bad = api.ask(ana, "O que é CDB?", "not a session id!")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "session_id"


def test_sessions_need_a_token(api: Api) -> None:
    assert api.client.post(SESSIONS).status_code == 401
    assert api.client.get(SESSIONS).status_code == 401


def test_a_conversation_that_cannot_be_updated_never_costs_the_question(
    api: Api, monkeypatch: pytest.MonkeyPatch, telemetry: Telemetry
) -> None:
    ana = api.user("ana")

    def unavailable(self: ConversationRepository, question: Question) -> None:
        raise DependencyUnavailable("DynamoDB is throttling.")

    monkeypatch.setattr(ConversationRepository, "touch", unavailable)
    accepted = api.ask(ana, "O que é o CDI?")
    assert accepted.status_code == 202
    published = [json.loads(m["Message"])["question_id"] for m in api.published()]
    assert published == [accepted.json()["question_id"]]
    warned = telemetry.read().log("The conversation could not be updated")
    assert warned["level"] == "WARNING"
    assert warned["question_id"] == accepted.json()["question_id"]
    assert warned["error"] == "DynamoDB is throttling."
