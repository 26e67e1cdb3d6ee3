"""The WebSocket API's routes: ``$connect`` checks the ticket and keeps the connection under its
user, ``$disconnect`` forgets it (core/live.py, core/push.py). Clients send nothing to act on."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from core.errors import AuthenticationFailed
from core.live import PROTOCOL, connect
from core.observability import logger, metrics, tracer
from core.push import Connections


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    route, connection_id = request.get("routeKey"), str(request.get("connectionId", ""))
    if route == "$connect":
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        try:
            principal = connect(headers.get("sec-websocket-protocol"), connection_id)
        except AuthenticationFailed as exc:
            logger.info("Connection refused", extra={"reason": exc.message})
            return {"statusCode": 401}
        logger.info("Connected", extra={"user_id": principal.user_id})
        return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": PROTOCOL}}
    if route == "$disconnect":
        Connections().remove(connection_id)
    return {"statusCode": 200}
