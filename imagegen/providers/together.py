"""Together AI: `POST {base}/v1/images/generations` with a bearer key, image as base64 in JSON.

`black-forest-labs/FLUX.1-schnell-Free` was withdrawn in early 2026; the paid
`black-forest-labs/FLUX.1-schnell` (4 steps) is the default. We always ask for
`response_format: "base64"` and read `data[0].b64_json`. 402 is the account's spending limit
(quota); rate limits vary per account and come back as 429 with Retry-After / x-ratelimit headers.
"""

from __future__ import annotations

from typing import Any, Mapping

from imagegen.providers import _http
from imagegen.providers.base import (
    next_utc_midnight,
    Check,
    GeneratedImage,
    ImageRequest,
    Limits,
    Option,
    ProviderContext,
    ProviderError,
    ModelUnavailable,
    ProviderSpec,
    RateLimited,
    checked,
)

NAME = "together"
DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"
DEFAULT_BASE_URL = "https://api.together.xyz"
STEPS = 4
UNKNOWN_MODEL_CODES = frozenset({"model_not_available", "model_not_found"})


def _error_code(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        code = data["error"].get("code")
        return str(code) if code is not None else ""
    return ""


class TogetherProvider:
    name = NAME

    def __init__(self, *, token: str, model: str, base_url: str, ctx: ProviderContext) -> None:
        self.model = model or DEFAULT_MODEL
        self._token = token
        self._base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._ctx = ctx

    def url(self) -> str:
        return f"{self._base_url}/v1/images/generations"

    def body(self, request: ImageRequest, model: str) -> dict[str, Any]:
        return {
            "model": model,
            "prompt": request.prompt,
            "width": _http.round_to(request.width),
            "height": _http.round_to(request.height),
            "steps": STEPS,
            "n": 1,
            "seed": request.seed,
            "response_format": "base64",
        }

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        model = request.model or self.model
        resp = await _http.send(self._ctx, NAME, "POST", self.url(), headers=_http.bearer(self._token),
                                json_body=self.body(request, model))
        if resp.status == 200:
            return self._image(resp, model)
        raise self.classify(resp, model)

    def _image(self, resp: _http.WireResponse, model: str) -> GeneratedImage:
        data = resp.json()
        if not isinstance(data, dict):
            return checked(resp.body, provider=NAME, model=model)  # raises BadImage unless an image
        items = data.get("data")
        first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None
        b64 = first.get("b64_json") if first else None
        raw = _http.b64_field(b64, provider=NAME, field="data[0].b64_json")
        return checked(raw, provider=NAME, model=model)

    def classify(self, resp: _http.WireResponse, model: str | None = None) -> ProviderError:
        now = self._ctx.clock.now()
        data = resp.json()
        code = _error_code(data)
        msg = _http.describe_status(NAME, resp, f"code {code}" if code else "")
        status = resp.status
        if code in UNKNOWN_MODEL_CODES or (status == 404 and isinstance(data, dict) and "error" in data):
            # Together's JSON 404 is 'Unable to access model ...': this model, not the endpoint.
            return ModelUnavailable(msg, model=model or self.model, status=status)
        if status == 429:
            retry = _http.header_retry_after(resp, now)
            if retry is None:
                # x-ratelimit-reset: seconds until the window resets (small numbers only).
                retry = _http.parse_duration(resp.headers.get("x-ratelimit-reset", "").strip() or None)
                if retry is not None and retry > 3600:
                    retry = None
            return RateLimited(msg, retry_after=retry, status=status)
        # 402 spending limit: no documented reset; the chain applies SPEC.quota_reset.
        return _http.by_status(NAME, resp, now, message=msg)

    async def aclose(self) -> None:
        return None


async def doctor(opts: Mapping[str, str], ctx: ProviderContext, models: tuple[str, ...]) -> list[Check]:
    """Key, then each model, through `GET /v1/models` (no image is made)."""
    p = _create(opts, ctx)
    resp = await _http.send(ctx, NAME, "GET", f"{p._base_url}/v1/models", headers=_http.bearer(p._token))
    if resp.status != 200:
        err = p.classify(resp)
        return [_http.key_check(SPEC, err, "API key", "TOGETHER_API_TOKEN")]
    data = resp.json()
    items = data.get("data") if isinstance(data, dict) else data
    ids = {str(m.get("id")) for m in items or [] if isinstance(m, dict)}
    out = [Check("API key", True)]
    for model in models:
        out.append(Check(f"model {model}", True) if model in ids else
                   Check(f"model {model}", False, "not in Together's model list (retired or misspelt)",
                         f"remove it from {SPEC.model_env} or put a listed model first", usable=False))
    return out

def _create(opts: Mapping[str, str], ctx: ProviderContext) -> TogetherProvider:
    return TogetherProvider(
        token=opts.get("api_token", ""),
        model=SPEC.models(opts)[0],
        base_url=opts.get("base_url") or DEFAULT_BASE_URL,
        ctx=ctx,
    )


SPEC = ProviderSpec(
    name=NAME,
    options=(Option("api_token", "TOGETHER_API_TOKEN", "Together AI API key", secret=True),),
    display_name="Together AI",
    default_model=DEFAULT_MODEL,
    default_base_url=DEFAULT_BASE_URL,
    model_env="TOGETHER_IMAGE_MODEL",
    enabled=lambda opts: bool(opts.get("api_token")),
    create=_create,
    doctor=doctor,
    needs="TOGETHER_API_TOKEN",
    signup="https://api.together.ai/settings/api-keys",
    free="none, paid only",
    limits=Limits(max_in_flight=2, min_interval=0.0, timeout=90.0),
    # A spending limit has no published reset: try again the next UTC day (conservative).
    quota_reset=next_utc_midnight,
)
