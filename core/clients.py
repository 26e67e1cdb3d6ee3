"""AWS clients, built on first use and then reused (one per process, as Lambda reuses them).

Endpoints, region and credentials come from the standard SDK configuration only
(``AWS_ENDPOINT_URL``, ``AWS_REGION``...), so the same code talks to AWS or to a local endpoint.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient

# Short connect timeout, standard retry mode: transient AWS errors are retried by the SDK.
_CONFIG = Config(
    connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3}
)


@lru_cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@lru_cache
def sns() -> SNSClient:
    return boto3.client("sns", config=_CONFIG)


@lru_cache
def stepfunctions() -> SFNClient:
    return boto3.client("stepfunctions", config=_CONFIG)


@lru_cache
def connections(endpoint: str) -> ApiGatewayManagementApiClient:
    """The API Gateway Management API of the WebSocket API at ``endpoint`` (its own endpoint
    per API and stage; toro dev's API speaks the same protocol locally). A short timeout: a
    push is best effort, and the workflow must not wait on it."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2}),
    )


def clear_caches() -> None:
    """Forget built clients (tests point the SDK at a new endpoint between cases)."""
    for factory in (dynamodb, sns, stepfunctions, connections):
        factory.cache_clear()
