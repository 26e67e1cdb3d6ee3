"""``toro dev`` started as a user starts it: its own process, on free ports.

Shared by the system tests (HTTP, the CLI) and the browser tests (the web page).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from local import http
from local.dev import free_port
from tests.conftest import OFFLINE_ENV

STARTUP_TIMEOUT_SECONDS = 60
TORO = [sys.executable, "-m", "local.cli"]


@dataclass(frozen=True)
class Dev:
    api_url: str
    aws_endpoint: str
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def env(self) -> dict[str, str]:
        """Environment for a client process (boto3, the CLI) talking to this system."""
        return {
            **clean_environment(),
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "TORO_AWS_ENDPOINT": self.aws_endpoint,
            "TORO_API_URL": self.api_url,
        }

    def toro(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*TORO, *args],
            env={**self.env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def clean_environment() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "OPENAI_", "POWERTOOLS_", "TORO_"))
    }
    env.update(OFFLINE_ENV)
    return env


@contextmanager
def running_dev(workdir: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[Dev]:
    """``toro dev`` on free ports until the block ends (then Ctrl-C, as a user stops it)."""
    aws_port, api_port = free_port(), free_port()
    log = workdir / "toro-dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*TORO, "dev", "--aws-port", str(aws_port), "--api-port", str(api_port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={
                **clean_environment(),
                "PYTHONUNBUFFERED": "1",
                "COLUMNS": "200",
                **(extra_env or {}),
            },
            cwd=workdir,
        )
    api_url = f"http://127.0.0.1:{api_port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            if http.call("GET", f"{api_url}/api/v1/health", timeout=2).status == 200:
                break
        except http.Unreachable:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"toro dev did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
    try:
        yield Dev(api_url, f"http://127.0.0.1:{aws_port}", log, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
