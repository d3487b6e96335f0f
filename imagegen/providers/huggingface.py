"""Hugging Face Inference Providers through `huggingface_hub`'s `AsyncInferenceClient`.

hf-inference no longer serves FLUX (410 "deprecated and no longer supported by provider
hf-inference"). The router serves it through partner providers (together, nscale, fal-ai, ...):
which partner serves a model is the Hub's `inferenceProviderMapping`
(`GET {hub}/api/models/{model}?expand[]=inferenceProviderMapping`), and each partner has its own
payload. `huggingface_hub` resolves the mapping (`provider="auto"`) and builds each partner's
payload, tracking that drift for us, so this module only maps its answers and exceptions to our
classes: 402 monthly credits -> quota (next month); 401/403 -> auth; 410, a JSON 404, 400 "Model
not supported by provider X", a model the Hub does not know or no partner serves -> ModelUnavailable
(the next model in the list is tried); 503 loading -> transient with its `estimated_time`.

`huggingface-provider` pins a partner (e.g. `together`) instead of `auto`. The router and Hub
endpoints are `huggingface-base-url` and `huggingface-hub-url` (the tests point both at the
loopback fake). The token must be a Hugging Face token (`hf_...`): with any other key the library
would send it straight to the partner's own API, another host -- refused as a settings error.
The library decodes the image; it is re-encoded losslessly (PNG) for the pipeline to finish.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
from typing import Any, Callable, Mapping

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
    QuotaExhausted,
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

_NOT_SERVED = ("not supported by provider", "no longer supported", "deprecated", "model not supported")


def is_model_unavailable(status: int, data: object, message: str) -> bool:
    """410 (deprecated on this route), a JSON 404, and a 400 'Model not supported by provider X':
    this model is not served here -- a run-wide fact, never a per-post bad request. A bare-text
    404 is more likely a wrong base URL: that must not retire good models for a week."""
    if status == 410 or (status == 404 and isinstance(data, dict)):
        return True
    return status == 400 and any(k in message.lower() for k in _NOT_SERVED)


def check_token(token: str) -> str:
    """Why this token must not be used ('' when fine)."""
    if token and not token.startswith("hf_"):
        return ("HUGGINGFACE_API_TOKEN must be a Hugging Face access token (hf_...): with any other key "
                "huggingface_hub sends it to the partner provider's own API instead of the Hugging Face router")
    return ""


# --------------------------------------------------------------------------- the library seam
#
# Everything imagegen changes in huggingface_hub, or borrows from its private API, is in this
# section; nothing else in the program touches the library's globals.
# tests/test_providers_huggingface.py::test_the_library_seam_is_where_we_expect_it fails loudly
# when an upgrade moves one of these.

_CAP: contextvars.ContextVar[int] = contextvars.ContextVar("imagegen_hf_cap", default=25 * 1024 * 1024)
"""The calling provider's response cap, seen by the library client's response hook."""


class _Refused(Exception):
    """Raised by our response hook inside huggingface_hub's client; mapped in classify_exception."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(str(error))
        self.error = error


async def _response_hook(response: Any) -> None:
    """No redirect is followed (the client is made with follow_redirects=False, and a 3xx is an
    error here, not a body to parse), and a declared body over the cap is not read."""
    if 300 <= response.status_code < 400:
        raise _Refused(_http.redirect_error(NAME, response.status_code))
    declared = response.headers.get("content-length", "")
    cap = _CAP.get()
    if declared.isdigit() and int(declared) > cap:
        raise _Refused(BadImage(f"{NAME}: response of {int(declared)} bytes is over the {cap}-byte cap"))


def _client_factory() -> Any:
    """huggingface_hub's own async client (its request/response hooks kept), but following no
    redirects -- the library's default follows them -- and with our response checks."""
    import httpx2
    from huggingface_hub.utils import _http as hf_http

    request_hooks = [h for h in (getattr(hf_http, "async_hf_request_event_hook", None),) if h]
    response_hooks = [h for h in (getattr(hf_http, "async_hf_response_event_hook", None),) if h]
    return httpx2.AsyncClient(event_hooks={"request": request_hooks, "response": [_response_hook, *response_hooks]},
                              follow_redirects=False, timeout=None)


_wired: tuple[str, str] | None = None
"""The (router, Hub) URLs the library is pointed at: set by `wire_library` only."""


def wire_library(base_url: str, hub_url: str) -> None:
    """The one place imagegen changes huggingface_hub's process-wide state. The library reads its
    router template and Hub endpoint from module constants and makes its async clients with a
    process-wide factory (it offers nothing per client), so all three are set here: the URLs, and
    our factory (no redirects, the response cap). Done once: a call with the URLs already set
    changes nothing (a run builds its provider once; doctor and the tests may build more)."""
    global _wired
    if _wired == (base_url, hub_url):
        return
    from huggingface_hub import constants, set_async_client_factory

    constants.INFERENCE_PROXY_TEMPLATE = base_url.rstrip("/") + "/{provider}"
    constants.ENDPOINT = hub_url.rstrip("/")
    set_async_client_factory(_client_factory)
    _wired = (base_url, hub_url)


def mapping_fetch() -> Callable[[str], Any]:
    """huggingface_hub's own (cached) fetch of the Hub's provider mapping for a model: private API
    (`inference._providers._common._fetch_inference_provider_mapping`), used because the
    partner's model id comes from it, with `auto` and with a pinned partner alike."""
    from huggingface_hub.inference._providers import _common

    return _common._fetch_inference_provider_mapping  # type: ignore[no-any-return]


def forget_mappings() -> None:
    """Drop the library's cached mappings (the tests' fake Hub changes them between tests)."""
    mapping_fetch().cache_clear()  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- the provider


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
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            from huggingface_hub import AsyncInferenceClient

            wire_library(self._base_url, self._hub_url)
            self._client = AsyncInferenceClient(provider=self.partner, token=self._token, timeout=self._ctx.timeout)
        return self._client

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        model = request.model or self.model
        _CAP.set(self._ctx.max_response_bytes)
        try:
            async with _http.deadline(self._ctx.timeout, NAME):
                client = self.client()
                # The library fetches the Hub mapping synchronously inside the call: do it in a
                # thread first (cached per model) so the event loop never blocks on it.
                try:
                    await asyncio.to_thread(mapping_fetch(), model)
                except Exception as exc:  # noqa: BLE001
                    raise self.classify_exception(exc, model, mapping=True) from None
                image = await client.text_to_image(request.prompt, model=model, width=_http.round_to(request.width),
                                                   height=_http.round_to(request.height),
                                                   num_inference_steps=STEPS, seed=request.seed)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every library failure becomes a shared class
            raise self.classify_exception(exc, model) from None
        out = io.BytesIO()
        try:
            image.save(out, format="PNG")
        except Exception:  # noqa: BLE001
            raise BadImage(f"{NAME}: the image could not be read") from None
        return checked(out.getvalue(), provider=NAME, model=model)

    def classify_exception(self, exc: BaseException, model: str, *, mapping: bool = False) -> ProviderError:
        """huggingface_hub exceptions -> our classes, from the status and body first. `mapping`:
        the exception came from the Hub mapping lookup (no image was asked for yet)."""
        from huggingface_hub import errors as hf_errors

        now = self._ctx.clock.now()
        seen: set[int] = set()
        cur: BaseException | None = exc
        while cur is not None and id(cur) not in seen:  # our hook's refusal, wrapped or not
            seen.add(id(cur))
            if isinstance(cur, _Refused):
                return cur.error
            cur = cur.__cause__ or cur.__context__
        if isinstance(exc, (hf_errors.RepositoryNotFoundError, hf_errors.GatedRepoError)):
            if isinstance(exc, hf_errors.GatedRepoError):
                return AuthFailed(f"{NAME}: model {model} is gated: accept its licence on the Hub with this account")
            return ModelUnavailable(f"{NAME}: the Hub does not know model {model}", model=model, status=404)
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            try:
                body = bytes(response.content or b"")  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001 - a streamed body that was not read
                body = b""
            headers = getattr(response, "headers", {}) or {}
            import httpx

            return self.classify(_http.WireResponse(status, httpx.Headers(dict(headers)), body), model, now)
        if isinstance(exc, hf_errors.InferenceTimeoutError):
            return TransientError(f"{NAME}: request timed out after {self._ctx.timeout:g}s")
        if _http.transport_kind(exc) is not None:
            return _http.transport_error(NAME, exc, self._ctx.timeout)
        text = str(exc)
        if isinstance(exc, ValueError) and (mapping or "support" in text.lower() or "mapping" in text.lower()):
            # No partner serves this model (for this task): this model is out here.
            return ModelUnavailable(f"{NAME}: no inference provider serves {model} ({_http.excerpt(text, 160)})",
                                    model=model)
        if mapping:
            return TransientError(f"{NAME}: the Hub's provider mapping could not be read ({type(exc).__name__})")
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
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.close()
            except Exception:  # noqa: BLE001
                pass


async def doctor(opts: Mapping[str, str], ctx: ProviderContext, models: tuple[str, ...]) -> list[Check]:
    """Token (the Hub's whoami), then each model's partner mapping (no image is made)."""
    hub = (opts.get("hub_url") or DEFAULT_HUB_URL).rstrip("/")
    token = opts.get("api_token", "")
    partner = (opts.get("partner") or "auto").strip()
    p = _create(opts, ctx)
    resp = await _http.send(ctx, NAME, "GET", f"{hub}/api/whoami-v2", headers=_http.bearer(token))
    if resp.status != 200:
        return [_http.key_check(SPEC, p.classify(resp), "token", "HUGGINGFACE_API_TOKEN")]
    out = [Check("token", True)]
    for model in models:
        r = await _http.send(ctx, NAME, "GET", f"{hub}/api/models/{model}",
                             params={"expand[]": "inferenceProviderMapping"})
        data = r.json() if r.status == 200 else None
        mapping = data.get("inferenceProviderMapping") if isinstance(data, dict) else None
        if isinstance(mapping, list):
            mapping = {str(m.get("provider")): m for m in mapping if isinstance(m, dict)}
        live = sorted(k for k, v in (mapping or {}).items()
                      if isinstance(v, dict) and v.get("status") == "live" and v.get("task") == "text-to-image")
        if partner != "auto":
            live = [k for k in live if k == partner]
        if live:
            out.append(Check(f"model {model}", True, f"served by {', '.join(live)}"))
        elif r.status not in (200, 404):
            err = p.classify(r, model)
            out.append(Check(f"model {model}", False, str(err), SPEC.fix_for(err, key_env=""), usable=False))
        else:
            where = f"by {partner}" if partner != "auto" else "by any inference provider"
            out.append(Check(f"model {model}", False, f"not served {where} (Hub mapping)",
                             f"remove it from {SPEC.model_env}" + (" or set HUGGINGFACE_PROVIDER=auto"
                                                                   if partner != "auto" else ""), usable=False))
    return out

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
        Option("partner", "HUGGINGFACE_PROVIDER", "inference provider to route through: auto (the Hub's mapping, "
               "in your account's order) or a partner name such as together, nscale, fal-ai",
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
    # Partners answer in seconds; the monthly credits are small, so no stampede.
    limits=Limits(max_in_flight=2, min_interval=0.0, timeout=120.0),
    quota_reset=next_month_utc,
    check_opts=lambda opts: check_token(opts.get("api_token", "")),
)
