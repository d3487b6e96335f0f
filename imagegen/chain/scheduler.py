"""The provider chain: priority order, retries, quota fallback, cooldowns, pacing, reserves, budgets.

Interface used by the pipeline (keep it stable)::

    state = State.load(path, clock.now(), warn=...)      # or None (imagegen.chain.state)
    chain = Chain(members, clock=clock, emit=emit, state=state)
    image = await chain.generate(post_rel, request)      # ImageRequest -> GeneratedImage; call from N tasks at once
        raises ChainExhausted  when every provider is out (the post is *pending*, not failed)
        raises PostFailed      when every provider that could take this post failed it (.reasons)
    chain.exhausted            # True once no provider can take any more posts (sticky)
    chain.stop_reason          # why, in one line ("" while not exhausted)
    chain.stats                # {name: ProviderStats}
    await chain.aclose()
    state.save()               # the pipeline saves; the chain only updates `state`

How a post finds a provider (the scheduler)
-------------------------------------------
Every post waiting for a provider sits in one queue, oldest first (a post that was rate-limited
keeps its place). Whenever something changes -- a call ends, a cooldown or pacing interval runs
out, a post arrives -- `_dispatch` walks the queue and gives each post the highest-priority
provider that can take it *now*:

- not out (quota until its reset, auth/unavailable for the run, budget spent);
- not failed for this post already (refused, bad image, bad request, retries used up);
- a reserve provider only once every earlier non-reserve provider is out (or has failed this post);
  busy or cooling providers never open the reserve;
- a free slot (`Limits.max_in_flight`), its `min_interval` since the last request *start*, its
  rate-limit cooldown over, and for this post its own retry backoff over; with a budget, images +
  calls in flight below the budget.

Each provider opens with a **probe**: its first call of the run goes alone, and its full slot count
(`Limits.max_in_flight`) opens once that call made an image -- or at once when the state file says
the provider worked on its last run. A bad key, a used-up quota or a retired model therefore costs
one call, not one per slot; a provider that runs out mid-run may cost up to its calls in flight
(counted as `wasted_calls`). After a retired model the provider probes its next model the same way.
A provider's models (which one is called, which are retired, whether it is proven) are its
`ModelFallback` (chain/fallback.py), the same logic the describer's text models go through.

If no provider can take the post now, it waits for the next change (work-conserving: a cooling
provider does not hold the post if another can take it now). A provider that will not be ready
within `max_wait` (60 s) is not waited for by anyone. A post with nowhere left to go ends: with
ChainExhausted if no provider can take *any* post (the chain then stops for the run), else
PostFailed. There is no fixed pause after an image.

What each error does (`_on_error`)
---------------------------------
| error | provider | this post |
|---|---|---|
| RateLimited | cools down for the server's delay (`retry_after`), else 5-10-20-40-60 s backoff +/-20% jitter; after 6 in a row with no image, out for the run (a limit that does not lift: a spending cap) | back in the queue (keeps its place): the next provider able now, or this one when it has cooled; after 3 rate limits here, or a delay over `max_wait`, never this one again |
| QuotaExhausted | out until `reset_at`, else `spec.quota_reset(now)`, else next 00:00 UTC; written to the state | moves on at once |
| AuthFailed, ProviderUnavailable | out for the run (not remembered) | moves on at once |
| ModelUnavailable | that model is out (remembered for 7 days in the state); the provider goes on with its next model, out ("retired") when none is left; one warning names the model and its replacement | tries the provider's next model at once |
| TransientError | - | retried here after a backoff (or the server's hint), at most 2 times; meanwhile another provider may take it |
| ContentRefused, BadImage, BadRequest | - | never this one again (no identical retry) |

Quota, auth, unavailable and retired answers count as `wasted_calls`; each provider's `provider_out` event is
emitted once. Events per post: generating, retry, switch; `stop` once when the chain gives up.
"""

from __future__ import annotations

import asyncio
import math
import random
from functools import partial
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from imagegen.clock import Clock, SystemClock
from imagegen.providers.base import (
    AuthFailed,
    Note,
    Queued,
    RouteOut,
    GeneratedImage,
    ImageRequest,
    ModelUnavailable,
    Provider,
    ProviderError,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TransientError,
    next_utc_midnight,
)
from imagegen.report import Event, EventSink, PendingReason, ProviderStats, fmt_until, null_sink
from imagegen.redact import redact
from imagegen.chain.fallback import ModelFallback, Retired
from imagegen.chain.state import MAX_AHEAD

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.chain.state import State
    from imagegen.config.settings import ProviderSettings

MAX_WAIT = 60.0
"""Longest delay (s) a post waits out for one provider (server delay, backoff or cooldown)."""
RATE_LIMIT_RETRIES = 3
"""Rate-limit retries per post and provider before the post moves on."""
RATE_LIMITS_OUT = 6
"""Rate-limit answers in a row from one provider, with no image between them, after which it is out
for the run: a limit that does not lift within minutes (a spending cap, a monthly limit answered
like a per-minute one, whose body nobody has recorded yet) must not be retried for every post."""
TRANSIENT_RETRIES = 2
"""Retries per post and provider after transient errors (5xx, timeouts, loading) before moving on."""
DEFAULT_LATENCY = 10.0
"""Seconds a provider is assumed to take to answer before it made its first image this run."""
BACKOFF_BASE = 5.0
BACKOFF_MAX = 60.0


class ChainExhausted(Exception):
    """Every provider is out (quota, auth, unavailable, budget): remaining posts are pending."""


class PostFailed(Exception):
    """Every provider that could take this post failed it. `reasons` maps provider -> reason."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(f"{k}: {v}" for k, v in reasons.items()) or "no provider could take this post")


@dataclass
class Member:
    settings: "ProviderSettings"
    provider: Provider


@dataclass(eq=False)
class _Lane:
    """One provider's run-time state."""

    index: int
    settings: "ProviderSettings"
    provider: Provider
    stats: ProviderStats
    fallback: ModelFallback
    """Its models: the one called (`current`), those still usable, whether the current one is proven."""
    in_flight: int = 0
    next_start: float = 0.0
    """Monotonic time before which no request may start (min_interval, start to start)."""
    cool_until: float = 0.0
    """Monotonic end of a rate-limit cooldown (every post waits for it)."""
    out: str = ""
    """quota | auth | unavailable | budget: not taking posts (quota until `out_until`)."""
    out_until: datetime | None = None
    out_message: str = ""
    latency: float | None = None
    """Moving average of its successful calls' durations this run (None: none yet)."""
    call_starts: list[float] = field(default_factory=list)
    """Monotonic starts of its calls in flight."""
    rate_limited_in_a_row: int = 0
    """Rate-limit answers since its last image (see RATE_LIMITS_OUT)."""

    def expected_latency(self) -> float:
        return self.latency if self.latency is not None else DEFAULT_LATENCY

    def free_at(self, mono: float) -> float:
        """When a slot is expected to free up (now when one is free)."""
        if self.in_flight < self.slots:
            return mono
        if not self.call_starts:
            return mono + self.expected_latency()
        return min(self.call_starts) + self.expected_latency()

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def reserve(self) -> bool:
        return self.settings.reserve

    @property
    def budget(self) -> int | None:
        return self.settings.budget

    @property
    def slots(self) -> int:
        """Calls allowed in flight now: 1 while its current model is probed, else its max_in_flight."""
        if not self.fallback.is_proven() and self.settings.limits.probe:
            return 1
        return max(1, self.settings.limits.max_in_flight)

    @property
    def model(self) -> str:
        return self.fallback.current or self.settings.model

    def fix(self, error: ProviderError) -> str:
        """The provider's own advice for `error` ('' when it has none: waiting is the answer)."""
        own = self.settings.spec.doctor_fix
        return own(error) if own is not None else ""

    @property
    def fingerprint(self) -> str:
        """Its credentials' fingerprint: a quota remembered in the state file holds for them only."""
        return self.settings.spec.fingerprint(self.settings.opts)

    def ready_at(self) -> float:
        return max(self.cool_until, self.next_start)


@dataclass(eq=False)
class _Job:
    """One post looking for a provider."""

    post: str
    seq: int
    failed: dict[str, str] = field(default_factory=dict)
    """Providers that failed this post (no identical retry) -> reason."""
    reasons: dict[str, str] = field(default_factory=dict)
    not_before: dict[str, float] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    transient: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    last: str = ""
    last_reason: str = ""
    fut: "asyncio.Future[_Lane] | None" = None


class Chain:
    def __init__(
        self,
        members: Sequence[tuple["ProviderSettings", Provider]],
        *,
        clock: Clock | None = None,
        emit: EventSink = null_sink,
        state: "State | None" = None,
        max_wait: float = MAX_WAIT,
        rate_limit_retries: int = RATE_LIMIT_RETRIES,
        transient_retries: int = TRANSIENT_RETRIES,
        backoff_base: float = BACKOFF_BASE,
        backoff_max: float = BACKOFF_MAX,
        rng: random.Random | None = None,
        patient: bool = True,
        rate_limits_out: int = RATE_LIMITS_OUT,
    ) -> None:
        self.members = [Member(s, p) for s, p in members]
        self.clock = clock or SystemClock()
        self.emit = emit
        self.state = state
        self.max_wait = max_wait
        self.rate_limit_retries = rate_limit_retries
        self.rate_limits_out = rate_limits_out
        self.transient_retries = transient_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.rng = rng or random.Random()
        self.patient = patient
        """Wait for a busy higher-priority provider that frees up sooner than a lower one would
        answer, instead of spilling down the chain (daily quota before monthly or paid)."""
        self.stats: dict[str, ProviderStats] = {m.settings.name: ProviderStats() for m in self.members}
        now = self.clock.now()
        self._lanes = [_Lane(i, m.settings, m.provider, self.stats[m.settings.name],
                             ModelFallback(m.settings.name, m.settings.models, state=state, now=now,
                                           worked_last_run=state is not None and state.worked_last_run(m.settings.name)))
                       for i, m in enumerate(self.members)]
        self._waiting: list[_Job] = []
        self._seq = 0
        self._timer: asyncio.Task[None] | None = None
        self._timer_at = math.inf
        self._stopped = False
        self.stop_reason = ""
        for lane in self._lanes:
            self._remembered(lane, now)

    def _remembered(self, lane: _Lane, now: datetime) -> None:
        """What the state file says about a provider at the start: retired models, a quota out."""
        if self.state is None:
            return
        retired = lane.fallback.remembered
        for r in retired:
            self._warn_retired(lane, r)
        if retired and not lane.fallback.usable:
            self._set_out(lane, "retired", None, "every configured model is retired (remembered from the "
                          f"state file): {', '.join(r.model for r in retired)}")
            return
        entry = self.state.out_until(lane.name, now, key=lane.fingerprint)
        if entry is not None:
            until = entry.out_until
            why = f"{entry.reason or 'quota'} used up until {fmt_until(until)} (remembered from the state file)"
            self._set_out(lane, entry.reason or "quota", until, why, fix=lane.fix(QuotaExhausted(why)))

    # ------------------------------------------------------------------ public

    @property
    def exhausted(self) -> bool:
        """True once no provider can take any more posts this run. Sticky: the chain has stopped."""
        if not self._stopped and self._none_usable(self.clock.monotonic()):
            self._stop()
        return self._stopped

    async def generate(self, post: str, request: ImageRequest) -> GeneratedImage:
        """One image for `post`. Safe to call from many tasks at once, and to cancel. Each call
        gets `request` with the model of the provider it goes to (`request.model` is ignored)."""
        if self._stopped:
            raise ChainExhausted(self.stop_reason)
        self._seq += 1
        job = _Job(post, self._seq)
        while True:
            lane = await self._acquire(job)
            name = lane.name
            model = lane.model
            if job.last and job.last != name:
                self.emit(Event.switch(post, name, from_provider=job.last, reason=job.last_reason))
            job.attempts[name] = job.attempts.get(name, 0) + 1
            self.emit(Event.generating(post, name, model, job.attempts[name]))
            st = lane.stats
            st.calls += 1
            t0 = self.clock.monotonic()
            lane.call_starts.append(t0)
            error: BaseException | None = None
            image: GeneratedImage | None = None
            try:
                try:
                    image = await lane.provider.generate(replace(request, model=model,
                                                                 notify=partial(self._note, post, lane)))
                except ProviderError as exc:
                    error = exc
                except Exception as exc:  # an adapter bug must not take the whole run down
                    error = exc
                took = self.clock.monotonic() - t0
                st.seconds += took
                if error is None:
                    lane.latency = took if lane.latency is None else 0.7 * lane.latency + 0.3 * took
                    self._on_success(lane)
                else:
                    self._on_error(job, lane, error, model)
            except BaseException:  # cancelled mid-call: count the time, give the slot back
                if error is None and image is None:
                    st.seconds += self.clock.monotonic() - t0
                raise
            finally:
                lane.in_flight -= 1
                lane.call_starts.remove(t0)
                self._dispatch()
            if image is not None:
                return image
            job.last = name

    async def aclose(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None
        for job in self._waiting:
            if job.fut is not None and not job.fut.done():
                job.fut.set_exception(ChainExhausted("the chain was closed"))
        self._waiting.clear()
        for m in self.members:
            try:
                await m.provider.aclose()
            except Exception:  # closing must not mask the run's own outcome
                pass

    # ------------------------------------------------------------------ outcomes

    def _on_success(self, lane: _Lane) -> None:
        lane.stats.images += 1
        lane.rate_limited_in_a_row = 0
        lane.fallback.succeeded()  # the probe worked: every slot opens
        if self.state is not None:
            self.state.mark_worked(lane.name, self.clock.now())
        if lane.budget is not None and lane.stats.images >= lane.budget and not lane.out:
            self._set_out(lane, "budget", None, f"budget of {lane.budget} image(s) used")

    def _on_error(self, job: _Job, lane: _Lane, exc: BaseException, model: str = "") -> None:
        """What an error does to the provider and to this post (the table in the module docstring)."""
        kind = exc.kind if isinstance(exc, ProviderError) else "error"
        message = str(exc) if isinstance(exc, ProviderError) else redact(f"unexpected {type(exc).__name__}: {exc}")
        lane.stats.errors[kind] = lane.stats.errors.get(kind, 0) + 1
        job.reasons[lane.name] = f"{kind}: {message}"
        job.last_reason = kind
        if isinstance(exc, QuotaExhausted):
            self._quota_out(lane, exc, message)
        elif isinstance(exc, (AuthFailed, ProviderUnavailable)):
            self._run_out(lane, kind, message)
        elif isinstance(exc, ModelUnavailable):
            self._model_out(lane, exc, model, message)
        elif isinstance(exc, RateLimited):
            self._rate_limited(job, lane, exc, message)
        elif isinstance(exc, TransientError):
            self._transient(job, lane, exc, message)
        else:  # ContentRefused, BadImage, BadRequest (and adapter bugs): next provider, no identical retry.
            job.failed[lane.name] = f"{kind}: {message}"

    def _quota_out(self, lane: _Lane, exc: QuotaExhausted, message: str) -> None:
        """Out until its reset, remembered across runs; the post moves on at once."""
        lane.stats.wasted_calls += 1
        now = self.clock.now()
        reset = exc.reset_at
        if reset is None and lane.settings.spec.quota_reset is not None:
            reset = lane.settings.spec.quota_reset(now)
        if reset is None or reset <= now:
            reset = next_utc_midnight(now)  # a daily quota is the common case: one call a day
        reset = min(reset, now + MAX_AHEAD)
        if self.state is not None:
            self.state.mark_out(lane.name, reset, "quota", now=now, key=lane.fingerprint)
        if lane.out != "quota":
            self._set_out(lane, "quota", reset, f"quota used up until {fmt_until(reset)}: {message}", fix=lane.fix(exc))

    def _run_out(self, lane: _Lane, kind: str, message: str) -> None:
        """Auth, unavailable, or rate-limited with no end in sight: out for this run (not
        remembered); said once (provider_out), not per post."""
        lane.stats.wasted_calls += 1
        if self.state is not None:
            self.state.forget_worked(lane.name)
        if lane.out not in ("auth", "unavailable", "rate_limit"):
            self._set_out(lane, kind, None, message)

    def _model_out(self, lane: _Lane, exc: ModelUnavailable, model: str, message: str) -> None:
        """This model is out (remembered for days); the provider goes on with its next model and
        the post may try it at once. Calls that were in flight to the same model count once."""
        lane.stats.wasted_calls += 1
        model = model or exc.model or lane.model
        retired = lane.fallback.retire(model, self.clock.now(), message,  # the next model is probed
                                       remember=exc.remember)
        if retired is not None:
            self._warn_retired(lane, retired)
            if not lane.fallback.usable and not lane.out:
                self._set_out(lane, "retired", None, f"no model left: {message}")

    def _rate_limited(self, job: _Job, lane: _Lane, exc: RateLimited, message: str) -> None:
        """The whole provider cools down; the post keeps its place, up to RATE_LIMIT_RETRIES here."""
        name = lane.name
        lane.rate_limited_in_a_row += 1
        if lane.rate_limited_in_a_row >= self.rate_limits_out:
            job.failed[name] = f"rate limited: {message}"
            self._run_out(lane, "rate_limit", f"{message} (rate limited {lane.rate_limited_in_a_row} times in a row "
                          "with no image: out for this run; a spending cap or a daily or monthly limit may be "
                          "reached)")
            return
        n = job.rate_limited.get(name, 0)
        wait = exc.retry_after if exc.retry_after is not None and exc.retry_after >= 0 else self._backoff(n)
        lane.cool_until = max(lane.cool_until, self.clock.monotonic() + wait)
        job.rate_limited[name] = n + 1
        if wait > self.max_wait:
            job.failed[name] = f"rate limited for {wait:.0f} s (longer than {self.max_wait:.0f} s): {message}"
        elif n + 1 > self.rate_limit_retries:
            job.failed[name] = f"still rate limited after {self.rate_limit_retries} retries: {message}"
        else:
            self.emit(Event.retry(job.post, name, f"rate limited; ready again in {wait:.1f} s",
                                  wait=wait, reason=exc.kind, retry=n + 1))

    def _transient(self, job: _Job, lane: _Lane, exc: TransientError, message: str) -> None:
        """This post retries here after a backoff (or the server's hint), at most TRANSIENT_RETRIES times."""
        name = lane.name
        n = job.transient.get(name, 0)
        job.transient[name] = n + 1
        hint = exc.retry_after
        wait = hint if hint is not None and hint >= 0 else self._backoff(n)
        if n + 1 > self.transient_retries:
            job.failed[name] = f"transient error after {self.transient_retries} retries: {message}"
        elif wait > self.max_wait:
            job.failed[name] = f"not ready for {wait:.0f} s (longer than {self.max_wait:.0f} s): {message}"
        else:
            job.not_before[name] = self.clock.monotonic() + wait
            self.emit(Event.retry(job.post, name, f"{message}; retrying in {wait:.1f} s",
                                  wait=wait, reason=exc.kind, retry=n + 1))

    def _note(self, post: str, lane: _Lane, note: Note) -> None:
        """A provider's note about a call for `post` (see providers.base.Note), as an Event."""
        if isinstance(note, Queued):
            self.emit(Event.queued(post, lane.name, position=note.position, wait=note.wait))
        elif isinstance(note, RouteOut):
            nxt = f"trying {note.replacement}" if note.replacement else "no other route is left for it"
            text = f"{lane.name} {note.route} does not serve {note.model} ({note.reason}); {nxt}"
            if note.until is not None:
                text += f"; skipped until {fmt_until(note.until)}"
            self.emit(Event.warning(text, provider=lane.name, source="route", route=note.route, model=note.model,
                                    replacement=note.replacement))

    def _warn_retired(self, lane: _Lane, r: Retired) -> None:
        nxt, until = r.replacement, r.until
        how = f"remembered as retired until {fmt_until(until)}" if r.remembered and until else "is retired or not served"
        text = f"{lane.name} model {r.model} {how}; " + (f"using {nxt} instead" if nxt else "no other model is configured")
        if r.reason and not r.remembered:
            text += f" ({r.reason})"
        if until is not None and not r.remembered:
            text += f"; skipped until {fmt_until(until)}"
        self.emit(Event.warning(text, provider=lane.name, source="model", retired_model=r.model, replacement=nxt))

    def _backoff(self, n: int) -> float:
        """Exponential backoff for the n-th retry (0-based): 5, 10, 20, 40, 60 s, +/-20% jitter."""
        base = min(self.backoff_max, self.backoff_base * (2 ** n))
        return min(self.backoff_max, base * self.rng.uniform(0.8, 1.2))

    def _set_out(self, lane: _Lane, reason: str, until: datetime | None, message: str, fix: str = "") -> None:
        first = not lane.out
        lane.out, lane.out_until, lane.out_message = reason, until, message
        lane.stats.status = reason
        if first:
            self.emit(Event.provider_out(lane.name, reason, message, until, fix=fix))

    # ------------------------------------------------------------------ scheduling

    async def _acquire(self, job: _Job) -> _Lane:
        loop = asyncio.get_running_loop()
        job.fut = loop.create_future()
        # Oldest first; a post coming back (rate limit, failure) keeps its place in the queue.
        i = len(self._waiting)
        while i > 0 and self._waiting[i - 1].seq > job.seq:
            i -= 1
        self._waiting.insert(i, job)
        self._dispatch()
        try:
            return await job.fut
        except asyncio.CancelledError:
            fut = job.fut
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                fut.result().in_flight -= 1  # a slot was given to us just as we were cancelled
            if job in self._waiting:
                self._waiting.remove(job)
            self._dispatch()
            raise

    def _dispatch(self) -> None:
        """Give waiting posts a provider each, oldest first; arm a timer for the next change."""
        if not self._waiting:
            return
        mono = self.clock.monotonic()
        self._refresh()
        wake = math.inf
        still: list[_Job] = []
        for job in self._waiting:
            fut = job.fut
            if fut is None or fut.done():
                continue
            if self._stopped:
                fut.set_exception(ChainExhausted(self.stop_reason))
                continue
            lane, at = self._pick(job, mono)
            if lane is not None:
                lane.in_flight += 1
                lane.next_start = mono + lane.settings.limits.min_interval
                fut.set_result(lane)
            elif at is not None:
                still.append(job)
                wake = min(wake, at)
            elif self._none_usable(mono):
                self._stop()
                fut.set_exception(ChainExhausted(self.stop_reason))
            else:
                fut.set_exception(PostFailed(self._failure_reasons(job)))
        self._waiting = still
        if still and self._stopped:
            for job in still:
                if job.fut is not None and not job.fut.done():
                    job.fut.set_exception(ChainExhausted(self.stop_reason))
            self._waiting = []
            return
        if wake < math.inf:
            self._arm(wake)

    def _pick(self, job: _Job, mono: float) -> tuple[_Lane | None, float | None]:
        """(provider that takes the post now, None) or (None, when to look again) or (None, None)
        when nothing can ever take it. `when` may be +inf: wait for a call to end."""
        wait_for: float | None = None
        busy_above = math.inf
        """When the soonest busy higher-priority provider is expected to free a slot."""
        for lane in self._lanes:
            if lane.out or lane.name in job.failed:
                continue
            if lane.reserve and not self._reserve_open(lane, job):
                continue
            ready = max(lane.ready_at(), job.not_before.get(lane.name, 0.0))
            if ready - mono > self.max_wait:
                continue  # not waited out by anyone
            busy = lane.in_flight >= lane.slots
            if lane.budget is not None and lane.stats.images + lane.in_flight >= lane.budget:
                busy = True  # budget may come back if a call in flight fails
            if busy:
                wait_for = math.inf if wait_for is None else wait_for
                if self.patient and not lane.reserve and lane.in_flight >= lane.slots:
                    busy_above = min(busy_above, max(lane.free_at(mono), ready))
                continue
            if ready <= mono:
                soon = busy_above - mono
                if -lane.expected_latency() < soon <= lane.expected_latency():
                    # A higher provider frees up sooner than this one would answer: wait for it
                    # (a call ending wakes the queue) rather than spend this one's quota.
                    return None, math.inf
                return lane, None
            wait_for = ready if wait_for is None else min(wait_for, ready)
        return None, wait_for

    def _reserve_open(self, lane: _Lane, job: _Job | None) -> bool:
        """A reserve provider opens once every earlier non-reserve provider is out (for this post:
        out or failed it). Busy or cooling providers never open it."""
        for other in self._lanes[: lane.index]:
            if other.reserve:
                continue
            if other.out or (job is not None and other.name in job.failed):
                continue
            return False
        return True

    def _none_usable(self, mono: float) -> bool:
        """No provider can take a new post, now or within max_wait."""
        for lane in self._lanes:
            if lane.out:
                continue
            if lane.reserve and not self._reserve_open(lane, None):
                continue
            if lane.ready_at() - mono > self.max_wait:
                continue
            return False
        return True

    def _refresh(self) -> None:
        """A quota whose reset has passed during the run: the provider is back."""
        now: datetime | None = None
        for lane in self._lanes:
            if lane.out == "quota" and lane.out_until is not None:
                now = now or self.clock.now()
                if now >= lane.out_until:
                    lane.out, lane.out_until, lane.out_message = "", None, ""
                    lane.stats.status = "ok"
                    if self.state is not None:
                        self.state.clear(lane.name)

    def _stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        mono = self.clock.monotonic()
        parts = []
        for lane in self._lanes:
            if lane.out == "quota" and lane.out_until is not None:
                parts.append(f"{lane.name} (quota until {fmt_until(lane.out_until)})")
            elif lane.out:
                parts.append(f"{lane.name} ({lane.out})")
            elif lane.reserve and not self._reserve_open(lane, None):
                parts.append(f"{lane.name} (reserve, not opened)")
            else:
                parts.append(f"{lane.name} (rate limited for {lane.ready_at() - mono:.0f} s)")
        self.stop_reason = "every provider is out: " + ", ".join(parts) if parts else "no provider configured"
        self.emit(Event.stop(self.stop_reason, PendingReason.PROVIDERS_OUT))

    def _failure_reasons(self, job: _Job) -> dict[str, str]:
        reasons = {**job.reasons, **job.failed}
        for lane in self._lanes:
            if lane.name not in reasons and lane.out:
                reasons[lane.name] = f"{lane.out}: {lane.out_message}"
        return reasons

    def _arm(self, at: float) -> None:
        """Run `_dispatch` again at monotonic time `at` (+inf: a call ending will do it)."""
        if at == math.inf:
            return
        if self._timer is not None and not self._timer.done() and self._timer_at <= at:
            return
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.get_running_loop().create_task(self._tick(at))

    async def _tick(self, at: float) -> None:
        await self.clock.sleep(max(0.0, at - self.clock.monotonic()))
        self._timer = None
        self._timer_at = math.inf
        self._dispatch()
