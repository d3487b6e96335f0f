"""The chain end to end: the five real adapters against the fake provider server, on virtual time.

Providers are built the way the pipeline builds them (`imagegen.config.settings.load` with the server's
environment, then `spec.create(opts, ProviderContext(...))`). Each call is wrapped in
`VirtualClock.hold()` so virtual time cannot jump while a real HTTP answer is on its way; the
server answers at once (latency 0), so these tests wait no real seconds.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
import pytest

from imagegen.chain.scheduler import Chain
from imagegen.testing import VirtualClock
from imagegen.providers.base import GeneratedImage, ImageRequest, Provider, ProviderContext
from imagegen.report import Event
from imagegen.config.settings import load
from imagegen.chain.state import State
from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401
from tests.test_chain import drive

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


class Held:
    """A real provider whose calls keep the virtual clock still (real I/O in flight)."""

    def __init__(self, provider: Provider, clock: VirtualClock) -> None:
        self.provider, self.clock = provider, clock
        self.name, self.model = provider.name, provider.model

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        with self.clock.hold():
            return await self.provider.generate(request)

    async def aclose(self) -> None:
        await self.provider.aclose()


def run_chain(fp: FakeProviders, tmp_path: Path, names: list[str], posts: int, *, concurrency: int = 4,
              raw: dict[str, str] | None = None, clock: VirtualClock | None = None, state: State | None = None,
              events: list[Event] | None = None, env: dict[str, str] | None = None,
              then: Callable[[Chain], Awaitable[Any]] | None = None) -> tuple[list[Any], Chain, VirtualClock]:
    clock = clock or VirtualClock(NOW)
    settings = load({"providers": ",".join(names), **(raw or {})}, fp.env(names, **(env or {})), repo=tmp_path)
    sink = events.append if events is not None else (lambda e: None)

    async def go() -> tuple[list[Any], Chain]:
        async with httpx.AsyncClient() as http:
            members = []
            for ps in settings.providers:
                ctx = ProviderContext(http=http, clock=clock, timeout=ps.limits.timeout)
                members.append((ps, Held(ps.spec.create(ps.opts, ctx), clock)))
            chain = Chain(members, clock=clock, emit=sink, state=state, rng=random.Random(3))
            try:
                got = await drive(chain, posts, concurrency)
                if then is not None:
                    await then(chain)
            finally:
                await chain.aclose()
            return got, chain

    got, chain = asyncio.run(go())
    return got, chain, clock


def test_a_per_minute_429_clears_after_its_delay(fake_providers: FakeProviders, tmp_path: Path) -> None:
    fp = fake_providers
    fp.script("cloudflare", [{"kind": "rate_limit", "retry_after": 7}])
    events: list[Event] = []
    got, chain, clock = run_chain(fp, tmp_path, ["cloudflare"], 1, events=events)
    assert got == ["cloudflare"] and fp.count("cloudflare") == 2
    assert clock.monotonic() == 7
    [retry] = [e for e in events if e.kind == "retry"]
    assert retry.data["wait"] == 7 and chain.stats["cloudflare"].errors["rate_limit"] == 1


def test_a_gemini_retry_delay_is_waited_out(fake_providers: FakeProviders, tmp_path: Path) -> None:
    fp = fake_providers
    fp.script("gemini", [{"kind": "rate_limit", "retry_after": 41}])
    got, chain, clock = run_chain(fp, tmp_path, ["gemini"], 1)  # a reserve with nothing before it is open
    assert got == ["gemini"] and fp.count("gemini") == 2 and 41 <= clock.monotonic() <= 42


def test_a_daily_quota_at_the_third_image_of_ten(fake_providers: FakeProviders, tmp_path: Path) -> None:
    fp = fake_providers
    fp.set_behaviour("cloudflare", quota_after=2)
    events: list[Event] = []
    got, chain, _ = run_chain(fp, tmp_path, ["cloudflare", "huggingface"], 10, concurrency=1, events=events)
    assert got == ["cloudflare"] * 2 + ["huggingface"] * 8
    assert fp.count("cloudflare") == 3 and fp.count("huggingface") == 8
    cf = chain.stats["cloudflare"]
    assert (cf.calls, cf.images, cf.wasted_calls, cf.status) == (3, 2, 1, "quota")
    assert [e.provider for e in events if e.kind == "provider_out"] == ["cloudflare"]


def test_every_provider_out_stops_cleanly_with_the_rest_pending(fake_providers: FakeProviders,
                                                                 tmp_path: Path) -> None:
    fp = fake_providers
    fp.set_behaviour("cloudflare", quota_after=2)
    fp.set_behaviour("huggingface", default="quota")
    fp.set_behaviour("together", token="another-key")  # our key is refused
    fp.set_behaviour("pollinations", default="gone")
    fp.set_behaviour("gemini", quota_after=1)
    names = ["cloudflare", "huggingface", "together", "pollinations", "gemini"]
    got, chain, _ = run_chain(fp, tmp_path, names, 10, concurrency=1)
    assert got.count("cloudflare") == 2 and got.count("gemini") == 1 and got.count("pending") == 7
    assert chain.exhausted
    assert chain.stop_reason.startswith("every provider is out: cloudflare (quota until 2026-11-25 00:00 UTC)")
    assert "together (auth)" in chain.stop_reason and "pollinations (unavailable)" in chain.stop_reason
    assert "gemini (quota until 2026-11-25 08:00 UTC)" in chain.stop_reason  # midnight in Los Angeles
    assert {n: fp.count(n) for n in names} == {"cloudflare": 3, "huggingface": 1, "together": 1,
                                               "pollinations": 1, "gemini": 2}
    assert all(chain.stats[n].wasted_calls == 1 for n in names)


def test_the_state_file_carries_a_quota_across_runs_and_expires_at_the_reset(fake_providers: FakeProviders,
                                                                              tmp_path: Path) -> None:
    fp = fake_providers
    path = tmp_path / "cache" / "state.json"
    names = ["cloudflare", "huggingface"]
    fp.set_behaviour("cloudflare", quota_after=3)

    def one_run(at: datetime, posts: int = 6) -> tuple[list[Any], Chain]:
        warnings: list[str] = []
        state = State.load(path, at, warn=warnings.append)
        got, chain, _ = run_chain(fp, tmp_path, names, posts, concurrency=1, clock=VirtualClock(at), state=state)
        state.save()
        assert warnings == []
        return got, chain

    got, chain = one_run(NOW)
    assert got == ["cloudflare"] * 3 + ["huggingface"] * 3 and fp.count("cloudflare") == 4
    assert json.loads(path.read_text())["providers"]["cloudflare"]["out_until"] == "2026-11-25T00:00:00Z"

    got, chain = one_run(NOW + timedelta(hours=6))  # the same day: zero calls to Cloudflare
    assert got == ["huggingface"] * 6 and fp.count("cloudflare") == 4
    assert chain.stats["cloudflare"].calls == 0 and chain.stats["cloudflare"].status == "quota"

    fp.reset_quota("cloudflare")
    got, chain = one_run(datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc))  # after the reset
    assert got == ["cloudflare"] * 3 + ["huggingface"] * 3 and fp.count("cloudflare") == 8


def test_a_corrupt_state_file_is_ignored_with_a_warning(fake_providers: FakeProviders, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"version": 1, "providers": {"cloudflare": {"out_until": ')
    warnings: list[str] = []
    state = State.load(path, NOW, warn=warnings.append)
    got, _, _ = run_chain(fake_providers, tmp_path, ["cloudflare"], 2, state=state)
    assert got == ["cloudflare"] * 2 and len(warnings) == 1 and "not valid JSON" in warnings[0]
    state.save()
    saved = json.loads(path.read_text())
    assert saved["version"] == 1 and saved["providers"] == {} and set(saved.get("worked", {})) == {"cloudflare"}


def test_the_reserve_is_not_used_while_a_free_provider_is_busy_or_cooling(fake_providers: FakeProviders,
                                                                          tmp_path: Path) -> None:
    fp = fake_providers
    fp.script("pollinations", ["ok", {"kind": "rate_limit", "retry_after": 20}, "ok"])
    got, chain, clock = run_chain(fp, tmp_path, ["pollinations", "gemini"], 6, concurrency=4)
    assert got == ["pollinations"] * 6 and fp.count("gemini") == 0
    assert chain.stats["gemini"].calls == 0 and fp.max_concurrency("pollinations") == 1
    starts = [r.started for r in fp.requests("pollinations")]
    assert len(starts) == 7
    assert clock.monotonic() >= 5 * 5 + 20  # one at a time, 5 s apart, plus the 20 s cooldown


def test_the_reserve_takes_over_once_the_free_providers_are_out(fake_providers: FakeProviders,
                                                                tmp_path: Path) -> None:
    fp = fake_providers
    fp.set_behaviour("cloudflare", quota_after=2)
    got, chain, _ = run_chain(fp, tmp_path, ["cloudflare", "gemini"], 5, concurrency=1)
    assert got == ["cloudflare", "cloudflare", "gemini", "gemini", "gemini"]


def test_a_budget_is_respected(fake_providers: FakeProviders, tmp_path: Path) -> None:
    fp = fake_providers
    got, chain, _ = run_chain(fp, tmp_path, ["cloudflare", "huggingface"], 6,
                              raw={"provider-budget": "cloudflare=2"})
    assert got.count("cloudflare") == 2 and got.count("huggingface") == 4
    assert fp.count("cloudflare") == 2 and chain.stats["cloudflare"].status == "budget"


def test_a_bad_key_is_said_once_and_costs_one_call(fake_providers: FakeProviders, tmp_path: Path) -> None:
    fp = fake_providers
    fp.set_behaviour("together", token="a-different-key")
    events: list[Event] = []
    got, chain, _ = run_chain(fp, tmp_path, ["together", "huggingface"], 8, events=events)
    assert got == ["huggingface"] * 8
    assert fp.count("together") == 1 and chain.stats["together"].wasted_calls == 1
    outs = [e for e in events if e.kind == "provider_out"]
    assert [e.provider for e in outs] == ["together"] and outs[0].data["reason"] == "auth"


def test_refusals_and_placeholders_move_the_post_on(fake_providers: FakeProviders, tmp_path: Path) -> None:
    fp = fake_providers
    fp.script("pollinations", ["refused", "garbage"])
    got, chain, _ = run_chain(fp, tmp_path, ["pollinations", "huggingface"], 3, concurrency=1,
                              raw={"provider-min-interval": "pollinations=0"})
    assert got == ["huggingface", "huggingface", "pollinations"]
    st = chain.stats["pollinations"]
    assert st.errors["refused"] == 1 and st.errors["bad_image"] == 1 and st.status == "ok"


def test_transient_errors_are_retried_then_the_post_moves_on(fake_providers: FakeProviders, tmp_path: Path) -> None:
    fp = fake_providers
    fp.set_behaviour("huggingface", default="server_error")
    got, chain, clock = run_chain(fp, tmp_path, ["huggingface"], 1)
    assert len(got) == 1 and not isinstance(got[0], str)  # PostFailed after the bounded retries
    assert fp.count("huggingface") == 3 and 10 <= clock.monotonic() <= 25


@pytest.mark.parametrize("concurrency", [1, 4])
def test_cancellation_mid_run_leaks_nothing(fake_providers: FakeProviders, tmp_path: Path, concurrency: int) -> None:
    fp = fake_providers
    fp.set_behaviour("cloudflare", latency=0.3)  # real seconds: the cancel lands mid-call
    fp.script("huggingface", [{"kind": "rate_limit", "retry_after": 30}])
    names = ["cloudflare", "huggingface"]
    settings = load({"providers": ",".join(names)}, fp.env(names), repo=tmp_path)
    clock = VirtualClock(NOW)

    async def go() -> None:
        async with httpx.AsyncClient() as http:
            ctx = ProviderContext(http=http, clock=clock)
            members = [(ps, Held(ps.spec.create(ps.opts, ctx), clock)) for ps in settings.providers]
            chain = Chain(members, clock=clock)
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int) -> None:
                async with sem:
                    await chain.generate(f"p{i}", ImageRequest(f"prompt {i}"))

            tasks = [asyncio.create_task(one(i)) for i in range(20)]
            await asyncio.sleep(0.1)
            assert sum(lane.in_flight for lane in chain._lanes) >= 1
            for t in tasks:
                t.cancel()
            # Every post's own task, not gather(): a cancelled gather returns at the first cancelled
            # child, while the others may still be unwinding their calls.
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert any(isinstance(r, asyncio.CancelledError) for r in results)
            assert all(lane.in_flight == 0 for lane in chain._lanes) and chain._waiting == [], ([(l.name, l.in_flight) for l in chain._lanes], chain._waiting)
            fp.set_behaviour("cloudflare", latency=0.0)
            image = await chain.generate("after.md", ImageRequest("a quiet harbour"))  # still serving
            assert image.provider == "cloudflare"
            await chain.aclose()

    asyncio.run(go())
