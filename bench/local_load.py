"""``toro dev`` under load: start-up time, then many users asking at once.

Starts ``toro dev`` as its own process on free ports (offline answerer, no key), measures the
time until the API answers, then has N users submit M questions each concurrently over HTTP,
and waits until every accepted question is final. Latency is submit-to-answered from the
question's own timestamps (``created_at`` -> ``answered_at``). Peak memory is the process's
high-water RSS (VmHWM).

Usage: python -m bench.local_load [--users 50] [--per-user 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import UNTHROTTLED, percentile, proc_status_mib, reset_peak_rss
from local import http
from local.child import dev_process

QUESTIONS = [
    "Quanto rende o Tesouro Selic?",
    "O que é o FGC e quanto ele garante?",
    "What is an ETF?",
    "Como funciona a marcação a mercado?",
    "How are real estate funds taxed?",
    "LCI e LCA pagam imposto de renda?",
    "Where should I keep my emergency fund?",
    "O que é come-cotas?",
    "Is day trading a good idea?",
    "Qual o imposto sobre ações?",
]
PASSWORD = "correct horse battery"


def _user(api: str, name: str) -> dict[str, str]:
    credentials = {"username": name, "password": PASSWORD}
    http.call("POST", f"{api}/auth/register", credentials)
    tokens = http.call("POST", f"{api}/auth/login", credentials).body
    return {"token": tokens["access_token"], "session": tokens["session_id"]}


def _submit_all(api: str, user: dict[str, str], per_user: int) -> list[int]:
    statuses = []
    for n in range(per_user):
        question = {"question": QUESTIONS[n % len(QUESTIONS)]}
        statuses.append(http.call("POST", f"{api}/questions", question, user["token"]).status)
    return statuses


def _final_questions(api: str, user: dict[str, str]) -> list[dict[str, Any]]:
    url = f"{api}/questions/{user['session']}?limit=100"
    items: list[dict[str, Any]] = http.call("GET", url, token=user["token"]).body["items"]
    return items


def run(users: int, per_user: int, timeout: float) -> None:
    log = Path(tempfile.mkdtemp(prefix="toro-load-")) / "toro-dev.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "TORO_"))}
    with dev_process(log, env | UNTHROTTLED) as dev:
        process, api, startup = dev.process, f"{dev.api_url}/api/v1", dev.started_in_seconds
        print(f"toro dev answered after {startup:.2f} s; creating {users} users", flush=True)
        with ThreadPoolExecutor(max_workers=users) as pool:
            accounts = list(pool.map(lambda i: _user(api, f"load-user-{i}"), range(users)))
            # Registering and logging in 50 users at once is argon2 at 64 MiB a hash: report
            # that peak, then measure the questions' own.
            accounts_peak = proc_status_mib(process.pid, "VmHWM")
            reset_peak_rss(process.pid)
            submit_started = time.perf_counter()
            statuses = [
                s
                for batch in pool.map(lambda u: _submit_all(api, u, per_user), accounts)
                for s in batch
            ]
            submit_seconds = time.perf_counter() - submit_started
        accepted = statuses.count(202)
        print(
            f"submitted {len(statuses)} in {submit_seconds:.1f} s: {accepted} accepted", flush=True
        )

        deadline = time.monotonic() + timeout
        while True:
            questions = [q for account in accounts for q in _final_questions(api, account)]
            final = [q for q in questions if q["status"] in ("answered", "failed", "rejected")]
            if len(final) >= accepted or time.monotonic() > deadline:
                break
            print(f"  {len(final)}/{accepted} final", flush=True)
            time.sleep(2)
        peak = proc_status_mib(process.pid, "VmHWM")

    answered = [q for q in final if q["status"] == "answered"]
    latencies = [
        (
            datetime.fromisoformat(q["answered_at"]) - datetime.fromisoformat(q["created_at"])
        ).total_seconds()
        for q in answered
    ]
    first = min(datetime.fromisoformat(q["created_at"]) for q in questions)
    last = max(datetime.fromisoformat(q["answered_at"]) for q in answered)
    span = (last - first).total_seconds()
    print()
    print(f"start-up until the API answers: {startup:.2f} s")
    print(f"questions: {len(statuses)} submitted by {users} users at once, {accepted} accepted")
    print(
        f"answered {len(answered)}, failed/rejected {len(final) - len(answered)}, "
        f"lost {accepted - len(final)}"
    )
    print(f"throughput: {len(answered) / span:.1f} answered/s over {span:.1f} s")
    print(
        f"submit -> answered: p50 {statistics.median(latencies):.2f} s, "
        f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s"
    )
    print(
        f"peak memory of toro dev: {peak:.0f} MiB while answering; "
        f"{accounts_peak:.0f} MiB while {users} users registered and logged in at once"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--per-user", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    run(args.users, args.per_user, args.timeout)


if __name__ == "__main__":
    main()
