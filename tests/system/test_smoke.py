"""``toro smoke`` (``make smoke``) against ``toro dev``: it passes on a working system, and fails
at the step that is broken, saying why, when something is."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local import http
from local.child import TORO
from local.dev import free_port
from local.scripted_openai import ScriptedOpenAI
from tests.toro_dev import Dev, running_dev

STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:QuestionWorkflow"


def smoke(dev: Dev, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    """``toro smoke`` as ``make smoke`` runs it: the stage given by the environment (``toro
    dev``'s URLs unless ``env`` says otherwise; None leaves a variable out)."""
    given: dict[str, str | None] = {
        "API_URL": dev.api_url,
        "LIVE_URL": live_url(dev),
        "STATE_MACHINE_ARN": STATE_MACHINE,
        "SMOKE_STEP_SECONDS": "60",
        **env,
    }
    return subprocess.run(
        [*TORO, "smoke", *args],
        env={
            **dev.env,
            "COLUMNS": "200",
            **{key: value for key, value in given.items() if value is not None},
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def live_url(dev: Dev) -> str:
    return dev.api_url.replace("http://", "ws://") + "/ws"


def aws(dev: Dev, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=dev.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def smoke_user(output: str) -> str:
    found = re.search(r"Register the user (smoke-[0-9a-f]+)", output)
    assert found, output
    return found.group(1)


def user_gone(dev: Dev, username: str) -> bool:
    """No account of that name: registering it again is possible (and undone)."""
    credentials = {"username": username, "password": "a-long-enough-password-42"}
    created = http.call("POST", f"{dev.api_url}/api/v1/auth/register", credentials)
    return created.status == 201


def test_the_smoke_passes_against_toro_dev_and_leaves_no_user_behind(dev: Dev) -> None:
    result = smoke(dev)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in (
        "The API answers",
        "Register the user",
        "Sign in",
        "Open the live connection",
        "Ask ",
        "Wait for the answer over the WebSocket",
        "Read the answer by polling",
        "The execution succeeded",
        "No alarm ToroAssistant-dev* in ALARM",
        "Delete the user",
        "Smoke test passed",
    ):
        assert step in out, out
    assert "✗" not in out
    # The execution checked is the question's, and it did succeed.
    question_id = re.search(r"Ask .*\n\s+✓ (\S+)", out)
    assert question_id, out
    execution = STATE_MACHINE.replace("stateMachine", "execution") + f":{question_id.group(1)}"
    assert aws(dev, "stepfunctions").describe_execution(executionArn=execution)["status"] == (
        "SUCCEEDED"
    )
    assert user_gone(dev, smoke_user(out))


def test_an_alarm_of_the_stack_in_alarm_fails_the_smoke_and_the_user_is_still_deleted(
    dev: Dev,
) -> None:
    stack = "ToroAssistant-smokealarm"
    cloudwatch = aws(dev, "cloudwatch")
    name = f"{stack}-MonitoringExecutionsFailed1A2B3C-XYZ"
    # Another stack's alarm in ALARM is not this stack's business.
    for alarm in (name, "ToroAssistant-other-Alarm"):
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            MetricName="ExecutionsFailed",
            Namespace="AWS/States",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    try:
        cloudwatch.set_alarm_state(
            AlarmName="ToroAssistant-other-Alarm", StateValue="ALARM", StateReason="elsewhere"
        )
        assert smoke(dev, "--stack", stack).returncode == 0
        cloudwatch.set_alarm_state(
            AlarmName=name, StateValue="ALARM", StateReason="Threshold Crossed: 3 failed"
        )
        result = smoke(dev, "--stack", stack)
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name, "ToroAssistant-other-Alarm"])
    assert result.returncode == 1
    assert f"smoke test failed at 'No alarm {stack}* in ALARM'" in result.stderr
    assert f"{name} (Threshold Crossed: 3 failed)" in result.stderr
    assert "ToroAssistant-other" not in result.stderr
    assert user_gone(dev, smoke_user(result.stdout))


def test_a_wrong_url_fails_the_first_step_with_its_reason(dev: Dev) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = smoke(dev, API_URL=nowhere)
    assert result.returncode == 1
    assert f"smoke test failed at 'The API answers at {nowhere}/api/v1'" in result.stderr
    assert "Cannot reach" in result.stderr
    assert "Register" not in result.stdout


def test_tickets_for_another_websocket_api_fail_the_smoke(dev: Dev) -> None:
    result = smoke(dev, LIVE_URL="wss://example.execute-api.us-east-1.amazonaws.com/dev")
    assert result.returncode == 1
    assert "smoke test failed at 'Open the live connection'" in result.stderr
    assert "not the stack's wss://example.execute-api" in result.stderr
    assert user_gone(dev, smoke_user(result.stdout))


def test_the_stack_outputs_name_what_is_checked(dev: Dev) -> None:
    """``STACK=...``: the URLs and the state machine come from DescribeStacks."""
    stack = "ToroAssistant-smokestack"
    outputs = {
        "ApiUrl": f"{dev.api_url}/",
        "LiveUrl": live_url(dev),
        "StateMachineArn": STATE_MACHINE,
    }
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation = aws(dev, "cloudformation")
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    try:
        passed = smoke(dev, API_URL=None, LIVE_URL=None, STATE_MACHINE_ARN=None, STACK=stack)
        missing = smoke(dev, API_URL=None, STACK="ToroAssistant-nosuchstack")
    finally:
        cloudformation.delete_stack(StackName=stack)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"Reading the outputs of the stack {stack}" in passed.stdout
    assert missing.returncode == 1
    assert 'smoke test failed at "Read the stack\'s outputs"' in missing.stderr
    assert "ToroAssistant-nosuchstack" in missing.stderr


@pytest.fixture(scope="module")
def model_down(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """A system whose model answers every completion with a server error."""
    model = ScriptedOpenAI().start()
    model.script("Tesouro Selic? #", ["server_error"])  # the smoke's question
    try:
        with running_dev(
            tmp_path_factory.mktemp("toro-dev-model-down"),
            {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": model.base_url},
            args=("--fast-retries",),
        ) as started:
            yield started
    finally:
        model.stop()


def test_a_stage_whose_model_is_down_fails_the_smoke_at_the_answer(model_down: Dev) -> None:
    result = smoke(model_down)
    assert result.returncode == 1
    assert "smoke test failed at 'Wait for the answer over the WebSocket'" in result.stderr
    assert "the question ended failed" in result.stderr
    assert user_gone(model_down, smoke_user(result.stdout))
