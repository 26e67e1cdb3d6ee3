"""How a page of questions is read from DynamoDB (moto): what each Query asks for, how a
filtered page carries on past reads that filled little, and when there is a next page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.models import Question, QuestionStatus
from core.repository import QuestionRepository
from tests.integration.conftest import Aws, hooked

USER = "paging-user"


@pytest.fixture
def queries(aws: Aws) -> Iterator[list[Any]]:
    """The Limit of every Query sent, in order (None when a Query has none)."""
    limits: list[Any] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        limits.append(params.get("Limit"))

    with hooked("before-parameter-build.dynamodb.Query", record):
        yield limits


def _ask(count: int) -> list[str]:
    """``count`` pending questions; their ids newest first (the order pages follow)."""
    repository = QuestionRepository()
    ids = [
        repository.create(
            Question(user_id=USER, session_id="s1", text=f"Pergunta {n}?")
        ).question_id
        for n in range(count)
    ]
    return sorted(ids, reverse=True)


def _answer(question_ids: list[str]) -> None:
    repository = QuestionRepository()
    for question_id in question_ids:
        repository.transition(USER, question_id, QuestionStatus.PROCESSING)
        repository.transition(USER, question_id, QuestionStatus.ANSWERED, answer="Resposta.")


def _ids(page: Any) -> list[str]:
    return [question.question_id for question in page.items]


def test_an_unfiltered_page_asks_for_just_its_own_items(queries: list[Any]) -> None:
    newest_first = _ask(5)
    repository = QuestionRepository()
    first = repository.list_for_user(USER, limit=2)
    assert _ids(first) == newest_first[:2]
    assert queries == [2]  # one read, of the page's size: no capacity spent on the rest
    second = repository.list_for_user(USER, limit=2, cursor=first.next_cursor)
    assert _ids(second) == newest_first[2:4]
    last = repository.list_for_user(USER, limit=2, cursor=second.next_cursor)
    assert (_ids(last), last.next_cursor) == (newest_first[4:], None)
    assert queries == [2, 2, 2]


def test_a_page_that_ends_with_the_last_item_has_no_next_page(aws: Aws) -> None:
    newest_first = _ask(4)
    repository = QuestionRepository()
    first = repository.list_for_user(USER, limit=2)
    second = repository.list_for_user(USER, limit=2, cursor=first.next_cursor)
    assert (_ids(second), second.next_cursor) == (newest_first[2:], None)
    whole = repository.list_for_user(USER, limit=4)
    assert (_ids(whole), whole.next_cursor) == (newest_first, None)


def test_a_filtered_page_reads_on_until_it_is_full_or_the_questions_end(
    queries: list[Any],
) -> None:
    """110 questions: 10 of the newest 100 answered, and the 10 oldest. The first read (100 at a
    time, as a filter may drop most of them) finds 10; the next read goes on after the 100th."""
    newest_first = _ask(110)
    answered = newest_first[:100:10] + newest_first[100:]
    _answer(answered)
    queries.clear()
    page = QuestionRepository().list_for_user(USER, limit=95, status=QuestionStatus.ANSWERED)
    assert _ids(page) == answered  # each once, newest first
    assert page.next_cursor is None
    assert queries == [100, 100]


def test_a_filtered_page_stops_at_its_size_with_a_cursor_after_its_last_item(
    queries: list[Any],
) -> None:
    newest_first = _ask(12)
    _answer(newest_first[::2])  # 6 answered, every other one
    queries.clear()
    repository = QuestionRepository()
    first = repository.list_for_user(USER, limit=4, status=QuestionStatus.ANSWERED)
    assert _ids(first) == newest_first[:8:2]
    assert queries == [100]
    rest = repository.list_for_user(
        USER, limit=4, status=QuestionStatus.ANSWERED, cursor=first.next_cursor
    )
    assert (_ids(rest), rest.next_cursor) == (newest_first[8::2], None)
