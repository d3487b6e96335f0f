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
    RouteOut,
    TransientError,
)
from tests.fake_providers import FakeProviders, fake_providers, generate_once, make_image  # noqa: F401

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
    """huggingface_hub's private table of mappings it does not fetch, its partner table, the
    lazily opened image, and the globals `wire_library` sets: an upgrade that moves one of them
    fails here, by name, not as a 'transient' error on every run."""
    table = huggingface._installed()
    assert isinstance(table, dict), "huggingface_hub moved _common.HARDCODED_MODEL_INFERENCE_MAPPING"
    from huggingface_hub.inference._providers._common import TaskProviderHelper

    src = inspect.getsource(TaskProviderHelper._prepare_mapping_info)
    assert "HARDCODED_MODEL_INFERENCE_MAPPING" in src, "the library no longer reads its hardcoded mappings first"
    from huggingface_hub.inference._common import _bytes_to_image

    png = make_image("a fox", "png")
    image = _bytes_to_image(png)  # opened lazily: not decoded
    assert huggingface.image_bytes(image) == png, "the library no longer hands us the bytes unread"
    from huggingface_hub import constants, set_async_client_factory, set_client_factory

    assert callable(set_async_client_factory) and callable(set_client_factory)
    assert "{provider}" in constants.INFERENCE_PROXY_TEMPLATE and constants.ENDPOINT


def test_the_partner_table_is_the_librarys() -> None:
    """Every partner huggingface_hub can call for text-to-image, and only those, with how its image
    arrives: an upgrade that adds or drops a partner fails here, by name."""
    assert set(huggingface.PARTNERS) == huggingface.library_partners()
    assert set(huggingface.PARTNERS) == {"fal-ai", "hf-inference", "nscale", "replicate", "together", "wavespeed",
                                         "zai-org"}


def test_the_library_is_wired_in_one_place_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    factories: list[object] = []
    monkeypatch.setattr("huggingface_hub.set_async_client_factory", factories.append)
    monkeypatch.setattr("huggingface_hub.set_client_factory", factories.append)
    monkeypatch.setattr(constants, "INFERENCE_PROXY_TEMPLATE", constants.INFERENCE_PROXY_TEMPLATE)
    monkeypatch.setattr(constants, "ENDPOINT", constants.ENDPOINT)
    monkeypatch.setattr(huggingface, "_wired", None)
    huggingface.wire_library("http://router.test/", "http://hub.test/")
    huggingface.wire_library("http://router.test/", "http://hub.test/")  # the same again: nothing to do
    assert constants.INFERENCE_PROXY_TEMPLATE == "http://router.test/{provider}"
    assert constants.ENDPOINT == "http://hub.test"
    assert factories == [huggingface._client_factory, huggingface._sync_client_factory]


# --------------------------------------------------------------------------- choosing the partner (issue 16)


def png_of_size(width: int, height: int) -> bytes:
    """A PNG whose header says `width` x `height` (its pixels are not there: nothing may decode them)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def test_the_mapping_is_asked_for_with_the_users_token(fake_providers: FakeProviders) -> None:
    """The account's provider order applies only to a lookup made with its token."""
    img = generate_once(fake_providers, NAME, "a fox")
    assert isinstance(img, GeneratedImage)
    assert fake_providers.hub_auth == ["Bearer hf_fake0001"]


@pytest.mark.parametrize("fmt", ["dict", "list"])
def test_the_first_live_text_to_image_partner_in_the_hubs_order_is_called(fake_providers: FakeProviders,
                                                                          fmt: str) -> None:
    model = huggingface.DEFAULT_MODEL
    fake_providers.set_behaviour(NAME, hub_format=fmt, hub_mapping=(
        (model, "nscale", "error"),                       # failed its health check: not called
        (model, "together", "staging"),                   # test-only: not called
        (model, "cerebras", "live"),                      # a partner the library cannot call for images
        (model, "groq", "live", model, "conversational"),  # another task
        (model, "fal-ai", "live", "fal-ai/flux/schnell"),
        (model, "hf-inference", "live"),
    ))
    img = generate_once(fake_providers, NAME, "a fox")
    assert isinstance(img, GeneratedImage), img
    [req] = fake_providers.requests(NAME)
    assert req.path == "/fal-ai/fal-ai/flux/schnell"  # the partner's own model id, on the router
    assert req.json["prompt"] == "a fox" and req.json["image_size"] == {"width": 1200, "height": 624}


def test_a_partner_that_does_not_serve_the_model_hands_over_to_the_next_in_the_same_call(
        fake_providers: FakeProviders) -> None:
    model = huggingface.DEFAULT_MODEL
    fake_providers.set_behaviour(NAME, hub_mapping=((model, "nscale"), (model, "together")),
                                 partner_outcomes=(("nscale", "retired"),))
    notes: list[object] = []
    img = _generate(fake_providers, notify=notes.append)
    assert isinstance(img, GeneratedImage), img
    assert [r.path.split("/")[1] for r in fake_providers.requests(NAME)] == ["nscale", "together"]
    [note] = notes
    assert isinstance(note, RouteOut) and (note.route, note.model, note.replacement) == ("partner nscale", model,
                                                                                          "together")
    assert "deprecated" in note.reason and note.until is None  # no state file: out for this run only


def test_the_model_is_unavailable_only_when_no_partner_is_left(fake_providers: FakeProviders) -> None:
    model = huggingface.DEFAULT_MODEL
    fake_providers.set_behaviour(NAME, hub_mapping=((model, "nscale"), (model, "together")),
                                 partner_outcomes=(("nscale", "retired"), ("together", "retired")))
    err = _generate(fake_providers)
    assert isinstance(err, ModelUnavailable) and err.model == model and "nscale, together" in str(err)
    assert fake_providers.count(NAME) == 2


def test_other_answers_are_the_providers_not_the_partners(fake_providers: FakeProviders) -> None:
    """Credits are per account, a bad token is bad everywhere: no second partner is asked."""
    model = huggingface.DEFAULT_MODEL
    fake_providers.set_behaviour(NAME, hub_mapping=((model, "nscale"), (model, "together")))
    fake_providers.script(NAME, ["quota"])
    assert isinstance(_generate(fake_providers), QuotaExhausted) and fake_providers.count(NAME) == 1


def test_the_base_url_reaches_hf_inference(fake_providers: FakeProviders) -> None:
    """huggingface_hub fixes hf-inference's URL when it is imported: we call that route by URL."""
    model = huggingface.DEFAULT_MODEL
    fake_providers.set_behaviour(NAME, hub_mapping=((model, "hf-inference"),))
    img = generate_once(fake_providers, NAME, "a fox")
    assert isinstance(img, GeneratedImage), img
    [req] = fake_providers.requests(NAME)
    assert req.path == f"/hf-inference/models/{model}" and req.json["inputs"] == "a fox"
    assert req.headers["authorization"] == "Bearer hf_fake0001"


def test_a_pinned_partner_the_mapping_does_not_list_is_not_served(fake_providers: FakeProviders) -> None:
    fake_providers.set_behaviour(NAME, hub_mapping=((huggingface.DEFAULT_MODEL, "nscale"),))
    err = generate_once(fake_providers, NAME, "a fox", partner="together")
    assert isinstance(err, ModelUnavailable) and "partner together" in str(err)
    assert fake_providers.count(NAME) == 0


def test_an_unknown_partner_is_refused_before_any_work(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from imagegen.config.settings import SettingsError, load

    with pytest.raises(SettingsError, match="unknown partner 'togther'"):
        load({"providers": "huggingface"}, {"HUGGINGFACE_API_TOKEN": "hf_fake0001", "HUGGINGFACE_PROVIDER": "togther"},
             repo=tmp_path)


def _generate(fp: FakeProviders, **request: object) -> object:
    """generate_once with fields of the ImageRequest set (e.g. notify)."""
    import asyncio

    from imagegen.testing import VirtualClock
    from imagegen.providers import get, new_client
    from imagegen.providers.base import ImageRequest, ProviderContext, ProviderError

    async def go() -> object:
        async with new_client() as http:
            provider = get(NAME).create(fp.opts(NAME), ProviderContext(http=http, clock=VirtualClock()))
            try:
                return await provider.generate(ImageRequest("a fox", **request))  # type: ignore[arg-type]
            except ProviderError as exc:
                return exc
            finally:
                await provider.aclose()

    return asyncio.run(go())


# --------------------------------------------------------------------------- synchronous downloads (fal-ai)


def _fal(fp: FakeProviders) -> None:
    fp.set_behaviour(NAME, hub_mapping=((huggingface.DEFAULT_MODEL, "fal-ai", "live", "fal-ai/flux/schnell"),))


def test_a_partner_that_answers_a_url_is_downloaded_within_our_limits(fake_providers: FakeProviders) -> None:
    _fal(fake_providers)
    img = generate_once(fake_providers, NAME, "a fox")
    assert isinstance(img, GeneratedImage) and img.ext == "jpg", img
    assert len(fake_providers.downloads) == 1


@pytest.mark.parametrize("download,cls,words", [
    ("redirect", ProviderUnavailable, "redirect"),
    ("huge", BadImage, "over the"),
    ("chunked_huge", BadImage, "stopped reading"),
])
def test_the_download_refuses_redirects_and_oversized_bodies(fake_providers: FakeProviders, download: str,
                                                             cls: type, words: str) -> None:
    _fal(fake_providers)
    fake_providers.set_behaviour(NAME, download=download)
    err = generate_once(fake_providers, NAME, "a fox", ctx_max_response_bytes=str(1 << 20))
    assert type(err) is cls and words in str(err), err


def test_a_dripping_download_ends_with_the_calls_deadline_thread_and_all(fake_providers: FakeProviders) -> None:
    """The download runs in a worker thread nobody can cancel: it must stop by itself at the
    deadline (generate_once's asyncio.run waits for that thread before it returns)."""
    import time

    _fal(fake_providers)
    fake_providers.set_behaviour(NAME, download="drip")
    t0 = time.monotonic()
    err = generate_once(fake_providers, NAME, "a fox", ctx_timeout="0.5")
    assert isinstance(err, TransientError) and "0.5 s deadline" in str(err), err
    assert time.monotonic() - t0 < 5


# --------------------------------------------------------------------------- one image check (issue 19, item 11)


@pytest.mark.parametrize("partner", ["together", "hf-inference"])
@pytest.mark.parametrize("size", [(9000, 9000), (20000, 20000)])
def test_an_oversized_image_is_a_bad_image_not_a_transient_error(fake_providers: FakeProviders, partner: str,
                                                                 size: tuple[int, int]) -> None:
    """9000x9000 is over our 64-megapixel bound; 20000x20000 is over Pillow's own bomb limit,
    which trips inside huggingface_hub when it opens the image. Either way: a bad image."""
    data = png_of_size(*size)
    fake_providers.set_behaviour(NAME, hub_mapping=((huggingface.DEFAULT_MODEL, partner),))
    if partner == "hf-inference":
        fake_providers.script(NAME, [{"kind": "raw", "status": 200, "body": data, "content_type": "image/png"}])
    else:
        fake_providers.script(NAME, [{"kind": "raw", "status": 200, "body": {"data": [{"b64_json": b64(data)}]}}])
    err = generate_once(fake_providers, NAME, "a fox")
    assert type(err) is BadImage and "too large" in str(err), err
