"""Question updates pushed live to the asker's open WebSocket connections.

On AWS the connections are an API Gateway WebSocket API's; locally ``toro dev`` serves the same
protocol at ``/ws`` and the same Management API (``POST /@connections/{id}``), so the same
boto3 code delivers to both, with only ``WEBSOCKET_ENDPOINT`` different.

- A client asks ``POST /api/v1/live/ticket`` (with its access token) for a ticket that lives a
  minute and opens one connection (core/live.py), and connects with the sub-protocols
  ``toro.v1`` and ``ticket.<ticket>`` (``Sec-WebSocket-Protocol``: no token in the URL, where
  logs keep it).
- ``$connect`` checks the ticket (genuine, current, unused, its session not ended) and stores the
  connection under the user (``USER#<id>`` / ``WS#<connection>``, and ``WS#<connection>`` /
  ``CONNECTION`` to find the user again at ``$disconnect``), both expiring with API Gateway's
  2-hour limit on a connection; ``$disconnect`` deletes them.
- When a question becomes processing (ValidateQuestion) or final (the answers topic's
  subscriber), each of the user's connections receives ``{"type": "question", ...}`` with its
  status, and the answer, its sources and the error once there are; a connection API Gateway
  says is gone (410) is deleted. Pushing is best effort: it never fails the workflow, and a
  client that missed a message reconciles with a GET when it reconnects.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from core import clients
from core.aws_errors import aws_call
from core.errors import ToroError
from core.models import Question, utc_now
from core.observability import MetricUnit, logger, metrics
from core.repository import QuestionRepository, Repository, decode_item, encode, user_pk
from core.settings import get_settings

# API Gateway ends a WebSocket connection after 2 hours.
CONNECTION_TTL_SECONDS = 2 * 3600


class Connections(Repository):
    @aws_call
    def redeem(self, jti: str, expires: int) -> bool:
        """Mark a ticket used; False when it already was (a ticket opens one connection)."""
        return self._put_new(
            {"pk": encode(f"TICKET#{jti}"), "sk": encode("USED"), "ttl": encode(expires)}
        )

    @aws_call
    def add(self, user_id: str, connection_id: str) -> None:
        now = utc_now()
        expires = encode(int((now + timedelta(seconds=CONNECTION_TTL_SECONDS)).timestamp()))
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": encode(user_pk(user_id)),
                            "sk": encode(f"WS#{connection_id}"),
                            "entity": encode("connection"),
                            "connected_at": encode(now),
                            "ttl": expires,
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": encode(f"WS#{connection_id}"),
                            "sk": encode("CONNECTION"),
                            "user_id": encode(user_id),
                            "ttl": expires,
                        },
                    }
                },
            ]
        )

    @aws_call
    def remove(self, connection_id: str, user_id: str | None = None) -> None:
        """Forget a connection (its user found from the connection when not given)."""
        key = {"pk": encode(f"WS#{connection_id}"), "sk": encode("CONNECTION")}
        if user_id is None:
            found = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
            user_id = str(decode_item(found.get("Item", {})).get("user_id", "")) or None
        if user_id is not None:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": encode(user_pk(user_id)), "sk": encode(f"WS#{connection_id}")},
            )
        self._client.delete_item(TableName=self._table, Key=key)

    @aws_call
    def of_user(self, user_id: str) -> list[str]:
        found = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ws)",
            ExpressionAttributeValues={":pk": encode(user_pk(user_id)), ":ws": encode("WS#")},
        )
        return [item["sk"]["S"].removeprefix("WS#") for item in found.get("Items", [])]


def update_of(question: Question) -> dict[str, Any]:
    """What a connection receives about a question."""
    message: dict[str, Any] = {
        "type": "question",
        "question_id": question.question_id,
        "session_id": question.session_id,
        "status": question.status.value,
        "updated_at": question.updated_at.isoformat(),
    }
    if question.answer is not None:
        message.update(
            answer=question.answer,
            sources=[source.model_dump() for source in question.sources],
            grounded=question.grounded,
            kb_version=question.kb_version,
            from_cache=question.from_cache,
            model=question.model,
            latency_ms=question.llm_latency_ms,
        )
    if question.error_code:
        message["error"] = {"code": question.error_code, "message": question.error_message}
    return message


def push_question_by_id(user_id: str, question_id: str) -> int:
    """As ``push_question``, reading the question first (only when pushing is on)."""
    if not get_settings().websocket_endpoint:
        return 0
    try:
        question = QuestionRepository().get(user_id, question_id)
    except ToroError as exc:
        logger.warning("The update could not be pushed", extra={"error": exc.message})
        return 0
    return push_question(question)


def push_question(question: Question) -> int:
    """Send the question's update to its user's connections; how many got it. Never raises."""
    endpoint = get_settings().websocket_endpoint
    if not endpoint:
        return 0
    try:
        connections = Connections()
        client = clients.connections(endpoint)
        data = json.dumps(update_of(question)).encode()
        delivered = 0
        for connection_id in connections.of_user(question.user_id):
            try:
                client.post_to_connection(ConnectionId=connection_id, Data=data)
                delivered += 1
            except client.exceptions.GoneException:
                connections.remove(connection_id, question.user_id)
        if delivered:
            metrics.add_metric(name="UpdatesPushed", unit=MetricUnit.Count, value=delivered)
        return delivered
    except (ClientError, BotoCoreError, Exception) as exc:  # best effort, by design
        metrics.add_metric(name="PushFailures", unit=MetricUnit.Count, value=1)
        logger.warning("The update could not be pushed", extra={"error": str(exc)})
        return 0
