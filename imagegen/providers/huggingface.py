"""Hugging Face Inference Providers: `POST {base}/hf-inference/models/{model}` with a bearer token.

The old `api-inference.huggingface.co` host is retired (410, then no DNS); the router is the
default. Success is raw image bytes whose content type is not reliable, so the magic bytes decide.
A model that is still loading answers 503 with `estimated_time`: transient, with that hint
(bounded). Monthly credits used up is 402: quota until the first of next month.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from imagegen import secrets
from imagegen.images import checked_image
from imagegen.providers import _http
from imagegen.providers.base import (
    GeneratedImage,
    Limits,
    Option,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    ModelUnavailable,
    QuotaExhausted,
    TransientError,
)

NAME = "huggingface"
DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"
DEFAULT_BASE_URL = "https://router.huggingface.co"
STEPS = 4
MAX_LOADING_WAIT = 120.0
"""Upper bound on the 'model is loading' hint passed on to the chain (seconds)."""


_NOT_SERVED = ("not supported by provider", "no longer supported", "deprecated", "model not supported")


def is_model_unavailable(status: int, data: object, message: str) -> bool:
    """410 (deprecated on this route), a JSON 404, and a 400 'Model not supported by provider X':
    this model is not served here -- a run-wide fact, never a per-post bad request. A bare-text
    404 is more likely a wrong base URL: that must not retire good models for a week."""
    if status == 410 or (status == 404 and isinstance(data, dict)):
        return True
    return status == 400 and any(k in message.lower() for k in _NOT_SERVED)


class HuggingFaceProvider:
    name = NAME

    def __init__(self, *, token: str, model: str, base_url: str, ctx: ProviderContext) -> None:
        self.model = model or DEFAULT_MODEL
        self._token = token
        self._base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._ctx = ctx

    def url(self, model: str | None = None) -> str:
        return f"{self._base_url}/hf-inference/models/{quote(model or self.model, safe='/')}"

    def body(self, prompt: str) -> dict[str, Any]:
        return {
            "inputs": prompt,
            "parameters": {
                "width": _http.round_to(self._ctx.width),
                "height": _http.round_to(self._ctx.height),
                "num_inference_steps": STEPS,
                "seed": _http.prompt_seed(prompt),
            },
        }

    async def generate(self, prompt: str, model: str | None = None) -> GeneratedImage:
        model = model or self.model
        headers = {**_http.bearer(self._token), "Accept": "image/png, image/jpeg, image/webp, */*;q=0.5"}
        resp = await _http.send(self._ctx, NAME, "POST", self.url(model), headers=headers, json_body=self.body(prompt))
        if resp.status == 200:
            return checked_image(resp.body, provider=NAME, model=model)
        raise self.classify(resp, model)

    def classify(self, resp: _http.WireResponse, model: str | None = None) -> ProviderError:
        now = self._ctx.clock.now()
        data = resp.json()
        msg = _http.describe_status(NAME, resp)
        status = resp.status
        if status == 402:
            return QuotaExhausted(msg, reset_at=_http.next_month_utc(now), status=status)
        if is_model_unavailable(status, data, _http.error_message(data, resp.body)):
            return ModelUnavailable(msg, model=model or self.model, status=status)
        if status == 503:
            # Structured field first: a loading model says how long it needs.
            hint = data.get("estimated_time") if isinstance(data, dict) else None
            retry = _http.parse_duration(hint) if hint is not None else _http.header_retry_after(resp, now)
            if retry is not None:
                retry = min(retry, MAX_LOADING_WAIT)
            return TransientError(msg, retry_after=retry, status=status)
        return _http.by_status(NAME, resp, now, message=msg, reset_at=_http.next_month_utc(now))

    async def aclose(self) -> None:
        return None


def _create(opts: Mapping[str, str], ctx: ProviderContext) -> HuggingFaceProvider:
    secrets.register(opts.get("api_token"))
    return HuggingFaceProvider(
        token=opts.get("api_token", ""),
        model=SPEC.models(opts)[0],
        base_url=opts.get("base_url") or DEFAULT_BASE_URL,
        ctx=ctx,
    )


SPEC = ProviderSpec(
    name=NAME,
    options=(Option("api_token", "HUGGINGFACE_API_TOKEN", "Hugging Face access token (hf_...)", secret=True),),
    default_model=DEFAULT_MODEL,
    default_base_url=DEFAULT_BASE_URL,
    model_env="HUGGINGFACE_IMAGE_MODEL",
    enabled=lambda opts: bool(opts.get("api_token")),
    create=_create,
    needs="HUGGINGFACE_API_TOKEN",
    # Cold models can take a while to load; the monthly credits are small, so no stampede.
    limits=Limits(max_in_flight=2, min_interval=0.0, timeout=120.0),
    quota_reset=_http.next_month_utc,
)
