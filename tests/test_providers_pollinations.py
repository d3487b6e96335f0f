"""Pollinations adapter against the fake server (anonymous and keyed), plus its settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from imagegen.testing import VirtualClock
from imagegen.providers import pollinations
from imagegen.providers.base import (
    AuthFailed,
    BadImage,
    BadRequest,
    ContentRefused,
    GeneratedImage,
    ModelUnavailable,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from imagegen.config.settings import load
from tests.fake_providers import FakeProviders, fake_providers, generate_once  # noqa: F401

NAME = "pollinations"


def test_anonymous_request_shape(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert isinstance(img, GeneratedImage) and img.mime == "image/jpeg"
    [req] = fake_providers.requests(NAME)
    assert req.method == "GET"
    assert req.raw_path.startswith("/pollinations/prompt/a%20lighthouse%20at%20dusk?")
    assert req.query["model"] == "flux" and req.query["nologo"] == "true"
    assert (req.query["width"], req.query["height"]) == ("1200", "630")
    assert "authorization" not in req.headers
    generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert fake_providers.requests(NAME)[1].query["seed"] == req.query["seed"]  # deterministic per prompt


def test_keyed_request_uses_image_path_and_bearer_never_the_url(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a fox", api_key="sk_test_key_123")
    assert isinstance(img, GeneratedImage)
    [req] = fake_providers.requests(NAME)
    assert req.raw_path.startswith("/pollinations/image/a%20fox?")
    assert req.headers["authorization"] == "Bearer sk_test_key_123"
    assert "sk_test_key_123" not in req.raw_path


def test_default_base_urls() -> None:
    def provider(**kw: str) -> pollinations.PollinationsProvider:
        return pollinations.PollinationsProvider(model="", base_url=kw.get("base_url", pollinations.DEFAULT_BASE_URL),
                                                 api_key=kw.get("api_key", ""), ctx=None)  # type: ignore[arg-type]

    assert provider().url("a b").startswith("https://image.pollinations.ai/prompt/a%20b")
    assert provider(api_key="sk_x").url("a b").startswith("https://gen.pollinations.ai/image/a%20b")
    assert provider(base_url="http://proxy/p", api_key="sk_x").url("a").startswith("http://proxy/p/image/a")
    assert provider(base_url="http://proxy/p").url("a").startswith("http://proxy/p/prompt/a")


@pytest.mark.parametrize("outcome,cls", [
    ("placeholder", RateLimited),
    ("queue_full", RateLimited),
    ("rate_limit", RateLimited),
    ("quota", QuotaExhausted),
    ("auth", AuthFailed),
    ("forbidden", AuthFailed),
    ("refused", ContentRefused),
    ("not_found", ModelUnavailable),
    ("gone", ProviderUnavailable),
    ("bad_request", BadRequest),
    ("server_error", TransientError),
    ("unavailable", TransientError),
    ("garbage", BadImage),
    ("not_image", BadImage),
    ("truncated", BadImage),
    ("reset", TransientError),
])
def test_error_rows(fake_providers: FakeProviders, outcome: str, cls: type) -> None:
    fake_providers.script(NAME, [outcome])
    err = generate_once(fake_providers, NAME)
    assert type(err) is cls, (outcome, err)


def test_placeholder_threshold_is_overridable(fake_providers: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pollinations, "PLACEHOLDER_MIN_BYTES", 50)  # every real image is now 'a placeholder'
    err = generate_once(fake_providers, NAME)
    assert isinstance(err, RateLimited) and err.retry_after == pollinations.QUEUE_RETRY_AFTER


def test_queue_full_and_keyed_balance(fake_providers: FakeProviders) -> None:
    clock = VirtualClock()
    fake_providers.script(NAME, ["queue_full", "quota"])
    assert isinstance(generate_once(fake_providers, NAME), RateLimited)
    err = generate_once(fake_providers, NAME, api_key="sk_test_key_123", clock=clock)
    # Nothing refills a keyed balance by itself since 2026-06-22: a week (or another key), and
    # the message says what to do.
    assert isinstance(err, QuotaExhausted) and err.reset_at == clock.now() + timedelta(days=7)
    assert "add pollen at https://enter.pollinations.ai" in str(err) and "until the key changes" in str(err)


def test_default_model_override_and_enabled(tmp_path: Path) -> None:
    s = load({"providers": "pollinations"}, {"POLLINATIONS_ENABLED": "true"}, repo=tmp_path)
    [p] = s.providers
    assert p.model == "flux"
    assert (p.limits.max_in_flight, p.limits.min_interval) == (1, 5.0) and p.limits.timeout >= 120
    s = load({"providers": "pollinations"}, {"POLLINATIONS_ENABLED": "true", "POLLINATIONS_IMAGE_MODEL": "turbo"},
             repo=tmp_path)
    assert s.providers[0].model == "turbo"


def test_joins_only_when_enabled(tmp_path: Path) -> None:
    env = {"CLOUDFLARE_API_TOKEN": "tok-cf-1234", "CLOUDFLARE_ACCOUNT_ID": "acct-1234"}
    names = [p.name for p in load({}, env, repo=tmp_path).providers]
    assert "pollinations" not in names
    names = [p.name for p in load({}, {**env, "POLLINATIONS_ENABLED": "false"}, repo=tmp_path).providers]
    assert "pollinations" not in names
    names = [p.name for p in load({}, {**env, "POLLINATIONS_ENABLED": "true"}, repo=tmp_path).providers]
    assert names == ["cloudflare", "pollinations"]
    assert pollinations.enabled({"enabled": "yes"}) and not pollinations.enabled({"enabled": ""})


# --------------------------------------------------------------------------- keyed vs anonymous (issue 8)


def _provider(fp: FakeProviders, **opts: str):  # type: ignore[no-untyped-def]
    import httpx

    from imagegen.testing import VirtualClock
    from imagegen.providers import get
    from imagegen.providers.base import ProviderContext

    http = httpx.AsyncClient()
    return http, get(NAME).create(fp.opts(NAME, **opts), ProviderContext(http=http, clock=VirtualClock()))


def test_three_anonymous_queue_full_answers_in_a_row_take_it_out_for_the_run(fake_providers: FakeProviders) -> None:  # noqa: F811
    import asyncio

    from imagegen.providers.base import ImageRequest, ProviderError

    fake_providers.script(NAME, ["queue_full", "queue_full", "ok", "queue_full", "queue_full", "queue_full"])

    async def go() -> list[str]:
        http, p = _provider(fake_providers)
        out = []
        try:
            for _ in range(6):
                try:
                    await p.generate(ImageRequest("a fox"))
                    out.append("ok")
                except ProviderError as exc:
                    out.append(type(exc).__name__)
        finally:
            await http.aclose()
        return out

    # An image in between resets the count; the third in a row is 'out for the run'.
    assert asyncio.run(go()) == ["RateLimited", "RateLimited", "ok", "RateLimited", "RateLimited",
                                 "ProviderUnavailable"]


def test_a_key_uses_the_keyed_host_and_the_placeholder_rule_is_anonymous_only(fake_providers: FakeProviders) -> None:  # noqa: F811
    from imagegen.providers import pollinations

    p = pollinations.PollinationsProvider(model="flux", base_url=pollinations.DEFAULT_BASE_URL, api_key="sk_x",
                                          ctx=None)  # type: ignore[arg-type]
    assert p.url("a fox").startswith("https://gen.pollinations.ai/image/")
    fake_providers.script(NAME, ["placeholder", "placeholder"])
    keyed = generate_once(fake_providers, NAME, api_key="pk_test_key_0001")
    assert isinstance(keyed, GeneratedImage)  # the keyed host sends no placeholder: a big image is an image
    anonymous = generate_once(fake_providers, NAME)
    assert isinstance(anonymous, RateLimited)


def test_a_key_alone_enables_pollinations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from imagegen.config.settings import load

    s = load({"providers": "pollinations"}, {"POLLINATIONS_API_KEY": "sk_test_key_0001"}, repo=tmp_path)
    assert [p.name for p in s.providers] == ["pollinations"]
    assert s.providers[0].models == ("flux", "zimage")
