"""Settings per component, read from the environment once and validated at cold start.

Environment names are UPPER_SNAKE and equal to the names the CDK app sets on each function.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the system's AWS resources are. Endpoints come from the standard SDK configuration."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    table_name: str = Field(default="toro-assistant", min_length=3)
    questions_topic_arn: str = ""
    answers_topic_arn: str = ""
    state_machine_arn: str = ""
    question_max_chars: int = Field(default=2000, ge=1, le=10_000)
    # Records expire this long after they reach a final status (DynamoDB TTL); 0 keeps them.
    record_ttl_days: int = Field(default=365, ge=0)
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60)


class LLMSettings(BaseSettings):
    """How to reach the language model (OpenAI or any compatible server)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    openai_api_key: SecretStr | None = None
    # On AWS the key lives in Secrets Manager; this names the secret (read with caching).
    openai_api_key_secret_name: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_moderation_model: str = "omni-moderation-latest"
    # Below the Lambda timeout, which is below the task's TimeoutSeconds in the ASL.
    openai_timeout_seconds: float = Field(default=20.0, gt=0, le=60)
    openai_max_tokens: int = Field(default=800, ge=16, le=8192)
    openai_temperature: float = Field(default=0.2, ge=0, le=2)
    # Screen questions with the moderation endpoint when a key is configured.
    openai_moderation: bool = True

    @property
    def has_key_source(self) -> bool:
        return self.openai_api_key is not None or bool(self.openai_api_key_secret_name)


@lru_cache
def get_settings() -> Settings:
    return Settings()


@lru_cache
def get_llm_settings() -> LLMSettings:
    return LLMSettings()


def clear_caches() -> None:
    """Forget settings read so far (tests change the environment between cases)."""
    get_settings.cache_clear()
    get_llm_settings.cache_clear()
