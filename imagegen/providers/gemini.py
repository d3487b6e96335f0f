"""Gemini image models through the google-genai SDK (`client.aio`).

`gemini-*` image models: `generate_content` with `response_modalities=["IMAGE"]`; the image is the
first part with `inline_data`. `imagen-*` models: the `:predict` REST call that `generate_images`
makes (google-genai 3.x refuses `generate_images` outside Vertex mode, so we send it ourselves on
the shared client); an empty prediction list means the output was filtered. A safety refusal is not an exception but a 200 with a refusal finish reason,
a `prompt_feedback.block_reason`, or only text parts: all ContentRefused.

The SDK sends its requests through the pipeline's shared `httpx.AsyncClient` (never closed here),
with `HttpOptions(timeout=<milliseconds>)`, SDK retries off (the chain owns retries) and
`base_url` from `IMAGEGEN_GEMINI_BASE_URL`. Errors are `google.genai.errors.APIError`, classified
from `.code`, `.status` and the structured `details` (QuotaFailure `quotaId` PerDay/PerMinute,
RetryInfo `retryDelay`, ErrorInfo `reason`), the message text only as a last resort.
`classify_api_error` is shared with the describer (imagegen.prompts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping
from urllib.parse import quote

from imagegen import secrets
from imagegen.images import checked_image
from imagegen.providers import _http
from imagegen.providers.base import (
    AuthFailed,
    BadImage,
    BadRequest,
    ContentRefused,
    GeneratedImage,
    Limits,
    Option,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TransientError,
)

NAME = "gemini"
DEFAULT_MODEL = "gemini-3.1-flash-image-preview"
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"

REFUSAL_FINISH = frozenset({
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_OTHER", "NO_IMAGE", "IMAGE_RECITATION", "MODEL_ARMOR",
})
"""Finish reasons that mean 'this prompt will not get an image here'."""

ASPECT_RATIOS_GEMINI = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
ASPECT_RATIOS_IMAGEN = ("1:1", "3:4", "4:3", "9:16", "16:9")
IMAGEN_API_VERSION = "v1beta"

_TYPE_QUOTA = "google.rpc.QuotaFailure"
_TYPE_RETRY = "google.rpc.RetryInfo"
_TYPE_INFO = "google.rpc.ErrorInfo"
_AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "ACCESS_TOKEN_EXPIRED",
                           "SERVICE_DISABLED", "CONSUMER_INVALID"})


def nearest_aspect(width: int, height: int, choices: tuple[str, ...]) -> str:
    target = width / max(1, height)

    def distance(r: str) -> float:
        a, b = (int(x) for x in r.split(":"))
        return abs(a / b - target)

    return min(choices, key=distance)


def is_imagen(model: str) -> bool:
    return model.rsplit("/", 1)[-1].lower().startswith("imagen")


# --------------------------------------------------------------------------- error classification


def _error_body(details: Any) -> dict[str, Any]:
    if isinstance(details, list) and len(details) == 1:
        details = details[0]
    if isinstance(details, dict):
        err = details.get("error")
        return err if isinstance(err, dict) else details
    return {}


def _typed(entries: Any, suffix: str) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and str(e.get("@type", "")).endswith(suffix)]


def classify_api_error(exc: Any, provider: str, now: datetime) -> ProviderError:
    """Turn a google.genai APIError (`.code`, `.status`, `.message`, `.details`) into a shared class."""
    code = getattr(exc, "code", None)
    code = code if isinstance(code, int) else 0
    status = str(getattr(exc, "status", "") or "").upper()
    message = str(getattr(exc, "message", "") or "")
    body = _error_body(getattr(exc, "details", None))
    entries = body.get("details")
    reasons = {str(e.get("reason", "")) for e in _typed(entries, _TYPE_INFO)}
    quota_ids = [str(v.get("quotaId", "")) for e in _typed(entries, _TYPE_QUOTA)
                 for v in (e.get("violations") or []) if isinstance(v, dict)]
    retry = None
    for e in _typed(entries, _TYPE_RETRY):
        retry = _http.parse_duration(e.get("retryDelay"))
        if retry is not None:
            break
    label = " ".join(x for x in (str(code or ""), status) if x)
    msg = f"{provider}: HTTP {label}" + (f": {_http.excerpt(message)}" if message else "")
    http_code = code or None

    if reasons & _AUTH_REASONS or code in (401, 403) or status in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        return AuthFailed(msg, status=http_code)
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        if any("perday" in q.lower() for q in quota_ids):
            return QuotaExhausted(msg, reset_at=_http.next_pacific_midnight(now), status=http_code)
        if not quota_ids and re.search(r"\bper[ _-]?day\b", message, re.I):  # last resort: text
            return QuotaExhausted(msg, reset_at=_http.next_pacific_midnight(now), status=http_code)
        if retry is None:
            retry = _http.retry_in_text(message)
        return RateLimited(msg, retry_after=retry, status=http_code)
    if code in (404, 410) or status == "NOT_FOUND":
        return ProviderUnavailable(msg, status=http_code)
    if status == "FAILED_PRECONDITION":
        # e.g. 'User location is not supported' or billing required: nothing a retry can fix.
        return ProviderUnavailable(msg, status=http_code)
    if code in (408, 499) or code >= 500 or status in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL"):
        return TransientError(msg, retry_after=retry, status=http_code)
    if 400 <= code < 500:
        return BadRequest(msg, status=http_code)
    return TransientError(msg, status=http_code)


def classify_exception(exc: BaseException, provider: str, now: datetime, timeout: float | None = None) -> ProviderError:
    """Any exception out of the SDK call -> a shared class (APIError, transport errors, parse errors)."""
    from google.genai import errors as genai_errors

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        return classify_api_error(exc, provider, now)
    module = type(exc).__module__.split(".")[0]
    if module in ("httpx", "httpx2", "httpcore", "httpcore2") or isinstance(exc, (OSError, TimeoutError)):
        return _http.transport_error(provider, exc, timeout)
    if isinstance(exc, ValueError):  # JSON / pydantic validation of a garbage 200
        return BadImage(f"{provider}: the response could not be read ({type(exc).__name__})")
    return TransientError(f"{provider}: unexpected {type(exc).__name__} from the SDK")


# --------------------------------------------------------------------------- the provider


@dataclass(frozen=True)
class _RestError:
    """The fields of google.genai.errors.APIError, for errors read off the REST API directly."""

    code: int
    status: str
    message: str
    details: Any

    @classmethod
    def of(cls, code: int, data: Any, body: bytes) -> "_RestError":
        err = _error_body(data)
        message = str(err.get("message") or "") if err else _http.error_message(data, body)
        return cls(code, str(err.get("status") or "") if err else "", message, data)


def _enum_name(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", None) or getattr(value, "name", None) or value).upper()


class GeminiProvider:
    name = NAME

    def __init__(self, *, api_key: str, model: str, base_url: str, ctx: ProviderContext) -> None:
        self.model = model or DEFAULT_MODEL
        self._api_key = api_key
        self._base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._ctx = ctx
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            from google import genai
            from google.genai import types

            self._client = genai.Client(
                api_key=self._api_key,
                http_options=types.HttpOptions(
                    base_url=self._base_url,
                    timeout=int(self._ctx.timeout * 1000),  # milliseconds
                    httpx_async_client=self._ctx.http,
                ),
            )
        return self._client

    async def generate(self, prompt: str) -> GeneratedImage:
        now = self._ctx.clock.now
        try:
            if is_imagen(self.model):
                data = await self._imagen(prompt)
            else:
                data = await self._gemini(prompt)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a shared class
            raise classify_exception(exc, NAME, now(), self._ctx.timeout) from None
        if len(data) > self._ctx.max_response_bytes:
            raise BadImage(f"{NAME}: image of {len(data)} bytes is over the {self._ctx.max_response_bytes}-byte cap")
        return checked_image(data, provider=NAME, model=self.model)

    async def _gemini(self, prompt: str) -> bytes:
        from google.genai import types

        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(
                aspect_ratio=nearest_aspect(self._ctx.width, self._ctx.height, ASPECT_RATIOS_GEMINI)),
        )
        resp = await self.client().aio.models.generate_content(model=self.model, contents=prompt, config=config)
        return self.image_from_content(resp)

    @staticmethod
    def image_from_content(resp: Any) -> bytes:
        feedback = getattr(resp, "prompt_feedback", None)
        block = _enum_name(getattr(feedback, "block_reason", None)) if feedback else ""
        if block and block != "BLOCKED_REASON_UNSPECIFIED":
            raise ContentRefused(f"{NAME}: prompt blocked ({block})")
        candidates = getattr(resp, "candidates", None) or []
        if not candidates:
            raise BadImage(f"{NAME}: 200 without candidates")
        cand = candidates[0]
        content = getattr(cand, "content", None)
        parts = (getattr(content, "parts", None) or []) if content else []
        texts = 0
        for part in parts:
            if getattr(part, "thought", None):  # interim 'thinking' images are not the answer
                continue
            inline = getattr(part, "inline_data", None)
            if inline is not None and getattr(inline, "data", None):
                return bytes(inline.data)
            if getattr(part, "text", None):
                texts += 1
        finish = _enum_name(getattr(cand, "finish_reason", None))
        if finish in REFUSAL_FINISH:
            raise ContentRefused(f"{NAME}: no image (finish reason {finish})")
        if texts:
            raise ContentRefused(f"{NAME}: answered with text only, no image")
        raise BadImage(f"{NAME}: 200 without an image part" + (f" (finish reason {finish})" if finish else ""))

    async def _imagen(self, prompt: str) -> bytes:
        """Imagen over REST `:predict`: google-genai 3.x serves `generate_images` only in Vertex
        mode, while the Developer API (an API key) still answers `:predict` for imagen ids."""
        url = f"{self._base_url}/{IMAGEN_API_VERSION}/models/{quote(self.model, safe='')}:predict"
        body = {"instances": [{"prompt": prompt}],
                "parameters": {"sampleCount": 1, "includeRaiReason": True,
                               "aspectRatio": nearest_aspect(self._ctx.width, self._ctx.height, ASPECT_RATIOS_IMAGEN)}}
        resp = await _http.send(self._ctx, NAME, "POST", url, headers={"x-goog-api-key": self._api_key},
                                json_body=body)
        data = resp.json()
        if resp.status != 200:
            raise classify_api_error(_RestError.of(resp.status, data, resp.body), NAME, self._ctx.clock.now())
        if not isinstance(data, dict):
            raise BadImage(f"{NAME}: 200 from :predict that is not JSON")
        predictions = [p for p in data.get("predictions") or [] if isinstance(p, dict)]
        if not predictions:
            raise ContentRefused(f"{NAME}: no image returned (output filtered)")
        first = predictions[0]
        b64 = first.get("bytesBase64Encoded")
        if (not isinstance(b64, str) or not b64) and first.get("raiFilteredReason"):
            raise ContentRefused(f"{NAME}: image filtered ({_http.excerpt(str(first['raiFilteredReason']), 120)})")
        return _http.b64_field(b64, provider=NAME, field="bytesBase64Encoded")

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            await client.aio.aclose()  # leaves the shared httpx client alone (it is not the SDK's)
        except Exception:  # noqa: BLE001
            pass
        try:
            client.close()  # the SDK's own sync client
        except Exception:  # noqa: BLE001
            pass


def _create(opts: Mapping[str, str], ctx: ProviderContext) -> GeminiProvider:
    secrets.register(opts.get("api_key"))
    return GeminiProvider(
        api_key=opts.get("api_key", ""),
        model=opts.get("model") or DEFAULT_MODEL,
        base_url=opts.get("base_url") or DEFAULT_BASE_URL,
        ctx=ctx,
    )


SPEC = ProviderSpec(
    name=NAME,
    options=(Option("api_key", "GEMINI_API_KEY", "Gemini API key (also enables the prompt describer)", secret=True),),
    default_model=DEFAULT_MODEL,
    default_base_url=DEFAULT_BASE_URL,
    model_env="IMAGE_GEMINI_MODEL",
    enabled=lambda opts: bool(opts.get("api_key")),
    create=_create,
    needs="GEMINI_API_KEY",
    limits=Limits(max_in_flight=2, min_interval=0.0, timeout=120.0),
    quota_reset=_http.next_pacific_midnight,
)
