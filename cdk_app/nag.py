"""cdk-nag (AwsSolutions) findings this design accepts, each acknowledged where it arises."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import Construct

PACK = "AwsSolutions::AwsSolutions"


def acknowledge(scope: Construct, rule: str, reason: str) -> None:
    """Accept finding ``rule`` (e.g. ``IAM5[Resource::*]``) on ``scope``, saying why."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}-{rule}", reason=reason))


def arn_of(resource: Construct) -> str:
    """How cdk-nag names a resource's ARN in a finding: ``<LogicalId.Arn>``."""
    default = resource.node.default_child
    assert isinstance(default, CfnResource)
    return f"<{Stack.of(resource).get_logical_id(default)}.Arn>"


def executions_finding(state_machine: Construct) -> str:
    """How cdk-nag names the executions of a state machine, ``...:execution:<name>:*``."""
    default = state_machine.node.default_child
    assert isinstance(default, CfnResource)
    logical_id = Stack.of(state_machine).get_logical_id(default)
    return (
        "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        f"<{logical_id}.Name>:*"
    )
