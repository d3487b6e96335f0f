"""What the provider adapters share: one capped HTTP call, error mapping helpers, reset rules.

Private to `imagegen.providers`. Each adapter builds its own URL and body, calls `send`, and turns
a non-success answer into one of the shared error classes with its own structured rules first and
`by_status` last. Nothing here ever puts a URL, a request header or an unredacted body into an
exception message: messages quote at most a short, redacted excerpt of what the server said.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import functools
import json
import logging
import re
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

import httpx

from imagegen.providers.base import (
    BadImage,
    Check,
    BadRequest,
    AuthFailed,
    ProviderContext,
    ProviderError,
    ProviderSpec,
    ProviderUnavailable,
    QuotaExhausted,
    RateLimited,
    TimedOut,
    TransientError,
)
from imagegen.redact import redact

MAX_EXCERPT = 200
"""Characters of a server's error text quoted in an exception message (after redaction)."""

CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection; the provider's own timeout covers everything else."""


# --------------------------------------------------------------------------- the call


@dataclass(frozen=True)
class WireResponse:
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        return json_or_none(self.body)


async def send(
    ctx: ProviderContext,
    provider: str,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> WireResponse:
    """One request on the shared client, body read up to `ctx.max_response_bytes`.

    The body is JSON (`json_body`) or a multipart/form-data form of text fields (`form`: some
    models take nothing else, e.g. Cloudflare's FLUX.2, even for a prompt alone), never both.

    `ctx.timeout` is an overall deadline for the whole call (httpx's timeouts are per read: a
    server dripping a byte a second would never trip them). Redirects are never followed: a
    provider's credentials (Authorization, x-goog-api-key, a key in the URL) must not reach
    another origin, and httpx strips only Authorization; a 3xx is ProviderUnavailable.

    Transport failures become TransientError (timeouts, resets, refused connections) or
    ProviderUnavailable (the host does not resolve, the URL is unusable). A body larger than the
    cap is BadImage: we stop reading instead of holding a runaway response in memory.
    """
    if json_body is not None and form is not None:
        raise ValueError("send: a JSON body or a form, not both")
    timeout = httpx.Timeout(ctx.timeout, connect=min(CONNECT_TIMEOUT, ctx.timeout))
    # httpx writes a multipart body only when given `files`; a (None, text) entry is a plain
    # form field (no filename), which is what a form of text fields is.
    files = {name: (None, str(value)) for name, value in form.items()} if form is not None else None
    try:
        async with deadline(ctx.timeout, provider):
            async with ctx.http.stream(method, url, headers=headers, json=json_body, files=files, params=params,
                                       timeout=timeout, follow_redirects=False) as resp:
                if 300 <= resp.status_code < 400:
                    raise redirect_error(provider, resp.status_code)
                body = await read_capped(resp, ctx.max_response_bytes, provider)
                return WireResponse(resp.status_code, resp.headers, body)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise transport_error(provider, exc, ctx.timeout) from None


def redirect_error(provider: str, status: int) -> ProviderUnavailable:
    return ProviderUnavailable(f"{provider}: the API answered a redirect (HTTP {status}); redirects are not "
                               "followed so that credentials never reach another host (check the base URL)",
                               status=status)


class deadline:  # noqa: N801 - used like asyncio.timeout
    """`async with deadline(seconds, provider):` -- the whole block must finish in `seconds`,
    else TransientError ('timed out after N s'). One place for the overall deadline of provider
    and describer calls (HTTP here, the google-genai SDK in gemini.py and prompts.py)."""

    def __init__(self, seconds: float, provider: str) -> None:
        self.seconds = seconds
        self.provider = provider
        self._cm: Any = None

    async def __aenter__(self) -> "deadline":
        self._cm = asyncio.timeout(self.seconds)
        await self._cm.__aenter__()
        return self

    async def __aexit__(self, et: Any, exc: Any, tb: Any) -> bool:
        try:
            await self._cm.__aexit__(et, exc, tb)
        except TimeoutError:
            raise TimedOut(f"{self.provider}: no complete answer within the {self.seconds:g} s deadline "
                           "(timed out)") from None
        return False


def new_client(**kw: Any) -> httpx.AsyncClient:
    """The run's shared HTTP client: no redirects followed (see `send`; the google-genai SDK uses
    the client's default, so this is what keeps `x-goog-api-key` home on the SDK path)."""
    return httpx.AsyncClient(**kw, follow_redirects=False)


async def read_capped(resp: httpx.Response, limit: int, provider: str) -> bytes:
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadImage(f"{provider}: response of {int(declared)} bytes is over the {limit}-byte cap")
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise BadImage(f"{provider}: response is over the {limit}-byte cap; stopped reading")
        chunks.append(chunk)
    return b"".join(chunks)


def _dns_failure(exc: BaseException) -> socket.gaierror | None:
    """The name-resolution failure in the exception chain, if any."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, socket.gaierror):
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def _is_dns_failure(exc: BaseException) -> bool:
    """True when the exception chain holds a name-resolution failure that will not fix itself."""
    gai = _dns_failure(exc)
    # EAI_AGAIN is "temporary failure in name resolution": a flaky resolver, not a gone host.
    return gai is not None and gai.errno != getattr(socket, "EAI_AGAIN", -3)


def _host(exc: BaseException) -> str:
    """The host an httpx exception was about (never the path or query: they may hold secrets)."""
    try:
        return str(exc.request.url.host) or "the API host"  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - no request attached
        return "the API host"


BAD_URL, TIMEOUT, CONNECTION = "bad_url", "timeout", "connection"
"""What a transport failure means: the URL cannot work (out for the run), no answer in time, or
the connection failed (both worth a bounded retry)."""

ExceptionMap = tuple[tuple[type[BaseException], str], ...]


def _client_map(lib: Any) -> ExceptionMap:
    """httpx's exception tree (httpx2 has the same names), most specific first."""
    return ((lib.InvalidURL, BAD_URL), (lib.UnsupportedProtocol, BAD_URL), (lib.LocalProtocolError, BAD_URL),
            (lib.TimeoutException, TIMEOUT), (lib.HTTPError, CONNECTION))


def _core_map(lib: Any) -> ExceptionMap:
    """httpcore's (httpcore2 the same): what its client maps them to, should one escape unmapped."""
    return ((lib.UnsupportedProtocol, BAD_URL), (lib.LocalProtocolError, BAD_URL), (lib.TimeoutException, TIMEOUT),
            (lib.NetworkError, CONNECTION), (lib.ProtocolError, CONNECTION), (lib.ProxyError, CONNECTION))


BUILTIN_MAP: ExceptionMap = ((TimeoutError, TIMEOUT), (OSError, CONNECTION))
"""Socket-level failures an SDK may let through as they are (google-genai does)."""


@functools.cache
def exception_maps() -> tuple[ExceptionMap, ...]:
    """One table per HTTP library, as httpx's own `map_httpcore_exceptions` keeps one: httpx (our
    client, and google-genai's on it), httpx2 (huggingface_hub's), and their httpcore backends.
    Built on first use: httpx2 is imported only when needed."""
    import httpcore
    import httpcore2
    import httpx2

    return (_client_map(httpx), _client_map(httpx2), _core_map(httpcore), _core_map(httpcore2))


def transport_kind(exc: BaseException, *, builtins: bool = False) -> str | None:
    """BAD_URL, TIMEOUT or CONNECTION for a transport failure of one of our HTTP libraries (and,
    with `builtins`, a bare TimeoutError or OSError); None when `exc` is not one (an SDK's own
    error, a parse error, a bug). Hugging Face leaves out the builtins: its library decodes the
    image, and Pillow's UnidentifiedImageError is an OSError that means a bad image."""
    for table in (*exception_maps(), *((BUILTIN_MAP,) if builtins else ())):
        for cls, kind in table:
            if isinstance(exc, cls):
                return kind
    return None


def transport_error(provider: str, exc: BaseException, timeout: float | None = None) -> ProviderError:
    """Map a transport exception (see `exception_maps`) to a shared class. Never quotes the URL."""
    name = type(exc).__name__
    if _is_dns_failure(exc):
        return ProviderUnavailable(f"{provider}: could not resolve {_host(exc)} (the API host does not resolve: DNS failure)")
    if _dns_failure(exc) is not None:  # no reachable resolver, or a flaky one: may pass
        return TransientError(f"{provider}: could not resolve {_host(exc)} (temporary DNS failure)")
    kind = transport_kind(exc, builtins=True)
    if kind == BAD_URL:
        return ProviderUnavailable(f"{provider}: the API URL is unusable ({name})")
    if kind == TIMEOUT:
        limit = f" after {timeout:g}s" if timeout else ""
        return TimedOut(f"{provider}: request timed out{limit} ({name})")
    return TransientError(f"{provider}: connection failed ({name})")


# --------------------------------------------------------------------------- reading error bodies


def json_or_none(body: bytes | str) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting is a malformed answer
        return None


def excerpt(text: str | bytes | None, limit: int = MAX_EXCERPT) -> str:
    """A short, single-line, redacted excerpt of server text for an exception message."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = redact(" ".join(str(text).split()))
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def error_message(data: Any, body: bytes) -> str:
    """The human message inside a JSON error body (common shapes), else the raw text."""
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            msg = err.get("message") or err.get("code")
            if msg:
                return str(msg)
        if isinstance(err, str) and err:
            return err
        errs = data.get("errors")
        if isinstance(errs, list) and errs and isinstance(errs[0], dict) and errs[0].get("message"):
            return str(errs[0]["message"])
        if data.get("message"):
            return str(data["message"])
        if data.get("detail"):
            return str(data["detail"])
    if data is not None:
        return ""
    ctype_html = body[:64].lstrip().lower().startswith((b"<!doctype", b"<html"))
    return "an HTML error page" if ctype_html else body.decode("utf-8", errors="replace")


def describe_status(provider: str, resp: WireResponse, detail: str = "") -> str:
    msg = excerpt(error_message(resp.json(), resp.body))
    extra = f" ({detail})" if detail else ""
    return f"{provider}: HTTP {resp.status}{extra}" + (f": {msg}" if msg else "")


# --------------------------------------------------------------------------- delays


_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_RETRY_IN_TEXT = re.compile(r"\bretry (?:in|after)\s+" + _NUMBER + r"\s*(ms|s|sec|secs|seconds?)\b", re.I)
_DURATION = re.compile(r"^\s*" + _NUMBER + r"\s*(ms|s)?\s*$")

MAX_HINT_SECONDS = 7 * 24 * 3600.0
"""Delay hints above this are nonsense and ignored."""


def _sane(seconds: float | None) -> float | None:
    if seconds is None or seconds != seconds or seconds < 0 or seconds > MAX_HINT_SECONDS:
        return None
    return seconds


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A Retry-After header: delay seconds or an HTTP-date (relative to `now`)."""
    if not value:
        return None
    value = value.strip()
    try:
        return _sane(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return _sane(max(0.0, (when - now).total_seconds()))


def parse_duration(value: Any) -> float | None:
    """A protobuf Duration as JSON ("41s", "0.5s") or a bare number of seconds."""
    if isinstance(value, (int, float)):
        return _sane(float(value))
    if isinstance(value, dict):  # {"seconds": 41, "nanos": 0}
        try:
            return _sane(float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9)
        except (TypeError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    m = _DURATION.match(value)
    if not m:
        return None
    n = float(m.group(1))
    return _sane(n / 1000.0 if m.group(2) == "ms" else n)


def retry_in_text(text: str | None) -> float | None:
    """'Please retry in 41.88s' -> 41.88. Last resort only, when no header or field said it."""
    if not text:
        return None
    m = _RETRY_IN_TEXT.search(text)
    if not m:
        return None
    n = float(m.group(1))
    return _sane(n / 1000.0 if m.group(2).lower() == "ms" else n)


def header_retry_after(resp: WireResponse, now: datetime) -> float | None:
    return parse_retry_after(resp.headers.get("retry-after"), now)


# --------------------------------------------------------------------------- status mapping


def by_status(
    provider: str,
    resp: WireResponse,
    now: datetime,
    *,
    message: str | None = None,
    reset_at: datetime | None = None,
) -> ProviderError:
    """The generic mapping every adapter falls back to once its own structured rules are done."""
    status = resp.status
    msg = message or describe_status(provider, resp)
    retry_after = header_retry_after(resp, now)
    if status in (401, 403, 407):
        return AuthFailed(msg, status=status)
    if status == 402:
        return QuotaExhausted(msg, reset_at=reset_at, status=status)
    if status in (404, 410):
        return ProviderUnavailable(msg, status=status)
    if status == 429:
        return RateLimited(msg, retry_after=retry_after, status=status)
    if status in (408, 425) or status >= 500:
        return TransientError(msg, retry_after=retry_after, status=status)
    if 400 <= status < 500:
        return BadRequest(msg, status=status)
    if 200 <= status < 300:
        return BadImage(msg, status=status)
    return TransientError(msg, status=status)


# --------------------------------------------------------------------------- small shared bits


def round_to(value: int, multiple: int = 16, *, low: int = 256, high: int = 1440) -> int:
    """Round a pixel size to the nearest multiple the API accepts, within its bounds."""
    v = int(round(value / multiple)) * multiple
    return max(low, min(high, v))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- log redaction


class _RedactFilter(logging.Filter):
    """httpx logs every request URL at INFO (the Cloudflare account id is in the path): scrub it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # pragma: no cover - a broken record is not ours to fix
            return True
        clean = redact(text)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_LOGGERS = ("httpx", "httpcore", "httpx2", "httpcore2", "google_genai._api_client", "google_genai.models")


def _install_log_redaction() -> None:
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactFilter) for f in logger.filters):
            logger.addFilter(_RedactFilter())


_install_log_redaction()


def b64_field(value: object, *, provider: str, field: str) -> bytes:
    """Decode a base64 image field of a JSON answer; a missing or undecodable one is BadImage.
    (Cloudflare's result.image, Together's data[0].b64_json, Imagen's bytesBase64Encoded.)"""
    if not isinstance(value, str) or not value:
        raise BadImage(f"{provider}: 200 without {field}")
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        raise BadImage(f"{provider}: {field} is not base64") from None


# --------------------------------------------------------------------------- doctor helpers


def key_check(spec: ProviderSpec, error: ProviderError | None, what: str, key_env: str) -> Check:
    """A doctor's key line: fine when `error` is None, else the problem with the spec's fix."""
    if error is None:
        return Check(what, True)
    return Check(what, False, str(error), spec.fix_for(error, key_env=key_env))
