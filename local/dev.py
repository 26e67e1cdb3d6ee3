"""``toro dev``: the whole system in one process, offline.

The embedded AWS runtime (moto's server with the handlers as Lambda functions and the state
machine), the offline model behind an OpenAI-compatible endpoint unless a key is configured,
and the API served by uvicorn.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import uvicorn

from api.app import create_app
from core import reset
from core.knowledge import get_knowledge_base
from core.settings import get_llm_settings
from local import live
from local.iam import run_as
from local.offline_model import MODEL_NAME, OFFLINE_API_KEY, OfflineOpenAI
from local.persistence import DEFAULT_DIRECTORY, LocalData, signing_key
from local.provision import Resources
from local.runtime import EmbeddedRuntime

log = logging.getLogger("toro.dev")


class PortInUse(RuntimeError):
    def __init__(self, host: str, port: int, role: str, option: str) -> None:
        super().__init__(
            f"Port {port} on {host} is already in use, so the {role} cannot start there. "
            f"Stop whatever is using it, or choose another port with {option}."
        )


@dataclass
class DevConfig:
    host: str = "127.0.0.1"
    aws_port: int = 4566
    api_port: int = 8000
    fast_retries: bool = False
    # Where the data is kept across restarts (None: nowhere), and whether to start empty.
    data_dir: Path | None = DEFAULT_DIRECTORY
    fresh: bool = False
    save_seconds: float = 30.0
    # The recovery sweeper runs this often, as EventBridge Scheduler runs it on AWS.
    sweep_seconds: float = 60.0


@dataclass
class Running:
    api_url: str
    aws_endpoint: str
    answerer: str
    answerer_url: str
    resources: Resources
    started_in_seconds: float
    data_file: Path | None = None
    restored: int = 0


def exposure_warning(host: str) -> str | None:
    """What to tell someone who serves the development system beyond this machine."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return None
    return (
        f"toro dev is listening on {host}, not only on this machine. It is a development "
        "system: accounts, questions and the AWS endpoint (with no credentials checked) are "
        "open to anyone who can reach this address. Use it on a network you trust, or run "
        "with --host 127.0.0.1."
    )


def ensure_free(host: str, port: int, role: str, option: str) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: a port whose last connections wait in TIME_WAIT (a restart at
        # once) is free; one that something listens on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(host, port, role, option) from exc
            raise


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class DevStack:
    config: DevConfig
    runtime: EmbeddedRuntime | None = None
    offline: OfflineOpenAI | None = None
    api: uvicorn.Server | None = None
    data: LocalData | None = None
    _api_thread: threading.Thread | None = field(default=None, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _sweeper: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> Running:
        started = time.perf_counter()
        config = self.config
        ensure_free(config.host, config.aws_port, "AWS endpoint", "--aws-port / TORO_AWS_PORT")
        ensure_free(config.host, config.api_port, "API", "--api-port / TORO_API_PORT")
        if config.data_dir is not None and not os.environ.get("TOKEN_SIGNING_KEY"):
            # Sessions survive a restart with the data: the key is kept next to it.
            os.environ["TOKEN_SIGNING_KEY"] = signing_key(config.data_dir, fresh=config.fresh)
        answerer, answerer_url = self._start_answerer()
        self.runtime = EmbeddedRuntime(
            host=config.host, port=config.aws_port, fast_retries=config.fast_retries
        )
        resources = self.runtime.start()
        restored = self._restore(resources)
        reset.clear_caches()
        api_port = self._start_api()
        # The functions push live updates through the API Gateway Management API: here.
        os.environ["WEBSOCKET_ENDPOINT"] = f"http://{config.host}:{api_port}"
        reset.clear_caches()
        # The schedule invokes the sweeper with its own role, as EventBridge Scheduler does.
        self._sweeper = threading.Thread(
            target=run_as, args=("scheduler", self._sweep), name="sweeper", daemon=True
        )
        self._sweeper.start()
        return Running(
            api_url=f"http://{config.host}:{api_port}",
            aws_endpoint=self.runtime.endpoint,
            answerer=answerer,
            answerer_url=answerer_url,
            resources=resources,
            started_in_seconds=time.perf_counter() - started,
            data_file=self.data.path if self.data else None,
            restored=restored,
        )

    def _restore(self, resources: Resources) -> int:
        """The last run's items back in the table (none with ``fresh``); saves start."""
        config = self.config
        if config.data_dir is None or self.runtime is None:
            return 0
        # The runtime pointed the SDK at itself (AWS_ENDPOINT_URL).
        self.data = LocalData(
            config.data_dir,
            boto3.client("dynamodb"),
            resources.table_name,
            resources.accounts_table_name,
            config.save_seconds,
        )
        restored = 0
        if config.fresh:
            self.data.path.unlink(missing_ok=True)
        else:
            restored = self.data.restore()
        self.data.start()
        return restored

    def _start_answerer(self) -> tuple[str, str]:
        """The model in use; the offline endpoint when no key is configured."""
        settings = get_llm_settings()
        if settings.has_key_source:
            url = settings.openai_base_url or "https://api.openai.com/v1"
            return f"OpenAI-compatible model {settings.openai_model}", url
        self.offline = OfflineOpenAI(host=self.config.host).start()
        os.environ["OPENAI_API_KEY"] = OFFLINE_API_KEY
        os.environ["OPENAI_BASE_URL"] = self.offline.base_url
        os.environ["OPENAI_MODEL"] = MODEL_NAME
        knowledge_base = get_knowledge_base()
        return (
            f"offline model {MODEL_NAME} over the knowledge base "
            f"({len(knowledge_base)} entries, {knowledge_base.version})",
            self.offline.base_url,
        )

    def _start_api(self) -> int:
        app = create_app()
        live.install(app)  # the WebSocket API, as API Gateway's
        config = uvicorn.Config(
            app,
            host=self.config.host,
            port=self.config.api_port,
            log_level="warning",
            lifespan="on",
        )
        self.api = uvicorn.Server(config)
        # The API acts with its function's role, as its Lambda does on AWS.
        self._api_thread = threading.Thread(
            target=run_as, args=("function:api", self.api.run), name="api", daemon=True
        )
        self._api_thread.start()
        deadline = time.monotonic() + 30
        while not self.api.started:
            if not self._api_thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The API did not start; see the log above.")
            time.sleep(0.02)
        servers = getattr(self.api, "servers", [])
        sockets = [sock for server in servers for sock in server.sockets]
        port: int = sockets[0].getsockname()[1] if sockets else self.config.api_port
        return port

    def _sweep(self) -> None:
        """Invoke the sweeper's function every ``sweep_seconds`` until the stop."""
        assert self.runtime is not None and self.runtime.gateway is not None
        function = self.runtime.gateway.arn("sweep_open_questions")
        client = boto3.client("lambda")
        payload = json.dumps({"source": "toro.sweeper"}).encode()
        while not self._stopping.wait(self.config.sweep_seconds):
            try:
                client.invoke(FunctionName=function, Payload=payload)
            except Exception:  # the next run tries again; say why this one failed
                log.exception("The recovery sweeper could not run")

    def stop(self) -> None:
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=10)
        if self.api is not None:
            self.api.should_exit = True
        if self._api_thread is not None:
            self._api_thread.join(timeout=5)
        if self.data is not None:
            self.data.stop()  # the last save, before the runtime's memory goes
        if self.runtime is not None:
            self.runtime.stop()
        if self.offline is not None:
            self.offline.stop()
