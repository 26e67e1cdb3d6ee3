"""The web page in a real browser: Debian's Chromium driven by Playwright against ``toro dev``.

Playwright never downloads a browser here: it launches the system's Chromium (``local.chromium``:
``/usr/bin/chromium`` or ``$CHROMIUM``), which ``make test`` installs when it is missing.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright

from local import chromium
from local.scripted_openai import ScriptedOpenAI
from tests.toro_dev import Dev, running_dev

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# axe-core from the npm registry (package.json), evaluated in the page by the test driver (the
# page's CSP allows no script of anyone else's, and rightly so).
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct-horse-battery"
# An answer takes well under a second here; the margin is for a loaded machine.
ANSWER_TIMEOUT_MS = 30_000
_names = itertools.count(1)

expect.set_options(timeout=10_000)


def unique_username(prefix: str) -> str:
    return f"{prefix}{os.getpid() % 10_000}{next(_names)}"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = chromium.launch(playwright)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """The offline system, as ``make run`` starts it."""
    with running_dev(
        tmp_path_factory.mktemp("toro-dev-web"), {"RATE_LIMIT_QUESTIONS_PER_MINUTE": "100"}
    ) as started:
        yield started


@pytest.fixture(scope="session")
def scripted() -> Iterator[ScriptedOpenAI]:
    server = ScriptedOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scripted_dev(
    tmp_path_factory: pytest.TempPathFactory, scripted: ScriptedOpenAI
) -> Iterator[Dev]:
    """The system with a model that fails or flags on cue (a key configured, so moderation too)."""
    with running_dev(
        tmp_path_factory.mktemp("toro-dev-scripted"),
        {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": scripted.base_url},
    ) as started:
        yield started


@dataclass
class Person:
    """Someone using the page, in the words of what they see and do."""

    page: Page
    url: str
    lang: str = "en"
    errors: list[str] = field(default_factory=list)

    def open(self) -> Person:
        self.page.goto(self.url)
        return self

    def fill_credentials(self, username: str, password: str = PASSWORD) -> None:
        self.page.get_by_label(self.text("username")).fill(username)
        self.page.get_by_label(self.text("password"), exact=True).fill(password)

    def register(self, username: str, password: str = PASSWORD) -> None:
        self.page.get_by_role("button", name=self.text("to_signup")).click()
        self.fill_credentials(username, password)
        self.page.get_by_role("button", name=self.text("register")).click()
        expect(self.question_field).to_be_visible()

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.fill_credentials(username, password)
        self.page.get_by_role("button", name=self.text("login"), exact=True).click()
        expect(self.question_field).to_be_visible()

    def log_out(self) -> None:
        self.page.get_by_role("button", name=self.text("logout")).click()
        expect(self.page.get_by_role("button", name=self.text("login"), exact=True)).to_be_visible()

    @property
    def question_field(self) -> Locator:
        return self.page.get_by_label(self.text("question"), exact=True)

    @property
    def ask_button(self) -> Locator:
        return self.page.get_by_role("button", name=self.text("ask"), exact=True)

    @property
    def bell(self) -> Locator:
        return self.page.locator("#bell")

    @property
    def badge(self) -> Locator:
        return self.page.locator("#badge")

    def ask(self, text: str) -> Locator:
        """Ask in the conversation on screen; the new question's turn (the last one)."""
        self.question_field.fill(text)
        self.ask_button.click()
        card = self.cards.last
        expect(card.locator(".question-text")).to_have_text(text.strip())
        return card

    @property
    def cards(self) -> Locator:
        """The turns of the conversation on screen, oldest first."""
        return self.page.locator("#thread > li.turn")

    @property
    def conversations(self) -> Locator:
        return self.page.locator("#conversation-list button.conversation")

    def card_of(self, text: str) -> Locator:
        return self.cards.filter(has=self.page.locator(".question-text", has_text=text))

    def wait_until(self, card: Locator, status: str) -> None:
        expect(card).to_have_attribute("data-status", status, timeout=ANSWER_TIMEOUT_MS)

    def text(self, key: str) -> str:
        return LABELS[self.lang][key]


LABELS = {
    "en": {
        "username": "Username",
        "password": "Password",
        "login": "Log in",
        "register": "Create account",
        "to_signup": "New here? Create an account",
        "to_login": "Have an account? Log in",
        "logout": "Log out",
        "question": "Your question",
        "ask": "Ask",
        "retry": "Try again",
        "more": "Load more",
        "new": "New conversation",
    },
    "pt": {
        "username": "Nome de usuário",
        "password": "Senha",
        "login": "Entrar",
        "register": "Criar conta",
        "to_signup": "Primeira vez? Crie uma conta",
        "to_login": "Já tem conta? Entre",
        "logout": "Sair",
        "question": "Sua pergunta",
        "ask": "Perguntar",
        "retry": "Tentar de novo",
        "more": "Carregar mais",
        "new": "Nova conversa",
    },
}


def axe_violations(page: Page) -> list[dict[str, object]]:
    """What axe-core finds wrong with the page as it is now (WCAG 2.x A and AA rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, object]] = page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
            resultTypes: ["violations"],
        })).violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ")),
        }))"""
    )
    return found


@contextmanager
def browsing(
    browser: Browser, url: str, *, locale: str = "en-US", **options: object
) -> Iterator[Person]:
    """A person with a fresh browser profile on ``url``; the page must raise no uncaught error."""
    context = browser.new_context(locale=locale, **options)  # type: ignore[arg-type]
    page = context.new_page()
    someone = Person(page, url, lang=locale.split("-")[0])
    page.on("pageerror", lambda error: someone.errors.append(str(error)))
    try:
        yield someone
    finally:
        context.close()
    assert someone.errors == [], "the page raised uncaught errors"


@pytest.fixture
def person(browser: Browser, dev: Dev) -> Iterator[Person]:
    """A person on the offline system's page."""
    with browsing(browser, f"{dev.api_url}/") as someone:
        yield someone
