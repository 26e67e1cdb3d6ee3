"""Each function's permissions and resource variables, made from ``handlers.USES`` and nowhere
else: a function is granted what its declaration says it touches, in the way it says."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from aws_cdk import ArnFormat, CfnResource, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_app.nag import acknowledge, arn_of, executions_finding
from handlers import SESSION_STATE_ATTRIBUTES, USES, VARIABLES, Access, Resource

# What the sweeper asks of the workflow (core/sweeper.py): an execution's status, by its name.
OBSERVE_ACTIONS = ["states:DescribeExecution"]


@dataclass(frozen=True)
class Targets:
    """The stack's resources that the declaration names."""

    table: dynamodb.TableV2
    accounts: dynamodb.TableV2
    questions_topic: sns.Topic
    answers_topic: sns.Topic
    workflow: sfn.StateMachine
    # Executions start through the state machine's alias (this deploy's version); IAM
    # authorizes them on the state machine's own ARN.
    workflow_alias_arn: str
    openai_key: secretsmanager.Secret
    signing_key: secretsmanager.Secret
    connections: apigwv2.WebSocketStage

    def variable(self, resource: Resource) -> str:
        """What a function's ``VARIABLES[resource]`` is set to."""
        values = {
            Resource.TABLE: self.table.table_name,
            Resource.ACCOUNTS: self.accounts.table_name,
            Resource.QUESTIONS_TOPIC: self.questions_topic.topic_arn,
            Resource.ANSWERS_TOPIC: self.answers_topic.topic_arn,
            Resource.WORKFLOW: self.workflow_alias_arn,
            Resource.OPENAI_KEY: self.openai_key.secret_name,
            Resource.SIGNING_KEY: self.signing_key.secret_name,
            Resource.CONNECTIONS: self.connections.callback_url,
        }
        return values[resource]

    def constructs(self) -> dict[Resource, Construct]:
        """Each declared resource's construct (the policy extract names them by resource)."""
        return {
            Resource.TABLE: self.table,
            Resource.ACCOUNTS: self.accounts,
            Resource.QUESTIONS_TOPIC: self.questions_topic,
            Resource.ANSWERS_TOPIC: self.answers_topic,
            Resource.WORKFLOW: self.workflow,
            Resource.OPENAI_KEY: self.openai_key,
            Resource.SIGNING_KEY: self.signing_key,
            Resource.CONNECTIONS: cast(Construct, self.connections.api),
        }


Grant = Callable[[Targets, lambda_.Function], None]


def _read_table(table: Callable[[Targets], dynamodb.TableV2]) -> Grant:
    def grant(targets: Targets, function: lambda_.Function) -> None:
        table(targets).grant_read_data(function)
        _indexes_covered(function, table(targets))

    return grant


def _write_table(table: Callable[[Targets], dynamodb.TableV2]) -> Grant:
    def grant(targets: Targets, function: lambda_.Function) -> None:
        table(targets).grant_read_write_data(function)
        _indexes_covered(function, table(targets))

    return grant


def _indexes_covered(function: lambda_.Function, table: dynamodb.TableV2) -> None:
    role = function.role
    assert isinstance(role, Construct)
    acknowledge(
        role, f"IAM5[Resource::{arn_of(table)}/index/*]", "The table grant covers its indexes."
    )


def _session_state(targets: Targets, function: lambda_.Function) -> None:
    """One item's session attributes, by key, and nothing else: DynamoDB's fine-grained access
    control (the documented pattern for "access to specific attributes") refuses a read that
    asks for any other attribute."""
    function.add_to_role_policy(
        iam.PolicyStatement(
            actions=["dynamodb:GetItem"],
            resources=[targets.accounts.table_arn],
            conditions={
                "ForAllValues:StringEquals": {
                    "dynamodb:Attributes": list(SESSION_STATE_ATTRIBUTES)
                },
                "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
            },
        )
    )


def _publish(topic: Callable[[Targets], sns.Topic]) -> Grant:
    def grant(targets: Targets, function: lambda_.Function) -> None:
        topic(targets).grant_publish(function)
        role = function.role
        assert isinstance(role, Construct)
        acknowledge(
            role,
            "IAM5[Action::kms:GenerateDataKey*]",
            "Publishing to a topic encrypted with our key needs its data-key actions; "
            "grantPublish scopes them to that one key.",
        )

    return grant


def _start(targets: Targets, function: lambda_.Function) -> None:
    targets.workflow.grant_start_execution(function)


def _observe(targets: Targets, function: lambda_.Function) -> None:
    executions = Stack.of(targets.workflow).format_arn(
        service="states",
        resource="execution",
        resource_name=f"{targets.workflow.state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    function.add_to_role_policy(
        iam.PolicyStatement(actions=OBSERVE_ACTIONS, resources=[executions])
    )
    role = function.role
    assert isinstance(role, Construct)
    acknowledge(
        role,
        f"IAM5[Resource::{executions_finding(targets.workflow)}]",
        "Describing the executions of this one state machine, named after the questions.",
    )


def _read_secret(secret: Callable[[Targets], secretsmanager.Secret]) -> Grant:
    def grant(targets: Targets, function: lambda_.Function) -> None:
        secret(targets).grant_read(function)

    return grant


def _post(targets: Targets, function: lambda_.Function) -> None:
    targets.connections.grant_management_api_access(function)
    role = function.role
    assert isinstance(role, Construct)
    api_id = Stack.of(targets.connections).get_logical_id(
        cast(CfnResource, targets.connections.api.node.default_child)
    )
    connections = (
        "arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
        f"<{api_id}>/{targets.connections.stage_name}/*/@connections/*"
    )
    acknowledge(
        role,
        f"IAM5[Resource::{connections}]",
        "Posting to any connection of this one stage: connection ids are made by API "
        "Gateway at each connect and cannot be known in advance.",
    )


GRANTS: dict[tuple[Resource, Access], Grant] = {
    (Resource.TABLE, Access.READ): _read_table(lambda t: t.table),
    (Resource.TABLE, Access.READ_WRITE): _write_table(lambda t: t.table),
    (Resource.ACCOUNTS, Access.READ_WRITE): _write_table(lambda t: t.accounts),
    (Resource.ACCOUNTS, Access.SESSION_STATE): _session_state,
    (Resource.QUESTIONS_TOPIC, Access.PUBLISH): _publish(lambda t: t.questions_topic),
    (Resource.ANSWERS_TOPIC, Access.PUBLISH): _publish(lambda t: t.answers_topic),
    (Resource.WORKFLOW, Access.START): _start,
    (Resource.WORKFLOW, Access.OBSERVE): _observe,
    (Resource.OPENAI_KEY, Access.READ): _read_secret(lambda t: t.openai_key),
    (Resource.SIGNING_KEY, Access.READ): _read_secret(lambda t: t.signing_key),
    (Resource.CONNECTIONS, Access.POST): _post,
}


def grant_declared_access(targets: Targets, functions: Mapping[str, lambda_.Function]) -> None:
    """Each function's grants and resource variables, from ``handlers.USES``."""
    for name, uses in USES.items():
        function = functions[name]
        for resource, access in uses.items():
            grant = GRANTS.get((resource, access))
            if grant is None:
                raise ValueError(f"{name}: no way to grant {access} on {resource}")
            grant(targets, function)
            function.add_environment(VARIABLES[resource], targets.variable(resource))
