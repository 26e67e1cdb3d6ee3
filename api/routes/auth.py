from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from api.deps import Accounts, CurrentUser, client_address
from api.errors import documented
from api.schemas import Credentials, NewAccount, RefreshRequest, TokenResponse, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


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
def login(body: Credentials, accounts: Accounts, request: Request) -> TokenResponse:
    tokens = accounts.login(body.username.lower(), body.password, client=client_address(request))
    return TokenResponse.model_validate(tokens.model_dump())


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses=documented(401, 429, 503),
    summary="Trade a refresh token for a new pair (the old refresh token stops working)",
)
def refresh(body: RefreshRequest, accounts: Accounts, request: Request) -> TokenResponse:
    tokens = accounts.refresh(body.refresh_token, client=client_address(request))
    return TokenResponse.model_validate(tokens.model_dump())


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(401, 503),
    summary="End the session: its refresh token stops working (the access token expires)",
)
def logout(principal: CurrentUser, accounts: Accounts) -> Response:
    accounts.logout(principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
