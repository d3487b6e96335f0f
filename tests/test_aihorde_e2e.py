"""AI Horde end to end: the real `imagegen run` and `imagegen doctor` (in-process, on a virtual
clock: the queue's waits take no real time) against the loopback fake's AI Horde, whose answers
are built from the horde's published API schema, not recorded live (see tests/fake_providers.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagegen import cli, redact
from imagegen.testing import VirtualClock
from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401
from tests.helpers import init_repo
from tests.test_model_fallback import add_posts

NAME = "aihorde"
FIRST, SECOND = "AlbedoBase XL (SDXL)", "Juggernaut XL"


def run(fp: FakeProviders, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str,
        env: dict[str, str] | None = None, json_events: bool = True) -> tuple[int, dict[str, Any], list[Any], str]:
    """`imagegen run` with only AI Horde's base URL set (no key anywhere), unless `env` says more."""
    report = tmp_path / "report.json"
    capsys.readouterr()
    try:
        code = cli.main(["run", str(repo), "--describer", "off", "--report", str(report), "--concurrency", "1",
                         "--width", "128", "--height", "72", *(["--json-events"] if json_events else []), *args],
                        env=fp.env(names=(NAME,)) if env is None else env, clock=VirtualClock())
    finally:
        redact.clear()
    out = capsys.readouterr()
    events = [json.loads(line) for line in out.err.splitlines() if line.startswith("{")]
    return code, json.loads(report.read_text()), events, out.out + out.err


def doctor(fp: FakeProviders, repo: Path, capsys: pytest.CaptureFixture[str], **env: str) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = cli.main(["doctor", str(repo)], env={**fp.env(names=(NAME,)), **env})
    finally:
        redact.clear()
    out = capsys.readouterr()
    return code, out.out + out.err


def line(out: str, what: str) -> str:
    found = [ln for ln in out.splitlines() if ln.startswith(NAME) and what in ln]
    assert found, (what, out)
    return found[0]


def submits(fp: FakeProviders) -> list[str]:
    """The model of each request made (`POST generate/async`)."""
    return [r.json["models"][0] for r in fp.requests(NAME) if r.method == "POST"]


def blog(tmp_path: Path, n: int) -> Path:
    repo = init_repo(tmp_path / "blog")
    add_posts(repo, 0, n)
    return repo


def test_a_blogger_without_any_key_gets_ai_covers_and_sees_the_queue(fake_providers: FakeProviders,  # noqa: F811
                                                                    tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    repo = blog(tmp_path, 2)
    code, report, events, _ = run(fake_providers, repo, tmp_path, capsys)
    assert code == 0 and [g["provider"] for g in report["generated"]] == [NAME, NAME]
    assert submits(fake_providers) == [FIRST, FIRST]
    queued = [e for e in events if e["event"] == "queued"]
    assert [(e["position"], e["wait"]) for e in queued] == [(2, 12.0), (1, 4.0)] * 2
    assert all(e["provider"] == NAME and e["post"].startswith("posts/") for e in queued)
    [said] = [e["message"] for e in events if e["event"] == "warning"]  # once, before any cover
    assert said.startswith("no provider key is set, so AI Horde makes the covers") and "see the prompts" in said
    # the same run, as a person reads it
    fake_providers.reset()
    (repo / "posts").joinpath("2026-02-01-late.md").write_text("---\ntitle: Late\n---\n# Late\n\nA late post.\n")
    code, _, _, text = run(fake_providers, repo, tmp_path, capsys, json_events=False)
    assert code == 0
    assert "waiting in AI Horde's queue for posts/2026-02-01-late.md: position 2 in the queue, about 12 s to go" in text


def test_with_another_ai_provider_configured_the_horde_stays_out(fake_providers: FakeProviders,  # noqa: F811
                                                                 tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    env = {**fake_providers.env(names=("cloudflare",)), **fake_providers.env(names=(NAME,))}
    code, report, events, _ = run(fake_providers, blog(tmp_path, 2), tmp_path, capsys, env=env)
    assert code == 0 and {g["provider"] for g in report["generated"]} == {"cloudflare"}
    assert fake_providers.count(NAME) == 0 and not [e for e in events if e["event"] == "warning"]
    # a key given but not all it needs: the user meant Cloudflare; prompts do not go to volunteers instead
    half = {"CLOUDFLARE_API_TOKEN": "fake-cf-token-0001", **fake_providers.env(names=(NAME,))}
    capsys.readouterr()
    try:
        assert cli.main(["run", str(blog(tmp_path / "half", 1))], env=half, clock=VirtualClock()) == cli.EXIT_SETTINGS
    finally:
        redact.clear()
    assert "CLOUDFLARE_ACCOUNT_ID is missing" in capsys.readouterr().err and fake_providers.count(NAME) == 0


def test_a_model_no_worker_serves_now_is_skipped_for_this_run_only(fake_providers: FakeProviders,  # noqa: F811
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    fp = fake_providers
    fp.script(NAME, ["impossible"])
    repo = blog(tmp_path, 2)
    state = tmp_path / "state.json"
    code, report, events, _ = run(fp, repo, tmp_path, capsys, "--state-file", str(state))
    assert code == 0 and [g["model"] for g in report["generated"]] == [SECOND, SECOND]
    assert submits(fp) == [FIRST, SECOND, SECOND]
    assert [r.outcome for r in fp.requests(NAME)][:3] == ["impossible", "check", "cancel"]  # no volunteer waits for it
    assert any(e["event"] == "warning" and e.get("retired_model") == FIRST for e in events)
    assert NAME not in json.loads(state.read_text()).get("retired_models", {})  # not remembered: workers come and go
    fp.reset()
    add_posts(repo, 2, 1)
    code, report, _, _ = run(fp, repo, tmp_path, capsys, "--state-file", str(state))
    assert code == 0 and submits(fp) == [FIRST]


def test_a_faulted_request_is_retried_then_the_post_moves_on(fake_providers: FakeProviders,  # noqa: F811
                                                             tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour(NAME, default="faulted")
    code, report, events, _ = run(fake_providers, blog(tmp_path, 1), tmp_path, capsys)
    assert code == 1 and not report["generated"] and len(report["failed"]) == 1  # a network-like failure, said
    assert len(submits(fake_providers)) == 3  # the first try and two retries
    assert report["providers"][NAME]["errors"]["transient"] == 3
    assert [e["reason"] for e in events if e["event"] == "retry"] == ["transient", "transient"]
    # with another provider there, the post does not wait for the retry
    fake_providers.reset()
    fake_providers.set_behaviour(NAME, default="faulted")
    code, report, events, _ = run(fake_providers, blog(tmp_path / "2", 1), tmp_path, capsys, "--providers",
                                  "aihorde,card")
    assert code == 0 and [g["provider"] for g in report["generated"]] == ["card"]


@pytest.mark.parametrize("outcome,status", [("kudos", "unavailable"), ("maintenance", "unavailable"),
                                            ("blocked", "unavailable")])
def test_kudos_too_low_or_a_closed_horde_is_out_for_this_run_not_longer(fake_providers: FakeProviders,  # noqa: F811
                                                                       tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str],
                                                                       outcome: str, status: str) -> None:
    fp = fake_providers
    fp.set_behaviour(NAME, default=outcome)
    repo = blog(tmp_path, 3)
    state = tmp_path / "state.json"
    code, report, events, _ = run(fp, repo, tmp_path, capsys, "--providers", "aihorde,card", "--state-file",
                                  str(state))
    assert code == 0 and [g["provider"] for g in report["generated"]] == ["card"] * 3
    assert len(submits(fp)) == 1 and report["providers"][NAME]["status"] == status
    [out] = [e for e in events if e["event"] == "provider_out"]
    assert out["provider"] == NAME and (outcome != "kudos" or "kudos too low" in out["message"])
    saved = json.loads(state.read_text())
    assert NAME not in saved.get("providers", {})  # the next run asks again
    fp.reset()
    add_posts(repo, 3, 1)
    run(fp, repo, tmp_path, capsys, "--providers", "aihorde,card", "--state-file", str(state))
    assert len(submits(fp)) == 1


def test_a_rate_limit_waits_the_horde_s_delay(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                              capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.script(NAME, [{"kind": "rate_limit", "retry_after": 5}])
    code, report, events, _ = run(fake_providers, blog(tmp_path, 1), tmp_path, capsys)
    assert code == 0 and [g["provider"] for g in report["generated"]] == [NAME]
    [retry] = [e for e in events if e["event"] == "retry"]
    assert retry["reason"] == "rate_limit" and retry["wait"] == 5


def test_a_cover_that_never_leaves_the_queue_ends_at_its_deadline(fake_providers: FakeProviders,  # noqa: F811
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour(NAME, default="stall")
    code, report, _, _ = run(fake_providers, blog(tmp_path, 2), tmp_path, capsys, "--providers", "aihorde,card",
                             "--provider-timeout", "aihorde=120")
    assert code == 0 and [g["provider"] for g in report["generated"]] == ["card", "card"]
    assert report["providers"][NAME]["status"] == "unavailable" and len(submits(fake_providers)) == 1
    assert [r.outcome for r in fake_providers.requests(NAME)][-1] == "cancel"


@pytest.mark.parametrize("outcome", ["censored", "refused"])
def test_a_censored_image_or_a_refused_prompt_goes_to_the_next_provider(fake_providers: FakeProviders,  # noqa: F811
                                                                        tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str],
                                                                        outcome: str) -> None:
    fake_providers.script(NAME, [outcome])
    code, report, _, _ = run(fake_providers, blog(tmp_path, 2), tmp_path, capsys, "--providers", "aihorde,card")
    assert code == 0 and sorted(g["provider"] for g in report["generated"]) == ["aihorde", "card"]
    assert report["providers"][NAME]["errors"]["refused"] == 1


def test_a_rejected_key_fails_the_run_and_doctor_says_why(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fp = fake_providers
    fp.set_behaviour(NAME, token="the-right-key-123")
    repo = blog(tmp_path, 2)
    env = {**fp.env(names=(NAME,)), "AIHORDE_API_KEY": "a-wrong-key-456"}
    code, report, _, _ = run(fp, repo, tmp_path, capsys, env=env)
    assert code == 1 and not report["generated"] and len(submits(fp)) == 1
    code, out = doctor(fp, repo, capsys, AIHORDE_API_KEY="a-wrong-key-456")
    assert code == 1 and "PROBLEM" in line(out, "API key") and "AIHORDE_API_KEY" in line(out, "API key")


def test_doctor_says_who_sees_the_prompts_and_which_models_are_served(fake_providers: FakeProviders,  # noqa: F811
                                                                      tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fp = fake_providers
    repo = init_repo(tmp_path / "blog")
    code, out = doctor(fp, repo, capsys)
    assert code == 0
    assert "volunteer workers" in line(out, "anonymous key") and "LAION" in line(out, "anonymous key")
    assert "3 volunteer worker(s)" in line(out, f"model {FIRST}")
    fp.set_behaviour(NAME, retired_models=(FIRST,))
    code, out = doctor(fp, repo, capsys, AIHORDE_API_KEY="registered-key-789")
    assert code == 0 and "1234 kudos" in line(out, "API key of blogger#4242")
    assert "volunteer workers" in line(out, "API key of blogger#4242")
    assert "PROBLEM" in line(out, f"model {FIRST}") and "no volunteer worker" in line(out, f"model {FIRST}")
    assert fp.count(NAME) == 0  # doctor makes no image
