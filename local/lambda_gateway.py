"""Lambda's Invoke API, answered in-process for the project's handlers.

A WSGI middleware in front of moto's app: ``POST /2015-03-31/functions/<name>/invocations`` runs
the handler right here; everything else goes on to moto. A handler that raises is reported as
Lambda reports it (``X-Amz-Function-Error: Unhandled`` and ``{"errorType", "errorMessage"}``),
so the state machine's Retry and Catch match on the exception's class name exactly as on AWS.
Because it is HTTP, ``aws lambda invoke --endpoint-url ...`` from another process works too.

Each function runs one invocation at a time (as with a reserved concurrency of one): handlers
share one process here, and Powertools' logger and metrics keep per-invocation state.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

log = logging.getLogger("toro.lambda")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_SUFFIX = "/invocations"


@dataclass
class Function:
    name: str
    handler: str  # "package.module.attribute"
    timeout_seconds: int = 30
    memory_mb: int = 512
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
        if invocation_type == "DryRun":
            return _respond(start_response, 204, b"", {})
        if invocation_type == "Event":
            self._async.submit(self.invoke, name, body)
            return _respond(start_response, 202, b"", {})
        result = self.invoke(name, body)
        headers = {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": result.request_id}
        if result.function_error:
            headers["X-Amz-Function-Error"] = result.function_error
        if result.status == 400:
            headers["x-amzn-ErrorType"] = "InvalidRequestContentException"
        return _respond(start_response, result.status, result.payload, headers)

    def invoke(self, name: str, payload: bytes | str) -> Invocation:
        """Run function ``name`` with a JSON payload, as Lambda's synchronous Invoke does."""
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
        with function.lock:
            context.started = time.monotonic()
            try:
                result = function.load()(event, context)
            except Exception as exc:
                log.debug("%s raised %s", name, type(exc).__name__, exc_info=True)
                trace = traceback.format_tb(exc.__traceback__)
                return _unhandled(context, type(exc).__name__, str(exc), trace)
            elapsed = time.monotonic() - context.started
        if elapsed > function.timeout_seconds:
            message = f"Task timed out after {function.timeout_seconds:.2f} seconds"
            return _unhandled(context, "Sandbox.Timedout", message, [])
        return Invocation(200, json.dumps(result).encode(), None, context.aws_request_id)

    def close(self) -> None:
        self._async.shutdown(wait=False, cancel_futures=True)


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
