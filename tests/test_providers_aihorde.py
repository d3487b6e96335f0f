"""AI Horde adapter against the loopback fake.

The fake's AI Horde answers are built from the horde's published API schema (Haidra-Org/AI-Horde:
`horde/apis/models/v2.py` RequestAsync / RequestStatusCheck / RequestStatus, `stable_v2.py`
GenerationInputStable, `horde/exceptions.py` and `README_return_codes.md` for the `rc` codes), not
recorded from the live service: there are no recorded AI Horde answers in the shared fixtures.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from imagegen.config.settings import SettingsError, load
from imagegen.providers import aihorde, get, new_client
from imagegen.providers.base import (
    AuthFailed,
    BadImage,
    BadRequest,
    ContentRefused,
    GeneratedImage,
    ImageRequest,
    ModelUnavailable,
    ProviderContext,
    ProviderError,
    ProviderUnavailable,
    Queued,
    RateLimited,
    TransientError,
)
from imagegen.testing import VirtualClock
from tests.fake_providers import HORDE_ANONYMOUS, FakeProviders, fake_providers, generate_once  # noqa: F401

NAME = "aihorde"
MODEL = aihorde.DEFAULT_MODELS[0]


def generate(fp: FakeProviders, *, clock: VirtualClock | None = None, timeout: float = 600.0,
             **opts: str) -> tuple[Any, list[Any], VirtualClock]:
    """One cover, with the notes the provider sent and the clock it waited on."""
    clock = clock or VirtualClock()
    notes: list[Any] = []

    async def go() -> Any:
        async with new_client() as http:
            provider = get(NAME).create(fp.opts(NAME, **opts), ProviderContext(http=http, clock=clock, timeout=timeout))
            try:
                return await provider.generate(ImageRequest("a lighthouse at dusk", notify=notes.append))
            except ProviderError as exc:
                return exc
            finally:
                await provider.aclose()

    return asyncio.run(go()), notes, clock


def outcomes(fp: FakeProviders) -> list[str]:
    return [r.outcome for r in fp.requests(NAME)]


def test_submit_poll_fetch_with_the_anonymous_key(fake_providers: FakeProviders) -> None:
    t0 = time.monotonic()
    img, notes, clock = generate(fake_providers)
    assert isinstance(img, GeneratedImage) and img.ext == "webp" and img.model == MODEL, img
    assert outcomes(fake_providers) == ["ok", "check", "check", "check", "status"]
    submit = fake_providers.requests(NAME)[0]
    assert (submit.method, submit.path) == ("POST", "/v2/generate/async")
    assert submit.headers["apikey"] == HORDE_ANONYMOUS and submit.headers["client-agent"].startswith("imagegen:")
    body = submit.json
    assert body["prompt"] == "a lighthouse at dusk" and body["models"] == [MODEL]
    assert (body["params"]["width"], body["params"]["height"]) == (1216, 640)  # multiples of 64, within the free area
    assert body["r2"] is False and body["nsfw"] is False and body["censor_nsfw"] is True
    assert body["allow_downgrade"] is True  # never refused for kudos: made smaller by the horde instead
    # The queue, as the provider told the chain; the waits were on the injected clock, not real time.
    assert notes == [Queued(2, 12.0), Queued(1, 4.0)]
    assert clock.monotonic() == pytest.approx(6.0 + 2.0) and time.monotonic() - t0 < 5


def test_a_registered_key_is_sent_instead(fake_providers: FakeProviders) -> None:
    img, _, _ = generate(fake_providers, api_key="horde-key-12345")
    assert isinstance(img, GeneratedImage)
    assert {r.headers["apikey"] for r in fake_providers.requests(NAME)} == {"horde-key-12345"}


def test_an_image_given_as_a_url_is_fetched_without_the_key(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, ["r2"])
    img, _, _ = generate(fake_providers, api_key="horde-key-12345")
    assert isinstance(img, GeneratedImage) and len(fake_providers.downloads) == 1, img
    assert all("apikey" not in r.headers for r in fake_providers.requests("huggingface"))  # the file store's records


def test_the_overall_deadline_is_on_the_runs_clock_and_cancels_the_request(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, ["stall"])
    t0 = time.monotonic()
    err, notes, clock = generate(fake_providers, timeout=300.0)
    assert type(err) is ProviderUnavailable and "300 s deadline" in str(err) and "position 5" in str(err), err
    assert 290 <= clock.monotonic() <= 300 and time.monotonic() - t0 < 5
    assert outcomes(fake_providers)[-1] == "cancel" and notes[0] == Queued(5, 300.0)
    assert len(notes) <= 300 / aihorde.NOTE_EVERY + 1  # a note when the place changes, else every 30 s at most


@pytest.mark.parametrize("outcome,cls,words", [
    ("retired", ModelUnavailable, "no volunteer worker"),      # accepted with a NoAvailableWorker warning
    ("impossible", ModelUnavailable, "no volunteer worker"),   # check: is_possible false
    ("no_workers", ModelUnavailable, "no volunteer worker"),   # rc NoValidWorkers
    ("faulted", TransientError, "faulted"),
    ("expired", TransientError, "dropped"),                     # check: 404 RequestNotFound
    ("rate_limit", RateLimited, "TooManyPrompts"),
    ("kudos", ProviderUnavailable, "kudos too low"),
    ("blocked", ProviderUnavailable, "TimeoutIP"),
    ("maintenance", ProviderUnavailable, "MaintenanceMode"),
    ("auth", AuthFailed, "InvalidAPIKey"),
    ("forbidden", AuthFailed, "AnonForbidden"),
    ("refused", ContentRefused, "CorruptPrompt"),
    ("censored", ContentRefused, "censored"),
    ("bad_request", BadRequest, "InvalidSize"),
    ("not_image", BadImage, "no image"),
    ("truncated", BadImage, "undecodable"),
    ("unavailable", TransientError, "503"),
    ("server_error", TransientError, "500"),
    ("reset", TransientError, "connection"),
])
def test_every_answer_has_its_class(fake_providers: FakeProviders, outcome: str, cls: type, words: str) -> None:
    fake_providers.script(NAME, [outcome])
    err, _, _ = generate(fake_providers)
    assert type(err) is cls and words in str(err), (outcome, err)


def test_a_model_no_worker_serves_now_is_not_remembered(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, ["impossible"])
    err, _, _ = generate(fake_providers)
    assert isinstance(err, ModelUnavailable) and err.model == MODEL and err.remember is False
    assert outcomes(fake_providers) == ["impossible", "check", "cancel"]  # no volunteer waits for nothing


def test_the_rate_limit_carries_the_servers_delay(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, [{"kind": "rate_limit", "retry_after": 7}])
    err, _, _ = generate(fake_providers)
    assert isinstance(err, RateLimited) and err.retry_after == 7


@pytest.mark.parametrize("size,expected", [
    ((1200, 630), (1216, 640)),
    ((1920, 1008), (1408, 704)),   # shrunk to the free area
    ((630, 1200), (640, 1216)),
    ((10, 10), (64, 64)),
])
def test_sizes_are_multiples_of_64_within_the_free_area(size: tuple[int, int], expected: tuple[int, int]) -> None:
    w, h = aihorde.horde_size(*size)
    assert (w, h) == expected and w % 64 == 0 and h % 64 == 0 and w * h <= aihorde.FREE_AREA


# --------------------------------------------------------------------------- when it joins the chain


def test_on_by_default_only_when_no_other_ai_provider_is_configured(tmp_path: Path) -> None:
    names = lambda env: [p.name for p in load({}, env, repo=tmp_path).providers]  # noqa: E731
    cf = {"CLOUDFLARE_API_TOKEN": "fake-cf-token-0001", "CLOUDFLARE_ACCOUNT_ID": "fakeaccount0001"}
    assert names({}) == ["aihorde"]  # no key at all: the keyless provider
    assert names(cf) == ["cloudflare"]
    assert names({"POLLINATIONS_ENABLED": "true"}) == ["pollinations"]
    assert names({**cf, "AIHORDE_ENABLED": "true", "GEMINI_API_KEY": "fake-gemini-0001"}) == [
        "cloudflare", "aihorde", "gemini"]  # asked for: after the other free ones, before the reserve
    assert [p.name for p in load({"providers": "aihorde,card"}, cf, repo=tmp_path).providers] == ["aihorde", "card"]
    with pytest.raises(SettingsError, match="no image provider is configured"):
        load({}, {"AIHORDE_ENABLED": "false"}, repo=tmp_path)


@pytest.mark.parametrize("env,words", [
    ({"AIHORDE_ENABLED": "maybe"}, "auto, true or false"),
    ({"AIHORDE_API_KEY": HORDE_ANONYMOUS}, "leave it empty"),
])
def test_bad_settings_are_refused_before_any_work(tmp_path: Path, env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=words):
        load({"providers": "aihorde"}, env, repo=tmp_path)
