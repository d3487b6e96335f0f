"""The provider chain: priority order and fallback across providers.

Interface used by the pipeline (keep it stable):

    chain = Chain(members, clock=clock, emit=emit, state=None)
    image = await chain.generate(post_rel, prompt)   # -> GeneratedImage
        raises ChainExhausted  when every provider is out (the post is *pending*, not failed)
        raises PostFailed      when every available provider refused/failed this post
    chain.exhausted            # True once no provider can take any more posts
    chain.stats                # {name: ProviderStats}
    await chain.aclose()

This first version walks the providers in order for each post and takes a provider out of the
run on quota/auth/unavailable. Retries, cooldowns, pacing, reserves, budgets and the state file
are added by the chain issue behind the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from imagegen.clock import Clock, SystemClock
from imagegen.providers.base import (
    AuthFailed,
    GeneratedImage,
    Provider,
    ProviderError,
    ProviderUnavailable,
    QuotaExhausted,
)
from imagegen.report import Event, EventSink, ProviderStats, null_sink
from imagegen.settings import ProviderSettings


class ChainExhausted(Exception):
    """Every provider is out (quota, auth, unavailable, budget): remaining posts are pending."""


class PostFailed(Exception):
    """Every provider that could take this post failed it. `reasons` maps provider -> reason."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(f"{k}: {v}" for k, v in reasons.items()) or "no provider could take this post")


@dataclass
class Member:
    settings: ProviderSettings
    provider: Provider


class Chain:
    def __init__(
        self,
        members: Sequence[tuple[ProviderSettings, Provider]],
        *,
        clock: Clock | None = None,
        emit: EventSink = null_sink,
        state: object | None = None,
    ) -> None:
        self.members = [Member(s, p) for s, p in members]
        self.clock = clock or SystemClock()
        self.emit = emit
        self.stats: dict[str, ProviderStats] = {m.settings.name: ProviderStats() for m in self.members}
        self._out: dict[str, str] = {}

    @property
    def exhausted(self) -> bool:
        return all(m.settings.name in self._out for m in self.members)

    async def generate(self, post: str, prompt: str) -> GeneratedImage:
        reasons: dict[str, str] = {}
        previous: str | None = None
        for m in self.members:
            name = m.settings.name
            if name in self._out:
                continue
            if previous is not None:
                self.emit(Event("switch", post, name, f"from {previous}", {"from": previous, "to": name}))
            self.emit(Event("generating", post, name))
            st = self.stats[name]
            st.calls += 1
            t0 = self.clock.monotonic()
            try:
                image = await m.provider.generate(prompt)
            except ProviderError as exc:
                st.seconds += self.clock.monotonic() - t0
                st.errors[exc.kind] = st.errors.get(exc.kind, 0) + 1
                reasons[name] = f"{exc.kind}: {exc}"
                if isinstance(exc, (QuotaExhausted, AuthFailed, ProviderUnavailable)):
                    self._out[name] = exc.kind
                    st.status = exc.kind
                    self.emit(Event("provider_out", "", name, str(exc), {"reason": exc.kind}))
                previous = name
                continue
            st.seconds += self.clock.monotonic() - t0
            st.images += 1
            return image
        if self.exhausted:
            raise ChainExhausted("every provider is out")
        raise PostFailed(reasons)

    async def aclose(self) -> None:
        for m in self.members:
            await m.provider.aclose()
