"""The page keeps its live connection open: API Gateway closes a WebSocket connection with no
message either way for 10 minutes, so the page sends a small keepalive every 5 minutes while
the connection is open (api/web/static/live.js), which the stage answers with nothing."""

from __future__ import annotations

import json

from playwright.sync_api import Browser, expect

from tests.browser.conftest import browsing, unique_username
from tests.toro_dev import Dev

KEEPALIVE = json.dumps({"action": "keepalive"}, separators=(",", ":"))


def test_the_open_connection_sends_a_keepalive_every_five_minutes(
    browser: Browser, dev: Dev
) -> None:
    with browsing(browser, f"{dev.api_url}/") as person:
        page = person.page
        page.clock.install()
        person.open()
        with page.expect_websocket() as opened:
            person.register(unique_username("kit"))
        socket = opened.value
        sent: list[str | bytes] = []
        socket.on("framesent", lambda payload: sent.append(payload))
        expect(page.locator("html")).to_have_attribute("data-live", "open")

        page.clock.run_for("04:50")
        page.evaluate("1")  # a round trip, so that a frame sent by now has been reported
        assert sent == []
        with socket.expect_event("framesent") as first:
            page.clock.run_for("00:20")
        assert first.value == KEEPALIVE
        with socket.expect_event("framesent") as second:
            page.clock.run_for("05:00")
        assert second.value == KEEPALIVE
        assert sent == [KEEPALIVE, KEEPALIVE]

        # The connection is the same one, and still carries the answers.
        expect(page.locator("html")).to_have_attribute("data-live", "open")
        assert not socket.is_closed()
        card = person.ask("What is a CDB?")
        person.wait_until(card, "answered")
        assert sent == [KEEPALIVE, KEEPALIVE]
