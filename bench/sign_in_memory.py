"""Sixteen failed logins at once against ``toro dev``: memory and latency, with the bound on
concurrent password hashes (``PASSWORD_HASH_CONCURRENCY``, 2) and without it (16).

Each run starts ``toro dev`` as its own process, waits until it answers, then sends the logins
concurrently over HTTP (distinct usernames, so no lock intervenes; the sign-in throttle is
raised for the run). Memory is the process's RSS before and its high-water RSS (VmHWM) after.

Usage: python -m bench.sign_in_memory [--logins 16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import UNTHROTTLED, percentile, proc_status_mib, reset_peak_rss
from local import http
from local.child import dev_process


def _failed_login(api: str, n: int) -> tuple[int, float]:
    started = time.perf_counter()
    body = {"username": f"nobody-{n}", "password": "not the password"}
    status = http.call("POST", f"{api}/auth/login", body).status
    return status, time.perf_counter() - started


def run_once(logins: int, concurrency: int) -> None:
    log = Path(tempfile.mkdtemp(prefix="toro-sign-in-")) / "toro-dev.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "TORO_"))}
    env |= UNTHROTTLED | {"PASSWORD_HASH_CONCURRENCY": str(concurrency)}
    with dev_process(log, env) as dev:
        api, pid = f"{dev.api_url}/api/v1", dev.process.pid
        _failed_login(api, -1)  # the dummy hash and the code paths, once
        before = proc_status_mib(pid, "VmRSS")
        reset_peak_rss(pid)
        with ThreadPoolExecutor(max_workers=logins) as pool:
            results = list(pool.map(lambda n: _failed_login(api, n), range(logins)))
        peak = proc_status_mib(pid, "VmHWM")
    statuses = sorted({status for status, _ in results})
    seconds = [elapsed for _, elapsed in results]
    print(
        f"hashes at once {concurrency:>2}: {before:.0f} MiB before, peak {peak:.0f} MiB "
        f"(+{peak - before:.0f}); login p50 {statistics.median(seconds):.2f} s, "
        f"p95 {percentile(seconds, 0.95):.2f} s; statuses {statuses}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=16)
    args = parser.parse_args()
    print(f"{args.logins} failed logins at once against toro dev", flush=True)
    for concurrency in (args.logins, 2):
        run_once(args.logins, concurrency)


if __name__ == "__main__":
    main()
