"""Prompts: cleaned text, style, the describer and its model fallback (against the fake Gemini)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from imagegen import prompts
from imagegen.testing import VirtualClock
from imagegen.prompts import (
    PREFIX,
    Described,
    Describer,
    DescriberFailed,
    clean_description,
    fallback_models,
    make_describer,
    prompt_for,
    sanitize,
    styled,
    text_prompt,
)
from imagegen.report import Event
from imagegen.config.settings import Settings, load
from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401


@dataclass
class Post:
    """The four things prompts.py uses from imagegen.posts.Post."""

    text: str = "Foxes in the snow.\nThey jump into drifts to catch mice."
    title: str | None = "Winter foxes"
    cached_prompt: str | None = None
    rel: str = "posts/2026-01-01-foxes.md"

    def prompt_text(self) -> str:
        return self.text


SETTINGS = Settings(repo=Path("."))


# --------------------------------------------------------------------------- pure helpers


def test_sanitize() -> None:
    assert sanitize("  a\nb\r\n\tc\x00d\x1b[0m  e\u2028f  ") == "a b c d [0m e f"
    assert sanitize("zero\u200bwidth") == "zerowidth"
    assert sanitize("") == ""


def test_text_prompt_is_prefix_plus_title_and_clean_text() -> None:
    assert text_prompt(Post(), SETTINGS) == PREFIX + "Winter foxes. Foxes in the snow. They jump into drifts to catch mice."
    assert text_prompt(Post(title=None), SETTINGS) == PREFIX + "Foxes in the snow. They jump into drifts to catch mice."


def test_text_prompt_is_cut_with_an_ellipsis() -> None:
    long = Post(text="word " * 2000)
    p = text_prompt(long, SETTINGS)
    assert len(p) <= 2048 and p.endswith("…") and p.startswith(PREFIX)
    short = text_prompt(long, SETTINGS.with_(prompt_max_chars=100))
    assert len(short) <= 100 and short.endswith("…")
    assert text_prompt(Post(text="x" * 3000), SETTINGS.with_(prompt_max_chars=80)) == PREFIX + "Winter foxes. " + "x" * (
        80 - len(PREFIX) - len("Winter foxes. ") - 1) + "…"


def test_styled() -> None:
    assert styled("a fox", SETTINGS) == "a fox"
    assert styled("a fox", SETTINGS.with_(prompt_style="watercolour, soft light")) == "a fox, watercolour, soft light"


@pytest.mark.parametrize("primary,configured,expected", [
    ("gemini-3.1-flash-lite", None, ["gemini-3.5-flash-lite", "gemini-3.5-flash"]),
    ("gemini-3.5-flash-lite", None, ["gemini-3.5-flash"]),
    ("gemini-3.1-flash-lite", ("gemini-2.0-flash", "gemini-3.1-flash-lite", "gemini-2.0-flash"),
     ["gemini-2.0-flash"]),
    ("gemini-3.1-flash-lite", (), []),
    ("gemini-2.5-flash", ("gemini-2.5-flash",), []),
])
def test_fallback_models(primary: str, configured: tuple[str, ...] | None, expected: list[str]) -> None:
    assert fallback_models(primary, configured) == expected


def test_clean_description() -> None:
    assert clean_description('Here is a description: "A fox\nin snow."') == "A fox in snow."
    assert clean_description("Prompt: a red lighthouse") == "a red lighthouse"
    assert clean_description("“A quiet harbour”") == "A quiet harbour"


# --------------------------------------------------------------------------- prompt_for


class StubDescriber:
    def __init__(self, result: tuple[str, str] | None) -> None:
        self.result = result
        self.calls = 0

    async def describe(self, post: Any, contents: str = "") -> Described:
        self.calls += 1
        if self.result is None:
            raise DescriberFailed("no")
        return Described.by_describer(*self.result)


def chosen(described: Described) -> tuple[str, str]:
    return described.prompt, described.source


def test_prompt_for_sources() -> None:
    cached = Post(cached_prompt="  an old prompt, kept verbatim ")
    d = StubDescriber(("a described fox", "gemini-x"))
    assert chosen(asyncio.run(prompt_for(cached, SETTINGS, d, regenerate=False))) == (
        "  an old prompt, kept verbatim ", "cached")
    assert d.calls == 0
    assert chosen(asyncio.run(prompt_for(cached, SETTINGS, d, regenerate=True))) == (
        "a described fox", "describer:gemini-x")
    assert chosen(asyncio.run(prompt_for(Post(), SETTINGS, StubDescriber(None), regenerate=False))) == (
        text_prompt(Post(), SETTINGS), "text")
    assert chosen(asyncio.run(prompt_for(Post(), SETTINGS, None, regenerate=False))) == (
        text_prompt(Post(), SETTINGS), "text")


def test_make_describer(tmp_path: Path) -> None:
    env = {"GEMINI_API_KEY": "gem-key-123456", "IMAGEGEN_GEMINI_BASE_URL": "http://127.0.0.1:9/gemini"}
    d = make_describer(load({}, env, repo=tmp_path))
    assert isinstance(d, Describer)
    assert d.models == ["gemini-3.1-flash-lite", "gemini-3.5-flash-lite", "gemini-3.5-flash"]
    d = make_describer(load({"describer-model": "gemini-2.5-pro", "describer-fallbacks": "a,b"}, env, repo=tmp_path))
    assert d is not None and d.models == ["gemini-2.5-pro", "a", "b"]
    assert make_describer(load({"describer": "off"}, env, repo=tmp_path)) is None
    assert make_describer(load({"providers": "local"}, {}, repo=tmp_path)) is None


# --------------------------------------------------------------------------- the describer on the wire


def _describer(fp: FakeProviders, tmp_path: Path, events: list[Event], clock: VirtualClock | None = None,
               **raw: str) -> Describer:
    s = load(raw, fp.env(names=["gemini"]), repo=tmp_path)
    d = make_describer(s, clock=clock or VirtualClock(), emit=events.append)
    assert d is not None
    return d


def _run(d: Describer, *posts: Post) -> list[Any]:
    async def go() -> list[Any]:
        out: list[Any] = []
        try:
            for p in posts:
                try:
                    out.append(await d.describe(p))
                except DescriberFailed as exc:
                    out.append(exc)
        finally:
            await d.aclose()
        return out

    return asyncio.run(go())


def test_describer_request_shape(fake_providers: FakeProviders, tmp_path: Path) -> None:
    events: list[Event] = []
    [d] = _run(_describer(fake_providers, tmp_path, events), Post())
    prompt, model = d.prompt, d.model
    assert model == "gemini-3.1-flash-lite"
    assert prompt and "\n" not in prompt
    [req] = fake_providers.requests("gemini")
    assert req.path.endswith("/models/gemini-3.1-flash-lite:generateContent")
    assert req.headers["x-goog-api-key"] == "fake-gemini-0001"
    body = req.json
    text = body["contents"][0]["parts"][0]["text"]
    assert "Winter foxes" in text and "catch mice" in text
    assert "no text" in body["systemInstruction"]["parts"][0]["text"]
    assert "responseModalities" not in (body.get("generationConfig") or {})
    assert events == []


def test_describer_falls_back_and_skips_a_spent_model(fake_providers: FakeProviders, tmp_path: Path) -> None:
    events: list[Event] = []
    fake_providers.script("gemini", ["quota"])
    results = _run(_describer(fake_providers, tmp_path, events), Post(), Post(rel="b.md"))
    assert [r.model for r in results] == ["gemini-3.5-flash-lite", "gemini-3.5-flash-lite"]
    paths = [r.path.rsplit("/", 1)[-1] for r in fake_providers.requests("gemini")]
    assert paths == ["gemini-3.1-flash-lite:generateContent", "gemini-3.5-flash-lite:generateContent",
                     "gemini-3.5-flash-lite:generateContent"]  # the spent primary is not asked again
    assert len(events) == 1 and events[0].kind == "warning" and "trying gemini-3.5-flash-lite" in events[0].message


def test_describer_waits_out_a_short_per_minute_limit(fake_providers: FakeProviders, tmp_path: Path) -> None:
    events: list[Event] = []
    clock = VirtualClock()
    fake_providers.script("gemini", [{"kind": "rate_limit", "retry_after": 20}])
    [d] = _run(_describer(fake_providers, tmp_path, events, clock), Post())
    assert d.model == "gemini-3.1-flash-lite" and clock.monotonic() == 20
    assert fake_providers.count("gemini") == 2


def test_describer_moves_on_after_a_long_limit(fake_providers: FakeProviders, tmp_path: Path) -> None:
    events: list[Event] = []
    clock = VirtualClock()
    fake_providers.script("gemini", [{"kind": "rate_limit", "retry_after": 300}])
    [d] = _run(_describer(fake_providers, tmp_path, events, clock), Post())
    assert d.model == "gemini-3.5-flash-lite" and clock.monotonic() == 0


def test_bad_key_switches_the_describer_off(fake_providers: FakeProviders, tmp_path: Path) -> None:
    events: list[Event] = []
    fake_providers.script("gemini", ["auth"])
    results = _run(_describer(fake_providers, tmp_path, events), Post(), Post())
    assert all(isinstance(r, DescriberFailed) for r in results)
    assert fake_providers.count("gemini") == 1


def test_every_model_failing_falls_back_to_text(fake_providers: FakeProviders, tmp_path: Path) -> None:
    events: list[Event] = []
    fake_providers.script("gemini", ["server_error", "blocked", "server_error"])
    d = _describer(fake_providers, tmp_path, events)

    async def go() -> Described:
        try:
            return await prompt_for(Post(), SETTINGS, d, regenerate=False)
        finally:
            await d.aclose()

    assert chosen(asyncio.run(go())) == (text_prompt(Post(), SETTINGS), "text")
    assert len(events) == 3


def test_empty_answer_tries_the_next_model(fake_providers: FakeProviders, tmp_path: Path) -> None:
    events: list[Event] = []
    fake_providers.script("gemini", [{"kind": "raw", "status": 200, "body": {"candidates": [
        {"content": {"role": "model", "parts": [{"text": "  \n "}]}, "finishReason": "STOP"}]}}])
    [d] = _run(_describer(fake_providers, tmp_path, events), Post())
    assert d.model == "gemini-3.5-flash-lite"


def test_describer_prompt_is_cut_to_the_limit() -> None:
    d = StubDescriber(("word " * 1000, "m"))
    described = asyncio.run(prompt_for(Post(), SETTINGS.with_(prompt_max_chars=50), d, regenerate=False))
    p, source = described.prompt, described.source
    assert len(p) <= 50 and p.endswith("…") and source == "describer:m"


def test_module_constants() -> None:
    assert prompts.PREFIX == "generate an image to illustrate the following blog post: "
    assert "150 words" in prompts.SYSTEM_INSTRUCTION
