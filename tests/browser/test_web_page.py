"""The web page as a person uses it, in Debian's Chromium against ``toro dev``.

Everything goes through the real system: the API, the embedded workflow, the offline model
(or, for failures, a scripted OpenAI-compatible server). Only the tests of network faults make
the browser's requests fail, which is the point of them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Response, Route, expect

from core.steps import FAILURE_MESSAGES
from local import http
from local.dev import free_port
from local.scripted_openai import ScriptedOpenAI
from tests.browser.conftest import (
    ARTIFACTS,
    PASSWORD,
    Person,
    axe_violations,
    browsing,
    unique_username,
)
from tests.toro_dev import Dev, running_dev


def block_live_updates(page: Page) -> None:
    """No live connection: the page cannot get a ticket, so it polls."""
    page.route("**/api/v1/live/ticket", lambda route: route.abort("connectionrefused"))


def status_requests(page: Page) -> list[str]:
    """The GETs of single questions the page makes from now on (its polls)."""
    seen: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen.append(request.url)
            if request.method == "GET"
            and re.search(r"/api/v1/questions/[^/?]+/[^/?]+$", request.url)
            else None
        ),
    )
    return seen


def tokens_from_login(page: Page, log_in: Callable[[], None]) -> dict[str, Any]:
    """What the API answered the page's login (the page keeps it only in memory)."""
    with page.expect_response(re.compile(r"/api/v1/auth/login\?")) as logged_in:
        log_in()
    tokens: dict[str, Any] = logged_in.value.json()
    return tokens


def api_login(dev: Dev, username: str) -> dict[str, Any]:
    response = http.call(
        "POST", f"{dev.api_url}/api/v1/auth/login", {"username": username, "password": PASSWORD}
    )
    assert response.status == 200, response.body
    tokens: dict[str, Any] = response.body
    return tokens


def test_register_ask_follow_the_answer_read_the_notification_and_find_it_again(
    person: Person, dev: Dev
) -> None:
    page = person.open().page
    username = unique_username("ana")
    person.register(username)
    expect(page.locator("#who")).to_contain_text(username)
    expect(page.locator("#thread-empty")).to_be_visible()

    # An empty question: the API's own words, next to the field, and nothing is added.
    person.ask_button.click()
    expect(page.locator("#question-error")).to_have_text("The question is empty.")
    expect(person.question_field).to_have_attribute("aria-invalid", "true")
    expect(person.cards).to_have_count(0)

    question = "O que é o Tesouro Selic?"
    person.question_field.fill(question)
    expect(page.locator("#question-count")).to_have_text(f"{len(question)} / 2000")
    page.evaluate("window.sameDocument = true")
    card = person.ask(question)
    expect(page.locator("#question-error")).to_be_hidden()
    expect(person.question_field).to_have_value("")

    person.wait_until(card, "answered")
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"
    expect(card.locator(".answer p").first).to_contain_text("Selic")
    # The [1] mark is a link to the first source, which is the API's structured list.
    cite = card.locator(".answer a.cite").first
    expect(cite).to_have_text("[1]")
    expect(cite).to_have_attribute("aria-label", "Source 1: Tesouro Selic")
    source = card.locator(".sources li").first
    expect(source).to_have_text("Tesouro Selic")
    cite.click()
    assert page.evaluate("location.hash") == f"#{source.get_attribute('id')}"
    # The source opens its knowledge-base entry: title, body, review date, public page.
    source.get_by_role("button").click()
    entry = page.get_by_role("dialog", name="Tesouro Selic")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("pays the daily Selic rate")
    expect(entry.locator("#entry-reviewed")).to_have_text("Last reviewed November 29, 2026")
    expect(entry.get_by_role("link")).to_have_attribute("href", "https://www.tesourodireto.com.br/")
    page.keyboard.press("Escape")
    expect(entry).to_be_hidden()
    # The conversation is in the list, titled by its first question.
    expect(person.conversations).to_have_count(1)
    expect(person.conversations.first).to_contain_text(question)
    expect(person.conversations.first).to_have_attribute("aria-current", "true")

    # The notification that the answer is ready arrives on its own.
    expect(person.badge).to_have_text("1")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "answered.png", full_page=True)

    person.bell.click()
    expect(person.bell).to_have_attribute("aria-expanded", "true")
    notifications = page.locator("#inbox-list > li")
    expect(notifications).to_have_count(1)
    expect(notifications.first).to_contain_text("Your question has been answered.")
    expect(notifications.first).to_contain_text(question)
    expect(person.badge).to_be_hidden()
    expect(notifications.first).to_have_class("read")
    page.keyboard.press("Escape")
    expect(page.locator("#inbox")).to_be_hidden()
    expect(person.bell).to_be_focused()

    # Read on the server, not only on the page: a reload keeps the badge down.
    page.reload()
    expect(person.question_field).to_be_visible()
    expect(person.cards).to_have_count(1)
    expect(person.badge).to_be_hidden()
    tokens = api_login(dev, username)
    unread = http.call("GET", f"{dev.api_url}/api/v1/notifications", token=tokens["access_token"])
    assert unread.body["unread_count"] == 0

    person.log_out()
    assert page.evaluate("localStorage.getItem('toro.user')") is None
    expect(person.cards).to_have_count(0)
    expect(page.locator("#auth-info")).to_have_text("You have logged out.")

    # A new login is a new, empty conversation; the earlier one is in the list.
    person.log_in(username)
    expect(person.cards).to_have_count(0)
    person.conversations.filter(has_text=question).click()
    card = person.card_of(question)
    expect(card).to_have_attribute("data-status", "answered")
    expect(card.locator(".sources li")).not_to_have_count(0)


def test_the_badge_counts_each_answer_that_arrives(person: Person) -> None:
    page = person.open().page
    person.register(unique_username("bia"))
    first = person.ask("What is a CDB?")
    person.wait_until(first, "answered")
    expect(person.badge).to_have_text("1")
    second = person.ask("How is the Tesouro IPCA+ taxed?")
    person.wait_until(second, "answered")
    expect(person.badge).to_have_text("2")
    expect(person.bell).to_have_attribute("aria-label", re.compile(r"2 unread"))

    person.bell.click()
    expect(page.locator("#inbox-list > li")).to_have_count(2)
    expect(person.badge).to_be_hidden()
    # A notification leads to its question (the newest notification: the second question).
    page.locator("#inbox-list button").first.click()
    expect(page.locator("#inbox")).to_be_hidden()
    expect(second).to_be_focused()


def test_submit_is_disabled_while_sending_so_one_click_is_one_question(
    person: Person, dev: Dev
) -> None:
    page = person.open().page
    username = unique_username("caio")
    person.register(username)
    held: list[Route] = []
    page.route("**/api/v1/questions", lambda route: held.append(route))

    person.question_field.fill("What is the FGC guarantee?")
    person.ask_button.click()
    expect(page.get_by_role("button", name="Sending…")).to_be_disabled()
    person.question_field.press("Enter")  # a second try while the first is on its way
    assert len(held) == 1
    held[0].continue_()
    expect(person.ask_button).to_be_enabled()
    person.wait_until(person.cards.last, "answered")

    page.unroute("**/api/v1/questions")
    tokens = api_login(dev, username)
    listed = http.call("GET", f"{dev.api_url}/api/v1/questions", token=tokens["access_token"])
    assert [item["question"] for item in listed.body["items"]] == ["What is the FGC guarantee?"]


def test_a_long_conversation_shows_its_newest_page_in_time_order_and_earlier_on_demand(
    person: Person, dev: Dev
) -> None:
    username = unique_username("duda")
    assert (
        http.call(
            "POST",
            f"{dev.api_url}/api/v1/auth/register",
            {"username": username, "password": PASSWORD},
        ).status
        == 201
    )
    tokens = api_login(dev, username)
    asked = [f"Question number {n} about dividends?" for n in range(1, 24)]
    for text in asked:
        response = http.call(
            "POST", f"{dev.api_url}/api/v1/questions", {"question": text}, tokens["access_token"]
        )
        assert response.status == 202, response.body

    page = person.open().page
    person.log_in(username)
    expect(person.conversations).to_have_count(2)  # this login's, and the one asked in
    person.conversations.filter(has_text=asked[0]).click()
    expect(person.cards.locator(".question-text")).to_have_text(asked[3:])
    earlier = page.get_by_role("button", name="Load earlier questions")
    earlier.click()
    expect(person.cards.locator(".question-text")).to_have_text(asked)
    expect(earlier).to_be_hidden()
    # The ones still on their way when the page loaded are followed to their answers too.
    for index in range(len(asked)):
        person.wait_until(person.cards.nth(index), "answered")


def test_a_follow_up_new_conversations_and_switching_between_them(person: Person) -> None:
    page = person.open().page
    person.register(unique_username("otto"))
    first = person.ask("O que é uma LCI?")
    person.wait_until(first, "answered")
    follow_up = person.ask("E eu pago imposto nela?")
    person.wait_until(follow_up, "answered")
    # The follow-up is answered about the LCI: the conversation travelled with it.
    expect(follow_up.locator(".answer")).to_contain_text("LCI")

    page.get_by_role("button", name="New conversation").click()
    expect(person.cards).to_have_count(0)
    expect(person.question_field).to_be_focused()
    other = person.ask("What is a CDB?")
    person.wait_until(other, "answered")
    expect(person.conversations).to_have_count(2)
    expect(person.conversations.first).to_contain_text("What is a CDB?")
    expect(person.conversations.first).to_have_attribute("aria-current", "true")

    person.conversations.filter(has_text="O que é uma LCI?").click()
    expect(person.cards.locator(".question-text")).to_have_text(
        ["O que é uma LCI?", "E eu pago imposto nela?"]
    )
    expect(person.conversations.filter(has_text="O que é uma LCI?")).to_have_attribute(
        "aria-current", "true"
    )
    # Asking here continues this conversation, not the newest one.
    third = person.ask("Qual o prazo mínimo dela?")
    person.wait_until(third, "answered")
    expect(person.cards).to_have_count(3)
    expect(person.conversations.first).to_contain_text("O que é uma LCI?")


def test_a_failed_question_says_why_and_try_again_answers_it(
    browser: Browser, scripted_dev: Dev, scripted: ScriptedOpenAI
) -> None:
    marker = "[refused-once]"
    scripted.script(marker, ["auth", "ok"])
    with browsing(browser, f"{scripted_dev.api_url}/") as person:
        person.open()
        person.register(unique_username("eva"))
        text = f"Should I buy index funds? {marker}"
        failed = person.ask(text)
        person.wait_until(failed, "failed")
        expect(failed.locator(".chip")).to_have_text("Failed")
        expect(failed.locator(".reason")).to_contain_text("Why:")
        # The stored reason is in the project's fixed words, never the provider's text.
        expect(failed.locator(".reason")).to_contain_text(FAILURE_MESSAGES["LLMAuthError"])
        expect(failed.locator(".reason")).not_to_contain_text(re.compile("api key", re.I))

        failed.get_by_role("button", name="Try again").click()
        # The same question tries again, in place: no second question in the conversation.
        person.wait_until(failed, "answered")
        expect(person.cards).to_have_count(1)
        expect(failed.locator(".answer")).to_contain_text("Scripted answer to:")
        assert len(scripted.calls_for(marker)) == 2


def test_a_question_shows_pending_then_processing_then_its_answer(
    browser: Browser, scripted_dev: Dev, scripted: ScriptedOpenAI
) -> None:
    marker = "[takes-a-while]"
    scripted.script(marker, ["slow"])  # the model answers after a few seconds
    with browsing(browser, f"{scripted_dev.api_url}/") as person:
        page = person.open().page
        person.register(unique_username("nina"))
        page.evaluate(
            """() => {
                window.statusesSeen = [];
                new MutationObserver((changes) => {
                    for (const change of changes)
                        for (const added of change.addedNodes)
                            window.statusesSeen.push(added.dataset.status);
                }).observe(document.getElementById('thread'), { childList: true });
            }"""
        )
        card = person.ask(f"Is a fixed-income fund safe? {marker}")
        expect(card.locator(".chip")).to_have_text("Being answered")
        expect(card).to_have_attribute("aria-busy", "true")
        person.wait_until(card, "answered")
        expect(card).to_have_attribute("aria-busy", "false")
        assert page.evaluate("window.statusesSeen") == ["pending", "processing", "answered"]


def test_a_rejected_question_says_why(
    browser: Browser, scripted_dev: Dev, scripted: ScriptedOpenAI
) -> None:
    marker = "[flag-this]"
    scripted.flag(marker)
    with browsing(browser, f"{scripted_dev.api_url}/", locale="pt-BR") as person:
        person.open()
        person.register(unique_username("fabio"))
        card = person.ask(f"Como faço isso? {marker}")
        person.wait_until(card, "rejected")
        expect(card.locator(".chip")).to_have_text("Não aceita")
        expect(card.locator(".reason")).to_contain_text("Motivo:")
        expect(card.locator(".reason")).to_contain_text(re.compile("moderat|flag", re.I))
        expect(card.get_by_role("button", name="Tentar de novo")).to_be_visible()


def test_portuguese_browsers_get_portuguese_text(browser: Browser, dev: Dev) -> None:
    with browsing(browser, f"{dev.api_url}/", locale="pt-BR") as person:
        page = person.open().page
        expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
        expect(page.get_by_role("heading", name="Entrar")).to_be_visible()
        person.fill_credentials(unique_username("gil"), "short")
        page.get_by_role("button", name="Entrar", exact=True).click()
        expect(page.locator("#password-error")).to_contain_text("8 characters")
        person.register(unique_username("gil"))
        expect(person.question_field).to_have_attribute("placeholder", re.compile("^Ex\\.:"))
        card = person.ask("Quanto rende a poupança?")
        person.wait_until(card, "answered")
        expect(card.locator(".sources h3")).to_have_text("Fontes")
        expect(card.get_by_role("button", name="Boa resposta")).to_be_visible()
        card.locator(".sources button").first.click()
        expect(page.locator("#entry-body")).to_contain_text("poupança")
        expect(page.locator("#entry-reviewed")).to_contain_text("Revisado em")


def test_wrong_credentials_and_a_taken_username_are_said_in_words(person: Person) -> None:
    page = person.open().page
    username = unique_username("hugo")
    person.fill_credentials(username)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator("#auth-error")).to_have_text("Wrong username or password.")

    person.register(username)
    person.log_out()
    page.get_by_role("button", name="New here? Create an account").click()
    person.fill_credentials(username.upper())
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#auth-error")).to_have_text("That username is taken; choose another.")


def test_sign_up_is_its_own_mode_and_enter_submits_it(person: Person) -> None:
    page = person.open().page
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("autocomplete", "current-password")
    page.get_by_role("button", name="New here? Create an account").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    expect(password).to_have_attribute("autocomplete", "new-password")
    expect(page.get_by_role("button", name="Log in", exact=True)).to_have_count(0)
    # A new person types a name and a password and presses Enter: an account, not a refusal.
    username = unique_username("nara")
    person.fill_credentials(username)
    password.press("Enter")
    expect(person.question_field).to_be_visible()
    expect(page.locator("#who")).to_contain_text(username)
    person.log_out()
    # Back in log-in mode; switching modes clears what the last attempt said.
    expect(password).to_have_attribute("autocomplete", "current-password")
    page.get_by_role("button", name="New here? Create an account").click()
    page.get_by_role("button", name="Have an account? Log in").click()
    expect(page.locator("#auth-info")).to_be_hidden()
    person.log_in(username)


def test_on_a_phone_with_only_the_keyboard(browser: Browser, dev: Dev) -> None:
    with browsing(
        browser, f"{dev.api_url}/", viewport={"width": 360, "height": 740}, has_touch=True
    ) as person:
        page = person.open().page
        keyboard = page.keyboard
        expect(page.locator("#username")).to_be_focused()
        keyboard.type(unique_username("iris"))
        keyboard.press("Tab")
        keyboard.type(PASSWORD)
        keyboard.press("Tab")
        expect(page.get_by_role("button", name="Log in", exact=True)).to_be_focused()
        keyboard.press("Tab")
        expect(page.get_by_role("button", name="New here? Create an account")).to_be_focused()
        keyboard.press("Enter")
        expect(page.locator("#username")).to_be_focused()  # the fields keep what was typed
        keyboard.press("Tab")
        keyboard.press("Enter")
        expect(person.question_field).to_be_focused()
        # No Ctrl key on a phone: the keyboard hint is not shown there.
        expect(page.locator("#question-hint")).not_to_be_visible()

        # Shift+Enter adds a line and the box grows; Enter sends.
        before = person.question_field.bounding_box()
        keyboard.type("What is a debenture?")
        keyboard.press("Shift+Enter")
        keyboard.type("And how is it taxed?")
        expect(person.question_field).to_have_value("What is a debenture?\nAnd how is it taxed?")
        grown = person.question_field.bounding_box()
        assert before and grown and grown["height"] > before["height"]
        keyboard.press("Enter")
        card = person.cards.last
        person.wait_until(card, "answered")
        expect(person.question_field).to_have_value("")
        for n in range(3):
            person.wait_until(person.ask(f"Is a fund number {n} taxed?"), "answered")

        # The composer stays on screen at the bottom, below the newest answer.
        box = page.locator("#composer").bounding_box()
        assert box and box["y"] + box["height"] <= 740 + 1
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, "the page scrolls sideways at phone width"

        # The conversations are a drawer: opened from the keyboard, closed with Escape.
        drawer = page.locator("#conversations")
        expect(drawer).to_be_hidden()
        page.get_by_role("button", name="Conversations").focus()
        keyboard.press("Enter")
        expect(drawer).to_be_visible()
        expect(page.get_by_role("button", name="Conversations")).to_have_attribute(
            "aria-expanded", "true"
        )
        keyboard.press("Escape")
        expect(drawer).to_be_hidden()
        expect(page.get_by_role("button", name="Conversations")).to_be_focused()

        unlabeled = page.evaluate(
            """() => [...document.querySelectorAll('input, textarea, button')]
                .filter((el) => el.offsetParent !== null)
                .filter((el) => !(el.labels && el.labels.length)
                    && !(el.getAttribute('aria-label') || el.textContent.trim()))
                .map((el) => el.outerHTML)"""
        )
        assert unlabeled == []


def test_network_and_service_errors_are_shown_in_words(person: Person) -> None:
    page = person.page
    block_live_updates(page)  # following an answer by polling, whose faults are shown
    person.open()
    person.register(unique_username("joao"))

    page.route("**/api/v1/questions", lambda route: route.abort("internetdisconnected"))
    person.question_field.fill("Is gold a good hedge?")
    person.ask_button.click()
    expect(page.locator("#question-error")).to_have_text(
        "Could not reach the service. Check your connection and try again."
    )
    expect(person.question_field).to_have_value("Is gold a good hedge?")
    page.unroute("**/api/v1/questions")

    body = {"error": {"code": "publish_failed", "message": "Try later.", "details": []}}
    page.route(
        "**/api/v1/questions",
        lambda route: route.fulfill(status=503, json=body, headers={"Retry-After": "5"}),
    )
    person.ask_button.click()
    expect(page.locator("#question-error")).to_contain_text("The service is having trouble")
    page.unroute("**/api/v1/questions")

    # While following a question, a lost connection is said, retried, and cleared when back.
    page.route("**/api/v1/questions/*/*", lambda route: route.abort("internetdisconnected"))
    card = person.ask("Is gold a good hedge?")
    expect(page.locator("#banner")).to_contain_text("Could not reach the service; trying again")
    page.unroute("**/api/v1/questions/*/*")
    person.wait_until(card, "answered")
    expect(page.locator("#banner")).to_be_hidden()


def test_no_token_is_within_a_scripts_reach_and_a_reload_keeps_the_session(
    person: Person, browser: Browser
) -> None:
    page = person.open().page
    tokens = tokens_from_login(page, lambda: person.register(unique_username("iara")))
    assert tokens["refresh_token"] is None  # the page asked for the cookie instead
    stored = page.evaluate(
        "JSON.stringify([{...localStorage}, {...sessionStorage}, document.cookie])"
    )
    assert tokens["access_token"] not in stored and "eyJ" not in stored
    [cookie] = [c for c in page.context.cookies() if c["name"] == "toro_refresh"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth/refresh"

    person.wait_until(person.ask("What is an ETF?"), "answered")
    with page.expect_response(re.compile(r"/api/v1/auth/refresh\?")) as resumed:
        page.reload()
    assert resumed.value.status == 200
    expect(person.cards).to_have_count(1)
    # A second tab of the same browser is logged in as well (the cookie is the browser's).
    other = page.context.new_page()
    other.goto(person.url)
    expect(other.locator("#thread > li.turn")).to_have_count(1)
    other.close()


def test_tokens_are_refreshed_before_they_expire(person: Person) -> None:
    page = person.page
    page.clock.install()
    person.open()
    before = tokens_from_login(page, lambda: person.register(unique_username("kai")))

    with page.expect_response(re.compile(r"/api/v1/auth/refresh\?")) as refreshed:
        page.clock.fast_forward("14:30")  # the access token lives 15 minutes
    assert refreshed.value.status == 200
    after = refreshed.value.json()
    assert after["session_id"] == before["session_id"]
    assert after["access_token"] != before["access_token"]
    with page.expect_request(re.compile(r"/api/v1/questions$")) as asked:
        card = person.ask("What is a stock split?")
    assert asked.value.headers["authorization"] == f"Bearer {after['access_token']}"
    person.wait_until(card, "answered")


def test_a_refused_access_token_is_renewed_and_the_request_repeated(person: Person) -> None:
    page = person.open().page
    person.register(unique_username("lia"))
    person.wait_until(person.ask("What is an ETF?"), "answered")
    statuses: dict[str, list[int]] = {"refresh": [], "history": []}

    def note(response: Response) -> None:
        if "/auth/refresh" in response.url:
            statuses["refresh"].append(response.status)
        elif re.search(r"/api/v1/questions/[^/?]+\?", response.url):
            statuses["history"].append(response.status)

    spoiled: list[str] = []

    def spoil_once(route: Route) -> None:
        if spoiled:
            route.continue_()
            return
        spoiled.append(route.request.url)
        route.continue_(headers={**route.request.headers, "authorization": "Bearer not-a-token"})

    page.on("response", note)
    page.route(re.compile(r"/api/v1/questions/[^/?]+\?"), spoil_once)
    page.reload()
    expect(person.cards).to_have_count(1)
    expect(person.cards.first).to_have_attribute("data-status", "answered")
    # The conversation's first request was refused, the token renewed, the request repeated.
    assert statuses["history"][:2] == [401, 200]
    assert statuses["refresh"] == [200, 200]  # the reload's, then the renewal


def test_a_session_ended_elsewhere_sends_the_person_back_to_log_in(
    person: Person, dev: Dev
) -> None:
    page = person.open().page
    tokens = tokens_from_login(page, lambda: person.register(unique_username("maya")))
    ended = http.call("POST", f"{dev.api_url}/api/v1/auth/logout", token=tokens["access_token"])
    assert ended.status == 204
    page.reload()
    expect(page.locator("#auth-error")).to_have_text("Your session has ended. Please log in again.")
    assert page.evaluate("localStorage.getItem('toro.user')") is None


def test_toro_dev_says_where_the_page_is(dev: Dev) -> None:
    banner = dev.log.read_text()
    assert re.search(rf"Web page\s+{re.escape(dev.api_url)}/\s", banner), banner[:2000]


MARKDOWN_ANSWER = """The **Tesouro Selic** is *floating rate* [1].

- daily liquidity
- IOF in the first 30 days

1. buy
2. hold

| term | income tax |
|---|---|
| up to 180 days | 22.5% |
| over 720 days | 15% |

Use `pip install` or:

```
print("hello")
```

See [the treasury](https://www.tesourodireto.com.br/)."""

HOSTILE_ANSWER = """Hello <script>window.pwned = "script"</script>
<img src="x" onerror="window.pwned = 'img'">
<a href="javascript:window.pwned='href'">click me</a>
[markdown link](javascript:window.pwned='md')
![tracker](https://evil.example/pixel.png)
<iframe src="https://evil.example/"></iframe>
<svg onload="window.pwned='svg'"></svg>
<b onclick="window.pwned='click'">bold</b> [9] [1]"""


def test_answers_are_rendered_markdown_and_model_output_never_becomes_markup(
    browser: Browser, scripted_dev: Dev, scripted: ScriptedOpenAI
) -> None:
    scripted.reply("[markdown-please]", MARKDOWN_ANSWER)
    scripted.reply("[hostile-please]", HOSTILE_ANSWER)
    with browsing(browser, f"{scripted_dev.api_url}/") as person:
        page = person.open().page
        person.register(unique_username("rita"))
        card = person.ask("O que é o Tesouro Selic? [markdown-please]")
        person.wait_until(card, "answered")
        answer = card.locator(".answer")
        expect(answer.locator("strong")).to_have_text("Tesouro Selic")
        expect(answer.locator("em")).to_have_text("floating rate")
        expect(answer.locator("ul > li")).to_have_text(
            ["daily liquidity", "IOF in the first 30 days"]
        )
        expect(answer.locator("ol > li")).to_have_text(["buy", "hold"])
        expect(answer.locator("table th")).to_have_text(["term", "income tax"])
        expect(answer.locator("table tbody tr")).to_have_count(2)
        expect(answer.locator("p code")).to_have_text("pip install")
        expect(answer.locator("pre code")).to_have_text('print("hello")')
        link = answer.get_by_role("link", name="the treasury")
        expect(link).to_have_attribute("href", "https://www.tesourodireto.com.br/")
        expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        expect(link).to_have_attribute("target", "_blank")
        expect(answer.locator("a.cite")).to_have_text(["[1]"])
        assert "**" not in (answer.text_content() or "")

        hostile = person.ask("Qualquer coisa? [hostile-please]")
        person.wait_until(hostile, "answered")
        answer = hostile.locator(".answer")
        # Raw HTML is shown as the text it is; nothing of it became an element.
        expect(answer).to_contain_text('<script>window.pwned = "script"</script>')
        for tag in ("script", "img", "iframe", "svg", "b", "[onerror]", "[onclick]", "[onload]"):
            expect(answer.locator(tag)).to_have_count(0)
        # Links only to http(s): the javascript: ones are text, not links.
        for name in ("click me", "markdown link"):
            expect(answer.get_by_role("link", name=name)).to_have_count(0)
        expect(answer.locator("a[href^='javascript']")).to_have_count(0)
        answer.get_by_text("bold", exact=False).first.click()
        # [9] is not a source of this answer: no link; [1] is.
        expect(answer.locator("a.cite")).to_have_count(
            1 if hostile.locator(".sources li").count() else 0
        )
        page.wait_for_timeout(300)
        assert page.evaluate("window.pwned") is None


def test_copy_and_rate_an_answer_stored_through_the_api(browser: Browser, dev: Dev) -> None:
    with browsing(browser, f"{dev.api_url}/") as person:
        page = person.open().page
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        username = unique_username("saulo")
        person.register(username)
        card = person.ask("O que é o Tesouro Selic?")
        person.wait_until(card, "answered")

        card.get_by_role("button", name="Copy").click()
        expect(card.locator(".feedback-status")).to_have_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("O Tesouro Selic (LFT)") and "<" not in copied

        bad = card.get_by_role("button", name="Bad answer")
        bad.click()
        expect(bad).to_have_attribute("aria-pressed", "true")
        comment = card.get_by_label("What was good or wrong? (optional)")
        expect(comment).to_be_focused()
        comment.fill("It does not say how much it yields today.")
        card.get_by_role("button", name="Send").click()
        expect(card.locator(".feedback-status")).to_have_text("Thank you for your feedback.")
        expect(comment).to_be_hidden()

        tokens = api_login(dev, username)
        question_id = card.get_attribute("data-question-id")
        listed = http.call("GET", f"{dev.api_url}/api/v1/questions", token=tokens["access_token"])
        [stored] = [i for i in listed.body["items"] if i["question_id"] == question_id]
        assert stored["feedback"]["rating"] == "down"
        assert stored["feedback"]["comment"] == "It does not say how much it yields today."

        # Changing one's mind, without a comment; a reload shows the rating given.
        good = card.get_by_role("button", name="Good answer")
        good.click()
        expect(good).to_have_attribute("aria-pressed", "true")
        expect(bad).to_have_attribute("aria-pressed", "false")
        card.get_by_role("button", name="No comment").click()
        page.reload()
        card = person.cards.last
        expect(card.get_by_role("button", name="Good answer")).to_have_attribute(
            "aria-pressed", "true"
        )
        listed = http.call("GET", f"{dev.api_url}/api/v1/questions", token=tokens["access_token"])
        [stored] = [i for i in listed.body["items"] if i["question_id"] == question_id]
        assert stored["feedback"]["rating"] == "up"


def test_customers_see_no_model_names_or_timings(person: Person) -> None:
    person.open()
    person.register(unique_username("teo"))
    card = person.ask("What is a CDB?")
    person.wait_until(card, "answered")
    details = card.locator("details.details")
    expect(details).not_to_have_attribute("open", "")
    assert "toro-offline" not in card.inner_text()
    assert not re.search(r"\d+ ms\b", card.inner_text())
    details.locator("summary").click()
    expect(details).to_contain_text("toro-offline")


def test_one_timer_per_question_no_duplicate_or_stray_requests(
    browser: Browser, scripted_dev: Dev, scripted: ScriptedOpenAI
) -> None:
    marker = "[count-my-requests]"
    scripted.script(marker, ["slow"])  # waiting, then being answered, then answered
    with browsing(browser, f"{scripted_dev.api_url}/") as person:
        page = person.page
        block_live_updates(page)  # polling is what is counted here
        person.open()
        person.register(unique_username("ugo"))
        polls: list[tuple[float, str]] = []

        def note(request: Any) -> None:
            if re.search(r"/api/v1/questions/[^/?]+/[^/?]+$", request.url):
                polls.append((page.evaluate("performance.now()"), request.url))

        page.on("request", note)
        card = person.ask(f"Is a fixed-income fund safe? {marker}")
        person.wait_until(card, "answered")
        at_answer = len(polls)
        page.wait_for_timeout(2_000)
        # Nothing after the answer is on screen; one question, one URL; never two at once.
        assert len(polls) == at_answer
        assert {url for _, url in polls} == {polls[0][1]}
        gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(polls)]
        assert gaps and min(gaps) >= 200, gaps
        # The screen reader hears the outcome once.
        expect(page.locator("#announcer")).to_have_text(re.compile("Answered"))
        announced = page.evaluate("document.getElementById('announcer').textContent")
        assert announced.count("Answered") == 1


def test_tabs_of_one_browser_share_the_session_and_a_logout(person: Person) -> None:
    page = person.open().page
    person.register(unique_username("vera"))
    person.wait_until(person.ask("What is an ETF?"), "answered")
    other = page.context.new_page()
    other.on("pageerror", lambda error: person.errors.append(str(error)))
    other.goto(person.url)
    expect(other.locator("#thread > li.turn")).to_have_count(1)
    person.log_out()
    expect(other.locator("#auth-info")).to_have_text("You have logged out.")
    expect(other.locator("#app-view")).to_be_hidden()
    other.close()


def test_no_accessibility_violations_logged_out_and_in_a_conversation(
    browser: Browser, dev: Dev
) -> None:
    for size, scheme in (
        ({"width": 1280, "height": 800}, "light"),
        ({"width": 360, "height": 740}, "dark"),
    ):
        with browsing(browser, f"{dev.api_url}/", viewport=size, color_scheme=scheme) as person:
            page = person.open().page
            expect(page.locator("#username")).to_be_visible()
            assert axe_violations(page) == [], f"logged out, {size['width']} px, {scheme}"
            person.register(unique_username("wil"))
            card = person.ask("O que é o Tesouro Selic?")
            person.wait_until(card, "answered")
            card.get_by_role("button", name="Bad answer").click()
            assert axe_violations(page) == [], f"conversation, {size['width']} px, {scheme}"


def test_the_two_languages_have_the_same_words(person: Person) -> None:
    page = person.open().page
    catalogue = page.evaluate(
        "async () => (await import(new URL('static/i18n.js', document.baseURI))).catalogue()"
    )
    assert len(catalogue) > 50
    missing = {key: texts for key, texts in catalogue.items() if not all(texts.values())}
    assert missing == {}
    placeholders = {
        key: texts
        for key, texts in catalogue.items()
        if set(re.findall(r"\{\w+\}", texts["en"])) != set(re.findall(r"\{\w+\}", texts["pt"]))
    }
    assert placeholders == {}


def test_a_new_answer_is_scrolled_to_unless_the_person_scrolled_up(
    browser: Browser, scripted_dev: Dev, scripted: ScriptedOpenAI
) -> None:
    marker = "[scroll-while-waiting]"
    scripted.script(marker, ["slow"])
    with browsing(
        browser,
        f"{scripted_dev.api_url}/",
        viewport={"width": 800, "height": 600},
        reduced_motion="reduce",  # scrolling is instant, so positions can be read at once
    ) as person:
        page = person.open().page
        person.register(unique_username("yara"))
        for n in range(4):
            person.wait_until(person.ask(f"What is fund number {n}?"), "answered")
        assert page.evaluate("document.documentElement.scrollHeight > 2 * innerHeight")

        def at_bottom() -> bool:
            return bool(
                page.evaluate("innerHeight + scrollY >= document.documentElement.scrollHeight - 2")
            )

        # At the bottom when the answer comes: the page follows it down.
        waiting = person.ask(f"Is a fixed-income fund safe? {marker}")
        expect(waiting.locator(".chip")).to_be_visible()
        before = page.evaluate("window.scrollY")
        person.wait_until(waiting, "answered")
        page.wait_for_function("(y) => window.scrollY > y", arg=before)
        assert at_bottom()
        expect(waiting.locator(".answer")).to_be_in_viewport()

        # Scrolled up to read: the page stays where the person is.
        later = person.ask(f"Is a debenture safe? {marker}")
        page.evaluate("window.scrollTo(0, 0)")
        person.wait_until(later, "answered")
        page.wait_for_timeout(500)
        assert page.evaluate("window.scrollY") == 0
        expect(later.locator(".answer")).not_to_be_in_viewport()


def test_answers_are_pushed_live_with_no_polling(browser: Browser, dev: Dev) -> None:
    with browsing(browser, f"{dev.api_url}/") as person:
        page = person.open().page
        person.register(unique_username("zeca"))
        expect(page.locator("html")).to_have_attribute("data-live", "open")
        polls = status_requests(page)
        card = person.ask("O que é o Tesouro Selic?")
        person.wait_until(card, "answered")
        expect(card.locator(".answer")).to_contain_text("Selic")
        expect(card.locator(".sources li").first).to_have_text("Tesouro Selic")
        second = person.ask("What is a CDB?")
        person.wait_until(second, "answered")
        assert polls == []
        # Shown once each, in order: no question twice.
        expect(person.cards).to_have_count(2)


def test_with_no_live_connection_the_page_polls(browser: Browser, dev: Dev) -> None:
    with browsing(browser, f"{dev.api_url}/") as person:
        page = person.page
        block_live_updates(page)
        person.open()
        person.register(unique_username("zilda"))
        polls = status_requests(page)
        card = person.ask("O que é o Tesouro Selic?")
        person.wait_until(card, "answered")
        assert polls, "the answer came without a connection or a poll"
        expect(page.locator("html")).not_to_have_attribute("data-live", "open")


def test_the_page_reconnects_after_toro_dev_restarts(browser: Browser, tmp_path: Path) -> None:
    ports = (free_port(), free_port())
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        with running_dev(tmp_path, ports=ports) as dev:
            person = Person(page, f"{dev.api_url}/")
            person.open()
            person.register(unique_username("zuza"))
            expect(page.locator("html")).to_have_attribute("data-live", "open")
        expect(page.locator("html")).to_have_attribute("data-live", "closed")
        with running_dev(tmp_path, ports=ports, log_name="again.log"):
            expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=30_000)
            polls = status_requests(page)
            card = person.ask("What is a CDB?")
            person.wait_until(card, "answered")
            assert polls == []
    finally:
        context.close()
    assert errors == []
