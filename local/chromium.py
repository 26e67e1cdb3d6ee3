"""Debian's Chromium for the browser tests and the page benchmark (Playwright never downloads one).

``make test`` installs it (``apt-get install chromium``) when ``/usr/bin/chromium`` is missing;
``CHROMIUM`` points at another binary.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Headless and quiet: no background connections (to update, sync or phone home).
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    f"No Chromium at {CHROMIUM}. `make test` installs Debian's package (apt-get install "
    "chromium); or set CHROMIUM to another Chromium binary."
)


def launch(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        raise FileNotFoundError(MISSING)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
