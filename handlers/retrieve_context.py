"""Workflow task Retrieve: the knowledge-base entries (ids and scores) a question is about."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from core import retrieval
from core.events import parse_task
from core.models import QuestionRef, dump
from core.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="question_id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dump(retrieval.retrieve_context(parse_task(event, QuestionRef)))
