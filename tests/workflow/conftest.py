"""The real workflow definition, executed by the embedded runtime started as its own process.

The runtime (``python -m local.runtime``) owns the AWS endpoint and runs the handlers; the test
process owns a scripted OpenAI-compatible server that the handlers' SDK calls over HTTP. Tests
publish to the questions topic exactly as the API does and watch the question, the execution
history and the notification.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from core import reset
from core.models import Notification, Question, QuestionStatus, QuestionSubmitted, new_id
from core.repository import NotificationRepository, QuestionRepository
from core.workflow import execution_arn_for
from local.scripted_openai import ScriptedOpenAI
from tests.conftest import OFFLINE_ENV

STARTUP_TIMEOUT_SECONDS = 60
EXECUTION_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Runtime:
    env: dict[str, str]
    openai: ScriptedOpenAI


@contextmanager
def started_runtime(
    directory: Path, openai: ScriptedOpenAI, **extra_env: str
) -> Iterator[dict[str, str]]:
    """``python -m local.runtime`` in its own process, logging into ``directory``; yields the
    variables that point a client at it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "OPENAI_", "POWERTOOLS_"))
    }
    env.update(OFFLINE_ENV)
    env.update(
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=openai.base_url,
        OPENAI_TIMEOUT_SECONDS="1",
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    log_path = directory / "runtime.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.runtime", "--port", "0", "--fast-retries"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            cwd=directory,
        )
    try:
        ready = _wait_ready(process, log_path)
        threading.Thread(target=_drain, args=(process, log_path), daemon=True).start()
        resource_env = {k: v for k, v in ready.items() if k.isupper()}
        resource_env["AWS_ENDPOINT_URL"] = ready["endpoint"]
        yield resource_env
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    openai = ScriptedOpenAI(slow_seconds=2.5).start()
    try:
        with started_runtime(tmp_path_factory.mktemp("runtime"), openai) as env:
            yield Runtime(env=env, openai=openai)
    finally:
        openai.stop()


def _drain(process: subprocess.Popen[str], log_path: Path) -> None:
    """Keep reading the runtime's stdout (handler logs) so that it never blocks on a full pipe."""
    assert process.stdout is not None
    with log_path.with_name("handlers.log").open("a") as log:
        for line in process.stdout:
            log.write(line)


def _wait_ready(process: subprocess.Popen[str], log_path: Path) -> dict[str, Any]:
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("{"):
            ready: dict[str, Any] = json.loads(line)
            return ready
        if process.poll() is not None:
            break
    raise RuntimeError(f"The embedded runtime did not start:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(autouse=True)
def runtime_environment(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in runtime.env.items():
        monkeypatch.setenv(name, value)
    reset.clear_caches()


@dataclass
class Outcome:
    question: Question
    execution: dict[str, Any]
    history: list[dict[str, Any]]
    notifications: list[Notification]

    def entered(self) -> list[str]:
        """Names of the states the execution entered, in order."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if "stateEnteredEventDetails" in event
        ]

    def state_output(self, name: str) -> dict[str, Any]:
        """The state's output (the whole state after its ResultPath), as the history shows it."""
        entered = False
        for event in self.history:
            details = event.get("stateEnteredEventDetails")
            if details and details["name"] == name:
                entered = True
            exited = event.get("stateExitedEventDetails")
            if entered and exited and exited["name"] == name:
                output: dict[str, Any] = json.loads(exited["output"])
                return output
        raise AssertionError(f"The execution never left {name}")

    def task_errors(self) -> list[str]:
        return [
            event["taskFailedEventDetails"]["error"]
            for event in self.history
            if "taskFailedEventDetails" in event
        ]


class Workflow:
    """Drives questions through the running system and collects what happened to them."""

    def __init__(self, runtime: Runtime) -> None:
        self.openai = runtime.openai
        self.sfn = boto3.client("stepfunctions")
        self.sqs = boto3.client("sqs")
        self.sns = boto3.client("sns")
        self.state_machine_arn = runtime.env["STATE_MACHINE_ARN"]
        self.questions_topic_arn = runtime.env["QUESTIONS_TOPIC_ARN"]

    def store(
        self, text: str, user_id: str = "workflow-user", session_id: str | None = None
    ) -> Question:
        """A pending question; in a conversation of its own unless ``session_id`` names one."""
        return QuestionRepository().create(
            Question(user_id=user_id, session_id=session_id or new_id(), text=text)
        )

    def submit(
        self, text: str, user_id: str = "workflow-user", session_id: str | None = None
    ) -> Question:
        """What the API does: store the pending question, then publish it."""
        question = self.store(text, user_id, session_id)
        self.publish(question)
        return question

    def publish(self, question: Question) -> None:
        """Hand a stored question to the workflow, as the API does."""
        message = QuestionSubmitted(
            question_id=question.question_id,
            user_id=question.user_id,
            session_id=question.session_id,
        )
        self.sns.publish(
            TopicArn=self.questions_topic_arn,
            Message=message.model_dump_json(),
            MessageAttributes={"user_id": {"DataType": "String", "StringValue": question.user_id}},
        )

    def deliver_twice(self, question: Question) -> None:
        """SNS's at-least-once delivery: the same notification reaches the subscriber twice."""
        queue_url = self.sqs.get_queue_url(QueueName="toro-questions-start_workflow")["QueueUrl"]
        envelope = {
            "Type": "Notification",
            "MessageId": f"dup-{question.question_id}",
            "TopicArn": self.questions_topic_arn,
            "Message": QuestionSubmitted(
                question_id=question.question_id, user_id=question.user_id
            ).model_dump_json(),
            "Timestamp": "2026-11-29T10:00:00.000Z",
            "MessageAttributes": {"user_id": {"Type": "String", "Value": question.user_id}},
        }
        for _ in range(2):
            self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(envelope))

    def wait_delivered(self, timeout: float = 15) -> None:
        """Until the start_workflow subscription's queue has no message, visible or in flight:
        every delivery of the questions topic has been handled."""
        queue_url = self.sqs.get_queue_url(QueueName="toro-questions-start_workflow")["QueueUrl"]
        deadline = time.monotonic() + timeout
        while True:
            counts = self.sqs.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            visible = counts.get("ApproximateNumberOfMessages", "0")
            in_flight = counts.get("ApproximateNumberOfMessagesNotVisible", "0")
            if visible == in_flight == "0":
                return
            assert time.monotonic() < deadline, counts
            time.sleep(0.05)

    def wait(self, question: Question) -> Outcome:
        """Until the execution ends and the user's notification is stored."""
        arn = execution_arn_for(self.state_machine_arn, question.question_id)
        deadline = time.monotonic() + EXECUTION_TIMEOUT_SECONDS
        execution: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                execution = dict(self.sfn.describe_execution(executionArn=arn))
            except self.sfn.exceptions.ExecutionDoesNotExist:
                execution = {}
            if execution.get("status") not in (None, "RUNNING"):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"Execution {arn} did not end: {execution.get('status')}")
        notifications = self._wait_notification(question)
        history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        stored = QuestionRepository().get(question.user_id, question.question_id)
        return Outcome(stored, execution, [dict(e) for e in history], notifications)

    def _wait_notification(self, question: Question) -> list[Notification]:
        deadline = time.monotonic() + 15
        found: list[Notification] = []
        while time.monotonic() < deadline:
            found = [
                n
                for n in NotificationRepository().list_for_user(question.user_id)
                if n.question_id == question.question_id
            ]
            if found:
                break
            time.sleep(0.1)
        return found

    def executions_named(self, name: str) -> list[dict[str, Any]]:
        paginator = self.sfn.get_paginator("list_executions")
        return [
            dict(execution)
            for page in paginator.paginate(stateMachineArn=self.state_machine_arn)
            for execution in page["executions"]
            if execution["name"] == name
        ]


@pytest.fixture
def workflow(runtime: Runtime) -> Workflow:
    return Workflow(runtime)


__all__ = ["Outcome", "QuestionStatus", "Workflow"]
