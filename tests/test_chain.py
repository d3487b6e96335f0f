"""The chain with small in-memory scripted providers on virtual time (no real seconds waited).

Each test names the row of the chain issue it covers. The fake-server versions live in
tests/test_chain_fake.py.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

import pytest

from imagegen.chain.scheduler import Chain, ChainExhausted, PostFailed, next_utc_midnight
from imagegen.testing import VirtualClock
from imagegen.images import checked_image
from imagegen.providers.base import (
    AuthFailed,
    BadImage,
    BadRequest,
    ContentRefused,
    GeneratedImage,
    ImageRequest,
    Limits,
    ProviderSpec,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from imagegen.providers.card import render
from imagegen.report import Event
from imagegen.config.settings import ProviderSettings
from imagegen.chain.state import State

PNG = render("chain tests", 32, 24)
START = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def settings(name: str, *, slots: int = 4, interval: float = 0.0, budget: int | None = None,
             reserve: bool = False, reset: Callable[[datetime], datetime] | None = None,
             probe: bool = False) -> ProviderSettings:
    """probe=False by default: exact timelines here; the probe has its own tests."""
    limits = Limits(max_in_flight=slots, min_interval=interval, probe=probe)
    spec = ProviderSpec(name=name, options=(), default_model=f"{name}-model", default_base_url="",
                        model_env=f"{name.upper()}_MODEL", enabled=lambda o: True,
                        create=lambda o, c: None,  # type: ignore[arg-type,return-value]
                        limits=limits, quota_reset=reset)
    return ProviderSettings(spec=spec, opts={}, limits=limits, budget=budget, reserve=reserve)


class Fake:
    """A scripted provider on the virtual clock.

    `script` items are consumed one per call: "ok", an exception instance, or a callable
    (prompt -> "ok" | exception). Then `default` decides. `quota_after=N`: after N images every
    call raises QuotaExhausted. Successes take `latency` virtual seconds, errors `error_latency`
    (rejections are fast in real life).
    """

    def __init__(self, name: str, clock: VirtualClock, script: Iterable[Any] = (), *, latency: float = 1.0,
                 error_latency: float = 0.0, default: Any = "ok", quota_after: int | None = None) -> None:
        self.name = name
        self.model = f"{name}-model"
        self.clock = clock
        self.script = list(script)
        self.latency = latency
        self.error_latency = error_latency
        self.default = default
        self.quota_after = quota_after
        self.calls: list[tuple[float, str]] = []
        self.images = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        prompt = request.prompt
        self.calls.append((self.clock.monotonic(), prompt))
        step = self.script.pop(0) if self.script else self.default
        if callable(step) and not isinstance(step, BaseException):
            step = step(prompt)
        if step == "ok" and self.quota_after is not None and self.images >= self.quota_after:
            step = QuotaExhausted(f"{self.name}: daily quota used up")
        if step == "ok":
            self.images += 1  # decided when the request arrives, like a real quota counter
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.clock.sleep(self.latency if step == "ok" else self.error_latency)
        finally:
            self.in_flight -= 1
        if isinstance(step, BaseException):
            raise step
        return checked_image(PNG, provider=self.name, model=self.model)

    @property
    def starts(self) -> list[float]:
        return [t for t, _ in self.calls]

    async def aclose(self) -> None:
        self.closed = True


def make_chain(clock: VirtualClock, members: list[tuple[ProviderSettings, Fake]], events: list[Event] | None = None,
               **kw: Any) -> Chain:
    kw.setdefault("rng", random.Random(7))
    return Chain(members, clock=clock, emit=(events.append if events is not None else (lambda e: None)), **kw)


async def drive(chain: Chain, n: int, concurrency: int = 4, prefix: str = "p") -> list[Any]:
    """Like the pipeline: n posts, `concurrency` at a time. Result per post: provider name,
    'pending' (ChainExhausted) or the PostFailed exception."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Any:
        async with sem:
            if chain.exhausted:
                return "pending"
            try:
                image = await chain.generate(f"{prefix}{i}", ImageRequest(f"prompt {i}"))
            except ChainExhausted:
                return "pending"
            except PostFailed as exc:
                return exc
            return image.provider

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def kinds(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]


# --------------------------------------------------------------------------- priority, throughput


def test_highest_priority_provider_takes_every_post_it_can_without_pauses() -> None:
    clock = VirtualClock()
    a, b = Fake("a", clock, latency=2), Fake("b", clock, latency=2)
    chain = make_chain(clock, [(settings("a", slots=4), a), (settings("b"), b)])
    assert run(drive(chain, 8, concurrency=4)) == ["a"] * 8
    assert clock.monotonic() == 4  # two rounds of four, no pause after an image
    assert b.calls == [] and a.max_in_flight == 4
    st = chain.stats["a"]
    assert (st.calls, st.images, st.wasted_calls, st.status, st.seconds) == (8, 8, 0, "ok", 16)


def test_a_busy_provider_spills_to_the_next_one_and_priority_comes_back() -> None:
    clock = VirtualClock()
    a, b = Fake("a", clock, latency=2), Fake("b", clock, latency=3)
    chain = make_chain(clock, [(settings("a", slots=2), a), (settings("b", slots=2), b)], patient=False)
    got = run(drive(chain, 6, concurrency=4))
    assert got.count("a") == 4 and got.count("b") == 2
    assert a.max_in_flight == 2 and b.max_in_flight == 2
    assert clock.monotonic() == 4


def test_posts_wait_for_a_busy_daily_quota_rather_than_spend_a_monthly_one() -> None:
    # Issue 8: 16 posts, Cloudflare (daily quota, 2 s, 4 slots) and Hugging Face (monthly, 4 s,
    # 2 slots) both with quota: Cloudflare frees a slot sooner than Hugging Face would answer.
    clock = VirtualClock()
    cf, hf = Fake("cf", clock, latency=2), Fake("hf", clock, latency=4)
    members = [(settings("cf", slots=4, probe=True), cf), (settings("hf", slots=2, probe=True), hf)]
    assert run(drive(make_chain(clock, members), 16, concurrency=8)) == ["cf"] * 16
    assert len(hf.calls) == 0
    # The old behaviour, for comparison: the posts that find Cloudflare busy spill down.
    clock2 = VirtualClock()
    cf2, hf2 = Fake("cf", clock2, latency=2), Fake("hf", clock2, latency=4)
    members2 = [(settings("cf", slots=4, probe=True), cf2), (settings("hf", slots=2, probe=True), hf2)]
    got = run(drive(make_chain(clock2, members2, patient=False), 16, concurrency=8))
    assert got.count("hf") >= 2


def test_a_slow_busy_provider_is_not_waited_for_when_the_next_answers_sooner() -> None:
    clock = VirtualClock()
    a, b = Fake("a", clock, latency=30), Fake("b", clock, latency=1)
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b", slots=4), b)])
    got = run(drive(chain, 12, concurrency=4))
    # Until a's first answer its latency is unknown (both assumed alike): posts wait for it. Once it
    # is known to take 30 s, b (1 s) takes the posts that find a busy.
    assert got.count("b") >= 8 and clock.monotonic() <= 60


def test_max_in_flight_and_min_interval_are_respected() -> None:
    clock = VirtualClock()
    p = Fake("p", clock, latency=1)
    chain = make_chain(clock, [(settings("p", slots=1, interval=5), p)])
    assert run(drive(chain, 4, concurrency=4)) == ["p"] * 4
    assert p.starts == [0, 5, 10, 15] and p.max_in_flight == 1
    clock = VirtualClock()
    p = Fake("p", clock, latency=10)
    chain = make_chain(clock, [(settings("p", slots=1, interval=5), p)])
    run(drive(chain, 3, concurrency=4))
    assert p.starts == [0, 10, 20]


def test_the_first_call_probes_alone_then_every_slot_opens() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, latency=2)
    chain = make_chain(clock, [(settings("a", slots=4, probe=True), a)])
    assert run(drive(chain, 8, concurrency=4)) == ["a"] * 8
    assert a.starts == [0, 2, 2, 2, 2, 4, 4, 4]  # one probe, then all four slots
    assert clock.monotonic() == 6


def test_the_state_file_saying_it_worked_last_run_opens_every_slot_at_once() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, latency=2)
    state = State(None, now=clock.now())
    state.mark_worked("a", clock.now())
    chain = make_chain(clock, [(settings("a", slots=4, probe=True), a)], state=state)
    assert run(drive(chain, 8, concurrency=4)) == ["a"] * 8
    assert a.starts == [0, 0, 0, 0, 2, 2, 2, 2] and clock.monotonic() == 4


def test_a_probe_that_fails_keeps_the_provider_at_one_call() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [TransientError("a: 502")], latency=2, error_latency=0.5)
    chain = make_chain(clock, [(settings("a", slots=4, probe=True), a)], backoff_base=1.0)
    assert run(drive(chain, 3, concurrency=3)) == ["a"] * 3
    # After the failed probe the next call probes again, alone; the slots open when it succeeds.
    assert a.starts == [0, 0.5, 2.5, 2.5]


def test_a_bad_key_costs_one_call_not_one_per_slot() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, default=AuthFailed("a: HTTP 401"), error_latency=0.2)
    b = Fake("b", clock, latency=2)
    events: list[Event] = []
    chain = make_chain(clock, [(settings("a", slots=4, probe=True), a), (settings("b", slots=4, probe=True), b)],
                       events)
    assert run(drive(chain, 4, concurrency=4)) == ["b"] * 4
    assert len(a.calls) == 1 and chain.stats["a"].wasted_calls == 1  # one wasted call, not four
    assert [e.provider for e in kinds(events, "provider_out")] == ["a"]


def test_a_quota_running_out_mid_run_costs_at_most_the_calls_in_flight() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, latency=2, error_latency=0.1, quota_after=9)
    b = Fake("b", clock, latency=2)
    chain = make_chain(clock, [(settings("a", slots=4, probe=True), a), (settings("b", slots=4, probe=True), b)])
    got = run(drive(chain, 20, concurrency=4))
    assert got.count("a") == 9 and got.count("b") == 11
    assert 1 <= chain.stats["a"].wasted_calls <= 4 and len(a.calls) == 9 + chain.stats["a"].wasted_calls


# --------------------------------------------------------------------------- rate limits


def test_rate_limit_waits_the_servers_delay_then_retries_the_same_provider() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [RateLimited("a: 429", retry_after=7)], latency=1)
    events: list[Event] = []
    chain = make_chain(clock, [(settings("a"), a)], events)
    assert run(drive(chain, 1)) == ["a"]
    assert a.starts == [0, 7]
    [retry] = kinds(events, "retry")
    assert retry.data["wait"] == 7 and retry.data["reason"] == "rate_limit" and retry.provider == "a"
    assert chain.stats["a"].errors["rate_limit"] == 1 and chain.stats["a"].wasted_calls == 0


def test_rate_limit_without_a_delay_backs_off_exponentially_with_jitter_at_most_three_times() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, default=RateLimited("a: 429"), latency=1)
    events: list[Event] = []
    chain = make_chain(clock, [(settings("a"), a)], events)
    [res] = run(drive(chain, 1))
    assert isinstance(res, PostFailed) and "after 3 retries" in res.reasons["a"]
    gaps = [t1 - t0 for t0, t1 in zip(a.starts, a.starts[1:])]
    assert len(a.calls) == 4 and len(gaps) == 3
    for gap, base in zip(gaps, (5, 10, 20)):
        assert 0.8 * base <= gap <= 1.2 * base
    assert len(set(gaps)) == 3
    assert [e.data["retry"] for e in kinds(events, "retry")] == [1, 2, 3]


def test_backoff_is_capped_at_sixty_seconds() -> None:
    chain = make_chain(VirtualClock(), [])
    assert all(chain._backoff(n) <= 60 for n in range(10))
    assert all(chain._backoff(6) >= 48 for _ in range(20))


def test_a_cooling_provider_does_not_hold_other_posts_and_returns_after_its_cooldown() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [RateLimited("a: 429", retry_after=10)], latency=1)
    b = Fake("b", clock, latency=5)
    events: list[Event] = []
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b", slots=4), b)], events)
    got = run(drive(chain, 8, concurrency=2))
    # post 0 is rate-limited at t=0 and goes to b at once (work-conserving); so do the next posts
    # while a cools; from t=10 a is back in service and has priority again.
    assert got == ["b"] * 4 + ["a", "b", "a", "a"]
    assert [t for t in a.starts if 0 < t < 10] == []
    assert min(t for t in a.starts if t > 0) == 10
    switches = kinds(events, "switch")
    assert switches and switches[0].data == {"from": "a", "to": "b", "reason": "rate_limit"}


def test_a_delay_longer_than_the_bound_is_not_waited_out() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [RateLimited("a: 429", retry_after=300)])
    b = Fake("b", clock)
    chain = make_chain(clock, [(settings("a"), a), (settings("b"), b)])
    assert run(drive(chain, 5, concurrency=1)) == ["b"] * 5
    assert len(a.calls) == 1 and clock.monotonic() == 5

    clock = VirtualClock()
    a = Fake("a", clock, [RateLimited("a: 429", retry_after=300)])
    chain = make_chain(clock, [(settings("a"), a)])
    assert run(drive(chain, 3, concurrency=1)) == ["pending"] * 3
    assert chain.exhausted and "rate limited for 300 s" in chain.stop_reason
    assert clock.monotonic() == 0


def test_the_bound_is_configurable() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [RateLimited("a: 429", retry_after=300)])
    chain = make_chain(clock, [(settings("a"), a)], max_wait=600)
    assert run(drive(chain, 1)) == ["a"] and a.starts == [0, 300]


# --------------------------------------------------------------------------- quota


def test_quota_moves_the_post_on_at_once_and_keeps_the_provider_out_until_its_reset() -> None:
    clock = VirtualClock()
    reset = datetime(2026, 11, 25, tzinfo=timezone.utc)
    a = Fake("a", clock, ["ok", "ok", QuotaExhausted("a: daily free allocation used", reset_at=reset)])
    b = Fake("b", clock)
    events: list[Event] = []
    state = State(None, now=clock.now())
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b", slots=1), b)], events, state=state)
    got = run(drive(chain, 10, concurrency=1))
    assert got == ["a", "a"] + ["b"] * 8
    assert len(a.calls) == 3  # nothing after the quota answer
    st = chain.stats["a"]
    assert (st.images, st.wasted_calls, st.status, st.errors["quota"]) == (2, 1, "quota", 1)
    [out] = kinds(events, "provider_out")
    assert out.provider == "a" and out.data == {"reason": "quota", "until": "2026-11-25 00:00 UTC"}
    assert state.entries["a"].out_until == reset
    assert not chain.exhausted


def test_quota_reset_falls_back_to_the_specs_rule_then_to_the_next_utc_midnight() -> None:
    clock = VirtualClock(START)
    monthly = lambda now: datetime(2026, 12, 1, tzinfo=timezone.utc)  # noqa: E731
    a = Fake("a", clock, default=QuotaExhausted("a: 402"))
    b = Fake("b", clock, default=QuotaExhausted("b: 402"))
    state = State(None, now=clock.now())
    chain = make_chain(clock, [(settings("a", reset=monthly), a), (settings("b"), b)], state=state)
    assert run(drive(chain, 2, concurrency=1)) == ["pending", "pending"]
    assert state.entries["a"].out_until == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert state.entries["b"].out_until == next_utc_midnight(START) == datetime(2026, 11, 25, tzinfo=timezone.utc)


def test_no_call_starts_after_a_quota_answer_even_with_posts_in_flight() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, latency=2, quota_after=9)
    b = Fake("b", clock, latency=2)
    chain = make_chain(clock, [(settings("a", slots=4), a), (settings("b", slots=4), b)])
    got = run(drive(chain, 20, concurrency=4))
    assert got.count("a") == 9 and got.count("b") == 11
    first_quota = min(t + 0 for (t, _), i in zip(a.calls, range(len(a.calls))) if i >= 9)
    assert all(t <= first_quota for t in a.starts)
    # the calls already on the wire when the quota ran out are the only wasted ones
    assert chain.stats["a"].wasted_calls == len(a.calls) - 9 <= 4


# --------------------------------------------------------------------------- auth, unavailable


@pytest.mark.parametrize("exc", [AuthFailed("a: HTTP 401 bad token"), ProviderUnavailable("a: HTTP 410 Gone")])
def test_auth_and_unavailable_take_the_provider_out_for_the_run_said_once(exc: Exception) -> None:
    clock = VirtualClock()
    a = Fake("a", clock, default=exc)
    b = Fake("b", clock)
    events: list[Event] = []
    state = State(None, now=clock.now())
    chain = make_chain(clock, [(settings("a", probe=True), a), (settings("b"), b)], events, state=state)
    assert run(drive(chain, 8, concurrency=4)) == ["b"] * 8
    assert len(a.calls) == 1
    assert [e.provider for e in kinds(events, "provider_out")] == ["a"]
    assert chain.stats["a"].status == exc.kind and chain.stats["a"].wasted_calls == 1  # type: ignore[attr-defined]
    assert state.entries == {}  # per run only, never remembered


# --------------------------------------------------------------------------- transient, refusals


def test_transient_errors_are_retried_with_backoff_then_the_post_moves_on() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [TransientError("a: HTTP 502"), TransientError("a: HTTP 503")])
    chain = make_chain(clock, [(settings("a"), a)])
    assert run(drive(chain, 1)) == ["a"]
    assert len(a.calls) == 3 and 4 <= a.starts[1] <= 6 and 12 <= a.starts[2] <= 18

    clock = VirtualClock()
    a = Fake("a", clock, default=TransientError("a: HTTP 500"))
    b = Fake("b", clock, latency=30)
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b", slots=1), b)])
    got = run(drive(chain, 1))
    assert got == ["b"] and len(a.calls) == 1  # b could take it at once: no waiting on a's backoff

    clock = VirtualClock()
    a = Fake("a", clock, default=TransientError("a: HTTP 500"))
    chain = make_chain(clock, [(settings("a"), a)])
    [res] = run(drive(chain, 1))
    assert isinstance(res, PostFailed) and "after 2 retries" in res.reasons["a"] and len(a.calls) == 3


def test_a_server_hint_on_a_transient_error_is_used_and_bounded() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [TransientError("a: loading", retry_after=20)])
    chain = make_chain(clock, [(settings("a"), a)])
    assert run(drive(chain, 1)) == ["a"] and a.starts == [0, 20]
    clock = VirtualClock()
    a = Fake("a", clock, [TransientError("a: loading", retry_after=600)])
    b = Fake("b", clock)
    chain = make_chain(clock, [(settings("a"), a), (settings("b"), b)])
    assert run(drive(chain, 1)) == ["b"] and len(a.calls) == 1


@pytest.mark.parametrize("exc", [ContentRefused("a: IMAGE_SAFETY"), BadImage("a: HTML"), BadRequest("a: HTTP 400")])
def test_refused_bad_image_and_bad_request_go_to_the_next_provider_without_an_identical_retry(exc: Exception) -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [exc])
    b = Fake("b", clock)
    events: list[Event] = []
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b"), b)], events)
    assert run(drive(chain, 3, concurrency=1)) == ["b", "a", "a"]
    assert [p for _, p in a.calls].count("prompt 0") == 1
    assert chain.stats["a"].status == "ok" and chain.stats["a"].wasted_calls == 0
    [sw] = kinds(events, "switch")
    assert sw.post == "p0" and sw.data["from"] == "a" and sw.data["to"] == "b"


def test_a_post_every_provider_refused_fails_with_each_reason_and_tries_the_reserve_last() -> None:
    clock = VirtualClock()
    refuse = lambda p: ContentRefused("refused") if p == "prompt 0" else "ok"  # noqa: E731
    a, b, g = Fake("a", clock, default=refuse), Fake("b", clock, default=refuse), Fake("g", clock, default=refuse)
    chain = make_chain(clock, [(settings("a"), a), (settings("b"), b), (settings("g", reserve=True), g)])
    got = run(drive(chain, 3, concurrency=1))
    assert isinstance(got[0], PostFailed) and got[1:] == ["a", "a"]
    assert set(got[0].reasons) == {"a", "b", "g"} and all("refused" in r for r in got[0].reasons.values())
    assert len(g.calls) == 1  # the reserve only saw the post the free providers all refused
    assert not chain.exhausted


def test_an_adapter_bug_fails_the_post_there_and_not_the_run() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [KeyError("boom")])
    b = Fake("b", clock)
    chain = make_chain(clock, [(settings("a"), a), (settings("b"), b)])
    assert run(drive(chain, 2, concurrency=1)) == ["b", "a"]
    assert chain.stats["a"].errors["error"] == 1


# --------------------------------------------------------------------------- every provider out


def test_when_every_provider_is_out_the_chain_stops_cleanly_and_the_rest_are_pending() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, ["ok", "ok", QuotaExhausted("a: quota")])
    b = Fake("b", clock, default=AuthFailed("b: 401"))
    c = Fake("c", clock, ["ok", QuotaExhausted("c: quota")])
    events: list[Event] = []
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b"), b), (settings("c", slots=1), c)], events)
    got = run(drive(chain, 10, concurrency=2))
    assert got.count("a") == 2 and got.count("c") == 1 and got.count("pending") == 7
    assert chain.exhausted
    assert chain.stop_reason.startswith("every provider is out: a (quota until")
    assert "b (auth)" in chain.stop_reason and "c (quota until" in chain.stop_reason
    assert len(kinds(events, "stop")) == 1
    calls = len(a.calls) + len(b.calls) + len(c.calls)

    async def later() -> None:
        with pytest.raises(ChainExhausted):
            await chain.generate("late.md", ImageRequest("x"))

    run(later())
    assert len(a.calls) + len(b.calls) + len(c.calls) == calls  # no call after the stop


def test_posts_waiting_when_the_last_provider_goes_out_are_pending() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, ["ok", QuotaExhausted("a: quota")], latency=5, error_latency=5)
    chain = make_chain(clock, [(settings("a", slots=1), a)])
    got = run(drive(chain, 4, concurrency=4))
    assert got == ["a", "pending", "pending", "pending"] and len(a.calls) == 2


# --------------------------------------------------------------------------- reserve


def test_the_reserve_is_never_used_while_a_free_provider_is_merely_busy_or_cooling() -> None:
    clock = VirtualClock()
    free = Fake("free", clock, ["ok", RateLimited("429", retry_after=30)], latency=10)
    gem = Fake("gemini", clock, latency=1)
    chain = make_chain(clock, [(settings("free", slots=1, interval=5), free),
                               (settings("gemini", slots=2, reserve=True), gem)])
    got = run(drive(chain, 6, concurrency=4))
    assert got == ["free"] * 6 and gem.calls == []
    assert clock.monotonic() > 60  # they waited for the slow free provider instead


def test_the_reserve_opens_once_every_earlier_free_provider_is_out() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, ["ok", "ok", QuotaExhausted("a: quota")])
    b = Fake("b", clock, default=AuthFailed("b: 401"))
    gem = Fake("gemini", clock)
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b"), b),
                               (settings("gemini", reserve=True), gem)])
    got = run(drive(chain, 6, concurrency=1))
    assert got == ["a", "a", "gemini", "gemini", "gemini", "gemini"]
    assert len(b.calls) == 1


def test_budget_is_respected_and_counts_as_out_for_the_reserve() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, latency=2)
    gem = Fake("gemini", clock)
    events: list[Event] = []
    chain = make_chain(clock, [(settings("a", budget=3), a), (settings("gemini", reserve=True, budget=2), gem)],
                       events)
    got = run(drive(chain, 8, concurrency=4))
    assert got.count("a") == 3 and got.count("gemini") == 2 and got.count("pending") == 3
    assert len(a.calls) == 3 and len(gem.calls) == 2  # never a call beyond the budget
    assert chain.stats["a"].status == "budget" and chain.stats["gemini"].status == "budget"
    assert chain.exhausted and "a (budget)" in chain.stop_reason
    assert [e.provider for e in kinds(events, "provider_out")] == ["a", "gemini"]


def test_a_failed_call_gives_its_budget_back() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [BadImage("placeholder")], latency=2)
    chain = make_chain(clock, [(settings("a", budget=2), a)])
    got = run(drive(chain, 3, concurrency=3))
    assert got.count("a") == 2 and chain.stats["a"].images == 2 and len(a.calls) == 3


# --------------------------------------------------------------------------- cancellation


def test_cancelling_posts_mid_call_and_mid_wait_leaks_no_slot() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, latency=10)
    chain = make_chain(clock, [(settings("a", slots=1), a)])

    async def go() -> None:
        tasks = [asyncio.create_task(chain.generate(f"p{i}", ImageRequest("x"))) for i in range(3)]
        await clock.sleep(1)  # one call in flight, two posts waiting
        assert chain._lanes[0].in_flight == 1 and len(chain._waiting) == 2
        for t in tasks:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert chain._lanes[0].in_flight == 0 and chain._waiting == []
        t0 = clock.monotonic()
        image = await chain.generate("after.md", ImageRequest("x"))  # the provider is free at once
        assert image.provider == "a" and clock.monotonic() - t0 == 10

    run(go())
    assert chain.stats["a"].seconds == 11  # the cancelled call's time is counted too


def test_a_slot_granted_to_a_post_cancelled_before_it_ran_is_given_back() -> None:
    clock = VirtualClock()
    a = Fake("a", clock)
    chain = make_chain(clock, [(settings("a", slots=1), a)])
    lane = chain._lanes[0]

    async def go() -> None:
        lane.in_flight = 1  # someone else holds the only slot
        t = asyncio.create_task(chain.generate("p.md", ImageRequest("x")))
        await asyncio.sleep(0)
        assert len(chain._waiting) == 1
        lane.in_flight -= 1
        chain._dispatch()  # the slot goes to the waiting post ...
        assert lane.in_flight == 1
        t.cancel()  # ... which is cancelled before it could use it
        with pytest.raises(asyncio.CancelledError):
            await t
        assert lane.in_flight == 0 and a.calls == []

    run(go())


def test_aclose_closes_every_provider_and_cancels_the_timer() -> None:
    clock = VirtualClock()
    a, b = Fake("a", clock), Fake("b", clock)
    chain = make_chain(clock, [(settings("a"), a), (settings("b"), b)])
    run(chain.aclose())
    assert a.closed and b.closed


# --------------------------------------------------------------------------- visibility


def test_events_and_stats_tell_the_story() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, [RateLimited("a: 429", retry_after=3), QuotaExhausted("a: quota")], latency=2)
    b = Fake("b", clock, [ContentRefused("b: unsafe")], latency=3)
    c = Fake("c", clock, latency=4)
    events: list[Event] = []
    chain = make_chain(clock, [(settings("a", slots=1), a), (settings("b", slots=1), b), (settings("c"), c)], events)
    got = run(drive(chain, 2, concurrency=1))
    assert got == ["c", "b"]  # p1 (t=4): a has cooled down, answers quota; b takes it
    lines = [(e.kind, e.post, e.provider) for e in events]
    assert lines[:2] == [("generating", "p0", "a"), ("retry", "p0", "a")]
    assert ("switch", "p0", "b") in lines and ("provider_out", "", "a") in lines
    assert lines.count(("provider_out", "", "a")) == 1
    sa, sb, sc = chain.stats["a"], chain.stats["b"], chain.stats["c"]
    assert (sa.calls, sa.images, sa.errors["rate_limit"], sa.errors["quota"], sa.wasted_calls) == (2, 0, 1, 1, 1)
    assert (sb.calls, sb.images, sb.errors["refused"], sb.wasted_calls, sb.status) == (2, 1, 1, 0, "ok")
    assert (sc.calls, sc.images, sc.seconds) == (1, 1, 4)
    assert ("switch", "p1", "b") in lines
    assert sa.status == "quota"


def test_cancelling_a_post_waiting_behind_the_probe_leaves_no_slot_taken() -> None:
    clock = VirtualClock()
    a = Fake("a", clock, latency=10)
    chain = make_chain(clock, [(settings("a", slots=4, probe=True), a)])
    lane = chain._lanes[0]

    async def go() -> None:
        first = asyncio.create_task(chain.generate("p0", ImageRequest("x")))
        second = asyncio.create_task(chain.generate("p1", ImageRequest("x")))
        await clock.sleep(0.2)  # p0 is the probe on the wire, p1 waits for it
        assert lane.in_flight == 1 and len(a.calls) == 1
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        assert lane.in_flight == 1
        await first
        assert lane.in_flight == 0 and len(a.calls) == 1

    run(go())
