"""The REST API in front of the FastAPI Lambda (Mangum): throttled, traced, with access logs,
and an AWS WAF web ACL whose rate-based rule guards the sign-in routes.

A REST API rather than an HTTP API because only REST APIs (regional) can carry a WAF web ACL;
the stage's URL is ``https://<id>.execute-api.<region>.amazonaws.com/<stage>/``, and the app
learns that prefix per request (``api.lambda_handler``).
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.nag import acknowledge

# Where the sign-in routes are: what the WAF rule counts (the stage prefix comes before it).
SIGN_IN_PATHS = "/api/v1/auth/"
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "status": "$context.status",
    "latency": "$context.responseLatency",
    "waf": "$context.waf.status",
}
# What the WAF answers when its rule blocks: the API's own error shape.
WAF_REFUSAL = {
    "error": {
        "code": "rate_limited",
        "message": "Too many sign-in requests from this address. Try again in a few minutes.",
        "details": [],
    }
}


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
            apigw.CorsOptions(
                allow_origins=list(config.cors_allow_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            )
            if config.cors_allow_origins
            else None
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.rest_api = apigw.LambdaRestApi(
            self,
            "RestApi",
            handler=handler,
            proxy=True,
            rest_api_name=f"toro-{config.stage}-api",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            default_cors_preflight_options=cors,
            # Logging needs the region's API Gateway account role; kept when the stack goes,
            # because every REST API of the account in this region relies on it.
            cloud_watch_role=config.api_gateway_account_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                throttling_rate_limit=config.api_throttle_rate_limit,
                throttling_burst_limit=config.api_throttle_burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
        )
        self._acknowledge(config)
        self.web_acl = self._web_acl(config) if config.waf_enabled else None

    def _web_acl(self, config: StageConfig) -> wafv2.CfnWebACL:
        """A regional web ACL on the stage: one rate-based rule, per client address, on the
        sign-in routes; everything else is allowed (and bounded by the app's own limits)."""
        name = f"toro-{config.stage}-api"
        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            custom_response_bodies={
                "rateLimited": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content=json.dumps(WAF_REFUSAL), content_type="APPLICATION_JSON"
                )
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="SignInRateLimit",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                                response_code=429,
                                custom_response_body_key="rateLimited",
                                response_headers=[
                                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                                        name="Retry-After",
                                        value=str(config.waf_evaluation_window_seconds),
                                    )
                                ],
                            )
                        )
                    ),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=config.waf_sign_in_rate_limit,
                            evaluation_window_sec=config.waf_evaluation_window_seconds,
                            aggregate_key_type="IP",
                            scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                                byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                                    field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                        uri_path={}
                                    ),
                                    positional_constraint="CONTAINS",
                                    search_string=SIGN_IN_PATHS,
                                    text_transformations=[
                                        wafv2.CfnWebACL.TextTransformationProperty(
                                            priority=0, type="LOWERCASE"
                                        )
                                    ],
                                )
                            ),
                        )
                    ),
                    visibility_config=_visibility(f"{name}-sign-in"),
                )
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=web_acl.attr_arn,
        )
        return web_acl

    def _acknowledge(self, config: StageConfig) -> None:
        acknowledge(
            self.rest_api,
            "APIG4",
            "The API authenticates in the application: signed JWT bearer tokens on every route "
            "but register, login, refresh, health and the pages, which must stay open.",
        )
        acknowledge(
            self.rest_api,
            "COG4",
            "Accounts and tokens are the application's own (argon2 passwords, rotating JWTs); "
            "there is no Cognito user pool to authorize with.",
        )
        acknowledge(
            self.rest_api,
            "APIG2",
            "One proxy resource hands every request to FastAPI, which validates each body, "
            "parameter and header against its schema and answers 422 naming the field.",
        )
        if not config.waf_enabled:
            acknowledge(
                self.rest_api,
                "APIG3",
                "The WAF web ACL was turned off by context (wafEnabled=false) for this stage.",
            )
        if config.api_gateway_account_role:
            acknowledge(
                self.rest_api,
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "API Gateway's account-wide logging role: the service's own managed policy, "
                "shared by every REST API of the account in this region.",
            )


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric_name,
        sampled_requests_enabled=True,
    )
