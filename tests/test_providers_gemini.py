"""Gemini adapter (google-genai SDK, real REST shape) against the fake server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from imagegen.providers import gemini
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
from tests.fake_providers import FakeProviders, fake_providers, generate_once  # noqa: F401

NAME = "gemini"


def test_success_and_request_shape(fake_providers: FakeProviders) -> None:
    img = generate_once(fake_providers, NAME, "a lighthouse at dusk")
    assert isinstance(img, GeneratedImage) and img.mime == "image/png" and img.model == gemini.DEFAULT_MODEL
    [req] = fake_providers.requests(NAME)
    assert req.method == "POST"
    assert req.path.endswith(f"/models/{gemini.DEFAULT_MODEL}:generateContent")
    assert req.headers["x-goog-api-key"] == "fake-gemini-0001"
    assert "authorization" not in req.headers
    assert req.json["contents"][0]["parts"][0]["text"] == "a lighthouse at dusk"
    config = req.json["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"]
    assert config["imageConfig"]["aspectRatio"] == "16:9"


def test_timeout_is_sent_in_seconds_from_milliseconds(fake_providers: FakeProviders) -> None:
    generate_once(fake_providers, NAME, ctx_timeout="42")
    assert fake_providers.requests(NAME)[0].headers.get("x-server-timeout") == "42"


def test_imagen_ids_are_a_settings_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from imagegen.config.settings import SettingsError, load

    with pytest.raises(SettingsError, match="Imagen model"):
        load({"providers": "gemini"}, {"GEMINI_API_KEY": "k-123456", "IMAGE_GEMINI_MODEL": "imagen-4.0-generate-001"},
             repo=tmp_path)
    with pytest.raises(SettingsError, match="gemini-image-model"):
        load({"providers": "gemini", "gemini-image-model": "gemini-3.1-flash-image, models/imagen-3.0"},
             {"GEMINI_API_KEY": "k-123456"}, repo=tmp_path)


@pytest.mark.parametrize("model", [gemini.DEFAULT_MODEL])
@pytest.mark.parametrize("outcome,cls", [
    ("quota", QuotaExhausted),
    ("rate_limit", RateLimited),
    ("auth", AuthFailed),
    ("forbidden", AuthFailed),
    ("not_found", ModelUnavailable),
    ("gone", ModelUnavailable),
    ("bad_request", BadRequest),
    ("server_error", TransientError),
    ("unavailable", TransientError),
    ("safety", ContentRefused),
    ("garbage", BadImage),
    ("not_image", BadImage),
    ("truncated", BadImage),
    ("reset", TransientError),
])
def test_error_rows(fake_providers: FakeProviders, model: str, outcome: str, cls: type) -> None:
    fake_providers.script(NAME, [outcome])
    err = generate_once(fake_providers, NAME, model=model)
    assert type(err) is cls, (outcome, err)


@pytest.mark.parametrize("outcome", ["blocked", "text_only"])
def test_refusals_without_an_exception(fake_providers: FakeProviders, outcome: str) -> None:
    fake_providers.script(NAME, [outcome])
    assert type(generate_once(fake_providers, NAME)) is ContentRefused


def test_per_day_quota_resets_at_pacific_midnight(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, ["quota"])
    err = generate_once(fake_providers, NAME)  # 2026-11-24 12:00 UTC = 04:00 PST
    assert isinstance(err, QuotaExhausted)
    assert err.reset_at == datetime(2026, 11, 25, 8, tzinfo=timezone.utc)


def test_per_minute_limit_uses_retry_delay(fake_providers: FakeProviders) -> None:
    fake_providers.script(NAME, [{"kind": "rate_limit", "retry_after": 41}])
    err = generate_once(fake_providers, NAME)
    assert isinstance(err, RateLimited) and err.retry_after == 41


def test_retry_in_text_is_the_last_resort(fake_providers: FakeProviders) -> None:
    body = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                      "message": "Resource has been exhausted. Please retry in 41.88s."}}
    fake_providers.script(NAME, [{"kind": "raw", "status": 429, "body": body}])
    err = generate_once(fake_providers, NAME)
    assert isinstance(err, RateLimited) and err.retry_after == pytest.approx(41.88)


def test_failed_precondition_is_unavailable(fake_providers: FakeProviders) -> None:
    body = {"error": {"code": 400, "status": "FAILED_PRECONDITION",
                      "message": "User location is not supported for the API use."}}
    fake_providers.script(NAME, [{"kind": "raw", "status": 400, "body": body}])
    assert type(generate_once(fake_providers, NAME)) is ProviderUnavailable


def test_plain_400_with_a_number_in_it_is_a_bad_request(fake_providers: FakeProviders) -> None:
    body = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "prompt '429 PerDay 401' is invalid"}}
    fake_providers.script(NAME, [{"kind": "raw", "status": 400, "body": body}])
    assert type(generate_once(fake_providers, NAME)) is BadRequest


def test_thought_images_are_skipped() -> None:
    from google.genai import types

    from tests.fake_providers import make_image

    final, thought = make_image("final"), make_image("thought")
    resp = types.GenerateContentResponse(candidates=[types.Candidate(content=types.Content(parts=[
        types.Part(inline_data=types.Blob(data=thought, mime_type="image/png"), thought=True),
        types.Part(inline_data=types.Blob(data=final, mime_type="image/png")),
    ]))])
    assert gemini.GeminiProvider.image_from_content(resp) == final


def test_nearest_aspect() -> None:
    assert gemini.nearest_aspect(1200, 630, gemini.ASPECT_RATIOS_GEMINI) == "16:9"
    assert gemini.nearest_aspect(1000, 1000, gemini.ASPECT_RATIOS_GEMINI) == "1:1"
    assert gemini.nearest_aspect(2100, 900, gemini.ASPECT_RATIOS_GEMINI) == "21:9"
    assert gemini.is_imagen("imagen-4.0-generate-001") and not gemini.is_imagen("gemini-2.5-flash-image")


def test_spec() -> None:
    spec = gemini.SPEC
    assert [(o.key, o.env, o.secret) for o in spec.options] == [("api_key", "GEMINI_API_KEY", True)]
    assert spec.model_env == "IMAGE_GEMINI_MODEL"
    assert spec.default_model == "gemini-3.1-flash-image,gemini-3.1-flash-lite-image"
    assert spec.default_base_url == "https://generativelanguage.googleapis.com"


def test_one_genai_client_factory_for_the_image_provider_the_describer_and_doctor(
        fake_providers: FakeProviders, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Images, described prompts and doctor's checks all reach Gemini through gemini.genai_client
    (on our no-redirect httpx client); the describer and doctor's describer lines through the
    registry's text backend."""
    import asyncio

    from imagegen import doctor, providers
    from imagegen.testing import VirtualClock
    from imagegen.prompts import Describer
    from imagegen.config.settings import load

    made: list[str] = []
    real = gemini.genai_client

    def spy(**kw):  # type: ignore[no-untyped-def]
        made.append(kw["base_url"])
        return real(**kw)

    monkeypatch.setattr(gemini, "genai_client", spy)
    assert isinstance(generate_once(fake_providers, NAME), GeneratedImage)

    class Post:
        rel, title, cached_prompt = "p.md", "Foxes", None

        def prompt_text(self) -> str:
            return "Foxes in snow."

    async def describe() -> str:
        d = Describer(api_key="fake-gemini-0001", model="gemini-3.1-flash-lite", base_url=fake_providers.base_url(NAME),
                      clock=VirtualClock())
        try:
            assert isinstance(d.backend, type(providers.text_backend("k", timeout=1.0, clock=VirtualClock())))
            return (await d.describe(Post())).model
        finally:
            await d.aclose()

    assert asyncio.run(describe()) == "gemini-3.1-flash-lite"
    assert made == [fake_providers.base_url(NAME)] * 2
    settings = load({"providers": "gemini"}, fake_providers.env(names=["gemini"]), repo=tmp_path)
    diagnosis = asyncio.run(doctor.diagnose(settings, clock=VirtualClock()))
    assert diagnosis.usable == ["gemini"] and all(r.check.ok for r in diagnosis.rows if r.subject == "describer")
    assert made == [fake_providers.base_url(NAME)] * 4  # doctor: the image provider's check, the describer's
    assert fake_providers.count(NAME) == 2  # doctor generated nothing


@pytest.mark.parametrize("body,cls", [
    # The recorded answer (gemini-400-unknown-field-responseModalities.json): the message only.
    ({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid JSON payload received. Unknown name "
                "\"responseModalities\" at 'generation_config': Cannot find field."}}, ProviderUnavailable),
    # The same in the structured BadRequest field violations (how Google's APIs usually carry it).
    ({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid JSON payload received.", "details": [
        {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [
            {"field": "generation_config", "description": "Invalid JSON payload received. Unknown name "
                                                          "\"imageConfig\" at 'generation_config': Cannot find field."}]}]}},
     ProviderUnavailable),
    # 'Unknown name' about something else without 'Cannot find field', or in a prompt: a bad request.
    ({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Unknown name \"fox\" in the prompt"}}, BadRequest),
])
def test_an_unknown_field_is_unavailable_for_the_run(fake_providers: FakeProviders, body: dict, cls: type) -> None:
    fake_providers.script(NAME, [{"kind": "raw", "status": 400, "body": body}])
    err = generate_once(fake_providers, NAME)
    assert type(err) is cls, err
    if cls is ProviderUnavailable:
        assert "does not accept the field" in str(err) and "out for this run" in str(err)
