"""Issue 19: nothing lost, round two (and issue 18's point 7, two runs at once).

Each test provokes one hostile condition with the real thing (real files, real git repositories,
real processes holding real locks) and failed on the code before the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

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



@contextlib.contextmanager
def _action_harness(tmp_path: Path) -> Iterator[tuple[Any, FakeProviders]]:
    """The action end to end: the loopback providers and an independent fake GitHub (stopped after)."""
    from tests.fake_github import FakeGitHub
    from tests.test_action_e2e import GH_TOKEN, HostRunner, make_harness

    with FakeProviders(time_scale=0.001) as fp:
        box: list[FakeGitHub] = []

        def factory(origin: Path) -> FakeGitHub:
            box.append(FakeGitHub(origin, tokens={GH_TOKEN: "write"}).start())
            return box[0]

        h = make_harness(tmp_path, HostRunner(), fp, factory)
        try:
            yield h, fp
        finally:
            for gh in box:
                gh.stop()

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
    from tests.test_action_e2e import ALPHA, GH_TOKEN, SECRETS, TG_TOKEN, post, providers_env

    with _action_harness(tmp_path) as (h, fp):
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


# --------------------------------------------------------------------------- 16. odd images

import io  # noqa: E402

from PIL import Image  # noqa: E402

from imagegen import images  # noqa: E402
from imagegen.images.overlay import CoverText  # noqa: E402
from imagegen.providers.card import render_card  # noqa: E402


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    im = Image.new(mode, size, (40, 90, 160) if mode == "RGB" else (40, 90, 160, 255))
    im.paste((250, 240, 10) if mode == "RGB" else (250, 240, 10, 255), (size[0] // 3, 0, size[0] // 3 + 3, size[1]))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("size", [(10000, 10), (10, 10000), (2, 3000), (5000, 1)])
def test_a_sliver_of_an_image_crops_smart(size: tuple[int, int]) -> None:
    got = images.finish(images.checked_image(_png(size)), images.Output(1200, 630, "png", crop="smart"))
    assert (got.width, got.height) == (1200, 630)


def _jpeg_with_corrupt_exif() -> bytes:
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x0e\x00\x02\xff\xff\xff\xf0\x00\x00\x00\x00"
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 60, 60)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_jpeg_with_corrupt_exif_prints_nothing_on_stderr(tmp_path: Path) -> None:
    """In a fresh process, as a user runs it: Pillow's warnings about the broken block are noise."""
    src = tmp_path / "bad.jpg"
    src.write_bytes(_jpeg_with_corrupt_exif())
    code = ("import sys; from pathlib import Path; from imagegen import images; "
            "im = images.checked_image(Path(sys.argv[1]).read_bytes(), provider='p'); "
            "out = images.finish(im, images.Output(1200, 630, 'jpeg')); print(out.width, out.height)")
    import sys as _sys
    r = subprocess.run([_sys.executable, "-c", code, str(src)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split() == ["1200", "630"]
    assert r.stderr == ""


@pytest.mark.parametrize("size", [(64, 4096), (4096, 64), (64, 64), (100, 2000), (1200, 630), (4096, 4096)])
def test_a_card_of_any_allowed_shape_keeps_its_texts_on_the_canvas(size: tuple[int, int]) -> None:
    w, h = size
    img, layout = render_card("p", CoverText("Winter foxes and the long walk home through snow", "Chickie Loo Farm"),
                              w, h)
    for box in (layout.title_box, layout.series_box):
        assert box is not None
        assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h, (size, box)
    assert layout.title_lines and all(line for line in layout.title_lines)
    assert img.size == size


# --------------------------------------------------------------------------- 8. the reference scan

from imagegen import references  # noqa: E402
from tests.test_pipeline import run as run_blog  # noqa: E402

REGEN = "---\ntitle: {t}\nregenerate_image: true\n---\n# {t}\n![[attachments/{name}]]\n\nText.\n"


def _regenerating_blog(tmp_path: Path, n: int, extra: dict[str, str] | None = None) -> Path:
    files = {f"s/2026-01-{i + 2:02d}-p{i}.md": REGEN.format(t=f"P{i}", name=f"old-{i}.png") for i in range(n)}
    files.update({f"attachments/old-{i}.png": "png" for i in range(n)})
    files.update({f"notes/n{i}.md": f"note {i} about nothing in particular\n" for i in range(40)})
    files.update(extra or {})
    return blog(tmp_path, files)


def test_the_repository_is_scanned_once_per_run_not_once_per_cover(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _regenerating_blog(tmp_path, 6, {"notes/keep.md": "old-3.png is the one I like\n"})
    listings: list[int] = []
    reads: list[str] = []
    real_ls = references.Git.ls_files
    real_open = os.open

    def counting_ls(self, *a, **k):  # type: ignore[no-untyped-def]
        listings.append(1)
        return real_ls(self, *a, **k)

    def counting_open(path, *a, **k):  # type: ignore[no-untyped-def]
        if str(path).endswith("notes/n7.md"):
            reads.append(str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(references.Git, "ls_files", counting_ls)
    monkeypatch.setattr(references.os, "open", counting_open)
    report = run_blog(repo, Scripted())
    assert len(report.generated) == 6
    assert sorted(g.removed_image for g in report.generated if g.removed_image) == \
        [f"attachments/old-{i}.png" for i in (0, 1, 2, 4, 5)]
    kept = [g for g in report.generated if g.kept_image]
    assert [g.kept_image for g in kept] == ["attachments/old-3.png"] and "notes/keep.md" in kept[0].kept_because
    assert len(listings) == 1 and len(reads) == 1  # one listing, each file read once, for six covers


def test_a_huge_binary_file_is_no_reason_to_keep_every_old_cover(tmp_path: Path) -> None:
    repo = _regenerating_blog(tmp_path, 2)
    with open(repo / "model.safetensors", "wb") as f:  # 200 MB of NULs: sparse, no disk used
        f.truncate(200 * 1024 * 1024)
    report = run_blog(repo, Scripted())
    assert sorted(g.removed_image for g in report.generated) == ["attachments/old-0.png", "attachments/old-1.png"]
    assert not any(g.kept_image for g in report.generated)


def test_a_huge_text_file_still_keeps_an_old_cover_and_says_why(tmp_path: Path) -> None:
    repo = _regenerating_blog(tmp_path, 1)
    with open(repo / "notes/huge.txt", "wb") as f:
        f.write(b"text, not binary\n" * 1024)  # the sniffed head is text ...
        f.truncate(references.MAX_TEXT_BYTES + 1)  # ... and the file too large to read
    (g,) = run_blog(repo, Scripted()).generated
    assert g.kept_image == "attachments/old-0.png" and "notes/huge.txt" in g.kept_because
    assert "MiB" in g.kept_because


def test_a_mention_written_by_this_run_is_seen(tmp_path: Path) -> None:
    """The pass ran before the posts were rewritten: a file that mentioned the name is read again
    when it changed, and a post this run wrote is read again too."""
    repo = _regenerating_blog(tmp_path, 1, {"notes/n1.md": "I mention old-0.png\n"})
    post = repo / "s/2026-01-02-p0.md"
    scanner = references.Scanner(repo)
    scanner.expect(["old-0.png"])
    found = scanner.find("old-0.png", skip={post})
    assert found is not None and found.file == "notes/n1.md"
    (repo / "notes/n1.md").write_text("not any more\n")
    assert scanner.find("old-0.png", skip={post}) is None  # changed since the pass: read again
    other = repo / "s/2026-01-02-other.md"
    other.write_text("---\ntitle: O\n---\n# O\n\nThe old one was old-0.png.\n")
    scanner.wrote(other)
    found = scanner.find("old-0.png", skip={post})
    assert found is not None and found.file == "s/2026-01-02-other.md"
    assert scanner.passes == 1


# --------------------------------------------------------------------------- 7. memory

MEMORY_RUN = """
import asyncio, re, sys
from pathlib import Path
from typing import Any, Iterator
from imagegen import pipeline
from imagegen.testing import VirtualClock
from imagegen.config.settings import load
from imagegen.images import checked_image

DATA = Path(sys.argv[2]).read_bytes()

class Big:
    name, model = "local", "big"
    async def generate(self, request):
        await asyncio.sleep(0)
        return checked_image(DATA, provider="local", model="big")
    async def aclose(self):
        return None

settings = load({"providers": "local", "describer": "off"}, {}, repo=sys.argv[1])
report = asyncio.run(pipeline.run(settings, providers=[(settings.providers[0], Big())], clock=VirtualClock()))
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) // 1024
print(len(report.generated), hwm)
"""

MAKE_PNG = """
import sys
from PIL import Image, ImageDraw
im = Image.new("RGBA", (8000, 8000), (30, 60, 120, 255))
ImageDraw.Draw(im).rectangle((100, 100, 900, 7900), fill=(200, 180, 40, 255))
im.save(sys.argv[1], "PNG", compress_level=9)
"""


@pytest.mark.slow
def test_large_provider_images_are_decoded_within_a_memory_bound(tmp_path: Path) -> None:
    """The issue's case: 4 posts answered at once with 8000x8000 RGBA PNGs (small on the wire,
    244 MB each decoded) peaked at 1.9-2.1 GB; decoding is now budgeted (one image of that size at
    a time) and reduced right after decoding, so the run stays far below that."""
    import sys as _sys

    png = tmp_path / "big.png"
    subprocess.run([_sys.executable, "-c", MAKE_PNG, str(png)], check=True, timeout=300)
    repo = blog(tmp_path, {f"s/2026-01-0{i + 1}-p{i}.md": POST for i in range(4)})
    r = subprocess.run([_sys.executable, "-c", MEMORY_RUN, str(repo), str(png)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    made, peak_mb = map(int, r.stdout.split())
    assert made == 4
    assert peak_mb < 800, f"peak {peak_mb} MB"


# --------------------------------------------------------------------------- 12. a file name that is not UTF-8


def _latin1_blog(tmp_path: Path) -> Path:
    repo = blog(tmp_path, {"posts/2026-01-01-plain.md": POST})
    name = os.fsdecode(b"2026-01-02-caf\xe9.md")  # written on a Latin-1 system: not UTF-8
    (repo / "posts" / name).write_text("---\ntitle: Cafe\n---\n# Cafe\n\nText.\n")
    return repo


@pytest.mark.parametrize("dry", [False, True])
def test_a_post_whose_name_is_not_utf8_is_reported_escaped(tmp_path: Path, dry: bool) -> None:
    repo = _latin1_blog(tmp_path)
    report = tmp_path / "report.json"
    args = ["run", str(repo), "--providers", "local", "--report", str(report)] + (["--dry-run"] if dry else [])
    for attempt in range(2):  # and the next run too
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
        data = json.loads(report.read_bytes().decode("utf-8"))
        posts = [p["post"] for p in data["generated"] + data["skipped"] + data["pending"]]
        assert "posts/2026-01-02-caf\\xe9.md" in posts
        assert "surrogates" not in r.stdout + r.stderr
        if attempt == 0:  # the summary lists the covers made (or planned), this one escaped
            assert "caf\\xe9" in r.stdout + r.stderr


# --------------------------------------------------------------------------- 1, 6, 17. publishing

from imagegen.errors import PublishError as _PublishError  # noqa: E402
from imagegen.publish import ApiPublisher, GitHubApi, PullRequestPublisher, Target  # noqa: E402
from tests.fake_github import FakeGitHub, make_origin  # noqa: E402
from tests.helpers import git as _git  # noqa: E402
from tests.test_publish import (IMG_A, IMG_B, POST_A, POST_B, PR_BRANCH, TOKEN, clone, github, post,  # noqa: E402
                                pr_publisher, pr_run, write_cover)


@pytest.fixture
def gh_origin(tmp_path: Path):
    origin = make_origin(tmp_path, {POST_A: post("Alpha"), POST_B: post("Beta"), "README.md": b"readme\n"})
    with FakeGitHub(origin, tokens={TOKEN: "write"}) as server:
        yield server, origin


def test_a_push_to_the_covers_branch_during_the_run_is_kept(tmp_path: Path, gh_origin) -> None:
    gh, origin = gh_origin
    _, first = pr_run(clone(origin, tmp_path / "ws1"), gh, [(POST_A, IMG_A, "Alpha")])
    ws = clone(origin, tmp_path / "ws2")
    pub = pr_publisher(ws, gh)
    pub.prepare()  # the run starts: the open pull request is read
    review = b"Looks good, but make Alpha's cover warmer.\n"
    theirs = gh.commit_files({"notes/review.md": review, IMG_A: b"\x89PNG\r\n\x1a\nwarmer"}, branch=PR_BRANCH)
    try:
        result = pub.publish([write_cover(ws, POST_B, IMG_B, tag="Beta")], None)
    finally:
        pub.close()
    assert gh.read("notes/review.md", PR_BRANCH) == review  # their file is on the new tip ...
    assert gh.read(IMG_A, PR_BRANCH) == b"\x89PNG\r\n\x1a\nwarmer"  # ... and their change to a carried file
    assert gh.exists(IMG_B, PR_BRANCH) and gh.exists(POST_A, PR_BRANCH)
    assert gh.git("rev-parse", f"{result.sha}^").strip() == theirs  # a fast-forward on their commit
    assert first.sha


def test_a_file_dropped_on_purpose_stays_dropped_when_the_branch_moves(tmp_path: Path, gh_origin) -> None:
    gh, origin = gh_origin
    pr_run(clone(origin, tmp_path / "ws1"), gh, [(POST_A, IMG_A, "Alpha")])
    gh.commit_files({POST_A: post("Alpha", " edited on main")})  # main changed Alpha: its cover is dropped
    ws = clone(origin, tmp_path / "ws2")
    pub = pr_publisher(ws, gh)
    pub.prepare()
    gh.commit_files({"notes/review.md": b"ok\n"}, branch=PR_BRANCH)
    try:
        pub.publish([write_cover(ws, POST_B, IMG_B, tag="Beta")], None)
    finally:
        pub.close()
    assert gh.exists("notes/review.md", PR_BRANCH) and not gh.exists(IMG_A, PR_BRANCH)
    assert gh.read(POST_A, PR_BRANCH) == post("Alpha", " edited on main")


def _real_retry_api(gh: FakeGitHub) -> GitHubApi:
    """The client with the action's own retry policy (the tests' default turns retries off)."""
    return GitHubApi(token=TOKEN, api_url=gh.url, repository=gh.full_name, branch="main", write_interval=0,
                     sleep=lambda s: None)


SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


def test_a_long_rate_limit_on_the_write_check_is_a_failure_not_a_sleep(tmp_path: Path, gh_origin) -> None:
    gh, origin = gh_origin
    ws = clone(origin, tmp_path / "ws")
    gh.inject("POST", r"/git/blobs$", 403, SECONDARY, headers={"Retry-After": "3600"})
    pub = ApiPublisher(_real_retry_api(gh), Target(ws, "main"))
    with pytest.raises(_PublishError) as caught:
        pub.preflight()  # it used to sleep 3600 s, up to three times
    text = str(caught.value)
    assert "3600 s" in text and "rate limit" in text and "\n" not in text
    assert [r.path for r in gh.requests if r.method == "POST"] == [f"/repos/{gh.full_name}/git/blobs"]


def test_a_short_rate_limit_is_still_waited_out(tmp_path: Path, gh_origin) -> None:
    gh, origin = gh_origin
    ws = clone(origin, tmp_path / "ws")
    gh.inject("POST", r"/git/blobs$", 403, SECONDARY, headers={"Retry-After": "0"})
    assert ApiPublisher(_real_retry_api(gh), Target(ws, "main")).preflight() is None
    assert len([r for r in gh.requests if r.method == "POST"]) == 2


@pytest.mark.parametrize("mode", ["api", "pull-request"])
def test_the_checks_before_any_cover_are_bounded(tmp_path: Path, gh_origin, mode: str) -> None:
    gh, origin = gh_origin
    ws = clone(origin, tmp_path / "ws")
    if mode == "api":
        gh.stall("POST", r"/git/blobs$")
        pub = ApiPublisher(github(gh), Target(ws, "main"))
        pub.check_deadline = 0.5
        step = pub.preflight
    else:
        gh.stall("GET", r"/pulls$")
        pub = pr_publisher(ws, gh)
        pub.check_deadline = 0.5
        step = pub.prepare
    with pytest.raises(_PublishError, match="did not finish within 0.5 s"):
        step()


def test_a_422_on_opening_the_pull_request_says_why_and_that_the_covers_are_committed(tmp_path: Path,
                                                                                       gh_origin) -> None:
    gh, origin = gh_origin
    ws = clone(origin, tmp_path / "ws")
    gh.inject("POST", r"/pulls$", 422, "Validation Failed", errors=[{
        "resource": "PullRequest", "code": "custom", "message": "A pull request already exists for octo:imagegen/covers."}])
    with pytest.raises(_PublishError) as caught:
        pr_run(ws, gh, [(POST_A, IMG_A, "Alpha")])
    text = str(caught.value)
    assert "A pull request already exists for octo:imagegen/covers" in text and "HTTP 422" in text
    assert "committed on branch imagegen/covers" in text and "not committed" not in text
    assert caught.value.committed == gh.head(PR_BRANCH) and gh.exists(IMG_A, PR_BRANCH)


def test_the_action_says_the_covers_are_on_the_branch_when_only_the_pull_request_failed(tmp_path: Path) -> None:
    from tests.test_action_e2e import post as action_post, providers_env

    with _action_harness(tmp_path) as (h, fp):
        h.gh.inject("POST", r"/pulls$", 422, "Validation Failed", errors=[{
            "resource": "PullRequest", "code": "custom", "message": "A pull request already exists for x:y."}])
        _, _, event = h.push_from_elsewhere({"blog/2026-02-01-one.md": action_post("One")})
        h.checkout()
        res = h.run({"providers": "cloudflare", "cloudflare-api-token": "cfSECRETtoken-0123456789abcdef",
                     "cloudflare-account-id": "acctSECRET-4242", "commit": "pull-request"},
                    event=event, env=providers_env(fp))
        branch_head = h.gh.head("imagegen/covers")
    assert res.code == 1
    errors = res.commands("error")
    assert len(errors) == 1 and "A pull request already exists for x:y" in errors[0] and "not committed" not in errors[0]
    assert res.outputs["commit-sha"] == branch_head and "Not committed" not in res.summary
    assert "A pull request already exists" in res.summary


def test_a_long_rate_limit_ends_the_action_with_one_error_and_nothing_generated(tmp_path: Path) -> None:
    from tests.test_action_e2e import post as action_post, providers_env

    with _action_harness(tmp_path) as (h, fp):
        h.gh.inject("POST", r"/git/blobs$", 403, SECONDARY, headers={"Retry-After": "3600"})
        _, _, event = h.push_from_elsewhere({"blog/2026-02-01-one.md": action_post("One")})
        h.checkout()
        res = h.run({"providers": "cloudflare", "cloudflare-api-token": "cfSECRETtoken-0123456789abcdef",
                     "cloudflare-account-id": "acctSECRET-4242"}, event=event, env=providers_env(fp))
    assert res.code == 1 and fp.count("cloudflare") == 0
    errors = res.commands("error")
    assert len(errors) == 1 and "3600 s" in errors[0]


def test_a_huge_image_is_refused_without_pillows_warning_on_stderr(tmp_path: Path) -> None:
    """Pillow warns about a 'decompression bomb' at open; imagegen's own bound refuses it (here
    Pillow's threshold is lowered so a small image crosses it, as a 90-megapixel one would)."""
    src = tmp_path / "big.png"
    src.write_bytes(_png((200, 200)))
    code = ("import sys; from pathlib import Path; from PIL import Image; from imagegen import images; "
            "Image.MAX_IMAGE_PIXELS = 30000; "
            "im = images.checked_image(Path(sys.argv[1]).read_bytes(), provider='p'); print(im.width)")
    import sys as _sys
    r = subprocess.run([_sys.executable, "-c", code, str(src)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split() == ["200"] and r.stderr == ""
