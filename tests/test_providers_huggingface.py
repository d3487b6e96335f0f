"""Hugging Face router adapter against the fake server."""

from __future__ import annotations

import inspect
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


def test_auto_routes_through_the_hub_mapping_to_a_partner(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert isinstance(img, GeneratedImage) and img.model == huggingface.DEFAULT_MODEL
    assert fake_providers.hub_calls == [huggingface.DEFAULT_MODEL]  # the Hub's inferenceProviderMapping
    [req] = fake_providers.requests(NAME)
    # The partner (together) through the router, with the partner's own payload built by huggingface_hub.
    assert (req.method, req.path) == ("POST", "/together/v1/images/generations")
    assert req.headers["authorization"] == "Bearer hf_fake0001"
    body = req.json
    assert body["prompt"] == "a lighthouse at dusk" and body["model"] == huggingface.DEFAULT_MODEL
    assert body["response_format"] == "base64" and (body["width"], body["height"]) == (1200, 624)
    generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert fake_providers.requests(NAME)[1].json["seed"] == body["seed"]  # deterministic


def test_the_mapping_picks_the_partner_and_its_model_id(fake_providers: FakeProviders) -> None:
    fake_providers.set_behaviour(NAME, hub_mapping=(("org/model", "nscale"),))
    img = generate_once(fake_providers, NAME, "a fox", model="org/model")
    assert isinstance(img, GeneratedImage) and img.model == "org/model"
    [req] = fake_providers.requests(NAME)
    assert req.path == "/nscale/v1/images/generations" and req.json["response_format"] == "b64_json"


def test_a_pinned_partner_is_used_instead_of_the_first_in_the_mapping(fake_providers: FakeProviders) -> None:
    model = huggingface.DEFAULT_MODEL
    fake_providers.set_behaviour(NAME, hub_mapping=((model, "together"), (model, "nscale")))
    img = generate_once(fake_providers, NAME, "a fox", partner="nscale")
    assert isinstance(img, GeneratedImage)
    [req] = fake_providers.requests(NAME)
    assert req.path == "/nscale/v1/images/generations" and req.json["prompt"] == "a fox"


def test_a_model_the_hub_does_not_know_or_no_partner_serves_is_retired_here(fake_providers: FakeProviders) -> None:
    fake_providers.set_behaviour(NAME, hub_mapping=(("org/other", "together"),))
    err = generate_once(fake_providers, NAME, "a fox", model="org/unknown")
    assert isinstance(err, ModelUnavailable) and err.model == "org/unknown"
    assert fake_providers.count(NAME) == 0  # no inference call at all


def test_a_token_that_is_not_hf_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from imagegen.config.settings import SettingsError, load

    with pytest.raises(SettingsError, match="hf_"):
        load({"providers": "huggingface"}, {"HUGGINGFACE_API_TOKEN": "sk-not-a-hub-token"}, repo=tmp_path)


def test_default_base_url_is_the_router() -> None:
    assert huggingface.SPEC.default_base_url == "https://router.huggingface.co"
    assert huggingface.SPEC.models({}) == ("black-forest-labs/FLUX.1-schnell", "black-forest-labs/FLUX.1-dev")
    assert huggingface.SPEC.model_env == "HUGGINGFACE_IMAGE_MODEL"
    assert [o.input_name for o in huggingface.SPEC.options][1:] == ["huggingface-provider", "huggingface-hub-url"]


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


def test_the_library_seam_is_where_we_expect_it() -> None:
    """huggingface_hub's private mapping fetch, and the globals `wire_library` sets: an upgrade
    that moves one of them fails here, by name, not as a 'transient' error on every run."""
    fetch = huggingface.mapping_fetch()
    assert callable(fetch), "huggingface_hub moved _common._fetch_inference_provider_mapping"
    assert list(inspect.signature(fetch).parameters) == ["model"], inspect.signature(fetch)
    assert callable(getattr(fetch, "cache_clear", None)), "the mapping fetch is no longer cached"
    from huggingface_hub import constants, set_async_client_factory

    assert callable(set_async_client_factory)
    assert "{provider}" in constants.INFERENCE_PROXY_TEMPLATE and constants.ENDPOINT


def test_the_library_is_wired_in_one_place_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    factories: list[object] = []
    monkeypatch.setattr("huggingface_hub.set_async_client_factory", factories.append)
    monkeypatch.setattr(constants, "INFERENCE_PROXY_TEMPLATE", constants.INFERENCE_PROXY_TEMPLATE)
    monkeypatch.setattr(constants, "ENDPOINT", constants.ENDPOINT)
    monkeypatch.setattr(huggingface, "_wired", None)
    huggingface.wire_library("http://router.test/", "http://hub.test/")
    huggingface.wire_library("http://router.test/", "http://hub.test/")  # the same again: nothing to do
    assert constants.INFERENCE_PROXY_TEMPLATE == "http://router.test/{provider}"
    assert constants.ENDPOINT == "http://hub.test"
    assert factories == [huggingface._client_factory]
