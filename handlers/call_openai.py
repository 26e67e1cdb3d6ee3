"""Workflow task CallOpenAI: answers from the retrieved context, once per question (Powertools
Idempotency), or reuses a cached answer to the same first question."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from core import answering
from core.events import parse_task
from core.models import AnswerTask, dump
from core.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="question_id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dump(answering.answer_question(parse_task(event, AnswerTask), context))
