"""``toro dev`` started as a user starts it: its own process, on free ports.

Shared by the system tests (HTTP, the CLI) and the browser tests (the web page).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from local.child import TORO, DevProcess, dev_process
from tests.conftest import OFFLINE_ENV

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Dev(DevProcess):
    """The running system, with what a client process needs to talk to it."""

    @property
    def env(self) -> dict[str, str]:
        """Environment for a client process (boto3, the CLI) talking to this system."""
        return {
            **clean_environment(),
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "TORO_AWS_ENDPOINT": self.aws_endpoint,
            "TORO_API_URL": self.api_url,
        }

    def dynamodb(self) -> DynamoDBClient:
        """A DynamoDB client of this system's AWS endpoint (its table: ``toro-assistant``)."""
        return boto3.client(
            "dynamodb",
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

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
def running_dev(
    workdir: Path,
    extra_env: Mapping[str, str] | None = None,
    ports: tuple[int, int] | None = None,
    args: tuple[str, ...] = (),
    log_name: str = "toro-dev.log",
) -> Iterator[Dev]:
    """``toro dev`` on free ports (or ``ports``) until the block ends (then Ctrl-C, as a user
    stops it), started in ``workdir``."""
    env = {**clean_environment(), "COLUMNS": "200", **(extra_env or {})}
    with dev_process(workdir / log_name, env, ports=ports, args=args) as child:
        yield Dev(**{field.name: getattr(child, field.name) for field in fields(child)})
