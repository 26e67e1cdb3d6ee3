"""The WebSocket API answers the page's keepalive itself: a ``keepalive`` route whose
integration is a MOCK with no route response, so no function runs and nothing is sent back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdk_app.constructs.live import KEEPALIVE_ROUTE
from tests.infrastructure.test_stack import of_type, synth

LIVE_JS = Path(__file__).resolve().parents[2] / "api" / "web" / "static" / "live.js"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield synth(tmp_path_factory.mktemp("synth"))


def route(template: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any]
    (found,) = [
        r["Properties"]
        for r in of_type(template, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["RouteKey"] == key
    ]
    return found


def test_the_keepalive_route_is_a_mock_that_runs_no_function_and_answers_nothing(
    template: dict[str, Any],
) -> None:
    (api,) = of_type(template, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    keepalive, connect = route(template, KEEPALIVE_ROUTE), route(template, "$connect")
    assert keepalive["ApiId"] == connect["ApiId"]
    # No route response: API Gateway sends nothing back to the client.
    assert "RouteResponseSelectionExpression" not in keepalive
    assert of_type(template, "AWS::ApiGatewayV2::RouteResponse") == {}
    target = keepalive["Target"]["Fn::Join"][1][1]["Ref"]
    integration = template["Resources"][target]["Properties"]
    assert integration["IntegrationType"] == "MOCK"
    assert "IntegrationUri" not in integration or not integration["IntegrationUri"]
    # The one template, selected whatever the message, makes the mock answer 200.
    assert integration["TemplateSelectionExpression"] == "\\$default"
    assert json.loads(integration["RequestTemplates"]["$default"]) == {"statusCode": 200}
    # And no function may be invoked for it: the only WebSocket permissions are the routes'
    # function's (one for the API, whatever the route).
    lambda_targets = [
        r
        for r in of_type(template, "AWS::ApiGatewayV2::Integration").values()
        if r["Properties"]["IntegrationType"] != "MOCK"
    ]
    assert len(lambda_targets) == 1


def test_the_page_sends_the_message_the_route_selects() -> None:
    source = LIVE_JS.read_text(encoding="utf-8")
    assert f'JSON.stringify({{ action: "{KEEPALIVE_ROUTE}" }})' in source
