"""Every error the API answers, in one shape, decided in one place.

``{"error": {"code": "...", "message": "...", "details": [{"field": "...", "reason": "..."}]}}``
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from core import errors
from core.observability import logger


class ErrorDetail(BaseModel):
    field: str | None = None
    reason: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


# Domain error -> HTTP status. The first class in this order that matches wins.
STATUS: list[tuple[type[errors.ToroError], int]] = [
    (errors.AuthenticationFailed, 401),
    (errors.NotFound, 404),
    (errors.UsernameTaken, 409),
    (errors.IdempotencyConflict, 409),
    (errors.NotAnswered, 409),
    (errors.NotRetryable, 409),
    (errors.QuestionsStillOpen, 409),
    (errors.IllegalTransition, 409),
    (errors.InvalidQuestion, 422),
    (errors.InvalidCursor, 422),
    (errors.RateLimited, 429),
    (errors.PublishFailed, 503),
    (errors.ServerBusy, 503),
    (errors.DependencyUnavailable, 503),
]
FIELDS: dict[type[errors.ToroError], str] = {
    errors.InvalidQuestion: "question",
    errors.InvalidCursor: "cursor",
    errors.IdempotencyConflict: "Idempotency-Key",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or []))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ToroError)
    status = next((code for cls, code in STATUS if isinstance(exc, cls)), 500)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if status == 503:
        headers["Retry-After"] = "5"
    if isinstance(exc, errors.RateLimited | errors.ServerBusy):
        headers["Retry-After"] = str(exc.retry_after)
    field = next((name for cls, name in FIELDS.items() if isinstance(exc, cls)), None)
    details = [ErrorDetail(field=field, reason=exc.message)] if field else []
    if status >= 500:
        logger.error("Request failed", extra={"error_code": exc.code, "error": exc.message})
    if status < 500 or isinstance(exc, errors.PublishFailed | errors.ServerBusy):
        message = exc.message  # the project's own words about the request
    elif status == 503:
        # The SDK's text names endpoints, tables and, on AWS, accounts and roles: logs only.
        message = "A service the API needs is unavailable. Please try again shortly."
    else:
        message = "The service failed."
    return error_response(status, exc.code, message, details, headers)


def _field(error: dict[str, Any]) -> str:
    """``question``, ``limit``, ``Idempotency-Key``...; ``body`` when the body itself is bad."""
    parts = [str(part) for part in error.get("loc", ())]
    if error.get("type") == "json_invalid" or parts == ["body"]:
        return "body"
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


def _reason(error: dict[str, Any]) -> str:
    """The message of the project's own rules as they wrote it, not "Value error, ..."."""
    raised = error.get("ctx", {}).get("error") if error.get("type") == "value_error" else None
    if isinstance(raised, ValueError) and str(raised):
        return str(raised)
    return str(error.get("msg", "invalid"))


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [ErrorDetail(field=_field(error), reason=_reason(error)) for error in exc.errors()]
    return error_response(422, "validation_error", "The request is not valid.", details)


_HTTP_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot even decode (not UTF-8, say): bad input all the same.
        detail = ErrorDetail(field="body", reason=str(exc.detail))
        return error_response(422, "validation_error", "The request is not valid.", [detail])
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("Unexpected error")
    return error_response(500, "internal_error", "The service failed.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.ToroError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    descriptions = {
        401: "Missing, malformed, expired or tampered token, or wrong credentials.",
        404: "Not found, or not the caller's.",
        409: "Conflict.",
        413: "Request body larger than the limit.",
        422: "Invalid input: each problem names its field.",
        429: "Rate limited, or a daily token budget is used up; see Retry-After.",
        503: "A dependency is unavailable; see Retry-After.",
    }
    return {
        status: {"model": ErrorResponse, "description": descriptions[status]}
        for status in (*statuses, 413, 422)
    }
