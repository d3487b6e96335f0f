"""The injected clocks: virtual time that only moves when everything waits on it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from imagegen.clock import SystemClock
from imagegen.testing import ScaledClock, VirtualClock


def test_virtual_sleepers_wake_in_deadline_order_without_real_waiting() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, s: float) -> None:
        await clock.sleep(s)
        woke.append((name, clock.monotonic()))

    async def go() -> None:
        await asyncio.gather(sleeper("c", 300), sleeper("a", 5), sleeper("b", 60), sleeper("a2", 5))

    t0 = time.monotonic()
    asyncio.run(go())
    assert time.monotonic() - t0 < 1
    assert woke == [("a", 5), ("a2", 5), ("b", 60), ("c", 300)]
    assert clock.now() == datetime(2026, 11, 24, 12, 5, tzinfo=timezone.utc)


def test_time_waits_for_busy_tasks_to_block() -> None:
    clock = VirtualClock()
    seen: list[float] = []

    async def busy() -> None:
        for _ in range(500):  # long chain of hops through the loop, no clock involved
            await asyncio.sleep(0)
        seen.append(clock.monotonic())

    async def go() -> None:
        await asyncio.gather(clock.sleep(10), busy())

    asyncio.run(go())
    assert seen == [0]


def test_hold_keeps_time_still_during_real_io() -> None:
    clock = VirtualClock()
    seen: list[float] = []

    async def io() -> None:
        with clock.hold():
            await asyncio.sleep(0.05)  # a real HTTP call on loopback, say
            seen.append(clock.monotonic())

    async def go() -> None:
        await asyncio.gather(clock.sleep(30), io())

    asyncio.run(go())
    assert seen == [0] and clock.monotonic() == 30


def test_a_cancelled_sleeper_does_not_move_time() -> None:
    clock = VirtualClock()

    async def go() -> None:
        t = asyncio.create_task(clock.sleep(100))
        await asyncio.sleep(0)
        t.cancel()
        await clock.sleep(1)

    asyncio.run(go())
    assert clock.monotonic() == 1


def test_the_clock_survives_several_event_loops() -> None:
    clock = VirtualClock()
    asyncio.run(clock.sleep(3))
    asyncio.run(clock.sleep(4))
    assert clock.monotonic() == 7
    clock.advance(3)
    assert clock.now() == VirtualClock().now() + timedelta(seconds=10)


def test_scaled_and_system_clocks() -> None:
    clock = ScaledClock(0.001, start=datetime(2026, 1, 1, tzinfo=timezone.utc))
    t0 = time.monotonic()
    asyncio.run(clock.sleep(50))  # 50 simulated seconds, 50 ms real
    assert 0.04 < time.monotonic() - t0 < 1
    assert clock.monotonic() >= 50 and clock.now() >= datetime(2026, 1, 1, 0, 0, 50, tzinfo=timezone.utc)
    sc = SystemClock()
    asyncio.run(sc.sleep(0))
    assert sc.now().tzinfo is not None
