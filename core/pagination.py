"""Opaque cursors: where the next page starts, as a URL-safe string."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Generic, TypeVar

from pydantic import BaseModel

from core.errors import InvalidCursor

T = TypeVar("T")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(**position: str) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *fields: str) -> dict[str, str]:
    """The position a cursor names; InvalidCursor for anything this service did not issue."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursor("The cursor is not valid.") from exc
    if (
        not isinstance(data, dict)
        or set(data) != set(fields)
        or not all(isinstance(v, str) and _ID.match(v) for v in data.values())
    ):
        raise InvalidCursor("The cursor is not valid.")
    return data
