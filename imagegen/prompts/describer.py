"""The describer: a Gemini text model turns a post into an image prompt and alt text.

The describer asks a text model (`settings.describer_model`, default `gemini-3.1-flash-lite`) for a
short visual description, and walks its ordered fallbacks when a model fails
(`describer_fallbacks`, default `gemini-3.5-flash-lite`, `gemini-3.5-flash`). Its models go
through the chain's model fallback (`imagegen.chain.fallback`), the same logic as an image
provider's: it learns once per run, even with many posts asking at once (until a model has
answered once, only one post asks it and the others wait for that answer), so a bad key, a used-up
quota or a retired model costs one call, not one per post in flight. A bad key, or an answer that
no model could do better (the API refuses the request's shape, the host does not resolve),
switches the describer off for the run; a model out of quota or that timed out is not asked again
in the run, and a retired one is remembered in the state file (under "describer") for days; a per-minute limit is
waited out once (bounded, on the injected clock). When every model fails, the post falls back to
its cleaned text: a describer failure never fails a post.

The models are reached through the provider registry's text backend (Gemini's, built with the same
google-genai client factory as the image provider's); the one call is `Describer._ask`.

Only a post's `prompt_text()`, `cached_prompt`, `title` and `rel` are used.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from imagegen import redact
from imagegen.chain.fallback import ModelFallback
from imagegen.clock import Clock, SystemClock
from imagegen.prompts.text import (Described, DescriberFailed, PostLike, alt_from, clean_description, describer_text,
                                   post_fields)
from imagegen.providers import text_backend, text_credentials
from imagegen.providers.base import (AuthFailed, ModelUnavailable, ProviderError, ProviderUnavailable,
                                     QuotaExhausted, RateLimited, TextBackend, TimedOut)
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
    """Text model -> image prompt, with model fallback. One per run; safe to share between
    concurrent posts. `backend` may be injected (tests); otherwise the registry's text backend is
    made with `api_key` and `base_url`, and closed by `aclose`. `state` (optional) remembers
    retired describer models across runs."""

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
        backend: TextBackend | None = None,
        state: "State | None" = None,
    ) -> None:
        self.models: list[str] = [model, *[m for m in fallbacks if m != model]]
        self.clock = clock or SystemClock()
        self.emit = emit
        self.timeout = timeout
        self.max_wait = max_wait
        self.backend = backend or text_backend(api_key, base_url=base_url, timeout=timeout, clock=self.clock)
        self.state = state
        self.calls = 0
        """Requests sent to the describer this run (all models)."""
        self.fallback = ModelFallback(STATE_KEY, self.models, state=state, now=self.clock.now())
        """Which models are out for the run (quota, retired, unavailable), which answered once."""

    async def _ask(self, model: str, contents: str) -> str:
        """The one call to a describer model: `contents` -> its text answer (raises a shared
        ProviderError class)."""
        self.calls += 1
        return await self.backend.ask(model, contents, system=SYSTEM_INSTRUCTION, schema=RESPONSE_SCHEMA,
                                      label=f"describer {model}")

    async def describe(self, post: PostLike, contents: str = "") -> Described:
        """The prompt and alt text from the first model that answers (`.model` says which).
        Raises DescriberFailed when every model failed. `contents`: the text to describe
        (default: title + cleaned body)."""
        contents = contents or describer_text(post_fields(post, None))
        failures: list[str] = []
        for model in self.models:
            described = await self._try(post, model, contents, failures)
            if described is not None:
                return described
        raise DescriberFailed(redact.redact("every describer model failed (" + "; ".join(failures) + ")"))

    async def _try(self, post: PostLike, model: str, contents: str, failures: list[str]) -> Described | None:
        """`model`'s answer for this post, or None (why is added to `failures`). Until the model
        has answered once this run, it is asked by one post at a time (the fallback's probe)."""
        nxt = self.fallback.next_after(model)
        waited = False
        while True:
            if self.fallback.stopped:
                raise DescriberFailed(self.fallback.stopped)
            if model in self.fallback.out:
                failures.append(f"{model}: {self.fallback.out[model]}")
                return None
            try:
                text = await self.fallback.call(model, lambda: self._ask(model, contents))
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
            except (AuthFailed, ProviderUnavailable) as exc:
                # A bad key, or no model can answer at all (a request shape this API version
                # refuses, a host that does not resolve): off for the run, said once.
                if not self.fallback.stopped:
                    self.fallback.stop(f"describer off for this run: {exc}")
                    self._warn(post, self.fallback.stopped)
                raise DescriberFailed(self.fallback.stopped) from None
            except ProviderError as exc:
                self._learn(post, model, exc, nxt)
                failures.append(f"{model}: {exc.kind}")
            else:
                if prompt:
                    return Described.by_describer(prompt, model, alt)
                failures.append(f"{model}: empty answer")
                self._warn(post, f"describer {model} gave an empty answer" + (f"; trying {nxt}" if nxt else ""))
            return None

    def _learn(self, post: PostLike, model: str, exc: ProviderError, nxt: str) -> None:
        """What a model's error means beyond this post: retired (remembered), out for the run
        (a used-up quota; a timeout, like any unavailable model: a model that did not answer within
        its deadline once is not given another full deadline per post), or nothing (a refusal, a
        5xx). Said once."""
        if isinstance(exc, ModelUnavailable):
            first = self.fallback.retire(model, self.clock.now(), str(exc)) is not None
        elif isinstance(exc, (QuotaExhausted, TimedOut)):
            first = self.fallback.mark_out(model, "timed out" if isinstance(exc, TimedOut) else exc.kind)
        else:
            first = True
        if first:
            self._warn(post, self._failed(model, exc, nxt))

    @staticmethod
    def _failed(model: str, exc: Exception, nxt: str) -> str:
        kind = getattr(exc, "kind", "error")
        what = "is retired or not served" if kind == "retired" else f"failed ({kind})"
        return f"describer {model} {what}: {exc}" + (f"; trying {nxt}" if nxt else "")

    def _warn(self, post: PostLike, message: str) -> None:
        self.emit(Event.warning(redact.redact(message), post=getattr(post, "rel", ""), source="describer"))

    async def aclose(self) -> None:
        await self.backend.aclose()


def make_describer(settings: Any, *, clock: Clock | None = None, emit: EventSink = null_sink,
                   state: "State | None" = None) -> Describer | None:
    """The run's describer, or None when it is off or there is no Gemini key."""
    key, base_url = text_credentials(getattr(settings, "provider_opts", {}))
    if getattr(settings, "describer", "auto") == "off" or not key:
        return None
    model = settings.describer_model
    return Describer(
        api_key=key,
        model=model,
        fallbacks=fallback_models(model, settings.describer_fallbacks),
        base_url=base_url,
        clock=clock,
        emit=emit,
        timeout=DESCRIBER_TIMEOUT,
        state=state,
    )
