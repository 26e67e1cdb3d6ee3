"""Shared fixtures: sample events and a clean, offline environment for every test."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core import reset
from core.models import Completion, QuestionStatus
from core.observability import metrics
from local.atomic_writes import make_dynamodb_atomic
from local.lambda_gateway import LambdaContext

EVENTS = Path(__file__).resolve().parent.parent / "events"

# Never reach a real AWS account or OpenAI from a test.
OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "ToroAssistant",
    "POWERTOOLS_SERVICE_NAME": "toro-assistant",
    # Production is the default; tests ask for development as `toro dev` does.
    "ENVIRONMENT": "test",
    # The suites create many accounts from one address; the throttling tests set their own.
    "AUTH_ATTEMPTS_PER_MINUTE": "100000",
    "REGISTRATIONS_PER_HOUR": "100000",
}
CLEARED_ENV = (
    "TOKEN_SIGNING_KEY",
    "TOKEN_SIGNING_KEY_SECRET_NAME",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY_SECRET_NAME",
    "TABLE_NAME",
    "QUESTIONS_TOPIC_ARN",
    "ANSWERS_TOPIC_ARN",
    "STATE_MACHINE_ARN",
)


def completion(answer: str) -> Completion:
    """A model's answer as the cache and the answered records hold it, with token counts of 1."""
    return Completion(
        answer=answer,
        model="m",
        prompt_tokens=1,
        completion_tokens=1,
        latency_ms=1,
        kb_version="kb-1",
    )


@pytest.fixture(autouse=True)
def offline_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in OFFLINE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(Path(__file__).resolve().parent)  # no developer .env leaks in
    reset.clear_caches()
    yield
    reset.clear_caches()


# The status the sample events' question must have for each handler's events to succeed.
SAMPLE_PRECONDITION = {
    "start_workflow": QuestionStatus.PENDING,
    "validate_question": QuestionStatus.PENDING,
    "retrieve_context": QuestionStatus.PROCESSING,
    "call_openai": QuestionStatus.PROCESSING,
    "persist_answer": QuestionStatus.PROCESSING,
    "mark_failed": QuestionStatus.PROCESSING,
    "publish_notification": QuestionStatus.ANSWERED,
    "notify_user": QuestionStatus.ANSWERED,
    "sweep_open_questions": QuestionStatus.PENDING,
}


def sample_events(handler: str) -> list[Path]:
    return sorted((EVENTS / handler).glob("*.json"))


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    """``load_event("persist_answer/task")`` -> the sample event as a dict."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
        return data

    return load


@pytest.fixture
def lambda_context() -> Callable[[str], LambdaContext]:
    def make(name: str) -> LambdaContext:
        return LambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
            memory_limit_in_mb=512,
            timeout_seconds=30,
        )

    return make


@dataclass
class Telemetry:
    """What the code under test logged and counted, as operators read it: Powertools' log lines
    (message and extra keys) and its metrics (flushed by a handler as EMF, or still held)."""

    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    logs: list[dict[str, Any]] = field(default_factory=list)
    emitted: dict[str, list[tuple[float, str]]] = field(default_factory=dict)

    def read(self) -> Telemetry:
        for line in self.capsys.readouterr().out.splitlines():
            if line.startswith("{") and "_aws" in line:
                record: dict[str, Any] = json.loads(line)
                for directive in record["_aws"]["CloudWatchMetrics"]:
                    for metric in directive["Metrics"]:
                        values = record[metric["Name"]]
                        for value in values if isinstance(values, list) else [values]:
                            self._count(metric["Name"], value, metric["Unit"])
        for name, held in metrics.metric_set.items():
            for value in held["Value"]:
                self._count(name, value, held["Unit"])
        metrics.metric_set.clear()
        self.logs.extend(
            {**vars(entry), "message": entry.getMessage(), "level": entry.levelname}
            for entry in self.caplog.records
        )
        self.caplog.clear()
        return self

    def fresh(self) -> Telemetry:
        """A new reading, empty: it will hold only what is logged and counted after this
        reading's last ``read()``."""
        return Telemetry(self.capsys, self.caplog)

    def _count(self, name: str, value: float, unit: str) -> None:
        self.emitted.setdefault(name, []).append((float(value), unit))

    def metric(self, name: str) -> list[tuple[float, str]]:
        """The (value, unit) of each time ``name`` was counted."""
        return self.emitted.get(name, [])

    def log(self, message: str) -> dict[str, Any]:
        """The one log line with this message, with its extra keys."""
        found = [record for record in self.logs if record["message"] == message]
        assert len(found) == 1, f"{len(found)} log lines {message!r} in {self.logs}"
        return found[0]


@pytest.fixture
def telemetry(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Telemetry:
    """Call ``.read()`` after the code ran; what ran before the test started is dropped."""
    capsys.readouterr()
    caplog.clear()
    caplog.set_level(logging.INFO)
    metrics.metric_set.clear()
    return Telemetry(capsys, caplog)


@pytest.fixture(autouse=True, scope="session")
def atomic_dynamodb() -> None:
    """moto's requests made atomic, as DynamoDB's are (and as the embedded runtime makes them):
    the tests of races (one user's hits on the rate limit, overlapping task runs) need it."""
    make_dynamodb_atomic()
