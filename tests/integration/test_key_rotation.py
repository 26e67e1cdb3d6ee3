"""A new OpenAI key reaches warm functions: within the secret cache's life, and at once after
the model refused the old one (the client is no longer built once per container)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from core import llm, reset
from core.errors import DependencyUnavailable, LLMAuthError
from local.scripted_openai import ScriptedOpenAI

SECRET = "toro/test/openai-api-key"
MESSAGES = [{"role": "user", "content": "O que é o Tesouro Selic?"}]


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOpenAI]:
    server = ScriptedOpenAI().start()
    with mock_aws():
        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString="sk-old")
        monkeypatch.setenv("OPENAI_API_KEY_SECRET_NAME", SECRET)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        reset.clear_caches()
        yield server
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        reset.clear_caches()
    server.stop()


def rotate(value: str) -> None:
    boto3.client("secretsmanager").put_secret_value(SecretId=SECRET, SecretString=value)


def test_a_refused_key_is_read_again_at_once(model: ScriptedOpenAI) -> None:
    model.accepted_keys = frozenset({"sk-new"})  # the old key was revoked
    with pytest.raises(LLMAuthError):
        llm.get_llm_client().complete(MESSAGES)
    rotate("sk-new")  # the operator sets the new key; the 5-minute cache still holds the old
    reply = llm.get_llm_client().complete(MESSAGES)
    assert reply.content.startswith("Scripted answer")
    assert model.keys_used == ["sk-old", "sk-new"]
    llm.get_llm_client().complete(MESSAGES)  # and from the cache again afterwards
    assert model.keys_used[-1] == "sk-new"


def test_a_rotated_key_is_used_once_the_cache_expires(model: ScriptedOpenAI) -> None:
    llm.get_llm_client().complete(MESSAGES)
    rotate("sk-new")
    llm.get_llm_client().complete(MESSAGES)
    assert model.keys_used == ["sk-old", "sk-old"]  # within the cache's life: the old key
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # the cache's 5 minutes are over
    llm.get_llm_client().complete(MESSAGES)
    assert model.keys_used[-1] == "sk-new"


def test_a_secret_that_cannot_be_read_is_a_dependency_failure_naming_it(
    model: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY_SECRET_NAME", "toro/test/no-such-secret")
    reset.clear_caches()
    with pytest.raises(DependencyUnavailable) as raised:
        llm.get_llm_client()
    # Logged for the operator (a 503 or a fixed failure message for the user): which secret.
    assert raised.value.message.startswith(
        "Could not read the OpenAI key secret toro/test/no-such-secret: "
    )
    assert "ResourceNotFoundException" in raised.value.message
    assert model.keys_used == []


def test_without_a_key_the_model_is_refused_with_how_to_set_one(
    model: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY_SECRET_NAME")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    reset.clear_caches()
    with pytest.raises(LLMAuthError) as raised:
        llm.get_llm_client()
    assert raised.value.message == (
        "No OpenAI API key is configured: set OPENAI_API_KEY (or "
        "OPENAI_API_KEY_SECRET_NAME on AWS)."
    )
