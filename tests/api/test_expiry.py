"""Every record the system writes either expires (a DynamoDB TTL of the right length) or is
kept on purpose; a new kind of record must be placed in one of the two here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from core.cache import AnswerCache
from core.live import connect
from core.push import CONNECTION_TTL_SECONDS
from core.settings import get_api_settings, get_auth_settings, get_settings
from core.usage import TokenUsage
from local.provision import ACCOUNTS_TABLE_NAME as ACCOUNTS
from local.provision import TABLE_NAME as TABLE
from tests.api.conftest import Api
from tests.conftest import completion


@dataclass(frozen=True)
class Kind:
    name: str
    matches: Callable[[str, str], bool]
    # Seconds from its writing to its expiry; None: kept until its user's data is deleted.
    lifetime: Callable[[], int] | None


def _next_midnight_plus_two_days() -> int:
    today = datetime.now(UTC).date()
    midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return int((midnight + timedelta(days=2)).timestamp()) - int(time.time())


KINDS = [
    Kind("profile", lambda pk, sk: pk.startswith("USER#") and sk == "PROFILE", None),
    Kind("username", lambda pk, sk: pk.startswith("USERNAME#") and sk == "USERNAME", None),
    Kind("question", lambda pk, sk: pk.startswith("USER#") and sk.startswith("Q#"), None),
    Kind("conversation", lambda pk, sk: pk.startswith("USER#") and sk.startswith("CONV#"), None),
    Kind(
        "session",
        lambda pk, sk: sk.startswith("SESSION#"),
        lambda: get_auth_settings().refresh_token_ttl_seconds,
    ),
    Kind("sign-in count", lambda pk, sk: sk == "RATE#sign-in", lambda: 60),
    Kind("registrations count", lambda pk, sk: sk == "RATE#register", lambda: 3600),
    Kind(
        "failed logins",
        lambda pk, sk: sk == "RATE#login-failures",
        lambda: get_api_settings().login_lockout_seconds,
    ),
    Kind("questions count", lambda pk, sk: sk == "RATE#questions", lambda: 60),
    Kind(
        "idempotency record",
        lambda pk, sk: pk.startswith("IDEMPOTENCY#"),
        lambda: get_settings().idempotency_ttl_seconds,
    ),
    Kind("used ticket", lambda pk, sk: pk.startswith("TICKET#"), lambda: 60),
    Kind(
        "connection",
        lambda pk, sk: sk.startswith("WS#") or pk.startswith("WS#"),
        lambda: CONNECTION_TTL_SECONDS,
    ),
    Kind("tokens spent", lambda pk, sk: "USAGE#" in pk + sk, _next_midnight_plus_two_days),
    Kind(
        "cached answer",
        lambda pk, sk: pk.startswith("CACHE#"),
        lambda: get_settings().answer_cache_ttl_seconds,
    ),
]


ACCOUNT_KINDS = ("profile", "username", "session")


def _kind(item: dict[str, Any]) -> Kind:
    pk, sk = item["pk"]["S"], item["sk"]["S"]
    found = [kind for kind in KINDS if kind.matches(pk, sk)]
    assert len(found) == 1, f"{pk} / {sk} is {[k.name for k in found] or 'of no known kind'}"
    return found[0]


def test_each_record_expires_after_its_lifetime_or_is_kept(api: Api) -> None:
    started = int(time.time())
    ana = api.user("ana")
    wrong = {"username": "ana", "password": "not the password at all"}
    assert api.client.post("/api/v1/auth/login", json=wrong).status_code == 401
    asked = api.ask(ana, "O que é um CDB?", **{"Idempotency-Key": "k-1"}).json()
    ticket = api.client.post("/api/v1/live/ticket", headers=ana.headers).json()["ticket"]
    connect(f"toro.v1, ticket.{ticket}", "connection-1")
    TokenUsage().add(ana.user_id, 42)
    answered = completion("Um CDB é um título de renda fixa.")
    assert AnswerCache().put("c" * 64, asked["question_id"], answered)
    ended = int(time.time()) + 1

    dynamodb = boto3.client("dynamodb")
    tables = {table: dynamodb.scan(TableName=table)["Items"] for table in (TABLE, ACCOUNTS)}
    seen = set()
    for table, items in tables.items():
        for item in items:
            kind = _kind(item)
            # Password hashes and refresh tokens only in the table that only the API may read.
            assert (kind.name in ACCOUNT_KINDS) == (table == ACCOUNTS), (table, kind.name)
    for item in tables[TABLE] + tables[ACCOUNTS]:
        kind = _kind(item)
        seen.add(kind.name)
        where = f"{kind.name} ({item['pk']['S']} / {item['sk']['S']})"
        if kind.lifetime is None:
            assert "ttl" not in item, f"{where} must be kept"
            continue
        assert "ttl" in item, f"{where} must expire"
        lifetime = kind.lifetime()
        assert started + lifetime - 1 <= int(item["ttl"]["N"]) <= ended + lifetime, where
    assert seen == {kind.name for kind in KINDS}  # the flow above wrote every kind
