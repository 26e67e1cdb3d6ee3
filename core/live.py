"""Opening a live connection: the ticket a client asks for, and its check at ``$connect``.

Kept apart from core/push.py, which the workflow's functions import: this one needs the token
service (PyJWT), which only the API and the WebSocket function load.
"""

from __future__ import annotations

from core.accounts import AccountRepository, Principal, TokenService
from core.errors import AuthenticationFailed
from core.observability import MetricUnit, metrics
from core.push import Connections

PROTOCOL = "toro.v1"
TICKET_PREFIX = "ticket."
TICKET_TTL_SECONDS = 60


def ticket_from_protocols(header: str | None) -> str:
    """The ticket among the offered sub-protocols (``toro.v1, ticket.<ticket>``)."""
    offered = [p.strip() for p in (header or "").split(",")]
    if PROTOCOL not in offered:
        raise AuthenticationFailed(f"The {PROTOCOL} sub-protocol is required.")
    tickets = [p.removeprefix(TICKET_PREFIX) for p in offered if p.startswith(TICKET_PREFIX)]
    if len(tickets) != 1 or not tickets[0]:
        raise AuthenticationFailed("One ticket is required (POST /api/v1/live/ticket).")
    return tickets[0]


def connect(protocols: str | None, connection_id: str) -> Principal:
    """Accept a connection whose ticket is good; AuthenticationFailed otherwise."""
    tokens = TokenService()
    claims = tokens.verify(ticket_from_protocols(protocols), "socket")
    principal = Principal(user_id=str(claims["sub"]), session_id=str(claims["sid"]))
    if not AccountRepository().session_active(principal.user_id, principal.session_id):
        raise AuthenticationFailed("The session has ended; log in again.")
    connections = Connections()
    if not connections.redeem(str(claims["jti"]), int(claims["exp"])):
        raise AuthenticationFailed("The ticket was used already; ask for a new one.")
    connections.add(principal.user_id, connection_id)
    metrics.add_metric(name="LiveConnections", unit=MetricUnit.Count, value=1)
    return principal
