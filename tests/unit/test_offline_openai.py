"""The offline answerer through the official SDK, as call_openai uses it."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from core.llm import LLMClient
from core.settings import LLMSettings
from local.answerer import MODEL_NAME, count_tokens
from local.offline_openai import OFFLINE_API_KEY, OfflineOpenAI


@pytest.fixture(scope="module")
def client() -> Iterator[LLMClient]:
    server = OfflineOpenAI().start()
    settings = LLMSettings(openai_api_key=OFFLINE_API_KEY, openai_base_url=server.base_url)
    sdk = openai.OpenAI(api_key=OFFLINE_API_KEY, base_url=server.base_url, max_retries=0)
    yield LLMClient(settings, sdk)
    server.stop()


def test_answers_with_sources_and_honest_usage(client: LLMClient) -> None:
    completion = client.complete("Quanto rende o Tesouro Selic?")
    assert completion.model == MODEL_NAME
    assert "(kb:tesouro-selic)" in completion.answer
    assert completion.completion_tokens == count_tokens(completion.answer)
    assert completion.prompt_tokens > count_tokens("Quanto rende o Tesouro Selic?")


def test_says_it_does_not_know_in_the_question_language(client: LLMClient) -> None:
    assert "OPENAI_API_KEY" in client.complete("Who wrote Hamlet?").answer
    assert client.complete("Quem escreveu Dom Casmurro?").answer.startswith("Não encontrei")


def test_moderation_flags_nothing(client: LLMClient) -> None:
    assert client.is_flagged("anything at all") is False
