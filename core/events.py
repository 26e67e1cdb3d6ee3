"""Turning Lambda events into the domain's models, with clear errors for bad ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import InvalidEvent
from core.models import QuestionRef
from core.observability import logger

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=QuestionRef)


def _explain(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or 'event'}: {error['msg']}"
        for error in exc.errors()
    ]
    return "; ".join(problems)


def parse_task(event: Any, model: type[M]) -> M:
    """A workflow task's payload as ``model``; InvalidEvent names each missing or bad field."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"Expected a JSON object, got {type(event).__name__}.")
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise InvalidEvent(f"Bad {model.__name__} payload: {_explain(exc)}") from exc


def parse_sns(event: Any, model: type[M]) -> list[M]:
    """Every SNS record's message as ``model`` (the message body is JSON).

    The envelope is read as the dictionary it is and the message validated with the model.
    (Powertools' parser would do both, but imports a pydantic model of every event source it
    knows, 40 ms of every cold start; its data classes package, 12 ms.)
    """
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise InvalidEvent(f"Bad SNS event for {model.__name__}: expected Records.")
    try:
        messages = [record["Sns"]["Message"] for record in event["Records"]]
    except (KeyError, TypeError) as exc:
        raise InvalidEvent(
            f"Bad SNS event for {model.__name__}: every record needs Sns.Message."
        ) from exc
    try:
        return [model.model_validate_json(message) for message in messages]
    except ValidationError as exc:
        raise InvalidEvent(f"Bad SNS event for {model.__name__}: {_explain(exc)}") from exc


def each_message(event: Any, model: type[R]) -> Iterator[R]:
    """Every SNS record's message, with the logger's correlation id set to its question."""
    for message in parse_sns(event, model):
        logger.set_correlation_id(message.question_id)
        yield message
