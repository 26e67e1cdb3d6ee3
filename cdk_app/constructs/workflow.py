"""The QuestionWorkflow state machine, from the same ASL file the embedded runtime runs."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.nag import acknowledge, arn_of
from state_machine.render import TASK_FUNCTIONS, render


class Workflow(Construct):
    """The state machine, a version of it published by each deploy that changes it, and the
    ``live`` alias through which every execution starts.

    The definition names the Lambda versions published by the same deploy, so a state machine
    version is one deploy's code from its first task to its last. An execution keeps the version
    it was started on; a deploy moves the alias, and only new executions follow it.
    """

    ALIAS_NAME = "live"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: Mapping[str, lambda_.Function],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/toro-{config.stage}-workflow",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        task_functions = sorted(set(TASK_FUNCTIONS.values()))
        definition = render(
            {
                token: functions[name].current_version.function_arn
                for token, name in TASK_FUNCTIONS.items()
            }
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            # The type is create-only: switching it replaces the state machine, which
            # CloudFormation can do only under a new name, so the name carries the type.
            state_machine_name=f"toro-{config.stage}-QuestionWorkflow-{config.workflow_type.title()}",
            definition_body=sfn.DefinitionBody.from_string(definition),
            state_machine_type=sfn.StateMachineType[config.workflow_type],
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        # A definition given as ASL gets no automatic permissions. The role may invoke the
        # published versions of the task functions, whichever deploy published them: the role
        # is shared by every version of the state machine, and an execution started before a
        # deploy goes on invoking the Lambda versions its own definition names. Never the
        # unqualified function ($LATEST).
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[f"{functions[name].function_arn}:*" for name in task_functions],
            )
        )
        # Published from the revision this deploy made: a new definition is a new revision id,
        # which replaces this resource, so each deploy that changes the workflow publishes a
        # version. The versions before it are kept: their executions may still be running, and
        # the alias can be moved back to one of them.
        machine = self.state_machine.node.default_child
        assert isinstance(machine, sfn.CfnStateMachine)
        self.version = sfn.CfnStateMachineVersion(
            self,
            "Version",
            state_machine_arn=self.state_machine.state_machine_arn,
            state_machine_revision_id=machine.attr_state_machine_revision_id,
        )
        self.version.apply_removal_policy(RemovalPolicy.RETAIN)
        self.alias = sfn.CfnStateMachineAlias(
            self,
            "Alias",
            name=self.ALIAS_NAME,
            description="Where executions start: the version published by the last deploy.",
            routing_configuration=[
                sfn.CfnStateMachineAlias.RoutingConfigurationVersionProperty(
                    state_machine_version_arn=self.version.ref, weight=100
                )
            ],
        )
        # arn:...:stateMachine:<name>:live. Executions started through it are still named
        # arn:...:execution:<name>:<execution name> (core.workflow.execution_arn_for).
        self.alias_arn = self.alias.ref
        role = self.state_machine.role
        assert isinstance(role, Construct)
        acknowledge(
            role,
            "IAM5[Resource::*]",
            "Log delivery (logs:*LogDelivery) and X-Ray actions accept no resource ARN.",
        )
        for name in task_functions:
            acknowledge(
                role,
                f"IAM5[Resource::{arn_of(functions[name])}:*]",
                "Every published version of this task function: an execution started before a "
                "deploy invokes the versions named by the definition it started with.",
            )
