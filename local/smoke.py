"""``toro smoke``: one user's whole way through a stage, checked step by step.

Against a deployed stack (its outputs read with CloudFormation's DescribeStacks) or any URLs
given (``toro dev``'s, with ``AWS_ENDPOINT_URL`` for its AWS endpoint), in this order:

1. the API answers ``GET /api/v1/health``;
2. a new user registers (``smoke-<random>``, a random password) and signs in;
3. it opens the live connection (a ticket from ``POST /api/v1/live/ticket``, then the WebSocket
   with the sub-protocols ``toro.v1`` and ``ticket.<ticket>``, core/push.py);
4. it asks a question (with a number of its own, so that the answer cache cannot answer it
   without the model), waits for its final update over the WebSocket, and then for the same
   answer by polling ``GET`` on the question's ``Location``;
5. the state machine's execution named after the question id ``SUCCEEDED``;
6. no CloudWatch alarm whose name starts with the alarm prefix (the stack's name: CloudFormation
   names the stack's alarms ``<stack>-<logical id>-<suffix>``) is in ``ALARM``;
7. the user is deleted (``DELETE /api/v1/me``), whatever happened before, so a run leaves no
   account, question or notification behind (the execution's history stays in Step Functions,
   and the used ticket's marker expires with its TTL a minute later).

Each step has a time limit; the first step that fails stops the run with its reason
(``SmokeFailed``). Nothing here imports the project's runtime: it is a client, as a user is.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from local import http

FINAL = ("answered", "failed", "rejected")
QUESTION = "O que é o Tesouro Selic?"
STEP_SECONDS = 120.0
# Outputs of the stack (cdk_app/stack.py) the run needs.
OUTPUTS = ("ApiUrl", "LiveUrl", "StateMachineArn")
_AWS = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=20)


class SmokeFailed(Exception):
    """A step did not do what it must; ``reason`` says what was seen."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """What the run talks to: the stack's outputs, or the same given by hand."""

    api_url: str  # the stage's URL (ApiUrl); the API is under /api/v1
    state_machine_arn: str
    alarm_prefix: str
    live_url: str | None = None  # when given, the tickets must name it

    @property
    def api(self) -> str:
        return f"{self.api_url.rstrip('/')}/api/v1"

    @property
    def region(self) -> str:
        return self.state_machine_arn.split(":")[3]

    def execution_arn(self, name: str) -> str:
        prefix, _, machine = self.state_machine_arn.partition(":stateMachine:")
        # A version or alias ARN (…:stateMachine:<name>:<qualifier>) runs executions of <name>.
        return f"{prefix}:execution:{machine.split(':')[0]}:{name}"


def target_of_stack(stack: str, alarm_prefix: str | None = None) -> Target:
    """The stack's outputs, read with DescribeStacks (credentials and region from the SDK)."""
    try:
        client = boto3.client("cloudformation", config=_AWS)
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise SmokeFailed("Read the stack's outputs", f"{stack}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [name for name in OUTPUTS if name not in outputs]
    if missing:
        raise SmokeFailed("Read the stack's outputs", f"{stack} has no output {', '.join(missing)}")
    return Target(
        api_url=outputs["ApiUrl"],
        state_machine_arn=outputs["StateMachineArn"],
        alarm_prefix=alarm_prefix or stack,
        live_url=outputs["LiveUrl"],
    )


@dataclass
class Step:
    name: str
    seconds: float
    deadline: float
    note: str = ""

    def left(self) -> float:
        """Seconds left to this step; SmokeFailed once there are none."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self.failed(f"not done within {self.seconds:.0f} s")
        return remaining

    def failed(self, reason: str) -> SmokeFailed:
        return SmokeFailed(self.name, reason)


@dataclass
class _Account:
    username: str
    password: str
    registered: bool = False
    token: str | None = None


@dataclass
class Smoke:
    target: Target
    console: Console = field(default_factory=Console)
    step_seconds: float = STEP_SECONDS
    question: str = QUESTION

    def run(self) -> None:
        """Every step in order; SmokeFailed at the first that fails (after deleting the user)."""
        account = _Account(f"smoke-{secrets.token_hex(6)}", secrets.token_urlsafe(24))
        try:
            self._journey(account)
        except Exception:
            if account.registered:
                try:
                    self._delete(account)
                except SmokeFailed as exc:  # the first failure is the one to report
                    self.console.print(
                        f"  [yellow]the user {account.username} is left behind: "
                        f"{escape(str(exc))}[/yellow]",
                        soft_wrap=True,
                    )
            raise
        self._delete(account)

    def _journey(self, account: _Account) -> None:
        self._health()
        self._register(account)
        token = self._sign_in(account)
        socket = self._open_live(token)
        try:
            # A number of its own makes each run's question new, so the answer cache (first
            # questions of the same text) cannot answer it without the model; a number, since
            # it barely changes what retrieval finds.
            number = 1_000_000 + secrets.randbelow(9_000_000)
            question_id, location = self._ask(token, f"{self.question} #{number}")
            pushed = self._answer_pushed(socket, question_id)
        finally:
            socket.close()
        self._answer_polled(token, location, pushed)
        self._execution(question_id)
        self._alarms()

    # --- steps --------------------------------------------------------------------------------

    @contextmanager
    def _step(self, name: str) -> Iterator[Step]:
        step = Step(name, self.step_seconds, time.monotonic() + self.step_seconds)
        self.console.print(f"[bold]→ {escape(name)}[/bold]", soft_wrap=True)
        started = time.monotonic()
        try:
            yield step
        except SmokeFailed as exc:
            self.console.print(f"  [red]✗ {escape(exc.reason)}[/red]", soft_wrap=True)
            raise
        except (
            http.Unreachable,
            ClientError,
            BotoCoreError,
            WebSocketException,
            OSError,
            TimeoutError,
        ) as exc:
            reason = str(exc) or type(exc).__name__
            self.console.print(f"  [red]✗ {escape(reason)}[/red]", soft_wrap=True)
            raise SmokeFailed(name, reason) from exc
        except (KeyError, TypeError, ValueError) as exc:  # a body not shaped as documented
            reason = f"unexpected answer ({type(exc).__name__}: {exc})"
            self.console.print(f"  [red]✗ {escape(reason)}[/red]", soft_wrap=True)
            raise SmokeFailed(name, reason) from exc
        took = time.monotonic() - started
        note = f"{step.note} " if step.note else ""
        self.console.print(
            f"  [green]✓[/green] {escape(note)}[dim]({took:.1f} s)[/dim]", soft_wrap=True
        )

    def _call(
        self,
        step: Step,
        method: str,
        path_or_url: str,
        body: Any = None,
        token: str | None = None,
    ) -> http.Response:
        url = path_or_url if "://" in path_or_url else f"{self.target.api}/{path_or_url}"
        return http.call(method, url, body, token, timeout=min(step.left(), 30))

    def _health(self) -> None:
        with self._step(f"The API answers at {self.target.api}") as step:
            response = self._call(step, "GET", "health")
            if response.status != 200:
                raise step.failed(f"GET /health: {_problem(response)}")
            step.note = "healthy"

    def _register(self, account: _Account) -> None:
        with self._step(f"Register the user {account.username}") as step:
            credentials = {"username": account.username, "password": account.password}
            response = self._call(step, "POST", "auth/register", credentials)
            if response.status != 201:
                raise step.failed(f"POST /auth/register: {_problem(response)}")
            account.registered = True

    def _sign_in(self, account: _Account) -> str:
        with self._step("Sign in") as step:
            account.token = self._login(step, account)
            return account.token

    def _login(self, step: Step, account: _Account) -> str:
        credentials = {"username": account.username, "password": account.password}
        response = self._call(step, "POST", "auth/login", credentials)
        if response.status != 200:
            raise step.failed(f"POST /auth/login: {_problem(response)}")
        return str(response.body["access_token"])

    def _open_live(self, token: str) -> ClientConnection:
        with self._step("Open the live connection") as step:
            response = self._call(step, "POST", "live/ticket", {}, token)
            if response.status != 200:
                raise step.failed(f"POST /live/ticket: {_problem(response)}")
            url = str(response.body["url"])
            expected = self.target.live_url
            if expected and url.rstrip("/") != expected.rstrip("/"):
                raise step.failed(
                    f"the API hands out tickets for {url}, not the stack's {expected}"
                )
            socket = connect(
                url, subprotocols=response.body["protocols"], open_timeout=min(step.left(), 30)
            )
            if socket.subprotocol != "toro.v1":
                socket.close()
                raise step.failed(f"sub-protocol {socket.subprotocol!r}, not 'toro.v1'")
            step.note = url
            return socket

    def _ask(self, token: str, question: str) -> tuple[str, str]:
        with self._step(f"Ask {question!r}") as step:
            response = self._call(step, "POST", "questions", {"question": question}, token)
            if response.status != 202:
                raise step.failed(f"POST /questions: {_problem(response)}")
            question_id = str(response.body["question_id"])
            # The Location is a path from the host's root (with the stage in front on AWS).
            location = urljoin(self.target.api_url, response.headers["location"])
            step.note = question_id
            return question_id, location

    def _answer_pushed(self, socket: ClientConnection, question_id: str) -> dict[str, Any]:
        with self._step("Wait for the answer over the WebSocket") as step:
            while True:
                try:
                    raw = socket.recv(timeout=step.left())
                except TimeoutError:
                    raise step.failed(f"no final update within {self.step_seconds:.0f} s") from None
                except ConnectionClosed as exc:
                    raise step.failed(f"the connection closed before the answer ({exc})") from None
                try:
                    update = json.loads(raw)
                except ValueError:
                    continue
                if update.get("type") != "question" or update.get("question_id") != question_id:
                    continue
                if update.get("status") in FINAL:
                    _require_answered(step, update)
                    if update.get("from_cache"):
                        raise step.failed("answered from the cache: the model was not asked")
                    step.note = f"answered by {update.get('model')}"
                    return dict(update)

    def _answer_polled(self, token: str, location: str, pushed: dict[str, Any]) -> None:
        with self._step("Read the answer by polling") as step:
            while True:
                response = self._call(step, "GET", location, token=token)
                if response.status != 200:
                    raise step.failed(f"GET {location}: {_problem(response)}")
                body: dict[str, Any] = response.body
                if body.get("status") in FINAL:
                    break
                time.sleep(min(0.5, step.left()))
            _require_answered(step, body)
            if body.get("answer") != pushed.get("answer"):
                raise step.failed("the stored answer differs from the one pushed")
            step.note = f"{len(body.get('sources') or [])} source(s)"

    def _execution(self, question_id: str) -> None:
        arn = self.target.execution_arn(question_id)
        with self._step("The execution succeeded") as step:
            client = boto3.client("stepfunctions", region_name=self.target.region, config=_AWS)
            while True:
                try:
                    status = client.describe_execution(executionArn=arn)["status"]
                except client.exceptions.ExecutionDoesNotExist:
                    raise step.failed(f"no execution {arn}") from None
                if status != "RUNNING":
                    break
                time.sleep(min(0.5, step.left()))
            if status != "SUCCEEDED":
                raise step.failed(f"{arn} is {status}")
            step.note = arn

    def _alarms(self) -> None:
        prefix = self.target.alarm_prefix
        with self._step(f"No alarm {prefix}* in ALARM") as step:
            client = boto3.client("cloudwatch", region_name=self.target.region, config=_AWS)
            seen = 0
            firing: list[str] = []
            for page in client.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            ):
                step.left()
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    seen += 1
                    if alarm["StateValue"] == "ALARM":
                        firing.append(f"{alarm['AlarmName']} ({alarm.get('StateReason', '')})")
            if firing:
                raise step.failed(f"{len(firing)} in ALARM: {'; '.join(firing)}")
            step.note = f"{seen} alarm(s), none in ALARM"

    def _delete(self, account: _Account) -> None:
        with self._step(f"Delete the user {account.username}") as step:
            if account.token is None:
                account.token = self._login(step, account)
            while True:
                response = self._call(
                    step, "DELETE", "me", {"password": account.password}, account.token
                )
                if response.status == 204:
                    return
                # A question still being answered keeps the account until it is final.
                if response.status != 409:
                    raise step.failed(f"DELETE /me: {_problem(response)}")
                time.sleep(min(1.0, step.left()))


def _require_answered(step: Step, update: dict[str, Any]) -> None:
    if update.get("status") == "answered" and update.get("answer"):
        return
    error = update.get("error") or {}
    raise step.failed(
        f"the question ended {update.get('status')}: {error.get('code')} {error.get('message')}"
    )


def _problem(response: http.Response) -> str:
    body = response.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return f"HTTP {response.status} {body['error'].get('message')}"
    return f"HTTP {response.status} {str(body)[:200]}"
