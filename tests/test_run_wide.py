"""Answers about the run, not the post: the describer learns once (even with posts asking at once),
and a run where nothing could work for setup reasons exits non-zero with one line."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from imagegen import cli, redact
from imagegen.testing import ScaledClock, VirtualClock
from imagegen.prompts import STATE_KEY, Describer, DescriberFailed
from imagegen.chain.state import State
from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401
from tests.helpers import commit_all, init_repo

MODELS = ("gemini-3.1-flash-lite", "gemini-3.5-flash-lite", "gemini-3.5-flash")


class Post:
    title, cached_prompt = "Winter foxes", None

    def __init__(self, i: int) -> None:
        self.rel = f"posts/p{i}.md"

    def prompt_text(self) -> str:
        return "Foxes jump into snow drifts to catch mice."


def describe_all(fp: FakeProviders, n: int, state: State | None = None) -> list[Any]:
    async def go() -> list[Any]:
        d = Describer(api_key="fake-gemini-0001", model=MODELS[0], fallbacks=MODELS[1:],
                      base_url=fp.base_url("gemini"), clock=VirtualClock(), state=state)

        async def one(i: int) -> Any:
            try:
                return await d.describe(Post(i))
            except DescriberFailed as exc:
                return exc

        try:
            return await asyncio.gather(*(one(i) for i in range(n)))  # all posts ask at once
        finally:
            await d.aclose()

    return asyncio.run(go())


def called(fp: FakeProviders) -> list[str]:
    return [r.path.split("/models/", 1)[-1].split(":", 1)[0] for r in fp.requests("gemini")]


def test_a_bad_describer_key_costs_one_call_with_eight_posts_asking_at_once(fake_providers: FakeProviders) -> None:  # noqa: F811
    fake_providers.set_behaviour("gemini", default="auth")
    results = describe_all(fake_providers, 8)
    assert all(isinstance(r, DescriberFailed) for r in results)
    assert fake_providers.count("gemini") == 1


@pytest.mark.parametrize("outcome", ["quota", "retired"])
def test_a_spent_or_retired_describer_model_is_asked_once_per_run(outcome: str,
                                                                  fake_providers: FakeProviders) -> None:  # noqa: F811
    if outcome == "retired":
        fake_providers.set_behaviour("gemini", retired_models=(MODELS[0],))
    else:
        fake_providers.script("gemini", ["quota"])
    results = describe_all(fake_providers, 8)
    assert [r.model for r in results] == [MODELS[1]] * 8
    assert called(fake_providers).count(MODELS[0]) == 1
    # The next model is probed once too, then every post may ask it at once.
    assert called(fake_providers).count(MODELS[1]) == 8


def test_a_retired_describer_model_is_remembered_in_the_state_file(fake_providers: FakeProviders,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    fake_providers.set_behaviour("gemini", retired_models=(MODELS[0],))
    now = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
    state = State(tmp_path / "s.json", now=now)
    describe_all(fake_providers, 3, state)
    state.save()
    assert MODELS[0] in json.loads((tmp_path / "s.json").read_text())["retired_models"][STATE_KEY]
    fake_providers.reset()
    later = State.load(tmp_path / "s.json", now)
    results = describe_all(fake_providers, 3, later)
    assert [r.model for r in results] == [MODELS[1]] * 3 and MODELS[0] not in called(fake_providers)


# --------------------------------------------------------------------------- exit status


def blog(tmp_path: Path, n: int = 3) -> Path:
    repo = init_repo(tmp_path / "blog")
    for i in range(n):
        p = repo / "posts" / f"2026-01-{i + 1:02d}-post-{i}.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"---\ntitle: Post {i}\n---\n# Post {i}\n\nText {i}.\n")
    commit_all(repo)
    return repo


def run(fp: FakeProviders, repo: Path, names: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = cli.main(["run", str(repo), "--providers", ",".join(names), "--describer", "off", "--quiet",
                         "--reserve", "", *[f"--provider-min-interval={n}=0" for n in names]],
                        env=fp.env(names=names), clock=ScaledClock(0.001))  # backoffs of seconds take ms
    finally:
        redact.clear()
    return code, capsys.readouterr().err


@pytest.mark.parametrize("setup", [
    {"cloudflare": "auth", "together": "forbidden"},
    {"cloudflare": "retired", "huggingface": "reset"},  # retired model; the network drops every call
    {"gemini": "auth", "pollinations": "unavailable"},
])
def test_nothing_could_work_exits_non_zero_with_one_line(setup: dict[str, str], fake_providers: FakeProviders,  # noqa: F811
                                                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, kind in setup.items():
        fake_providers.set_behaviour(name, default=kind)
    code, err = run(fake_providers, blog(tmp_path), list(setup), capsys)
    assert code == cli.EXIT_ERROR
    lines = [ln for ln in err.splitlines() if ln.startswith("imagegen: error:")]
    assert len(lines) == 1 and "no cover could be made" in lines[0]
    assert all(name in lines[0] for name in setup)


def test_a_run_stopped_by_quota_still_exits_zero(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour("cloudflare", default="quota")
    fake_providers.set_behaviour("together", default="auth")
    code, err = run(fake_providers, blog(tmp_path), ["cloudflare", "together"], capsys)
    assert code == cli.EXIT_OK and "imagegen: error" not in err
