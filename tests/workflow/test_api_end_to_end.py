"""The API in front of the running system: a question asked over HTTP comes back answered."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.workflow.conftest import Workflow

pytestmark = pytest.mark.workflow


def test_a_question_asked_through_the_api_is_answered(workflow: Workflow) -> None:
    with TestClient(create_app()) as client:
        credentials = {"username": "e2e-user", "password": "correct horse battery"}
        assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
        tokens = client.post("/api/v1/auth/login", json=credentials).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}

        asked = client.post(
            "/api/v1/questions", json={"question": "O que é LCI? [api-e2e]"}, headers=headers
        )
        assert asked.status_code == 202
        location = asked.headers["Location"]

        deadline = time.monotonic() + 30
        body = client.get(location, headers=headers).json()
        while body["status"] in ("pending", "processing") and time.monotonic() < deadline:
            time.sleep(0.1)
            body = client.get(location, headers=headers).json()

        assert body["status"] == "answered"
        assert body["answer"] == "Scripted answer to: O que é LCI? [api-e2e]"
        assert body["answered_at"] is not None
        assert workflow.openai.completions_billed("[api-e2e]") == 1

        deadline = time.monotonic() + 10
        notifications = client.get("/api/v1/notifications", headers=headers).json()
        while not notifications["items"] and time.monotonic() < deadline:
            time.sleep(0.1)
            notifications = client.get("/api/v1/notifications", headers=headers).json()
        assert notifications["unread_count"] == 1
        assert notifications["items"][0]["question_id"] == body["question_id"]
