"""``toro``: run the whole system locally, ask it questions, invoke handlers, inspect executions."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urljoin

import boto3
import typer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from websockets.exceptions import WebSocketException

from core.settings import get_settings
from core.workflow import execution_arn_for
from local import http
from local.functions import ACCOUNT, DEFAULT_REGION, FUNCTIONS
from local.operators import app as questions_app
from local.signals import wait_for_stop
from local.smoke import STEP_SECONDS

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from core.knowledge import KnowledgeBase
    from local.dev import Running

app = typer.Typer(
    help="Toro Assistant on this machine: run it, ask it, invoke its handlers, inspect runs.",
    no_args_is_help=True,
    add_completion=False,
)
executions_app = typer.Typer(help="The state machine's executions (local or on AWS).")
app.add_typer(executions_app, name="executions")
kb_app = typer.Typer(
    help="The knowledge base: its entries, and what retrieval finds for a question."
)
app.add_typer(kb_app, name="kb")
app.add_typer(questions_app, name="questions")
console = Console()
errors = Console(stderr=True)

EVENTS = Path(__file__).resolve().parent.parent / "events"
LOCAL_ENDPOINT = "http://127.0.0.1:4566"
LOCAL_STATE_MACHINE = f"arn:aws:states:{DEFAULT_REGION}:{ACCOUNT}:stateMachine:QuestionWorkflow"
FINAL = ("answered", "failed", "rejected")

Endpoint = Annotated[
    str,
    typer.Option(envvar="TORO_AWS_ENDPOINT", help="AWS endpoint; ignored with --aws."),
]
UseAws = Annotated[
    bool, typer.Option("--aws", help="Talk to real AWS (credentials and region from the SDK).")
]


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _aws_client(service: str, endpoint: str, use_aws: bool) -> Any:
    kwargs: dict[str, Any] = {"config": Config(retries={"max_attempts": 2}, read_timeout=120)}
    if not use_aws:
        kwargs["endpoint_url"] = endpoint
        kwargs["region_name"] = os.environ.get("AWS_REGION", DEFAULT_REGION)
        kwargs.setdefault("aws_access_key_id", os.environ.get("AWS_ACCESS_KEY_ID", "local"))
        kwargs.setdefault("aws_secret_access_key", os.environ.get("AWS_SECRET_ACCESS_KEY", "local"))
    return boto3.client(service, **kwargs)  # type: ignore[call-overload]


# --- toro dev --------------------------------------------------------------------------------


@app.command()
def dev(
    host: Annotated[str, typer.Option(envvar="TORO_HOST", help="Address to listen on.")] = (
        "127.0.0.1"
    ),
    aws_port: Annotated[int, typer.Option(envvar="TORO_AWS_PORT", help="AWS endpoint port.")] = (
        4566
    ),
    api_port: Annotated[int, typer.Option(envvar="TORO_API_PORT", help="API port.")] = 8000,
    json_logs: Annotated[
        bool, typer.Option("--json-logs", help="Powertools JSON log lines, as on CloudWatch.")
    ] = False,
    fast_retries: Annotated[
        bool, typer.Option("--fast-retries", help="Cap every workflow retry wait at 1 s.")
    ] = False,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start empty: forget the data of earlier runs.")
    ] = False,
    data_dir: Annotated[
        Path,
        typer.Option(envvar="TORO_DATA_DIR", help="Where the data is kept across restarts."),
    ] = Path(".toro"),
    save_seconds: Annotated[
        float,
        typer.Option(
            envvar="TORO_SAVE_SECONDS", min=1, help="Save the data this often (and at the stop)."
        ),
    ] = 30.0,
    sweep_seconds: Annotated[
        float,
        typer.Option(
            envvar="TORO_SWEEP_SECONDS", min=1, help="Run the recovery sweeper this often."
        ),
    ] = 60.0,
) -> None:
    """Run the whole system: AWS endpoint, Lambdas, state machine, model and API."""
    # Imported here: the other commands start faster without the runtime's packages.
    from local.dev import DevConfig, DevStack, PortInUse, exposure_warning
    from local.logs import configure

    # Development is asked for here, never assumed: tokens are signed with a key made for this
    # run unless TOKEN_SIGNING_KEY is set.
    os.environ.setdefault("ENVIRONMENT", "development")
    warning = exposure_warning(host)
    if warning:
        errors.print(Panel(warning, title="[bold red]warning[/bold red]", border_style="red"))
    configure(json_logs)
    stack = DevStack(
        DevConfig(
            host, aws_port, api_port, fast_retries, data_dir, fresh, save_seconds, sweep_seconds
        )
    )
    try:
        running = stack.start()
    except PortInUse as exc:
        stack.stop()
        raise fail(str(exc)) from None
    _banner(running)
    wait_for_stop()
    console.print("\nStopping...")
    stack.stop()
    console.print("Stopped.")


def _banner(running: Running) -> None:
    resources = running.resources
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # ARNs and URLs are copied whole, never cut with "…"
    table.add_row("Web page", f"{running.api_url}/   (open it in a browser)")
    table.add_row("API", f"{running.api_url}/api/v1   (docs: {running.api_url}/docs)")
    table.add_row(
        "AWS endpoint", f"{running.aws_endpoint}   DynamoDB, SNS, SQS, Step Functions, Lambda"
    )
    table.add_row("Answerer", f"{running.answerer}   {running.answerer_url}")
    table.add_row("State machine", resources.state_machine_arn)
    table.add_row("Table", resources.table_name)
    if running.data_file is not None:
        table.add_row(
            "Data",
            f"{running.data_file}   {running.restored} items restored; saved every "
            "TORO_SAVE_SECONDS and at the stop (--fresh starts empty)",
        )
    api = f"{running.api_url}/api/v1"
    tries = "\n".join(
        [
            f'  toro ask "O que é o Tesouro Selic?" --api {running.api_url}',
            f"  curl -s -X POST {api}/auth/register -H 'Content-Type: application/json' "
            """-d '{"username": "ana", "password": "correct horse battery"}'""",
            f"  curl -s -X POST {api}/auth/login -H 'Content-Type: application/json' "
            """-d '{"username": "ana", "password": "correct horse battery"}'""",
            f"  curl -s -X POST {api}/questions -H 'Authorization: Bearer <access_token>' "
            """-H 'Content-Type: application/json' -d '{"question": "O que é CDB?"}'""",
            f"  toro executions list --endpoint {running.aws_endpoint}",
            f"  aws stepfunctions list-executions --endpoint-url {running.aws_endpoint} "
            f"--state-machine-arn {resources.state_machine_arn}",
        ]
    )
    console.print(
        Panel(
            table,
            title=f"Toro Assistant is running (started in {running.started_in_seconds:.1f} s)",
        )
    )
    console.print(f"Try it:\n{tries}\n\nPress Ctrl-C to stop.", highlight=False, soft_wrap=True)


# --- toro ask --------------------------------------------------------------------------------


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Portuguese or English.")],
    user: Annotated[str, typer.Option(help="Local user to ask as (created if new).")] = "local",
    password: Annotated[
        str, typer.Option(envvar="TORO_PASSWORD", help="That user's password.")
    ] = "toro-local-password",  # noqa: S107 - a local-only default, overridable
    api: Annotated[str, typer.Option(envvar="TORO_API_URL", help="The API's base URL.")] = (
        "http://127.0.0.1:8000"
    ),
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 120,
) -> None:
    """Ask a question as a local user, follow it live, and print the answer and its sources."""
    base = f"{api.rstrip('/')}/api/v1"
    credentials = {"username": user, "password": password}
    try:
        registered = http.call("POST", f"{base}/auth/register", credentials)
        if registered.status not in (201, 409):
            raise fail(_problem(registered))
        login = http.call("POST", f"{base}/auth/login", credentials)
        if login.status != 200:
            raise fail(f"could not log in as {user!r}: {_problem(login)}")
        token = login.body["access_token"]
        # Live first, so that no update of the question can come before the connection.
        socket = _live(base, token)
        try:
            asked = http.call("POST", f"{base}/questions", {"question": question}, token)
            if asked.status != 202:
                raise fail(f"the question was not accepted: {_problem(asked)}")
            # The Location is a path from the host's root (with the stage in front on AWS).
            location = urljoin(api, asked.headers["location"])
            if socket is not None:
                _wait_live(socket, asked.body["question_id"], timeout)
            result = _follow(location, token, timeout)
            how = "live, over the WebSocket" if socket is not None else "by polling (no live link)"
        finally:
            if socket is not None:
                socket.close()
    except http.Unreachable as exc:
        raise fail(f"{exc}. Is `toro dev` (make run) running?", 2) from None
    _print_result(result)
    console.print(f"[dim]followed {how}[/dim]")
    if result["status"] != "answered":
        raise typer.Exit(1)


def _problem(response: http.Response) -> str:
    body = response.body
    if isinstance(body, dict) and "error" in body:
        error = body["error"]
        details = "; ".join(f"{d.get('field')}: {d.get('reason')}" for d in error["details"])
        return f"HTTP {response.status} {error['message']}" + (f" ({details})" if details else "")
    return f"HTTP {response.status} {body}"


def _live(base: str, token: str) -> ClientConnection | None:
    """The live connection (core/push.py), or None when it cannot open: then it polls."""
    from websockets.sync.client import connect

    ticket = http.call("POST", f"{base}/live/ticket", {}, token)
    if ticket.status != 200:
        return None
    try:
        return connect(ticket.body["url"], subprotocols=ticket.body["protocols"], open_timeout=5)
    except (OSError, TimeoutError, WebSocketException):
        return None


def _wait_live(socket: ClientConnection, question_id: str, timeout: float) -> None:
    """Until the question's final update arrives (or the connection drops, or time is up)."""
    deadline = time.monotonic() + timeout
    with console.status("pending... (live)") as status:
        while (left := deadline - time.monotonic()) > 0:
            try:
                update = json.loads(socket.recv(timeout=left))
            except (TimeoutError, WebSocketException, ValueError):
                return
            if update.get("question_id") == question_id:
                status.update(f"{update['status']}... (live)")
                if update["status"] in FINAL:
                    return


def _follow(location: str, token: str, timeout: float) -> dict[str, Any]:
    """The question, polled until it is final (once, when the live connection said it is)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    with console.status("pending...") as status:
        while True:
            response = http.call("GET", location, token=token)
            if response.status != 200:
                raise fail(f"could not read the question: {_problem(response)}")
            body: dict[str, Any] = response.body
            status.update(f"{body['status']}...")
            if body["status"] in FINAL:
                return body
            if time.monotonic() > deadline:
                raise fail(f"no answer within {timeout:.0f} s (status: {body['status']})", 2)
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)


def _print_result(result: dict[str, Any]) -> None:
    if result["status"] == "answered":
        subtitle = f"{result.get('model')} · {result.get('latency_ms')} ms"
        if result.get("from_cache"):
            subtitle += f" · from the cache ({result.get('cached_from')})"
        console.print(Panel(escape(result["answer"]), title="answered", subtitle=subtitle))
        for number, source in enumerate(result.get("sources") or [], start=1):
            line = f"  [{number}] {source['title']}  ({source['id']})  {source.get('url') or ''}"
            console.print(escape(line.rstrip()))
        return
    error = result.get("error") or {}
    console.print(
        Panel(
            f"{error.get('message') or 'no reason recorded'}",
            title=f"[red]{result['status']}[/red] ({error.get('code')})",
        )
    )


# --- toro smoke ------------------------------------------------------------------------------


@app.command()
def smoke(
    stack: Annotated[
        str,
        typer.Option(
            envvar="STACK",
            help="The stack whose outputs (ApiUrl, LiveUrl, StateMachineArn) are read, unless "
            "--api-url is given; its name is the alarms' prefix.",
        ),
    ] = "ToroAssistant-dev",
    api_url: Annotated[
        str | None,
        typer.Option(
            envvar="API_URL", help="The stage's URL (ApiUrl); then the stack is not read."
        ),
    ] = None,
    live_url: Annotated[
        str | None,
        typer.Option(
            envvar="LIVE_URL", help="With --api-url: the WebSocket URL tickets must name."
        ),
    ] = None,
    state_machine_arn: Annotated[
        str | None,
        typer.Option(envvar="STATE_MACHINE_ARN", help="With --api-url: the state machine's ARN."),
    ] = None,
    alarm_prefix: Annotated[
        str | None,
        typer.Option(
            envvar="ALARM_PREFIX", help="Alarms checked: those named so (the stack's name)."
        ),
    ] = None,
    step_timeout: Annotated[
        float, typer.Option(envvar="SMOKE_STEP_SECONDS", min=1, help="Time limit of each step.")
    ] = STEP_SECONDS,
) -> None:
    """Check a stage end to end as a new user: register, sign in, ask, get the answer over the
    WebSocket and by polling, check its execution and the alarms, and delete the user. AWS
    credentials and region (and AWS_ENDPOINT_URL for toro dev) come from the SDK's settings."""
    from local.smoke import Smoke, SmokeFailed, Target, target_of_stack

    started = time.monotonic()
    try:
        if api_url is None:
            console.print(f"Reading the outputs of the stack {stack}")
            target = target_of_stack(stack, alarm_prefix)
        elif state_machine_arn is None:
            raise fail("--api-url needs --state-machine-arn (STATE_MACHINE_ARN)", 2)
        else:
            target = Target(api_url, state_machine_arn, alarm_prefix or stack, live_url)
        Smoke(target, console, step_timeout).run()
    except SmokeFailed as exc:
        raise fail(f"smoke test failed at {exc.step!r}: {exc.reason}") from None
    console.print(f"[green]Smoke test passed[/green] in {time.monotonic() - started:.1f} s")


# --- toro invoke -----------------------------------------------------------------------------


def _events_of(handler: str) -> list[Path]:
    return sorted((EVENTS / handler).glob("*.json"))


@app.command()
def invoke(
    handler: Annotated[str, typer.Argument(help="Function name, e.g. persist_answer.")],
    event_file: Annotated[
        Path | None, typer.Argument(help="Event JSON; default: the handler's first sample.")
    ] = None,
    endpoint: Endpoint = LOCAL_ENDPOINT,
    use_aws: UseAws = False,
    function_name: Annotated[
        str | None, typer.Option(help="Deployed function name, when it differs (--aws).")
    ] = None,
) -> None:
    """Invoke a handler with a sample event, print its result and its logs."""
    if handler not in FUNCTIONS:
        raise fail(f"no handler {handler!r}. Handlers: {', '.join(sorted(FUNCTIONS))}", 2)
    samples = _events_of(handler)
    if event_file is None:
        if not samples:
            raise fail(f"no sample event in events/{handler}/; pass an event file", 2)
        event_file = samples[0]
    if not event_file.is_file():
        names = ", ".join(str(p.relative_to(EVENTS.parent)) for p in samples) or "none"
        raise fail(f"no event file {event_file}. Samples for {handler}: {names}", 2)
    payload = event_file.read_bytes()
    try:
        json.loads(payload)
    except ValueError as exc:
        raise fail(f"{event_file} is not JSON: {exc}", 2) from None
    client = _aws_client("lambda", endpoint, use_aws)
    try:
        response = client.invoke(
            FunctionName=function_name or handler, Payload=payload, LogType="Tail"
        )
    except (ClientError, BotoCoreError) as exc:
        raise fail(f"invoke failed: {exc}", 2) from None
    result = json.loads(response["Payload"].read() or b"null")
    logs = base64.b64decode(response.get("LogResult", "")).decode(errors="replace")
    if logs.strip():
        console.rule("logs")
        console.print(logs.rstrip(), highlight=False, markup=False)
    console.rule(f"{handler} <- {event_file.name}")
    if response.get("FunctionError"):
        errors.print(f"[red]function error ({response['FunctionError']}):[/red]")
        errors.print_json(data={k: v for k, v in result.items() if k != "stackTrace"})
        raise typer.Exit(1)
    console.print_json(data=result)


# --- toro executions -------------------------------------------------------------------------


StateMachine = Annotated[
    str,
    typer.Option(envvar="STATE_MACHINE_ARN", help="The QuestionWorkflow state machine's ARN."),
]


@executions_app.command("list")
def list_executions(
    status: Annotated[
        str | None, typer.Option(help="RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    endpoint: Endpoint = LOCAL_ENDPOINT,
    use_aws: UseAws = False,
    state_machine_arn: StateMachine = LOCAL_STATE_MACHINE,
) -> None:
    """The state machine's executions, newest first (one per question, named after it)."""
    client = _aws_client("stepfunctions", endpoint, use_aws)
    arguments: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": limit}
    if status:
        arguments["statusFilter"] = status.upper()
    try:
        found = client.list_executions(**arguments)["executions"]
    except (ClientError, BotoCoreError) as exc:
        raise fail(f"cannot list executions: {exc}", 2) from None
    table = Table("question (execution name)", "status", "started", "duration")
    for execution in found:
        table.add_row(
            execution["name"],
            _colored(execution["status"]),
            _time(execution["startDate"]),
            _duration(execution["startDate"], execution.get("stopDate")),
        )
    console.print(table)
    console.print(f"{len(found)} execution(s)")


@executions_app.command("show")
def show_execution(
    question_id: Annotated[
        str,
        typer.Argument(help="The execution's name: the question id, or <id>-retry-<n>."),
    ],
    endpoint: Endpoint = LOCAL_ENDPOINT,
    use_aws: UseAws = False,
    state_machine_arn: StateMachine = LOCAL_STATE_MACHINE,
) -> None:
    """One execution's history, state by state, with its errors and retries."""
    client = _aws_client("stepfunctions", endpoint, use_aws)
    arn = execution_arn_for(state_machine_arn, question_id)  # the machine's, or its alias's
    try:
        execution = client.describe_execution(executionArn=arn)
        history = client.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    except client.exceptions.ExecutionDoesNotExist:
        raise fail(f"no execution named {question_id}", 1) from None
    except (ClientError, BotoCoreError) as exc:
        raise fail(f"cannot read the execution: {exc}", 2) from None
    console.print(
        f"[bold]{question_id}[/bold]  {_colored(execution['status'])}  "
        f"{_duration(execution['startDate'], execution.get('stopDate'))}"
    )
    if use_aws:
        console.print(console_url(arn, client.meta.region_name))
    table = Table("state", "entered", "attempts", "errors", "took")
    for step in _steps(history):
        table.add_row(
            step["name"],
            _time(step["entered"]),
            str(step["attempts"]),
            ", ".join(step["errors"]) or "-",
            _duration(step["entered"], step.get("exited")),
        )
    console.print(table)
    if execution.get("output"):
        console.print_json(execution["output"])
    if execution.get("error"):
        errors.print(f"[red]{execution['error']}[/red]: {execution.get('cause', '')}")


def console_url(execution_arn: str, region: str) -> str:
    """Where the AWS console shows an execution: its graph, events and each state's data."""
    return (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution_arn}"
    )


def _steps(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History events folded into one row per state entered."""
    steps: list[dict[str, Any]] = []
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            steps.append({"name": name, "entered": event["timestamp"], "attempts": 0, "errors": []})
        elif not steps:
            continue
        elif kind == "TaskScheduled":
            steps[-1]["attempts"] += 1
        elif kind in ("TaskFailed", "TaskTimedOut"):
            details = event.get("taskFailedEventDetails") or event.get(
                "taskTimedOutEventDetails", {}
            )
            steps[-1]["errors"].append(details.get("error", kind))
        elif kind.endswith("StateExited"):
            steps[-1]["exited"] = event["timestamp"]
    return steps


def _colored(status: str) -> str:
    color = {"SUCCEEDED": "green", "RUNNING": "yellow"}.get(status, "red")
    return f"[{color}]{status}[/{color}]"


def _time(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M:%S.%f")[:-3]


def _duration(start: datetime, stop: datetime | None) -> str:
    if stop is None:
        return "-"
    return f"{(stop - start).total_seconds() * 1000:.0f} ms"


# --- toro kb ---------------------------------------------------------------------------------

KnowledgeDir = Annotated[
    Path | None,
    typer.Option("--dir", envvar="KNOWLEDGE_DIR", help="The knowledge base's folder."),
]


def _knowledge_base(directory: Path | None) -> KnowledgeBase:
    from core.knowledge import DEFAULT_DIRECTORY, KnowledgeBaseError, load

    try:
        return load(directory or DEFAULT_DIRECTORY)
    except KnowledgeBaseError as exc:
        raise fail(str(exc), 2) from None


@kb_app.command("list")
def kb_list(directory: KnowledgeDir = None) -> None:
    """Every entry: id, titles, last review and public URL. Fails naming any invalid file."""
    knowledge_base = _knowledge_base(directory)
    table = Table("id", "título (pt)", "title (en)", "reviewed", "url")
    for entry in knowledge_base:
        table.add_row(
            entry.id, entry.pt.title, entry.en.title, str(entry.reviewed), str(entry.url or "-")
        )
    console.print(table)
    console.print(f"{len(knowledge_base)} entries, version {knowledge_base.version}")


@kb_app.command("show")
def kb_show(
    entry_id: Annotated[str, typer.Argument(help="The entry's id (its file name).")],
    directory: KnowledgeDir = None,
) -> None:
    """One entry in both languages."""
    knowledge_base = _knowledge_base(directory)
    if entry_id not in knowledge_base.by_id:
        raise fail(f"no entry {entry_id!r}; `toro kb list` shows them", 1)
    entry = knowledge_base.by_id[entry_id]
    console.print(f"[bold]{entry.id}[/bold]  reviewed {entry.reviewed}  {entry.url or ''}")
    for language in ("pt", "en"):
        local = entry.text(language)
        console.print(
            Panel(
                escape(local.body),
                title=escape(f"[{language}] {local.title}"),
                subtitle=escape(", ".join(local.keywords)),
            )
        )


@kb_app.command("search")
def kb_search(
    text: Annotated[str, typer.Argument(help="A question, as a user would ask it.")],
    after: Annotated[
        list[str] | None,
        typer.Option("--after", help="An earlier question of the conversation (repeatable)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=20, help="How many entries to rank.")] = 5,
    directory: KnowledgeDir = None,
) -> None:
    """What the Retrieve task would find for a question: whether it stands alone or follows up on
    the conversation, the ranking, scores, and what it keeps."""
    from core.retrieval import BM25Retriever, Query, search

    knowledge_base = _knowledge_base(directory)
    retriever = BM25Retriever(knowledge_base)
    history = tuple(reversed(after or []))  # newest first, as the Retrieve task reads them
    found = search(retriever, Query(text, history), get_settings().retrieval_top_k)
    support = tuple(history[position] for position in found.follows)
    hits = retriever.rank(Query(text, support), limit)
    kept = {hit.entry_id for hit in found.hits}
    if found.decision == "follow_up":
        used = ", ".join(repr(question) for question in reversed(support))
        console.print(f"Decision: follow_up, supported by the earlier questions {escape(used)}")
    else:
        console.print("Decision: standalone, judged on its own words")
    table = Table("#", "id", "score", "coverage", "in context", "title")
    for rank, hit in enumerate(hits, start=1):
        table.add_row(
            str(rank),
            hit.entry_id,
            f"{hit.score:.3f}",
            f"{hit.coverage:.0%}",
            "yes" if hit.entry_id in kept else "-",
            knowledge_base.by_id[hit.entry_id].pt.title,
        )
    console.print(table)
    if not kept:
        console.print("Nothing relevant enough: the assistant would say it does not know.")


if __name__ == "__main__":
    app()
