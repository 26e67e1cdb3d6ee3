"""Rating an answer while another request rates it too (moto): the rating is read again and
tried again, three times in all, and the totals always agree with the stored ratings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.errors import IllegalTransition
from core.feedback import FeedbackRepository, rate_answer
from core.models import Question, QuestionStatus, Rating
from core.repository import QuestionRepository
from tests.integration.conftest import Aws, hooked

USER = "ana"


class Rival:
    """Another request that rates the same answer just before each of the next ``races``
    writes, flipping the rating each time, so that write's condition no longer holds."""

    def __init__(self, question_id: str) -> None:
        self.question_id = question_id
        self.races = 0
        self.ratings: list[Rating] = []
        self._racing = False

    def __call__(self, **_: Any) -> None:
        if self._racing or self.races == 0:
            return
        self.races -= 1
        self._racing = True
        try:
            current = QuestionRepository().get(USER, self.question_id)
            before = current.feedback.rating if current.feedback else None
            rating = Rating.UP if before is Rating.DOWN else Rating.DOWN
            FeedbackRepository().give(current, rating, "a rival request")
            self.ratings.append(rating)
        finally:
            self._racing = False


@pytest.fixture
def rival(aws: Aws) -> Iterator[Rival]:
    repository = QuestionRepository()
    question = repository.create(Question(user_id=USER, session_id="s1", text="O que é CDI?"))
    repository.transition(USER, question.question_id, QuestionStatus.PROCESSING)
    repository.transition(USER, question.question_id, QuestionStatus.ANSWERED, answer="Uma taxa.")
    racing = Rival(question.question_id)
    with hooked("before-call.dynamodb.TransactWriteItems", racing):
        yield racing


def _stored(rival: Rival) -> tuple[Rating | None, str | None]:
    feedback = QuestionRepository().get(USER, rival.question_id).feedback
    return (feedback.rating, feedback.comment) if feedback else (None, None)


def test_a_rating_that_loses_two_races_is_stored_on_the_third_try(rival: Rival) -> None:
    rival.races = 2
    given = rate_answer(USER, rival.question_id, Rating.UP, "Clear.")
    assert rival.ratings == [Rating.DOWN, Rating.UP]  # each race lost, then read again
    assert given.rating is Rating.UP
    assert _stored(rival) == (Rating.UP, "Clear.")
    totals = FeedbackRepository().totals()
    assert (totals.up, totals.down) == (1, 0)  # one answer, rated up once


def test_a_rating_that_loses_three_races_is_refused_and_the_last_one_stands(
    rival: Rival,
) -> None:
    rival.races = 3
    with pytest.raises(IllegalTransition) as refused:
        rate_answer(USER, rival.question_id, Rating.UP, "Clear.")
    assert refused.value.message == (
        f"Question {rival.question_id} changed while it was being rated."
    )
    assert rival.ratings == [Rating.DOWN, Rating.UP, Rating.DOWN]
    assert _stored(rival) == (Rating.DOWN, "a rival request")
    totals = FeedbackRepository().totals()
    assert (totals.up, totals.down) == (0, 1)
