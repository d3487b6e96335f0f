"""AI Horde (aihorde.net): free images from volunteers' GPUs, with no key at all.

The one AI provider a blogger without any key can use: a crowdsourced cluster where volunteers run
Stable Diffusion-family models. It is free, slow (a request waits in a queue for seconds to many
minutes) and not private: **the volunteer worker that takes a request sees its prompt**, and the
horde's schema says images made with the anonymous key are shared with LAION's dataset. So it is
on by default only where no other AI provider is configured (`AIHORDE_ENABLED=auto`), and
`imagegen doctor` says so.

The REST protocol (API v2; checked against the horde's own source, Haidra-Org/AI-Horde
`horde/apis/v2/stable.py`, `horde/apis/models/{v2,stable_v2}.py`, `horde/exceptions.py` and
`README_return_codes.md`, August 2026), written on `_http.send` like every provider here -- the
official SDK (`horde-sdk` on PyPI) is not one of our dependencies:

    POST {base}/v2/generate/async   header `apikey` (anonymous: 0000000000), `Client-Agent`
         {"prompt", "params": {"width", "height" (multiples of 64), "steps", "n", "seed", ...},
          "models": [model], "nsfw": false, "censor_nsfw": true, "r2": false, "allow_downgrade": true}
         -> 202 {"id", "kudos", "warnings": [{"code": "NoAvailableWorker", ...}]?}
    GET  {base}/v2/generate/check/{id}  -> {"done", "faulted", "is_possible", "queue_position",
                                            "wait_time", "waiting", "processing", "finished", ...}
    GET  {base}/v2/generate/status/{id} -> {..., "generations": [{"img": base64 WebP (r2: false),
                                            "model", "censored", "gen_metadata", ...}]}
    DELETE {base}/v2/generate/status/{id}  cancels a request we stopped waiting for.
    Errors: {"message", "rc"}: rc first (InvalidAPIKey, KudosUpfront, CorruptPrompt, TooManyPrompts,
    NoValidWorkers, MaintenanceMode, RequestNotFound, ...), the status after.

Each cover has an overall deadline on the run's clock (`Limits.timeout`, 10 minutes by default);
each HTTP request within it a shorter one. While it waits, the provider sends the chain its place
in the queue and the expected wait (`Queued` notes: `queued` events). What the answers mean here:

| answer | class |
|---|---|
| 401, rc InvalidAPIKey | auth: out for the run |
| 403 rc KudosUpfront / SharedKey* (kudos too low for this request) | unavailable: out for the run |
| 403 rc TimeoutIP, UnsafeIP, TooManySameIPs, TooManyNewIPs (this IP is blocked for a while) | unavailable |
| other 403 (AnonForbidden, NotTrusted, ...) | auth |
| 429, rc TooManyPrompts (too many requests waiting) | rate limited |
| 400 rc CorruptPrompt (the horde's prompt filter) | refused: the next provider for this post |
| a NoAvailableWorker warning, `is_possible: false`, rc NoValidWorkers | this model is not served now: the next model (for this run only, not remembered) |
| rc MaintenanceMode | unavailable |
| `faulted: true`; rc RequestNotFound / RequestExpired (the horde dropped it) | transient |
| a generation `censored` by the worker's safety filter | refused |
| no image within the deadline | unavailable (the request is cancelled) |
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Mapping

from imagegen import __version__
from imagegen.frontmatter import truthy
from imagegen.providers import _http
from imagegen.providers.base import (
    AuthFailed,
    BadImage,
    BadRequest,
    Check,
    ContentRefused,
    GeneratedImage,
    ImageRequest,
    Limits,
    ModelUnavailable,
    Option,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    ProviderUnavailable,
    Queued,
    RateLimited,
    TransientError,
    checked,
    next_utc_midnight,
)

NAME = "aihorde"
DEFAULT_BASE_URL = "https://aihorde.net/api"
ANONYMOUS_KEY = "0000000000"
DEFAULT_MODELS = ("AlbedoBase XL (SDXL)", "Juggernaut XL", "Deliberate")
"""SDXL models first: the horde lets anyone, anonymous included, ask up to 1024x1024 pixels of
them without kudos (`require_upfront_kudos`); Deliberate (SD 1.5) is widely served."""
CLIENT_AGENT = f"imagegen:{__version__}:imagegen-github-action"
"""`name:version:contact`, as the horde asks of every client (an unknown client can be blocked)."""

FREE_AREA = 1024 * 1024
"""Pixels anyone may ask of an SDXL model without kudos; a request over what the horde allows at
the moment is made smaller by the horde itself (`allow_downgrade`), never refused for kudos."""
STEPS = 25
SAMPLER = "k_euler_a"
MIN_POLL, MAX_POLL = 2.0, 10.0
"""Seconds between two `check` requests (the horde caches it for a second; half the expected wait, bounded)."""
NOTE_EVERY = 30.0
"""At most one queue note per this many seconds unless the position changed."""
REQUEST_TIMEOUT = 30.0
"""One HTTP request's own timeout, within the cover's overall deadline."""

_KUDOS = frozenset({"KudosUpfront", "SharedKeyEmpty", "SharedKeyInsufficientKudos", "SharedKeyExpired"})
_BLOCKED = frozenset({"TimeoutIP", "UnsafeIP", "TooManySameIPs", "TooManyNewIPs", "MaintenanceMode",
                      "BannedClientAgent"})
_DROPPED = frozenset({"RequestNotFound", "RequestExpired", "AbortedGen"})
_NOT_SERVED = frozenset({"NoValidWorkers"})

PRIVACY = "prompts are seen by the volunteer workers who make the images"


def switch(opts: Mapping[str, str]) -> str:
    """AIHORDE_ENABLED as one word: auto, true or false."""
    raw = (opts.get("enabled") or "auto").strip().lower()
    if raw == "auto":
        return "auto"
    return "true" if truthy(raw) else "false" if raw in ("false", "no", "off", "n", "0") else raw


def check_opts(opts: Mapping[str, str]) -> str:
    """Why these options must not be used ('' when fine)."""
    if switch(opts) not in ("auto", "true", "false"):
        return f"AIHORDE_ENABLED must be auto, true or false, not {opts.get('enabled')!r}"
    if (opts.get("api_key") or "").strip() == ANONYMOUS_KEY:
        return "AIHORDE_API_KEY: leave it empty for the anonymous key (a key set here is masked in every message)"
    return ""


def horde_size(width: int, height: int, *, area: int = FREE_AREA) -> tuple[int, int]:
    """The nearest multiples of 64 to `width` x `height`, shrunk to at most `area` pixels."""
    scale = min(1.0, math.sqrt(area / max(1, width * height)))
    w = max(64, round(width * scale / 64) * 64)
    h = max(64, round(height * scale / 64) * 64)
    target = width / max(1, height)
    while w * h > area:  # one step of 64 less, on the side that keeps the shape closest
        w, h = min(((w - 64, h), (w, h - 64)), key=lambda c: (c[0] < 64 or c[1] < 64, abs(c[0] / c[1] - target)))
    return w, h


class AIHordeProvider:
    name = NAME

    def __init__(self, *, api_key: str, model: str, base_url: str, ctx: ProviderContext) -> None:
        self.model = model or DEFAULT_MODELS[0]
        self.anonymous = not api_key.strip()
        self._key = api_key.strip() or ANONYMOUS_KEY
        self._base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._ctx = ctx

    # ------------------------------------------------------------------ one cover

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        model = request.model or self.model
        deadline = self._ctx.clock.monotonic() + self._ctx.timeout
        job = await self._submit(model, request, deadline)
        try:
            await self._wait(job, model, request, deadline)
        except BaseException:
            await self._cancel(job)  # stopped waiting (deadline, impossible, cancelled run): free the volunteers
            raise
        return await self._result(job, model, deadline)

    def _payload(self, model: str, request: ImageRequest) -> dict[str, Any]:
        width, height = horde_size(request.width, request.height)
        return {"prompt": request.prompt,
                "params": {"width": width, "height": height, "steps": STEPS, "n": 1, "sampler_name": SAMPLER,
                           "karras": True, "seed": str(request.seed)},
                "models": [model], "nsfw": False, "censor_nsfw": True, "trusted_workers": False,
                "slow_workers": True, "r2": False, "shared": False, "allow_downgrade": True,
                "replacement_filter": True}

    async def _submit(self, model: str, request: ImageRequest, deadline: float) -> str:
        resp = await self._send("POST", "/v2/generate/async", deadline, json_body=self._payload(model, request))
        if resp.status not in (200, 202):
            raise self.classify(resp, model)
        data = resp.json()
        job = data.get("id") if isinstance(data, dict) else None
        if not isinstance(job, str) or not job:
            raise TransientError(f"{NAME}: the horde accepted the request without giving its id")
        warnings = data.get("warnings") if isinstance(data.get("warnings"), list) else []
        if any(isinstance(w, dict) and w.get("code") == "NoAvailableWorker" for w in warnings):
            await self._cancel(job)
            raise self._not_served(model)
        return job

    async def _wait(self, job: str, model: str, request: ImageRequest, deadline: float) -> None:
        """Poll `check` until the job is done, telling the chain where it stands in the queue."""
        clock = self._ctx.clock
        said: tuple[int | None, float] | None = None
        while True:
            resp = await self._send("GET", f"/v2/generate/check/{job}", deadline)
            if resp.status != 200:
                raise self.classify(resp, model)
            st = resp.json() if isinstance(resp.json(), dict) else {}
            if st.get("faulted"):  # the horde dropped it: nothing left to cancel, but cancelling is harmless
                raise TransientError(f"{NAME}: the request faulted on the horde (a worker or the horde failed it)")
            if st.get("is_possible") is False:
                raise self._not_served(model)
            if st.get("done"):
                return
            position, wait = _number(st.get("queue_position")), _number(st.get("wait_time"))
            pos = None if position is None else int(position)
            if said is None or said[0] != pos or clock.monotonic() - said[1] >= NOTE_EVERY:
                request.notify(Queued(pos, wait))
                said = (pos, clock.monotonic())
            delay = min(MAX_POLL, max(MIN_POLL, (wait or 0.0) / 2))
            if clock.monotonic() + delay >= deadline:
                where = f" at position {pos}" if pos is not None else ""
                raise ProviderUnavailable(f"{NAME}: no image within the {self._ctx.timeout:g} s deadline (still "
                                          f"waiting{where} in the queue); out for this run")
            await clock.sleep(delay)

    async def _result(self, job: str, model: str, deadline: float) -> GeneratedImage:
        resp = await self._send("GET", f"/v2/generate/status/{job}", deadline)
        if resp.status != 200:
            raise self.classify(resp, model)
        data = resp.json()
        gens = data.get("generations") if isinstance(data, dict) else None
        gen = gens[0] if isinstance(gens, list) and gens and isinstance(gens[0], dict) else None
        if gen is None:
            raise BadImage(f"{NAME}: the finished request holds no image")
        meta = gen.get("gen_metadata") if isinstance(gen.get("gen_metadata"), list) else []
        if gen.get("censored") or any(isinstance(m, dict) and m.get("type") == "censorship" for m in meta):
            raise ContentRefused(f"{NAME}: the worker's safety filter censored the image")
        img = gen.get("img")
        if isinstance(img, str) and img.startswith(("https://", "http://")):
            got = await self._send("GET", img, deadline, absolute=True)  # no key: another host
            if got.status != 200:
                raise _http.by_status(NAME, got, self._ctx.clock.now())
            data_bytes = got.body
        else:
            data_bytes = _http.b64_field(img, provider=NAME, field="generations[0].img")
        return checked(data_bytes, provider=NAME, model=model)

    async def _cancel(self, job: str) -> None:
        """Tell the horde we stopped waiting, so no volunteer works for nothing (best effort)."""
        ctx = replace(self._ctx, timeout=5.0)
        try:
            await _http.send(ctx, NAME, "DELETE", f"{self._base}/v2/generate/status/{job}", headers=self._headers())
        except Exception:  # noqa: BLE001 - the run's outcome is decided already
            pass

    # ------------------------------------------------------------------ the wire

    def _headers(self) -> dict[str, str]:
        return {"apikey": self._key, "Client-Agent": CLIENT_AGENT}

    async def _send(self, method: str, path: str, deadline: float, *, json_body: Any = None,
                    absolute: bool = False) -> _http.WireResponse:
        """One request, with its own timeout and never past the cover's deadline."""
        left = deadline - self._ctx.clock.monotonic()
        if left <= 0:
            raise ProviderUnavailable(f"{NAME}: no image within the {self._ctx.timeout:g} s deadline; "
                                      "out for this run")
        ctx = replace(self._ctx, timeout=min(REQUEST_TIMEOUT, left))
        url, headers = (path, None) if absolute else (self._base + path, self._headers())
        return await _http.send(ctx, NAME, method, url, headers=headers, json_body=json_body)

    def _not_served(self, model: str) -> ModelUnavailable:
        return ModelUnavailable(f"{NAME}: no volunteer worker can take model {model} now; out for this run",
                                model=model, remember=False)

    def classify(self, resp: _http.WireResponse, model: str | None = None) -> ProviderError:
        """A horde error answer: its `rc` first, then the status."""
        now = self._ctx.clock.now()
        data = resp.json()
        rc = str(data.get("rc") or "") if isinstance(data, dict) else ""
        msg = _http.describe_status(NAME, resp, rc)
        status = resp.status
        if rc == "InvalidAPIKey" or status == 401:
            return AuthFailed(msg, status=status)
        if rc in _KUDOS:
            return ProviderUnavailable(f"{msg} (kudos too low for this request; out for this run)", status=status)
        if rc in _BLOCKED:
            return ProviderUnavailable(msg, status=status)
        if rc == "CorruptPrompt":
            return ContentRefused(msg, status=status)
        if rc in _NOT_SERVED:
            return self._not_served(model or self.model)
        if rc == "TooManyPrompts" or status == 429:
            return RateLimited(msg, retry_after=_http.header_retry_after(resp, now), status=status)
        if rc in _DROPPED:
            return TransientError(f"{msg} (the horde dropped the request)", status=status)
        if status == 403:
            return AuthFailed(msg, status=status)
        if status in (400, 413, 422):
            return BadRequest(msg, status=status)
        return _http.by_status(NAME, resp, now, message=msg)

    async def aclose(self) -> None:
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


# --------------------------------------------------------------------------- doctor


async def doctor(opts: Mapping[str, str], ctx: ProviderContext, models: tuple[str, ...]) -> list[Check]:
    """The key (the horde's find_user), then which configured models volunteers serve now
    (status/models): no image is made. The key line says who sees the prompts."""
    p = _create(opts, ctx)
    base = p._base
    resp = await _http.send(ctx, NAME, "GET", f"{base}/v2/find_user", headers=p._headers())
    if resp.status != 200:
        return [_http.key_check(SPEC, p.classify(resp), "API key", "AIHORDE_API_KEY")]
    user = resp.json() if isinstance(resp.json(), dict) else {}
    who = "anonymous key (no AIHORDE_API_KEY)" if p.anonymous else f"API key of {user.get('username', '?')}"
    kudos = _number(user.get("kudos"))
    detail = PRIVACY + ("; images made with the anonymous key may be shared with LAION" if p.anonymous
                        else f"; {kudos:g} kudos" if kudos is not None else "")
    out = [Check(who, True, detail)]
    resp = await _http.send(ctx, NAME, "GET", f"{base}/v2/status/models", params={"type": "image"})
    listed = resp.json() if resp.status == 200 else None
    if not isinstance(listed, list):
        err = p.classify(resp)
        return out + [Check("models", False, str(err), SPEC.fix_for(err, key_env=""), usable=False)]
    served = {str(m.get("name")): m for m in listed if isinstance(m, dict)}
    for model in models:
        m = served.get(model, {})
        count = _number(m.get("count")) or 0
        if count:
            eta = _number(m.get("eta"))
            out.append(Check(f"model {model}", True, f"{count:g} volunteer worker(s)"
                             + (f", queue about {eta:g} s" if eta is not None else "")))
        else:
            out.append(Check(f"model {model}", False, "no volunteer worker serves it right now",
                             f"it may come back; put a served model first in {SPEC.model_env}", usable=False))
    return out


def enabled(opts: Mapping[str, str]) -> bool:
    return switch(opts) != "false"


def _create(opts: Mapping[str, str], ctx: ProviderContext) -> AIHordeProvider:
    return AIHordeProvider(api_key=opts.get("api_key", ""), model=SPEC.models(opts)[0],
                           base_url=opts.get("base_url") or DEFAULT_BASE_URL, ctx=ctx)


SPEC = ProviderSpec(
    name=NAME,
    options=(
        Option("enabled", "AIHORDE_ENABLED", "use AI Horde (free, slow, volunteers' GPUs; they see the prompts): auto "
               "(only when no other AI provider is configured), true or false", default="auto"),
        Option("api_key", "AIHORDE_API_KEY", "a registered AI Horde key (free at aihorde.net/register: priority "
               "in the queue); empty: the anonymous key", secret=True),
    ),
    default_model=",".join(DEFAULT_MODELS),
    default_base_url=DEFAULT_BASE_URL,
    model_env="AIHORDE_IMAGE_MODEL",
    display_name="AI Horde",
    signup="https://aihorde.net/register",
    free="unlimited without a key, but slow (a queue per cover) and volunteers see the prompts",
    enabled=enabled,
    stand_in=lambda opts: switch(opts) == "auto",
    caveat="free but slow (a queue per cover), and the volunteers who make them see the prompts "
           "(AIHORDE_ENABLED=false: never use it)",
    create=_create,
    doctor=doctor,
    needs="AIHORDE_ENABLED=true (no key needed; on by itself when no other provider is configured)",
    # A queue, not a quota: a cover takes seconds to many minutes. Two waiting requests per client.
    limits=Limits(max_in_flight=2, min_interval=0.0, timeout=600.0),
    quota_reset=next_utc_midnight,
    check_opts=check_opts,
)
