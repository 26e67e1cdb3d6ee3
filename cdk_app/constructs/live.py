"""The WebSocket API that pushes question updates to the asker (core/push.py, core/live.py).

``$connect``, ``$disconnect`` and ``$default`` go to the ``websocket`` function; ``$connect``
checks the ticket the client got from ``POST /api/v1/live/ticket`` (with its access token) and
refuses with 401 otherwise. ``keepalive`` (the message ``{"action": "keepalive"}`` the page sends
every 5 minutes, so that API Gateway does not close the connection after 10 idle minutes) is a
MOCK integration with no route response: API Gateway answers it itself, with nothing, and no
function runs: it costs one message. The functions that push (ValidateQuestion when a question
becomes processing, the answers topic's subscriber when it is final) may only manage this stage's
connections (granted from the functions' declaration, cdk_app/constructs/access.py), and
find its Management API in ``WEBSOCKET_ENDPOINT``.
"""

from __future__ import annotations

import json

import jsii
from aws_cdk import Aspects, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from cdk_app.config import StageConfig
from cdk_app.nag import acknowledge

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "route": "$context.routeKey",
    "event": "$context.eventType",
    "connectionId": "$context.connectionId",
    "status": "$context.status",
    "error": "$context.integration.error",
}
# The route of the page's keepalive message (the API's route selection is ``$request.body.action``).
KEEPALIVE_ROUTE = "keepalive"
# Per second, for the whole stage: connections open once per page load (and every 2 hours, API
# Gateway's limit), and each open page sends a keepalive every 5 minutes.
RATE_LIMIT = 50
BURST_LIMIT = 100


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT))


@jsii.implements(IAspect)
class _AfterTheAccountsLoggingRole:
    """The stage's access logs need API Gateway's account-wide CloudWatch role: on an account
    that has none yet, the stage fails (and the stack rolls back) unless the
    ``AWS::ApiGateway::Account`` that sets the role, when this stack makes it, comes first."""

    def __init__(self, stage: apigwv2.WebSocketStage) -> None:
        self._stage = stage

    def visit(self, node: IConstruct) -> None:
        if node.node.path != self._stage.node.path:
            return
        for account in Stack.of(node).node.find_all():
            if isinstance(account, apigw.CfnAccount):
                self._stage.node.add_dependency(account)


class Live(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        routes = apigwv2.WebSocketRouteOptions(
            integration=integrations.WebSocketLambdaIntegration("Routes", handler)
        )
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"toro-{config.stage}-live",
            description="Toro Assistant: question updates pushed to the asker",
            connect_route_options=routes,
            disconnect_route_options=routes,
            default_route_options=routes,
            route_selection_expression="$request.body.action",
        )
        # A static mapping template selected whatever the request: the mock answers 200, and with
        # no route response nothing is sent back.
        self.api.add_route(
            KEEPALIVE_ROUTE,
            integration=integrations.WebSocketMockIntegration(
                "Keepalive",
                request_templates={"$default": json.dumps({"statusCode": 200})},
                template_selection_expression="\\$default",
            ),
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=config.stage,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=RATE_LIMIT, burst_limit=BURST_LIMIT),
            access_log_settings=_AccessLogs(self.access_logs),
            detailed_metrics_enabled=True,
        )
        Aspects.of(self.stage).add(_AfterTheAccountsLoggingRole(self.stage))
        for route in self.api.node.children:
            if isinstance(route, apigwv2.WebSocketRoute):
                acknowledge(
                    route,
                    "APIG4",
                    "$connect checks a one-minute, single-use ticket issued to a bearer of a "
                    "valid access token; $disconnect and $default act on the caller's own "
                    "connection only; keepalive reaches no function and answers nothing.",
                )
