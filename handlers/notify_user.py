"""Answers-topic subscriber: stores the in-app notification for the user and logs it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from core import steps
from core.events import each_message
from core.models import AnswerReady, dump
from core.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messages = each_message(event, AnswerReady)
    return {"notifications": [dump(steps.record_notification(m)) for m in messages]}
