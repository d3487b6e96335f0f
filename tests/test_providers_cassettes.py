"""vcrpy cassettes pin each adapter's request shape (method, path, query and body).

The cassettes in tests/cassettes/ were recorded from the fake server (tests/fake_providers.py),
NOT from the real APIs; see tests/cassettes/README.md. Replay is the default (record_mode
"none": no network, host `fake-providers.invalid`). Re-record after an intended change to a
request with:

    IMAGEGEN_RECORD_CASSETTES=1 .venv/bin/python -m pytest tests/test_providers_cassettes.py

Secrets are filtered on the way in: Authorization / x-goog-api-key headers are replaced, and the
Cloudflare account id (in the URL path) is rewritten to ACCOUNT_ID, in both record and replay, so
the live request still matches. The recording runs with sentinel secrets; test_secrets_leak.py
fails if any of them reaches a cassette file.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import pytest
import vcr

from imagegen import redact
from imagegen.testing import VirtualClock
from imagegen.prompts import Described, Describer
from imagegen.providers import get
from imagegen.providers.base import GeneratedImage, ImageRequest, ProviderContext, ProviderError
from tests.fake_providers import SENTINELS, FakeProviders

CASSETTES = Path(__file__).parent / "cassettes"
RECORD = os.environ.get("IMAGEGEN_RECORD_CASSETTES") == "1"
REPLAY_HOST = "fake-providers.invalid"
PLACEHOLDERS = {SENTINELS["CLOUDFLARE_ACCOUNT_ID"]: "ACCOUNT_ID", SENTINELS["POLLINATIONS_API_KEY"]: "POLLINATIONS_KEY"}

OPT_ENV = {
    "cloudflare": {"api_token": "CLOUDFLARE_API_TOKEN", "account_id": "CLOUDFLARE_ACCOUNT_ID"},
    "huggingface": {"api_token": "HUGGINGFACE_API_TOKEN"},
    "together": {"api_token": "TOGETHER_API_TOKEN"},
    "pollinations": {},
    "gemini": {"api_key": "GEMINI_API_KEY"},
}


def scrub_text(text: str) -> str:
    for secret, placeholder in PLACEHOLDERS.items():
        text = text.replace(quote(secret, safe=""), placeholder).replace(secret, placeholder)
    for secret in SENTINELS.values():
        text = text.replace(quote(secret, safe=""), "REDACTED").replace(secret, "REDACTED")
    return text


BOUNDARY = "imagegen-cassette-boundary"
"""A multipart body's random boundary becomes this (Cloudflare's FLUX.2 form), so that the body,
which the cassettes match on, is the same on every run."""


def scrub_request(request: Any) -> Any:
    parts = urlsplit(request.uri)
    request.uri = scrub_text(urlunsplit(("http", REPLAY_HOST, parts.path, parts.query, parts.fragment)))
    if isinstance(request.body, bytes):
        body = request.body.decode("utf-8", "replace")
        ctype = str(request.headers.get("Content-Type") or request.headers.get("content-type") or "")
        if ctype.startswith("multipart/form-data; boundary="):
            body = body.replace(ctype.split("boundary=", 1)[1], BOUNDARY)
        request.body = scrub_text(body).encode()
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes) and any(s.encode() in body for s in SENTINELS.values()):
        response["body"]["string"] = scrub_text(body.decode("utf-8", "replace")).encode()
    return response


MY_VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="all" if RECORD else "none",
    match_on=("method", "scheme", "host", "port", "path", "query", "body"),
    filter_headers=[("authorization", "REDACTED"), ("x-goog-api-key", "REDACTED"), ("host", None)],
    before_record_request=scrub_request,
    before_record_response=scrub_response,
    decode_compressed_response=True,
)


def sentinel_opts(name: str, base_url: str, **extra: str) -> dict[str, str]:
    opts = {key: SENTINELS[env] for key, env in OPT_ENV[name].items()}
    opts.update(base_url=base_url, enabled="true", **extra)
    return opts


# Each scenario: (provider, outcome scripted on the fake server while recording, prompt, opts, check).
Check = Callable[[Any], bool]


def _image(kind: str) -> Check:
    return lambda r: isinstance(r, GeneratedImage) and r.mime == kind


def _error(kind: str) -> Check:
    return lambda r: isinstance(r, ProviderError) and r.kind == kind


SCENARIOS: dict[str, list[tuple[str, str, dict[str, str], Check]]] = {
    "cloudflare": [("ok", "a lighthouse at dusk", {}, _image("image/jpeg")),
                   ("quota", "a harbour at noon", {}, _error("quota"))],
    "together": [("ok", "a lighthouse at dusk", {}, _image("image/jpeg")),
                 ("rate_limit", "a harbour at noon", {}, _error("rate_limit"))],
    "pollinations": [("ok", "a lighthouse at dusk", {"accept_logo": "true"}, _image("image/jpeg")),
                     ("ok", "a fox in snow", {"api_key": SENTINELS["POLLINATIONS_API_KEY"]}, _image("image/jpeg")),
                     ("quota", "a harbour at noon", {"api_key": SENTINELS["POLLINATIONS_API_KEY"]},
                      _error("quota"))],
    "gemini": [("ok", "a lighthouse at dusk", {}, _image("image/png")),
               ("quota", "a harbour at noon", {}, _error("quota"))],
}


async def _play(name: str, base_url: str) -> list[Any]:
    results: list[Any] = []
    async with httpx.AsyncClient() as http:
        ctx = ProviderContext(http=http, clock=VirtualClock())
        for _, prompt, extra, _ in SCENARIOS[name]:
            provider = get(name).create(sentinel_opts(name, base_url, **extra), ctx)
            try:
                results.append(await provider.generate(ImageRequest(prompt)))
            except ProviderError as exc:
                results.append(exc)
            finally:
                await provider.aclose()
    return results


@pytest.fixture
def server() -> Any:
    if not RECORD:
        yield None
        return
    with FakeProviders() as fp:
        yield fp


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_adapter_replays_its_cassette(name: str, server: FakeProviders | None) -> None:
    path = CASSETTES / f"{name}.yaml"
    if server is not None:
        server.script(name, [outcome for outcome, *_ in SCENARIOS[name]])
        base_url = server.base_url(name)
    else:
        assert path.exists(), f"missing cassette {path}: record with IMAGEGEN_RECORD_CASSETTES=1"
        base_url = f"http://{REPLAY_HOST}/{name}"
    try:
        with MY_VCR.use_cassette(path.name, allow_playback_repeats=False) as cassette:
            results = asyncio.run(_play(name, base_url))
            assert cassette.play_count == (0 if RECORD else len(SCENARIOS[name]))
    finally:
        redact.clear()
    for (outcome, _, _, check), result in zip(SCENARIOS[name], results):
        assert check(result), (outcome, result)


def test_describer_replays_its_cassette(server: FakeProviders | None) -> None:
    path = CASSETTES / "gemini-describer.yaml"
    base_url = server.base_url("gemini") if server is not None else f"http://{REPLAY_HOST}/gemini"

    class Post:
        rel, title, cached_prompt = "posts/foxes.md", "Winter foxes", None

        def prompt_text(self) -> str:
            return "Foxes jump into snow drifts to catch mice."

    async def go() -> Described:
        d = Describer(api_key=SENTINELS["GEMINI_API_KEY"], model="gemini-3.1-flash-lite",
                      fallbacks=("gemini-3.5-flash-lite",), base_url=base_url, clock=VirtualClock())
        try:
            return await d.describe(Post())
        finally:
            await d.aclose()

    if server is not None:
        server.script("gemini", ["quota", "ok"])
    try:
        with MY_VCR.use_cassette(path.name, allow_playback_repeats=False):
            described = asyncio.run(go())
    finally:
        redact.clear()
    assert described.model == "gemini-3.5-flash-lite" and "Winter foxes" in described.prompt
