"""What each function imports at cold start: heavy libraries only where they are used.

The OpenAI SDK only in the function that calls the model, FastAPI and the password libraries
only in the API, the retrieval libraries only in Retrieve; each costs a cold start elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from handlers import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {
    "openai": {"call_openai"},
    "httpx": {"call_openai", "api"},
    "fastapi": {"api"},
    "argon2": {"api"},
    "zxcvbn": {"api"},
    "jwt": {"api", "websocket"},  # tokens; the WebSocket function checks tickets
    "numpy": {"retrieve_context"},
    "bm25s": {"retrieve_context"},
}
_PROBE = (
    "import importlib, json, sys; importlib.import_module({module!r}); "
    "print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))"
)


def imported_at_cold_start(module: str) -> set[str]:
    env = {**os.environ, "AWS_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module, heavy=sorted(HEAVY))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_imports_only_the_heavy_libraries_it_uses(function: str) -> None:
    module = FUNCTIONS[function].rsplit(".", 1)[0]
    expected = {library for library, users in HEAVY.items() if function in users}
    assert imported_at_cold_start(module) <= expected
