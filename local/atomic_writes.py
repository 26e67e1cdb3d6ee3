"""DynamoDB checks a write's condition and makes the write in one step; moto does not.

Called from several threads at once (the embedded runtime serves requests and runs invocations
side by side), moto can check two writes' conditions before either is written, and then both
succeed: two hits on one rate limit counted as one, two invocations both claiming one
completion. One lock around moto's writes gives back the service's atomicity.
"""

from __future__ import annotations

import threading
from functools import wraps
from typing import Any

# Re-entrant: a transaction writes through the other methods.
_WRITE = threading.RLock()
WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


def make_dynamodb_writes_atomic() -> None:
    """Serialise moto's DynamoDB writes in this process (once; later calls change nothing)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "atomic", False):
            continue

        @wraps(original)
        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _WRITE:
                return _original(self, *args, **kwargs)

        atomic.atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, atomic)
