"""The REST API in front of the FastAPI Lambda (Mangum): throttled, traced, with access logs,
and an AWS WAF web ACL: per-address rate limits (the sign-in routes, and every route) and AWS's
managed common and known-bad-inputs rule groups.

A REST API rather than an HTTP API because only REST APIs (regional) can carry a WAF web ACL;
the stage's URL is ``https://<id>.execute-api.<region>.amazonaws.com/<stage>/``, and the app
learns that prefix per request (``api.lambda_handler``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

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
# What the WAF answers when its rate rules block: the API's own error shape.
WAF_REFUSAL = {
    "error": {
        "code": "rate_limited",
        "message": "Too many sign-in requests from this address. Try again in a few minutes.",
        "details": [],
    }
}
WAF_FLOOD_REFUSAL = {
    "error": {
        "code": "rate_limited",
        "message": "Too many requests from this address. Try again in a few minutes.",
        "details": [],
    }
}
# The common rule set's rule that blocks request bodies over 8 KB, and that size. The API takes
# bodies up to its own MAX_BODY_BYTES (16 KiB): a question of 2,000 characters is up to 8 KB in
# UTF-8, and 12 KB as JSON with \u escapes for its accented letters (what Python's json.dumps
# sends by default), so this rule only counts, and the API answers a larger body with its 413.
SIZE_RESTRICTED_BODY_RULE = "SizeRestrictions_BODY"
SIZE_RESTRICTED_BODY_BYTES = 8 * 1024
# The common rule set's rules that match patterns in a request body. A question is free text, and
# a customer may well ask about "<script>", "../" or an address like 169.254.169.254: blocked, they
# would get the WAF's bare 403 and lose their question. The API stores text and never runs or
# fetches it, and the page renders answers through DOMPurify, so these only count; on every other
# part of the request (URI, query, headers) they still block.
FREE_TEXT_BODY_RULES = ("CrossSiteScripting_BODY", "GenericLFI_BODY", "EC2MetaDataSSRF_BODY")


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
        """A regional web ACL on the stage, its rules in this order (the first that blocks
        ends the evaluation, so the rate rules come first and count every request):

        0. the sign-in routes, per client address (``wafSignInRateLimit``);
        1. every route, per client address (``wafRateLimit``): a flood from one address is
           answered by the WAF, not by Lambda;
        2. AWS's known bad inputs (Log4j and Java deserialisation patterns, and the like);
        3. AWS's common rule set (OWASP-style patterns), except that a body over 8 KB is only
           counted: the API's own limit (``MAX_BODY_BYTES``, 16 KiB, a 413 in its error shape)
           is the one that applies, and a question of 2,000 characters can be larger than 8 KB
           (``SIZE_RESTRICTED_BODY_BYTES``); and the patterns it looks for in a body
           (``FREE_TEXT_BODY_RULES``) are only counted, since a question is free text.

        Everything else is allowed, and bounded by the app's own limits."""
        name = f"toro-{config.stage}-api"
        window = config.waf_evaluation_window_seconds
        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            custom_response_bodies={
                "rateLimited": _json_body(WAF_REFUSAL),
                "tooManyRequests": _json_body(WAF_FLOOD_REFUSAL),
            },
            rules=[
                _rate_rule(
                    "SignInRateLimit",
                    0,
                    limit=config.waf_sign_in_rate_limit,
                    window=window,
                    body="rateLimited",
                    metric=f"{name}-sign-in",
                    scope_down=wafv2.CfnWebACL.StatementProperty(
                        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                            positional_constraint="CONTAINS",
                            search_string=SIGN_IN_PATHS,
                            text_transformations=[
                                wafv2.CfnWebACL.TextTransformationProperty(
                                    priority=0, type="LOWERCASE"
                                )
                            ],
                        )
                    ),
                ),
                _rate_rule(
                    "RateLimit",
                    1,
                    limit=config.waf_rate_limit,
                    window=window,
                    body="tooManyRequests",
                    metric=f"{name}-rate",
                ),
                _managed_rule(
                    "AWSManagedRulesKnownBadInputsRuleSet", 2, metric=f"{name}-known-bad-inputs"
                ),
                _managed_rule(
                    "AWSManagedRulesCommonRuleSet",
                    3,
                    metric=f"{name}-common",
                    counted=(SIZE_RESTRICTED_BODY_RULE, *FREE_TEXT_BODY_RULES),
                ),
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


def _json_body(body: Mapping[str, object]) -> wafv2.CfnWebACL.CustomResponseBodyProperty:
    return wafv2.CfnWebACL.CustomResponseBodyProperty(
        content=json.dumps(body), content_type="APPLICATION_JSON"
    )


def _rate_rule(
    name: str,
    priority: int,
    *,
    limit: int,
    window: int,
    body: str,
    metric: str,
    scope_down: wafv2.CfnWebACL.StatementProperty | None = None,
) -> wafv2.CfnWebACL.RuleProperty:
    """Block a client address past ``limit`` requests in ``window`` seconds (of those that
    ``scope_down`` matches), with 429, Retry-After and the API's error body ``body``."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429,
                    custom_response_body_key=body,
                    response_headers=[
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                            name="Retry-After", value=str(window)
                        )
                    ],
                )
            )
        ),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=limit,
                evaluation_window_sec=window,
                aggregate_key_type="IP",
                scope_down_statement=scope_down,
            )
        ),
        visibility_config=_visibility(metric),
    )


def _managed_rule(
    group: str, priority: int, *, metric: str, counted: tuple[str, ...] = ()
) -> wafv2.CfnWebACL.RuleProperty:
    """One of AWS's managed rule groups (no charge beyond the rule), in its own actions, except
    the rules named in ``counted``, which only count (visible in the metrics and samples)."""
    return wafv2.CfnWebACL.RuleProperty(
        name=group,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=group,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in counted
                ]
                or None,
            )
        ),
        visibility_config=_visibility(metric),
    )


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric_name,
        sampled_requests_enabled=True,
    )
