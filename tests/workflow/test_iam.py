"""The embedded runtime refuses, as AWS does, what the template does not grant a function.

Given the declaration as it was when ``start_workflow`` began writing the table without saying
so (no ``Resource.TABLE`` among its uses), the template's policies leave its role without a
DynamoDB grant: on AWS every start would be AccessDenied, and locally it must be too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import boto3
import pytest

from cdk_app.policies import render, synthesize
from core import reset
from core.models import QuestionStatus
from core.repository import QuestionRepository
from core.workflow import execution_arn_for
from handlers import USES, Resource
from local.iam import POLICIES
from local.provision import QUESTIONS_TOPIC
from local.scripted_openai import ScriptedOpenAI
from tests.workflow.conftest import Runtime, Workflow, started_runtime

DEAD_LETTERS = f"{QUESTIONS_TOPIC}-start_workflow-dlq"


@contextmanager
def enforcing(directory: Path, policies: dict[str, Any]) -> Iterator[tuple[Runtime, Path]]:
    """A runtime of its own enforcing ``policies``; (the runtime, its log)."""
    path = directory / "policies.json"
    path.write_text(render(policies))
    openai = ScriptedOpenAI().start()
    try:
        with started_runtime(directory, openai, TORO_IAM_POLICIES=str(path)) as env:
            yield Runtime(env=env, openai=openai), directory / "runtime.log"
    finally:
        openai.stop()


def pointed_at(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Workflow:
    """The test's clients pointed at ``runtime``."""
    for name, value in runtime.env.items():
        monkeypatch.setenv(name, value)
    reset.clear_caches()
    return Workflow(runtime)


@pytest.fixture(scope="module")
def withheld(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, Path]]:
    """A runtime enforcing the policies of a template whose start_workflow declares no table."""
    uses = USES["start_workflow"]
    table = uses.pop(Resource.TABLE)
    try:
        policies = synthesize()
    finally:
        uses[Resource.TABLE] = table
    with enforcing(tmp_path_factory.mktemp("withheld"), policies) as started:
        yield started


def test_the_declared_grants_leave_start_workflow_without_the_table_when_it_is_not_declared(
    withheld: tuple[Runtime, Path],
) -> None:
    statements = json.loads(Path(withheld[1].parent / "policies.json").read_text())["principals"]
    actions = {
        action
        for statement in statements["function:start_workflow"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    assert not any(action.startswith("dynamodb:") for action in actions)
    assert "states:StartExecution" in actions


def test_a_function_without_its_grant_fails_as_on_aws_and_the_question_waits_for_recovery(
    withheld: tuple[Runtime, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, log = withheld
    workflow = pointed_at(runtime, monkeypatch)

    question = workflow.submit("O que é o Tesouro Selic?")

    sqs = boto3.client("sqs")
    dead_letters = sqs.get_queue_url(QueueName=DEAD_LETTERS)["QueueUrl"]
    deadline = time.monotonic() + 30
    received: list[Any] = []
    while not received and time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=dead_letters, WaitTimeSeconds=1).get("Messages", [])
    assert received, "the refused delivery never reached the dead-letter queue"
    assert question.question_id in json.loads(received[0]["Body"])["Message"]
    stored = QuestionRepository().get(question.user_id, question.question_id)
    assert stored.status is QuestionStatus.PENDING  # the sweeper re-sends it once granted
    assert workflow.executions_named(question.question_id) == []
    denial = (
        "assumed-role/function:start_workflow is not authorized to perform: "
        "dynamodb:UpdateItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/"
        "toro-assistant because no statement of its policy allows it"
    )
    assert denial in log.read_text()


@pytest.fixture(scope="module")
def no_invoke(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Runtime, Path]]:
    """A runtime whose state machine role may invoke none of its tasks."""
    policies = json.loads(POLICIES.read_text())
    policies["principals"]["workflow"] = [
        statement
        for statement in policies["principals"]["workflow"]
        if "lambda:InvokeFunction" not in json.dumps(statement["Action"])
    ]
    with enforcing(tmp_path_factory.mktemp("no-invoke"), policies) as started:
        yield started


def test_the_state_machine_invokes_its_tasks_with_its_own_roles_grant(
    no_invoke: tuple[Runtime, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, log = no_invoke
    workflow = pointed_at(runtime, monkeypatch)

    question = workflow.submit("O que é o Tesouro Selic?")

    arn = execution_arn_for(workflow.state_machine_arn, question.question_id)
    deadline = time.monotonic() + 30
    status = "RUNNING"
    while status == "RUNNING" and time.monotonic() < deadline:
        with suppress(workflow.sfn.exceptions.ExecutionDoesNotExist):
            status = workflow.sfn.describe_execution(executionArn=arn)["status"]
        time.sleep(0.1)
    assert status == "FAILED"  # not even MarkFailed may run
    stored = QuestionRepository().get(question.user_id, question.question_id)
    assert stored.status is QuestionStatus.PENDING
    assert (
        "assumed-role/workflow is not authorized to perform: lambda:InvokeFunction on resource: "
        "arn:aws:lambda:us-east-1:123456789012:function:validate_question:$LATEST"
    ) in log.read_text()
