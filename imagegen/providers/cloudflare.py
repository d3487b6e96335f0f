"""Cloudflare Workers AI: `POST {base}/accounts/{account_id}/ai/run/{model}` with a bearer token.

Three model families, three request shapes (`request_body`):

- FLUX.2 ([klein] 4B, the default since December 2026; [klein] 9B, [dev]) takes a
  multipart/form-data body even for a prompt alone (Cloudflare changelog 2026-01-15): `prompt`,
  `width` and `height` (256-1920; we send the cover's shape, rounded up to 16) and `seed`. It
  draws the cover's own shape, so `images.finish` has nothing to upscale.
- FLUX.1 [schnell] takes only a prompt (1..2048 characters) and `steps` (<= 8; its schema refuses
  anything else): it answers a square, which `finish` crops and upscales 1.17x to 1200x630.
- SDXL takes JSON with `width`/`height` (256-2048) and `seed`, and answers raw PNG bytes.

FLUX answers JSON with a base64 JPEG in `result.image`; SDXL-style models answer raw bytes, so the
response's content type decides how to read it, never the model name. Why klein comes first
(neurons per cover from the published prices, covers a day): `NEURONS_PER_COVER` and
bench/cloudflare_neurons.py. The account id is a secret: it is in every URL, so no URL ever
reaches a message (see providers.md for the wire facts).

Run-wide answers: 7003/7000 "Could not route to ..." (status 400, 403 or 404) is a wrong account
id -- AuthFailed, out for the run after one call, never a per-post bad request. 5007/3042 (no such
model), 5028 (deprecated) and 5035 (needs Workers Paid) are ModelUnavailable: the next model in
the list is tried.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from imagegen.providers import _http
from imagegen.providers.base import (
    next_utc_midnight,
    AuthFailed,
    Check,
    BadRequest,
    GeneratedImage,
    ImageRequest,
    Limits,
    Option,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    ModelUnavailable,
    QuotaExhausted,
    RateLimited,
    TransientError,
    checked,
)

NAME = "cloudflare"
KLEIN = "@cf/black-forest-labs/flux-2-klein-4b"
SCHNELL = "@cf/black-forest-labs/flux-1-schnell"
SDXL = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
DEFAULT_MODELS = (KLEIN, SCHNELL, SDXL)
"""FLUX.2 [klein] 4B first: it draws the cover's shape (no crop, no upscale) with a newer, better
model, for 2.3x the neurons of a square FLUX.1 [schnell] picture by area (about 131 covers a day
in the free 10,000 neurons instead of about 173; 63 if Cloudflare bills whole tiles). Most blogs
need a few covers a day, so the better picture wins; a backfill of hundreds takes a day or two
more. FLUX.1 [schnell] when klein is retired or not served; SDXL base (raw PNG answer, beta,
absent from the 2026-08 price table) last. A used-up daily allocation is the account's, not a
model's: it takes the whole provider out until 00:00 UTC."""
DEFAULT_MODEL = DEFAULT_MODELS[0]
DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
MAX_PROMPT_CHARS = 2048
STEPS = 4
"""FLUX.1 schnell's default; the schema allows at most 8. (FLUX.2 [klein] has a fixed 4.)"""
FLUX2_SIZE = (256, 1920)
"""FLUX.2 [klein]'s width/height bounds (changelog 2026-01-15)."""
SDXL_SIZE = (256, 2048)
"""SDXL's width/height bounds (its catalog schema)."""

NEURONS_PER_COVER: dict[str, tuple[float, float]] = {
    # Published prices (developers.cloudflare.com/workers-ai/platform/pricing, 2026-08-28; $0.011
    # per 1,000 neurons; 10,000 free a day). Per 1200x630 cover, as (by area, by whole 512x512
    # tiles), since the page does not say how a partial tile is counted. bench/cloudflare_neurons.py
    # computes them (and covers a day) from the prices; a test keeps this table equal to its output.
    KLEIN: (76.3, 156.3),  # 26.05 neurons per output tile; 1200x640 = 2.93 tiles (3 x 2 whole)
    SCHNELL: (57.6, 57.6),  # 4.80 per tile + 9.60 per step; a 1024x1024 square = 4 tiles, 4 steps
}

QUOTA_CODES = frozenset({3036, 4006})
"""'You have used up your daily free allocation of 10,000 neurons'."""
RATE_CODES = frozenset({3040})
"""'Out of capacity': retry later."""
UNKNOWN_MODEL_CODES = frozenset({5007, 3042, 5028, 5035})
"""No such model, invalid model id, model deprecated, model needs Workers Paid: this model is out."""
AUTH_CODES = frozenset({10000, 9109})
CONFIG_CODES = frozenset({7003, 7000})
"""'Could not route to ...' / 'No route for that URI': a wrong account id (config, out for the run)."""


WRONG_ACCOUNT = " -- check CLOUDFLARE_ACCOUNT_ID"
"""How `classify` ends the AuthFailed of a wrong account id (7003/7000), and how `doctor_fix`
tells it from a wrong token."""


def doctor_fix(error: ProviderError) -> str:
    """Cloudflare's own fix: a wrong account id is not a wrong token."""
    if error.kind == "auth" and str(error).endswith(WRONG_ACCOUNT):
        return "set CLOUDFLARE_ACCOUNT_ID to your account id (dashboard > Workers AI)"
    return ""


def takes_form(model: str) -> bool:
    """FLUX.2 models ([klein] 4B/9B, [dev]) accept only a multipart/form-data body."""
    return "/flux-2-" in model.lower()


def _ceil_to(value: int, multiple: int, low: int, high: int) -> int:
    """`value` rounded up to a multiple (a picture at least the cover's size: cropped, never
    upscaled), within the model's bounds."""
    return max(low, min(high, -(-int(value) // multiple) * multiple))


def error_codes(data: Any) -> list[int]:
    """The numeric codes of a Cloudflare error envelope (structured fields only)."""
    out: list[int] = []
    if isinstance(data, dict):
        for err in data.get("errors") or []:
            if isinstance(err, dict):
                code = err.get("code")
                if isinstance(code, int) and not isinstance(code, bool):
                    out.append(code)
                elif isinstance(code, str) and code.isdigit():
                    out.append(int(code))
    return out


class CloudflareProvider:
    name = NAME

    def __init__(self, *, token: str, account_id: str, model: str, base_url: str, ctx: ProviderContext) -> None:
        self.model = model or DEFAULT_MODEL
        self._token = token
        self._account_id = account_id
        self._base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._ctx = ctx

    def url(self, model: str) -> str:
        # Model ids contain '@' and '/', which Cloudflare expects literally in the path.
        return f"{self._base_url}/accounts/{quote(self._account_id, safe='')}/ai/run/{quote(model, safe='@/')}"

    def request_body(self, request: ImageRequest, model: str) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
        """(JSON body, form fields) for `model`: exactly one is set (see the module docstring)."""
        prompt = request.prompt.strip()[:MAX_PROMPT_CHARS] or "."
        name = model.lower()
        if takes_form(model):
            width, height = (_ceil_to(v, 16, *FLUX2_SIZE) for v in (request.width, request.height))
            return None, {"prompt": prompt, "width": str(width), "height": str(height), "seed": str(request.seed)}
        if "flux" in name:
            return {"prompt": prompt, "steps": STEPS}, None  # FLUX.1: its schema takes nothing else
        if "stable-diffusion-xl" in name:
            width, height = (_ceil_to(v, 16, *SDXL_SIZE) for v in (request.width, request.height))
            return {"prompt": prompt, "width": width, "height": height, "seed": request.seed}, None
        return {"prompt": prompt}, None  # another model: its own defaults

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        model = request.model or self.model
        json_body, form = self.request_body(request, model)
        resp = await _http.send(self._ctx, NAME, "POST", self.url(model), headers=_http.bearer(self._token),
                                json_body=json_body, form=form)
        if resp.status == 200:
            return self._image(resp, model)
        raise self.classify(resp, model)

    def _image(self, resp: _http.WireResponse, model: str) -> GeneratedImage:
        # Raw bytes (SDXL) or anything that is not the JSON envelope: the bytes must prove themselves.
        data = None if resp.content_type.startswith("image/") else resp.json()
        if not isinstance(data, dict):
            return checked(resp.body, provider=NAME, model=model)
        if data.get("success") is False or data.get("errors"):
            raise self.classify(resp, model)
        result = data.get("result")
        image = result.get("image") if isinstance(result, dict) else None
        raw = _http.b64_field(image, provider=NAME, field="result.image")
        return checked(raw, provider=NAME, model=model)

    def classify(self, resp: _http.WireResponse, model: str | None = None) -> ProviderError:
        now = self._ctx.clock.now()
        data = resp.json()
        codes = error_codes(data)
        detail = "code " + ",".join(str(c) for c in codes) if codes else ""
        msg = _http.describe_status(NAME, resp, detail)
        retry_after = _http.header_retry_after(resp, now)
        status = resp.status
        # Structured codes first.
        if QUOTA_CODES & set(codes):
            return QuotaExhausted(msg, reset_at=next_utc_midnight(now), status=status)
        if RATE_CODES & set(codes):
            return RateLimited(msg, retry_after=retry_after, status=status)
        if CONFIG_CODES & set(codes):
            return AuthFailed(msg + WRONG_ACCOUNT, status=status)
        if UNKNOWN_MODEL_CODES & set(codes):
            return ModelUnavailable(msg, model=model or self.model, status=status)
        if AUTH_CODES & set(codes) or status in (401, 403):
            return AuthFailed(msg, status=status)
        if status == 429:
            # No known code: the message text is the last resort for the daily allocation.
            text = _http.error_message(data, resp.body).lower()
            if "daily free allocation" in text:
                return QuotaExhausted(msg, reset_at=next_utc_midnight(now), status=status)
            return RateLimited(msg, retry_after=retry_after, status=status)
        if status == 408:
            return TransientError(msg, retry_after=retry_after, status=status)
        if status == 200:  # success=false inside a 200
            return BadRequest(msg, status=status)
        return _http.by_status(NAME, resp, now, message=msg, reset_at=next_utc_midnight(now))

    async def aclose(self) -> None:
        return None


async def doctor(opts: Mapping[str, str], ctx: ProviderContext, models: tuple[str, ...]) -> list[Check]:
    """Key and account id, then each model, through the model search (no image is made)."""
    p = _create(opts, ctx)
    base = f"{p._base_url}/accounts/{quote(p._account_id, safe='')}/ai/models/search"
    out: list[Check] = []
    for i, model in enumerate(models):
        resp = await _http.send(ctx, NAME, "GET", base, headers=_http.bearer(p._token), params={"search": model})
        if resp.status != 200:
            err = p.classify(resp, model)
            if i == 0:
                out.append(_http.key_check(SPEC, err, "token and account id", "CLOUDFLARE_API_TOKEN"))
            if err.kind in ("auth", "unavailable"):
                break
            out.append(Check(f"model {model}", False, str(err), SPEC.fix_for(err, key_env=""), usable=False))
            continue
        if i == 0:
            out.append(Check("token and account id", True))
        data = resp.json()
        result = data.get("result") if isinstance(data, dict) else None
        names = {str(m.get("name")) for m in result or [] if isinstance(m, dict)}
        if model in names:
            out.append(Check(f"model {model}", True))
        else:
            out.append(Check(f"model {model}", False, "not in Workers AI's model list (retired or misspelt)",
                             f"remove it from {SPEC.model_env} or put a listed model first", usable=False))
    return out

def _create(opts: Mapping[str, str], ctx: ProviderContext) -> CloudflareProvider:
    return CloudflareProvider(
        token=opts.get("api_token", ""),
        account_id=opts.get("account_id", ""),
        model=SPEC.models(opts)[0],
        base_url=opts.get("base_url") or DEFAULT_BASE_URL,
        ctx=ctx,
    )


SPEC = ProviderSpec(
    name=NAME,
    options=(
        Option("api_token", "CLOUDFLARE_API_TOKEN", "Cloudflare API token (Workers AI read/run)", secret=True),
        Option("account_id", "CLOUDFLARE_ACCOUNT_ID", "Cloudflare account id (treated as a secret: it is in every URL)",
               secret=True),
    ),
    default_model=",".join(DEFAULT_MODELS),
    default_base_url=DEFAULT_BASE_URL,
    model_env="CLOUDFLARE_IMAGE_MODEL",
    enabled=lambda opts: bool(opts.get("api_token")) and bool(opts.get("account_id")),
    create=_create,
    doctor=doctor,
    needs="CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID",
    signup="https://dash.cloudflare.com/profile/api-tokens",
    free="10,000 neurons a day, about 131 covers with FLUX.2 [klein] (173 with FLUX.1 [schnell])",
    # FLUX schnell answers in a few seconds; the free allocation is daily, not per minute.
    limits=Limits(max_in_flight=4, min_interval=0.0, timeout=60.0),
    quota_reset=next_utc_midnight,
    doctor_fix=doctor_fix,
)
