"""A few JSON calls over HTTP for the CLI (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class Unreachable(RuntimeError):
    pass


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


def call(
    method: str,
    url: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 15,
) -> Response:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) URL
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return Response(reply.status, _json(reply.read()), _lower(reply.headers.items()))
    except urllib.error.HTTPError as exc:
        return Response(exc.code, _json(exc.read()), _lower(exc.headers.items()))
    except (urllib.error.URLError, OSError) as exc:
        raise Unreachable(f"Cannot reach {url}: {exc}") from exc


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def _lower(items: Any) -> dict[str, str]:
    """Header names in lower case (HTTP header names are case-insensitive)."""
    return {str(name).lower(): str(value) for name, value in items}
