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
the run (said once). Since 2026-08-03 it also stamps a Pollinations logo on every image
(pollinations#13036: `nologo` is ignored; the answers carry `X-Pollinations-Logo` and
`X-Powered-By: Pollinations.AI`). A cover with someone else's logo is not what a blogger asked
for: such an answer is not used (out for the run, one call) unless POLLINATIONS_ACCEPT_LOGO=true.

A key (`sk_` secret or `pk_` publishable) is no longer free: the hourly pollen refill ended on
2026-06-22 and the signup grant on 2026-07-06 (pollinations#11928, #12267), so a new key answers
402 from its first call, and a used-up balance or per-key budget never comes back by itself. A
keyed 402 is a quota "until the user adds pollen": the state file keeps Pollinations out for a
week (`in_one_week`), for that key only (its fingerprint, never the key), so no later run spends
a call on it until the key changes or the week has passed. The key travels only in the
Authorization header, never in the URL.
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
    in_one_week,
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
DEFAULT_MODELS = ("flux", "zimage")
"""`flux` (0.002 pollen a picture), then `zimage` (Z-Image Turbo, the registry's own default): both in
Pollinations' model registry (`shared/registry/image.ts`, 2026-08) and in the keyed gateway's list
of accepted ids. `turbo`, the old second model, left the registry (pollinations#7575)."""
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

TOP_UP_URL = "https://enter.pollinations.ai"
ADD_POLLEN = (f"add pollen at {TOP_UP_URL} (buy it or earn it with quests: nothing refills a balance by itself since "
              "2026-06-22), or set another POLLINATIONS_API_KEY")
"""What to do about a keyed 402: the one line the run and doctor print."""
NOT_AGAIN = "not called again until the key changes or a week has passed"


def branded(headers: Mapping[str, str]) -> bool:
    """The answer carries Pollinations' attribution (`X-Pollinations-Logo`, or `X-Powered-By:
    Pollinations.AI`): the picture has its logo stamped on it (legacy host, since 2026-08-03)."""
    lower = {k.lower(): v for k, v in headers.items()}
    return "x-pollinations-logo" in lower or "pollinations" in lower.get("x-powered-by", "").lower()


def model_field_error(data: object) -> str:
    """The keyed gateway's validation message for the `model` parameter (`error.details.fieldErrors.
    model`, e.g. 'Invalid option: expected one of ...'), '' when the answer has none."""
    err = data.get("error") if isinstance(data, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    fields = details.get("fieldErrors") if isinstance(details, dict) else None
    model = fields.get("model") if isinstance(fields, dict) else None
    if isinstance(model, list) and model:
        return str(model[0])
    return str(model) if isinstance(model, str) else ""


def doctor_fix(error: ProviderError) -> str:
    """Pollinations' own fix: a used-up balance is fixed by adding pollen, not by waiting."""
    return ADD_POLLEN if error.kind == "quota" else ""


def enabled(opts: Mapping[str, str]) -> bool:
    """On with POLLINATIONS_ENABLED=true, or with a key (a key is a clear enough wish)."""
    return truthy(opts.get("enabled") or "") or bool((opts.get("api_key") or "").strip())


class PollinationsProvider:
    name = NAME

    def __init__(self, *, model: str, base_url: str, api_key: str, ctx: ProviderContext,
                 placeholder_min_bytes: int | None = None, accept_logo: bool = False) -> None:
        self.model = model or DEFAULT_MODEL
        self._key = api_key
        self.accept_logo = accept_logo
        """Use images that carry Pollinations' logo (POLLINATIONS_ACCEPT_LOGO)."""
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
            if branded(resp.headers) and not self.accept_logo:
                # Every answer of the anonymous host is branded: a fact about the run, not this post.
                raise ProviderUnavailable(
                    f"{NAME}: the image carries a Pollinations logo (the anonymous host stamps one on every image "
                    "since 2026-08-03), so it is not used as a cover; out for this run. Set POLLINATIONS_API_KEY (a "
                    "key with pollen) for covers without it, or POLLINATIONS_ACCEPT_LOGO=true to accept it",
                    status=200)
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
        queue = status == 402 and isinstance(data, dict) and "x402Version" in data
        # Structured fields first.
        if self.keyed and (code == "PAYMENT_REQUIRED" or (status == 402 and not queue)):
            # No balance, or the key's budget is spent: nothing refills either by itself.
            return QuotaExhausted(f"{msg} -- no pollen left on this key: {ADD_POLLEN}; {NOT_AGAIN}",
                                  reset_at=in_one_week(now), status=status)
        if code == "PAYMENT_REQUIRED":
            return QuotaExhausted(msg, reset_at=in_one_hour(now), status=status)
        if code == "UNAUTHORIZED":
            return AuthFailed(msg, status=status)
        if code in REFUSAL_CODES:
            return ContentRefused(msg, status=status)
        field = model_field_error(data) if status == 400 else ""
        if field:  # the gateway's validation error names the model parameter: not served
            return ModelUnavailable(f"{msg} (model: {_http.excerpt(field, 120)})", model=model or self.model,
                                    status=status)
        if code in MODEL_CODES or (status in (400, 404) and _MODEL_TEXT.search(_http.error_message(data, resp.body))):
            return ModelUnavailable(msg, model=model or self.model, status=status)
        if status == 402:
            # Anonymous 'Queue full for IP ...' (x402): a short-term limit, not a balance.
            return RateLimited(msg, retry_after=retry if retry is not None else QUEUE_RETRY_AFTER, status=status)
        if status in (400, 403, 451) and _REFUSAL_TEXT.search(_http.error_message(data, resp.body)):
            return ContentRefused(msg, status=status)  # message text: last resort only
        if status == 429:
            return RateLimited(msg, retry_after=retry if retry is not None else QUEUE_RETRY_AFTER, status=status)
        return _http.by_status(NAME, resp, now, message=msg, reset_at=in_one_week(now) if self.keyed else None)

    async def aclose(self) -> None:
        return None


async def doctor(opts: Mapping[str, str], ctx: ProviderContext, models: tuple[str, ...]) -> list[Check]:
    """Key (keyed host) or the anonymous host, each model (through the image model list), and the
    key's pollen balance when the key may read it. No image is made."""
    p = _create(opts, ctx)
    url = f"{p._base_url}/image/models" if p.keyed else f"{p._base_url}/models"
    resp = await _http.send(ctx, NAME, "GET", url, headers=_http.bearer(p._key) if p._key else {})
    what = "API key" if p.keyed else "anonymous host (best effort)"
    if resp.status != 200:
        return [_http.key_check(SPEC, p.classify(resp), what, "POLLINATIONS_API_KEY")]
    out = [await _balance_check(p, ctx) if p.keyed else _logo_check(p)]
    if p.keyed:
        out.insert(0, Check(what, True))
    data = resp.json()
    names = {str(m.get("name")) if isinstance(m, dict) else str(m) for m in (data if isinstance(data, list) else [])}
    for model in models:
        out.append(Check(f"model {model}", True) if model in names else
                   Check(f"model {model}", False, "not in Pollinations' model list (retired or misspelt)",
                         f"remove it from {SPEC.model_env} or put a listed model first", usable=False))
    return out


def _logo_check(p: PollinationsProvider) -> Check:
    """The anonymous host's line: its images carry a logo, which the run refuses unless accepted."""
    what = "anonymous host (best effort)"
    if p.accept_logo:
        return Check(what, True, "covers will carry a Pollinations logo (POLLINATIONS_ACCEPT_LOGO=true)")
    return Check(what, False, "every anonymous image carries a Pollinations logo since 2026-08-03; imagegen does not "
                 "use such images as covers", "set POLLINATIONS_API_KEY (a key with pollen), or "
                 "POLLINATIONS_ACCEPT_LOGO=true to accept the logo", usable=False)


async def _balance_check(p: PollinationsProvider, ctx: ProviderContext) -> Check:
    """`GET /account/balance` (`{"balance": <pollen>}`; the key's budget when it has one). A key
    without the permission to read it gets a neutral line: the run's first 402 will tell."""
    what = "pollen balance"
    resp = await _http.send(ctx, NAME, "GET", f"{p._base_url}/account/balance", headers=_http.bearer(p._key))
    data = resp.json()
    balance = data.get("balance") if isinstance(data, dict) else None
    if resp.status == 200 and isinstance(balance, (int, float)) and not isinstance(balance, bool):
        if balance <= 0:
            return Check(what, False, f"{balance:g} pollen on this key: every image call answers 402", ADD_POLLEN,
                         usable=False)
        return Check(what, True, f"{balance:g} pollen")
    if resp.status in (401, 403):
        return Check(what, True, "not readable with this key (it lacks the permission to read the balance); "
                     "a 402 in a run means: no pollen left")
    return Check(what, True, f"not checked ({p.classify(resp).kind})")

def _create(opts: Mapping[str, str], ctx: ProviderContext) -> PollinationsProvider:
    return PollinationsProvider(
        model=SPEC.models(opts)[0],
        base_url=opts.get("base_url") or DEFAULT_BASE_URL,
        api_key=opts.get("api_key", ""),
        ctx=ctx,
        accept_logo=truthy(opts.get("accept_logo") or ""),
    )


SPEC = ProviderSpec(
    name=NAME,
    options=(
        Option("enabled", "POLLINATIONS_ENABLED", "use anonymous Pollinations (best effort, no key; its images carry a "
               "logo, see POLLINATIONS_ACCEPT_LOGO): true or false", default="false"),
        Option("api_key", "POLLINATIONS_API_KEY", "Pollinations key (sk_... or pk_...): the keyed endpoint, which needs "
               "pollen (bought or earned with quests; no free refill since 2026-06); enables Pollinations", secret=True),
        Option("accept_logo", "POLLINATIONS_ACCEPT_LOGO", "use anonymous Pollinations images although they carry its "
               "logo (stamped on every anonymous image since 2026-08): true or false", default="false"),
    ),
    default_model=",".join(DEFAULT_MODELS),
    default_base_url=DEFAULT_BASE_URL,
    model_env="POLLINATIONS_IMAGE_MODEL",
    enabled=enabled,
    create=_create,
    doctor=doctor,
    needs="POLLINATIONS_API_KEY (or POLLINATIONS_ENABLED=true for the anonymous host)",
    signup="https://enter.pollinations.ai/",
    free="none with a key, pollen is bought; the keyless host stamps its logo (refused unless "
         "POLLINATIONS_ACCEPT_LOGO=true)",
    # Anonymous: about one request at a time per IP, 5-15 s apart; generations can take minutes.
    # A keyed account may raise these with --provider-max-in-flight / --provider-min-interval.
    limits=Limits(max_in_flight=1, min_interval=5.0, timeout=180.0),
    # A keyed balance never refills by itself (since 2026-06-22): a week, or another key. The
    # anonymous tier has no quota (its 402 is a queue limit).
    quota_reset=in_one_week,
    doctor_fix=doctor_fix,
)
