"""Where the token signing key comes from (its secret in Secrets Manager on AWS) and which keys
are refused outside development, each refusal in words an operator can act on."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import jwt
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from pydantic import SecretStr

from core.accounts import MIN_KEY_LENGTH, ConfigurationError, TokenService, signing_key
from core.errors import DependencyUnavailable
from core.settings import AuthSettings

SECRET = "toro/test/token-signing-key"
KEY = "s" * 40


@pytest.fixture
def secrets() -> Iterator[None]:
    with mock_aws():
        # Stored with the blanks a copied value brings along.
        boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=f"  {KEY}\n")
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        yield
        parameters.clear_caches()  # type: ignore[no-untyped-call]


def production(**settings: object) -> AuthSettings:
    return AuthSettings(environment="production", **settings)  # type: ignore[arg-type]


def test_on_aws_the_key_is_read_from_its_secret(secrets: None) -> None:
    assert signing_key(production(token_signing_key_secret_name=SECRET)) == KEY


def test_a_secret_that_cannot_be_read_is_a_dependency_failure_naming_it(secrets: None) -> None:
    with pytest.raises(DependencyUnavailable) as raised:
        signing_key(production(token_signing_key_secret_name="toro/test/no-such-secret"))
    assert raised.value.message.startswith(
        "Could not read the signing key secret toro/test/no-such-secret: "
    )
    assert "ResourceNotFoundException" in raised.value.message


def test_outside_development_a_key_is_required() -> None:
    with pytest.raises(ConfigurationError) as raised:
        signing_key(production())
    assert raised.value.message == (
        "ENVIRONMENT=production needs a real token signing key: set "
        "TOKEN_SIGNING_KEY_SECRET_NAME (or TOKEN_SIGNING_KEY)."
    )


def test_a_key_of_the_minimum_length_is_enough_and_one_less_is_not() -> None:
    enough = "k" * MIN_KEY_LENGTH
    assert signing_key(production(token_signing_key=SecretStr(enough))) == enough
    with pytest.raises(ConfigurationError) as raised:
        signing_key(production(token_signing_key=SecretStr(enough[1:])))
    assert raised.value.message == "The token signing key must have 32+ characters."


def test_tokens_are_signed_with_the_key_of_the_settings_given() -> None:
    """Whatever this process's own settings say (development here, with its random key)."""
    tokens = TokenService(production(token_signing_key=SecretStr(KEY)))
    issued = tokens.issue("user-1", "session-1", "refresh-1")
    claims = jwt.decode(
        issued.access_token, KEY, algorithms=["HS256"], options={"verify_aud": False}
    )
    assert (claims["sub"], claims["sid"]) == ("user-1", "session-1")
