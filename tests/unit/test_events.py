"""Reading the workflow's events: a bad payload is refused with each bad field named, and every
SNS message's question becomes the logs' correlation id."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, model_validator

from core.errors import InvalidEvent
from core.events import each_message, parse_task
from core.models import PersistAnswerTask, QuestionSubmitted, ValidateTask
from core.observability import logger

QUESTION = "01JDXQ3M7T4W5Y8Z9A0B1C2D3E"


def refusal(event: Any, model: type[BaseModel]) -> str:
    with pytest.raises(InvalidEvent) as raised:
        parse_task(event, model)
    return raised.value.message


def test_a_task_that_is_not_an_object_is_refused_naming_what_it_was() -> None:
    assert refusal(["not", "an", "object"], ValidateTask) == "Expected a JSON object, got list."
    assert refusal("text", ValidateTask) == "Expected a JSON object, got str."


def test_each_bad_field_is_named_by_its_path() -> None:
    assert refusal({"user_id": "ana"}, ValidateTask) == (
        "Bad ValidateTask payload: question_id: Field required"
    )
    event = {"question_id": QUESTION, "user_id": "ana", "completion": {"answer": 7}}
    said = refusal(event, PersistAnswerTask)
    assert said.startswith("Bad PersistAnswerTask payload: completion.answer: Input should be")
    assert "; completion." in said  # the other missing fields of the completion too


class Pair(BaseModel):
    low: int
    high: int

    @model_validator(mode="after")
    def ordered(self) -> Pair:
        if self.low > self.high:
            raise ValueError("low is above high")
        return self


def test_a_problem_with_the_whole_event_is_said_of_the_event() -> None:
    assert refusal({"low": 2, "high": 1}, Pair) == (
        "Bad Pair payload: event: Value error, low is above high"
    )


def test_each_message_sets_the_correlation_id_to_its_question() -> None:
    second = "01JDXQ3M7T4W5Y8Z9A0B1C2D3F"
    event = {
        "Records": [
            {"Sns": {"Message": json.dumps({"question_id": question_id, "user_id": "ana"})}}
            for question_id in (QUESTION, second)
        ]
    }
    seen = []
    for message in each_message(event, QuestionSubmitted):
        seen.append((message.question_id, logger.get_correlation_id()))
    assert seen == [(QUESTION, QUESTION), (second, second)]
