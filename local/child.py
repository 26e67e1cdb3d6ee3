"""``toro dev`` as a child process on free ports, for the tests and the benchmarks.

Started as a user starts it (``python -m local.cli dev``), with its output in a log file, and
ready once the API's health route answers; stopped with Ctrl-C (SIGINT), as a user stops it.
"""

from __future__ import annotations

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

TORO = [sys.executable, "-m", "local.cli"]
STARTUP_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class DevProcess:
    api_url: str
    aws_endpoint: str
    log: Path
    process: subprocess.Popen[bytes]
    started_in_seconds: float


@contextmanager
def dev_process(
    log: Path,
    env: Mapping[str, str],
    timeout: float = STARTUP_TIMEOUT_SECONDS,
    ports: tuple[int, int] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[DevProcess]:
    """``toro dev`` with exactly ``env``, logging to ``log``, until the block ends; on ``ports``
    (AWS endpoint, API) or free ones, with ``args`` added to its command line."""
    aws_port, api_port = ports or (free_port(), free_port())
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [*TORO, "dev", "--aws-port", str(aws_port), "--api-port", str(api_port), *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**env, "PYTHONUNBUFFERED": "1"},
            cwd=log.parent,
        )
    api_url = f"http://127.0.0.1:{api_port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if http.call("GET", f"{api_url}/api/v1/health", timeout=2).status == 200:
                break
        except http.Unreachable:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"toro dev did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)
    try:
        yield DevProcess(
            api_url,
            f"http://127.0.0.1:{aws_port}",
            log,
            process,
            time.perf_counter() - started,
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
