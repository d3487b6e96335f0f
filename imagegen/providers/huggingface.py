"""Hugging Face Inference Providers: we choose the partner, `huggingface_hub` speaks its protocol.

Which partner (nscale, fal-ai, hf-inference, ...) serves a model is the Hub's provider mapping,
`GET {hub}/api/models/{model}?expand[]=inferenceProviderMapping`. This module fetches it itself,
once per run and model, **with the user's token**, so the order the account set at
hf.co/settings/inference-providers applies (huggingface_hub's `provider="auto"` fetches it without
a token and takes the first entry whatever its status: a broken partner listed first then answered
every call). The partners kept are those whose entry is `live` for `text-to-image` and that the
library can call, in the mapping's order; `huggingface-provider` pins one of them.

A call goes to the first partner not known to be out for the model. A partner that answers "not
served here" (410, a JSON 404, a 400 "Model not supported by provider X") is out for that model
-- for the run, and for `state.RETIRED_DAYS` days in the state file under `huggingface@<partner>`
-- and the next partner is tried at once, in the same call. Only when no partner is left is the
*model* unavailable (ModelUnavailable: the chain moves on to the next model). Every other answer
is the provider's: 402 monthly credits -> quota (next month, credits are per account); 401/403 ->
auth; 503 loading -> transient with its `estimated_time`.

`huggingface_hub` builds each partner's payload and parses its answer, tracking their drift for
us; everything imagegen changes in it or borrows from its private API is in the library seam
below, pinned by tests/test_providers_huggingface.py. Every request it makes goes through our
hooks: no redirect is followed, no body is read past the size cap, no request starts or reads
past the call's deadline -- also the ones fal-ai, replicate, wavespeed and zai-org make
synchronously in a worker thread (their downloads and polls), so such a thread ends by the
deadline too (and `imagegen.aio` never waits for one). The base-URL override reaches every
partner, hf-inference included (called by URL, which the library supports for that route).

The token must be a Hugging Face token (`hf_...`): with any other key the library would send it
straight to the partner's own API, another host -- refused as a settings error. The image bytes
the partner sent go through the same image check as every provider's (`base.checked`).
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import time
from dataclasses import dataclass, replace
from typing import Any, AsyncIterator, Iterator, Mapping

import httpx
import httpx2

from imagegen.providers import _http
from imagegen.providers.base import (
    next_month_utc,
    Check,
    AuthFailed,
    BadImage,
    GeneratedImage,
    ImageRequest,
    Limits,
    ModelUnavailable,
    Option,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    RouteOut,
    TransientError,
    checked,
)

NAME = "huggingface"
DEFAULT_MODELS = ("black-forest-labs/FLUX.1-schnell", "black-forest-labs/FLUX.1-dev")
DEFAULT_MODEL = DEFAULT_MODELS[0]
DEFAULT_BASE_URL = "https://router.huggingface.co"
DEFAULT_HUB_URL = "https://huggingface.co"
STEPS = 4
MAX_LOADING_WAIT = 120.0
"""Upper bound on the 'model is loading' hint passed on to the chain (seconds)."""
HUB_TIMEOUT = 30.0
"""The Hub's mapping lookup gets at most this long (within the call's own deadline)."""
SYNC_TIMEOUT = 60.0
"""Per-read timeout of a request the library makes outside any call of ours (never unbounded)."""

PARTNERS: dict[str, str] = {
    "hf-inference": "answers the image",
    "nscale": "answers the image (base64)",
    "together": "answers the image (base64)",
    "fal-ai": "answers a URL, downloaded in a worker thread",
    "replicate": "answers a URL, downloaded in a worker thread",
    "wavespeed": "polled and downloaded in a worker thread",
    "zai-org": "polled in a worker thread",
}
"""The partners huggingface_hub can call for text-to-image (2.4.0), and how their image arrives.
tests/test_providers_huggingface.py pins this against the library's own table: an upgrade that
adds or drops one fails there, by name."""

_NOT_SERVED = ("not supported by provider", "no longer supported", "deprecated", "model not supported")


def is_model_unavailable(status: int, data: object, message: str) -> bool:
    """410 (deprecated on this route), a JSON 404, and a 400 'Model not supported by provider X':
    this model is not served here -- a run-wide fact, never a per-post bad request. A bare-text
    404 is more likely a wrong base URL: that must not retire good models for a week."""
    if status == 410 or (status == 404 and isinstance(data, dict)):
        return True
    return status == 400 and any(k in message.lower() for k in _NOT_SERVED)


def check_opts(opts: Mapping[str, str]) -> str:
    """Why these options must not be used ('' when fine): a token that is not a Hugging Face
    token, a partner the library cannot call."""
    token = opts.get("api_token", "")
    if token and not token.startswith("hf_"):
        return ("HUGGINGFACE_API_TOKEN must be a Hugging Face access token (hf_...): with any other key "
                "huggingface_hub sends it to the partner provider's own API instead of the Hugging Face router")
    partner = (opts.get("partner") or "auto").strip()
    if partner != "auto" and partner not in PARTNERS:
        return f"HUGGINGFACE_PROVIDER: unknown partner {partner!r} (auto, or one of {', '.join(PARTNERS)})"
    return ""


def route_key(partner: str) -> str:
    """The state file's key for what one partner does not serve ("huggingface@nscale")."""
    return f"{NAME}@{partner}"


# --------------------------------------------------------------------------- the Hub's mapping


@dataclass(frozen=True)
class Route:
    """One partner's entry in the Hub's mapping for a model."""

    partner: str
    provider_id: str
    """The model's id on the partner's side."""
    status: str
    task: str
    fields: Mapping[str, Any]
    """The entry as the Hub gave it (adapter, adapterWeightsPath, ...): handed to the library."""

    @property
    def usable(self) -> bool:
        return self.status == "live" and self.task == "text-to-image" and self.partner in PARTNERS


def parse_mapping(data: Any) -> list[Route]:
    """The `inferenceProviderMapping` of a Hub answer, in the Hub's order (a list, or the older
    dict keyed by partner). Malformed entries are dropped."""
    raw = data.get("inferenceProviderMapping") if isinstance(data, dict) else None
    items: list[tuple[str, Any]]
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = [(str(e.get("provider", "")), e) for e in raw if isinstance(e, dict)]
    else:
        return []
    out: list[Route] = []
    for partner, entry in items:
        if isinstance(entry, dict) and partner and isinstance(entry.get("providerId"), str):
            out.append(Route(partner, entry["providerId"], str(entry.get("status", "")), str(entry.get("task", "")),
                             {k: v for k, v in entry.items() if k != "provider"}))
    return out


# --------------------------------------------------------------------------- the library seam
#
# Everything imagegen changes in huggingface_hub, or borrows from its private API, is in this
# section; nothing else in the program touches the library's globals.
# tests/test_providers_huggingface.py::test_the_library_seam_is_where_we_expect_it fails loudly
# when an upgrade moves one of these.


@dataclass(frozen=True)
class _Guard:
    """The limits of the call in progress, seen by the hooks of both library clients (a worker
    thread started with asyncio.to_thread inherits them with the context)."""

    cap: int
    deadline: float
    """time.monotonic() by which every request of the call must be done."""
    seconds: float


_GUARD: contextvars.ContextVar[_Guard | None] = contextvars.ContextVar("imagegen_hf_guard", default=None)
_DEFAULT_CAP = 25 * 1024 * 1024


class _Refused(Exception):
    """Raised by our hooks inside huggingface_hub's clients; mapped in classify_exception."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


def _late(g: _Guard) -> _Refused:
    return _Refused(TransientError(f"{NAME}: no complete answer within the {g.seconds:g} s deadline (timed out)"))


def _before(request: Any) -> None:
    """No request starts after the call's deadline, and none waits past it."""
    g = _GUARD.get()
    if g is None:
        return
    left = g.deadline - time.monotonic()
    if left <= 0:
        raise _late(g)
    given = dict(request.extensions.get("timeout") or {})
    request.extensions["timeout"] = {k: left if given.get(k) is None else min(float(given[k]), left)
                                     for k in ("connect", "read", "write", "pool")}


def _check_head(response: Any) -> _Guard | None:
    """No redirect is followed (a 3xx is an error here, not a body to parse), and a declared
    body over the cap is not read."""
    if 300 <= response.status_code < 400:
        raise _Refused(_http.redirect_error(NAME, response.status_code))
    g = _GUARD.get()
    cap = g.cap if g is not None else _DEFAULT_CAP
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _Refused(BadImage(f"{NAME}: response of {int(declared)} bytes is over the {cap}-byte cap"))
    return g


def _count(g: _Guard | None, seen: int) -> None:
    """Stop reading past the cap or the deadline (a server dripping a byte a second)."""
    cap = g.cap if g is not None else _DEFAULT_CAP
    if seen > cap:
        raise _Refused(BadImage(f"{NAME}: response is over the {cap}-byte cap; stopped reading"))
    if g is not None and time.monotonic() > g.deadline:
        raise _late(g)


class _CappedStream(httpx2.SyncByteStream):
    def __init__(self, inner: Any, guard: _Guard | None) -> None:
        self._inner, self._guard = inner, guard

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._inner:
            seen += len(chunk)
            _count(self._guard, seen)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _CappedAsyncStream(httpx2.AsyncByteStream):
    def __init__(self, inner: Any, guard: _Guard | None) -> None:
        self._inner, self._guard = inner, guard

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            _count(self._guard, seen)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def _after(response: Any) -> None:
    response.stream = _CappedStream(response.stream, _check_head(response))


async def _before_async(request: Any) -> None:
    _before(request)


async def _after_async(response: Any) -> None:
    response.stream = _CappedAsyncStream(response.stream, _check_head(response))


def _client_factory() -> httpx2.AsyncClient:
    """huggingface_hub's own async client (its hooks kept) following no redirects, with ours."""
    from huggingface_hub.utils import _http as hf_http

    request_hooks = [h for h in (getattr(hf_http, "async_hf_request_event_hook", None),) if h]
    response_hooks = [h for h in (getattr(hf_http, "async_hf_response_event_hook", None),) if h]
    return httpx2.AsyncClient(event_hooks={"request": [_before_async, *request_hooks],
                                           "response": [_after_async, *response_hooks]},
                              follow_redirects=False, timeout=None)


def _sync_client_factory() -> httpx2.Client:
    """The same for the library's shared synchronous client (the partners that download or poll
    in a worker thread), with a per-read timeout even outside a call of ours."""
    from huggingface_hub.utils import _http as hf_http

    request_hooks = [h for h in (getattr(hf_http, "hf_request_event_hook", None),) if h]
    return httpx2.Client(event_hooks={"request": [_before, *request_hooks], "response": [_after]},
                         follow_redirects=False, timeout=httpx2.Timeout(SYNC_TIMEOUT, connect=_http.CONNECT_TIMEOUT))


_wired: tuple[str, str] | None = None
"""The (router, Hub) URLs the library is pointed at: set by `wire_library` only."""


def wire_library(base_url: str, hub_url: str) -> None:
    """The one place imagegen changes huggingface_hub's process-wide state. The library reads its
    router template and Hub endpoint from module constants and makes its clients with
    process-wide factories (it offers nothing per client), so all are set here: the URLs, and
    our factories (no redirects, the size cap, the deadline). Done once: a call with the URLs
    already set changes nothing (a run builds its provider once; doctor and the tests may build more)."""
    global _wired
    if _wired == (base_url, hub_url):
        return
    from huggingface_hub import constants, set_async_client_factory, set_client_factory

    constants.INFERENCE_PROXY_TEMPLATE = base_url.rstrip("/") + "/{provider}"
    constants.ENDPOINT = hub_url.rstrip("/")
    set_async_client_factory(_client_factory)
    set_client_factory(_sync_client_factory)
    _wired = (base_url, hub_url)


def _installed() -> dict[str, dict[str, Any]]:
    """huggingface_hub's table of mappings it uses without asking the Hub (private API:
    `inference._providers._common.HARDCODED_MODEL_INFERENCE_MAPPING`, partner -> model -> entry)."""
    from huggingface_hub.inference._providers import _common

    return _common.HARDCODED_MODEL_INFERENCE_MAPPING  # type: ignore[no-any-return]


def install_route(model: str, route: Route) -> None:
    """Hand the library the mapping entry we chose, so that it builds the call from it instead of
    fetching the mapping again itself (anonymously, synchronously, on the event loop)."""
    from huggingface_hub.hf_api import InferenceProviderMapping

    entry = InferenceProviderMapping(**{**route.fields, "provider": route.partner, "hf_model_id": model,
                                        "providerId": route.provider_id, "status": route.status,
                                        "task": route.task})
    _installed().setdefault(route.partner, {})[model] = entry


def forget_mappings() -> None:
    """Drop the entries we installed (the tests' fake Hub changes them between tests)."""
    for partner in PARTNERS:
        table = _installed().get(partner)
        if table:
            table.clear()


def library_partners() -> set[str]:
    """The partners huggingface_hub can call for text-to-image (private API:
    `inference._providers.PROVIDERS`); `PARTNERS` must match it."""
    from huggingface_hub.inference._providers import PROVIDERS

    return {name for name, tasks in PROVIDERS.items() if "text-to-image" in tasks}


def image_bytes(image: Any) -> bytes:
    """The bytes the partner sent, from the PIL image the library returns: it opens them lazily
    from memory (`_bytes_to_image`), so they are still there, undecoded. Only if that changes
    is the image re-encoded (losslessly) -- after a size check, never a decode of a bomb."""
    fp = getattr(image, "fp", None)
    if isinstance(fp, io.BytesIO):
        return fp.getvalue()
    from imagegen.images.check import MAX_PIXELS

    width, height = image.size
    if width * height > MAX_PIXELS:
        raise BadImage(f"{NAME} returned an image of {width}x{height}, too large")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --------------------------------------------------------------------------- the provider


def _keep(error: BaseException | None) -> bool:
    """A mapping lookup that ended this way is not made again this run: an answer, or an error
    that would come back the same (unknown model, bad token, the Hub not answering). A transient
    answer (a 5xx, a rate limit) is asked again by the next call."""
    return error is None or not isinstance(error, (TransientError, RateLimited))


class HuggingFaceProvider:
    name = NAME

    def __init__(self, *, token: str, model: str, base_url: str, ctx: ProviderContext, hub_url: str = "",
                 partner: str = "") -> None:
        self.model = model or DEFAULT_MODEL
        self._token = token
        self._base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._hub_url = (hub_url or DEFAULT_HUB_URL).rstrip("/")
        self.partner = partner.strip() or "auto"
        self._ctx = ctx
        self._clients: dict[str, Any] = {}
        self._mappings: dict[str, asyncio.Future[list[Route]]] = {}
        self._out: set[tuple[str, str]] = set()
        """(partner, model) pairs that answered 'not served' this run."""

    def client(self, partner: str) -> Any:
        """The library's client for one partner (made once)."""
        if partner not in self._clients:
            from huggingface_hub import AsyncInferenceClient

            wire_library(self._base_url, self._hub_url)
            self._clients[partner] = AsyncInferenceClient(provider=partner, token=self._token,  # type: ignore[arg-type]
                                                          timeout=self._ctx.timeout)
        return self._clients[partner]

    # ------------------------------------------------------------------ which partner

    async def mapping(self, model: str) -> list[Route]:
        """The Hub's mapping for `model` (every entry), fetched once per run with the user's token;
        callers asking at the same time share the one lookup."""
        fut = self._mappings.get(model)
        if fut is None or (fut.done() and (fut.cancelled() or not _keep(fut.exception()))):
            fut = asyncio.ensure_future(self._fetch(model))
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen, even if no caller is left
            self._mappings[model] = fut
        return await asyncio.shield(fut)

    async def _fetch(self, model: str) -> list[Route]:
        """One lookup at the Hub, with its own timeout (HUB_TIMEOUT, within the call's). A Hub that
        does not answer in time is not waited for again: Hugging Face is out for this run."""
        ctx = replace(self._ctx, timeout=min(self._ctx.timeout, HUB_TIMEOUT))
        try:
            resp = await _http.send(ctx, NAME, "GET", f"{self._hub_url}/api/models/{model}",
                                    headers=_http.bearer(self._token), params={"expand[]": "inferenceProviderMapping"})
        except TransientError as exc:
            raise ProviderUnavailable(f"{NAME}: the Hub's provider mapping for {model} could not be read ({exc}); "
                                      "out for this run") from None
        if resp.status == 200:
            return parse_mapping(resp.json())
        raise self.hub_error(resp, model)

    def hub_error(self, resp: _http.WireResponse, model: str) -> ProviderError:
        """The Hub's answer to a mapping lookup that is not 200, from its error code first."""
        code = resp.headers.get("x-error-code", "")
        if code == "GatedRepo":
            return AuthFailed(f"{NAME}: model {model} is gated: accept its licence on the Hub with this account",
                              status=resp.status)
        if code == "RepoNotFound" or (resp.status == 404 and isinstance(resp.json(), dict)):
            return ModelUnavailable(f"{NAME}: the Hub does not know model {model}", model=model, status=resp.status)
        now = self._ctx.clock.now()
        return _http.by_status(NAME, resp, now, message=_http.describe_status(NAME, resp, "the Hub's provider mapping"),
                               reset_at=next_month_utc(now))

    async def routes(self, model: str) -> list[Route]:
        """The partners to try for `model`, in the mapping's (the account's) order: live for
        text-to-image, callable by the library, the pinned one only if one is pinned."""
        return [r for r in await self.mapping(model) if r.usable and self.partner in ("auto", r.partner)]

    def out_until(self, route: Route, model: str) -> Any:
        """Whether `route` is out for `model`: True for this run, a datetime when the state file
        remembers it, None when it may be asked."""
        if (route.partner, model) in self._out:
            return True
        memory = self._ctx.memory
        return None if memory is None else memory.retired_until(route_key(route.partner), model,
                                                                self._ctx.clock.now())

    def _route_out(self, route: Route, model: str, error: ProviderError, replacement: str,
                   request: ImageRequest) -> None:
        self._out.add((route.partner, model))
        memory = self._ctx.memory
        until = None if memory is None else memory.mark_retired(route_key(route.partner), model, self._ctx.clock.now())
        reason = str(error).removeprefix(f"{NAME}: ")
        request.notify(RouteOut(f"partner {route.partner}", model, _http.excerpt(reason, 160), until, replacement))

    # ------------------------------------------------------------------ the call

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        model = request.model or self.model
        guard = _GUARD.set(_Guard(self._ctx.max_response_bytes, time.monotonic() + self._ctx.timeout,
                                  self._ctx.timeout))
        try:
            async with _http.deadline(self._ctx.timeout, NAME):
                return await self._through_partners(model, request)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every library failure becomes a shared class
            raise self.classify_exception(exc, model) from None
        finally:
            _GUARD.reset(guard)

    async def _through_partners(self, model: str, request: ImageRequest) -> GeneratedImage:
        """The first partner that serves `model`; one that answers 'not served' is out for it and
        the next is tried at once. ModelUnavailable only when none is left."""
        routes = await self.routes(model)
        left = [r for r in routes if self.out_until(r, model) is None]
        for i, route in enumerate(left):
            try:
                return await self._call(route, model, request)
            except ModelUnavailable as exc:
                self._route_out(route, model, exc, left[i + 1].partner if i + 1 < len(left) else "", request)
        if not routes:
            where = f"partner {self.partner}" if self.partner != "auto" else "partner huggingface_hub can call"
            raise ModelUnavailable(f"{NAME}: no {where} serves {model} (the Hub's provider mapping)", model=model)
        raise ModelUnavailable(f"{NAME}: no partner serves {model} now ({', '.join(r.partner for r in routes)} "
                               "answered that they do not)", model=model)

    async def _call(self, route: Route, model: str, request: ImageRequest) -> GeneratedImage:
        """One partner: hf-inference by URL (so the base-URL override reaches it), any other with
        the mapping entry we chose handed to the library."""
        try:
            if route.partner == "hf-inference":
                client, target = self.client(route.partner), f"{self._base_url}/hf-inference/models/{route.provider_id}"
            else:
                install_route(model, route)
                client, target = self.client(route.partner), model
            image = await client.text_to_image(request.prompt, model=target, width=_http.round_to(request.width),
                                               height=_http.round_to(request.height), num_inference_steps=STEPS,
                                               seed=request.seed)
            data = image_bytes(image)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every library failure becomes a shared class
            raise self.classify_exception(exc, model) from None
        return checked(data, provider=NAME, model=model)

    def classify_exception(self, exc: BaseException, model: str) -> ProviderError:
        """huggingface_hub exceptions -> our classes, from the status and body first."""
        from PIL import Image
        from huggingface_hub import errors as hf_errors

        seen: set[int] = set()
        cur: BaseException | None = exc
        while cur is not None and id(cur) not in seen:  # our hooks' refusal, wrapped or not
            seen.add(id(cur))
            if isinstance(cur, _Refused):
                return cur.error
            cur = cur.__cause__ or cur.__context__
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            try:
                body = bytes(response.content or b"")  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001 - a streamed body that was not read
                body = b""
            headers = getattr(response, "headers", {}) or {}
            return self.classify(_http.WireResponse(status, httpx.Headers(dict(headers)), body), model)
        if isinstance(exc, hf_errors.InferenceTimeoutError):
            return TransientError(f"{NAME}: request timed out after {self._ctx.timeout:g}s")
        if _http.transport_kind(exc) is not None:
            return _http.transport_error(NAME, exc, self._ctx.timeout)
        if isinstance(exc, Image.DecompressionBombError):
            # The one image check (images.check) refuses these too: a bad image, never a retry.
            return BadImage(f"{NAME} returned an image too large to decode ({type(exc).__name__})")
        if isinstance(exc, (ValueError, KeyError, IndexError, TypeError, OSError)):
            # A 200 whose body is not the partner's image answer (HTML, JSON without data, bad bytes).
            return BadImage(f"{NAME}: the answer is not an image ({type(exc).__name__})")
        return TransientError(f"{NAME}: unexpected {type(exc).__name__} from huggingface_hub")

    def classify(self, resp: _http.WireResponse, model: str | None = None, now: Any = None) -> ProviderError:
        now = now or self._ctx.clock.now()
        data = resp.json()
        msg = _http.describe_status(NAME, resp)
        status = resp.status
        if status == 402:
            return QuotaExhausted(msg, reset_at=next_month_utc(now), status=status)
        if is_model_unavailable(status, data, _http.error_message(data, resp.body)):
            return ModelUnavailable(msg, model=model or self.model, status=status)
        if status == 503:
            # Structured field first: a loading model says how long it needs.
            hint = data.get("estimated_time") if isinstance(data, dict) else None
            retry = _http.parse_duration(hint) if hint is not None else _http.header_retry_after(resp, now)
            if retry is not None:
                retry = min(retry, MAX_LOADING_WAIT)
            return TransientError(msg, retry_after=retry, status=status)
        return _http.by_status(NAME, resp, now, message=msg, reset_at=next_month_utc(now))

    async def aclose(self) -> None:
        for fut in self._mappings.values():
            if not fut.done():
                fut.cancel()
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                await client.close()
            except Exception:  # noqa: BLE001
                pass


# --------------------------------------------------------------------------- doctor


async def doctor(opts: Mapping[str, str], ctx: ProviderContext, models: tuple[str, ...]) -> list[Check]:
    """Token (the Hub's whoami), then each model's partners, from the same lookup the run makes
    (with the token, in the account's order, what the state file says): no image is made."""
    hub = (opts.get("hub_url") or DEFAULT_HUB_URL).rstrip("/")
    p = _create(opts, ctx)
    resp = await _http.send(ctx, NAME, "GET", f"{hub}/api/whoami-v2", headers=_http.bearer(opts.get("api_token", "")))
    if resp.status != 200:
        return [_http.key_check(SPEC, p.classify(resp), "token", "HUGGINGFACE_API_TOKEN")]
    try:
        return [Check("token", True)] + [await _model_check(p, model) for model in models]
    finally:
        await p.aclose()


async def _model_check(p: HuggingFaceProvider, model: str) -> Check:
    what = f"model {model}"
    try:
        routes = await p.routes(model)
    except ProviderError as exc:
        return Check(what, False, str(exc), SPEC.fix_for(exc, key_env=""), usable=False)
    if not routes:
        pinned = p.partner != "auto"
        where = f"by {p.partner}" if pinned else "by any partner huggingface_hub can call"
        return Check(what, False, f"not served {where} (Hub mapping)",
                     f"remove it from {SPEC.model_env}" + (" or set HUGGINGFACE_PROVIDER=auto" if pinned else ""),
                     usable=False)
    live: list[str] = []
    skipped: list[str] = []
    for r in routes:
        until = p.out_until(r, model)
        if until is None:
            live.append(r.partner)
        else:
            skipped.append(f"{r.partner} answered 'not served'"
                           + ("" if until is True else f", not asked until {until:%Y-%m-%d} (state file)"))
    if not live:
        return Check(what, False, "; ".join(skipped), "nothing to do: they are asked again then; or put another "
                     f"model first in {SPEC.model_env}", usable=False)
    order = "in this order (your account's)" if len(live) > 1 else ""
    return Check(what, True, f"served by {', '.join(live)} {order}".rstrip() + "".join(f"; {s}" for s in skipped))


def _create(opts: Mapping[str, str], ctx: ProviderContext) -> HuggingFaceProvider:
    return HuggingFaceProvider(
        token=opts.get("api_token", ""),
        model=SPEC.models(opts)[0],
        base_url=opts.get("base_url") or DEFAULT_BASE_URL,
        hub_url=opts.get("hub_url") or DEFAULT_HUB_URL,
        partner=opts.get("partner") or "auto",
        ctx=ctx,
    )


SPEC = ProviderSpec(
    name=NAME,
    options=(
        Option("api_token", "HUGGINGFACE_API_TOKEN", "Hugging Face access token (hf_..., with the 'Inference "
               "Providers' permission)", secret=True),
        Option("partner", "HUGGINGFACE_PROVIDER", "inference provider to route through: auto (the live partners of "
               "the Hub's mapping, in your account's order) or one partner: " + ", ".join(PARTNERS),
               default="auto", input="huggingface-provider"),
        Option("hub_url", "IMAGEGEN_HUGGINGFACE_HUB_URL", "Hugging Face Hub URL for the provider mapping (tests, "
               "proxies)", default=DEFAULT_HUB_URL, input="huggingface-hub-url"),
    ),
    default_model=",".join(DEFAULT_MODELS),
    default_base_url=DEFAULT_BASE_URL,
    model_env="HUGGINGFACE_IMAGE_MODEL",
    display_name="Hugging Face",
    enabled=lambda opts: bool(opts.get("api_token")),
    create=_create,
    doctor=doctor,
    needs="HUGGINGFACE_API_TOKEN",
    signup="https://huggingface.co/settings/tokens",
    free="$0.10 of credit a month, about 35-50 covers",
    # Partners answer in seconds; the monthly credits are small, so no stampede.
    limits=Limits(max_in_flight=2, min_interval=0.0, timeout=120.0),
    quota_reset=next_month_utc,
    check_opts=check_opts,
)
