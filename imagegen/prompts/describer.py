"""The describer: a Gemini text model turns a post into an image prompt and alt text.

The describer asks a Gemini text model (`settings.describer_model`, default `gemini-3.1-flash-lite`)
for a short visual description, and walks its ordered fallbacks when a model fails
(`describer_fallbacks`, default `gemini-3.5-flash-lite`, `gemini-3.5-flash`). It learns once per
run, even with many posts asking at once: until a model has answered once, only one post asks it
(the others wait for that answer), so a bad key, a used-up quota or a retired model costs one call,
not one per post in flight. A bad key switches the describer off for the run; a model out of quota
or retired is not asked again in the run, and a retired one is remembered in the state file
(under "describer") for days; a per-minute limit is waited out once (bounded, on the injected
clock). When every model fails, the post falls back to its cleaned text: a describer failure never
fails a post. The one call to the model is `Describer._ask` (keep it the only one).

Only a post's `prompt_text()`, `cached_prompt`, `title` and `rel` are used.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from imagegen import secrets
from imagegen.clock import Clock, SystemClock
from imagegen.prompts.text import (Described, DescriberFailed, PostLike, alt_from, clean_description, describer_text,
                                   post_fields)
from imagegen.report import Event, EventSink, null_sink

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.chain.state import State

STATE_KEY = "describer"
"""The describer's retired models are kept under this name in the state file."""

SYSTEM_INSTRUCTION = (
    "You write prompts for an image generator. Read the blog post and describe one cover image that "
    "illustrates it: a concise, concrete, visual description of the scene, subject, composition, "
    "colours, light and style, in under 150 words. The image must contain no text, words, letters, "
    "numbers, captions, logos or watermarks. Answer with the description only: no preamble, no title, "
    "no quotes, no lists. Put it in the JSON field \"prompt\". In the field \"alt\" write the "
    "picture's alt text: one plain sentence of at most 125 characters saying what the picture shows "
    "(not what the post is about), without \"image of\" or \"picture of\"."
)

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {"prompt": {"type": "STRING"}, "alt": {"type": "STRING"}},
    "required": ["prompt", "alt"],
}
"""The describer's structured output: the image prompt and the cover's alt text in one call."""

FALLBACKS: tuple[str, ...] = ("gemini-3.5-flash-lite", "gemini-3.5-flash")
"""Describer models tried after the primary when no list is configured (settings' default too)."""

DESCRIBER_TIMEOUT = 60.0
"""Overall deadline of one describer request, in seconds."""

MAX_RATE_LIMIT_WAIT = 30.0
"""A per-minute limit with a delay up to this long is waited out once; longer: next model."""


def parse_answer(text: str) -> tuple[str, str]:
    """The describer's answer -> (prompt, alt). It asked for JSON; a model that answered with plain
    text (older models, a cassette) still gives a prompt, with no alt text."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            prompt = data.get("prompt")
            alt = data.get("alt")
            return (clean_description(prompt) if isinstance(prompt, str) else "",
                    alt_from(alt) if isinstance(alt, str) else "")
    return clean_description(text), ""


def fallback_models(primary: str, configured: tuple[str, ...] | None) -> list[str]:
    """Models to try after `primary`: the configured list if given, else FALLBACKS.
    Never `primary` itself, never a model twice."""
    candidates: tuple[str, ...] = tuple(configured) if configured is not None else FALLBACKS
    out: list[str] = []
    for m in candidates:
        m = m.strip()
        if m and m != primary and m not in out:
            out.append(m)
    return out


class Describer:
    """Gemini text model -> image prompt, with model fallback. One per run; safe to share
    between concurrent posts. `client` may be injected (tests); otherwise a google-genai client
    on its own httpx.AsyncClient (no redirects followed) is made on first use and closed by
    `aclose`. `state` (optional) remembers retired describer models across runs."""

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
        state: "State | None" = None,
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
        self.state = state
        self.calls = 0
        """Requests sent to the describer this run (all models)."""
        self._out: dict[str, str] = {}
        """model -> why it is skipped for the rest of the run (quota, retired, unavailable)."""
        self._disabled = ""
        self._proven: set[str] = set()
        """Models that answered once this run: every post may ask them at once."""
        self._probing: dict[str, asyncio.Future[None]] = {}
        if state is not None:
            now = self.clock.now()
            for m in self.models:
                until = state.retired_until(STATE_KEY, m, now)
                if until is not None:
                    self._out[m] = f"retired (remembered until {until:%Y-%m-%d})"

    def _genai(self) -> Any:
        if self._client is None:
            from google import genai
            from google.genai import types

            from imagegen.providers._http import new_client

            self._http = new_client()
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
        """The one call to a describer model: `contents` -> its text answer (raises a shared
        ProviderError class). Issue 11 extends this single place (structured output, alt text)."""
        from google.genai import types

        from imagegen.providers import _http
        from imagegen.providers.base import ContentRefused, ProviderError
        from imagegen.providers.gemini import classify_exception

        config = types.GenerateContentConfig(system_instruction=SYSTEM_INSTRUCTION,
                                             response_mime_type="application/json",
                                             response_schema=RESPONSE_SCHEMA)
        self.calls += 1
        try:
            async with _http.deadline(self.timeout, f"describer {model}"):
                resp = await self._genai().aio.models.generate_content(model=model, contents=contents, config=config)
        except ProviderError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a shared class
            raise classify_exception(exc, f"describer {model}", self.clock.now(), self.timeout, model) from None
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

    async def _ask_once_learned(self, model: str, contents: str) -> str | None:
        """`_ask`, but until `model` has answered once this run only one post asks it at a time;
        the others wait for that answer. None: the model (or the describer) went out meanwhile."""
        while model not in self._proven:
            if self._disabled or model in self._out:
                return None
            probe = self._probing.get(model)
            if probe is not None:
                await asyncio.shield(probe)
                continue
            probe = asyncio.get_running_loop().create_future()
            self._probing[model] = probe
            try:
                text = await self._ask(model, contents)
                self._proven.add(model)
                return text
            finally:
                del self._probing[model]
                probe.set_result(None)
        return await self._ask(model, contents)

    async def describe(self, post: PostLike, contents: str = "") -> tuple[str, str]:
        """(sanitized prompt, model used), with `.alt` (see Described). Raises DescriberFailed when
        every model failed. `contents`: the text to describe (default: title + cleaned body)."""
        from imagegen.providers.base import (
            AuthFailed, ModelUnavailable, ProviderError, ProviderUnavailable, QuotaExhausted, RateLimited,
        )

        contents = contents or describer_text(post_fields(post, None))
        failures: list[str] = []
        for i, model in enumerate(self.models):
            nxt = next((m for m in self.models[i + 1:] if m not in self._out), "")
            waited = False
            while True:
                if self._disabled:
                    raise DescriberFailed(self._disabled)
                if model in self._out:
                    failures.append(f"{model}: {self._out[model]}")
                    break
                try:
                    text = await self._ask_once_learned(model, contents)
                    if text is None:
                        continue  # learned meanwhile (out, or the describer is off): look again
                    prompt, alt = parse_answer(text)
                except RateLimited as exc:
                    if not waited and exc.retry_after is not None and exc.retry_after <= self.max_wait:
                        waited = True
                        self._warn(post, f"describer {model} rate-limited; waiting {exc.retry_after:g}s")
                        await self.clock.sleep(exc.retry_after)
                        continue
                    failures.append(f"{model}: {exc.kind}")
                    self._warn(post, self._failed(model, exc, nxt))
                except AuthFailed as exc:
                    if not self._disabled:
                        self._disabled = f"describer off for this run: {exc}"
                        self._warn(post, self._disabled)
                    raise DescriberFailed(self._disabled) from None
                except ProviderError as exc:
                    if isinstance(exc, (QuotaExhausted, ProviderUnavailable, ModelUnavailable)):
                        if model not in self._out:
                            self._out[model] = exc.kind
                            if isinstance(exc, ModelUnavailable) and self.state is not None:
                                self.state.mark_retired(STATE_KEY, model, self.clock.now())
                            self._warn(post, self._failed(model, exc, nxt))
                    else:
                        self._warn(post, self._failed(model, exc, nxt))
                    failures.append(f"{model}: {exc.kind}")
                else:
                    if prompt:
                        return Described(prompt, model, alt)
                    failures.append(f"{model}: empty answer")
                    self._warn(post, f"describer {model} gave an empty answer" + (f"; trying {nxt}" if nxt else ""))
                break
        raise DescriberFailed(secrets.redact("every describer model failed (" + "; ".join(failures) + ")"))

    @staticmethod
    def _failed(model: str, exc: Exception, nxt: str) -> str:
        kind = getattr(exc, "kind", "error")
        what = "is retired or not served" if kind == "retired" else f"failed ({kind})"
        return f"describer {model} {what}: {exc}" + (f"; trying {nxt}" if nxt else "")

    def _warn(self, post: PostLike, message: str) -> None:
        self.emit(Event.warning(secrets.redact(message), post=getattr(post, "rel", ""), source="describer"))

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


def make_describer(settings: Any, *, clock: Clock | None = None, emit: EventSink = null_sink,
                   state: "State | None" = None) -> Describer | None:
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
        state=state,
    )
