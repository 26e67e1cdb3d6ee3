"""One deploy's code per execution, and the entry points on the published code.

An execution runs the state machine version it was started on, whose definition names the
Lambda versions published by the same deploy; the REST API, the WebSocket routes and the SNS
subscriptions invoke each function's ``live`` alias, never ``$LATEST``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from state_machine.render import TASK_FUNCTIONS, load_definition, task_functions
from tests.infrastructure.test_stack import Resources, of_type, synth

# What a {"Ref": ...} of the definition becomes once the template is read back as JSON.
_REF = re.compile(r"^<Ref:([A-Za-z0-9]+)>$")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield synth(tmp_path_factory.mktemp("synth"))


def _one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = of_type(template, kind).items()
    return logical_id, resource


def _rendered_definition(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine's definition, each CloudFormation reference left as ``<Ref:Id>``."""
    _, machine = _one(template, "AWS::StepFunctions::StateMachine")
    body = machine["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
        else:
            assert list(part) == ["Ref"], f"the definition names {part}, not a published version"
            text += f"<Ref:{part['Ref']}>"
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _function_of(template: dict[str, Any], name: str) -> str:
    """The logical id of the Lambda function behind a FUNCTIONS name."""
    suffix = "-" + name.replace("_", "-")
    [logical_id] = [
        k
        for k, v in of_type(template, "AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"].endswith(suffix)
    ]
    return logical_id


def _live_alias_of(template: dict[str, Any], name: str) -> str:
    function = _function_of(template, name)
    [alias] = [
        k
        for k, v in of_type(template, "AWS::Lambda::Alias").items()
        if v["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert template["Resources"][alias]["Properties"]["Name"] == "live"
    return alias


def test_every_task_invokes_a_lambda_version_published_by_this_stack(
    template: dict[str, Any],
) -> None:
    states = _rendered_definition(template)["States"]
    versions = of_type(template, "AWS::Lambda::Version")
    expected = task_functions(json.loads(load_definition()))
    assert set(expected.values()) == set(TASK_FUNCTIONS.values())
    for state, name in expected.items():
        target = states[state]["Parameters"]["FunctionName"]
        found = _REF.match(target)
        assert found, f"{state} invokes {target!r}, not a version of this stack"
        version = found.group(1)
        # A version (not an alias, not the function: $LATEST) of the function the state is for.
        assert version in versions, f"{state} invokes {version}, which is not a Lambda version"
        function = versions[version]["Properties"]["FunctionName"]
        assert function == {"Ref": _function_of(template, name)}, state


def test_the_alias_of_the_state_machine_points_to_the_version_of_this_definition(
    template: dict[str, Any],
) -> None:
    machine, _ = _one(template, "AWS::StepFunctions::StateMachine")
    version_id, version = _one(template, "AWS::StepFunctions::StateMachineVersion")
    _, alias = _one(template, "AWS::StepFunctions::StateMachineAlias")
    # Published from the revision this template's definition makes: a new definition is a new
    # revision id, and so a new version (the property's update replaces the resource).
    assert version["Properties"]["StateMachineArn"] == {"Ref": machine}
    assert version["Properties"]["StateMachineRevisionId"] == {
        "Fn::GetAtt": [machine, "StateMachineRevisionId"]
    }
    # Every new execution goes to that version.
    [route] = alias["Properties"]["RoutingConfiguration"]
    assert route == {"StateMachineVersionArn": {"Ref": version_id}, "Weight": 100}
    assert "DeploymentPreference" not in alias["Properties"]
    # An older version is kept after the deploy that replaces it, so the alias can move back.
    assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_executions_are_started_and_found_through_the_alias(template: dict[str, Any]) -> None:
    alias, _ = _one(template, "AWS::StepFunctions::StateMachineAlias")
    machine, _ = _one(template, "AWS::StepFunctions::StateMachine")
    functions = template["Resources"]
    for name in ("start_workflow", "sweep_open_questions"):
        variables = functions[_function_of(template, name)]["Properties"]["Environment"]
        assert variables["Variables"]["STATE_MACHINE_ARN"] == {"Ref": alias}, name
    outputs = template["Outputs"]
    assert outputs["StateMachineAliasArn"]["Value"] == {"Ref": alias}
    # Listing every execution (of every version) and the console page keep the machine's ARN.
    assert outputs["StateMachineArn"]["Value"] == {"Ref": machine}


def test_lambda_versions_outlive_the_deploy_that_replaces_them(template: dict[str, Any]) -> None:
    versions = of_type(template, "AWS::Lambda::Version")
    assert len(versions) == len(of_type(template, "AWS::Lambda::Function"))
    for logical_id, version in versions.items():
        policies = (version.get("DeletionPolicy"), version.get("UpdateReplacePolicy"))
        assert policies == ("Retain", "Retain"), logical_id


def _statements_of_role(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_workflow_may_invoke_the_versions_of_its_task_functions_and_nothing_else(
    template: dict[str, Any],
) -> None:
    _, machine = _one(template, "AWS::StepFunctions::StateMachine")
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invoked = [
        statement
        for statement in _statements_of_role(template, role)
        if "lambda:InvokeFunction" in json.dumps(statement["Action"])
    ]
    resources = []
    for statement in invoked:
        assert statement["Action"] == "lambda:InvokeFunction"
        found = statement["Resource"]
        resources += found if isinstance(found, list) else [found]
    # Each task function's published versions (qualified ARNs), whichever deploy published
    # them: an execution started before a deploy goes on invoking the versions it names.
    # Never the unqualified function, which would run $LATEST.
    expected = [
        {"Fn::Join": ["", [{"Fn::GetAtt": [_function_of(template, name), "Arn"]}, ":*"]]}
        for name in sorted(set(TASK_FUNCTIONS.values()))
    ]
    assert sorted(map(json.dumps, resources)) == sorted(map(json.dumps, expected))


def _permissions_for(template: dict[str, Any], principal: str) -> Resources:
    return {
        k: v
        for k, v in of_type(template, "AWS::Lambda::Permission").items()
        if v["Properties"]["Principal"] == principal
    }


def test_the_rest_api_invokes_the_live_alias_of_the_api_function(
    template: dict[str, Any],
) -> None:
    alias = _live_alias_of(template, "api")
    methods = of_type(template, "AWS::ApiGateway::Method")
    proxied = [m for m in methods.values() if m["Properties"].get("Integration", {}).get("Uri")]
    assert proxied
    for method in proxied:
        assert {"Ref": alias} in method["Properties"]["Integration"]["Uri"]["Fn::Join"][1]
    rest = [
        p
        for p in _permissions_for(template, "apigateway.amazonaws.com").values()
        if "ApiRestApi" in json.dumps(p["Properties"]["SourceArn"])
    ]
    assert rest
    assert all(p["Properties"]["FunctionName"] == {"Ref": alias} for p in rest)


def test_the_websocket_routes_invoke_the_live_alias_of_the_websocket_function(
    template: dict[str, Any],
) -> None:
    alias = _live_alias_of(template, "websocket")
    # The keepalive route's MOCK integration runs no function.
    integrations = {
        name: integration
        for name, integration in of_type(template, "AWS::ApiGatewayV2::Integration").items()
        if integration["Properties"]["IntegrationType"] != "MOCK"
    }
    assert integrations
    for integration in integrations.values():
        uri = integration["Properties"]["IntegrationUri"]["Fn::Join"][1]
        assert {"Ref": alias} in uri
    routes = [
        p
        for p in _permissions_for(template, "apigateway.amazonaws.com").values()
        if "LiveApi" in json.dumps(p["Properties"]["SourceArn"])
    ]
    assert len(routes) == 3  # $connect, $disconnect, $default
    assert all(p["Properties"]["FunctionName"] == {"Ref": alias} for p in routes)


def test_the_topics_deliver_to_the_live_aliases_of_their_subscribers(
    template: dict[str, Any],
) -> None:
    subscribers = {"start_workflow": "Questions", "notify_user": "Answers"}
    subscriptions = {
        k: v
        for k, v in of_type(template, "AWS::SNS::Subscription").items()
        if v["Properties"]["Protocol"] == "lambda"
    }
    endpoints = sorted(json.dumps(s["Properties"]["Endpoint"]) for s in subscriptions.values())
    aliases = {name: _live_alias_of(template, name) for name in subscribers}
    assert endpoints == sorted(json.dumps({"Ref": a}) for a in aliases.values())
    permissions = _permissions_for(template, "sns.amazonaws.com")
    assert sorted(json.dumps(p["Properties"]["FunctionName"]) for p in permissions.values()) == (
        sorted(json.dumps({"Ref": a}) for a in aliases.values())
    )
    for name, topic in subscribers.items():
        [permission] = [
            p
            for p in permissions.values()
            if p["Properties"]["FunctionName"] == {"Ref": aliases[name]}
        ]
        assert topic in permission["Properties"]["SourceArn"]["Ref"], name


def test_no_entry_point_invokes_a_function_unqualified(template: dict[str, Any]) -> None:
    """Whoever calls a function calls a published version: no permission on $LATEST."""
    functions = set(of_type(template, "AWS::Lambda::Function"))
    for logical_id, permission in of_type(template, "AWS::Lambda::Permission").items():
        target = permission["Properties"]["FunctionName"]
        assert json.dumps(target) not in {
            json.dumps({"Fn::GetAtt": [f, "Arn"]}) for f in functions
        } | {json.dumps({"Ref": f}) for f in functions}, logical_id
