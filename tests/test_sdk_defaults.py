"""What the SDKs decide for us when we do not: pinned, so an upgrade that moves it fails here, loudly,
instead of changing what a run sends.

The Gemini half: google-genai picks the Developer API's version itself (`v1beta` up to 2.34, `v1`
since 3.0) and lets `GOOGLE_GENAI_API_VERSION` move it. imagegen sets `gemini.API_VERSION` in its one
client factory instead (the reasons are in its docstring). (Hugging Face's partner table is pinned
by the Hugging Face tests.)
"""

from __future__ import annotations

import pytest

from imagegen.providers import gemini

SDK_DEFAULT_API_VERSION = "v1"
"""google-genai's own default for the Developer API (3.0.0 ... 3.6.1)."""


def test_the_sdks_default_api_version_is_the_one_the_choice_was_made_against() -> None:
    from google.genai import _api_client

    assert _api_client.GOOGLE_AI_API_DEFAULT_VERSION == SDK_DEFAULT_API_VERSION, (
        "google-genai changed its default Gemini API version: read its changelog and Google's API-versions "
        "page, decide whether imagegen.providers.gemini.API_VERSION should follow, then update this pin")


@pytest.mark.parametrize("env_version", [None, "v1", "beta", "v1alpha"])
def test_our_client_factory_wins_over_the_sdk_default_and_the_environment(env_version: str | None,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if env_version is None:
        monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
    else:
        monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", env_version)
    client = gemini.genai_client(api_key="k-123456", base_url="", timeout=10.0, http=None)
    assert client._api_client._http_options.api_version == gemini.API_VERSION == "v1beta"
