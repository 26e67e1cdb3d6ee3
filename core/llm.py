"""The language model, through the official OpenAI SDK.

Step Functions owns retries: the client is built with ``max_retries=0`` and a timeout below the
Lambda timeout, and every SDK failure is mapped onto the project's retryable or fatal classes, so
the ASL's Retry and Catch can decide by class name.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import openai
from aws_lambda_powertools.utilities import parameters

from core.errors import (
    DependencyUnavailable,
    LLMAuthError,
    LLMBadRequest,
    LLMError,
    LLMQuotaExceeded,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from core.settings import LLMSettings, get_llm_settings

SECRET_MAX_AGE_SECONDS = 300


def map_sdk_error(exc: Exception) -> LLMError:
    """The project's error for an OpenAI SDK failure. Billing 429s are fatal, not rate limits."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeout(f"The model did not answer in time: {exc}")
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailable(f"Could not reach the model: {exc}")
    if isinstance(exc, openai.RateLimitError):
        if _error_code(exc) == "insufficient_quota":
            return LLMQuotaExceeded(f"The model's quota is exhausted: {exc.message}")
        return LLMRateLimited(f"The model is rate limiting: {exc.message}")
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        _KEY_REFUSED.set()  # the next client is built from a fresh read of the key
        return LLMAuthError(f"The model refused the credentials: {exc.message}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 408:
            return LLMTimeout(f"The model timed out: {exc.message}")
        if status == 409 or status >= 500:
            return LLMUnavailable(f"The model failed with HTTP {status}: {exc.message}")
        return LLMBadRequest(f"The model rejected the request (HTTP {status}): {exc.message}")
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return LLMUnavailable(f"The model sent a response that could not be read: {exc}")
    if isinstance(exc, openai.OpenAIError):
        return LLMUnavailable(f"The model call failed: {exc}")
    return LLMUnavailable(f"The model call failed unexpectedly: {type(exc).__name__}: {exc}")


def _error_code(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        nested = body.get("error", body)
        if isinstance(nested, dict):
            code = nested.get("code") or nested.get("type")
            return str(code) if code else None
    return getattr(exc, "code", None)


@dataclass(frozen=True)
class ModelReply:
    """What the model said, and what it cost."""

    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int


class LLMClient:
    def __init__(self, settings: LLMSettings, client: openai.OpenAI) -> None:
        self._settings = settings
        self._client = client

    @property
    def model(self) -> str:
        return self._settings.openai_model

    @property
    def identity(self) -> str:
        """Which model at which endpoint: answers from one are never reused for another."""
        return f"{self._settings.openai_base_url or 'openai'}|{self._settings.openai_model}"

    def complete(self, messages: list[dict[str, Any]]) -> ModelReply:
        started = time.perf_counter()
        try:
            response = self._client.chat.completions.create(
                model=self._settings.openai_model,
                messages=messages,  # type: ignore[arg-type]
                max_completion_tokens=self._settings.openai_max_tokens,
                temperature=self._settings.openai_temperature,
            )
        except Exception as exc:
            raise map_sdk_error(exc) from exc
        latency_ms = int((time.perf_counter() - started) * 1000)
        choices = getattr(response, "choices", None)
        if not choices:
            raise LLMUnavailable("The model answered with no choices.")
        choice = choices[0]
        content = (choice.message.content or "").strip() if choice.message else ""
        if not content:
            if choice.finish_reason == "content_filter":
                raise LLMBadRequest("The model's content filter withheld the answer.")
            raise LLMUnavailable("The model answered with an empty message.")
        usage = response.usage
        return ModelReply(
            content=content,
            model=response.model or self._settings.openai_model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=latency_ms,
        )

    def is_flagged(self, text: str) -> bool:
        """Whether the moderation endpoint flags the text."""
        try:
            response = self._client.moderations.create(
                model=self._settings.openai_moderation_model, input=text
            )
        except Exception as exc:
            raise map_sdk_error(exc) from exc
        return any(result.flagged for result in response.results)


# Set when the model refused the key: the next read of the secret skips the cache, so a key the
# operator has just replaced is used at once instead of after the cache's 5 minutes.
_KEY_REFUSED = threading.Event()


def _api_key(settings: LLMSettings) -> str | None:
    if settings.openai_api_key is not None:
        return settings.openai_api_key.get_secret_value()
    if settings.openai_api_key_secret_name:
        refused = _KEY_REFUSED.is_set()
        try:
            secret = parameters.get_secret(
                settings.openai_api_key_secret_name,
                max_age=SECRET_MAX_AGE_SECONDS,
                force_fetch=refused,
            )
        except parameters.exceptions.GetParameterError as exc:
            raise DependencyUnavailable(
                f"Could not read the OpenAI key secret {settings.openai_api_key_secret_name}: {exc}"
            ) from exc
        if refused:
            _KEY_REFUSED.clear()
        return str(secret).strip()
    return None


def get_llm_client() -> LLMClient:
    """The model client for the key configured now.

    The key is read on every call (from the secret through Powertools' 5-minute cache), and a
    client is kept per key, so a warm function picks up a new key within the cache's lifetime,
    and at once after the model refused the old one. Fails clearly when no key is configured.
    """
    settings = get_llm_settings()
    key = _api_key(settings)
    if not key:
        raise LLMAuthError(
            "No OpenAI API key is configured: set OPENAI_API_KEY (or "
            "OPENAI_API_KEY_SECRET_NAME on AWS)."
        )
    return _client_for(key)


@lru_cache(maxsize=2)
def _client_for(key: str) -> LLMClient:
    settings = get_llm_settings()
    client = openai.OpenAI(
        api_key=key,
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
        max_retries=0,
    )
    return LLMClient(settings, client)


def forget_clients() -> None:
    _client_for.cache_clear()
    _KEY_REFUSED.clear()
