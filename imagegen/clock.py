"""Time, injected. Nothing in imagegen calls time.sleep or datetime.now directly.

Tests use `VirtualClock` (sleep advances time instantly), the benchmark uses `ScaledClock`
(simulated seconds run faster than real ones), and real runs use `SystemClock`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
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


class VirtualClock:
    """A clock whose `sleep` returns at once after advancing time.

    Concurrent sleepers wake in deadline order: each sleeper registers its deadline and the clock
    only advances to the earliest pending deadline once every other task has had a chance to run,
    so concurrent code sees a consistent timeline without waiting real seconds.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
        self._t = 0.0
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._driver: asyncio.Task[None] | None = None

    def monotonic(self) -> float:
        return self._t

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._t)

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (no sleeper is woken; use from synchronous tests)."""
        self._t += seconds

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._seq += 1
        self._waiters.append((self._t + seconds, self._seq, fut))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await fut

    async def _drive(self) -> None:
        while self._waiters:
            # Let every runnable task run (and register its own sleep) before time moves.
            for _ in range(20):
                await asyncio.sleep(0)
            self._waiters = [w for w in self._waiters if not w[2].done()]
            if not self._waiters:
                break
            self._waiters.sort(key=lambda w: (w[0], w[1]))
            deadline, _, fut = self._waiters.pop(0)
            self._t = max(self._t, deadline)
            fut.set_result(None)


class ScaledClock:
    """Real time, sped up: one simulated second lasts `scale` real seconds (benchmarks)."""

    def __init__(self, scale: float, start: datetime | None = None) -> None:
        self.scale = scale
        self._t0 = time.monotonic()
        self._start = start or datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return (time.monotonic() - self._t0) / self.scale

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) * self.scale)
