"""Accounts, passwords, sessions and tokens.

Passwords are hashed with argon2 (pwdlib). Access and refresh tokens are signed JWTs (PyJWT) with
issuer, audience, expiry, subject (user id) and session id. Refresh tokens rotate: each session
remembers the id of the one refresh token that is valid now; presenting an older one is treated
as theft and revokes the session.

Items, in the accounts table (``ACCOUNTS_TABLE_NAME``), which only the API may read in full:
``USERNAME#<name>`` / ``USERNAME`` (uniqueness), ``USER#<id>`` / ``PROFILE`` and
``USER#<id>`` / ``SESSION#<session_id>``. The WebSocket function may read only whether a session
has ended (``session_active``).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import jwt
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from pwdlib import PasswordHash
from pydantic import BaseModel

from core.aws_errors import aws_call
from core.errors import (
    AuthenticationFailed,
    DependencyUnavailable,
    RateLimited,
    ServerBusy,
    ToroError,
    UsernameTaken,
)
from core.models import new_id, utc_now
from core.rate_limit import RateLimiter
from core.repository import Repository, decode_item, encode, session_sk, user_pk
from core.settings import (
    DEVELOPMENT_SIGNING_KEY,
    AuthSettings,
    get_api_settings,
    get_auth_settings,
    get_settings,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# What ``session_active`` reads of a session: within what the WebSocket function's role may read
# (SESSION_STATE_ATTRIBUTES in handlers/__init__.py), never the refresh token's id.
SESSION_STATE_PROJECTION = ("pk", "revoked_at")
ALGORITHM = "HS256"
MIN_KEY_LENGTH = 32
SECRET_MAX_AGE_SECONDS = 300
INVALID_CREDENTIALS = "Invalid username or password."
TokenType = Literal["access", "refresh", "socket"]
# The client address when the request does not tell (a direct call, not over HTTP).
UNKNOWN_CLIENT = "unknown"


class ConfigurationError(ToroError):
    code = "configuration_error"


class User(BaseModel):
    user_id: str
    username: str
    created_at: datetime


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    session_id: str


class Principal(BaseModel):
    """Who is calling, from a verified access token."""

    user_id: str
    session_id: str


@lru_cache
def password_hasher() -> PasswordHash:
    return PasswordHash.recommended()


class HashGate:
    """At most ``password_hash_concurrency`` password hashes at once in this process.

    Argon2 takes 64 MiB and a core's worth of time per hash: sixteen failed logins at once took a
    local server from 306 MiB to 1.25 GiB. Past the bound a request waits its turn, for at most
    ``password_hash_wait_seconds``, then gets ServerBusy (503 with Retry-After).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: threading.BoundedSemaphore | None = None
        self._size = 0
        self.busy = 0
        self.peak = 0

    def _semaphore(self, size: int) -> threading.BoundedSemaphore:
        with self._lock:
            if self._slots is None or size != self._size:
                self._slots, self._size = threading.BoundedSemaphore(size), size
            return self._slots

    @contextmanager
    def slot(self) -> Iterator[None]:
        settings = get_api_settings()
        slots = self._semaphore(settings.password_hash_concurrency)
        if not slots.acquire(timeout=settings.password_hash_wait_seconds):
            raise ServerBusy("Too many sign-ins at this moment; try again in a second.")
        with self._lock:
            self.busy += 1
            self.peak = max(self.peak, self.busy)
        try:
            yield
        finally:
            with self._lock:
                self.busy -= 1
            slots.release()


HASHING = HashGate()


def hash_password(password: str) -> str:
    with HASHING.slot():
        return password_hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    with HASHING.slot():
        return password_hasher().verify(password, password_hash)


@lru_cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both cases take the same time."""
    return hash_password(uuid.uuid4().hex)


@lru_cache
def _process_key() -> str:
    """Development without a configured key: a random key for this process only, so that no
    key written anywhere can sign a token it accepts (tokens end with the process)."""
    return secrets.token_urlsafe(48)


def signing_key(settings: AuthSettings | None = None) -> str:
    """The token signing key; refuses a missing, weak or published key outside development,
    and in development without one, makes a random key per process."""
    settings = settings or get_auth_settings()
    key: str | None = None
    if settings.token_signing_key is not None:
        key = settings.token_signing_key.get_secret_value()
    elif settings.token_signing_key_secret_name:
        try:
            key = str(
                parameters.get_secret(
                    settings.token_signing_key_secret_name, max_age=SECRET_MAX_AGE_SECONDS
                )
            ).strip()
        except parameters.exceptions.GetParameterError as exc:
            raise DependencyUnavailable(
                f"Could not read the signing key secret {settings.token_signing_key_secret_name}: "
                f"{exc}"
            ) from exc
    if settings.is_development and not key:
        return _process_key()
    if not key or key == DEVELOPMENT_SIGNING_KEY:
        raise ConfigurationError(
            f"ENVIRONMENT={settings.environment} needs a real token signing key: set "
            "TOKEN_SIGNING_KEY_SECRET_NAME (or TOKEN_SIGNING_KEY)."
        )
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigurationError(f"The token signing key must have {MIN_KEY_LENGTH}+ characters.")
    return key


class TokenService:
    def __init__(self, settings: AuthSettings | None = None, key: str | None = None) -> None:
        self._settings = settings or get_auth_settings()
        self._key = key or signing_key(self._settings)

    def issue(self, user_id: str, session_id: str, refresh_jti: str) -> TokenPair:
        ttl = self._settings.access_token_ttl_seconds
        refresh_ttl = self._settings.refresh_token_ttl_seconds
        return TokenPair(
            access_token=self._encode("access", user_id, session_id, new_id(), ttl),
            refresh_token=self._encode("refresh", user_id, session_id, refresh_jti, refresh_ttl),
            expires_in=ttl,
            session_id=session_id,
        )

    def _encode(self, kind: TokenType, user_id: str, session_id: str, jti: str, ttl: int) -> str:
        now = utc_now()
        claims = {
            "iss": self._settings.token_issuer,
            "aud": self._settings.token_audience,
            "sub": user_id,
            "sid": session_id,
            "jti": jti,
            "typ": kind,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=ttl),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, kind: TokenType) -> dict[str, Any]:
        """The claims of a genuine, current token of ``kind``; else AuthenticationFailed."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._settings.token_audience,
                issuer=self._settings.token_issuer,
                options={"require": ["exp", "iat", "sub", "sid", "jti", "typ", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationFailed("The token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed("The token is not valid.") from exc
        if claims.get("typ") != kind:
            raise AuthenticationFailed(f"An {kind} token is required.")
        return claims

    def socket_ticket(self, principal: Principal, ttl: int) -> tuple[str, str]:
        """A short-lived ticket that opens one WebSocket connection for the principal; (the
        ticket, its id). Asked for with the access token, so no long-lived token ever travels
        in a WebSocket handshake (whose URLs and headers end up in logs)."""
        jti = new_id()
        return self._encode("socket", principal.user_id, principal.session_id, jti, ttl), jti

    def principal(self, access_token: str) -> Principal:
        claims = self.verify(access_token, "access")
        return Principal(user_id=str(claims["sub"]), session_id=str(claims["sid"]))


def _session_key(user_id: str, session_id: str) -> dict[str, Any]:
    return {"pk": encode(user_pk(user_id)), "sk": encode(session_sk(session_id))}


class AccountRepository(Repository):
    def __init__(self, client: DynamoDBClient | None = None, table_name: str | None = None) -> None:
        super().__init__(client, table_name or get_settings().accounts_table_name)

    @aws_call
    def create_user(self, username: str, password_hash: str) -> User:
        user = User(user_id=new_id(), username=username, created_at=utc_now())
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": encode(f"USERNAME#{username}"),
                                "sk": encode("USERNAME"),
                                "user_id": encode(user.user_id),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                "pk": encode(user_pk(user.user_id)),
                                "sk": encode("PROFILE"),
                                "entity": encode("user"),
                                "user_id": encode(user.user_id),
                                "username": encode(username),
                                "password_hash": encode(password_hash),
                                "created_at": encode(user.created_at),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                raise UsernameTaken(f"The username {username!r} is taken.") from exc
            raise
        return user

    @aws_call
    def credentials(self, username: str) -> tuple[User, str] | None:
        """The user and password hash for ``username``, or None."""
        found = self._client.get_item(
            TableName=self._table,
            Key={"pk": encode(f"USERNAME#{username}"), "sk": encode("USERNAME")},
            ConsistentRead=True,
        )
        if "Item" not in found:
            return None
        return self.profile(decode_item(found["Item"])["user_id"])

    @aws_call
    def profile(self, user_id: str) -> tuple[User, str] | None:
        """The user and password hash for ``user_id``, or None."""
        profile = self._client.get_item(
            TableName=self._table,
            Key={"pk": encode(user_pk(user_id)), "sk": encode("PROFILE")},
            ConsistentRead=True,
        )
        if "Item" not in profile:
            return None
        data = decode_item(profile["Item"])
        return User.model_validate(data), str(data["password_hash"])

    @aws_call
    def create_session(self, user_id: str, session_id: str, refresh_jti: str, ttl: int) -> None:
        now = utc_now()
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": encode(user_pk(user_id)),
                "sk": encode(session_sk(session_id)),
                "entity": encode("session"),
                "session_id": encode(session_id),
                "refresh_jti": encode(refresh_jti),
                "created_at": encode(now),
                "ttl": encode(int((now + timedelta(seconds=ttl)).timestamp())),
            },
        )

    @aws_call
    def rotate_refresh(self, user_id: str, session_id: str, old_jti: str, new_jti: str) -> bool:
        """Swap the session's valid refresh token id; False if ``old_jti`` is not the valid one."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_session_key(user_id, session_id),
                UpdateExpression="SET refresh_jti = :new, previous_jti = :old, refreshed_at = :now",
                ConditionExpression="attribute_exists(pk) AND refresh_jti = :old"
                " AND attribute_not_exists(revoked_at)",
                ExpressionAttributeValues={
                    ":new": encode(new_jti),
                    ":old": encode(old_jti),
                    ":now": encode(utc_now()),
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _session(self, user_id: str, session_id: str) -> dict[str, Any]:
        """The session's item (empty when there is none), read consistently."""
        found = self._client.get_item(
            TableName=self._table, Key=_session_key(user_id, session_id), ConsistentRead=True
        )
        return decode_item(found.get("Item", {}))

    @aws_call
    def replaced_moments_ago(
        self, user_id: str, session_id: str, jti: str, grace_seconds: float
    ) -> str | None:
        """The session's current refresh token id, if ``jti`` is the one it replaced less than
        ``grace_seconds`` ago and the session has not ended; else None."""
        item = self._session(user_id, session_id)
        if not item or "revoked_at" in item or item.get("previous_jti") != jti:
            return None
        replaced_at = datetime.fromisoformat(str(item["refreshed_at"]))
        if (utc_now() - replaced_at).total_seconds() >= grace_seconds:
            return None
        return str(item["refresh_jti"])

    @aws_call
    def session_active(self, user_id: str, session_id: str) -> bool:
        """Whether the session exists and has not been ended (logout, refresh-token reuse).

        Reads only the attributes the WebSocket function's role may read of a session, never
        its refresh token's id."""
        found = self._client.get_item(
            TableName=self._table,
            Key=_session_key(user_id, session_id),
            ProjectionExpression=", ".join(SESSION_STATE_PROJECTION),
            ConsistentRead=True,
        )
        item = found.get("Item")
        return item is not None and "revoked_at" not in item

    @aws_call
    def revoke_session(self, user_id: str, session_id: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_session_key(user_id, session_id),
                UpdateExpression="SET revoked_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": encode(utc_now())},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


class SessionCache:
    """Which sessions were found active or ended, remembered for ``ttl_seconds`` per process.

    An access token is checked against its session on every request; this spares the read for
    a session checked moments ago. So a session ended in another process (another Lambda
    instance) stops its access tokens here within ``ttl_seconds``; ended in this one, at once.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str, session_id: str, ttl_seconds: float) -> bool | None:
        with self._lock:
            found = self._seen.get((user_id, session_id))
        if found is None or self.clock() - found[1] >= ttl_seconds:
            return None
        return found[0]

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def put(self, user_id: str, session_id: str, active: bool) -> None:
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[(user_id, session_id)] = (active, self.clock())


SESSIONS = SessionCache()


class SignInThrottle:
    """Bounds on the public sign-in endpoints, kept in DynamoDB like the question limit.

    Per client address, every login, register and refresh request counts (and new accounts have
    a lower bound of their own); per username, failed logins count, and past the limit the
    username is locked (429 with Retry-After) until the oldest failure leaves the window. A
    correct password ends the run of failures.
    """

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self._limiter = limiter or RateLimiter()

    def request(self, client: str, action: Literal["login", "register", "refresh"]) -> None:
        settings = get_api_settings()
        subject = f"CLIENT#{client}"
        self._limiter.count(
            subject,
            "sign-in",
            limit=settings.auth_attempts_per_minute,
            window_seconds=60,
            refusal="Too many sign-in requests from this address.",
        )
        if action == "register":
            self._limiter.count(
                subject,
                "register",
                limit=settings.registrations_per_hour,
                window_seconds=3600,
                refusal="Too many new accounts from this address.",
            )

    def check_username(self, username: str) -> int:
        """The username's recent failed logins; RateLimited while they lock it."""
        return self._failures(username, record=False)

    def failed(self, username: str) -> None:
        # Already at the limit (failures at the same moment) raises: the lock stands anyway.
        with suppress(RateLimited):
            self._failures(username, record=True)

    def _failures(self, username: str, *, record: bool) -> int:
        settings = get_api_settings()
        look = self._limiter.count if record else self._limiter.check
        return look(
            f"USERNAME#{username}",
            "login-failures",
            limit=settings.login_failures_before_lockout,
            window_seconds=settings.login_lockout_seconds,
            refusal="Too many failed logins for this username; it is locked for now.",
        )

    def succeeded(self, username: str) -> None:
        self._limiter.forget(f"USERNAME#{username}", "login-failures")


class AccountService:
    def __init__(
        self,
        repository: AccountRepository | None = None,
        tokens: TokenService | None = None,
        throttle: SignInThrottle | None = None,
    ) -> None:
        self._repository = repository or AccountRepository()
        self._tokens = tokens or TokenService()
        self._throttle = throttle or SignInThrottle()

    def register(self, username: str, password: str, *, client: str = UNKNOWN_CLIENT) -> User:
        self._throttle.request(client, "register")
        return self._repository.create_user(username, hash_password(password))

    def login(self, username: str, password: str, *, client: str = UNKNOWN_CLIENT) -> TokenPair:
        self._throttle.request(client, "login")
        failures = self._throttle.check_username(username)
        found = self._repository.credentials(username)
        if found is None:
            verify_password(password, _dummy_hash())
            self._throttle.failed(username)
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        user, password_hash = found
        if not verify_password(password, password_hash):
            self._throttle.failed(username)
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        if failures:  # a correct password ends the run (no write when there was none)
            self._throttle.succeeded(username)
        return self._start_session(user.user_id)

    def _start_session(self, user_id: str) -> TokenPair:
        session_id, jti = new_id(), new_id()
        ttl = get_auth_settings().refresh_token_ttl_seconds
        self._repository.create_session(user_id, session_id, jti, ttl)
        return self._tokens.issue(user_id, session_id, jti)

    def refresh(self, refresh_token: str, *, client: str = UNKNOWN_CLIENT) -> TokenPair:
        self._throttle.request(client, "refresh")
        claims = self._tokens.verify(refresh_token, "refresh")
        user_id, session_id, jti = str(claims["sub"]), str(claims["sid"]), str(claims["jti"])
        new_jti = new_id()
        if not self._repository.rotate_refresh(user_id, session_id, jti, new_jti):
            # The token just replaced, again within moments (a retried request, a second tab
            # refreshing at the same time): the same new refresh token, not a theft.
            current = self._repository.replaced_moments_ago(
                user_id, session_id, jti, get_auth_settings().refresh_grace_seconds
            )
            if current is not None:
                return self._tokens.issue(user_id, session_id, current)
            # An old (already rotated) or revoked token: possibly stolen. End the session.
            self._repository.revoke_session(user_id, session_id)
            SESSIONS.put(user_id, session_id, active=False)
            raise AuthenticationFailed("The refresh token is no longer valid; log in again.")
        return self._tokens.issue(user_id, session_id, new_jti)

    def delete_account(self, principal: Principal, password: str) -> int:
        """Delete the caller's account and everything of it, once the password confirms it is
        them; how many items went. Every session of theirs ends with it."""
        from core.privacy import PersonalData

        found = self._repository.profile(principal.user_id)
        if found is None or not verify_password(password, found[1]):
            raise AuthenticationFailed(INVALID_CREDENTIALS)
        deleted = PersonalData().delete(principal.user_id, found[0].username)
        SESSIONS.put(principal.user_id, principal.session_id, active=False)
        return deleted.items

    def logout(self, principal: Principal) -> None:
        """End the caller's session: its refresh and access tokens stop working at once."""
        self._repository.revoke_session(principal.user_id, principal.session_id)
        SESSIONS.put(principal.user_id, principal.session_id, active=False)

    def require_active(self, principal: Principal) -> Principal:
        """The principal, if its session exists and has not ended; else AuthenticationFailed."""
        ttl = get_auth_settings().session_check_seconds
        active = SESSIONS.get(principal.user_id, principal.session_id, ttl)
        if active is None:
            active = self._repository.session_active(principal.user_id, principal.session_id)
            SESSIONS.put(principal.user_id, principal.session_id, active)
        if not active:
            raise AuthenticationFailed("The session has ended; log in again.")
        return principal
