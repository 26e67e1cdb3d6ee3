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
import sys
import threading
import time
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from core import reset
from core.observability import logger as service_logger
from handlers import HANDLERS, Resource, timeout_of
from local import iam
from local.atomic_writes import make_dynamodb_atomic
from local.functions import ACCOUNT, DEFAULT_REGION, FUNCTIONS
from local.lambda_gateway import Function, LambdaGateway
from local.logs import TerminalFormatter, use_per_thread_keys
from local.provision import STATE_MACHINE_NAME, Resources, provision
from local.signals import wait_for_stop
from local.sns_bridge import SnsBridge

log = logging.getLogger("toro.runtime")

# Invocations of one function that may run at once (Lambda would scale out further).
FUNCTION_CONCURRENCY = 8
INTERPRETER_TIMEOUT_SECONDS = 300
INTERPRETER_CONNECTIONS = 64
WORKFLOW_PRINCIPAL = "workflow"
# A policies file other than the one the template gives (tests take a grant away with it).
IAM_POLICIES_VARIABLE = "TORO_IAM_POLICIES"


def speed_up_interpreter() -> None:
    """Two changes to moto's state-machine interpreter that keep its behaviour but not its cost.

    - It builds a new boto3 client for every task it runs; each costs tens of milliseconds and
      megabytes, and opens a keep-alive connection that pins a server thread. One client per
      service and region is reused instead (boto3 clients are thread-safe).
    - It parses the definition again for every execution (about 85 ms of CPU here). The parsed
      program keeps per-execution state in the execution's own environment, not in itself, for
      the Task states this workflow uses; so one parse per definition is reused, with each
      component's lazily made heap key made up front so that threads never race to make it.
    """
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import boto_client

    if getattr(boto_client.boto_client_for, "shared", False):
        return

    parse = AmazonStateLanguageParser.parse

    @lru_cache(maxsize=16)
    def parse_once(definition: str) -> Any:
        program = parse(definition)
        _settle_heap_keys(program[0], EvalComponent, set())
        return program

    AmazonStateLanguageParser.parse = staticmethod(parse_once)  # type: ignore[method-assign]
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def shared_client(region: str, service: str, state_credentials: Any = None) -> Any:
        with lock:
            if (region, service) not in clients:
                client = clients[(region, service)] = boto3.client(  # type: ignore[call-overload]
                    service,
                    region_name=region,
                    endpoint_url=f"http://localhost:{os.environ['MOTO_PORT']}",
                    aws_access_key_id="local",
                    aws_secret_access_key="local",  # noqa: S106 - the local endpoint's
                    config=Config(
                        parameter_validation=False,
                        retries={"max_attempts": 0, "total_max_attempts": 1},
                        connect_timeout=INTERPRETER_TIMEOUT_SECONDS,
                        read_timeout=INTERPRETER_TIMEOUT_SECONDS,
                        max_pool_connections=INTERPRETER_CONNECTIONS,
                    ),
                )
                # The state machine calls its tasks with its own role.
                iam.bind(client, WORKFLOW_PRINCIPAL)
            return clients[(region, service)]

    shared_client.shared = True  # type: ignore[attr-defined]
    boto_client.boto_client_for = shared_client
    lambda_eval_utils.boto_client_for = shared_client  # type: ignore[attr-defined]


def _settle_heap_keys(node: Any, component: type, seen: set[int]) -> None:
    """Touch ``heap_key`` on every component of a parsed program (it is made on first use)."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, component):
        _ = node.heap_key  # type: ignore[attr-defined]
    children = vars(node).values() if hasattr(node, "__dict__") else ()
    if isinstance(node, list | tuple | set):
        children = node
    elif isinstance(node, dict):
        children = node.values()
    for child in children:
        if isinstance(child, component | list | tuple | set | dict) or (
            hasattr(child, "__dict__") and type(child).__module__.startswith("moto.stepfunctions")
        ):
            _settle_heap_keys(child, component, seen)


class EmbeddedRuntime:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 4566,
        region: str = DEFAULT_REGION,
        fast_retries: bool = False,
        concurrency: int = FUNCTION_CONCURRENCY,
    ) -> None:
        self.host = host
        self.concurrency = concurrency
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
        # Invocations run side by side on threads: each keeps its own log keys.
        use_per_thread_keys(
            terminal=isinstance(service_logger.registered_handler.formatter, TerminalFormatter)
        )
        functions = [
            Function(
                name=name,
                handler=path,
                timeout_seconds=timeout_of(name),
                concurrency=self.concurrency,
            )
            for name, path in FUNCTIONS.items()
        ]
        make_dynamodb_atomic()
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
        speed_up_interpreter()

        session = boto3.session.Session()
        self.resources = provision(
            dynamodb=session.client("dynamodb"),
            sns=session.client("sns"),
            sqs=session.client("sqs"),
            sfn=session.client("stepfunctions"),
            # As on AWS, the tasks name a version of each function; here, its only one.
            function_arn={name: f"{self.gateway.arn(name)}:$LATEST" for name in HANDLERS},
            account=ACCOUNT,
            fast_retries=self.fast_retries,
        )
        os.environ.update(self.resources.environment())
        self._enforce_iam(self.resources)
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

    def _enforce_iam(self, resources: Resources) -> None:
        """Every function runs under its role's policy from the template, as on AWS."""
        assert self.gateway is not None
        place = iam.Place(region=self.region, account=ACCOUNT)

        def table(name: str) -> dict[str, str]:
            return {"Ref": name, "Arn": place.arn("dynamodb", f"table/{name}")}

        def secret(name: str) -> dict[str, str]:
            return {"Ref": place.arn("secretsmanager", f"secret:{name}")}

        names: dict[str, dict[str, str]] = {
            Resource.TABLE: table(resources.table_name),
            Resource.ACCOUNTS: table(resources.accounts_table_name),
            Resource.QUESTIONS_TOPIC: {"Ref": resources.questions_topic_arn},
            Resource.ANSWERS_TOPIC: {"Ref": resources.answers_topic_arn},
            Resource.WORKFLOW: {"Ref": resources.state_machine_arn, "Name": STATE_MACHINE_NAME},
            Resource.OPENAI_KEY: secret("toro/local/openai-api-key"),
            Resource.SIGNING_KEY: secret("toro/local/token-signing-key"),
            Resource.CONNECTIONS: {"Ref": place.connections_api},
            "topics-key": {"Arn": place.arn("kms", "key/toro-topics")},
        }
        for name in FUNCTIONS:
            arn = self.gateway.arn(name)
            names[f"function:{name}"] = {"Ref": arn, "Arn": arn}
        path = os.environ.get(IAM_POLICIES_VARIABLE)
        iam.install(iam.load(names, place, Path(path) if path else iam.POLICIES))

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
        # The embedded runtime is development by definition (the API's Lambda runs in it too).
        os.environ.setdefault("ENVIRONMENT", "development")
        # Powertools Metrics keeps one metric set per process, which concurrent invocations
        # would mix; locally metrics stay off unless asked for (POWERTOOLS_METRICS_DISABLED).
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
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
        iam.uninstall()
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
    wait_for_stop()
    runtime.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
