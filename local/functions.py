"""The Lambda functions the embedded runtime serves, and where it says they live."""

from __future__ import annotations

from handlers import HANDLERS

ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
# The workflow's handlers and the API's Lambda entry point.
FUNCTIONS = {**HANDLERS, "api": "api.lambda_handler.handler"}
