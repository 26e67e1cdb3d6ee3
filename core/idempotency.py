"""Powertools Idempotency, with its records kept in the main table."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from core import clients
from core.settings import get_settings


def persistence_layer(name: str) -> DynamoDBPersistenceLayer:
    """Records under ``IDEMPOTENCY#<name>``; they expire through the table's TTL attribute."""
    return DynamoDBPersistenceLayer(
        table_name=get_settings().table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=f"IDEMPOTENCY#{name}",
        expiry_attr="ttl",
        boto3_client=clients.dynamodb(),
    )
