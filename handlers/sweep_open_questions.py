"""Scheduled (every minute): re-sends questions that never reached the workflow and fails the
ones whose execution ended without recording them (core/sweeper.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from core.observability import logger, metrics, tracer
from core.sweeper import Sweeper


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return Sweeper().sweep().as_dict()
