"""Turning Lambda events into the domain's models, with clear errors for bad ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.parser import envelopes, parse
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
    """Every SNS record's message as ``model`` (the message body is JSON)."""
    try:
        parsed = parse(event=event, model=model, envelope=envelopes.SnsEnvelope)
    except ValidationError as exc:
        raise InvalidEvent(f"Bad SNS event for {model.__name__}: {_explain(exc)}") from exc
    except Exception as exc:
        raise InvalidEvent(f"Bad SNS event for {model.__name__}: {exc}") from exc
    if not isinstance(parsed, list):
        raise InvalidEvent(f"Bad SNS event for {model.__name__}: expected Records.")
    return [item for item in parsed if isinstance(item, model)]


def each_message(event: Any, model: type[R]) -> Iterator[R]:
    """Every SNS record's message, with the logger's correlation id set to its question."""
    for message in parse_sns(event, model):
        logger.set_correlation_id(message.question_id)
        yield message
