"""DynamoDB makes each request in one step; moto, serving requests on threads, does not.

Called from several threads at once (the embedded runtime serves requests and runs invocations
side by side), moto interleaves requests in two ways the service never does:

- it checks a write's condition and then writes, so two writes can both pass one condition: two
  hits on one rate limit counted as one, two invocations both claiming one completion;
- it applies an update to the stored item in place, one attribute after another, while reads
  look at that same item: a read could see a question "answered" before its answer's other
  attributes (sources, ``grounded``, ``from_cache``) were set, or fail with "dictionary changed
  size during iteration" (a 500).

One lock around each DynamoDB request, reads included, from its parsing to its response gives
back the service's atomicity and isolation of single-item requests.
"""

from __future__ import annotations

import threading
from functools import wraps
from typing import Any

# Re-entrant: moto may dispatch a request from within another on the same thread.
_REQUEST = threading.RLock()


def make_dynamodb_atomic() -> None:
    """Serialise moto's DynamoDB requests in this process (once; later calls change nothing)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "atomic", False):
        return

    @wraps(original)
    def atomic(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _REQUEST:
            return original(self, *args, **kwargs)

    atomic.atomic = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = atomic  # type: ignore[method-assign]
