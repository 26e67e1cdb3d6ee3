"""The tables: the main one (questions, conversations, notifications, the answer cache,
idempotency, live connections and counters) and the accounts table (profiles with their password
hashes, usernames, login sessions with their refresh tokens), which only the API may read."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from cdk_app.config import StageConfig

OPEN_QUESTIONS_INDEX = "open-questions"
CONVERSATION_INDEX = "conversation-questions"


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.accounts = self._table("Accounts", f"toro-assistant-{config.stage}-accounts")
        self.table = self._table(
            "Table",
            f"toro-assistant-{config.stage}",
            [
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=OPEN_QUESTIONS_INDEX,
                    partition_key=dynamodb.Attribute(
                        name="open_status", type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.KEYS_ONLY,
                ),
                # A conversation's questions in time order: the follow-ups' context and the
                # conversation's page of questions.
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=CONVERSATION_INDEX,
                    partition_key=dynamodb.Attribute(
                        name="conversation", type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.ALL,
                ),
            ],
        )

    def _table(
        self,
        construct_id: str,
        name: str,
        indexes: list[dynamodb.GlobalSecondaryIndexPropsV2] | None = None,
    ) -> dynamodb.TableV2:
        """On demand, point-in-time recovery, TTL ``ttl``, kept with the stage's protection."""
        protected = self._config.deletion_protection
        return dynamodb.TableV2(
            self,
            construct_id,
            table_name=name,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="ttl",
            deletion_protection=protected,
            removal_policy=RemovalPolicy.RETAIN if protected else RemovalPolicy.DESTROY,
            global_secondary_indexes=indexes,
        )
