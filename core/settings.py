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
    # Profiles (with password hashes), usernames and login sessions (refresh tokens) live in a
    # table of their own, which only the API may read in full.
    accounts_table_name: str = Field(default="toro-assistant-accounts", min_length=3)
    questions_topic_arn: str = ""
    answers_topic_arn: str = ""
    state_machine_arn: str = ""
    question_max_chars: int = Field(default=2000, ge=1, le=10_000)
    # Questions and notifications expire this long after they reach a final status (DynamoDB
    # TTL); 0, the default, keeps them until their user deletes the account.
    record_ttl_days: int = Field(default=0, ge=0)
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60)
    # Where the knowledge base's files are; empty: the ``knowledge/`` folder shipped with the code.
    knowledge_dir: str = ""
    # Entries the Retrieve task may put in the prompt.
    retrieval_top_k: int = Field(default=3, ge=1, le=10)
    # Follow-ups carry at most this many earlier answered turns, within this many tokens.
    conversation_max_turns: int = Field(default=5, ge=0, le=20)
    conversation_token_budget: int = Field(default=1500, ge=0, le=100_000)
    # How long a conversation's first answer may be reused for the same question; 0 turns it off.
    answer_cache_ttl_seconds: int = Field(default=86_400, ge=0)
    # Where the functions push question updates to WebSocket connections: the API Gateway
    # Management API's endpoint (https://<id>.execute-api.<region>.amazonaws.com/<stage> on
    # AWS, toro dev's API locally); empty: no push.
    websocket_endpoint: str = ""
    # The recovery sweeper looks at open questions older than this, at most this many a run.
    sweeper_grace_seconds: int = Field(default=120, ge=10)
    sweeper_batch: int = Field(default=50, ge=1, le=1000)


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

    @property
    def moderation_enabled(self) -> bool:
        """Questions are screened by the moderation endpoint when a key is configured."""
        return self.openai_moderation and self.has_key_source


# Once the development key, printed here; refused as a signing key everywhere now.
DEVELOPMENT_SIGNING_KEY = "development-only-signing-key-not-for-production-use"
DEVELOPMENT_ENVIRONMENTS = ("development", "dev", "local", "test")


class AuthSettings(BaseSettings):
    """Accounts and tokens. Production unless development is asked for (``toro dev`` does);
    outside development a real signing key is required."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: str = "production"
    token_signing_key: SecretStr | None = None
    # On AWS the key lives in Secrets Manager; this names the secret (read with caching).
    token_signing_key_secret_name: str | None = None
    token_issuer: str = "toro-assistant"  # noqa: S105 - a name, not a secret
    token_audience: str = "toro-assistant-api"  # noqa: S105 - a name, not a secret
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300)
    # How long an API process trusts its last look at a session: the longest an access token
    # keeps working there after its session ended in another process.
    session_check_seconds: float = Field(default=30, ge=0, le=300)
    # A refresh token replaced less than this long ago still gets the session's new refresh token
    # (two refreshes at once); later, presenting it ends the session as a theft would.
    refresh_grace_seconds: float = Field(default=10, ge=0, le=60)

    @property
    def is_development(self) -> bool:
        return self.environment.lower() in DEVELOPMENT_ENVIRONMENTS


class ApiSettings(BaseSettings):
    """HTTP behaviour of the REST API."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Comma-separated origins allowed by CORS; empty means same origin only.
    cors_allow_origins: str = ""
    # Where clients open their live connection (wss://<id>.execute-api.<region>.amazonaws.com/
    # <stage> on AWS); empty: this API's own /ws (toro dev serves it).
    websocket_url: str = ""
    # Comma-separated host names the API answers to (others get 400, so nothing it builds from
    # the Host header, like a redirect, can point elsewhere); empty means any.
    allowed_hosts: str = ""
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    # The browser's refresh cookie is Secure (HTTPS only; browsers also accept it from
    # http://localhost and 127.0.0.1). False only for a development system reached over plain
    # HTTP from another machine.
    refresh_cookie_secure: bool = True
    # The OpenAPI schema at /openapi.json and its interactive docs at /docs.
    api_docs: bool = True
    rate_limit_questions_per_minute: int = Field(default=10, ge=1)
    # Sign-in abuse: requests to login, register and refresh per client address and minute;
    # new accounts per client address and hour; failed logins of one username before it is
    # locked for the rest of the lockout window (a sliding window: the lock ends as the
    # oldest failure leaves it).
    auth_attempts_per_minute: int = Field(default=30, ge=1)
    registrations_per_hour: int = Field(default=5, ge=1)
    login_failures_before_lockout: int = Field(default=10, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    # Password hashes one process computes at once (argon2 takes 64 MiB each), and how long a
    # request waits for its turn before it is answered 503.
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    password_hash_wait_seconds: float = Field(default=10, gt=0, le=60)
    # Model tokens per UTC day, counted from stored answers: per account, and for everyone
    # together (the ceiling on model spend); past either, questions get 429. 0 turns one off.
    daily_token_budget_per_user: int = Field(default=100_000, ge=0)
    daily_token_ceiling: int = Field(default=5_000_000, ge=0)
    publish_attempts: int = Field(default=3, ge=1, le=10)

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allow_origins.split(",") if origin.strip()]

    @property
    def hosts(self) -> list[str]:
        return [host.strip() for host in self.allowed_hosts.split(",") if host.strip()]


@lru_cache
def get_auth_settings() -> AuthSettings:
    return AuthSettings()


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()


@lru_cache
def get_settings() -> Settings:
    return Settings()


@lru_cache
def get_llm_settings() -> LLMSettings:
    return LLMSettings()


def clear_caches() -> None:
    """Forget settings read so far (tests change the environment between cases)."""
    for getter in (get_settings, get_llm_settings, get_auth_settings, get_api_settings):
        getter.cache_clear()
