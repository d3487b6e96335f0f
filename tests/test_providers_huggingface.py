"""Hugging Face router adapter against the fake server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from imagegen.providers import huggingface
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

NAME = "huggingface"


def test_success_sniffs_raw_bytes_and_sends_the_documented_request(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert isinstance(img, GeneratedImage) and img.mime == "image/jpeg" and img.model == huggingface.DEFAULT_MODEL
    [req] = fake_providers.requests(NAME)
    assert (req.method, req.path) == ("POST", "/hf-inference/models/black-forest-labs/FLUX.1-schnell")
    assert req.headers["authorization"] == "Bearer hf_fake0001"
    body = req.json
    assert body["inputs"] == "a lighthouse at dusk"
    p = body["parameters"]
    assert (p["width"], p["height"]) == (1200, 624)  # 1200x630 rounded to multiples of 16
    assert p["num_inference_steps"] == 4 and isinstance(p["seed"], int)
    generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert fake_providers.requests(NAME)[1].json["parameters"]["seed"] == p["seed"]  # deterministic


def test_default_base_url_is_the_router() -> None:
    assert huggingface.SPEC.default_base_url == "https://router.huggingface.co"
    assert huggingface.SPEC.default_model == "black-forest-labs/FLUX.1-schnell"
    assert huggingface.SPEC.model_env == "HUGGINGFACE_IMAGE_MODEL"


@pytest.mark.parametrize("outcome,cls", [
    ("quota", QuotaExhausted),
    ("rate_limit", RateLimited),
    ("auth", AuthFailed),
    ("forbidden", AuthFailed),
    ("loading", TransientError),
    ("unavailable", TransientError),
    ("server_error", TransientError),
    ("not_found", ProviderUnavailable),
    ("gone", ModelUnavailable),
    ("bad_request", BadRequest),
    ("garbage", BadImage),
    ("not_image", BadImage),
    ("truncated", BadImage),
    ("reset", TransientError),
])
def test_error_rows(fake_providers: FakeProviders, outcome: str, cls: type) -> None:
    fake_providers.script(NAME, [outcome])
    err = generate_once(fake_providers, NAME)
    assert type(err) is cls, (outcome, err)


def test_quota_resets_on_the_first_of_next_month(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, ["quota"])
    err = generate_once(fake_providers, NAME)
    assert isinstance(err, QuotaExhausted) and err.reset_at == datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_loading_hint_is_passed_on_and_bounded(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, [{"kind": "loading", "estimated_time": 12.5},
                                 {"kind": "loading", "estimated_time": 9000}])
    assert generate_once(fake_providers, NAME).retry_after == 12.5
    assert generate_once(fake_providers, NAME).retry_after == huggingface.MAX_LOADING_WAIT


def test_rate_limit_retry_after_header(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, [{"kind": "rate_limit", "retry_after": 30}])
    assert generate_once(fake_providers, NAME).retry_after == 30


def test_a_status_number_in_the_body_does_not_decide(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, [{"kind": "raw", "status": 400,
                                  "body": {"error": "401 Invalid credentials 402 monthly included credits"}}])
    assert type(generate_once(fake_providers, NAME)) is BadRequest
