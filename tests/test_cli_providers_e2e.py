"""Each real provider, end to end through `imagegen run`, against the fake provider server.

Sentinel secrets are used as credentials, and no output of the run (stdout, stderr, the report,
the posts, the events) may contain any of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_providers import SENTINELS, FakeProviders, fake_providers  # noqa: F401
from tests.helpers import assert_consistent, run_cli, small_blog, snapshot

_blog = small_blog


def _env(fp: FakeProviders) -> dict[str, str]:
    env = fp.env()
    env.update(SENTINELS)  # sentinel credentials: they must never show up anywhere
    return env


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for name, value in SENTINELS.items():
            assert value not in text, f"{name} leaked"


@pytest.mark.parametrize("provider", ["cloudflare", "huggingface", "together", "pollinations", "gemini"])
def test_each_provider_end_to_end(provider: str, fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    repo = _blog(tmp_path)
    before = snapshot(repo)
    report_path = tmp_path / "report.json"
    r = run_cli("run", str(repo), "--providers", provider, "--describer", "off", "--report", str(report_path),
                "--provider-min-interval", f"{provider}=0", "--json-events", env=_env(fake_providers))
    assert r.returncode == 0, r.stderr
    report_text = report_path.read_text()
    report = json.loads(report_text)
    assert len(report["generated"]) == 2, report
    assert {g["provider"] for g in report["generated"]} == {provider}
    assert report["providers"][provider]["images"] == 2
    assert fake_providers.count(provider) == 2
    assert_consistent(repo, before)
    posts = "".join(p.read_text() for p in repo.rglob("*.md"))
    _assert_no_secret(r.stdout, r.stderr, report_text, posts)


def test_full_chain_falls_through_to_the_next_provider(fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    fake_providers.set_behaviour("cloudflare", default="quota")
    fake_providers.set_behaviour("huggingface", default="auth")
    fake_providers.script("together", ["echo"])  # a 400 that quotes the request (and its headers) back
    repo = _blog(tmp_path, 3)
    report_path = tmp_path / "report.json"
    r = run_cli("run", str(repo), "--describer", "off", "--report", str(report_path), "--concurrency", "1",
                "--provider-min-interval", "pollinations=0", env=_env(fake_providers))
    assert r.returncode == 0, r.stderr
    report_text = report_path.read_text()
    report = json.loads(report_text)
    assert len(report["generated"]) == 3
    providers = {g["provider"] for g in report["generated"]}
    assert providers <= {"together", "pollinations"} and "gemini" not in providers
    stats = report["providers"]
    assert stats["cloudflare"]["errors"]["quota"] >= 1 and stats["huggingface"]["errors"]["auth"] >= 1
    assert stats["together"]["errors"]["bad_request"] == 1
    _assert_no_secret(r.stdout, r.stderr, report_text)


def test_describer_prompt_is_used_and_recorded(fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    repo = _blog(tmp_path, 1)
    report_path = tmp_path / "report.json"
    r = run_cli("run", str(repo), "--providers", "cloudflare", "--report", str(report_path), env=_env(fake_providers))
    assert r.returncode == 0, r.stderr
    (g,) = json.loads(report_path.read_text())["generated"]
    assert g["prompt_source"].startswith("describer:gemini-")
    assert fake_providers.count("gemini") == 1  # the text model, not the image model
    text = (repo / g["post"]).read_text()
    assert "image_prompt: " in text and g["prompt"] in text.replace('\\"', '"')
