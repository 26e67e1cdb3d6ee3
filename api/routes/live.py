"""Live updates: a ticket that opens one WebSocket connection (core/live.py, core/push.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import CurrentUser, Tokens, root_of
from api.errors import documented
from api.schemas import LiveTicket
from core.live import PROTOCOL, TICKET_PREFIX, TICKET_TTL_SECONDS
from core.settings import get_api_settings

router = APIRouter(prefix="/live", tags=["live"])


@router.post(
    "/ticket",
    response_model=LiveTicket,
    responses=documented(401, 503),
    summary="A one-minute ticket that opens one WebSocket connection for live updates",
)
def ticket(principal: CurrentUser, tokens: Tokens, request: Request) -> LiveTicket:
    """Connect to `url` within a minute, offering the sub-protocols in `protocols`
    (`toro.v1` and `ticket.<ticket>`); each question of yours then arrives as it changes."""
    value, _ = tokens.socket_ticket(principal, TICKET_TTL_SECONDS)
    url = get_api_settings().websocket_url
    if not url:
        scheme = "wss" if request.url.scheme == "https" else "ws"
        url = f"{scheme}://{request.url.netloc}{root_of(request)}/ws"
    return LiveTicket(
        ticket=value,
        url=url,
        protocols=[PROTOCOL, f"{TICKET_PREFIX}{value}"],
        expires_in=TICKET_TTL_SECONDS,
    )
