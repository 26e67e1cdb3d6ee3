"""``toro dev`` starting and stopping: the time until the API answers, and from Ctrl-C to exit.

Each run starts ``toro dev`` as its own process on free ports with a data folder of its own
(offline model, no key), asks one question and waits for its answer so that there is something
to save, then sends SIGINT (Ctrl-C) and times the process's exit, which includes saving the
table. Prints each run and the medians.

Usage: python -m bench.dev_lifecycle [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from local import http
from local.child import dev_process

PASSWORD = "correct horse battery"


def _ask_and_wait(api: str) -> None:
    credentials = {"username": "lifecycle", "password": PASSWORD}
    http.call("POST", f"{api}/auth/register", credentials)
    token = http.call("POST", f"{api}/auth/login", credentials).body["access_token"]
    asked = http.call("POST", f"{api}/questions", {"question": "O que é CDI?"}, token).body
    url = f"{api}/questions/{asked['session_id']}/{asked['question_id']}"
    deadline = time.monotonic() + 60
    while http.call("GET", url, token=token).body["status"] not in ("answered", "failed"):
        if time.monotonic() > deadline:
            raise RuntimeError("The question was not answered within 60 s")
        time.sleep(0.1)


def run_once(folder: Path) -> tuple[float, float]:
    """(seconds until the API answered, seconds from SIGINT to exit)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "TORO_"))}
    data = folder / "data"
    with dev_process(folder / "toro-dev.log", env, args=("--data-dir", str(data))) as dev:
        _ask_and_wait(f"{dev.api_url}/api/v1")
        stopping = time.perf_counter()
        dev.process.send_signal(signal.SIGINT)
        code = dev.process.wait(timeout=120)
        stopped = time.perf_counter() - stopping
    if code != 0:
        raise RuntimeError(f"toro dev exited with {code}:\n{dev.log.read_text()[-2000:]}")
    return dev.started_in_seconds, stopped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    starts, stops = [], []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="toro-lifecycle-") as folder:
            started, stopped = run_once(Path(folder))
        starts.append(started)
        stops.append(stopped)
        print(f"run {run}: API answered after {started:.2f} s; Ctrl-C to exit {stopped:.2f} s")
    print()
    print(f"start-up until the API answers: median {statistics.median(starts):.2f} s")
    print(f"Ctrl-C until the process exits: median {statistics.median(stops):.2f} s")


if __name__ == "__main__":
    main()
