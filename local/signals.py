"""Waiting for Ctrl-C (SIGINT) or SIGTERM in a process with many threads."""

from __future__ import annotations

import signal
import time


def wait_for_stop(poll_seconds: float = 0.2) -> None:
    """Until SIGINT (Ctrl-C) or SIGTERM arrives.

    The handler only notes the signal and the main thread looks every ``poll_seconds``. The
    kernel hands the signal to any of the process's threads, and one landing on another thread
    never wakes a main thread blocked for good on a lock (``Event.wait()``); a handler that took
    a lock could also deadlock with the main thread it interrupted.
    """
    received: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: received.append(number))
    while not received:
        time.sleep(poll_seconds)
