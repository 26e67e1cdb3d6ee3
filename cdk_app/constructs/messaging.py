"""The questions and answers topics, encrypted with the project's own key."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.constructs.service_access import let_service_use_key
from cdk_app.nag import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """A queue for what could not be delivered: encrypted, TLS only, kept 14 days."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "SQS3", "This queue is itself a dead-letter queue; its depth is alarmed.")
    return queue


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "TopicsKey",
            description=f"Toro Assistant {config.stage}: SNS topics",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.questions = self._topic("Questions", f"toro-questions-{config.stage}")
        self.answers = self._topic("Answers", f"toro-answers-{config.stage}")
        # SNS uses the key for the two topics (to deliver to their subscribers), no other.
        stack = Stack.of(self)
        let_service_use_key(
            self.key,
            "sns.amazonaws.com",
            f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:toro-*-{config.stage}",
        )

    def _topic(self, construct_id: str, name: str) -> sns.Topic:
        topic = sns.Topic(
            self, construct_id, topic_name=name, master_key=self.key, enforce_ssl=True
        )
        return topic
