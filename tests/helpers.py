"""Small helpers shared by the tests."""

from __future__ import annotations

import time


def wait_until(condition, *, seconds: float) -> bool:
    """Poll `condition` until it holds or `seconds` pass; for work done by another thread or process."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
