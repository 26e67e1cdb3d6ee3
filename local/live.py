"""``toro dev``'s WebSocket API: the same protocol as API Gateway's, on the API's own port.

- ``/ws``: what ``$connect`` and ``$disconnect`` do on AWS (core/live.py checks the ticket and
  stores the connection in the table), with the sub-protocol ``toro.v1`` selected. Messages from
  the client (the page's ``{"action": "keepalive"}``) are read and answered with nothing, as the
  stage's ``keepalive`` route does; and, as API Gateway does, a connection with no message either
  way for ``TORO_LIVE_IDLE_SECONDS`` (600: API Gateway's 10 minutes) is closed with 1001;
- ``/@connections/{id}``: the API Gateway Management API (``POST`` sends, ``GET`` describes,
  ``DELETE`` closes; ``410 GoneException`` for a connection that is not open), which the
  functions call with boto3 through ``WEBSOCKET_ENDPOINT``, exactly as on AWS.

Mounted by ``toro dev`` only: the Lambda asset's API has no such routes (API Gateway is the
WebSocket server there).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import AuthenticationFailed, ToroError
from core.live import PROTOCOL, connect
from core.models import new_id
from core.push import Connections
from local.iam import run_as

# API Gateway closes a WebSocket connection with no message either way for 10 minutes.
IDLE_SECONDS = 600.0
GOING_AWAY = 1001

router = APIRouter(include_in_schema=False)
# $connect and $disconnect are the WebSocket function's on AWS: they act with its role.
WEBSOCKET = "function:websocket"


@dataclass
class _Connection:
    websocket: WebSocket
    connected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_active: float = field(default_factory=time.monotonic)
    last_active_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def active(self) -> None:
        self.last_active = time.monotonic()
        self.last_active_at = datetime.now(UTC)


_open: dict[str, _Connection] = {}


def idle_seconds() -> float:
    """How long a connection may stay silent both ways (``TORO_LIVE_IDLE_SECONDS``)."""
    return float(os.environ.get("TORO_LIVE_IDLE_SECONDS", IDLE_SECONDS))


def _gone(connection_id: str) -> JSONResponse:
    return JSONResponse(
        {"message": f"Connection {connection_id} is gone."},
        status_code=410,
        headers={"x-amzn-ErrorType": "GoneException"},
    )


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    connection_id = new_id()
    try:
        await run_in_threadpool(
            run_as,
            WEBSOCKET,
            connect,
            websocket.headers.get("sec-websocket-protocol"),
            connection_id,
        )
    except (AuthenticationFailed, ToroError):
        await websocket.close(code=1008)  # the handshake is refused (403), as $connect's 401
        return
    await websocket.accept(subprotocol=PROTOCOL)
    connection = _open[connection_id] = _Connection(websocket)
    idle = idle_seconds()
    try:
        while True:
            left = connection.last_active + idle - time.monotonic()
            if left <= 0:
                await websocket.close(code=GOING_AWAY)
                break
            try:
                # A keepalive, or anything else (the $default route): nothing to answer.
                await asyncio.wait_for(websocket.receive_text(), timeout=left)
            except TimeoutError:
                continue  # a push may have kept it active meanwhile: look again
            connection.active()
    except WebSocketDisconnect:
        pass
    finally:
        _open.pop(connection_id, None)
        await run_in_threadpool(run_as, WEBSOCKET, Connections().remove, connection_id)


@router.post("/@connections/{connection_id}")
async def post_to_connection(connection_id: str, request: Request) -> Response:
    found = _open.get(connection_id)
    if found is None:
        return _gone(connection_id)
    try:
        await found.websocket.send_text((await request.body()).decode())
    except (RuntimeError, WebSocketDisconnect):
        _open.pop(connection_id, None)
        return _gone(connection_id)
    found.active()
    return Response(status_code=200)


@router.get("/@connections/{connection_id}")
async def get_connection(connection_id: str) -> Response:
    found = _open.get(connection_id)
    if found is None:
        return _gone(connection_id)
    return JSONResponse(
        {
            "connectedAt": found.connected_at.isoformat(),
            "lastActiveAt": found.last_active_at.isoformat(),
            "identity": {},
        }
    )


@router.delete("/@connections/{connection_id}")
async def delete_connection(connection_id: str) -> Response:
    found = _open.pop(connection_id, None)
    if found is None:
        return _gone(connection_id)
    await found.websocket.close()
    return Response(status_code=204)


def install(app: FastAPI) -> None:
    app.include_router(router)


async def close_all() -> None:
    """Close every open connection (the stop of toro dev): clients reconnect to the next run."""
    await asyncio.gather(
        *(connection.websocket.close(code=GOING_AWAY) for connection in list(_open.values())),
        return_exceptions=True,
    )
    _open.clear()
