"""The embedded runtime: the whole AWS side of the system in one process, offline.

moto's server answers DynamoDB, SNS, SQS and Step Functions (with real state-machine execution
switched on); the Lambda gateway runs the project's handlers in-process; SNS bridges deliver
topic messages to their subscriber functions. The state machine is provisioned from
``state_machine/question_workflow.asl.json``, the file the CDK app deploys.

``python -m local.runtime --port 0`` starts it and prints one JSON line with the endpoint and
resource names once it is ready (the workflow tests start it this way).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.request
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from core import reset
from handlers import HANDLERS
from local.functions import ACCOUNT, DEFAULT_REGION, FUNCTIONS
from local.lambda_gateway import Function, LambdaGateway
from local.provision import Resources, provision
from local.sns_bridge import SnsBridge

log = logging.getLogger("toro.runtime")

# Lambda timeouts, below each task's TimeoutSeconds in the ASL (the CDK app uses the same).
FUNCTION_TIMEOUTS = {"call_openai": 30, "validate_question": 25}


class EmbeddedRuntime:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 4566,
        region: str = DEFAULT_REGION,
        fast_retries: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.region = region
        self.fast_retries = fast_retries
        self.resources: Resources | None = None
        self.gateway: LambdaGateway | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._bridges: list[SnsBridge] = []

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Resources:
        started = time.perf_counter()
        # One access-log line per AWS call drowns everything else out.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        functions = [
            Function(name=name, handler=path, timeout_seconds=FUNCTION_TIMEOUTS.get(name, 20))
            for name, path in FUNCTIONS.items()
        ]
        app = DomainDispatcherApplication(create_backend_app)
        self.gateway = LambdaGateway(app, functions, region=self.region, account=ACCOUNT)
        self._server = make_server(
            self.host, self.port, self.gateway, threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self._server.server_port
        self._configure_environment()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aws-endpoint", daemon=True
        )
        self._thread.start()
        self._enable_state_machine_execution()

        session = boto3.session.Session()
        self.resources = provision(
            dynamodb=session.client("dynamodb"),
            sns=session.client("sns"),
            sqs=session.client("sqs"),
            sfn=session.client("stepfunctions"),
            function_arn={name: self.gateway.arn(name) for name in HANDLERS},
            account=ACCOUNT,
            fast_retries=self.fast_retries,
        )
        os.environ.update(self.resources.environment())
        reset.clear_caches()
        sqs = session.client("sqs")
        for subscription in self.resources.subscriptions:
            bridge = SnsBridge(sqs, self.gateway, subscription)
            bridge.start()
            self._bridges.append(bridge)
        log.info(
            "Embedded runtime ready in %.2fs at %s", time.perf_counter() - started, self.endpoint
        )
        return self.resources

    def _configure_environment(self) -> None:
        """Point the SDK (ours and moto's interpreter) at the local endpoint."""
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "MOTO_PORT": str(self.port),
            }
        )
        # Local credentials only when none are configured: nothing here reaches AWS.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ.setdefault("POWERTOOLS_DEV", "false")

    def _enable_state_machine_execution(self) -> None:
        request = urllib.request.Request(  # noqa: S310 - our own loopback endpoint
            f"{self.endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def stop(self) -> None:
        for bridge in self._bridges:
            bridge.stop()
        self._bridges.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.gateway is not None:
            self.gateway.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmbeddedRuntime:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the embedded AWS runtime.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566, help="0 picks a free port")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument(
        "--fast-retries", action="store_true", help="cap every retry wait at 1 s (tests)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runtime = EmbeddedRuntime(
        host=args.host, port=args.port, region=args.region, fast_retries=args.fast_retries
    )
    resources = runtime.start()
    ready: dict[str, Any] = {"ready": True, "endpoint": runtime.endpoint, **resources.environment()}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    runtime.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
