"""One Lambda function: arm64, Python 3.12, X-Ray, JSON logs, its own log group and role."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.nag import acknowledge


class ToroFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        name: str,
        handler: str,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        timeout_seconds: int,
        memory_mb: int = 512,
        reserved_concurrency: int | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        function_name = f"toro-{config.stage}-{name.replace('_', '-')}"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=logs.RetentionDays[_retention_name(config.log_retention_days)],
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Its own role, granted only what this function does (no managed policies).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Toro Assistant {config.stage}: {name}",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=code,
            layers=[layer],
            role=self.role,
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_mb,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": "toro-assistant",
                "POWERTOOLS_METRICS_NAMESPACE": "ToroAssistant",
                # Never a development name, whatever the stage is called: outside development
                # the API refuses to start without the real signing key.
                "ENVIRONMENT": f"aws-{config.stage}",
                **environment,
            },
            dead_letter_queue=dead_letter_queue,
            # A deploy publishes a new version and keeps the ones before it: an execution
            # started earlier still invokes the versions its definition names, and an alias
            # can be moved back to them.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.RETAIN),
        )
        # What the entry points invoke (the REST API, the WebSocket routes, the topics'
        # subscriptions, the sweeper's schedule): this deploy's version, never $LATEST. The
        # workflow names the version itself (cdk_app/constructs/workflow.py).
        self.alias = lambda_.Alias(
            self, "Live", alias_name="live", version=self.function.current_version
        )
        acknowledge(
            self.role,
            "IAM5[Resource::*]",
            "X-Ray's PutTraceSegments and PutTelemetryRecords accept no resource ARN.",
        )
        acknowledge(
            self.function,
            "L1",
            "Pinned to python3.12, the runtime the asset's wheels and the Powertools layer are "
            "built for; the three move together (see cdk_app/build.py).",
        )


_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
}


def _retention_name(days: int) -> str:
    if days not in _RETENTION:
        raise ValueError(f"logRetentionDays must be one of {sorted(_RETENTION)}, not {days}")
    return _RETENTION[days]
