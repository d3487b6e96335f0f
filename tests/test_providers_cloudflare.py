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
    ModelUnavailable,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from tests.fake_providers import FakeProviders, fake_providers, generate_once  # noqa: F401

NAME = "cloudflare"


def test_success_reads_base64_jpeg_and_sends_the_documented_request(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert isinstance(img, GeneratedImage)
    assert (img.mime, img.provider, img.model) == ("image/jpeg", NAME, cloudflare.DEFAULT_MODEL)
    [req] = fake_providers.requests(NAME)
    assert req.method == "POST"
    assert req.path == "/accounts/fakeaccount0001/ai/run/@cf/black-forest-labs/flux-1-schnell"
    assert req.headers["authorization"] == "Bearer fake-cf-token-0001"
    assert req.json == {"prompt": "a lighthouse at dusk", "steps": 4}  # no width/height/seed for FLUX


def test_different_prompts_give_different_images(fake_providers: FakeProviders) -> None:
    a = generate_once(fake_providers, NAME, "one")
    b = generate_once(fake_providers, NAME, "two")
    assert a.data != b.data


def test_prompt_is_cut_to_2048_chars(fake_providers: FakeProviders) -> None:
    generate_once(fake_providers, NAME, "x" * 5000)
    assert len(fake_providers.requests(NAME)[0].json["prompt"]) == 2048


def test_sdxl_raw_png_is_read_by_content_type(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, model="@cf/stabilityai/stable-diffusion-xl-base-1.0")
    assert isinstance(img, GeneratedImage) and img.mime == "image/png"
    assert fake_providers.requests(NAME)[0].path.endswith("/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0")


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
