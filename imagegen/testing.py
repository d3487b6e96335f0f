"""What tests and benchmarks inject in place of the real world: the virtual clocks.

Not part of the program: `.dockerignore` leaves this module out of the action's image.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timedelta, timezone
from typing import Iterator

__all__ = ["ScaledClock", "VirtualClock"]


class VirtualClock:
    """A clock whose `sleep` returns as soon as nothing else can run, with time moved forward.

    Concurrent sleepers wake in deadline order (equal deadlines together, in the order they went to
    sleep). The driver only advances time once the event loop is quiet: every other task has run
    until it blocks (on the clock, or on something only a clock sleeper can release), so concurrent
    code sees one consistent timeline without waiting real seconds.

    Real I/O (an HTTP call to a fake server on loopback) is invisible to the driver: wrap it in
    `with clock.hold():` so time cannot jump ahead while the answer is on its way. Never sleep on
    the clock while holding it (nothing would wake you).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
        self._t = 0.0
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._driver: asyncio.Task[None] | None = None
        self._holds = 0

    def monotonic(self) -> float:
        return self._t

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._t)

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (no sleeper is woken; use from synchronous tests)."""
        self._t += seconds

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep time still while real I/O is in flight (re-entrant; counts holders)."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1

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

    @staticmethod
    async def _settle(loop: asyncio.AbstractEventLoop) -> None:
        """Yield until no other callback is ready to run (bounded, in case something spins)."""
        ready = getattr(loop, "_ready", None)  # CPython's ready queue; fall back to a fixed count
        for i in range(10_000):
            await asyncio.sleep(0)
            if ready is not None:
                if i >= 2 and not ready:
                    return
            elif i >= 50:
                return

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._settle(loop)
            self._waiters = [w for w in self._waiters if not w[2].done()]
            if not self._waiters:
                return
            if self._holds:
                await asyncio.sleep(0.0005)  # real I/O in flight: let it land first
                continue
            self._waiters.sort(key=lambda w: (w[0], w[1]))
            self._t = max(self._t, self._waiters[0][0])
            due = [w for w in self._waiters if w[0] <= self._t]
            self._waiters = [w for w in self._waiters if w[0] > self._t]
            for _, _, fut in due:
                if not fut.done():
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
