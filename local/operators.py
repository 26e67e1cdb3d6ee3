"""``toro questions``: the operators' view of problem questions, across users.

With AWS credentials (``--aws --stack <stack>``, the stack's outputs name the table, topic and
state machine) or against ``toro dev``'s endpoint; never through the public API, which only ever
shows a user their own questions.

- ``failed [--since 24h]``: questions that ended failed, newest first (a scan of the table,
  filtered: fine for an operator now and then, not for a dashboard);
- ``stuck [--older-than 10m]``: questions still pending or processing past that age (the
  ``open-questions`` index: cheap);
- ``retry QUESTION_ID``: the same operation as the page's "Try again": the question back to
  pending under a conditional write, and a new execution named ``<question_id>-retry-<n>``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import boto3
import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from local.functions import ACCOUNT, DEFAULT_REGION
from local.provision import QUESTIONS_TOPIC, STATE_MACHINE_NAME, TABLE_NAME

app = typer.Typer(help="Problem questions across users: failed, stuck, and trying one again.")
console = Console()
errors = Console(stderr=True)

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

Endpoint = Annotated[
    str, typer.Option(envvar="TORO_AWS_ENDPOINT", help="toro dev's AWS endpoint; not with --aws.")
]
UseAws = Annotated[
    bool, typer.Option("--aws", help="Real AWS (credentials and region from the SDK).")
]
Stack = Annotated[
    str, typer.Option(envvar="TORO_STACK", help="With --aws: the stack, e.g. ToroAssistant-dev.")
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``10m``, ``24h`` or ``7d``."""
    found = _DURATION.match(text.strip())
    if not found:
        raise typer.BadParameter(f"{text!r}: a number and s, m, h or d (e.g. 24h)")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


def connect(endpoint: str, use_aws: bool, stack: str) -> None:
    """Point ``core`` at the system: the stack's resources on AWS, or toro dev's."""
    from core import reset

    if use_aws:
        if not stack:
            raise _fail("--aws needs --stack (or TORO_STACK), e.g. ToroAssistant-dev", 2)
        try:
            described = boto3.client("cloudformation").describe_stacks(StackName=stack)
        except (ClientError, BotoCoreError) as exc:
            raise _fail(f"cannot read stack {stack}: {exc}", 2) from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0]["Outputs"]}
        os.environ.update(
            TABLE_NAME=outputs["TableName"],
            QUESTIONS_TOPIC_ARN=outputs["QuestionsTopicArn"],
            STATE_MACHINE_ARN=outputs["StateMachineArn"],
        )
    else:
        region = os.environ.get("AWS_REGION", DEFAULT_REGION)
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_REGION=region,
            TABLE_NAME=TABLE_NAME,
            QUESTIONS_TOPIC_ARN=f"arn:aws:sns:{region}:{ACCOUNT}:{QUESTIONS_TOPIC}",
            STATE_MACHINE_ARN=f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}",
        )
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    reset.clear_caches()


def _scan_questions(
    filter_expression: str, values: dict[str, Any], names: dict[str, str] | None = None
) -> Iterator[dict[str, Any]]:
    """Every question of every user matching the filter (a scan: the whole table is read)."""
    from core import clients
    from core.repository import decode_item
    from core.settings import get_settings

    arguments: dict[str, Any] = {
        "TableName": get_settings().table_name,
        "FilterExpression": f"entity = :question AND {filter_expression}",
        "ExpressionAttributeValues": {":question": {"S": "question"}, **values},
    }
    if names:
        arguments["ExpressionAttributeNames"] = names
    for page in clients.dynamodb().get_paginator("scan").paginate(**arguments):
        for item in page.get("Items", []):
            yield {"user_id": item["pk"]["S"].removeprefix("USER#"), **decode_item(item)}


@app.command("failed")
def failed(
    since: Annotated[str, typer.Option(help="How far back: 90s, 10m, 24h, 7d.")] = "24h",
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    endpoint: Endpoint = LOCAL_ENDPOINT,
    use_aws: UseAws = False,
    stack: Stack = "",
) -> None:
    """Questions that ended failed since then, across users, newest first."""
    connect(endpoint, use_aws, stack)
    after = (datetime.now(UTC) - parse_duration(since)).isoformat()
    try:
        found = list(
            _scan_questions(
                "#status = :failed AND failed_at >= :after",
                {":failed": {"S": "failed"}, ":after": {"S": after}},
                {"#status": "status"},
            )
        )
    except (ClientError, BotoCoreError) as exc:
        raise _fail(f"cannot read the questions: {exc}", 2) from None
    found.sort(key=lambda q: str(q.get("failed_at", "")), reverse=True)
    table = Table("question", "user", "failed at", "error", "retries")
    for question in found[:limit]:
        table.add_row(
            question["question_id"],
            question["user_id"],
            str(question.get("failed_at", "")),
            str(question.get("error_code", "")),
            str(question.get("retries", 0)),
        )
    console.print(table)
    console.print(f"{min(len(found), limit)} of {len(found)} failed question(s) since {since}")


@app.command("stuck")
def stuck(
    older_than: Annotated[
        str, typer.Option(help="Open (pending or processing) for longer than: 10m, 1h.")
    ] = "10m",
    limit: Annotated[int, typer.Option(min=1, help="At most this many of each status.")] = 100,
    endpoint: Endpoint = LOCAL_ENDPOINT,
    use_aws: UseAws = False,
    stack: Stack = "",
) -> None:
    """Questions still pending or processing past that age (the sweeper recovers them)."""
    from ulid import ULID

    from core.models import QuestionStatus
    from core.repository import QuestionRepository

    connect(endpoint, use_aws, stack)
    before = str(ULID.from_datetime(datetime.now(UTC) - parse_duration(older_than)))
    repository = QuestionRepository()
    table = Table("question", "user", "status", "asked at", "retries")
    count = 0
    try:
        for status in (QuestionStatus.PENDING, QuestionStatus.PROCESSING):
            for user_id, question_id in repository.open_before(status, before, limit):
                question = repository.get(user_id, question_id)
                count += 1
                table.add_row(
                    question_id,
                    user_id,
                    question.status.value,
                    question.created_at.isoformat(),
                    str(question.retries),
                )
    except Exception as exc:  # AWS errors arrive wrapped by core as ToroError
        raise _fail(f"cannot read the questions: {exc}", 2) from None
    console.print(table)
    console.print(f"{count} question(s) open for more than {older_than}")


@app.command("retry")
def retry(
    question_id: Annotated[str, typer.Argument(help="The question to try again.")],
    user_id: Annotated[
        str | None, typer.Option(help="Its user (found by a scan of the table when not given).")
    ] = None,
    endpoint: Endpoint = LOCAL_ENDPOINT,
    use_aws: UseAws = False,
    stack: Stack = "",
) -> None:
    """Try a failed or rejected question again, as the page's "Try again" does."""
    from core.errors import ToroError
    from core.questions import QuestionService
    from core.repository import QuestionRepository

    connect(endpoint, use_aws, stack)
    if user_id is None:
        owners = [
            q["user_id"] for q in _scan_questions("sk = :sk", {":sk": {"S": f"Q#{question_id}"}})
        ]
        if not owners:
            raise _fail(f"no question {question_id}", 1)
        user_id = owners[0]
    try:
        question = QuestionRepository().reset_for_retry(user_id, question_id)
        QuestionService().resend(question)
    except ToroError as exc:
        raise _fail(exc.message, 1) from None
    console.print(
        f"{question_id} is pending again; execution [bold]{question.execution_name}[/bold] "
        "starts now"
    )
