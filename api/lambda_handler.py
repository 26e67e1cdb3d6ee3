"""The API on Lambda: API Gateway HTTP API (payload v2) -> Mangum -> FastAPI."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from api.app import create_app
from core import questions
from core.observability import logger, metrics, tracer


@lru_cache
def _adapter() -> Mangum:
    return Mangum(create_app(), lifespan="auto")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    questions.register_lambda_context(context)
    response: dict[str, Any] = _adapter()(event, context)  # type: ignore[arg-type]
    return response
