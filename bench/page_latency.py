"""The web page in Chromium against ``toro dev``: weight, load time, and ask-to-answer-on-screen.

Starts ``toro dev`` (offline answerer) and Debian's Chromium, then:

- weight: the bytes of the page's three files as served, raw and gzipped;
- load: navigation start to the log-in form being shown, over ``--loads`` fresh loads;
- ask: one person asks ``--runs`` questions in turn; for each, the time from the click on Ask to
  the answer on screen, next to the workflow's own time for it (``created_at`` to
  ``answered_at``), and how many times the page asked the API about it.

The difference between the two latencies is what polling costs the person.

Usage: python -m bench.page_latency [--runs 20] [--loads 10]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Request, sync_playwright

from bench import percentile
from local import chromium, http
from local.child import dev_process

QUESTIONS = [
    "O que é o Tesouro Selic?",
    "What is a CDB?",
    "Como funciona o come-cotas?",
    "How are stocks taxed in Brazil?",
    "O que é o FGC?",
]
PASSWORD = "correct horse battery"


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def _p95_ms(values: list[float]) -> str:
    return f"{percentile(values, 0.95) * 1000:.0f} ms"


def run(runs: int, loads: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="toro-page-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "TORO_"))}
    env["RATE_LIMIT_QUESTIONS_PER_MINUTE"] = str(max(10, runs * 2))
    with dev_process(workdir / "toro-dev.log", env) as dev, sync_playwright() as playwright:
        page_url = f"{dev.api_url}/"
        raw = gzipped = 0
        for path in ("", "static/app.js", "static/app.css"):
            body = http.call("GET", page_url + path).body
            data = body.encode() if isinstance(body, str) else bytes(body or b"")
            raw += len(data)
            gzipped += len(gzip.compress(data))

        browser = chromium.launch(playwright)
        load_times = []
        for _ in range(loads):
            context = browser.new_context()
            page = context.new_page()
            started = time.perf_counter()
            page.goto(page_url)
            page.wait_for_selector("#auth-view:not([hidden])")
            load_times.append(time.perf_counter() - started)
            context.close()

        context = browser.new_context()
        page = context.new_page()
        polls: dict[str, int] = {}

        def count(request: Request) -> None:
            parts = request.url.split("?")[0].rstrip("/").split("/")
            if request.method == "GET" and len(parts) >= 3 and parts[-3] == "questions":
                polls[parts[-1]] = polls.get(parts[-1], 0) + 1

        page.on("request", count)
        page.goto(page_url)
        page.fill("#username", "bench-page")
        page.fill("#password", PASSWORD)
        with page.expect_response(lambda response: "/auth/login" in response.url) as login:
            page.click("#register")
        tokens = login.value.json()  # the page keeps them in memory only
        page.wait_for_selector("#app-view:not([hidden])")

        on_screen, workflow = [], []
        for n in range(runs):
            page.fill("#question", QUESTIONS[n % len(QUESTIONS)])
            started = time.perf_counter()
            page.click("#ask")
            page.wait_for_function(
                """(count) => {
                    const cards = document.querySelectorAll('#history > li');
                    return cards.length === count && cards[0].dataset.status === 'answered';
                }""",
                arg=n + 1,
                polling="raf",
            )
            answered = page.locator("#history > li").nth(0)
            on_screen.append(time.perf_counter() - started)
            question_id = answered.get_attribute("data-question-id")
            assert question_id
            item = http.call(
                "GET",
                f"{dev.api_url}/api/v1/questions/{tokens['session_id']}/{question_id}",
                token=tokens["access_token"],
            ).body
            workflow.append(
                (
                    datetime.fromisoformat(item["answered_at"])
                    - datetime.fromisoformat(item["created_at"])
                ).total_seconds()
            )
        browser.close()

    print(f"page weight: {raw / 1024:.1f} KiB as served, {gzipped / 1024:.1f} KiB gzipped")
    print(f"page load to log-in form: median {_median_ms(load_times)} of {loads}")
    print(f"questions asked in the page: {runs}, one after another")
    print(
        f"  click on Ask -> answer on screen: median {_median_ms(on_screen)}, "
        f"p95 {_p95_ms(on_screen)}"
    )
    print(
        f"  workflow's own time (created_at -> answered_at): median {_median_ms(workflow)}, "
        f"p95 {_p95_ms(workflow)}"
    )
    extra = [screen - flow for screen, flow in zip(on_screen, workflow, strict=True)]
    print(f"  what polling adds: median {_median_ms(extra)}")
    print(f"  polls per question: median {statistics.median(polls.values()):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()
    run(args.runs, args.loads)


if __name__ == "__main__":
    main()
