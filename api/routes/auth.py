from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import Accounts, CurrentUser
from api.errors import documented
from api.schemas import Credentials, NewAccount, RefreshRequest, TokenResponse, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=documented(409, 503),
    summary="Create an account",
)
def register(body: NewAccount, accounts: Accounts) -> UserPublic:
    user = accounts.register(body.username.lower(), body.password)
    return UserPublic.model_validate(user.model_dump())


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=documented(401, 503),
    summary="Log in: a new session with an access and a refresh token",
)
def login(body: Credentials, accounts: Accounts) -> TokenResponse:
    return TokenResponse.model_validate(
        accounts.login(body.username.lower(), body.password).model_dump()
    )


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses=documented(401, 503),
    summary="Trade a refresh token for a new pair (the old refresh token stops working)",
)
def refresh(body: RefreshRequest, accounts: Accounts) -> TokenResponse:
    return TokenResponse.model_validate(accounts.refresh(body.refresh_token).model_dump())


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
