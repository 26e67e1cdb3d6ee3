"""What an AWS service may do with the stack's own resources on its behalf, and no more.

A service principal alone would let that service act for any account that names the resource
(the confused deputy); each grant here is bound to this account and to the resources that may
cause it (``aws:SourceAccount``, ``aws:SourceArn``).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

# What a service needs of a topic's key to put messages into the encrypted topic.
KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]


def _on_behalf_of(scope: Construct, source_arn: str) -> dict[str, dict[str, str]]:
    return {
        "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
        "ArnLike": {"aws:SourceArn": source_arn},
    }


def let_service_use_key(key: kms.Key, service: str, source_arn: str) -> None:
    """``service`` may encrypt with ``key`` for ``source_arn`` (a pattern) of this account."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"{service.split('.')[0].title()}UsesTheKey",
            principals=[iam.ServicePrincipal(service)],
            actions=KEY_ACTIONS,
            resources=["*"],  # in a key policy, "*" is this key
            conditions=_on_behalf_of(key, source_arn),
        )
    )


def alarm_arns(scope: Construct) -> str:
    """Every CloudWatch alarm of this account and region."""
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"


def let_alarms_publish(topic: sns.Topic) -> None:
    """CloudWatch alarms of this account may publish to ``topic``. ``enforce_ssl`` gives the
    topic a policy with only a Deny, which would otherwise leave every alarm action failing."""
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=_on_behalf_of(topic, alarm_arns(topic)),
        )
    )
