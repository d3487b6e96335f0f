"""Time, injected. Nothing in imagegen calls time.sleep or datetime.now directly.

Real runs use `SystemClock`; tests use `imagegen.testing.VirtualClock` (sleep advances time
instantly) and benchmarks `imagegen.testing.ScaledClock` (simulated seconds run faster than real
ones). The test clocks are not part of the program and are left out of the action's image.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a monotonic scale (simulated seconds for the virtual clocks)."""
        ...

    def now(self) -> datetime:
        """The current wall-clock time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (simulated seconds for the virtual clocks)."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)
        else:
            await asyncio.sleep(0)
