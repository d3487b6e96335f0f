"""From a post to an image prompt: the cached prompt, the Gemini describer, or the cleaned text.

    prompt, source = await prompt_for(post, settings, describer, regenerate=False)
        # source: "cached" | "describer:<model>" | "text"
    styled(prompt, settings)      # what is sent to the image providers (the stored prompt is unstyled)

The describer asks a Gemini text model (`settings.describer_model`, default a flash-lite preview)
for a short visual description, and walks a fallback list when a model fails: the configured
`describer_fallbacks`, else a built-in mapping (`fallback_models`). A model that is out of quota
or unknown is skipped for the rest of the run; a bad key switches the describer off for the run;
a per-minute limit is waited out once (bounded, on the injected clock). When every model fails,
the post falls back to its cleaned text: a describer failure never fails a post.

Only a post's `prompt_text()`, `cached_prompt`, `title` and `rel` are used.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from imagegen import secrets
from imagegen.clock import Clock, SystemClock
from imagegen.report import Event, EventSink, null_sink

PREFIX = "generate an image to illustrate the following blog post: "

SYSTEM_INSTRUCTION = (
    "You write prompts for an image generator. Read the blog post and describe one cover image that "
    "illustrates it: a concise, concrete, visual description of the scene, subject, composition, "
    "colours, light and style, in under 150 words. The image must contain no text, words, letters, "
    "numbers, captions, logos or watermarks. Answer with the description only: no preamble, no title, "
    "no quotes, no lists."
)

FALLBACKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("flash-lite-preview", ("gemini-2.5-flash",)),
)
"""Built-in describer fallbacks: a primary model id containing the key -> models to try next."""

MAX_POST_CHARS = 12_000
"""Characters of post text sent to the describer (bounds tokens and latency)."""

DESCRIBER_TIMEOUT = 60.0
"""Seconds per describer request."""

MAX_RATE_LIMIT_WAIT = 30.0
"""A per-minute limit with a delay up to this long is waited out once; longer: next model."""


class PostLike(Protocol):
    rel: str
    title: str | None
    cached_prompt: str | None

    def prompt_text(self) -> str: ...


class DescriberFailed(Exception):
    """Every describer model failed for this post (the caller falls back to the post text)."""


# --------------------------------------------------------------------------- pure helpers

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Unicode categories Cc, Zl and Zp, as one regex (a per-character category lookup was the
slowest step of a run's per-post overhead)."""


def sanitize(text: str) -> str:
    """One line: control characters and line breaks become spaces, runs collapse, ends stripped."""
    if not text:
        return ""
    text = _CONTROL.sub(" ", text.translate(_ZERO_WIDTH))
    return " ".join(text.split())


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut (at a word boundary when close) + '…'."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= int(limit * 0.8):
        head = head[:space]
    return head.rstrip(" ,;:-") + "…"


def text_prompt(post: PostLike, settings: Any) -> str:
    """The prompt without a describer: PREFIX + the cleaned post text, cut to prompt_max_chars."""
    return cut(sanitize(PREFIX + post.prompt_text()), int(getattr(settings, "prompt_max_chars", 2048)))


def styled(prompt: str, settings: Any) -> str:
    """What providers receive: the prompt plus the blog's style suffix, if one is set."""
    style = sanitize(getattr(settings, "prompt_style", "") or "")
    return f"{prompt}, {style}" if style else prompt


def fallback_models(primary: str, configured: tuple[str, ...] | None) -> list[str]:
    """Models to try after `primary`: the configured list if given, else the built-in mapping.
    Never `primary` itself, never a model twice."""
    if configured is not None:
        candidates: tuple[str, ...] = tuple(configured)
    else:
        candidates = ()
        for key, models in FALLBACKS:
            if key in primary:
                candidates = models
                break
    out: list[str] = []
    for m in candidates:
        m = m.strip()
        if m and m != primary and m not in out:
            out.append(m)
    return out


_LABEL = re.compile(r"^(?:here(?:'s| is)[^:]{0,60}:|(?:image )?(?:prompt|description)\s*:)\s*", re.I)


def clean_description(text: str) -> str:
    """The describer's answer as a prompt: one line, no label, no wrapping quotes."""
    text = sanitize(text)
    text = _LABEL.sub("", text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`“”":
        text = text[1:-1].strip()
    if len(text) >= 2 and text[0] == "“" and text[-1] == "”":
        text = text[1:-1].strip()
    return text


# --------------------------------------------------------------------------- the describer


class Describer:
    """Gemini text model -> image prompt, with model fallback. One per run; safe to share
    between concurrent posts. `client` may be injected (tests); otherwise a google-genai client
    on its own httpx.AsyncClient is made on first use and closed by `aclose`."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        fallbacks: tuple[str, ...] | list[str] = (),
        base_url: str = "",
        clock: Clock | None = None,
        emit: EventSink = null_sink,
        timeout: float = DESCRIBER_TIMEOUT,
        max_wait: float = MAX_RATE_LIMIT_WAIT,
        client: Any = None,
    ) -> None:
        self.models: list[str] = [model, *[m for m in fallbacks if m != model]]
        self._api_key = api_key
        self._base_url = base_url.rstrip("/") if base_url else ""
        self.clock = clock or SystemClock()
        self.emit = emit
        self.timeout = timeout
        self.max_wait = max_wait
        self._client = client
        self._http: Any = None
        self._out: dict[str, str] = {}
        """model -> why it is skipped for the rest of the run (quota, unavailable)."""
        self._disabled = ""

    def _genai(self) -> Any:
        if self._client is None:
            import httpx
            from google import genai
            from google.genai import types

            self._http = httpx.AsyncClient(follow_redirects=True)
            self._client = genai.Client(
                api_key=self._api_key,
                http_options=types.HttpOptions(
                    base_url=self._base_url or None,
                    timeout=int(self.timeout * 1000),  # milliseconds
                    httpx_async_client=self._http,
                ),
            )
        return self._client

    async def _ask(self, model: str, contents: str) -> str:
        from google.genai import types

        from imagegen.providers.base import ContentRefused, ProviderError
        from imagegen.providers.gemini import classify_exception

        config = types.GenerateContentConfig(system_instruction=SYSTEM_INSTRUCTION)
        try:
            resp = await self._genai().aio.models.generate_content(model=model, contents=contents, config=config)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a shared class
            raise classify_exception(exc, f"describer {model}", self.clock.now(), self.timeout) from None
        feedback = getattr(resp, "prompt_feedback", None)
        block = getattr(feedback, "block_reason", None) if feedback else None
        if block:
            raise ContentRefused(f"describer {model}: post blocked ({getattr(block, 'value', block)})")
        texts = []
        for cand in (getattr(resp, "candidates", None) or [])[:1]:
            content = getattr(cand, "content", None)
            for part in (getattr(content, "parts", None) or []) if content else []:
                if getattr(part, "text", None) and not getattr(part, "thought", None):
                    texts.append(part.text)
        return "".join(texts)

    async def describe(self, post: PostLike) -> tuple[str, str]:
        """(sanitized prompt, model used). Raises DescriberFailed when every model failed."""
        from imagegen.providers.base import AuthFailed, ProviderError, ProviderUnavailable, QuotaExhausted, RateLimited

        if self._disabled:
            raise DescriberFailed(self._disabled)
        title = sanitize(post.title or "")
        body = post.prompt_text()[:MAX_POST_CHARS]
        contents = f"Title: {title}\n\n{body}" if title else body
        failures: list[str] = []
        for i, model in enumerate(self.models):
            nxt = self.models[i + 1] if i + 1 < len(self.models) else ""
            if model in self._out:
                failures.append(f"{model}: {self._out[model]}")
                continue
            waited = False
            while True:
                try:
                    prompt = clean_description(await self._ask(model, contents))
                except RateLimited as exc:
                    if not waited and exc.retry_after is not None and exc.retry_after <= self.max_wait:
                        waited = True
                        self._warn(post, f"describer {model} rate-limited; waiting {exc.retry_after:g}s")
                        await self.clock.sleep(exc.retry_after)
                        continue
                    failures.append(f"{model}: {exc.kind}")
                    self._warn(post, self._failed(model, exc, nxt))
                except AuthFailed as exc:
                    self._disabled = f"describer off for this run: {exc}"
                    self._warn(post, self._disabled)
                    raise DescriberFailed(self._disabled) from None
                except ProviderError as exc:
                    if isinstance(exc, (QuotaExhausted, ProviderUnavailable)):
                        self._out[model] = exc.kind
                    failures.append(f"{model}: {exc.kind}")
                    self._warn(post, self._failed(model, exc, nxt))
                else:
                    if prompt:
                        return prompt, model
                    failures.append(f"{model}: empty answer")
                    self._warn(post, f"describer {model} gave an empty answer" + (f"; trying {nxt}" if nxt else ""))
                break
        raise DescriberFailed(secrets.redact("every describer model failed (" + "; ".join(failures) + ")"))

    @staticmethod
    def _failed(model: str, exc: Exception, nxt: str) -> str:
        kind = getattr(exc, "kind", "error")
        return f"describer {model} failed ({kind}): {exc}" + (f"; trying {nxt}" if nxt else "")

    def _warn(self, post: PostLike, message: str) -> None:
        self.emit(Event("warning", getattr(post, "rel", ""), "", secrets.redact(message), {"source": "describer"}))

    async def aclose(self) -> None:
        client, self._client = self._client, None
        http, self._http = self._http, None
        if client is not None and http is not None:  # only what we made ourselves
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass
        if http is not None:
            await http.aclose()


def make_describer(settings: Any, *, clock: Clock | None = None, emit: EventSink = null_sink) -> Describer | None:
    """The run's describer, or None when it is off or there is no Gemini key."""
    key = getattr(settings, "gemini_api_key", "") or ""
    if getattr(settings, "describer", "auto") == "off" or not key:
        return None
    secrets.register(key)
    model = settings.describer_model
    return Describer(
        api_key=key,
        model=model,
        fallbacks=fallback_models(model, settings.describer_fallbacks),
        base_url=getattr(settings, "gemini_base_url", "") or "",
        clock=clock,
        emit=emit,
    )


async def prompt_for(post: PostLike, settings: Any, describer: Describer | None, *,
                     regenerate: bool) -> tuple[str, str]:
    """(prompt, source): the cached prompt verbatim unless regenerating, else the describer's,
    else the cleaned post text."""
    if post.cached_prompt and not regenerate:
        return post.cached_prompt, "cached"
    limit = int(getattr(settings, "prompt_max_chars", 2048))
    if describer is not None:
        try:
            prompt, model = await describer.describe(post)
            return cut(prompt, limit), f"describer:{model}"
        except DescriberFailed:
            pass
    return text_prompt(post, settings), "text"
