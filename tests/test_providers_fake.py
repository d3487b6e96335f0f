"""The fake provider server itself: behaviours the chain tests and the benchmark rely on."""

from __future__ import annotations

import asyncio
import time

import httpx

from imagegen.testing import VirtualClock
from imagegen.providers import get
from imagegen.providers.base import GeneratedImage, ImageRequest, ProviderContext, ProviderError
from tests.fake_providers import FakeProviders, fake_providers, generate_once  # noqa: F401


def _kinds(fp: FakeProviders, name: str, n: int) -> list[str]:
    out = []
    for i in range(n):
        r = generate_once(fp, name, f"prompt {i}")
        out.append("ok" if isinstance(r, GeneratedImage) else r.kind)
    return out


def test_script_then_behaviour(fake_providers: FakeProviders) -> None:
    fp = fake_providers
    fp.script("together", ["auth", "quota"])
    assert _kinds(fp, "together", 3) == ["auth", "quota", "ok"]
    assert [r.outcome for r in fp.requests("together")] == ["auth", "quota", "ok"]


def test_quota_after_and_reset_quota(fake_providers: FakeProviders) -> None:
    fp = fake_providers
    fp.set_behaviour("cloudflare", quota_after=2)
    assert _kinds(fp, "cloudflare", 4) == ["ok", "ok", "quota", "quota"]
    assert fp.images("cloudflare") == 2
    fp.reset_quota("cloudflare")
    assert _kinds(fp, "cloudflare", 1) == ["ok"]


def test_rate_limit_every(fake_providers: FakeProviders) -> None:
    fake_providers.set_behaviour("huggingface", rate_limit_every=3, retry_after=9)
    assert _kinds(fake_providers, "huggingface", 6) == ["ok", "ok", "rate_limit", "ok", "ok", "rate_limit"]


def test_token_check(fake_providers: FakeProviders) -> None:
    fake_providers.set_behaviour("together", token="right")
    assert isinstance(generate_once(fake_providers, "together", api_token="wrong"), ProviderError)
    assert isinstance(generate_once(fake_providers, "together", api_token="right"), GeneratedImage)


def test_time_scale_and_concurrency() -> None:
    with FakeProviders(time_scale=0.001) as fp:  # 100 simulated seconds = 0.1 s real
        fp.set_behaviour("pollinations", latency=100)

        async def many() -> list[object]:
            async with httpx.AsyncClient() as http:
                ctx = ProviderContext(http=http, clock=VirtualClock())
                p = get("pollinations").create(fp.opts("pollinations"), ctx)
                return await asyncio.gather(*(p.generate(ImageRequest(f"p{i}")) for i in range(4)), return_exceptions=True)

        t0 = time.monotonic()
        results = asyncio.run(many())
        elapsed = time.monotonic() - t0
    assert all(isinstance(r, GeneratedImage) for r in results)
    assert 0.09 <= elapsed < 1.0
    assert fp.max_concurrency("pollinations") == 4 and fp.count("pollinations") == 4


def test_env_points_settings_at_the_server(fake_providers: FakeProviders, tmp_path: object) -> None:
    from imagegen.config.settings import load

    s = load({}, fake_providers.env(), repo=tmp_path)  # type: ignore[arg-type]
    assert [p.name for p in s.providers] == ["cloudflare", "huggingface", "together", "pollinations", "gemini"]
    assert all(p.opts["base_url"].startswith(fake_providers.url) for p in s.providers)
    assert s.provider_opts["gemini"]["base_url"] == fake_providers.base_url("gemini")


def test_unprefixed_paths_are_routed(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, "together", base_url=fake_providers.url)
    assert isinstance(img, GeneratedImage) and fake_providers.count("together") == 1
