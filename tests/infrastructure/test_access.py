"""Each function's permissions in the synthesized template: what ``handlers.USES`` declares,
nothing more, and the same policies the embedded runtime enforces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cdk_app.config import DEFAULT_CALL_OPENAI_CONCURRENCY, StageConfig, load_context
from cdk_app.constructs.access import GRANTS
from cdk_app.policies import POLICIES, render, synthesized
from handlers import FUNCTIONS, SESSION_STATE_ATTRIBUTES, USES, VARIABLES, Access, Resource

DECLARED = {str(resource) for resource in Resource}
# What a function's role holds besides its declared resources: its log group, X-Ray, and
# where its failed asynchronous invocations go.
INFRASTRUCTURE_ACTIONS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
}


@pytest.fixture(scope="module")
def synthesis() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    yield synthesized()


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _references(value: Any) -> set[str]:
    """The names a statement's value refers to (``Ref`` and ``Fn::GetAtt``)."""
    if isinstance(value, list):
        return set().union(*(_references(inner) for inner in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if set(value) == {"Ref"}:
        return {value["Ref"]}
    if set(value) == {"Fn::GetAtt"}:
        return {value["Fn::GetAtt"][0]}
    return _references(list(value.values()))


def statements_of(policies: dict[str, Any], function: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = policies["principals"][f"function:{function}"]
    return found


def test_the_runtime_enforces_the_templates_policies(
    synthesis: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """local/iam_policies.json is what `make policies` writes from this template."""
    assert POLICIES.read_text(encoding="utf-8") == render(synthesis[1]), (
        "local/iam_policies.json differs from the template: run `make policies`"
    )


def test_every_function_declares_its_uses_and_each_has_a_grant() -> None:
    assert set(USES) == set(FUNCTIONS)
    for name, uses in USES.items():
        for resource, access in uses.items():
            assert (resource, access) in GRANTS, (name, resource, access)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_is_granted_exactly_the_resources_it_declares(
    synthesis: tuple[dict[str, Any], dict[str, Any]], name: str
) -> None:
    statements = statements_of(synthesis[1], name)
    referenced = set().union(*(_references(s["Resource"]) for s in statements)) & DECLARED
    assert referenced == {str(resource) for resource in USES[name]}
    for statement in statements:
        resources = _references(statement["Resource"])
        if resources & DECLARED or resources == {"topics-key"}:
            continue
        # Anything else is its logs, its traces or its dead-letter queue.
        assert set(_list(statement["Action"])) <= INFRASTRUCTURE_ACTIONS, statement


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_function_is_told_where_exactly_its_declared_resources_are(
    synthesis: tuple[dict[str, Any], dict[str, Any]], name: str
) -> None:
    template = synthesis[0]
    [function] = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Handler") == FUNCTIONS[name]
    ]
    variables = set(function["Environment"]["Variables"]) & set(VARIABLES.values())
    assert variables == {VARIABLES[resource] for resource in USES[name]}


def test_start_workflow_may_claim_the_question_and_start_its_execution(
    synthesis: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    actions = {
        action: _references(statement["Resource"])
        for statement in statements_of(synthesis[1], "start_workflow")
        for action in _list(statement["Action"])
    }
    assert actions["dynamodb:UpdateItem"] == {"table"}
    assert actions["states:StartExecution"] == {"workflow"}


def test_only_the_api_reads_accounts_and_the_websocket_only_whether_a_session_ended(
    synthesis: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    readers = {
        name
        for name in FUNCTIONS
        for statement in statements_of(synthesis[1], name)
        if "accounts" in _references(statement["Resource"])
    }
    assert readers == {"api", "websocket"}
    [session_state] = [
        statement
        for statement in statements_of(synthesis[1], "websocket")
        if "accounts" in _references(statement["Resource"])
    ]
    assert session_state["Action"] == "dynamodb:GetItem"
    assert session_state["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": list(SESSION_STATE_ATTRIBUTES)},
        "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    }
    assert not {"password_hash", "refresh_jti", "previous_jti"} & set(SESSION_STATE_ATTRIBUTES)
    assert USES["websocket"][Resource.ACCOUNTS] is Access.SESSION_STATE


def test_the_sweeper_only_describes_its_own_state_machines_executions(
    synthesis: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    workflow = [
        statement
        for statement in statements_of(synthesis[1], "sweep_open_questions")
        if any(action.startswith("states:") for action in _list(statement["Action"]))
    ]
    assert [statement["Action"] for statement in workflow] == ["states:DescribeExecution"]
    resource = workflow[0]["Resource"]["Fn::Join"][1]
    assert resource[-3:] == [":execution:", {"Fn::GetAtt": ["workflow", "Name"]}, ":*"]
    for name in FUNCTIONS:
        for statement in statements_of(synthesis[1], name):
            if statement["Resource"] == "*":
                assert {a.split(":")[0] for a in _list(statement["Action"])} == {"xray"}, name


def test_call_openai_alone_has_reserved_concurrency_so_the_api_keeps_room(
    synthesis: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    reserved = {
        resource["Properties"]["Handler"]: resource["Properties"].get(
            "ReservedConcurrentExecutions"
        )
        for resource in synthesis[0]["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert {handler: n for handler, n in reserved.items() if n is not None} == {
        FUNCTIONS["call_openai"]: DEFAULT_CALL_OPENAI_CONCURRENCY
    }


@pytest.mark.parametrize(("setting", "reserved"), [(0, 0), (5, 5), ("", 20)])
def test_call_openai_concurrency_is_a_stage_setting(setting: Any, reserved: int) -> None:
    context = {**load_context("dev"), "callOpenaiConcurrency": setting}
    assert StageConfig.from_context(context.get).call_openai_concurrency == reserved


@pytest.mark.parametrize("setting", [-1, 1001])
def test_a_call_openai_concurrency_out_of_range_is_refused(setting: int) -> None:
    context = {**load_context("dev"), "callOpenaiConcurrency": setting}
    with pytest.raises(ValueError, match="callOpenaiConcurrency must be between 0"):
        StageConfig.from_context(context.get)
