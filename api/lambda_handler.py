"""The API on Lambda: API Gateway REST API (proxy integration) -> Mangum -> FastAPI."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import create_app
from core import questions
from core.observability import logger, metrics, tracer


def stage_prefix(event: dict[str, Any]) -> str:
    """The part of the browser's URL path in front of what the app routes: ``/dev`` for
    ``/dev/api/v1/health`` on the execute-api domain, empty behind a custom domain's root.

    A REST API event's ``path`` leaves the stage out; its ``requestContext.path`` is the path
    as requested. (HTTP API events have neither, and no prefix.)
    """
    requested = event.get("requestContext", {}).get("path")
    routed = event.get("path")
    if not isinstance(requested, str) or not isinstance(routed, str):
        return ""
    if routed == "/":
        return requested.rstrip("/")
    if requested.endswith(routed):
        return requested[: -len(routed)].rstrip("/")
    return ""


class StagePrefix:
    """Tells the app the prefix its URLs have in the browser (the ASGI ``root_path``, which
    ``path`` then includes), so that what it builds from them carries it: the refresh cookie's
    path, the OpenAPI ``servers``, the pages' ``<base>`` and redirects."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            prefix = stage_prefix(scope.get("aws.event", {}))
            if prefix:
                scope = {**scope, "root_path": prefix, "path": prefix + scope["path"]}
        await self.app(scope, receive, send)


@lru_cache
def _adapter() -> Mangum:
    return Mangum(StagePrefix(create_app()), lifespan="auto")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    questions.register_lambda_context(context)
    response: dict[str, Any] = _adapter()(event, context)  # type: ignore[arg-type]
    return response
