"""Rating answers (thumbs up or down, a comment) and reading knowledge-base entries."""

from __future__ import annotations

from typing import Any

import pytest

from core.feedback import FeedbackRepository
from core.models import QuestionStatus
from core.repository import QuestionRepository
from tests.api.conftest import Api, User, error_of

QUESTIONS = "/api/v1/questions"


def answered(api: Api, user: User, text: str = "O que é um ETF?") -> str:
    question_id: str = api.ask(user, text).json()["question_id"]
    repository = QuestionRepository()
    repository.transition(user.user_id, question_id, QuestionStatus.PROCESSING)
    repository.transition(user.user_id, question_id, QuestionStatus.ANSWERED, answer="Um fundo.")
    return question_id


def rate(api: Api, user: User, question_id: str, **body: Any) -> Any:
    return api.client.put(
        f"{QUESTIONS}/{user.session_id}/{question_id}/feedback", json=body, headers=user.headers
    )


def test_a_rating_is_stored_on_the_question_and_counted(api: Api) -> None:
    ana = api.user("ana")
    question_id = answered(api, ana)

    given = rate(api, ana, question_id, rating="down", comment="  Too vague.  ")
    assert given.status_code == 200, given.text
    assert (given.json()["rating"], given.json()["comment"]) == ("down", "Too vague.")
    shown = api.client.get(f"{QUESTIONS}/{ana.session_id}/{question_id}", headers=ana.headers)
    assert shown.json()["feedback"]["rating"] == "down"
    assert shown.json()["feedback"]["comment"] == "Too vague."
    totals = FeedbackRepository().totals()
    assert (totals.up, totals.down) == (0, 1)

    # Changing one's mind moves the count; the same rating again does not count twice.
    assert rate(api, ana, question_id, rating="up").status_code == 200
    assert rate(api, ana, question_id, rating="up").status_code == 200
    totals = FeedbackRepository().totals()
    assert (totals.up, totals.down) == (1, 0)
    shown = api.client.get(f"{QUESTIONS}/{ana.session_id}/{question_id}", headers=ana.headers)
    assert shown.json()["feedback"] == {
        "rating": "up",
        "comment": None,
        "at": shown.json()["feedback"]["at"],
    }

    bia = api.user("bia")
    assert rate(api, bia, answered(api, bia), rating="up").status_code == 200
    totals = FeedbackRepository().totals()
    assert (totals.up, totals.down, totals.share_up) == (2, 0, 1.0)


def test_only_an_answer_can_be_rated(api: Api) -> None:
    ana = api.user("ana")
    pending = api.ask(ana, "Quanto rende o CDI?").json()["question_id"]
    response = rate(api, ana, pending, rating="up")
    assert response.status_code == 409
    assert error_of(response)["code"] == "not_answered"
    assert FeedbackRepository().totals().rated == 0


def test_no_one_rates_another_persons_answer(api: Api) -> None:
    ana, bia = api.user("ana"), api.user("bia")
    question_id = answered(api, ana)
    # Bia's own conversation, Ana's question: not found, as if it did not exist.
    response = api.client.put(
        f"{QUESTIONS}/{bia.session_id}/{question_id}/feedback",
        json={"rating": "down"},
        headers=bia.headers,
    )
    assert response.status_code == 404
    # Ana's conversation: not Bia's.
    response = api.client.put(
        f"{QUESTIONS}/{ana.session_id}/{question_id}/feedback",
        json={"rating": "down"},
        headers=bia.headers,
    )
    assert response.status_code == 404
    assert FeedbackRepository().totals().rated == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rating": "meh"}, "rating"),
        ({}, "rating"),
        ({"rating": "up", "comment": "x" * 1001}, "comment"),
        ({"rating": "up", "extra": 1}, "extra"),
    ],
)
def test_a_bad_rating_is_refused_with_its_field(api: Api, body: dict[str, Any], field: str) -> None:
    ana = api.user("ana")
    response = rate(api, ana, answered(api, ana), **body)
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == field


def test_a_knowledge_base_entry_in_either_language(api: Api) -> None:
    ana = api.user("ana")
    english = api.client.get("/api/v1/knowledge/tesouro-selic", headers=ana.headers)
    assert english.status_code == 200
    body = english.json()
    assert body["title"] == "Tesouro Selic"
    assert body["body"].startswith("Tesouro Selic (LFT) pays the daily Selic rate")
    assert body["url"] == "https://www.tesourodireto.com.br/"
    assert body["reviewed"] == "2026-11-29"
    portuguese = api.client.get(
        "/api/v1/knowledge/tesouro-selic", params={"language": "pt"}, headers=ana.headers
    )
    assert portuguese.json()["body"].startswith("O Tesouro Selic (LFT) rende a taxa Selic")

    missing = api.client.get("/api/v1/knowledge/no-such-entry", headers=ana.headers)
    assert (missing.status_code, error_of(missing)["code"]) == (404, "entry_not_found")
    bad = api.client.get("/api/v1/knowledge/tesouro-selic", params={"language": "fr"})
    assert bad.status_code in (401, 422)
    assert api.client.get("/api/v1/knowledge/tesouro-selic").status_code == 401


def test_make_eval_reads_the_ratings_people_gave(api: Api) -> None:
    from eval.run import _feedback_line, people_feedback
    from local.provision import TABLE_NAME

    assert "not read" in _feedback_line(people_feedback(None, None))
    assert _feedback_line(people_feedback(TABLE_NAME, None)).endswith(
        "0 up, 0 down · no ratings yet"
    )
    ana = api.user("ana")
    rate(api, ana, answered(api, ana, "O que é CDB?"), rating="up")
    rate(api, ana, answered(api, ana, "O que é LCI?"), rating="up")
    rate(api, ana, answered(api, ana, "O que é LCA?"), rating="down")
    line = _feedback_line(people_feedback(TABLE_NAME, None))
    assert line == f"people's ratings ({TABLE_NAME}): 2 up, 1 down · 66.7% up"
