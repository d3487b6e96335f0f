"""Every real provider answer in tests/fixtures/provider-responses/ gets the class it should, end to end.

Each answer is served from the loopback fake to the real `imagegen run` (in-process `cli.main`, so
no interpreter start-up per case); `local` follows the provider in the chain, so the post is still
made and no real time is waited on a rate limit. The report must count the answer under its class,
and answers about the run (not the post) must cost one call for a whole run of posts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagegen import cli, redact
from tests.fake_providers import FIXTURES, FakeProviders, fake_providers, fixture_outcome  # noqa: F401
from tests.helpers import commit_all, init_repo

ANSWERS = sorted(FIXTURES.glob("*.json"))
RUN_WIDE = {"quota", "auth", "retired", "unavailable"}
"""Classes that take the provider (or its model) out: one call for the whole run."""
KEY = "sk_test_fixture_key_0001"


def expected_kind(fixture: dict[str, Any]) -> str:
    """The report kind the fixture's `expected_class` names (its first word; a model that is not
    served is reported as `retired`, a provider out for the whole run as `unavailable`)."""
    if fixture["expected_class"].startswith("unavailable for the run"):
        return "unavailable"
    first = fixture["expected_class"].split()[0].strip(",;")
    return {"unavailable": "retired"}.get(first, first)


def blog(tmp_path: Path, n: int) -> Path:
    repo = init_repo(tmp_path / "blog")
    for i in range(n):
        p = repo / "posts" / f"2026-01-{i + 1:02d}-post-{i}.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"---\ntitle: Post {i}\n---\n# Post {i}\n\nFoxes and snow, part {i}.\n")
    commit_all(repo)
    return repo


def run(fp: FakeProviders, provider: str, repo: Path, tmp_path: Path, *, keyed: bool, extra: tuple[str, ...] = (),
        env_extra: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    env = fp.env(names=[provider])
    if provider == "pollinations":
        if keyed:
            env["POLLINATIONS_API_KEY"] = KEY
    env.update(env_extra or {})
    report = tmp_path / "report.json"
    try:
        code = cli.main(["run", str(repo), "--providers", f"{provider},local", "--describer", "off", "--quiet",
                         "--report", str(report), "--concurrency", "4",
                         "--width", "128", "--height", "72", *extra], env=env)
    finally:
        redact.clear()
    return code, json.loads(report.read_text())


@pytest.mark.parametrize("path", ANSWERS, ids=[p.stem for p in ANSWERS])
def test_each_real_answer_gets_its_class_through_imagegen_run(path: Path, fake_providers: FakeProviders,  # noqa: F811
                                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    provider, outcome, fixture = fixture_outcome(path)
    kind = expected_kind(fixture)
    fake_providers.script(provider, [outcome] * 3)  # every call of this run gets this answer
    repo = blog(tmp_path, 3)
    code, report = run(fake_providers, provider, repo, tmp_path, keyed=path.stem.endswith("-gen"),
                       extra=(f"--{provider}-image-model", "only-model", "--provider-min-interval", f"{provider}=0"))
    assert code == 0, capsys.readouterr()
    stats = report["providers"][provider]
    assert stats["errors"][kind] >= 1, (fixture["expected_class"], stats)
    others = {k: n for k, n in stats["errors"].items() if n and k != kind}
    assert not others, (fixture["expected_class"], stats)
    assert len(report["generated"]) == 3 and {g["provider"] for g in report["generated"]} == {"local"}
    if kind in RUN_WIDE:
        # About the run, not the post: learned with one call, never one per post.
        assert fake_providers.count(provider) == 1, fake_providers.count(provider)
        assert stats["status"] == kind and stats["wasted_calls"] == 1
    if kind == "rate_limit" and "retry_after" in fixture["expected_class"]:
        assert fake_providers.requests(provider)  # the delay itself is checked in the adapter tests


def test_cloudflare_wrong_account_id_is_out_for_the_run_with_a_hint(fake_providers: FakeProviders,  # noqa: F811
                                                                     tmp_path: Path) -> None:
    provider, outcome, _ = fixture_outcome(FIXTURES / "cloudflare-4xx-7003-bad-account-id.json")
    for status in (400, 403, 404):
        fake_providers.reset()
        fake_providers.script(provider, [{**outcome, "status": status}] * 4)
        code, report = run(fake_providers, provider, blog(tmp_path / str(status), 4), tmp_path, keyed=False)
        assert code == 0 and fake_providers.count("cloudflare") == 1
        st = report["providers"]["cloudflare"]
        assert st["status"] == "auth" and st["errors"]["auth"] == 1 and st["errors"]["bad_request"] == 0


def test_gemini_limit_zero_is_out_until_midnight_pacific_and_remembered(fake_providers: FakeProviders,  # noqa: F811
                                                                        tmp_path: Path) -> None:
    provider, outcome, _ = fixture_outcome(FIXTURES / "gemini-429-limit-0-retry-in-text.json")
    fake_providers.script(provider, [outcome] * 4)
    state = tmp_path / "state.json"
    code, report = run(fake_providers, provider, blog(tmp_path, 4), tmp_path, keyed=False,
                       extra=("--state-file", str(state)))
    assert code == 0 and fake_providers.count("gemini") == 1
    assert report["providers"]["gemini"]["status"] == "quota"
    saved = json.loads(state.read_text())["providers"]["gemini"]
    assert saved["reason"] == "quota" and saved["out_until"].endswith(("07:00:00Z", "08:00:00Z"))  # midnight Pacific
