"""Retired models: the provider goes on with its next model, remembered across runs in the state file.

Through the real `imagegen run` (in-process `cli.main`) against the loopback fake, whose
`retired_models` answer with each provider's real "model retired / not served" body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from imagegen import cli, redact
from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401
from tests.helpers import commit_all, init_repo

OLD, NEW = "@cf/old/flux-retired", "@cf/new/flux"


def add_posts(repo: Path, start: int, n: int) -> None:
    for i in range(start, start + n):
        p = repo / "posts" / f"2026-01-{i + 1:02d}-post-{i}.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"---\ntitle: Post {i}\n---\n# Post {i}\n\nA post about lighthouses, part {i}.\n")
    commit_all(repo)


def run(fp: FakeProviders, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str,
        names: tuple[str, ...] = ("cloudflare",)) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    report = tmp_path / "report.json"
    capsys.readouterr()
    try:
        code = cli.main(["run", str(repo), "--describer", "off", "--json-events", "--report", str(report),
                         "--width", "128", "--height", "72", *args], env=fp.env(names=names))
    finally:
        redact.clear()
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    return code, json.loads(report.read_text()), events


def models_called(fp: FakeProviders, name: str = "cloudflare") -> list[str]:
    return [r.path.split("/ai/run/", 1)[-1] for r in fp.requests(name)]


def test_a_retired_model_costs_one_call_then_zero_in_the_next_run(fake_providers: FakeProviders,  # noqa: F811
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour("cloudflare", retired_models=(OLD,))
    repo = init_repo(tmp_path / "blog")
    add_posts(repo, 0, 4)
    state = tmp_path / "state" / "imagegen.json"
    args = ("--providers", "cloudflare", "--cloudflare-image-model", f"{OLD},{NEW}", "--state-file", str(state))

    code, report, events = run(fake_providers, repo, tmp_path, capsys, *args)
    assert code == 0
    assert models_called(fake_providers).count(OLD) == 1  # one call to the retired model, then the next one
    assert [g["model"] for g in report["generated"]] == [NEW] * 4
    for post in (repo / "posts").glob("*.md"):
        fm = yaml.safe_load(post.read_text().split("---")[1])
        assert fm["image_model"] == NEW and fm["image_provider"] == "cloudflare"
    warnings = [e for e in events if e["event"] == "warning" and e.get("retired_model")]
    assert len(warnings) == 1 and warnings[0]["retired_model"] == OLD and warnings[0]["replacement"] == NEW
    assert OLD in warnings[0]["message"] and NEW in warnings[0]["message"]
    st = report["providers"]["cloudflare"]
    assert st["errors"]["retired"] == 1 and st["wasted_calls"] == 1 and st["status"] == "ok"
    saved = json.loads(state.read_text())
    assert list(saved["retired_models"]["cloudflare"]) == [OLD]
    assert saved["retired_models"]["cloudflare"][OLD] > "2026"  # an ISO time, about a week ahead

    # The next run: zero calls to the retired model; it still says once which model stands in.
    add_posts(repo, 4, 3)
    code, report, events = run(fake_providers, repo, tmp_path, capsys, *args)
    assert code == 0 and models_called(fake_providers).count(OLD) == 1
    assert [g["model"] for g in report["generated"]] == [NEW] * 3
    assert report["providers"]["cloudflare"]["errors"]["retired"] == 0
    warnings = [e for e in events if e["event"] == "warning" and e.get("retired_model")]
    assert len(warnings) == 1 and "remembered" in warnings[0]["message"]


def test_a_provider_with_no_model_left_is_out_and_the_chain_goes_on(fake_providers: FakeProviders,  # noqa: F811
                                                                    tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour("cloudflare", retired_models=(OLD, NEW))
    repo = init_repo(tmp_path / "blog")
    add_posts(repo, 0, 3)
    code, report, events = run(fake_providers, repo, tmp_path, capsys, "--providers", "cloudflare,local",
                               "--cloudflare-image-model", f"{OLD},{NEW}")
    assert code == 0
    assert sorted(models_called(fake_providers)) == sorted([OLD, NEW])  # one call per retired model
    assert report["providers"]["cloudflare"]["status"] == "retired"
    assert {g["provider"] for g in report["generated"]} == {"local"} and len(report["generated"]) == 3
    assert [e["provider"] for e in events if e["event"] == "provider_out"] == ["cloudflare"]


@pytest.mark.parametrize("name,models", [
    ("huggingface", "org/retired-model,black-forest-labs/FLUX.1-schnell"),
    ("together", "org/retired-model,black-forest-labs/FLUX.1-schnell"),
    ("pollinations", "retired-model,flux"),
    ("gemini", "gemini-retired-image,gemini-3.1-flash-image"),
])
def test_every_provider_goes_on_with_its_next_model(name: str, models: str, fake_providers: FakeProviders,  # noqa: F811
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = models.split(",")
    fake_providers.set_behaviour(name, retired_models=(old,))
    repo = init_repo(tmp_path / "blog")
    add_posts(repo, 0, 2)
    code, report, _ = run(fake_providers, repo, tmp_path, capsys, "--providers", name, f"--{name}-image-model", models,
                          "--provider-min-interval", f"{name}=0", names=(name,))
    assert code == 0, capsys.readouterr()
    assert [g["model"] for g in report["generated"]] == [new, new]
    assert report["providers"][name]["errors"]["retired"] == 1
    assert sum(1 for r in fake_providers.requests(name) if r.outcome == "retired") == 1
