"""``toro dev``'s WebSocket API: the same protocol as API Gateway's, on the API's own port.

- ``/ws``: what ``$connect`` and ``$disconnect`` do on AWS (core/live.py checks the ticket and
  stores the connection in the table), with the sub-protocol ``toro.v1`` selected;
- ``/@connections/{id}``: the API Gateway Management API (``POST`` sends, ``GET`` describes,
  ``DELETE`` closes; ``410 GoneException`` for a connection that is not open), which the
  functions call with boto3 through ``WEBSOCKET_ENDPOINT``, exactly as on AWS.

Mounted by ``toro dev`` only: the Lambda asset's API has no such routes (API Gateway is the
WebSocket server there).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from core.errors import AuthenticationFailed, ToroError
from core.live import PROTOCOL, connect
from core.models import new_id
from core.push import Connections
from local.iam import run_as

router = APIRouter(include_in_schema=False)
# $connect and $disconnect are the WebSocket function's on AWS: they act with its role.
WEBSOCKET = "function:websocket"
_open: dict[str, tuple[WebSocket, datetime]] = {}


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
    _open[connection_id] = (websocket, datetime.now(UTC))
    try:
        while True:
            await websocket.receive_text()  # clients have nothing to say; keep reading
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
        await found[0].send_text((await request.body()).decode())
    except (RuntimeError, WebSocketDisconnect):
        _open.pop(connection_id, None)
        return _gone(connection_id)
    return Response(status_code=200)


@router.get("/@connections/{connection_id}")
async def get_connection(connection_id: str) -> Response:
    found = _open.get(connection_id)
    if found is None:
        return _gone(connection_id)
    return JSONResponse({"connectedAt": found[1].isoformat(), "identity": {}})


@router.delete("/@connections/{connection_id}")
async def delete_connection(connection_id: str) -> Response:
    found = _open.pop(connection_id, None)
    if found is None:
        return _gone(connection_id)
    await found[0].close()
    return Response(status_code=204)


def install(app: FastAPI) -> None:
    app.include_router(router)


async def close_all() -> None:
    """Close every open connection (the stop of toro dev): clients reconnect to the next run."""
    await asyncio.gather(
        *(websocket.close(code=1001) for websocket, _ in list(_open.values())),
        return_exceptions=True,
    )
    _open.clear()
