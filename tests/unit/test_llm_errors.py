"""The OpenAI SDK, over real HTTP against the scripted server, mapped onto the project's errors."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx2
import openai
import pytest

from core import errors
from core.llm import LLMClient, ModelReply, map_sdk_error
from core.prompt import SYSTEM_PROMPT, build_messages
from core.settings import LLMSettings
from local.scripted_openai import ScriptedOpenAI


def ask(client: LLMClient, question: str) -> ModelReply:
    return client.complete(build_messages(question, "en", [], []))


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedOpenAI]:
    scripted = ScriptedOpenAI(slow_seconds=1.5).start()
    yield scripted
    scripted.stop()


@pytest.fixture
def client(server: ScriptedOpenAI) -> LLMClient:
    settings = LLMSettings(
        openai_api_key="test-key", openai_base_url=server.base_url, openai_timeout_seconds=0.5
    )
    sdk = openai.OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0, timeout=0.5)
    return LLMClient(settings, sdk)


@pytest.mark.parametrize(
    ("outcome", "expected", "retryable", "says"),
    [
        (
            "rate_limit",
            errors.LLMRateLimited,
            True,
            "rate limiting: Error code: 429 - Rate limit reached",
        ),
        (
            "server_error",
            errors.LLMUnavailable,
            True,
            "HTTP 500: Error code: 500 - The server had an error",
        ),
        ("slow", errors.LLMTimeout, True, "did not answer in time"),
        ("malformed", errors.LLMUnavailable, True, "could not be read"),
        # A billing 429 is not a rate limit.
        (
            "quota",
            errors.LLMQuotaExceeded,
            False,
            "quota is exhausted: Error code: 429 - You exceeded",
        ),
        (
            "auth",
            errors.LLMAuthError,
            False,
            "refused the credentials: Error code: 401 - Incorrect",
        ),
        (
            "bad_request",
            errors.LLMBadRequest,
            False,
            "(HTTP 400): Error code: 400 - Invalid request",
        ),
    ],
)
def test_sdk_failures_map_to_retryable_or_fatal_classes(
    server: ScriptedOpenAI,
    client: LLMClient,
    outcome: str,
    expected: type[errors.LLMError],
    retryable: bool,
    says: str,
) -> None:
    marker = f"map-{outcome}"
    server.script(marker, [outcome])
    with pytest.raises(expected) as raised:
        ask(client, f"question {marker}")
    assert isinstance(raised.value, errors.RetryableLLMError) is retryable
    assert isinstance(raised.value, errors.FatalLLMError) is not retryable
    assert isinstance(raised.value.__cause__, openai.OpenAIError | ValueError)
    # The provider's words stay in the error, for the logs (users get fixed words).
    assert says in raised.value.message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (408, errors.LLMTimeout),
        (409, errors.LLMUnavailable),
        (500, errors.LLMUnavailable),
        (503, errors.LLMUnavailable),
        (404, errors.LLMBadRequest),
        (410, errors.LLMBadRequest),
        (422, errors.LLMBadRequest),
    ],
)
def test_other_http_statuses_map_by_whether_trying_again_can_help(
    status: int, expected: type[errors.LLMError]
) -> None:
    request = httpx2.Request("POST", "http://model.test/v1/chat/completions")
    exc = openai.APIStatusError(
        "refused", response=httpx2.Response(status, request=request), body=None
    )
    mapped = map_sdk_error(exc)
    assert type(mapped) is expected
    assert "refused" in mapped.message


def test_an_answer_withheld_by_the_content_filter_is_not_retried(
    server: ScriptedOpenAI, client: LLMClient
) -> None:
    """A 200 with no content and ``finish_reason: content_filter``: asking again gets the same."""
    server.script("map-content-filter", ["content_filter"])
    with pytest.raises(errors.LLMBadRequest) as raised:
        ask(client, "question map-content-filter")
    assert raised.value.message == "The model's content filter withheld the answer."


@pytest.mark.parametrize(
    ("outcome", "says"),
    [
        ("no_choices", "The model answered with no choices."),
        ("no_message", "The model answered with an empty message."),
    ],
)
def test_an_answer_with_no_choice_or_no_message_is_unavailable(
    server: ScriptedOpenAI, client: LLMClient, outcome: str, says: str
) -> None:
    server.script(f"map-{outcome}", [outcome])
    with pytest.raises(errors.LLMUnavailable) as raised:
        ask(client, f"question map-{outcome}")
    assert raised.value.message == says


def test_an_answer_without_token_counts_counts_none(
    server: ScriptedOpenAI, client: LLMClient
) -> None:
    server.script("map-no-usage", ["no_usage"])
    reply = ask(client, "question map-no-usage")
    assert reply.content == "Scripted answer to: question map-no-usage"
    assert (reply.prompt_tokens, reply.completion_tokens) == (0, 0)


def test_connection_refused_is_unavailable() -> None:
    settings = LLMSettings(openai_api_key="k", openai_base_url="http://127.0.0.1:9/v1")
    sdk = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=1)
    with pytest.raises(errors.LLMUnavailable) as raised:
        ask(LLMClient(settings, sdk), "anyone there?")
    assert raised.value.message == "Could not reach the model: Connection error."


def test_a_completion_reports_model_tokens_and_latency(
    server: ScriptedOpenAI, client: LLMClient
) -> None:
    completion = ask(client, "O que é um FII? map-ok")
    assert completion.content == "Scripted answer to: O que é um FII? map-ok"
    assert completion.model == "gpt-4o-mini"
    assert completion.prompt_tokens > len(SYSTEM_PROMPT.split()) - 1
    assert completion.completion_tokens == len(completion.content.split())
    assert completion.latency_ms >= 0


def test_a_completion_sends_the_configured_model_temperature_and_token_limit(
    server: ScriptedOpenAI,
) -> None:
    settings = LLMSettings(
        openai_api_key="test-key",
        openai_base_url=server.base_url,
        openai_model="gpt-4o",
        openai_temperature=0.7,
        openai_max_tokens=321,
        openai_moderation_model="omni-moderation-2024-09-26",
    )
    client = LLMClient(settings, openai.OpenAI(api_key="test-key", base_url=server.base_url))
    assert ask(client, "question map-parameters").model == "gpt-4o"
    [call] = server.calls_for("map-parameters")
    sent = {name: call.body.get(name) for name in ("model", "temperature", "max_completion_tokens")}
    assert sent == {"model": "gpt-4o", "temperature": 0.7, "max_completion_tokens": 321}
    assert not client.is_flagged("question map-parameters")
    [moderation] = server.calls_for("map-parameters", "/v1/moderations")
    assert moderation.body["model"] == "omni-moderation-2024-09-26"


def test_a_completion_measures_how_long_the_model_took(server: ScriptedOpenAI) -> None:
    """The ``slow`` outcome answers after 1.5 s: the latency covers it, and no more than the
    call's own time."""
    settings = LLMSettings(openai_api_key="test-key", openai_base_url=server.base_url)
    sdk = openai.OpenAI(api_key="test-key", base_url=server.base_url, max_retries=0, timeout=10)
    server.script("map-latency", ["slow"])
    started = time.perf_counter()
    reply = ask(LLMClient(settings, sdk), "question map-latency")
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert 1500 <= reply.latency_ms <= elapsed_ms


def test_moderation_flags_only_what_the_server_flags(
    server: ScriptedOpenAI, client: LLMClient
) -> None:
    server.flag("forbidden-words")
    assert client.is_flagged("some forbidden-words here")
    assert not client.is_flagged("Como funciona o FGC?")


def test_an_answer_of_nothing_but_spaces_is_unavailable_not_an_answer(
    server: ScriptedOpenAI, client: LLMClient
) -> None:
    server.reply("blank-answer", "   \n ")
    with pytest.raises(errors.LLMUnavailable) as raised:
        ask(client, "question blank-answer")
    assert raised.value.message == "The model answered with an empty message."


def test_a_moderation_failure_is_mapped_like_a_completion_failure(
    server: ScriptedOpenAI, client: LLMClient
) -> None:
    server.script_moderation("moderation-down", ["auth"])
    with pytest.raises(errors.LLMAuthError) as raised:
        client.is_flagged("question moderation-down")
    assert "Incorrect API key" in raised.value.message


def test_unknown_exceptions_never_escape_unmapped() -> None:
    mapped = map_sdk_error(RuntimeError("boom"))
    assert isinstance(mapped, errors.LLMUnavailable)
    assert mapped.message == "The model call failed unexpectedly: RuntimeError: boom"
    other = map_sdk_error(openai.OpenAIError("the SDK gave up"))
    assert type(other) is errors.LLMUnavailable
    assert other.message == "The model call failed: the SDK gave up"


def test_system_prompt_sets_the_rules_of_an_investment_assistant() -> None:
    prompt = SYSTEM_PROMPT.lower()
    assert "in the language of the question" in prompt
    assert "never personalised investment advice" in prompt
    assert "not an investment recommendation" in prompt


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": {"code": "insufficient_quota", "type": "requests"}}, errors.LLMQuotaExceeded),
        ({"error": {"code": None, "type": "insufficient_quota"}}, errors.LLMQuotaExceeded),
        ({"code": "insufficient_quota"}, errors.LLMQuotaExceeded),  # not nested under "error"
        ({"type": "insufficient_quota"}, errors.LLMQuotaExceeded),
        (
            {"error": {"code": "rate_limit_exceeded", "type": "insufficient_quota"}},
            errors.LLMRateLimited,
        ),
        ({"error": {"code": "rate_limit_exceeded"}}, errors.LLMRateLimited),
        ({"error": "insufficient_quota"}, errors.LLMRateLimited),  # no code to read
        ("Too Many Requests", errors.LLMRateLimited),
        (None, errors.LLMRateLimited),
    ],
)
def test_a_429_is_a_quota_error_only_when_its_code_says_so(
    body: object, expected: type[errors.LLMError]
) -> None:
    """OpenAI-compatible servers word a 429's body differently: the code, else the type."""
    request = httpx2.Request("POST", "http://model.test/v1/chat/completions")
    response = httpx2.Response(429, request=request)
    exc = openai.RateLimitError("429", response=response, body=body)
    assert type(map_sdk_error(exc)) is expected
