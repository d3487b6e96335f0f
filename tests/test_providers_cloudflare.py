"""Cloudflare Workers AI adapter against the fake server: success, every error row, request shape."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from imagegen.providers import cloudflare
from imagegen.providers.base import (
    AuthFailed,
    BadImage,
    BadRequest,
    GeneratedImage,
    ImageRequest,
    ModelUnavailable,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from tests.fake_providers import FakeProviders, fake_providers, generate_once  # noqa: F401

NAME = "cloudflare"


def test_success_reads_base64_jpeg_and_sends_the_documented_request(fake_providers: FakeProviders) -> None:
    # The default model is FLUX.2 [klein] 4B: a multipart/form-data body (even for a prompt
    # alone), with the cover's shape rounded up to 16 (drawn at least as large: cropped, never
    # upscaled) and the post's seed.
    img = generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert isinstance(img, GeneratedImage)
    assert (img.mime, img.provider, img.model) == ("image/jpeg", NAME, cloudflare.DEFAULT_MODEL)
    [req] = fake_providers.requests(NAME)
    assert req.method == "POST"
    assert req.path == "/accounts/fakeaccount0001/ai/run/@cf/black-forest-labs/flux-2-klein-4b"
    assert req.headers["authorization"] == "Bearer fake-cf-token-0001"
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=") and req.json is None
    seed = str(ImageRequest("a lighthouse at dusk").seed)
    assert req.form == {"prompt": "a lighthouse at dusk", "width": "1200", "height": "640", "seed": seed}


def test_flux1_schnell_gets_its_json_body_and_nothing_its_schema_refuses(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a lighthouse at dusk", model=cloudflare.SCHNELL)
    assert isinstance(img, GeneratedImage) and img.model == cloudflare.SCHNELL
    [req] = fake_providers.requests(NAME)
    assert req.json == {"prompt": "a lighthouse at dusk", "steps": 4} and req.form is None  # no size: a square


def test_klein_sent_json_is_refused_as_cloudflare_would(fake_providers: FakeProviders) -> None:
    """The fake holds each model to its input schema: what the adapter did before December (a JSON
    body to FLUX.2) is a bad request, so the multipart body above is not a formality."""
    import asyncio

    import httpx

    from imagegen.providers import _http
    from imagegen.providers.base import ProviderContext
    from imagegen.testing import VirtualClock

    async def go() -> _http.WireResponse:
        async with httpx.AsyncClient() as http:
            ctx = ProviderContext(http=http, clock=VirtualClock())
            url = f"{fake_providers.base_url(NAME)}/accounts/a/ai/run/{cloudflare.KLEIN}"
            return await _http.send(ctx, NAME, "POST", url, json_body={"prompt": "a fox", "steps": 4})

    resp = asyncio.run(go())
    assert resp.status == 400 and 5006 in cloudflare.error_codes(resp.json())


@pytest.mark.parametrize("size,sent", [((1200, 630), ("1200", "640")), ((100, 5000), ("256", "1920")),
                                       ((1201, 631), ("1216", "640"))])
def test_klein_size_is_rounded_up_to_16_within_its_bounds(fake_providers: FakeProviders, size: tuple[int, int],
                                                           sent: tuple[str, str]) -> None:
    p = cloudflare.CloudflareProvider(token="t", account_id="a", model="", base_url="", ctx=None)  # type: ignore[arg-type]
    _, form = p.request_body(ImageRequest("a fox", width=size[0], height=size[1]), cloudflare.KLEIN)
    assert form is not None and (form["width"], form["height"]) == sent


def test_different_prompts_give_different_images(fake_providers: FakeProviders) -> None:
    a = generate_once(fake_providers, NAME, "one")
    b = generate_once(fake_providers, NAME, "two")
    assert a.data != b.data


def test_prompt_is_cut_to_2048_chars(fake_providers: FakeProviders) -> None:
    generate_once(fake_providers, NAME, "x" * 5000)
    generate_once(fake_providers, NAME, "x" * 5000, model=cloudflare.SCHNELL)
    klein, schnell = fake_providers.requests(NAME)
    assert len(klein.form["prompt"]) == 2048 and len(schnell.json["prompt"]) == 2048


def test_sdxl_gets_the_covers_size_and_its_raw_png_is_read_by_content_type(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a fox", model=cloudflare.SDXL)
    assert isinstance(img, GeneratedImage) and img.mime == "image/png"
    [req] = fake_providers.requests(NAME)
    assert req.path.endswith("/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0")
    assert req.json == {"prompt": "a fox", "width": 1200, "height": 640, "seed": ImageRequest("a fox").seed}


def test_neurons_per_cover_are_what_the_published_prices_give() -> None:
    """The numbers the docs quote (covers a day) come from bench/cloudflare_neurons.py, which
    computes them from Cloudflare's price table and the request the adapter really sends."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "cloudflare_neurons.py"
    spec = importlib.util.spec_from_file_location("cloudflare_neurons", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert {m: bench.neurons(m) for m in bench.PRICES} == cloudflare.NEURONS_PER_COVER
    assert cloudflare.DEFAULT_MODELS[:2] == (cloudflare.KLEIN, cloudflare.SCHNELL)
    table = bench.table()
    docs = (path.parents[1] / "docs" / "providers.md").read_text(encoding="utf-8")
    for row in table.splitlines()[2:]:
        assert row in docs, row  # the docs show the table as computed


@pytest.mark.parametrize("outcome,cls", [
    ("quota", QuotaExhausted),
    ("rate_limit", RateLimited),
    ("auth", AuthFailed),
    ("forbidden", AuthFailed),
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
    assert "fakeaccount0001" not in str(err)


def test_quota_resets_at_next_utc_midnight(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, ["quota"])
    err = generate_once(fake_providers, NAME)  # VirtualClock: 2026-11-24 12:00 UTC
    assert isinstance(err, QuotaExhausted)
    assert err.reset_at == datetime(2026, 11, 25, tzinfo=timezone.utc)


def test_rate_limit_carries_retry_after(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, [{"kind": "rate_limit", "retry_after": 7}])
    err = generate_once(fake_providers, NAME)
    assert isinstance(err, RateLimited) and err.retry_after == 7


@pytest.mark.parametrize("status,body,cls", [
    # 4006 is the other daily-allocation code.
    (429, {"success": False, "errors": [{"code": 4006, "message": "daily free allocation used"}]}, QuotaExhausted),
    # No code: the message text is the last resort.
    (429, {"success": False, "errors": [{"message": "you have used up your daily free allocation"}]}, QuotaExhausted),
    (429, {"success": False, "errors": [{"message": "slow down"}]}, RateLimited),
    (408, {"success": False, "errors": [{"code": 3007, "message": "timeout"}]}, TransientError),
    (404, {"success": False, "errors": [{"code": 3042, "message": "Invalid model"}]}, ModelUnavailable),
    (400, {"success": False, "errors": [{"code": 5028, "message": "This model was deprecated on 2026-07-01"}]},
     ModelUnavailable),
    (403, {"success": False, "errors": [{"code": 5035, "message": "needs Workers Paid"}]}, ModelUnavailable),
    (404, {"success": False, "errors": [{"code": 7003, "message": "Could not route to /client/v4/accounts/x/ai/run"},
                                        {"code": 7000, "message": "No route for that URI"}]}, AuthFailed),
    # A number in an unrelated message never decides: this is a plain bad request.
    (400, {"success": False, "errors": [{"code": 5006, "message": "prompt '401 3036 daily free allocation' bad"}]},
     BadRequest),
    (200, {"success": False, "errors": [{"code": 5006, "message": "bad input"}]}, BadRequest),
])
def test_structured_codes_decide(fake_providers: FakeProviders, status: int, body: dict, cls: type) -> None:
    fake_providers.script(NAME, [{"kind": "raw", "status": status, "body": body}])
    err = generate_once(fake_providers, NAME)
    assert type(err) is cls, err


def test_spec() -> None:
    spec = cloudflare.SPEC
    assert [(o.env, o.secret) for o in spec.options] == [("CLOUDFLARE_API_TOKEN", True),
                                                         ("CLOUDFLARE_ACCOUNT_ID", True)]
    assert spec.model_env == "CLOUDFLARE_IMAGE_MODEL"
    assert spec.default_base_url == "https://api.cloudflare.com/client/v4"
    assert spec.enabled({"api_token": "t", "account_id": "a"})
    assert not spec.enabled({"api_token": "t", "account_id": ""})
    assert "CLOUDFLARE_API_TOKEN" in spec.needs and "CLOUDFLARE_ACCOUNT_ID" in spec.needs
