"""The web page as a person uses it, in Debian's Chromium against ``toro dev``.

Everything goes through the real system: the API, the embedded workflow, the offline model
(or, for failures, a scripted OpenAI-compatible server). Only the tests of network faults make
the browser's requests fail, which is the point of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, Page, Response, Route, expect

from core.steps import FAILURE_MESSAGES
from local import http
from local.scripted_openai import ScriptedOpenAI
from tests.browser.conftest import (
    ARTIFACTS,
    PASSWORD,
    Person,
    browsing,
    unique_username,
)
from tests.toro_dev import Dev


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
    # The sources are the API's structured list, numbered as the answer's [n] marks, linked.
    expect(card.locator(".sources li").first).to_contain_text("Tesouro Selic")
    expect(card.locator(".sources li a").first).to_have_attribute(
        "href", "https://www.tesourodireto.com.br/"
    )
    expect(card.locator(".answer p").first).to_contain_text("[1]")
    expect(card.locator(".chip")).to_have_text("Answered")

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

    person.log_in(username)
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
    # A notification leads to its question.
    page.locator("#inbox-list button").first.click()
    expect(page.locator("#inbox")).to_be_hidden()
    expect(person.cards.first).to_be_focused()


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
    page.keyboard.press("Control+Enter")  # a second try while the first is on its way
    assert len(held) == 1
    held[0].continue_()
    expect(person.ask_button).to_be_enabled()
    person.wait_until(person.cards.first, "answered")

    page.unroute("**/api/v1/questions")
    tokens = api_login(dev, username)
    listed = http.call("GET", f"{dev.api_url}/api/v1/questions", token=tokens["access_token"])
    assert [item["question"] for item in listed.body["items"]] == ["What is the FGC guarantee?"]


def test_history_is_newest_first_with_load_more(person: Person, dev: Dev) -> None:
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
    asked = [f"Question number {n} about dividends?" for n in range(1, 13)]
    for text in asked:
        response = http.call(
            "POST", f"{dev.api_url}/api/v1/questions", {"question": text}, tokens["access_token"]
        )
        assert response.status == 202, response.body

    page = person.open().page
    person.log_in(username)
    newest_first = list(reversed(asked))
    expect(person.cards.locator(".question-text")).to_have_text(newest_first[:10])
    more = page.get_by_role("button", name="Load more")
    more.click()
    expect(person.cards.locator(".question-text")).to_have_text(newest_first)
    expect(more).to_be_hidden()
    # The ones still on their way when the page loaded are followed to their answers too.
    for index in range(12):
        person.wait_until(person.cards.nth(index), "answered")


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
        expect(person.cards).to_have_count(2)
        again = person.cards.first
        expect(again.locator(".question-text")).to_have_text(text)
        person.wait_until(again, "answered")
        expect(again.locator(".answer")).to_contain_text("Scripted answer to:")
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
                }).observe(document.getElementById('history'), { childList: true });
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
        expect(page.get_by_role("heading", name="Entre ou crie uma conta")).to_be_visible()
        person.fill_credentials(unique_username("gil"), "short")
        page.get_by_role("button", name="Entrar", exact=True).click()
        expect(page.locator("#password-error")).to_contain_text("8 characters")
        person.register(unique_username("gil"))
        expect(person.question_field).to_have_attribute("placeholder", re.compile("^Ex\\.:"))
        card = person.ask("Quanto rende a poupança?")
        person.wait_until(card, "answered")
        expect(card.locator(".chip")).to_have_text("Respondida")
        expect(card.locator(".sources h3")).to_have_text("Fontes")


def test_wrong_credentials_and_a_taken_username_are_said_in_words(person: Person) -> None:
    page = person.open().page
    username = unique_username("hugo")
    person.fill_credentials(username)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator("#auth-error")).to_have_text("Wrong username or password.")

    person.register(username)
    person.log_out()
    person.fill_credentials(username.upper())
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#auth-error")).to_have_text("That username is taken; choose another.")


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
        expect(page.get_by_role("button", name="Create account")).to_be_focused()
        keyboard.press("Enter")
        expect(person.question_field).to_be_focused()
        keyboard.type("What is a debenture?")
        keyboard.press("Control+Enter")
        card = person.cards.first
        person.wait_until(card, "answered")

        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, "the page scrolls sideways at phone width"
        unlabeled = page.evaluate(
            """() => [...document.querySelectorAll('input, textarea, button')]
                .filter((el) => el.offsetParent !== null)
                .filter((el) => !(el.labels && el.labels.length)
                    && !(el.getAttribute('aria-label') || el.textContent.trim()))
                .map((el) => el.outerHTML)"""
        )
        assert unlabeled == []


def test_network_and_service_errors_are_shown_in_words(person: Person) -> None:
    page = person.open().page
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
    expect(other.locator("#history > li.question")).to_have_count(1)
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
        elif re.search(r"/api/v1/questions\?", response.url):
            statuses["history"].append(response.status)

    spoiled: list[str] = []

    def spoil_once(route: Route) -> None:
        if spoiled:
            route.continue_()
            return
        spoiled.append(route.request.url)
        route.continue_(headers={**route.request.headers, "authorization": "Bearer not-a-token"})

    page.on("response", note)
    page.route(re.compile(r"/api/v1/questions\?"), spoil_once)
    page.reload()
    expect(person.cards).to_have_count(1)
    expect(person.cards.first).to_have_attribute("data-status", "answered")
    # The history's first request was refused, the token renewed, the request repeated.
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
