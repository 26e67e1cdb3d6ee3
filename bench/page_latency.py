"""The web page in Chromium against ``toro dev``: weight, load time, and ask-to-answer-on-screen.

Starts ``toro dev`` and Debian's Chromium, then:

- weight: the bytes of the page, its stylesheet and every module it imports (the markdown
  parser and sanitizer included) as served, raw and gzipped;
- load: navigation start to the log-in form being shown (the modules loaded and run), over
  ``--loads`` fresh loads;
- ask: one person asks ``--runs`` questions in turn of the offline model; for each, the time
  from the click on Ask to the answer on screen, next to the workflow's own time for it
  (``created_at`` to ``answered_at``), and how many times the page asked the API about it;
  once with the live connection (answers pushed) and once without (the page polls);
- slow answers: ``--slow`` questions of a scripted model that answers after 6 s, and how long
  after the answer was stored (``answered_at``) it was on screen; pushed, then polled.

Usage: python -m bench.page_latency [--runs 20] [--loads 10] [--slow 5]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import statistics
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Browser, Page, Request, sync_playwright

from bench import percentile
from local import chromium, http
from local.child import DevProcess, dev_process
from local.scripted_openai import ScriptedOpenAI

QUESTIONS = [
    "O que é o Tesouro Selic?",
    "What is a CDB?",
    "Como funciona o come-cotas?",
    "How are stocks taxed in Brazil?",
    "O que é o FGC?",
]
PASSWORD = "correct horse battery"
SLOW_SECONDS = 6.0
SLOW_MARKER = "[six-seconds]"


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def _p95_ms(values: list[float]) -> str:
    return f"{percentile(values, 0.95) * 1000:.0f} ms"


def _median(values: Iterable[int]) -> str:
    return f"{statistics.median(values):.0f}"


def weight(page_url: str) -> dict[str, tuple[int, int]]:
    """(raw, gzipped) bytes of the page's own files and of the libraries it imports."""
    sizes: dict[str, tuple[int, int]] = {}
    pending = ["", "static/app.css", "static/app.js"]
    seen = set(pending)
    while pending:
        path = pending.pop()
        body = http.call("GET", page_url + path).body
        data = body.encode() if isinstance(body, str) else bytes(body or b"")
        sizes[path or "index.html"] = (len(data), len(gzip.compress(data)))
        if path.endswith(".js"):
            folder = path.rpartition("/")[0]
            for name in re.findall(r'^import .*?from "\./([^"]+)";', data.decode(), re.M | re.S):
                if f"{folder}/{name}" not in seen:
                    seen.add(f"{folder}/{name}")
                    pending.append(f"{folder}/{name}")
    return sizes


@dataclass
class Asked:
    on_screen: float  # click on Ask -> answer on screen
    workflow: float  # created_at -> answered_at
    after_ready: float  # answered_at -> answer on screen
    polls: int


class Asker:
    """One person in the page, asking one question after another."""

    def __init__(self, browser: Browser, dev: DevProcess, username: str, *, live: bool) -> None:
        self.dev = dev
        self.page: Page = browser.new_context().new_page()
        self.polls: dict[str, int] = {}
        self.page.on("request", self._count)
        if not live:  # no ticket, no live connection: the page polls
            self.page.route("**/api/v1/live/ticket", lambda route: route.abort())
        self.page.goto(f"{dev.api_url}/")
        self.page.click("#auth-switch")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        with self.page.expect_response(lambda r: "/auth/login" in r.url) as login:
            self.page.click("#auth-submit")
        self.tokens = login.value.json()  # the page keeps them in memory only
        self.page.wait_for_selector("#app-view:not([hidden])")
        if live:
            self.page.wait_for_selector("html[data-live=open]")
        self.asked = 0

    def _count(self, request: Request) -> None:
        parts = request.url.split("?")[0].rstrip("/").split("/")
        if request.method == "GET" and len(parts) >= 3 and parts[-3] == "questions":
            self.polls[parts[-1]] = self.polls.get(parts[-1], 0) + 1

    def ask(self, text: str) -> Asked:
        self.page.fill("#question", text)
        started = time.perf_counter()
        self.page.click("#ask")
        self.asked += 1
        self.page.wait_for_function(
            """(count) => {
                const turns = document.querySelectorAll('#thread > li.turn');
                return turns.length === count && turns[count - 1].dataset.status === 'answered';
            }""",
            arg=self.asked,
            polling="raf",
        )
        seen_at = time.time()
        on_screen = time.perf_counter() - started
        question_id = self.page.locator("#thread > li.turn").last.get_attribute("data-question-id")
        assert question_id
        item = http.call(
            "GET",
            f"{self.dev.api_url}/api/v1/questions/{self.tokens['session_id']}/{question_id}",
            token=self.tokens["access_token"],
        ).body
        created = datetime.fromisoformat(item["created_at"])
        answered = datetime.fromisoformat(item["answered_at"])
        return Asked(
            on_screen=on_screen,
            workflow=(answered - created).total_seconds(),
            after_ready=seen_at - answered.timestamp(),
            polls=self.polls.get(question_id, 0),
        )


def _dev_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AWS_", "TORO_"))}
    return {**env, "RATE_LIMIT_QUESTIONS_PER_MINUTE": "1000", **extra}


def run(runs: int, loads: int, slow: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="toro-page-"))
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        with dev_process(workdir / "offline.log", _dev_env({})) as dev:
            page_url = f"{dev.api_url}/"
            sizes = weight(page_url)
            load_times = []
            for _ in range(loads):
                context = browser.new_context()
                page = context.new_page()
                started = time.perf_counter()
                page.goto(page_url)
                page.wait_for_selector("#auth-view:not([hidden])")
                load_times.append(time.perf_counter() - started)
                context.close()
            fast: dict[str, list[Asked]] = {}
            for mode in ("push", "polling"):
                asker = Asker(browser, dev, f"bench-{mode}", live=mode == "push")
                fast[mode] = [asker.ask(QUESTIONS[n % len(QUESTIONS)]) for n in range(runs)]

        scripted = ScriptedOpenAI(slow_seconds=SLOW_SECONDS).start()
        scripted.script(SLOW_MARKER, ["slow"])
        env = _dev_env({"OPENAI_API_KEY": "bench-key", "OPENAI_BASE_URL": scripted.base_url})
        try:
            with dev_process(workdir / "scripted.log", env) as dev:
                slow_ones: dict[str, list[Asked]] = {}
                for mode in ("push", "polling"):
                    asker = Asker(browser, dev, f"bench-slow-{mode}", live=mode == "push")
                    slow_ones[mode] = [
                        asker.ask(f"{QUESTIONS[n % 5]} {SLOW_MARKER}") for n in range(slow)
                    ]
        finally:
            scripted.stop()
        browser.close()

    libraries = {name: size for name, size in sizes.items() if "/vendor/" in name}
    total = [sum(size[i] for size in sizes.values()) for i in (0, 1)]
    own = [sum(size[i] for name, size in sizes.items() if name not in libraries) for i in (0, 1)]
    print(
        f"page weight: {total[0] / 1024:.1f} KiB as served, {total[1] / 1024:.1f} KiB gzipped "
        f"({len(sizes)} files); its own {own[0] / 1024:.1f} / {own[1] / 1024:.1f} KiB, "
        f"the markdown libraries {(total[0] - own[0]) / 1024:.1f} / "
        f"{(total[1] - own[1]) / 1024:.1f} KiB"
    )
    print(f"page load to log-in form (interactive): median {_median_ms(load_times)} of {loads}")
    for mode in ("push", "polling"):
        asked = fast[mode]
        print(f"offline model, {mode}: {runs} questions asked in the page, one after another")
        screen = [a.on_screen for a in asked]
        flow = [a.workflow for a in asked]
        print(f"  click on Ask -> answer on screen: median {_median_ms(screen)}, ", end="")
        print(f"p95 {_p95_ms(screen)}")
        print(
            "  workflow's own time (created_at -> answered_at): "
            f"median {_median_ms(flow)}, p95 {_p95_ms(flow)}"
        )
        print(f"  status requests (GET) per question: median {_median(a.polls for a in asked)}")
    for mode in ("push", "polling"):
        asked = slow_ones[mode]
        print(f"a model that answers after {SLOW_SECONDS:.0f} s, {mode}: {slow} questions")
        print(
            f"  click on Ask -> answer on screen: median {_median_ms([a.on_screen for a in asked])}"
        )
        ready = [a.after_ready for a in asked]
        print(f"  answer stored -> on screen: median {_median_ms(ready)}, ", end="")
        print(f"max {max(ready) * 1000:.0f} ms")
        print(f"  status requests (GET) per question: median {_median(a.polls for a in asked)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--slow", type=int, default=5)
    args = parser.parse_args()
    run(args.runs, args.loads, args.slow)


if __name__ == "__main__":
    main()
