"""``toro dev`` and the embedded runtime stop on Ctrl-C whichever of their threads the signal
lands on.

The kernel hands a process's SIGINT to any thread that does not block it. A main thread blocked
for good on a lock is not woken by a signal delivered to another thread: ``toro dev`` then
ignored Ctrl-C now and then (about one stop in 25) until it was killed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Waits for the stop signal while one of its other threads receives it.
PROGRAM = """
import signal, threading, time
from local.signals import wait_for_stop

def signal_this_thread():
    time.sleep(0.3)
    signal.pthread_kill(threading.get_ident(), signal.{name})

threading.Thread(target=signal_this_thread, daemon=True).start()
wait_for_stop()
print("stopped")
"""


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_stop_signal_landing_on_another_thread_stops_toro_dev(name: str) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM.format(name=name)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name} on another thread was never noticed")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "stopped"
