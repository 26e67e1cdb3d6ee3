"""The QuestionWorkflow state machine, from the same ASL file the embedded runtime runs."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.nag import acknowledge
from state_machine.render import TASK_FUNCTIONS, render


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/vendedlogs/states/toro-{config.stage}-workflow",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        definition = render(
            {token: functions[name].function_arn for token, name in TASK_FUNCTIONS.items()}
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
        # A definition given as ASL gets no automatic permissions: grant each task its alias
        # (the tasks invoke published versions through it, never $LATEST).
        role = self.state_machine.role
        assert isinstance(role, Construct)
        for name in sorted(set(TASK_FUNCTIONS.values())):
            functions[name].grant_invoke(self.state_machine)
        acknowledge(
            role,
            "IAM5[Resource::*]",
            "Log delivery (logs:*LogDelivery) and X-Ray actions accept no resource ARN.",
        )
