"""Hugging Face end to end: the partner we choose, what the state file remembers about partners,
one image check for every provider, and a Hub that never answers -- through the real
`imagegen run` and `imagegen doctor` against the loopback fake (issue 16 point 2; issue 19 items
9 and 11)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagegen import cli, redact
from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401
from tests.helpers import ROOT, init_repo, run_cli
from tests.test_model_fallback import add_posts, run
from tests.test_providers_huggingface import b64, png_of_size

NAME = "huggingface"
MODEL = "black-forest-labs/FLUX.1-schnell"


def doctor(fp: FakeProviders, repo: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = cli.main(["doctor", str(repo), "--providers", NAME, *args], env=fp.env(names=(NAME,)))
    finally:
        redact.clear()
    out = capsys.readouterr()
    return code, out.out + out.err


def model_line(out: str, model: str = MODEL) -> str:
    found = [ln for ln in out.splitlines() if ln.startswith(NAME) and f"model {model}" in ln]
    assert found, out
    return found[0]


def partners_called(fp: FakeProviders) -> list[str]:
    return [r.path.split("/")[1] for r in fp.requests(NAME)]


def test_a_partner_that_does_not_serve_the_model_costs_one_call_then_none_in_later_runs(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    fp = fake_providers
    fp.set_behaviour(NAME, hub_mapping=((MODEL, "nscale"), (MODEL, "together")), partner_outcomes=(("nscale", "retired"),))
    repo = init_repo(tmp_path / "blog")
    add_posts(repo, 0, 3)
    state = tmp_path / "state.json"
    args = ("--providers", NAME, "--state-file", str(state), "--concurrency", "1")
    code, report, events = run(fp, repo, tmp_path, capsys, *args, names=(NAME,))
    assert code == 0 and len(report["generated"]) == 3
    assert {g["model"] for g in report["generated"]} == {MODEL}  # the model is not retired: another partner has it
    assert partners_called(fp) == ["nscale", "together", "together", "together"]
    [warning] = [e for e in events if e["event"] == "warning" and e.get("source") == "route"]
    assert warning["route"] == "partner nscale" and warning["replacement"] == "together"
    saved = json.loads(state.read_text())
    assert list(saved["retired_models"]) == ["huggingface@nscale"]
    assert list(saved["retired_models"]["huggingface@nscale"]) == [MODEL]
    # doctor, from the same state file: nscale is not asked, together serves the model
    code, out = doctor(fp, repo, capsys, "--state-file", str(state))
    assert code == 0 and "served by together" in model_line(out)
    assert "nscale answered 'not served', not asked until" in model_line(out)
    # the next run: not one call to nscale
    fp.reset()
    fp.set_behaviour(NAME, hub_mapping=((MODEL, "nscale"), (MODEL, "together")), partner_outcomes=(("nscale", "retired"),))
    add_posts(repo, 3, 2)
    code, report, events = run(fp, repo, tmp_path, capsys, *args, names=(NAME,))
    assert code == 0 and len(report["generated"]) == 2
    assert partners_called(fp) == ["together", "together"]
    assert not [e for e in events if e["event"] == "warning" and e.get("source") == "route"]


def test_the_account_order_decides_and_doctor_says_it(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fp = fake_providers
    fp.set_behaviour(NAME, hub_mapping=((MODEL, "nscale", "error"), (MODEL, "hf-inference"), (MODEL, "together")))
    repo = init_repo(tmp_path / "blog")
    code, out = doctor(fp, repo, capsys)
    assert code == 0 and "served by hf-inference, together in this order" in model_line(out)
    assert all(a == "Bearer hf_fake0001" for a in fp.hub_auth)
    add_posts(repo, 0, 1)
    code, report, _ = run(fp, repo, tmp_path, capsys, "--providers", NAME, names=(NAME,))
    assert code == 0 and partners_called(fp) == ["hf-inference"]


def test_no_partner_left_retires_the_model_and_doctor_agrees(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    fp = fake_providers
    dev = "black-forest-labs/FLUX.1-dev"
    fp.set_behaviour(NAME, hub_mapping=((MODEL, "nscale"), (dev, "together")), partner_outcomes=(("nscale", "retired"),))
    repo = init_repo(tmp_path / "blog")
    add_posts(repo, 0, 2)
    state = tmp_path / "state.json"
    code, report, _ = run(fp, repo, tmp_path, capsys, "--providers", NAME, "--state-file", str(state), names=(NAME,))
    assert code == 0 and [g["model"] for g in report["generated"]] == [dev, dev]
    assert partners_called(fp) == ["nscale", "together", "together"]
    saved = json.loads(state.read_text())["retired_models"]
    assert list(saved["huggingface"]) == [MODEL] and list(saved["huggingface@nscale"]) == [MODEL]
    code, out = doctor(fp, repo, capsys, "--state-file", str(state))
    assert "PROBLEM" in model_line(out) and "served by together" in model_line(out, dev)


# --------------------------------------------------------------------------- one image check (issue 19, item 11)


@pytest.mark.parametrize("size", [(9000, 9000), (20000, 20000)])
def test_an_oversized_image_is_a_bad_image_from_hugging_face_as_from_cloudflare(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        size: tuple[int, int]) -> None:
    """The same bytes, the same outcome: one call, a bad image, the post goes to the next provider."""
    fp = fake_providers
    data = b64(png_of_size(*size))
    outcomes = {}
    for provider, body in ((NAME, {"data": [{"b64_json": data}]}),
                           ("cloudflare", {"result": {"image": data}, "success": True, "errors": [], "messages": []})):
        fp.reset()
        fp.script(provider, [{"kind": "raw", "status": 200, "body": body}])
        repo = init_repo(tmp_path / provider)
        add_posts(repo, 0, 1)
        code, report, events = run(fp, repo, tmp_path, capsys, "--providers", f"{provider},card",
                                   names=(provider,))
        outcomes[provider] = (code, report["providers"][provider]["errors"], [g["provider"] for g in report["generated"]])
        assert fp.count(provider) == 1, provider  # no retry of a bad image
    hf, cf = outcomes[NAME], outcomes["cloudflare"]
    assert hf[0] == cf[0] == 0 and hf[2] == cf[2] == ["card"]
    assert hf[1]["bad_image"] == cf[1]["bad_image"] == 1 and hf[1]["transient"] == 0


# --------------------------------------------------------------------------- a Hub that never answers (issue 19, item 9)


def test_a_stalled_hub_lookup_ends_the_run_within_its_deadline(fake_providers: FakeProviders,  # noqa: F811
                                                               tmp_path: Path) -> None:
    """The Hub sends headers, then a byte every 50 ms, forever. Before: the lookup ran in a worker
    thread with no timeout of its own and the process never exited. Now: one deadline, Hugging
    Face is out for the run, the other provider makes the covers, the report is written."""
    fp = fake_providers
    fp.set_behaviour(NAME, hub_stall=True)
    repo = init_repo(tmp_path / "blog")
    add_posts(repo, 0, 3)
    report = tmp_path / "report.json"
    env = fp.env(names=(NAME,))
    t0 = time.monotonic()
    r = run_cli("run", str(repo), "--providers", f"{NAME},card", "--provider-timeout", f"{NAME}=1",
                "--describer", "off", "--report", str(report), env=env)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert took < 30, took
    data = json.loads(report.read_text())
    assert [g["provider"] for g in data["generated"]] == ["card"] * 3
    assert data["providers"][NAME]["status"] == "unavailable" and fp.hub_calls == [MODEL]
    assert "provider mapping" in r.stdout + r.stderr


def test_doctor_says_so_when_the_hub_does_not_answer(fake_providers: FakeProviders, tmp_path: Path,  # noqa: F811
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fake_providers.set_behaviour(NAME, hub_stall=True)
    code, out = doctor(fake_providers, init_repo(tmp_path / "blog"), capsys, "--provider-timeout", f"{NAME}=1")
    assert code == 1 and "PROBLEM" in model_line(out) and "could not be read" in model_line(out)


def test_a_worker_thread_that_never_returns_does_not_hold_the_process() -> None:
    """Whatever a thread started with asyncio.to_thread is doing, the run's loop (imagegen.aio)
    returns when its work is done and the process exits."""
    code = (
        "import asyncio, threading\n"
        "from imagegen import aio\n"
        "async def main():\n"
        "    try:\n"
        "        await asyncio.wait_for(asyncio.to_thread(threading.Event().wait), 0.2)\n"
        "    except TimeoutError:\n"
        "        return 'gave up'\n"
        "print(aio.run(main()))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == "gave up", r.stderr


@pytest.mark.parametrize("download,status,errors", [("ok", "ok", {}), ("huge", "ok", {"bad_image": 2}),
                                                    ("redirect", "unavailable", {"unavailable": 1})])
def test_a_partner_that_answers_a_url_stays_inside_our_limits_end_to_end(
        fake_providers: FakeProviders, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        download: str, status: str, errors: dict[str, int]) -> None:
    """fal-ai answers a URL that huggingface_hub downloads in a worker thread, through our hooks:
    an oversized body is a bad image (this post only), a redirect takes Hugging Face out for the run."""
    fp = fake_providers
    fp.set_behaviour(NAME, hub_mapping=((MODEL, "fal-ai", "live", "fal-ai/flux/schnell"),), download=download)
    repo = init_repo(tmp_path / "blog")
    add_posts(repo, 0, 2)
    code, report, _ = run(fp, repo, tmp_path, capsys, "--providers", f"{NAME},card", "--concurrency", "1",
                          names=(NAME,))
    assert code == 0 and report["providers"][NAME]["status"] == status
    assert [g["provider"] for g in report["generated"]] == [NAME if not errors else "card"] * 2
    assert {k: n for k, n in report["providers"][NAME]["errors"].items() if n} == errors
    assert len(fp.downloads) == (2 if download != "redirect" else 1)
