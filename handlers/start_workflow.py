"""Questions-topic subscriber: starts the workflow execution named after each question."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from core import steps
from core.events import each_message
from core.models import QuestionSubmitted, dump
from core.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messages = each_message(event, QuestionSubmitted)
    return {"started": [dump(steps.start_question_workflow(m)) for m in messages]}
