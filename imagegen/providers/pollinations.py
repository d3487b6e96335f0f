"""Pollinations: an image from a GET, no key needed (anonymous, legacy) or a key (keyed endpoint).

Anonymous: `GET https://image.pollinations.ai/prompt/{prompt}?model=&width=&height=&seed=&nologo=true`.
Keyed:     `GET https://gen.pollinations.ai/image/{prompt}?...` with `Authorization: Bearer sk_...`.

One `base_url` option covers both. Left at its default, the anonymous host is used without a key
and `KEYED_BASE_URL` with one. Overridden (a proxy, the tests' fake server), the same base serves
both: `/prompt/{prompt}` without a key, `/image/{prompt}` with one.

A 200 is not proof of an image: rate-limited anonymous callers may get a placeholder JPEG far
larger than a real one (about 1.3 MB against 40-80 KB). On the anonymous host anything at or over
`PLACEHOLDER_MIN_BYTES` is treated as that placeholder (RateLimited), never as a cover; the keyed
host does not send it, so the rule does not apply there.
The anonymous host is best effort: since mid-2026 it answers 402 "Queue full for IP" even to a
first request (the IP is a Cloudflare one). `QUEUE_FULL_OUT` such answers in a row take it out for
the run (said once). A key (`sk_` secret or `pk_` publishable) is what makes it dependable.
The key travels only in the Authorization header, never in the URL.
"""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import quote

from imagegen.frontmatter import truthy
from imagegen.images import sniff
from imagegen.providers import _http
from imagegen.providers.base import (
    in_one_hour,
    Check,
    AuthFailed,
    ContentRefused,
    GeneratedImage,
    ImageRequest,
    ModelUnavailable,
    ProviderUnavailable,
    Limits,
    Option,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    QuotaExhausted,
    RateLimited,
    checked,
)

NAME = "pollinations"
DEFAULT_MODELS = ("flux", "turbo")
DEFAULT_MODEL = DEFAULT_MODELS[0]
QUEUE_FULL_OUT = 3
"""Anonymous 'Queue full' answers in a row after which Pollinations is out for the run."""
DEFAULT_BASE_URL = "https://image.pollinations.ai"
KEYED_BASE_URL = "https://gen.pollinations.ai"

PLACEHOLDER_MIN_BYTES = 1_000_000
"""A 200 image this large is the rate-limit placeholder (~1.3 MB), not a cover (40-80 KB).
Override per instance with `PollinationsProvider(placeholder_min_bytes=...)`."""

QUEUE_RETRY_AFTER = 15.0
"""Delay hint for 'Queue full' and the placeholder when the server sends none: the anonymous
tier allows about one request per IP every 5-15 s."""

MAX_PROMPT_CHARS = 1500
"""The prompt travels in the URL path; keep the URL well under common 8 KB limits."""

REFUSAL_CODES = frozenset({"CONTENT_FILTERED", "CONTENT_POLICY", "CONTENT_POLICY_VIOLATION", "SAFETY", "NSFW",
                           "UNSAFE_CONTENT"})
MODEL_CODES = frozenset({"INVALID_MODEL", "MODEL_NOT_FOUND", "UNKNOWN_MODEL", "MODEL_NOT_AVAILABLE"})
_MODEL_TEXT = re.compile(r"\b(unknown|invalid|unsupported) model\b|\bmodel\b[^.]{0,60}\b(not found|not available|"
                         r"not supported|does not exist|unknown)\b", re.I)
_REFUSAL_TEXT = re.compile(r"\b(nsfw|unsafe content|content polic(?:y|ies)|safety filter|safe mode)\b", re.I)


def enabled(opts: Mapping[str, str]) -> bool:
    """On with POLLINATIONS_ENABLED=true, or with a key (a key is a clear enough wish)."""
    return truthy(opts.get("enabled") or "") or bool((opts.get("api_key") or "").strip())


class PollinationsProvider:
    name = NAME

    def __init__(self, *, model: str, base_url: str, api_key: str, ctx: ProviderContext,
                 placeholder_min_bytes: int | None = None) -> None:
        self.model = model or DEFAULT_MODEL
        self._key = api_key
        base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        if api_key and base == DEFAULT_BASE_URL:
            base = KEYED_BASE_URL
        self._base_url = base
        self._ctx = ctx
        self.placeholder_min_bytes = placeholder_min_bytes or PLACEHOLDER_MIN_BYTES
        self.queue_full_in_a_row = 0

    @property
    def keyed(self) -> bool:
        return bool(self._key)

    def url(self, prompt: str) -> str:
        path = "image" if self.keyed else "prompt"
        text = prompt.strip()[:MAX_PROMPT_CHARS] or "."
        return f"{self._base_url}/{path}/{quote(text, safe='')}"

    def params(self, request: ImageRequest, model: str) -> dict[str, str]:
        return {
            "model": model,
            "width": str(request.width),
            "height": str(request.height),
            "seed": str(request.seed),
            "nologo": "true",
        }

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        model = request.model or self.model
        try:
            image = await self._generate(request, model)
        except RateLimited as exc:
            if self.keyed or "queue full" not in str(exc).lower():
                raise
            self.queue_full_in_a_row += 1
            if self.queue_full_in_a_row >= QUEUE_FULL_OUT:
                raise ProviderUnavailable(
                    f"{NAME}: the anonymous host answered 'Queue full' {self.queue_full_in_a_row} times in a row; "
                    "out for this run (set POLLINATIONS_API_KEY for dependable covers)", status=exc.status) from None
            raise
        self.queue_full_in_a_row = 0
        return image

    async def _generate(self, request: ImageRequest, model: str) -> GeneratedImage:
        headers = _http.bearer(self._key) if self._key else {}
        resp = await _http.send(self._ctx, NAME, "GET", self.url(request.prompt), headers=headers,
                                params=self.params(request, model))
        if resp.status == 200:
            if not self.keyed and len(resp.body) >= self.placeholder_min_bytes and sniff(resp.body) is not None:
                retry = _http.header_retry_after(resp, self._ctx.clock.now())
                raise RateLimited(
                    f"{NAME}: 200 with a {len(resp.body)}-byte image, the rate-limit placeholder "
                    f"(threshold {self.placeholder_min_bytes} bytes)",
                    retry_after=retry if retry is not None else QUEUE_RETRY_AFTER,
                    status=200,
                )
            return checked(resp.body, provider=NAME, model=model)
        raise self.classify(resp, model)

    def classify(self, resp: _http.WireResponse, model: str | None = None) -> ProviderError:
        now = self._ctx.clock.now()
        data = resp.json()
        err = data.get("error") if isinstance(data, dict) else None
        code = str(err.get("code") or "").upper() if isinstance(err, dict) else ""
        msg = _http.describe_status(NAME, resp, f"code {code}" if code else "")
        status = resp.status
        retry = _http.header_retry_after(resp, now)
        # Structured fields first.
        if code == "PAYMENT_REQUIRED":
            return QuotaExhausted(msg, reset_at=in_one_hour(now), status=status)
        if code == "UNAUTHORIZED":
            return AuthFailed(msg, status=status)
        if code in REFUSAL_CODES:
            return ContentRefused(msg, status=status)
        if code in MODEL_CODES or (status in (400, 404) and _MODEL_TEXT.search(_http.error_message(data, resp.body))):
            return ModelUnavailable(msg, model=model or self.model, status=status)
        if status == 402 and isinstance(data, dict) and "x402Version" in data:
            # Anonymous 'Queue full for IP ...': a short-term limit, not a balance.
            return RateLimited(msg, retry_after=retry if retry is not None else QUEUE_RETRY_AFTER, status=status)
        if status == 402:
            if self.keyed:
                return QuotaExhausted(msg, reset_at=in_one_hour(now), status=status)
            return RateLimited(msg, retry_after=retry if retry is not None else QUEUE_RETRY_AFTER, status=status)
        if status in (400, 403, 451) and _REFUSAL_TEXT.search(_http.error_message(data, resp.body)):
            return ContentRefused(msg, status=status)  # message text: last resort only
        if status == 429:
            return RateLimited(msg, retry_after=retry if retry is not None else QUEUE_RETRY_AFTER, status=status)
        return _http.by_status(NAME, resp, now, message=msg, reset_at=in_one_hour(now))

    async def aclose(self) -> None:
        return None


async def doctor(opts: Mapping[str, str], ctx: ProviderContext, models: tuple[str, ...]) -> list[Check]:
    """Key (keyed host) and each model, through the image model list (no image is made)."""
    p = _create(opts, ctx)
    url = f"{p._base_url}/image/models" if p.keyed else f"{p._base_url}/models"
    resp = await _http.send(ctx, NAME, "GET", url, headers=_http.bearer(p._key) if p._key else {})
    what = "API key" if p.keyed else "anonymous host (best effort; a key makes it dependable)"
    if resp.status != 200:
        return [_http.key_check(SPEC, p.classify(resp), what, "POLLINATIONS_API_KEY")]
    data = resp.json()
    names = set()
    for m in data if isinstance(data, list) else []:
        names.add(str(m.get("name")) if isinstance(m, dict) else str(m))
    out = [Check(what, True)]
    for model in models:
        out.append(Check(f"model {model}", True) if model in names else
                   Check(f"model {model}", False, "not in Pollinations' model list (retired or misspelt)",
                         f"remove it from {SPEC.model_env} or put a listed model first", usable=False))
    return out

def _create(opts: Mapping[str, str], ctx: ProviderContext) -> PollinationsProvider:
    return PollinationsProvider(
        model=SPEC.models(opts)[0],
        base_url=opts.get("base_url") or DEFAULT_BASE_URL,
        api_key=opts.get("api_key", ""),
        ctx=ctx,
    )


SPEC = ProviderSpec(
    name=NAME,
    options=(
        Option("enabled", "POLLINATIONS_ENABLED", "use anonymous Pollinations (best effort, no key): true or false",
               default="false"),
        Option("api_key", "POLLINATIONS_API_KEY", "Pollinations key (sk_... or pk_...): the keyed endpoint, needed for "
               "dependable covers (enables Pollinations)", secret=True),
    ),
    default_model=",".join(DEFAULT_MODELS),
    default_base_url=DEFAULT_BASE_URL,
    model_env="POLLINATIONS_IMAGE_MODEL",
    enabled=enabled,
    create=_create,
    doctor=doctor,
    needs="POLLINATIONS_API_KEY (or POLLINATIONS_ENABLED=true for the anonymous host)",
    signup="https://enter.pollinations.ai/",
    free="none with a key, pollen is bought; the keyless host is best effort and stamps its logo",
    # Anonymous: about one request at a time per IP, 5-15 s apart; generations can take minutes.
    # A keyed account may raise these with --provider-max-in-flight / --provider-min-interval.
    limits=Limits(max_in_flight=1, min_interval=5.0, timeout=180.0),
    # Keyed balance refills hourly; the anonymous tier has no quota (its 402 is a queue limit).
    quota_reset=in_one_hour,
)
