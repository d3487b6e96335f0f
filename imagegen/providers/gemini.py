"""Gemini through the google-genai SDK (`client.aio`): the image provider, and the text models the
describer uses (`GeminiText`, reached through the registry's `text_backend`). Every client comes
from `genai_client`: the image provider's, the describer's and doctor's, all on `API_VERSION`
(v1beta, chosen on purpose: see there).

`generate_content` with `response_modalities=["IMAGE"]`; the image is the first non-thought part
with `inline_data`. A safety refusal is not an exception but a 200 with a refusal finish reason,
a `prompt_feedback.block_reason`, or only text parts: all ContentRefused. The Imagen path is gone:
every Imagen model is shut down and google-genai refuses `generate_images` with an API key, so an
`imagen-*` id is a settings error (`check_model`).

The SDK sends its requests through the pipeline's shared `httpx.AsyncClient` (never closed here;
it follows no redirects, so the `x-goog-api-key` header -- which httpx would not strip -- never
reaches another host), with `HttpOptions(timeout=<milliseconds>)`, an overall deadline around
the call, SDK retries off (the chain owns retries) and `base_url` from `IMAGEGEN_GEMINI_BASE_URL`.
Errors are `google.genai.errors.APIError`, classified from `.code`, `.status` and the structured
`details` (QuotaFailure `quotaId` PerDay/PerMinute, RetryInfo `retryDelay`, ErrorInfo `reason`),
the message text only as a last resort (`limit: 0`: this key has no quota for the model at all,
so it is out for the day, not a 17 s retry). A 400 "Unknown name ... Cannot find field" is about
the API version, not the post: unavailable for the run. The same classification serves images,
described prompts and doctor's checks (`models.get`, and `countTokens` with the run's own request
fields inside: no generation).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import quote

from imagegen import redact
from imagegen.providers import _http
from imagegen.providers.base import (
    next_pacific_midnight,
    Check,
    AuthFailed,
    BadImage,
    BadRequest,
    ContentRefused,
    GeneratedImage,
    ImageRequest,
    Limits,
    Option,
    ProviderContext,
    ProviderError,
    ModelUnavailable,
    ProviderSpec,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TransientError,
    checked,
)

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.clock import Clock

NAME = "gemini"
DEFAULT_MODELS = ("gemini-3.1-flash-image", "gemini-3.1-flash-lite-image")
"""Gemini 3.1 Flash Image ("Nano Banana 2"), GA since 2026-05-28 (the -preview id was shut down
2026-06-25; gemini-2.5-flash-image on 2026-10-02); then Gemini 3.1 Flash-Lite Image ("Nano Banana 2
Lite", stable since 2026-06-30, 1K only, 16:9 among its ratios, about half the price) when the
first is retired or not served for this key."""
DEFAULT_MODEL = DEFAULT_MODELS[0]
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"

API_VERSION = "v1beta"
"""The Gemini API version of every call imagegen makes: images, the describer, `imagegen doctor`
(set once, in `genai_client`). Chosen on purpose, not left to the SDK:

- google-genai switched its Developer-API default from `v1beta` (<= 2.34) to `v1` in 3.0
  (`_api_client.GOOGLE_AI_API_DEFAULT_VERSION`, still `v1` in 3.6.1; the environment variable
  GOOGLE_GENAI_API_VERSION moves it per machine). Left alone, the run followed whatever the
  installed SDK and the environment said, while doctor's checks were written for `v1beta`.
- Google's own reference documents `generateContent` and every field imagegen sends at
  `v1beta` (ai.google.dev/api/generate-content: `POST .../v1beta/{model=models/*}:generateContent`;
  `responseModalities`, `imageConfig`, `systemInstruction`, `responseMimeType`, `responseSchema`),
  and its API-versions page (2026) calls `v1beta` the version new capabilities arrive in first.
  Public reports show `/v1` rejecting `responseModalities` and `systemInstruction` with 400
  "Unknown name ... Cannot find field" (googleapis/js-genai#1322, python-genai#425), and model
  availability differs per version (google/adk-js#286).
- The cost: `v1beta` may change faster than `v1`. That is why an "Unknown name" answer is a clear
  run-wide failure here (`classify_api_error`), and why tests/test_sdk_defaults.py fails when an
  SDK upgrade moves its own default, so the choice is looked at again."""

REFUSAL_FINISH = frozenset({
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT", "IMAGE_OTHER", "NO_IMAGE", "IMAGE_RECITATION", "MODEL_ARMOR",
})
"""Finish reasons that mean 'this prompt will not get an image here'."""

ASPECT_RATIOS_GEMINI = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")

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


def check_model(model: str) -> str:
    """Why `model` can never work here ('' when it may)."""
    if is_imagen(model):
        return (f"{model!r} is an Imagen model: every Imagen model is shut down and the Gemini API no longer "
                f"serves them with an API key; use a Gemini image model such as {DEFAULT_MODEL!r}")
    return ""


_LIMIT_ZERO = re.compile(r"\blimit:\s*0\b")
_UNKNOWN_FIELD = re.compile(r'Unknown name "([^"]+)"')
_TYPE_BAD_REQUEST = "google.rpc.BadRequest"


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


def unknown_field(message: str, entries: Any) -> str:
    """The field an API version does not know, from a 400 'Invalid JSON payload received. Unknown
    name "responseModalities" at 'generation_config': Cannot find field.' ('' when it is not that
    answer). The structured BadRequest field violations first, the message as the last resort."""
    texts = [str(v.get("description", "")) for e in _typed(entries, _TYPE_BAD_REQUEST)
             for v in (e.get("fieldViolations") or []) if isinstance(v, dict)]
    for text in [*texts, message]:
        m = _UNKNOWN_FIELD.search(text)
        if m and "Cannot find field" in text:
            return m.group(1)
    return ""


def classify_api_error(exc: Any, provider: str, now: datetime, model: str = "") -> ProviderError:
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
        if _LIMIT_ZERO.search(message):
            # 'limit: 0': this key has no quota for this model at all -- out for the day.
            return QuotaExhausted(msg + " (no quota for this model on this key)",
                                  reset_at=next_pacific_midnight(now), status=http_code)
        if any("perday" in q.lower() for q in quota_ids):
            return QuotaExhausted(msg, reset_at=next_pacific_midnight(now), status=http_code)
        if not quota_ids and re.search(r"\bper[ _-]?day\b", message, re.I):  # last resort: text
            return QuotaExhausted(msg, reset_at=next_pacific_midnight(now), status=http_code)
        if retry is None:
            retry = _http.retry_in_text(message)
        return RateLimited(msg, retry_after=retry, status=http_code)
    if code in (404, 410) or status == "NOT_FOUND":
        return ModelUnavailable(msg, model=model, status=http_code)
    if 300 <= code < 400:
        return _http.redirect_error(provider, code)
    if status == "FAILED_PRECONDITION":
        # e.g. 'User location is not supported' or billing required: nothing a retry can fix.
        return ProviderUnavailable(msg, status=http_code)
    if code in (408, 499) or code >= 500 or status in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL"):
        return TransientError(msg, retry_after=retry, status=http_code)
    field = unknown_field(message, entries) if code == 400 or status == "INVALID_ARGUMENT" else ""
    if field:
        # The request's shape, not this post: every call of the run would get the same answer.
        return ProviderUnavailable(f"{msg} (the Gemini API {API_VERSION} does not accept the field {field!r} that "
                                   "imagegen sends: out for this run; update imagegen)", status=http_code)
    if 400 <= code < 500:
        return BadRequest(msg, status=http_code)
    return TransientError(msg, status=http_code)


def classify_exception(exc: BaseException, provider: str, now: datetime, timeout: float | None = None,
                       model: str = "") -> ProviderError:
    """Any exception out of the SDK call -> a shared class (APIError, transport errors, parse errors)."""
    from google.genai import errors as genai_errors

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        return classify_api_error(exc, provider, now, model)
    if _http.transport_kind(exc, builtins=True) is not None:
        return _http.transport_error(provider, exc, timeout)
    if isinstance(exc, ValueError):  # JSON / pydantic validation of a garbage 200
        return BadImage(f"{provider}: the response could not be read ({type(exc).__name__})")
    return TransientError(f"{provider}: unexpected {type(exc).__name__} from the SDK")


# --------------------------------------------------------------------------- the provider


def _enum_name(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", None) or getattr(value, "name", None) or value).upper()


# --------------------------------------------------------------------------- the SDK client


def genai_client(*, api_key: str, base_url: str, timeout: float, http: Any) -> Any:
    """The one way imagegen makes a google-genai client (the image provider's, the describer's and
    doctor's): on our httpx client, which follows no redirects (so `x-goog-api-key`, which httpx
    would not strip, never reaches another host), on `API_VERSION` whatever the SDK's default or
    the environment says, with the call's timeout in milliseconds and `base_url` from the settings
    ('' or None: the SDK's default host)."""
    from google import genai
    from google.genai import types

    return genai.Client(
        api_key=api_key,
        http_options=types.HttpOptions(base_url=base_url or None, api_version=API_VERSION,
                                       timeout=int(timeout * 1000), httpx_async_client=http),
    )


async def close_client(client: Any) -> None:
    """Close what the SDK opened itself; the httpx client it was given is left alone."""
    if client is None:
        return
    try:
        await client.aio.aclose()
    except Exception:  # noqa: BLE001 - closing must not mask the run's own outcome
        pass
    try:
        client.close()  # the SDK's own sync client
    except Exception:  # noqa: BLE001
        pass


# --------------------------------------------------------------------------- the image provider


class GeminiProvider:
    name = NAME

    def __init__(self, *, api_key: str, model: str, base_url: str, ctx: ProviderContext) -> None:
        self.model = model or DEFAULT_MODEL
        self.api_key = api_key
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._ctx = ctx
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            self._client = genai_client(api_key=self.api_key, base_url=self.base_url, timeout=self._ctx.timeout,
                                        http=self._ctx.http)
        return self._client

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        model = request.model or self.model
        now = self._ctx.clock.now
        try:
            async with _http.deadline(self._ctx.timeout, NAME):
                data = await self._gemini(request, model)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a shared class
            raise classify_exception(exc, NAME, now(), self._ctx.timeout, model) from None
        if len(data) > self._ctx.max_response_bytes:
            raise BadImage(f"{NAME}: image of {len(data)} bytes is over the {self._ctx.max_response_bytes}-byte cap")
        return checked(data, provider=NAME, model=model)

    async def _gemini(self, request: ImageRequest, model: str) -> bytes:
        resp = await self.client().aio.models.generate_content(model=model, contents=request.prompt,
                                                               config=image_config(request.width, request.height))
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

    async def aclose(self) -> None:
        client, self._client = self._client, None
        await close_client(client)


# --------------------------------------------------------------------------- request shapes


def image_config(width: int, height: int) -> Any:
    """The image call's configuration (one place: the run sends it, doctor checks its fields)."""
    from google.genai import types

    return types.GenerateContentConfig(
        response_modalities=["IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=nearest_aspect(width, height, ASPECT_RATIOS_GEMINI)),
    )


def text_config(system: str, schema: Mapping[str, Any] | None) -> Any:
    """A describer call's configuration: its instruction, and structured output when `schema`."""
    from google.genai import types

    extra = {"response_mime_type": "application/json", "response_schema": schema} if schema is not None else {}
    return types.GenerateContentConfig(system_instruction=system, **extra)


def request_fields(config: Any) -> dict[str, Any]:
    """What a `generateContent` call made with `config` puts on the wire besides the prompt
    (`generationConfig`, `systemInstruction`, named as the SDK sends them): the part of the request
    an API version may not know."""
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    out: dict[str, Any] = {}
    system = data.pop("systemInstruction", None)
    if system is not None:
        out["systemInstruction"] = {"role": "user", "parts": [{"text": str(system)}]}
    if data:
        out["generationConfig"] = data
    return out


class _WireError:
    """A JSON error answer read like the SDK's APIError (`code`, `status`, `message`, `details`),
    so that one classification serves both."""

    def __init__(self, resp: _http.WireResponse) -> None:
        data = resp.json()
        err = data.get("error") if isinstance(data, dict) else None
        err = err if isinstance(err, dict) else {}
        self.code = resp.status
        self.status = str(err.get("status") or "")
        self.message = str(err.get("message") or _http.error_message(data, resp.body))
        self.details = data


async def check_fields(ctx: ProviderContext, *, api_key: str, base_url: str, model: str,
                       fields: Mapping[str, Any]) -> Check:
    """Doctor's line for the request's shape: does `API_VERSION` accept the fields a real call
    sends? Asked through `countTokens` with the whole request inside (`generateContentRequest`):
    the API parses it as a generateContent request, so an unknown field gets the same 400, but
    nothing is generated and no quota is spent."""
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    name = model.removeprefix("models/")
    body = {"generateContentRequest": {"model": f"models/{name}", "contents": [{"role": "user", "parts": [
        {"text": "."}]}], **fields}}
    what = f"request fields (API {API_VERSION})"
    resp = await _http.send(ctx, NAME, "POST", f"{base}/{API_VERSION}/models/{quote(name, safe='')}:countTokens",
                            headers={"x-goog-api-key": api_key}, json_body=body)
    if resp.status == 200:
        return Check(what, True)
    err = classify_api_error(_WireError(resp), NAME, ctx.clock.now(), model)
    if err.kind == "unavailable":
        return Check(what, False, str(err), "update imagegen (this API version no longer takes its requests)",
                     usable=False)
    return Check(what, True, f"not checked ({err.kind}: {err})")


async def check_models(client: Any, ctx: ProviderContext, models: tuple[str, ...], *, what: str,
                       model_env: str, fields: Mapping[str, Any] | None = None, api_key: str = "",
                       base_url: str = "") -> list[Check]:
    """Key, then each model, through the SDK's `models.get` (`GET {base}/{API_VERSION}/models/{m}`:
    no generation), on a client from `genai_client`; then, with `fields`, whether the API version
    takes the request the run sends (`check_fields`, on the first served model). Shared by the
    image provider's and the describer's doctor lines."""
    out = await _model_checks(client, ctx, models, what=what, model_env=model_env)
    served = [c.what.removeprefix("model ") for c in out if c.what.startswith("model ") and c.ok]
    if fields is not None and served and out[0].ok:
        out.append(await check_fields(ctx, api_key=api_key, base_url=base_url, model=served[0], fields=fields))
    return out


async def _model_checks(client: Any, ctx: ProviderContext, models: tuple[str, ...], *, what: str,
                        model_env: str) -> list[Check]:
    """The key line and one line per model (`models.get`)."""
    from google.genai import errors as genai_errors

    out: list[Check] = []
    for i, model in enumerate(models):
        try:
            async with _http.deadline(ctx.timeout, NAME):
                await client.aio.models.get(model=model)
        except genai_errors.APIError as exc:  # an answer: this key's or this model's problem
            err = classify_api_error(exc, NAME, ctx.clock.now(), model)
            if isinstance(exc.code, int) and 300 <= exc.code < 400:
                raise err from None  # a redirect is no answer: doctor's "reachable" line, as for the network
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - no answer at all: doctor's "reachable" line
            raise classify_exception(exc, NAME, ctx.clock.now(), ctx.timeout, model) from None
        else:
            out.extend([Check(what, True)] if i == 0 else [])
            out.append(Check(f"model {model}", True))
            continue
        if err.kind in ("auth", "unavailable"):
            if i == 0 or err.kind == "auth":
                return [*out, _http.key_check(SPEC, err, what, KEY_ENV)]
            return [*out, Check(f"model {model}", False, str(err), SPEC.fix_for(err, key_env="", model_env=model_env),
                                usable=False)]
        out.extend([Check(what, True)] if i == 0 else [])
        out.append(Check(f"model {model}", False, str(err), SPEC.fix_for(err, key_env=KEY_ENV, model_env=model_env),
                         usable=False))
    return out


# --------------------------------------------------------------------------- the text models


KEY_ENV = "GEMINI_API_KEY"


class GeminiText:
    """Gemini's text models, the describer's backend (reached through the registry's
    `text_backend`): one call (`ask`), the cheap checks `imagegen doctor` runs (`check`: the
    SDK's model get), the fix for an error. Its google-genai client comes from `genai_client` like
    the image provider's; it runs on `http` when given (doctor's), else on an httpx client of its
    own, closed by `aclose`."""

    def __init__(self, *, api_key: str, base_url: str = "", timeout: float, clock: "Clock", http: Any = None) -> None:
        self._api_key = api_key
        self._base_url = base_url.rstrip("/") if base_url else ""
        self.timeout = timeout
        self.clock = clock
        self._http = http
        self._own_http: Any = None
        self._client: Any = None

    def _genai(self) -> Any:
        if self._client is None:
            if self._http is None:
                self._own_http = self._http = _http.new_client()
            self._client = genai_client(api_key=self._api_key, base_url=self._base_url, timeout=self.timeout,
                                        http=self._http)
        return self._client

    async def ask(self, model: str, contents: str, *, system: str, schema: Mapping[str, Any] | None = None,
                  label: str = NAME) -> str:
        """`model`'s text answer to `contents` (JSON when `schema` is given), within the overall
        deadline; raises a shared ProviderError class. `label` starts every error message."""
        try:
            async with _http.deadline(self.timeout, label):
                resp = await self._genai().aio.models.generate_content(model=model, contents=contents,
                                                                       config=text_config(system, schema))
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a shared class
            raise classify_exception(exc, label, self.clock.now(), self.timeout, model) from None
        return self.text_of(resp, label)

    @staticmethod
    def text_of(resp: Any, label: str) -> str:
        """The answer's text (its non-thought parts); a blocked prompt is ContentRefused."""
        feedback = getattr(resp, "prompt_feedback", None)
        block = getattr(feedback, "block_reason", None) if feedback else None
        if block:
            raise ContentRefused(f"{label}: post blocked ({getattr(block, 'value', block)})")
        texts = []
        for cand in (getattr(resp, "candidates", None) or [])[:1]:
            content = getattr(cand, "content", None)
            for part in (getattr(content, "parts", None) or []) if content else []:
                if getattr(part, "text", None) and not getattr(part, "thought", None):
                    texts.append(part.text)
        return "".join(texts)

    async def check(self, models: tuple[str, ...], *, what: str, model_env: str, system: str = "",
                    schema: Mapping[str, Any] | None = None) -> list[Check]:
        """Doctor's lines: the key, then each model (no generation), on this backend's client; then
        whether the API version takes a call with `system` and `schema` (what `ask` sends)."""
        client = self._genai()
        ctx = ProviderContext(http=self._http, clock=self.clock, timeout=self.timeout)
        return await check_models(client, ctx, models, what=what, model_env=model_env,
                                  fields=request_fields(text_config(system, schema)), api_key=self._api_key,
                                  base_url=self._base_url)

    def fix_for(self, error: ProviderError, *, model_env: str) -> str:
        return SPEC.fix_for(error, key_env=KEY_ENV, model_env=model_env)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        await close_client(client)
        own, self._own_http = self._own_http, None
        if own is not None:
            self._http = None
            await own.aclose()


def text_backend(api_key: str, *, base_url: str = "", timeout: float, clock: "Clock", http: Any = None) -> GeminiText:
    redact.register(api_key)  # as ProviderSpec.create does: a backend built directly keeps its key out of text
    return GeminiText(api_key=api_key, base_url=base_url, timeout=timeout, clock=clock, http=http)


# --------------------------------------------------------------------------- doctor and the spec


async def doctor(opts: Mapping[str, str], ctx: ProviderContext, models: tuple[str, ...]) -> list[Check]:
    provider = _create(opts, ctx)
    try:
        return await check_models(provider.client(), ctx, models, what="API key", model_env=SPEC.model_env,
                                  fields=request_fields(image_config(1200, 630)), api_key=provider.api_key,
                                  base_url=provider.base_url)
    finally:
        await provider.aclose()

def _create(opts: Mapping[str, str], ctx: ProviderContext) -> GeminiProvider:
    return GeminiProvider(
        api_key=opts.get("api_key", ""),
        model=SPEC.models(opts)[0],
        base_url=opts.get("base_url") or DEFAULT_BASE_URL,
        ctx=ctx,
    )


SPEC = ProviderSpec(
    name=NAME,
    options=(Option("api_key", "GEMINI_API_KEY", "Gemini API key (also enables the prompt describer)", secret=True),),
    default_model=",".join(DEFAULT_MODELS),
    default_base_url=DEFAULT_BASE_URL,
    model_env="IMAGE_GEMINI_MODEL",
    enabled=lambda opts: bool(opts.get("api_key")),
    create=_create,
    doctor=doctor,
    needs="GEMINI_API_KEY",
    signup="https://aistudio.google.com/apikey",
    free="no images on a free key; it still writes the prompts",
    limits=Limits(max_in_flight=2, min_interval=0.0, timeout=120.0),
    quota_reset=next_pacific_midnight,
    check_model=check_model,
)
