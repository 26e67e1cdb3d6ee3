"""Lambda's Invoke API, answered in-process for the project's handlers.

A WSGI middleware in front of moto's app: ``POST /2015-03-31/functions/<name>/invocations`` runs
the handler right here; everything else goes on to moto. A handler that raises is reported as
Lambda reports it (``X-Amz-Function-Error: Unhandled`` and ``{"errorType", "errorMessage"}``),
so the state machine's Retry and Catch match on the exception's class name exactly as on AWS.
Because it is HTTP, ``aws lambda invoke --endpoint-url ...`` from another process works too.

Each function runs up to ``concurrency`` invocations at once (as with a reserved concurrency);
they share one process, so the runtime keeps Powertools' log keys per thread.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import logging
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from local.iam import acting_as

log = logging.getLogger("toro.lambda")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_SUFFIX = "/invocations"
LOG_TAIL_BYTES = 4096  # what Lambda returns of the log with LogType=Tail


@dataclass
class Function:
    name: str
    handler: str  # "package.module.attribute"
    timeout_seconds: int = 30
    memory_mb: int = 512
    concurrency: int = 1
    slots: threading.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.slots = threading.Semaphore(self.concurrency)

    def load(self) -> Callable[[Any, Any], Any]:
        module_name, _, attribute = self.handler.rpartition(".")
        handler: Callable[[Any, Any], Any] = getattr(
            importlib.import_module(module_name), attribute
        )
        return handler


@dataclass
class LambdaContext:
    """What the Lambda runtime hands a handler as ``context``."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


@dataclass
class Invocation:
    status: int
    payload: bytes
    function_error: str | None = None
    request_id: str = ""
    logs: bytes = b""


class _ThreadLogs(logging.Handler):
    """Collects the log lines one thread writes, formatted as the handler's own output."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(self.format(record) + "\n")


@contextmanager
def _captured_logs(enabled: bool) -> Iterator[list[str]]:
    """What this thread logs meanwhile: the service's logger and every other one."""
    if not enabled:
        yield []
        return
    service = logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "toro-assistant"))
    formatter = service.handlers[0].formatter if service.handlers else None
    capture = _ThreadLogs(formatter)
    targets = [service, logging.getLogger()]
    for target in targets:
        target.addHandler(capture)
    try:
        yield capture.lines
    finally:
        for target in targets:
            target.removeHandler(capture)


def function_name_from(identifier: str) -> str:
    """A function name from a name, a partial ARN or a full ARN (with or without qualifier)."""
    identifier = unquote(identifier)
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        return parts[6] if len(parts) > 6 else identifier
    return identifier.split(":")[0]


class LambdaGateway:
    def __init__(
        self,
        app: WSGIApp,
        functions: Iterable[Function],
        *,
        region: str,
        account: str,
    ) -> None:
        self._app = app
        self.functions = {function.name: function for function in functions}
        self._region = region
        self._account = account
        self._async = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-async")

    def arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self._region}:{self._account}:function:{name}"

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") == "POST"
            and path.startswith(INVOKE_PREFIX)
            and path.endswith(INVOKE_SUFFIX)
        ):
            name = function_name_from(path[len(INVOKE_PREFIX) : -len(INVOKE_SUFFIX)])
            if name in self.functions:
                return self._serve(name, environ, start_response)
        return self._app(environ, start_response)

    def _serve(
        self, name: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        tail = environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail"
        if invocation_type == "DryRun":
            return _respond(start_response, 204, b"", {})
        if invocation_type == "Event":
            self._async.submit(self.invoke, name, body)
            return _respond(start_response, 202, b"", {})
        result = self.invoke(name, body, tail=tail)
        headers = {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": result.request_id}
        if tail:
            headers["X-Amz-Log-Result"] = base64.b64encode(result.logs[-LOG_TAIL_BYTES:]).decode()
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if result.status == 400:
            headers["x-amzn-ErrorType"] = "InvalidRequestContentException"
        return _respond(start_response, result.status, result.payload, headers)

    def invoke(self, name: str, payload: bytes | str, *, tail: bool = False) -> Invocation:
        """Run function ``name`` with a JSON payload, as Lambda's synchronous Invoke does.

        With ``tail``, the log lines the invocation wrote come back too (Invoke's LogType=Tail).
        """
        function = self.functions[name]
        raw = payload.encode() if isinstance(payload, str) else payload
        try:
            event = json.loads(raw or b"{}")
        except ValueError:
            body = {"Type": "User", "message": "Could not parse request body into json"}
            return Invocation(400, json.dumps(body).encode())
        context = LambdaContext(
            function_name=name,
            invoked_function_arn=self.arn(name),
            memory_limit_in_mb=function.memory_mb,
            timeout_seconds=function.timeout_seconds,
        )
        with function.slots, _captured_logs(tail) as logs:
            _ensure_event_loop()
            context.started = time.monotonic()
            try:
                # It acts with its role's permissions (local/iam.py).
                with acting_as(f"function:{name}"):
                    result = function.load()(event, context)
            except Exception as exc:
                log.debug("%s raised %s", name, type(exc).__name__, exc_info=True)
                trace = traceback.format_tb(exc.__traceback__)
                invocation = _unhandled(context, type(exc).__name__, str(exc), trace)
            else:
                elapsed = time.monotonic() - context.started
                if elapsed > function.timeout_seconds:
                    message = f"Task timed out after {function.timeout_seconds:.2f} seconds"
                    invocation = _unhandled(context, "Sandbox.Timedout", message, [])
                else:
                    invocation = Invocation(
                        200, json.dumps(result).encode(), None, context.aws_request_id
                    )
        invocation.logs = "".join(logs).encode()
        return invocation

    def close(self) -> None:
        self._async.shutdown(wait=False, cancel_futures=True)


def _ensure_event_loop() -> None:
    """Lambda runs a handler on a thread with an event loop (Mangum needs one); so do we."""
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def _unhandled(
    context: LambdaContext, error_type: str, message: str, trace: list[str]
) -> Invocation:
    """A failed invocation, reported with the fields and header Lambda uses."""
    body = {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": context.aws_request_id,
        "stackTrace": trace,
    }
    return Invocation(200, json.dumps(body).encode(), "Unhandled", context.aws_request_id)


def _respond(
    start_response: Callable[..., Any], status: int, body: bytes, headers: dict[str, str]
) -> list[bytes]:
    reasons = {200: "OK", 202: "Accepted", 204: "No Content", 400: "Bad Request"}
    header_list = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    header_list += list(headers.items())
    start_response(f"{status} {reasons.get(status, 'OK')}", header_list)
    return [body]
