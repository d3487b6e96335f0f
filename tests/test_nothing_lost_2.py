"""Issue 19: nothing lost, round two (and issue 18's point 7, two runs at once).

Each test provokes one hostile condition with the real thing (real files, real git repositories,
real processes holding real locks) and failed on the code before the fix.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imagegen import lock as locks
from imagegen import pipeline
from imagegen.chain.state import MAX_BYTES, NotSaved, State
from imagegen.testing import VirtualClock
from imagegen.config.settings import load
from imagegen.errors import BusyError
from tests.test_pipeline import POST, Scripted, blog

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
RESET = datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- 2. a newer state file


def test_a_state_file_from_a_newer_version_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    newer = json.dumps({"version": 2, "providers": {}, "memories": {"kept": "by a newer imagegen"}}).encode()
    path.write_bytes(newer)
    warnings: list[str] = []
    state = State.load(path, NOW, warn=warnings.append)
    assert len(warnings) == 1 and "newer imagegen" in warnings[0] and "version 2" in warnings[0]
    state.mark_out("cloudflare", RESET, now=NOW)
    state.remember_prompt("a.md", "a prompt", "alt", NOW)
    assert state.save() == []
    assert path.read_bytes() == newer  # never downgraded


def test_a_run_with_a_newer_state_file_leaves_it_and_says_so_once(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": POST, "s/2026-01-03-b.md": POST})
    path = tmp_path / "state.json"
    newer = b'{"version": 7, "providers": {}}\n'
    path.write_bytes(newer)
    settings = load({"providers": "local", "describer": "off", "state-file": str(path),
                     "prompt-in-frontmatter": "false"}, {}, repo=repo)
    events: list[object] = []
    report = asyncio.run(pipeline.run(settings, providers=[(settings.providers[0], Scripted())], clock=VirtualClock(),
                                      emit=events.append))
    assert len(report.generated) == 2 and path.read_bytes() == newer
    said = [e.message for e in events if e.kind == "warning" and "state file" in e.message]  # type: ignore[attr-defined]
    assert len(said) == 1 and "newer" in said[0]


def test_a_file_that_became_newer_during_the_run_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    State(path, now=NOW).save()
    state = State.load(path, NOW)
    path.write_text('{"version": 3, "providers": {}}')  # a newer imagegen saved meanwhile
    state.mark_out("a", RESET, now=NOW)
    with pytest.raises(NotSaved, match="newer"):
        state.save()
    assert json.loads(path.read_text())["version"] == 3


# --------------------------------------------------------------------------- 3. bounded


def _big_prompt(i: int) -> str:
    return f"prompt {i:05d} " + "a luminous watercolour of a winter fox " * 60  # ~2.4 KB


def test_a_state_file_never_grows_past_what_it_would_refuse_to_read(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = State.load(path, NOW)
    n = 4000  # ~10 MB of cached prompts
    for i in range(n):
        state.remember_prompt(f"posts/{i:05d}.md", _big_prompt(i), f"alt {i}", NOW + timedelta(seconds=i))
    notes = state.save()
    assert path.stat().st_size <= MAX_BYTES
    assert notes and "oldest" in notes[0]
    warnings: list[str] = []
    again = State.load(path, NOW, warn=warnings.append)
    assert warnings == []  # readable: not "not one imagegen wrote"
    kept = sorted(again.prompts)
    assert f"posts/{n - 1:05d}.md" in again.prompts and "posts/00000.md" not in again.prompts  # oldest first
    assert kept == [f"posts/{i:05d}.md" for i in range(n - len(kept), n)]  # exactly the newest survive
    again.remember_prompt("posts/new.md", "p", "a", NOW + timedelta(days=1))
    again.save()  # and the next run saves again (it used to refuse the file for good)
    assert "posts/new.md" in State.load(path, NOW).prompts


# --------------------------------------------------------------------------- 4. two runs, one state file


def test_two_runs_sharing_a_state_file_keep_each_others_prompts(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first, second = State.load(path, NOW), State.load(path, NOW)  # both start before either saves
    for i in range(20):
        first.remember_prompt(f"blog-a/{i}.md", f"prompt a{i}", "", NOW)
        second.remember_prompt(f"blog-b/{i}.md", f"prompt b{i}", "", NOW)
    first.mark_out("cloudflare", RESET, now=NOW)
    second.mark_retired("gemini", "old-model", NOW)
    first.save()
    second.save()
    merged = State.load(path, NOW)
    assert len(merged.prompts) == 40
    assert merged.out_until("cloudflare") is not None and merged.retired_until("gemini", "old-model") is not None


def test_a_merge_applies_only_what_this_run_changed(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    seed = State(path, now=NOW)
    seed.mark_worked("a", NOW)
    seed.mark_worked("b", NOW)
    seed.save()
    first, second = State.load(path, NOW), State.load(path, NOW)
    first.forget_worked("a")  # a failed its setup in the first run
    first.save()
    second.remember_prompt("x.md", "p", "", NOW)  # the second run did not touch `worked`
    second.save()
    final = State.load(path, NOW)
    assert not final.worked_last_run("a") and final.worked_last_run("b") and "x.md" in final.prompts


def _save_many(path: str, who: int, n: int) -> None:
    for i in range(n):
        state = State.load(path, NOW)
        state.remember_prompt(f"{who}/{i}.md", f"prompt {who} {i}", "", NOW)
        state.save()


def test_processes_saving_one_state_file_at_once_lose_nothing(tmp_path: Path) -> None:
    """Real processes racing on the same file: the lock and the merge keep all 4 x 10 entries."""
    path = tmp_path / "state.json"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_save_many, args=(str(path), who, 10)) for who in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert len(State.load(path, NOW).prompts) == 40
    assert sorted(os.listdir(tmp_path)) == ["state.json"]  # no lock or temp file left behind


def test_a_save_waits_a_bounded_time_for_a_held_lock_and_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    holder = locks.FileLock(tmp_path / ".state.json.lock")
    assert holder.try_acquire()
    slept: list[float] = []
    state = State.load(path, NOW)
    state.remember_prompt("a.md", "p", "", NOW)
    with pytest.raises(NotSaved, match=f"process {os.getpid()}"):
        state.save(lock_wait=0.0, sleep=slept.append)
    holder.release()
    state.save()
    assert "a.md" in State.load(path, NOW).prompts


# --------------------------------------------------------------------------- issue 18 point 7: two runs at once


def _settings(repo: Path):
    return load({"providers": "local", "describer": "off"}, {}, repo=repo)


def test_a_second_run_in_the_same_repository_waits_then_names_the_first(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": POST})
    first = locks.repository_lock(repo)
    assert first.try_acquire() and first.path.parent == repo / ".git"
    settings = _settings(repo)
    provider = Scripted()
    events: list[object] = []
    clock = VirtualClock()
    run = pipeline.Run(settings, providers=[(settings.providers[0], provider)], clock=clock, emit=events.append)
    with pytest.raises(BusyError) as caught:
        asyncio.run(run.execute())
    assert f"process {os.getpid()}" in str(caught.value) and "waited 60 s" in str(caught.value)
    assert provider.calls == [] and "![[" not in (repo / "s/2026-01-02-a.md").read_text()
    assert any("another imagegen run" in e.message for e in events if e.kind == "warning")  # type: ignore[attr-defined]
    first.release()


def test_a_second_run_goes_ahead_when_the_first_finishes_in_time(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": POST})
    first = locks.repository_lock(repo)
    assert first.try_acquire()
    settings = _settings(repo)
    clock = VirtualClock()

    async def both() -> object:
        async def finish_first() -> None:
            await clock.sleep(10)
            first.release()

        releaser = asyncio.create_task(finish_first())
        report = await pipeline.Run(settings, providers=[(settings.providers[0], Scripted())], clock=clock).execute()
        await releaser
        return report

    report = asyncio.run(both())
    assert len(report.generated) == 1  # type: ignore[attr-defined]
    assert locks.repository_lock(repo).try_acquire()  # released at the end


def test_a_run_lock_outside_git_is_removed_after_the_run(tmp_path: Path) -> None:
    repo = tmp_path / "vault"
    (repo / "s").mkdir(parents=True)
    (repo / "s/2026-01-02-a.md").write_text(POST)
    settings = _settings(repo)
    report = asyncio.run(pipeline.run(settings, providers=[(settings.providers[0], Scripted())], clock=VirtualClock()))
    assert len(report.generated) == 1 and not (repo / ".imagegen.lock").exists()


def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path) -> None:
    """flock is released by the kernel when its process dies, however it dies."""
    repo = blog(tmp_path, {"s/2026-01-02-a.md": POST})
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()

    def hold_and_die() -> None:
        assert locks.repository_lock(repo).try_acquire()
        ready.set()
        os.kill(os.getpid(), 9)

    p = ctx.Process(target=hold_and_die)
    p.start()
    assert ready.wait(60)
    p.join(60)
    assert p.exitcode == -9
    assert locks.repository_lock(repo).try_acquire()


# --------------------------------------------------------------------------- 5. secrets in every encoding

import base64 as _b64  # noqa: E402
import subprocess  # noqa: E402
from urllib.parse import quote as _quote  # noqa: E402

from imagegen import redact  # noqa: E402
from imagegen.action.runner import Runner  # noqa: E402
from tests.fake_providers import FakeProviders  # noqa: E402
from tests.helpers import run_cli  # noqa: E402

TOKEN = "cfTOKEN-s3cr3t+/value~0123456789"


def encodings(secret: str) -> dict[str, str]:
    """How a secret comes back from a server, written independently of imagegen.redact."""
    raw = secret.encode()
    b64 = _b64.b64encode(raw).decode()
    basic = _b64.b64encode(b"x-access-token:" + raw).decode()  # git's and GitHub's basic auth
    return {"raw": secret, "base64": b64, "base64-unpadded": b64.rstrip("="),
            "base64url": _b64.urlsafe_b64encode(raw).decode(), "base64url-unpadded": _b64.urlsafe_b64encode(raw).decode().rstrip("="),
            "hex": raw.hex(), "HEX": raw.hex().upper(), "url": _quote(secret, safe=""),
            "url-lower": _quote(secret, safe="").replace("%2B", "%2b").replace("%2F", "%2f"),
            "basic-auth": basic, "basic-auth-unpadded": basic.rstrip("="),
            "bearer-base64": _b64.b64encode(b"Bearer " + raw + b"\n").decode()}


def leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    """The encodings of any secret in `text`; for a secret inside a longer base64 text, the
    decoded text is searched too (what a reader would do with it)."""
    found = [f"{name} of {s[:6]}..." for s in secrets for name, form in encodings(s).items() if form in text]
    for chunk in __import__("re").findall(r"[A-Za-z0-9+/_-]{16,}={0,2}", text):
        for fix in (chunk, chunk + "=", chunk + "=="):
            try:
                decoded = _b64.b64decode(fix.replace("-", "+").replace("_", "/"), validate=True)
            except ValueError:
                continue
            found += [f"base64 inside {chunk[:12]}..." for s in secrets if s.encode() in decoded]
    return found


@pytest.fixture
def clean_registry():
    redact.clear()
    yield
    redact.clear()


@pytest.mark.parametrize("name", sorted(encodings(TOKEN)))
def test_every_standard_encoding_of_a_secret_is_scrubbed(name: str, clean_registry: None) -> None:
    redact.register(TOKEN)
    form = encodings(TOKEN)[name]
    text = f'{{"errors":[{{"code":5006,"message":"credential {form} rejected"}}]}}'
    out = redact.redact(text)
    assert not leaks(out, (TOKEN,)) and "***" in out and "credential" in out and "rejected" in out


def test_the_action_masks_every_encoding_of_a_secret(clean_registry: None) -> None:
    import io

    out = io.StringIO()
    Runner({}, out).mask(TOKEN)
    masked = {line.removeprefix("::add-mask::").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
              for line in out.getvalue().splitlines()}  # as the runner reads a command's data
    for name, form in encodings(TOKEN).items():
        if name in ("basic-auth", "basic-auth-unpadded", "bearer-base64"):
            assert any(m in form for m in masked), name  # the secret's stable middle is masked
        else:
            assert form in masked, name


def _cloudflare_echo(token: str) -> dict[str, object]:
    """Cloudflare's answer to a rejected credential, quoting it base64-encoded."""
    cred = _b64.b64encode(token.encode()).decode()
    return {"kind": "raw", "status": 400,
            "body": {"result": None, "success": False, "messages": [],
                     "errors": [{"code": 5006, "message": f"credential {cred} rejected"}]}}


def test_a_secret_echoed_base64_encoded_reaches_no_output_of_the_command(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": POST})
    report = tmp_path / "report.json"
    with FakeProviders(time_scale=0.001) as fp:
        fp.script("cloudflare", [_cloudflare_echo(TOKEN)] * 5)
        env = fp.env(["cloudflare"], CLOUDFLARE_API_TOKEN=TOKEN)
        r = run_cli("run", str(repo), "--providers", "cloudflare", "--describer", "off", "--report", str(report),
                    env=env)
    texts = {"stdout": r.stdout, "stderr": r.stderr, "report": report.read_text()}
    assert "credential" in r.stdout + r.stderr + texts["report"]  # the message itself is kept
    for where, text in texts.items():
        assert not leaks(text, (TOKEN,)), where


def test_secrets_echoed_base64_encoded_reach_no_output_of_the_action(tmp_path: Path) -> None:
    """Together quotes its key base64-encoded, GitHub its token inside basic auth: neither reaches
    the log, the outputs, the job summary or stderr."""
    from tests.fake_github import FakeGitHub
    from tests.test_action_e2e import (ALPHA, GH_TOKEN, SECRETS, TG_TOKEN, HostRunner, make_harness, post,
                                       providers_env)

    with FakeProviders(time_scale=0.001) as fp:
        gh_box: list[FakeGitHub] = []

        def factory(origin: Path) -> FakeGitHub:
            gh_box.append(FakeGitHub(origin, tokens={GH_TOKEN: "write"}).start())
            return gh_box[0]

        h = make_harness(tmp_path, HostRunner(), fp, factory)
        try:
            cred = _b64.b64encode(TG_TOKEN.encode()).decode()
            fp.script("together", [{"kind": "raw", "status": 401, "body": {"error": {
                "message": f"Invalid API key provided: {cred}", "type": "invalid_request_error"}}}])
            basic = _b64.b64encode(f"x-access-token:{GH_TOKEN}".encode()).decode()
            h.gh.inject("PATCH", r"/git/refs/heads/main", 422, f"Update refused for credentials Basic {basic}")
            _, _, event = h.push_from_elsewhere({"blog/2026-02-01-one.md": post("One"),
                                                 "blog/2026-02-02-two.md": post("Two")})
            h.checkout()
            res = h.run({"providers": "together,cloudflare", "cloudflare-api-token": "cfSECRETtoken-0123456789abcdef",
                         "cloudflare-account-id": "acctSECRET-4242", "max-images": "2"},
                        event=event, env=providers_env(fp))
        finally:
            for gh in gh_box:
                gh.stop()
    assert "Invalid API key" in res.stdout + res.summary and "Update refused" in res.stdout + res.stderr
    log = "\n".join(line for line in res.stdout.splitlines() if not line.startswith("::add-mask::"))
    for where, text in {"log": log, "stderr": res.stderr, "outputs": json.dumps(res.outputs),
                        "summary": res.summary}.items():
        assert not leaks(text, SECRETS), where
    assert ALPHA  # the blog's own posts were left as they were


# --------------------------------------------------------------------------- 13-15. settings say the bound, refuse early

from imagegen.errors import SettingsError  # noqa: E402


@pytest.mark.parametrize("raw, name, said", [
    ({"width": "9" * 30}, "width", "must be at most 4096"),
    ({"width": "9" * 400}, "width", "must be at most 4096"),
    ({"width": "-" + "9" * 40}, "width", "must be at least 64"),
    ({"concurrency": "0" * 29 + "65"}, "concurrency", "must be at most 64"),
    ({"provider-budget": "local=" + "9" * 35}, "provider-budget", "must be at most 1000000"),
    ({"provider-timeout": "local=" + "9" * 35}, "provider-timeout", "must be at most 3600"),
])
def test_a_number_with_many_digits_is_told_its_bound(tmp_path: Path, raw: dict[str, str], name: str, said: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load({"providers": "local", **raw}, {}, repo=tmp_path)
    text = str(caught.value)
    assert text.startswith(f"{name}: ") and said in text and "whole number" not in text and len(text) < 200


@pytest.mark.parametrize("template, said", [
    ("{title:{body}}", "nested"),
    ("{title!z}", "conversion"),
    ("{title:>300000000}", "at most"),
    ("{title:.99999999999}", "at most"),
    ("{title:d}", "{title:d}"),
    ("{title:=^x}", "{title:=^x}"),
])
def test_a_prompt_template_that_cannot_format_is_refused_up_front(tmp_path: Path, template: str, said: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load({"providers": "local", "prompt-template": template}, {}, repo=tmp_path)
    assert str(caught.value).startswith("prompt-template: ") and said in str(caught.value)


def test_a_refused_template_exits_2_before_any_post_fails(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": POST})
    r = run_cli("run", str(repo), "--providers", "local", "--prompt-template", "{title:{body}}")
    assert r.returncode == 2 and "internal error" not in r.stdout + r.stderr
    assert "prompt-template" in r.stderr and (repo / "s/2026-01-02-a.md").read_text() == POST


def test_a_sane_format_spec_still_works(tmp_path: Path) -> None:
    settings = load({"providers": "local", "prompt-template": "{title:.5} and {tags!s:<3} {body:.100}"}, {},
                    repo=tmp_path)
    assert settings.prompt_template


@pytest.mark.parametrize("name, env", [
    ("attachments-dir", "IMAGEGEN_ATTACHMENTS_DIR"),
    ("report", "IMAGEGEN_REPORT"),
    ("state-file", "IMAGEGEN_STATE_FILE"),
    ("paths", "IMAGEGEN_PATHS"),
    ("posts", "IMAGEGEN_POSTS"),
    ("exclude", "IMAGEGEN_EXCLUDE"),
    ("image-url-prefix", "IMAGEGEN_IMAGE_URL_PREFIX"),
])
@pytest.mark.parametrize("bad", ["att\nach", "att\rach", "att\x00ach", "att\x1bach", "att\u2028ach", "a\tb"])
def test_control_characters_are_refused_in_every_path_setting(tmp_path: Path, name: str, env: str, bad: str) -> None:
    (tmp_path / "att\nach").mkdir(exist_ok=True) if "\x00" not in bad else None
    value = bad if name not in ("paths", "posts", "exclude") else bad.replace("\n", "\x0b")  # a list splits at \n
    with pytest.raises(SettingsError) as caught:
        load({"providers": "local"}, {env: value}, repo=tmp_path)
    assert str(caught.value).startswith(f"{name}: ") and "control character" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_line_break_in_the_attachments_folder_writes_no_split_embed(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": POST})
    r = run_cli("run", str(repo), "--providers", "local", env={"IMAGEGEN_ATTACHMENTS_DIR": "att\nach"})
    assert r.returncode == 2 and "attachments-dir" in r.stderr
    assert (repo / "s/2026-01-02-a.md").read_text() == POST and not (repo / "att\nach").exists()


def test_the_settings_file_is_held_to_the_same_rule(tmp_path: Path) -> None:
    (tmp_path / ".imagegen.toml").write_text('attachments-dir = "att\\nach"\n')
    with pytest.raises(SettingsError, match="attachments-dir: .*control character"):
        load({"providers": "local"}, {}, repo=tmp_path)
