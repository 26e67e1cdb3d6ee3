"""The Lambda functions the embedded runtime serves, and where it says they live."""

from __future__ import annotations

from handlers import FUNCTIONS

ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

__all__ = ["ACCOUNT", "DEFAULT_REGION", "FUNCTIONS"]
