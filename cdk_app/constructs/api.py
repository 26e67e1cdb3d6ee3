"""The HTTP API in front of the FastAPI Lambda (Mangum), throttled, with access logs."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.nag import acknowledge


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        cors = (
            apigw.CorsPreflightOptions(
                allow_origins=list(config.cors_allow_origins),
                allow_methods=[
                    apigw.CorsHttpMethod.GET,
                    apigw.CorsHttpMethod.POST,
                    apigw.CorsHttpMethod.OPTIONS,
                ],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=["Location", "Retry-After"],
            )
            if config.cors_allow_origins
            else None
        )
        self.http_api = apigw.HttpApi(
            self,
            "HttpApi",
            api_name=f"toro-{config.stage}-api",
            cors_preflight=cors,
            default_integration=integrations.HttpLambdaIntegration("Lambda", handler),
        )
        acknowledge(
            self.http_api,
            "APIG4",
            "The API authenticates in the application: signed JWT bearer tokens on every route "
            "but register, login, refresh and health, which must stay open.",
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        stage = self.http_api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_burst_limit=config.api_throttle_burst_limit,
            throttling_rate_limit=config.api_throttle_rate_limit,
        )
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_logs.log_group_arn,
            format=(
                '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                '"method":"$context.httpMethod","path":"$context.path",'
                '"status":"$context.status","latency":"$context.responseLatency"}'
            ),
        )
