"""The API in-process (TestClient) against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from api.app import create_app
from local.provision import ANSWERS_TOPIC, QUESTIONS_TOPIC, create_tables

PASSWORD = "correct horse battery"


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of an error response."""
    body: dict[str, Any] = response.json()["error"]
    return body


@dataclass
class User:
    username: str
    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}

    @property
    def session_id(self) -> str:
        return str(self.tokens["session_id"])

    @property
    def user_id(self) -> str:
        """The subject of the user's access token (their id in the table's keys)."""
        claims = jwt.decode(self.tokens["access_token"], options={"verify_signature": False})
        return str(claims["sub"])


class Api:
    def __init__(self, client: TestClient, questions_queue_url: str) -> None:
        self.client = client
        self.questions_queue_url = questions_queue_url

    def user(self, username: str) -> User:
        registered = self.client.post(
            "/api/v1/auth/register", json={"username": username, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        return User(username, self.login(username))

    def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    def ask(self, user: User, text: str, session_id: str | None = None, **headers: str) -> Any:
        body = {"question": text, **({"session_id": session_id} if session_id else {})}
        return self.client.post("/api/v1/questions", json=body, headers={**user.headers, **headers})

    def published(self) -> list[dict[str, Any]]:
        """Messages the questions topic received (drains its capture queue)."""
        sqs = boto3.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            received = sqs.receive_message(
                QueueUrl=self.questions_queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not received:
                return messages
            for message in received:
                messages.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.questions_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def provision_api_resources() -> str:
    """Table and topics; returns the URL of a queue that captures the questions topic."""
    create_tables(boto3.client("dynamodb"))
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    questions_arn = sns.create_topic(Name=QUESTIONS_TOPIC)["TopicArn"]
    sns.create_topic(Name=ANSWERS_TOPIC)
    queue_url = sqs.create_queue(QueueName="questions-capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=questions_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        queue_url = provision_api_resources()
        monkeypatch.setenv(
            "QUESTIONS_TOPIC_ARN", f"arn:aws:sns:us-east-1:123456789012:{QUESTIONS_TOPIC}"
        )
        monkeypatch.setenv(
            "ANSWERS_TOPIC_ARN", f"arn:aws:sns:us-east-1:123456789012:{ANSWERS_TOPIC}"
        )
        yield queue_url


@pytest.fixture
def api(aws: str) -> Iterator[Api]:
    with TestClient(create_app()) as client:
        yield Api(client, aws)
