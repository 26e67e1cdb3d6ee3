"""Page cursors: opaque, URL-safe without escaping, and read back as the position they name."""

from __future__ import annotations

import re

import pytest

from core.errors import InvalidCursor
from core.pagination import decode_cursor, encode_cursor

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")  # no padding, nothing a query string must escape


@pytest.mark.parametrize("length", range(1, 65))
def test_every_position_makes_a_url_safe_cursor_that_reads_back(length: int) -> None:
    """Every id length, so the encoding ends on each of base64's padding cases."""
    position = ("01JDXQ3M7T4W5Y8Z9A0B1C2D3E" * 3)[:length]
    cursor = encode_cursor(after=position)
    assert URL_SAFE.match(cursor), cursor
    assert decode_cursor(cursor, "after") == {"after": position}
    two = encode_cursor(phase="read", after=position)
    assert URL_SAFE.match(two), two
    assert decode_cursor(two, "phase", "after") == {"phase": "read", "after": position}


@pytest.mark.parametrize(
    "cursor",
    ["", "not base64!", "eyJhZnRlciI6IDF9", encode_cursor(before="01JDXQ3M7T4W5Y8Z9A0B1C2D3E")],
)
def test_anything_else_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as raised:
        decode_cursor(cursor, "after")
    assert raised.value.message == "The cursor is not valid."
