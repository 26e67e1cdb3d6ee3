"""Accounts and tokens.

Browsers ask for the refresh token as a cookie (``?refresh_cookie=true``): ``HttpOnly``,
``Secure``, ``SameSite=Strict`` and scoped to the refresh route, so no script can read it and no
other site can send it; the body then carries no refresh token. Other clients get it in the body
and send it back in the body, as ever.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Cookie, Query, Request, Response, status

from api.deps import Accounts, CurrentUser, client_address, root_of
from api.errors import documented
from api.schemas import Credentials, NewAccount, RefreshRequest, TokenResponse, UserPublic
from core.accounts import TokenPair
from core.errors import AuthenticationFailed
from core.settings import get_api_settings, get_auth_settings

router = APIRouter(prefix="/auth", tags=["auth"])

REFRESH_COOKIE = "toro_refresh"
REFRESH_PATH = "/api/v1/auth/refresh"
RefreshCookie = Annotated[
    bool,
    Query(
        description="For browsers: the refresh token as an HttpOnly, Secure, SameSite=Strict "
        f"cookie (`{REFRESH_COOKIE}`, path `{REFRESH_PATH}`) instead of in the body."
    ),
]


def cookie_options(request: Request) -> dict[str, object]:
    return {
        "path": root_of(request) + REFRESH_PATH,
        "secure": get_api_settings().refresh_cookie_secure,
        "httponly": True,
        "samesite": "strict",
    }


def _deliver(
    tokens: TokenPair, request: Request, response: Response, cookie: bool
) -> TokenResponse:
    if not cookie:
        return TokenResponse.model_validate(tokens.model_dump())
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        max_age=get_auth_settings().refresh_token_ttl_seconds,
        **cookie_options(request),  # type: ignore[arg-type]
    )
    return TokenResponse.model_validate({**tokens.model_dump(), "refresh_token": None})


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=documented(409, 429, 503),
    summary="Create an account",
)
def register(body: NewAccount, accounts: Accounts, request: Request) -> UserPublic:
    user = accounts.register(body.username.lower(), body.password, client=client_address(request))
    return UserPublic.model_validate(user.model_dump())


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=documented(401, 429, 503),
    summary="Log in: a new session with an access and a refresh token",
)
def login(
    body: Credentials,
    accounts: Accounts,
    request: Request,
    response: Response,
    refresh_cookie: RefreshCookie = False,
) -> TokenResponse:
    tokens = accounts.login(body.username.lower(), body.password, client=client_address(request))
    return _deliver(tokens, request, response, refresh_cookie)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses=documented(401, 429, 503),
    summary="Trade a refresh token for a new pair (the old refresh token stops working)",
    description="The refresh token comes in the body, or, with no body, from the refresh "
    "cookie that `refresh_cookie=true` set.",
)
def refresh(
    accounts: Accounts,
    request: Request,
    response: Response,
    body: Annotated[RefreshRequest | None, Body()] = None,
    refresh_cookie: RefreshCookie = False,
    from_cookie: Annotated[
        str | None, Cookie(alias=REFRESH_COOKIE, max_length=4096, include_in_schema=False)
    ] = None,
) -> TokenResponse:
    token = body.refresh_token if body is not None else from_cookie
    if not token:
        raise AuthenticationFailed("A refresh token is required, in the body or the cookie.")
    tokens = accounts.refresh(token, client=client_address(request))
    return _deliver(tokens, request, response, refresh_cookie or body is None)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(401, 503),
    summary="End the session: its refresh and access tokens stop working at once",
)
def logout(principal: CurrentUser, accounts: Accounts, request: Request) -> Response:
    accounts.logout(principal)
    ended = Response(status_code=status.HTTP_204_NO_CONTENT)
    ended.delete_cookie(REFRESH_COOKIE, **cookie_options(request))  # type: ignore[arg-type]
    return ended
