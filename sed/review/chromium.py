"""How to open a review page in headless Chromium, for tests, benchmarks and screenshots.

The page needs no browser flags of its own; these are what a headless Chromium run as root on a
machine with no network needs (Debian's ``chromium``, as the tests start it through Playwright):
no sandbox (root), no GPU, and none of the background connections to Google's services that a
closed network refuses at every start.
"""

from __future__ import annotations

#: Debian's Chromium (``apt-get install chromium``).
CHROMIUM = "/usr/bin/chromium"
#: Command-line switches for a headless Chromium as root, without network of its own.
HEADLESS_ARGUMENTS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
