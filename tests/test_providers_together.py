"""Together AI adapter against the fake server, plus its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegen.providers import together
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
from imagegen.config.settings import load
from tests.fake_providers import FakeProviders, fake_providers, generate_once  # noqa: F401

NAME = "together"


def test_success_and_request_shape(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert isinstance(img, GeneratedImage) and img.mime == "image/jpeg"
    [req] = fake_providers.requests(NAME)
    assert (req.method, req.path) == ("POST", "/v1/images/generations")
    assert req.headers["authorization"] == "Bearer fake-together-0001"
    body = req.json
    assert body["model"] == "black-forest-labs/FLUX.1-schnell"
    assert body["prompt"] == "a lighthouse at dusk"
    assert (body["width"], body["height"], body["steps"], body["n"]) == (1200, 624, 4, 1)
    assert body["response_format"] == "base64"


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


def test_rate_limit_delay_from_header_or_ratelimit_reset(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, [{"kind": "rate_limit", "retry_after": 4},
                                 {"kind": "raw", "status": 429, "body": {"error": {"message": "slow"}},
                                  "headers": {"x-ratelimit-reset": "11"}}])
    assert generate_once(fake_providers, NAME).retry_after == 4
    assert generate_once(fake_providers, NAME).retry_after == 11


def test_unknown_model_code_is_retired_model_even_on_400(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, [{"kind": "raw", "status": 400,
                                  "body": {"error": {"message": "no", "code": "model_not_available"}}}])
    assert type(generate_once(fake_providers, NAME)) is ModelUnavailable


def test_default_model_and_override(tmp_path: Path) -> None:
    s = load({"providers": "together"}, {"TOGETHER_API_TOKEN": "tok-together"}, repo=tmp_path)
    [p] = s.providers
    assert p.model == "black-forest-labs/FLUX.1-schnell" == together.DEFAULT_MODEL
    assert p.opts["base_url"] == "https://api.together.xyz"
    s = load({"providers": "together"}, {"TOGETHER_API_TOKEN": "tok-together",
                                          "TOGETHER_IMAGE_MODEL": "black-forest-labs/FLUX.1-dev"}, repo=tmp_path)
    assert s.providers[0].model == "black-forest-labs/FLUX.1-dev"


def test_model_override_reaches_the_wire(fake_providers: FakeProviders) -> None:
    generate_once(fake_providers, NAME, model="black-forest-labs/FLUX.1-dev")
    assert fake_providers.requests(NAME)[0].json["model"] == "black-forest-labs/FLUX.1-dev"
