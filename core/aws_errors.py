"""Wrapping AWS SDK failures so that no raw botocore exception crosses a handler boundary."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from core.errors import DependencyError, DependencyUnavailable, ToroError

P = ParamSpec("P")
R = TypeVar("R")

_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TransactionConflictException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "KMSThrottlingException",
    }
)


def wrap_aws_error(exc: Exception) -> ToroError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        operation = exc.operation_name
        message = f"{operation} failed with {code}: {error.get('Message', '')}"
        if code in _RETRYABLE_CODES or status >= 500:
            return DependencyUnavailable(message)
        return DependencyError(message)
    return DependencyUnavailable(f"AWS call failed: {type(exc).__name__}: {exc}")


def aws_call(function: Callable[P, R]) -> Callable[P, R]:
    """Re-raise SDK failures of ``function`` as the project's dependency errors."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise wrap_aws_error(exc) from exc

    return wrapper
