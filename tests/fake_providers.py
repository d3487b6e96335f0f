"""A fake image-provider server on 127.0.0.1 that speaks every provider's wire protocol.

Used by the adapter tests, the chain tests and the benchmark (stdlib + Pillow only, thread-safe).

Start it::

    with FakeProviders(time_scale=0.01) as fp:     # 1 simulated second = 10 ms real
        fp.url                                      # "http://127.0.0.1:PORT"
        fp.base_url("cloudflare")                   # "http://127.0.0.1:PORT/cloudflare"

or use the pytest fixture `fake_providers` (import it into a test module:
`from tests.fake_providers import fake_providers  # noqa: F401`).

Point the real program at it::

    env = fp.env()          # IMAGEGEN_<NAME>_BASE_URL for all five providers, fake credentials
                            # for each (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID,
                            # HUGGINGFACE_API_TOKEN, TOGETHER_API_TOKEN, GEMINI_API_KEY),
                            # POLLINATIONS_ENABLED=true and POLLINATIONS_ACCEPT_LOGO=true (anonymous
                            # answers carry the logo headers, as the real host's do since 2026-08);
                            # pass to imagegen.config.settings.load(raw, env)
    opts = fp.opts("together")   # option mapping for SPEC.create(opts, ctx) (credentials + base_url)

Each provider lives under its own path prefix (`/cloudflare/...`, `/huggingface/...`, ...), and
the provider's documented path follows it (`/cloudflare/accounts/{id}/ai/run/{model}`,
`/huggingface/hf-inference/models/{model}`, `/together/v1/images/generations`,
`/pollinations/prompt/{p}` or `/image/{p}`, `/gemini/v1/models/{m}:generateContent` (the SDK
picks the API version) or `/gemini/v1beta/models/{m}:predict`). Requests without a prefix are
routed by their path alone. `fp.env(names=["gemini"], KEY="value")` limits/overrides the env.

Script it::

    fp.script("cloudflare", ["ok", "quota", {"kind": "rate_limit", "retry_after": 3}])
        # consumed one per request, in order; then the behaviour below decides
    fp.set_behaviour("huggingface", latency=2.0, quota_after=10, rate_limit_every=5,
                     retry_after=7.0, default="ok", token=None, image_size=(96, 54))
        # latency: simulated seconds per request (real sleep = latency * time_scale);
        #   latency_jitter adds a seeded uniform [0, jitter) on top
        # quota_after: after N images every request is "quota" (until fp.reset_quota(name))
        # rate_limit_every: every k-th request is "rate_limit"
        # retry_after: the delay (seconds) rate-limit answers carry
        # token: when set, a request with another credential gets "auth"
    fp.reset_quota(name); fp.reset()

Outcome kinds (each rendered in that provider's own wire shape; dict items may carry
`retry_after`, `latency`, `estimated_time`):
    ok, quota, rate_limit, auth, forbidden, not_found, gone, retired (the provider's real
    model-retired answer; also `set_behaviour(name, retired_models=(...))`), bad_request, server_error,
    unavailable, garbage (200 HTML), not_image (200 without an image), truncated (200 with a cut
    image), reset (connection closed without an answer), echo (400 quoting the request path and
    headers back, for leak tests), raw ({"kind": "raw", "status": 400, "body": {...} | "text",
    "headers": {...}, "content_type": "..."}: any answer you like);
    huggingface: loading; pollinations: placeholder (200 + ~1.3 MB JPEG), queue_full (402 x402),
    refused; gemini: safety (finishReason IMAGE_SAFETY), blocked (promptFeedback.blockReason),
    text_only.
    aihorde (the outcome of `POST /v2/generate/async`; an accepted request then answers `check`
    and `status` as a job would; a dict item may carry `queue`: [(position, wait), ...]):
    ok, retired (accepted with a NoAvailableWorker warning), impossible (`is_possible: false`),
    faulted, censored, expired (the check answers 404 RequestNotFound), not_image, truncated,
    stall (queued for ever), r2 (the image as a URL), and the refusals auth, forbidden, kudos,
    blocked (TimeoutIP), refused (CorruptPrompt), bad_request, no_workers, maintenance,
    rate_limit (TooManyPrompts), unavailable. Not built from recorded answers: from the horde's
    published API schema (Haidra-Org/AI-Horde: horde/apis/models/v2.py, stable_v2.py,
    horde/exceptions.py, README_return_codes.md).

One call from a test (builds the provider with SPEC.create, runs generate once, returns the
GeneratedImage or the ProviderError)::

    generate_once(fp, "cloudflare", "a fox", model="...", ctx_timeout="0.1", transport=...)

`SENTINELS` holds sentinel secrets (env name -> value) for leak tests.

Inspect it::

    fp.requests("together")      # [Recorded(provider, method, path, query, headers, body, json, outcome, ...)]
    fp.count("together")         # requests seen;  fp.images(name): images served
    fp.max_concurrency("pollinations")   # most requests in flight at once

Gemini text requests (no IMAGE response modality: the describer) answer "ok" with a short text
description derived from the post (as JSON `{"prompt": ..., "alt": ...}` when the request asks for
`responseMimeType: application/json`); image requests answer a PNG; `:predict` (imagen) answers
`predictions[0].bytesBase64Encoded`.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import io
import json
import random
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from PIL import Image, ImageDraw

NAMES = ("cloudflare", "huggingface", "together", "pollinations", "gemini")
"""The providers `fp.env()` configures by default (each with a fake credential)."""
ALL_NAMES = (*NAMES, "aihorde")
"""Every protocol the fake speaks. AI Horde needs no key and joins a default chain only when no
other provider is configured: ask for it by name (`fp.env(names=["aihorde"])`)."""
HORDE_ANONYMOUS = "0000000000"

FAKE_CREDENTIALS: dict[str, str] = {
    "CLOUDFLARE_API_TOKEN": "fake-cf-token-0001",
    "CLOUDFLARE_ACCOUNT_ID": "fakeaccount0001",
    "HUGGINGFACE_API_TOKEN": "hf_fake0001",
    "TOGETHER_API_TOKEN": "fake-together-0001",
    "GEMINI_API_KEY": "fake-gemini-0001",
}

POLLINATIONS_LOGO: dict[str, str] = {
    "X-Powered-By": "Pollinations.AI",
    "X-Pollinations-Logo": "horizontal",
    "Link": "<https://pollinations.ai>; rel=\"service\"",
}
"""What a branded anonymous Pollinations answer carries (image.pollinations.ai/cloudflare-cache/src/
attribution.ts; the header values besides their names are not public, these are stand-ins)."""

SENTINELS: dict[str, str] = {
    "CLOUDFLARE_API_TOKEN": "SENTINEL-cf-token-7f3a",
    "CLOUDFLARE_ACCOUNT_ID": "SENTINEL-cf-account-7f3a",
    "HUGGINGFACE_API_TOKEN": "hf_SENTINEL-hf-token-7f3a",
    "TOGETHER_API_TOKEN": "SENTINEL-together-token-7f3a",
    "POLLINATIONS_API_KEY": "SENTINEL-pollinations-key-7f3a",
    "GEMINI_API_KEY": "SENTINEL-gemini-key-7f3a",
}
"""Secrets that must never show up in a cassette, log line, exception or report (leak tests)."""

_OPT_KEYS: dict[str, dict[str, str]] = {
    "cloudflare": {"api_token": "CLOUDFLARE_API_TOKEN", "account_id": "CLOUDFLARE_ACCOUNT_ID"},
    "huggingface": {"api_token": "HUGGINGFACE_API_TOKEN"},
    "together": {"api_token": "TOGETHER_API_TOKEN"},
    "pollinations": {},
    "gemini": {"api_key": "GEMINI_API_KEY"},
    "aihorde": {},
}


@dataclass(frozen=True)
class Behaviour:
    latency: float = 0.0
    latency_jitter: float = 0.0
    """Extra simulated seconds, uniform in [0, latency_jitter), from a seeded generator."""
    quota_after: int | None = None
    rate_limit_every: int | None = None
    retry_after: float = 2.0
    default: str = "ok"
    token: str | None = None
    image_size: tuple[int, int] = (96, 54)
    retired_models: tuple[str, ...] = ()
    """Requests for these model ids answer 'retired' (each provider's real model-not-served
    answer), whatever the script or the default says."""
    balance: float | None = 1.5
    """Pollinations: the pollen `GET /account/balance` reports (None: the key may not read it, 403)."""
    unknown_fields: tuple[str, ...] = ()
    """Gemini: request fields (as on the wire: `responseModalities`, `systemInstruction`, ...) this
    API version does not know. A generateContent or countTokens request carrying one answers the
    real 400 "Invalid JSON payload received. Unknown name ..." (what reports quote from `/v1`)."""
    hub_mapping: tuple[tuple[str, ...], ...] | None = None
    """Hugging Face Hub: the mapping endpoint's entries, in order, as (model, partner[, status
    [, partner's model id[, task]]]) (status "live", the model's own id, "text-to-image" when left
    out); None: every model is served by `together` under its own id. A model not listed answers
    404 (unknown to the Hub)."""
    hub_format: str = "dict"
    """How the Hub writes `inferenceProviderMapping`: "dict" (keyed by partner, in order) or "list"."""
    hub_stall: bool = False
    """The Hub's mapping endpoint sends its headers, then a byte every 50 ms and never finishes."""
    partner_outcomes: tuple[tuple[str, str], ...] = ()
    """Hugging Face: (partner, outcome) -- every call routed to that partner gets that outcome,
    whatever the script says (e.g. ("nscale", "retired"): nscale does not serve the model)."""
    horde_queue: tuple[tuple[int, float], ...] = ((2, 12.0), (1, 4.0))
    """AI Horde: what each `check` says before the request is done, as (queue position, expected
    wait in seconds); a scripted outcome may carry its own `queue`."""
    download: str = "ok"
    """What a partner's image URL (fal-ai answers one) serves: ok, redirect (302 elsewhere), huge
    (a declared body over any cap), chunked_huge (an endless body without a length), drip."""


@dataclass(frozen=True)
class Recorded:
    provider: str
    method: str
    path: str
    """The path after the provider prefix, percent-decoding undone for readability."""
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    outcome: str
    started: float
    form: dict[str, str] | None = None
    """The text fields of a multipart/form-data body (Cloudflare's FLUX.2), else None."""


@dataclass
class _State:
    behaviour: Behaviour = field(default_factory=Behaviour)
    script: deque[dict[str, Any]] = field(default_factory=deque)
    calls: int = 0
    images: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    records: list[Recorded] = field(default_factory=list)


# --------------------------------------------------------------------------- images

_image_cache: dict[tuple[str, str, tuple[int, int]], bytes] = {}
_cache_lock = threading.Lock()
_placeholder: bytes | None = None


def make_image(prompt: str, fmt: str = "png", size: tuple[int, int] = (96, 54)) -> bytes:
    """A small real image whose colours depend on the prompt (different prompt, different bytes)."""
    key = (prompt, fmt, size)
    with _cache_lock:
        if key in _image_cache:
            return _image_cache[key]
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    img = Image.new("RGB", size, tuple(digest[:3]))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=tuple(digest[3:6]))
    draw.line((0, digest[6] % h, w, digest[7] % h), fill=tuple(digest[8:11]), width=3)
    out = io.BytesIO()
    img.save(out, format="JPEG" if fmt in ("jpg", "jpeg") else "WEBP" if fmt == "webp" else "PNG")
    data = out.getvalue()
    with _cache_lock:
        if len(_image_cache) > 512:
            _image_cache.clear()
        _image_cache[key] = data
    return data


def placeholder_jpeg() -> bytes:
    """A real, decodable JPEG of about 1.3 MB, like Pollinations' rate-limit placeholder."""
    global _placeholder
    with _cache_lock:
        if _placeholder is None:
            rng = random.Random(1300)
            img = Image.frombytes("RGB", (1024, 1024), rng.randbytes(1024 * 1024 * 3))
            out = io.BytesIO()
            img.save(out, format="JPEG", quality=95)
            _placeholder = out.getvalue()
        return _placeholder


# --------------------------------------------------------------------------- responses


@dataclass
class _Answer:
    status: int = 200
    body: bytes = b""
    ctype: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False


def _json(status: int, data: Any, **headers: str) -> _Answer:
    return _Answer(status, json.dumps(data).encode(), "application/json", dict(headers))


_HTML = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>busy</body></html>"


class _Renderer:
    """Renders an outcome in one provider's wire shape."""

    def __init__(self, fp: "FakeProviders") -> None:
        self.fp = fp

    def render(self, name: str, kind: str, params: dict[str, Any], req: dict[str, Any]) -> _Answer:
        b: Behaviour = req["behaviour"]
        retry_after = float(params.get("retry_after", b.retry_after))
        common = self._common(name, kind, req, retry_after)
        if common is not None:
            return common
        fn = getattr(self, f"_{name}")
        return fn(kind, params, req, retry_after)

    # Outcomes that look the same everywhere.
    def _common(self, name: str, kind: str, req: dict[str, Any], retry_after: float) -> _Answer | None:
        if kind == "reset":
            return _Answer(reset=True)
        if kind == "garbage":
            return _Answer(200, _HTML, "text/html; charset=utf-8")
        if kind == "gone":
            return _Answer(410, b"Gone", "text/plain")
        if kind == "echo":
            seen = {"path": req["raw_path"], "headers": req["headers"], "query": req["query"]}
            return _json(400, {"error": {"message": f"bad request: {json.dumps(seen)}", "code": "echo"}})
        if kind == "server_error" and name != "gemini":
            return _json(500, {"error": "Internal Server Error"})
        if kind == "raw":
            return self._raw(req["params"])
        if kind == "retired":
            return self._retired(name, req)
        return None

    @staticmethod
    def _retired(name: str, req: dict[str, Any]) -> _Answer:
        """Each provider's real 'this model is retired / not served' answer."""
        if name == "cloudflare":
            return _json(400, {"result": None, "success": False, "messages": [],
                               "errors": [{"code": 5028, "message": "This model was deprecated on 2026-07-01"}]})
        if name == "huggingface":
            return _json(410, {"error": "The requested model is deprecated and no longer supported by provider "
                                        "hf-inference"})
        if name == "aihorde":  # not served now: accepted with a warning, then impossible (see _aihorde)
            return _Renderer._aihorde_retired(req)
        if name == "together":
            return _json(404, {"error": {"message": "Unable to access model.", "type": "invalid_request_error",
                                         "param": None, "code": "model_not_available"}})
        if name == "pollinations":
            return _json(400, {"success": False, "error": {"message": "Unknown model: not available"}})
        model = req["path"].split("/models/", 1)[-1].split(":", 1)[0]
        return _json(404, {"error": {"code": 404, "status": "NOT_FOUND",
                                     "message": f"models/{model} is not found for API version v1, or is not "
                                                "supported for generateContent."}})

    @staticmethod
    def _aihorde_retired(req: dict[str, Any]) -> _Answer:
        return req["renderer"]._aihorde("retired", {}, req, 0.0)

    @staticmethod
    def _raw(params: dict[str, Any]) -> _Answer:
        body = params.get("body", b"")
        if isinstance(body, (dict, list)):
            body, ctype = json.dumps(body).encode(), "application/json"
        else:
            body = body.encode() if isinstance(body, str) else bytes(body)
            ctype = "text/plain"
        return _Answer(int(params.get("status", 200)), body, str(params.get("content_type", ctype)),
                       {str(k): str(v) for k, v in (params.get("headers") or {}).items()})

    def _ok_image(self, req: dict[str, Any], fmt: str) -> bytes:
        return make_image(req["prompt"], fmt, req["behaviour"].image_size)

    def _truncated(self, req: dict[str, Any], fmt: str) -> bytes:
        data = self._ok_image(req, fmt)
        return data[: max(16, len(data) // 2)]

    # ---- Cloudflare
    def _cloudflare(self, kind: str, params: dict[str, Any], req: dict[str, Any], retry_after: float) -> _Answer:
        def envelope(status: int, code: int, message: str, **headers: str) -> _Answer:
            return _json(status, {"result": None, "success": False,
                                  "errors": [{"code": code, "message": message}], "messages": []}, **headers)

        raw_png = "stable-diffusion" in req["path"]
        shape = _cloudflare_shape_error(req["path"], req.get("json"), req.get("form"))
        if shape and kind in ("ok", "truncated", "not_image"):  # what the model's input schema refuses
            return envelope(400, 5006, shape)
        if kind in ("ok", "truncated"):
            fmt = "png" if raw_png else "jpeg"
            data = self._ok_image(req, fmt) if kind == "ok" else self._truncated(req, fmt)
            if raw_png:
                return _Answer(200, data, "image/png")
            return _json(200, {"result": {"image": base64.b64encode(data).decode()}, "success": True,
                               "errors": [], "messages": []})
        if kind == "not_image":
            return _json(200, {"result": {}, "success": True, "errors": [], "messages": []})
        if kind == "quota":
            return envelope(429, 3036, "Account limited: you have used up your daily free allocation of 10,000 "
                                       "neurons, please upgrade to Cloudflare's Workers Paid plan if you would like "
                                       "to continue usage.")
        if kind == "rate_limit":
            return envelope(429, 3040, "Capacity temporarily exceeded, please try again.",
                            **{"Retry-After": f"{retry_after:g}"})
        if kind == "auth":
            return envelope(401, 10000, "Authentication error")
        if kind == "forbidden":
            return envelope(403, 10000, "Forbidden: account is not allowed to use this model")
        if kind == "not_found":
            return envelope(400, 5007, "No such model @cf/unknown/model or task")
        if kind == "bad_request":
            return envelope(400, 5006, "Error: required properties at '/' are 'prompt'")
        if kind == "unavailable":
            return envelope(503, 3001, "Unknown internal error")
        raise ValueError(f"cloudflare: no outcome {kind!r}")

    # ---- AI Horde
    def _aihorde(self, kind: str, params: dict[str, Any], req: dict[str, Any], retry_after: float) -> _Answer:
        """The answer to `POST /v2/generate/async`; an accepted request becomes a job that `check`
        and `status` answer for (FakeProviders._horde)."""
        def err(status: int, rc: str, message: str, **headers: str) -> _Answer:
            return _json(status, {"message": message, "rc": rc}, **headers)

        errors = {
            "auth": (401, "InvalidAPIKey", "Invalid API Key (generation). Please register at https://aihorde.net/register"),
            "forbidden": (403, "AnonForbidden", "Anonymous is not allowed to perform this operation"),
            "kudos": (403, "KudosUpfront", "Due to heavy demand, for requests over 576x576 or over 50 steps the "
                                           "client needs to already have the required kudos. This request requires "
                                           "23 kudos to fulfil."),
            "blocked": (403, "TimeoutIP", "Your IP address has been put into a timeout due to suspicious activity"),
            "refused": (400, "CorruptPrompt", "This prompt appears to violate our terms of service and will be "
                                              "reported. Please contact us if you think this is an error."),
            "bad_request": (400, "InvalidSize", "Invalid size. The image dimensions have to be multiples of 64."),
            "no_workers": (400, "NoValidWorkers", "No active worker found to fulfill this request. Please Try again "
                                                  "later..."),
            "maintenance": (503, "MaintenanceMode", "AI Horde has entered maintenance mode. Please try again later."),
        }
        if kind in errors:
            return err(*errors[kind])
        if kind == "rate_limit":
            return err(429, "TooManyPrompts", "Too many anonymous requests on using the AI Horde currently (3/2). "
                                              "Please consider getting a personal API key at https://aihorde.net/register "
                                              "which will also provide higher priority.", **{"Retry-After": f"{retry_after:g}"})
        if kind == "unavailable":
            return _json(503, {"message": "Service Unavailable"})
        if kind not in ("ok", "retired", "impossible", "faulted", "censored", "expired", "not_image", "truncated",
                        "stall", "r2"):
            raise ValueError(f"aihorde: no outcome {kind!r}")
        body = req["json"] if isinstance(req["json"], dict) else {}
        job = self.fp.new_horde_job(kind, params, req, str((body.get("models") or [""])[0]))
        answer: dict[str, Any] = {"id": job, "kudos": 10.0}
        if kind == "retired":
            answer["message"] = ("Warning: No available workers can fulfill this request. It will expire in 20 "
                                 "minutes unless a worker appears. Please confider reducing its size of the request "
                                 "or choosing a different model.")
            answer["warnings"] = [{"code": "NoAvailableWorker", "message": "No workers available for this request."}]
        return _json(202, answer)

    # ---- Hugging Face
    def _huggingface(self, kind: str, params: dict[str, Any], req: dict[str, Any], retry_after: float) -> _Answer:
        model = req["path"].split("/models/", 1)[-1]
        partner = req["path"].split("/", 2)[1] if req["path"].count("/") >= 2 else ""
        if kind == "ok" and partner == "fal-ai":
            # fal-ai answers a URL; huggingface_hub downloads it synchronously in a worker thread.
            url = self.fp.store_file(self._ok_image(req, "jpeg"))
            return _json(200, {"images": [{"url": url, "content_type": "image/jpeg"}], "seed": 1})
        if kind == "ok" and partner not in ("hf-inference", "models", ""):
            # A partner route through the router answers in the partner's own shape (together,
            # nscale: OpenAI-style JSON with base64 in data[0].b64_json).
            data = self._ok_image(req, "jpeg")
            return _json(200, {"data": [{"b64_json": base64.b64encode(data).decode()}]})
        if kind == "ok":
            return _Answer(200, self._ok_image(req, "jpeg"), "image/jpeg")
        if kind == "truncated":
            return _Answer(200, self._truncated(req, "jpeg"), "image/jpeg")
        if kind == "not_image":
            return _json(200, {"generated_text": "not an image"})
        if kind == "quota":
            return _json(402, {"error": "You have exceeded your monthly included credits for Inference Providers. "
                                        "Subscribe to PRO to get 20x more monthly included credits."})
        if kind == "rate_limit":
            return _json(429, {"error": "Rate limit reached. You reached free usage limit (reset hourly)."},
                         **{"Retry-After": f"{retry_after:g}"})
        if kind == "auth":
            return _json(401, {"error": "Invalid credentials in Authorization header"})
        if kind == "forbidden":
            return _json(403, {"error": "This authentication method does not have sufficient permissions"})
        if kind == "loading":
            est = float(params.get("estimated_time", 20.0))
            return _json(503, {"error": f"Model {model} is currently loading", "estimated_time": est})
        if kind == "unavailable":
            return _json(503, {"error": "Service Unavailable"})
        if kind == "not_found":
            return _Answer(404, b"Not Found", "text/plain")
        if kind == "bad_request":
            return _json(400, {"error": "Input validation error: `inputs` must not be empty"})
        raise ValueError(f"huggingface: no outcome {kind!r}")

    # ---- Together
    def _together(self, kind: str, params: dict[str, Any], req: dict[str, Any], retry_after: float) -> _Answer:
        def err(status: int, message: str, type_: str, code: str | None = None, **headers: str) -> _Answer:
            return _json(status, {"error": {"message": message, "type": type_, "param": None, "code": code}},
                         **headers)

        if kind in ("ok", "truncated"):
            data = self._ok_image(req, "jpeg") if kind == "ok" else self._truncated(req, "jpeg")
            model = (req["json"] or {}).get("model", "")
            return _json(200, {"id": "fake-" + hashlib.sha1(data).hexdigest()[:12], "model": model,
                               "object": "list", "data": [{"index": 0, "b64_json": base64.b64encode(data).decode(),
                                                            "timings": {"inference": 0.4}}]})
        if kind == "not_image":
            return _json(200, {"id": "fake", "object": "list", "data": [{"index": 0, "url": "https://x.invalid/i.png"}]})
        if kind == "quota":
            return err(402, "Credit limit exceeded: your organization has reached its spending limit.",
                       "credit_limit", "credit_limit_exceeded")
        if kind == "rate_limit":
            return err(429, "You have exceeded the rate limit for this model.", "rate_limit", "rate_limit_exceeded",
                       **{"Retry-After": f"{retry_after:g}", "x-ratelimit-remaining": "0"})
        if kind == "auth":
            return err(401, "Invalid API key provided.", "invalid_request_error", "invalid_api_key")
        if kind == "forbidden":
            return err(403, "Your account may not use this model.", "invalid_request_error")
        if kind == "not_found":
            return err(404, "Unable to access model. Please visit https://api.together.ai/models to view the "
                            "list of supported models.", "invalid_request_error", "model_not_available")
        if kind == "bad_request":
            return err(400, "Invalid width: must be a multiple of 16", "invalid_request_error")
        if kind == "unavailable":
            return err(503, "Engine Overloaded", "server_error")
        raise ValueError(f"together: no outcome {kind!r}")

    # ---- Pollinations
    def _pollinations(self, kind: str, params: dict[str, Any], req: dict[str, Any], retry_after: float) -> _Answer:
        if kind == "ok":
            # The anonymous (legacy) host stamps its logo on every image since 2026-08-03 and says
            # so in these headers (pollinations#13036, attribution.ts); the keyed gateway does not.
            anonymous = req["path"].startswith("/prompt/")
            return _Answer(200, self._ok_image(req, "jpeg"), "image/jpeg", dict(POLLINATIONS_LOGO) if anonymous else {})
        if kind == "truncated":
            return _Answer(200, self._truncated(req, "jpeg"), "image/jpeg")
        if kind == "not_image":
            return _Answer(200, b"Generating... please wait", "text/plain")
        if kind == "placeholder":
            return _Answer(200, placeholder_jpeg(), "image/jpeg")
        if kind == "queue_full":
            return _json(402, {"x402Version": 1, "error": "Queue full for IP 203.0.113.7 - please wait for your "
                                                          "previous request to finish", "accepts": []})
        if kind == "quota":
            return _json(402, {"success": False, "error": {"code": "PAYMENT_REQUIRED",
                                                           "message": "Insufficient balance. This model costs ~0.0020 "
                                                                      "pollen per request, but your available balance "
                                                                      "is 0.0000."}, "status": 402})
        if kind == "rate_limit":
            return _json(429, {"success": False, "error": {"code": "RATE_LIMITED", "message": "Too many requests"}},
                         **{"Retry-After": f"{retry_after:g}"})
        if kind == "auth":
            return _json(401, {"success": False, "error": {"code": "UNAUTHORIZED",
                                                           "message": "Invalid or missing API key"}})
        if kind == "forbidden":
            return _json(403, {"success": False, "error": {"code": "FORBIDDEN", "message": "Forbidden"}})
        if kind == "refused":
            return _json(400, {"success": False, "error": {"code": "CONTENT_FILTERED",
                                                           "message": "Prompt rejected by the safe filter (NSFW)"}})
        if kind == "not_found":
            return _json(404, {"success": False, "error": {"code": "NOT_FOUND", "message": "Model not found"}})
        if kind == "bad_request":
            return _json(400, {"success": False, "error": {"code": "BAD_REQUEST", "message": "Invalid parameters"}})
        if kind == "unavailable":
            return _Answer(503, b"Service Unavailable", "text/plain")
        raise ValueError(f"pollinations: no outcome {kind!r}")

    # ---- Gemini (REST shape of the google-genai SDK)
    def _gemini(self, kind: str, params: dict[str, Any], req: dict[str, Any], retry_after: float) -> _Answer:
        def err(code: int, status: str, message: str, details: list[dict[str, Any]] | None = None) -> _Answer:
            e: dict[str, Any] = {"code": code, "message": message, "status": status}
            if details:
                e["details"] = details
            return _json(code, {"error": e})

        path = req["path"]
        model = path.split("/models/", 1)[-1].split(":", 1)[0]
        predict = path.endswith(":predict")
        body = req["json"] if isinstance(req["json"], dict) else {}
        modalities = [m.upper() for m in (body.get("generationConfig") or {}).get("responseModalities") or []]
        wants_image = "IMAGE" in modalities

        def quota(per: str, delay: float) -> _Answer:
            metric = "generativelanguage.googleapis.com/generate_content_free_tier_requests"
            return err(429, "RESOURCE_EXHAUSTED",
                       "You exceeded your current quota, please check your plan and billing details. "
                       f"* Quota exceeded for metric: {metric}, limit: 10, model: {model}\n"
                       f"Please retry in {delay + 0.88:.2f}s.",
                       [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                         "violations": [{"quotaMetric": metric,
                                         "quotaId": f"GenerateRequests{per}PerProjectPerModel-FreeTier",
                                         "quotaDimensions": {"location": "global", "model": model},
                                         "quotaValue": "10"}]},
                        {"@type": "type.googleapis.com/google.rpc.Help",
                         "links": [{"description": "Learn more", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{int(delay)}s"}])

        if kind in ("ok", "truncated"):
            if predict:
                data = self._ok_image(req, "png") if kind == "ok" else self._truncated(req, "png")
                return _json(200, {"predictions": [{"bytesBase64Encoded": base64.b64encode(data).decode(),
                                                    "mimeType": "image/png"}]})
            if not wants_image:
                return _json(200, self._text_response(req))
            data = self._ok_image(req, "png") if kind == "ok" else self._truncated(req, "png")
            return _json(200, {"candidates": [{"content": {"role": "model", "parts": [
                {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}]},
                "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302},
                "modelVersion": model})
        if kind == "not_image":
            if predict:
                return _json(200, {"predictions": [{"mimeType": "image/png"}]})
            return _json(200, {"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}]})
        if kind == "safety":
            if predict:
                return _json(200, {"predictions": []})
            return _json(200, {"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}], "modelVersion": model})
        if kind == "blocked":
            return _json(200, {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "modelVersion": model})
        if kind == "text_only":
            return _json(200, {"candidates": [{"content": {"role": "model", "parts": [
                {"text": "I can't create that image, but here is a description instead."}]},
                "finishReason": "STOP"}]})
        if kind == "quota":
            return quota("PerDay", retry_after)
        if kind == "rate_limit":
            return quota("PerMinute", retry_after)
        if kind == "auth":
            return err(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                       [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                         "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}])
        if kind == "forbidden":
            return err(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        if kind == "not_found":
            return err(404, "NOT_FOUND", f"models/{model} is not found for API version v1beta, or is not "
                                         "supported for generateContent.")
        if kind == "bad_request":
            return err(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        if kind == "unknown_field":  # fixture gemini-400-unknown-field-responseModalities.json
            where = "generation_config" if params["field"] != "systemInstruction" else "*"
            return err(400, "INVALID_ARGUMENT", f"Invalid JSON payload received. Unknown name \"{params['field']}\" "
                                                f"at '{where}': Cannot find field.")
        if kind == "server_error":
            return err(500, "INTERNAL", "An internal error has occurred.")
        if kind == "unavailable":
            return err(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        raise ValueError(f"gemini: no outcome {kind!r}")

    @staticmethod
    def _text_response(req: dict[str, Any]) -> dict[str, Any]:
        words = req["prompt"].split()
        topic = " ".join(words[:8]) or "a quiet scene"
        text = (f"A soft, luminous illustration about {topic}, layered shapes and warm light, "
                f"no text or lettering, wide composition (ref {hashlib.sha1(req['prompt'].encode()).hexdigest()[:8]}).")
        config = (req.get("json") or {}).get("generationConfig") or {}
        if config.get("responseMimeType") == "application/json":  # structured output: prompt + alt text
            text = json.dumps({"prompt": text, "alt": f"Layered shapes in warm light about {' '.join(words[:4])}."[:125]})
        return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": len(words), "candidatesTokenCount": 40}}


# --------------------------------------------------------------------------- the server


def _forget_hub_mappings() -> None:
    """huggingface_hub caches each model's provider mapping for the process: forget it between tests."""
    from imagegen.providers import huggingface

    huggingface.forget_mappings()


def _route(path: str) -> tuple[str | None, str]:
    """(provider, path after the prefix) for a request path."""
    for name in ALL_NAMES:
        prefix = f"/{name}"
        if path == prefix or path.startswith(prefix + "/"):
            return name, path[len(prefix):] or "/"
    if "/accounts/" in path and "/ai/run/" in path:
        return "cloudflare", path
    if path.startswith("/hf-inference/") or path.startswith("/models/"):
        return "huggingface", path
    if path.startswith("/v1/images/generations"):
        return "together", path
    if path.startswith(("/prompt/", "/image/")):
        return "pollinations", path
    if path.startswith(("/v1beta/", "/v1/models/", "/v1alpha/")):
        return "gemini", path
    return None, path


def _model_of(name: str, path: str, query: dict[str, str], data: Any) -> str:
    """The model id a request asks for, in each provider's own place."""
    body = data if isinstance(data, dict) else {}
    if name == "cloudflare":
        return unquote(path.split("/ai/run/", 1)[-1]) if "/ai/run/" in path else ""
    if name == "huggingface":
        if path.startswith("/fal-ai/"):
            return unquote(path[len("/fal-ai/"):])
        return unquote(path.split("/models/", 1)[-1]) if "/models/" in path else str(body.get("model", ""))
    if name == "together":
        return str(body.get("model", ""))
    if name == "pollinations":
        return query.get("model", "")
    if name == "gemini":
        return unquote(path.split("/models/", 1)[-1].split(":", 1)[0]) if "/models/" in path else ""
    if name == "aihorde":
        models = body.get("models")
        return str(models[0]) if isinstance(models, list) and models else ""
    return ""


def _prompt_of(name: str, path: str, data: Any) -> str:
    if name == "pollinations":
        return unquote(path.split("/", 2)[-1]) if path.count("/") >= 2 else ""
    if not isinstance(data, dict):
        return ""
    if name in ("cloudflare", "aihorde"):
        return str(data.get("prompt", ""))
    if name == "huggingface":
        return str(data.get("inputs") or data.get("prompt") or "")
    if name == "together":
        return str(data.get("prompt", ""))
    if name == "gemini":
        if isinstance(data.get("instances"), list) and data["instances"]:
            return str(data["instances"][0].get("prompt", ""))
        texts = []
        for c in data.get("contents") or []:
            for p in (c.get("parts") or []) if isinstance(c, dict) else []:
                if isinstance(p, dict) and p.get("text"):
                    texts.append(str(p["text"]))
        return "\n".join(texts)
    return ""


def _parse_form(content_type: str, body: bytes) -> dict[str, str] | None:
    """The text fields of a multipart/form-data body (None when the body is not one)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = part.get_payload(decode=True).decode("utf-8")
    return fields


def _cloudflare_shape_error(path: str, data: Any, form: dict[str, str] | None) -> str:
    """What Workers AI says to a body its model's input schema refuses ('' when fine):
    FLUX.2 takes only a multipart form (changelog 2026-01-15); FLUX.1 [schnell]'s JSON schema has
    `additionalProperties: false` with `prompt` and `steps` only."""
    if "/flux-2-" in path:
        if form is None:
            return "Error: required properties at '/' are 'multipart'"
        if not form.get("prompt"):
            return "Error: required properties at '/' are 'prompt'"
        for key in ("width", "height"):
            if key in form and not 256 <= int(form[key]) <= 1920:
                return f"Error: '/{key}' must be between 256 and 1920"
        return ""
    if "/flux-1-schnell" in path and isinstance(data, dict):
        extra = sorted(set(data) - {"prompt", "steps"})
        if extra:
            return f"Error: additional properties at '/' are not allowed: {', '.join(extra)}"
    return ""


def _unknown_field(data: Any, unknown: tuple[str, ...]) -> str:
    """The first of `unknown` that appears as a key anywhere in a JSON request body ('' if none)."""
    if not unknown or not isinstance(data, (dict, list)):
        return ""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in unknown:
                    return str(key)
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return ""


def _credential(headers: dict[str, str]) -> str:
    if "apikey" in headers:  # AI Horde
        return headers["apikey"]
    if "x-goog-api-key" in headers:
        return headers["x-goog-api-key"]
    auth = headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else auth


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops a keep-alive connection (or times out) is normal here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FakeProviders:
    """The fake server. Thread-safe; start/stop or use as a context manager."""

    def __init__(self, *, time_scale: float = 1.0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.time_scale = time_scale
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {n: _State() for n in ALL_NAMES}
        self._jobs: dict[str, dict[str, Any]] = {}
        """AI Horde's accepted requests, by id."""
        self._renderer = _Renderer(self)
        self._server = _Server((host, port), self._handler_class())
        self._rng = random.Random(0)
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()
        self.hub_calls: list[str] = []
        """Models asked for at the Hugging Face Hub mapping endpoint."""
        self.hub_auth: list[str] = []
        """The Authorization header of each Hub mapping request ('' when none was sent)."""
        self.downloads: list[str] = []
        """Paths fetched from the fake's file store (a partner's image URL)."""
        self._files: dict[str, bytes] = {}
        self._stop = threading.Event()
        self.catalog_calls: list[tuple[str, str]] = []
        """(provider, path) of the cheap list/get/whoami requests (`imagegen doctor`)."""

    # ---- lifecycle
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def base_url(self, name: str) -> str:
        self._check(name)
        return f"{self.url}/{name}"

    def start(self) -> "FakeProviders":
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="fake-providers", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "FakeProviders":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- configuration
    def env(self, names: Iterable[str] = NAMES, **overrides: str) -> dict[str, str]:
        """Environment for imagegen.config.settings.load: base URLs, fake credentials, Pollinations on."""
        env: dict[str, str] = {}
        for name in names:
            self._check(name)
            env[f"IMAGEGEN_{name.upper()}_BASE_URL"] = self.base_url(name)
            if name == "huggingface":
                env["IMAGEGEN_HUGGINGFACE_HUB_URL"] = self.base_url(name)  # the Hub's mapping endpoint
            for env_name in _OPT_KEYS[name].values():
                env[env_name] = FAKE_CREDENTIALS[env_name]
            if name == "pollinations":
                env["POLLINATIONS_ENABLED"] = "true"
                env["POLLINATIONS_ACCEPT_LOGO"] = "true"  # the fake brands anonymous images, as the real host
        env.update(overrides)
        return env

    def opts(self, name: str, **overrides: str) -> dict[str, str]:
        """Options for `SPEC.create(opts, ctx)` pointing provider `name` at this server."""
        self._check(name)
        out = {key: FAKE_CREDENTIALS[env] for key, env in _OPT_KEYS[name].items()}
        out["base_url"] = self.base_url(name)
        if name == "huggingface":
            out["hub_url"] = self.base_url(name)
        if name == "pollinations":
            out["enabled"] = "true"
            out["accept_logo"] = "true"  # the fake brands anonymous images, as the real host
        out.update(overrides)
        return out

    def script(self, name: str, outcomes: Iterable[str | dict[str, Any]]) -> None:
        """Queue outcomes for `name`, consumed one per request, before the behaviour decides."""
        self._check(name)
        items = [{"kind": o} if isinstance(o, str) else dict(o) for o in outcomes]
        with self._lock:
            self._states[name].script.extend(items)

    def set_behaviour(self, name: str, **changes: Any) -> None:
        self._check(name)
        with self._lock:
            st = self._states[name]
            st.behaviour = replace(st.behaviour, **changes)

    def behaviour(self, name: str) -> Behaviour:
        with self._lock:
            return self._states[name].behaviour

    def reset_quota(self, name: str) -> None:
        with self._lock:
            self._states[name].images = 0

    def reset(self) -> None:
        with self._lock:
            self._states = {n: _State() for n in ALL_NAMES}
            self._jobs = {}
            self.hub_calls = []
            self.hub_auth = []
            self.downloads = []
            self._files = {}
            self.catalog_calls = []
        _forget_hub_mappings()

    # ---- inspection
    def requests(self, name: str | None = None) -> list[Recorded]:
        with self._lock:
            if name is not None:
                return list(self._states[name].records)
            return sorted((r for st in self._states.values() for r in st.records), key=lambda r: r.started)

    def count(self, name: str) -> int:
        with self._lock:
            return len(self._states[name].records)

    def images(self, name: str) -> int:
        with self._lock:
            return self._states[name].images

    def max_concurrency(self, name: str) -> int:
        with self._lock:
            return self._states[name].max_in_flight

    # ---- internals
    def _check(self, name: str) -> None:
        if name not in ALL_NAMES:
            raise KeyError(f"unknown provider {name!r} (known: {', '.join(ALL_NAMES)})")

    def store_file(self, data: bytes) -> str:
        """Keep `data` and return the URL that serves it (a partner's image URL)."""
        with self._lock:
            key = f"f{len(self._files)}-{hashlib.sha1(data).hexdigest()[:8]}.jpg"
            self._files[key] = data
        return f"{self.url}/huggingface/files/{key}"

    def _decide(self, name: str, cred: str, model: str = "", path: str = "",
                data: Any = None) -> tuple[str, dict[str, Any], Behaviour]:
        with self._lock:
            st = self._states[name]
            st.calls += 1
            b = st.behaviour
            if b.token is not None and cred != b.token:
                return "auth", {}, b
            if model and model in b.retired_models:
                return "retired", {}, b
            partner = path.split("/", 2)[1] if path.count("/") >= 2 else ""
            fixed = dict(b.partner_outcomes).get(partner)
            if fixed is not None:
                return fixed, {}, b
            unknown = _unknown_field(data, b.unknown_fields)
            if unknown:
                return "unknown_field", {"field": unknown}, b
            if st.script:
                item = st.script.popleft()
            elif b.quota_after is not None and st.images >= b.quota_after:
                item = {"kind": "quota"}
            elif b.rate_limit_every and st.calls % b.rate_limit_every == 0:
                item = {"kind": "rate_limit"}
            else:
                item = {"kind": b.default}
            kind = str(item.get("kind", "ok"))
            if kind == "ok":
                st.images += 1
            return kind, {k: v for k, v in item.items() if k != "kind"}, b

    CATALOG: dict[str, tuple[str, ...]] = {
        "together": ("black-forest-labs/FLUX.1-schnell", "black-forest-labs/FLUX.1-dev"),
        "pollinations": ("flux", "zimage", "klein", "kontext"),
        "aihorde": ("AlbedoBase XL (SDXL)", "Juggernaut XL", "Deliberate"),
    }
    """Models the fake's list endpoints name (besides what a search asks for)."""

    def _catalog(self, name: str, path: str, query: dict[str, str], headers: dict[str, str],
                 data: Any = None) -> _Answer | None:
        """The cheap endpoints `imagegen doctor` uses (model list/get, whoami, Gemini's countTokens):
        recorded in `catalog_calls`, never counted as image calls. None: not a catalog request."""
        kind = ""
        if name == "cloudflare" and path.endswith("/ai/models/search"):
            kind = "search"
        elif name == "huggingface" and path == "/api/whoami-v2":
            kind = "whoami"
        elif name == "together" and path == "/v1/models":
            kind = "list"
        elif name == "pollinations" and path in ("/models", "/image/models"):
            kind = "list"
        elif name == "pollinations" and path == "/account/balance":
            kind = "balance"
        elif name == "aihorde" and path in ("/v2/find_user", "/v2/status/models"):
            kind = "find_user" if path == "/v2/find_user" else "horde_models"
        elif name == "gemini" and "/models/" in path and ":" not in path:
            kind = "get"
        elif name == "gemini" and path.endswith(":countTokens"):
            kind = "count"
        if not kind:
            return None
        with self._lock:
            self.catalog_calls.append((name, path))
            b = self._states[name].behaviour
        cred = _credential(headers)
        bad_key = (b.token is not None and cred != b.token) or b.default in ("auth", "forbidden")
        req = {"path": path, "raw_path": path, "headers": headers, "query": query, "json": None, "prompt": "",
               "behaviour": b, "params": {}}
        if bad_key and not (name in ("pollinations", "aihorde") and not cred) and kind != "horde_models":
            return self._renderer.render(name, "auth" if b.default != "forbidden" else "forbidden", {}, req)
        if kind == "search":
            wanted = query.get("search", "")
            found = [] if wanted in b.retired_models else [{"name": wanted, "task": {"name": "Text-to-Image"}}]
            return _json(200, {"success": True, "errors": [], "messages": [], "result": found})
        if kind == "whoami":
            return _json(200, {"type": "user", "name": "fake-user"})
        if kind == "balance":
            if b.balance is None:  # a key without the permission to read its balance
                return _json(403, {"success": False, "error": {"code": "FORBIDDEN", "message": "API key lacks "
                                                                "permission: account:balance"}})
            return _json(200, {"balance": b.balance})
        if kind == "count":
            unknown = _unknown_field(data, b.unknown_fields)
            if unknown:
                return self._renderer.render(name, "unknown_field", {"field": unknown}, req)
            model = unquote(path.split("/models/", 1)[-1].split(":", 1)[0])
            if model in b.retired_models:
                return self._renderer._retired(name, req)
            return _json(200, {"totalTokens": 1})
        if kind == "find_user":
            if cred == HORDE_ANONYMOUS:
                return _json(200, {"username": "Anonymous#0", "id": 0, "kudos": 0})
            return _json(200, {"username": "blogger#4242", "id": 4242, "kudos": 1234.0})
        if kind == "horde_models":
            return _json(200, [{"name": m, "count": 3, "performance": 1.5, "queued": 0, "jobs": 0, "eta": 40,
                                "type": "image"} for m in self.CATALOG["aihorde"] if m not in b.retired_models])
        if kind == "list":
            names = [m for m in self.CATALOG[name] if m not in b.retired_models]
            return _json(200, [{"id": m, "type": "image"} for m in names] if name == "together" else names)
        model = unquote(path.split("/models/", 1)[-1])
        if model in b.retired_models:
            return self._renderer._retired(name, req)
        return _json(200, {"name": f"models/{model}", "supportedGenerationMethods": ["generateContent"]})

    def _hub_model_info(self, model: str, headers: dict[str, str]) -> _Answer | None:
        """The Hub's `GET /api/models/{model}?expand[]=inferenceProviderMapping` (not counted as a
        provider call; see `hub_calls` and `hub_auth`). None: stall (`hub_stall`)."""
        with self._lock:
            self.hub_calls.append(model)
            self.hub_auth.append(headers.get("authorization", ""))
            b = self._states["huggingface"].behaviour
        if b.hub_stall:
            return None
        entries = [("together", {"status": "live", "providerId": model, "task": "text-to-image"})]
        if b.hub_mapping is not None:
            entries = [(e[1], {"status": e[2] if len(e) > 2 else "live", "providerId": e[3] if len(e) > 3 else model,
                               "task": e[4] if len(e) > 4 else "text-to-image"}) for e in b.hub_mapping if e[0] == model]
        if not entries:
            return _json(404, {"error": "Repository not found"}, **{"X-Error-Code": "RepoNotFound"})
        mapping: Any = dict(entries)
        if b.hub_format == "list":
            mapping = [{"provider": p, **e} for p, e in entries]
        return _json(200, {"id": model, "_id": "fake" + hashlib.sha1(model.encode()).hexdigest()[:12],
                           "inferenceProviderMapping": mapping})

    def new_horde_job(self, kind: str, params: dict[str, Any], req: dict[str, Any], model: str) -> str:
        """An accepted AI Horde request: what its `check` and `status` will say."""
        b: Behaviour = req["behaviour"]
        with self._lock:
            job = f"{len(self._jobs) + 1:08d}-fake-4e2a-9c1b-horde{len(self._jobs) + 1:07d}"
            queue = [tuple(q) for q in params.get("queue", b.horde_queue)]
            self._jobs[job] = {"kind": kind, "queue": queue, "model": model, "prompt": req["prompt"],
                               "behaviour": b, "cancelled": False}
        return job

    def horde_job(self, job: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._jobs[job])

    def _horde(self, h: BaseHTTPRequestHandler, method: str, path: str, headers: dict[str, str], started: float) -> None:
        """`check`, `status` and the cancelling `DELETE status` of an accepted request (recorded
        among the provider's requests with outcome check, status or cancel)."""
        job_id = path.rsplit("/", 1)[-1]
        what = "check" if "/check/" in path else ("cancel" if method == "DELETE" else "status")
        rec = Recorded(provider="aihorde", method=method, path=path, raw_path=h.path, query={}, headers=headers,
                       body=b"", json=None, outcome=what, started=started)
        st = self._enter("aihorde", rec)
        try:
            with self._lock:
                job = self._jobs.get(job_id)
                if job is not None and what == "check" and job["queue"] and job["kind"] != "stall":
                    position, wait = job["queue"].pop(0)
                elif job is not None and job["kind"] == "stall":
                    position, wait = 5, 300.0
                else:
                    position = wait = None
                if job is not None and what == "cancel":
                    job["cancelled"] = True
            answer = self._horde_answer(job_id, job, what, position, wait)
        finally:
            self._leave(st)
        _write(h, answer)

    def _horde_answer(self, job_id: str, job: dict[str, Any] | None, what: str, position: Any, wait: Any) -> _Answer:
        if job is None or job["kind"] == "expired" and what == "check":
            return _json(404, {"message": f"Image Waiting Prompt (Check) with ID '{job_id}' not found.",
                               "rc": "RequestNotFound"})
        waiting = position is not None
        done = not waiting and job["kind"] not in ("faulted", "impossible", "retired", "stall")
        lite = {"finished": 0 if waiting or not done else 1, "processing": 0, "restarted": 0,
                "waiting": 1 if waiting else 0, "done": done and what != "cancel",
                "faulted": job["kind"] == "faulted" and not waiting, "wait_time": int(wait or 0),
                "queue_position": int(position or 0), "kudos": 10.0,
                "is_possible": job["kind"] not in ("impossible", "retired")}
        if what == "check":
            return _json(200, lite)
        gens: list[dict[str, Any]] = []
        if done and what == "status" and job["kind"] != "not_image":
            img = make_image(job["prompt"], "webp", job["behaviour"].image_size)
            if job["kind"] == "truncated":
                img = img[: len(img) // 2]
            censored = job["kind"] == "censored"
            encoded = self.store_file(img) if job["kind"] == "r2" else base64.b64encode(img).decode()
            gens.append({"img": encoded, "seed": "1312", "id": f"gen-{job_id}",
                         "censored": censored, "model": job["model"], "worker_id": "0f9b7e1e-0000-4000-8000-00000000f00d",
                         "worker_name": "a volunteer's GPU", "state": "censored" if censored else "ok",
                         "gen_metadata": [{"type": "censorship", "value": "nsfw"}] if censored else []})
        return _json(200, {**lite, "generations": gens, "shared": False})

    def _file(self, h: BaseHTTPRequestHandler, key: str) -> None:
        """A partner's image URL: the stored bytes, or what `download` says."""
        with self._lock:
            self.downloads.append(key)
            how = self._states["huggingface"].behaviour.download
            data = self._files.get(key)
        if how == "redirect":
            _write(h, _Answer(302, b"", "text/plain", {"Location": "http://198.51.100.7/elsewhere.jpg"}))
        elif how == "huge":
            _write(h, _Answer(200, b"\xff\xd8\xff", "image/jpeg", {"Content-Length": str(1 << 30)}), length=False)
        elif how in ("drip", "chunked_huge"):
            self._drip(h, every=0.05 if how == "drip" else 0.0, chunk=1 if how == "drip" else 1 << 16)
        else:
            _write(h, _Answer(200, data or b"", "image/jpeg") if data is not None else
                   _Answer(404, b"no such file", "text/plain"))

    def _drip(self, h: BaseHTTPRequestHandler, *, every: float, chunk: int, limit: float = 30.0) -> None:
        """Headers, then `chunk` bytes every `every` seconds until the client goes away (or
        `limit` seconds passed): a body that never ends."""
        h.close_connection = True
        try:
            h.send_response(200)
            h.send_header("Content-Type", "application/json" if chunk == 1 else "image/jpeg")
            if chunk == 1:
                h.send_header("Content-Length", "100000")
            h.end_headers()
            end = time.monotonic() + limit
            while time.monotonic() < end and not self._stop.is_set():
                h.wfile.write(b" " * chunk)
                h.wfile.flush()
                if every:
                    time.sleep(every)
        except OSError:
            pass

    def _enter(self, name: str, rec: Recorded) -> _State:
        with self._lock:
            st = self._states[name]
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
            st.records.append(rec)
            return st

    def _leave(self, st: _State) -> None:
        # The state object seen on entry: a reset() meanwhile must not receive stale requests.
        with self._lock:
            st.in_flight -= 1

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        started = time.monotonic() - self._t0
        split = urlsplit(h.path)
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in h.headers.items()}
        name, path = _route(split.path)
        if name is None:
            _write(h, _Answer(404, b"no such fake provider", "text/plain"))
            return
        form = _parse_form(headers.get("content-type", ""), body)
        try:
            data = json.loads(body) if body and form is None else None
        except ValueError:
            data = None
        payload = form if form is not None else data
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        if name == "huggingface" and path.startswith("/api/models/"):
            answer = self._hub_model_info(unquote(path[len("/api/models/"):]), headers)
            if answer is None:
                self._drip(h, every=0.05, chunk=1)
            else:
                _write(h, answer)
            return
        if name == "huggingface" and path.startswith("/files/"):
            self._file(h, path[len("/files/"):])
            return
        if name == "aihorde" and path.startswith(("/v2/generate/check/", "/v2/generate/status/")):
            self._horde(h, method, path, headers, started)
            return
        if method == "GET" or (name == "gemini" and path.endswith(":countTokens")):
            catalog = self._catalog(name, path, query, headers, data)
            if catalog is not None:
                _write(h, catalog)
                return
        kind, params, behaviour = self._decide(name, _credential(headers), _model_of(name, path, query, data), path,
                                               data)
        req = {"path": path, "raw_path": h.path, "headers": headers, "query": query, "json": data, "form": form,
               "prompt": _prompt_of(name, path, payload), "behaviour": behaviour, "params": params,
               "renderer": self._renderer}
        rec = Recorded(provider=name, method=method, path=unquote(path), raw_path=h.path, query=query,
                       headers=headers, body=body, json=data, outcome=kind, started=started, form=form)
        st = self._enter(name, rec)
        try:
            latency = float(params.get("latency", behaviour.latency))
            if behaviour.latency_jitter > 0 and "latency" not in params:
                with self._lock:
                    latency += self._rng.uniform(0, behaviour.latency_jitter)
            if latency > 0:
                time.sleep(latency * self.time_scale)
            try:
                answer = self._renderer.render(name, kind, params, req)
            except ValueError as exc:
                answer = _Answer(599, str(exc).encode(), "text/plain")
        finally:
            self._leave(st)
        _write(h, answer)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without this, Nagle + delayed ACKs add ~40 ms to every loopback request.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802
                fp._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                fp._handle(self, "POST")

            def do_DELETE(self) -> None:  # noqa: N802
                fp._handle(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        return Handler


def _write(h: BaseHTTPRequestHandler, answer: _Answer, *, length: bool = True) -> None:
    if answer.reset:
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return
    try:
        h.send_response(answer.status)
        h.send_header("Content-Type", answer.ctype)
        if length:
            h.send_header("Content-Length", str(len(answer.body)))
        else:
            h.close_connection = True
        for k, v in answer.headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(answer.body)
    except (BrokenPipeError, ConnectionResetError):
        h.close_connection = True


FIXTURES = __import__("pathlib").Path(__file__).resolve().parent / "fixtures" / "provider-responses"
"""Real provider answers (see fixtures/provider-responses/README.md)."""


def fixture_outcome(path: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(provider, scripted outcome, the fixture) for one real answer: serve it with
    `fp.script(provider, [outcome])`. A body-less 200 image (the Pollinations placeholder) is
    served as a ~1.3 MB valid JPEG."""
    data = json.loads(__import__("pathlib").Path(path).read_text(encoding="utf-8"))
    provider = data["provider"]
    headers = {k: v for k, v in (data.get("headers") or {}).items() if k.lower() != "content-type"}
    ctype = (data.get("headers") or {}).get("content-type", "application/json")
    if data.get("body") is None and int(data["status"]) == 200:
        return provider, {"kind": "placeholder"}, data
    body = data["body"]
    return provider, {"kind": "raw", "status": int(data["status"]), "body": body, "headers": headers,
                      "content_type": ctype}, data


def generate_once(fp: FakeProviders, name: str, prompt: str = "a red fox in fresh snow", *,
                  clock: Any = None, transport: Any = None, **opts: str) -> Any:
    """Build provider `name` pointed at `fp` (opts override fp.opts(name); ctx_* keys set
    ProviderContext fields, e.g. ctx_timeout="0.1"), run one generate(ImageRequest(prompt)) and return the
    GeneratedImage or the ProviderError it raised. Blocking (runs its own event loop)."""
    import asyncio

    from imagegen.testing import VirtualClock
    from imagegen.providers import get
    from imagegen.providers.base import ImageRequest, ProviderContext, ProviderError

    ctx_fields = {k[4:]: v for k, v in opts.items() if k.startswith("ctx_")}
    opts = {k: v for k, v in opts.items() if not k.startswith("ctx_")}

    from imagegen.providers._http import new_client

    async def go() -> Any:
        async with new_client(transport=transport) as http:  # the run's own client (no redirects)
            kw: dict[str, Any] = {}
            for key, value in ctx_fields.items():
                kw[key] = float(value) if key == "timeout" else int(value)
            ctx = ProviderContext(http=http, clock=clock or VirtualClock(), **kw)
            provider = get(name).create(fp.opts(name, **opts), ctx)
            try:
                return await provider.generate(ImageRequest(prompt))
            except ProviderError as exc:
                return exc
            finally:
                await provider.aclose()

    return asyncio.run(go())


_shared: FakeProviders | None = None


@pytest.fixture
def fake_providers() -> Iterator[FakeProviders]:
    """A started FakeProviders, fresh state for each test (one server per process, reset between
    tests; real time: keep latencies at 0 or tiny values, or set `time_scale`)."""
    global _shared
    if _shared is None:
        _shared = FakeProviders(time_scale=1.0).start()
        atexit.register(_shared.stop)
    _shared.reset()
    _shared.time_scale = 1.0
    try:
        yield _shared
    finally:
        _shared.reset()
