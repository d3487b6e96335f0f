"""Issue 9 items 3-8, 10-12: dangerous settings are refused before any work, hostile state files
and unwritable reports never crash a run, and every number a user can set is bounded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imagegen import git

from imagegen.config.settings import SettingsError, load
from imagegen.chain.state import State
from tests.helpers import commit_all, init_repo, run_cli, snapshot
from datetime import datetime, timezone

POST = "---\ntitle: A post\ndate: 2026-01-02\n---\n# A post\n\nWords.\n"


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    r = init_repo(tmp_path / "blog")
    (r / "posts").mkdir()
    (r / "posts/2026-01-02-a.md").write_text(POST)
    (r / "README.md").write_text("# my blog\n")
    commit_all(r)
    return r


def settings(repo: Path, **raw: str):
    return load({"providers": "local", "describer": "off", **raw}, {}, repo=repo)


def refused(repo: Path, match: str, **raw: str) -> None:
    with pytest.raises(SettingsError, match=match):
        settings(repo, **raw)


def cli_refuses(repo: Path, *args: str) -> str:
    """The real command refuses with exit 2 and one line, and nothing in the repo changed."""
    before = snapshot(repo)
    done = run_cli("run", str(repo), "--providers", "local", "--describer", "off", *args)
    assert done.returncode == 2, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("imagegen: error:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert snapshot(repo) == before
    return lines[0]


# --------------------------------------------------------------------------- 3. state file


@pytest.mark.parametrize("victim", ["posts/2026-01-02-a.md", "README.md", "someones.json"])
def test_state_file_that_is_not_ours_is_refused_and_kept(repo: Path, victim: str) -> None:
    (repo / "someones.json").write_text('{"name": "my data", "version": 3}\n')
    before = (repo / victim).read_bytes()
    line = cli_refuses(repo, "--state-file", str(repo / victim))
    assert "not an imagegen state file" in line
    assert (repo / victim).read_bytes() == before


def test_state_file_of_ours_absent_or_empty_is_accepted(repo: Path, tmp_path: Path) -> None:
    ours = tmp_path / "state.json"
    ours.write_text('{\n  "version": 1,\n  "providers": {}\n}\n')
    settings(repo, **{"state-file": str(ours)})
    settings(repo, **{"state-file": str(tmp_path / "absent.json")})
    (tmp_path / "empty.json").write_text("")
    settings(repo, **{"state-file": str(tmp_path / "empty.json")})


# --------------------------------------------------------------------------- 4. report


def test_report_pointing_at_a_post_or_tracked_file_is_refused(repo: Path, tmp_path: Path) -> None:
    for victim in ("posts/2026-01-02-a.md", "README.md"):
        line = cli_refuses(repo, "--report", str(repo / victim))
        assert "tracked by git" in line
    other = tmp_path / "notes.txt"
    other.write_text("my notes\n")
    assert "not an imagegen report" in cli_refuses(repo, "--report", str(other))
    assert other.read_text() == "my notes\n"
    refused(repo, "inside the git directory", report=str(repo / ".git/report.json"))
    refused(repo, "same file", report=str(tmp_path / "x.json"), **{"state-file": str(tmp_path / "x.json")})


def test_an_earlier_report_may_be_overwritten(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = run_cli("run", str(repo), "--providers", "local", "--describer", "off", "--report", str(out))
    assert done.returncode == 0, done.stderr
    done = run_cli("run", str(repo), "--providers", "local", "--describer", "off", "--report", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["generated"] == []


# --------------------------------------------------------------------------- 5. attachments


@pytest.mark.parametrize("folder", [".git", ".git/refs/heads", ".obsidian/covers", "posts/.hidden", "../outside"])
def test_attachments_in_git_hidden_or_outside_is_refused(repo: Path, folder: str) -> None:
    line = cli_refuses(repo, "--attachments-dir", folder)
    assert "attachments-dir" in line
    assert not list((repo / ".git/refs/heads").glob("*.jpg"))


def test_attachments_symlinked_into_git_is_refused(repo: Path) -> None:
    (repo / "covers").symlink_to(repo / ".git")
    refused(repo, "git directory", **{"attachments-dir": "covers"})


# --------------------------------------------------------------------------- 6. frontmatter field


@pytest.mark.parametrize("name", ["title", "date", "draft", "image_prompt", "image_date", "image_provider",
                                  "image_model", "image_alt", "regenerate_image", "Title", "tags", "title.x",
                                  "image_prompt.sub"])
def test_frontmatter_field_with_a_meaning_is_refused(repo: Path, name: str) -> None:
    refused(repo, "frontmatter-field", **{"embed-style": "frontmatter", "frontmatter-field": name})


@pytest.mark.parametrize("name", ["image", "cover", "cover.image", "hero", "featured_image"])
def test_ordinary_cover_fields_are_accepted(repo: Path, name: str) -> None:
    assert settings(repo, **{"frontmatter-field": name}).frontmatter_field == name


def test_frontmatter_field_title_leaves_the_title_alone(repo: Path) -> None:
    line = cli_refuses(repo, "--embed-style", "frontmatter", "--frontmatter-field", "title")
    assert "title" in line


# --------------------------------------------------------------------------- 7. budget 0


def test_budget_zero_means_the_provider_is_not_used(repo: Path) -> None:
    s = load({"providers": "local,pollinations", "pollinations-enabled": "true", "describer": "off",
              "provider-budget": "local=0"}, {}, repo=repo)
    assert [p.name for p in s.providers] == ["pollinations"]
    refused(repo, "provider-budget 0", **{"provider-budget": "local=0"})
    done = run_cli("run", str(repo), "--providers", "local", "--provider-budget", "local=0")
    assert done.returncode == 2 and "provider-budget 0" in done.stderr


# --------------------------------------------------------------------------- 8. FIFO, device, huge


def test_fifo_or_device_as_state_file_is_refused_without_blocking(repo: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused(repo, "not a regular file", **{"state-file": str(fifo)})
    refused(repo, "not a regular file", **{"state-file": "/dev/zero"})
    refused(repo, "is a folder", **{"state-file": str(tmp_path)})
    # and the reader itself never blocks on one swapped in after the check
    warnings: list[str] = []
    state = State.load(fifo, datetime.now(timezone.utc), warn=warnings.append)
    assert state.entries == {} and len(warnings) == 1 and not state.writable


def test_huge_state_file_is_ignored_with_a_warning_and_kept(repo: Path, tmp_path: Path) -> None:
    big = tmp_path / "state.json"
    with open(big, "wb") as f:
        f.write(b'{"version": 1, "providers": {}, "pad": "')
        f.truncate(9 * 1024 * 1024)
    settings(repo, **{"state-file": str(big)})  # not refused: ignored at run time
    warnings: list[str] = []
    state = State.load(big, datetime.now(timezone.utc), warn=warnings.append)
    assert len(warnings) == 1 and "larger than" in warnings[0]
    state.save()
    assert big.stat().st_size == 9 * 1024 * 1024


# --------------------------------------------------------------------------- 11. hostile state files


HOSTILE = {
    "year-1-with-offset": '{"version": 1, "providers": {"local": {"out_until": "0001-01-01T00:00:00+05:00"}}}',
    "year-9999-with-offset": '{"version": 1, "providers": {"local": {"out_until": "9999-12-31T23:59:59-05:00"}}}',
    "deep-nesting": '{"version": 1, "providers": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "wrong-types": '{"version": 1, "providers": {"local": {"out_until": 5}}, "retired_models": [1], '
                   '"worked": {"local": null}, "prompts": {"a.md": [1]}}',
    "providers-a-list": '{"version": 1, "providers": [1, 2]}',
    "huge-number": '{"version": 1e999999, "providers": {}}',
    "not-utf8": b'{"version": 1, "providers": {"\xff": 1}}',
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_state_file_is_ignored_with_one_warning(tmp_path: Path, case: str) -> None:
    path = tmp_path / "state.json"
    data = HOSTILE[case]
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    warnings: list[str] = []
    state = State.load(path, datetime(2026, 11, 30, tzinfo=timezone.utc), warn=warnings.append)
    assert state.out_until("local") is None
    assert len(warnings) <= 1 and all("\n" not in w for w in warnings)
    state.save()  # ours: rewritten clean
    assert json.loads(path.read_text())["version"] == 1


def test_hostile_state_file_through_the_cli(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(HOSTILE["deep-nesting"])
    done = run_cli("run", str(repo), "--providers", "local", "--describer", "off", "--state-file", str(path))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert sum("state file" in ln for ln in done.stderr.splitlines()) == 1


# --------------------------------------------------------------------------- 12. bounded numbers


@pytest.mark.parametrize("raw,match", [
    ({"width": "1e40"}, "whole number"),
    ({"width": "100000", "height": "100000"}, "at most 4096"),
    ({"height": "4097"}, "at most 4096"),
    ({"width": "9" * 5000}, "at most 4096"),  # the bound, however many digits (issue 19 item 13)
    ({"max-post-bytes": str(2 * 1024 ** 3)}, "at most 67108864"),
    ({"concurrency": "100000"}, "at most 64"),
    ({"max-images": "10000000000"}, "at most"),
    ({"provider-timeout": "local=nan"}, "finite"),
    ({"provider-timeout": "local=inf"}, "finite"),
    ({"provider-timeout": "local=0"}, "more than 0"),
    ({"provider-timeout": "local=1e300"}, "at most"),
    ({"provider-min-interval": "local=1e9"}, "at most"),
    ({"provider-max-in-flight": "local=1000000"}, "at most"),
    ({"provider-budget": "local=1e3"}, "number"),
])
def test_every_number_is_bounded(repo: Path, raw: dict[str, str], match: str) -> None:
    refused(repo, match, **raw)


def test_bounds_through_the_cli_are_one_line(repo: Path) -> None:
    assert "at most 4096" in cli_refuses(repo, "--width", "100000", "--height", "100000")


# --------------------------------------------------------------------------- 10. the report file


@pytest.mark.parametrize("case", ["folder", "unwritable", "non-utf8-name"])
def test_report_write_failure_is_one_line_summary_still_printed_exit_3(repo: Path, tmp_path: Path, case: str) -> None:
    if case == "folder":
        target = tmp_path / "out"
        target.mkdir()
        (target / "x").write_text("x")
        arg = str(target)
        # a folder is refused up front; a folder appearing later is covered by Report.write
        line = cli_refuses(repo, "--report", arg)
        assert "folder" in line
        from imagegen.report import Report

        assert "is a folder" in (Report().write(target) or "")
        return
    if case == "unwritable":
        if os.geteuid() == 0:
            target = Path("/proc/imagegen-report.json")  # not writable, even for root
        else:
            ro = tmp_path / "ro"
            ro.mkdir()
            ro.chmod(0o500)
            target = ro / "report.json"
        arg = str(target)
    else:
        arg = os.fsdecode(bytes(tmp_path) + b"/r\xff.json")
        target = Path(arg)
    done = run_cli("run", str(repo), "--providers", "local", "--describer", "off", "--report", arg)
    if case == "non-utf8-name":
        assert done.returncode == 0, done.stderr
        assert json.loads(target.read_bytes())["generated"]
        return
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("imagegen: error:")]
    assert len(errors) == 1 and "could not write the report" in errors[0]
    assert "generated 1 cover" in done.stdout or "1 cover" in done.stdout, done.stdout


# --------------------------------------------------------------------------- 12-14. providers, DNS, secrets


def test_deeply_nested_json_from_a_provider_is_a_bad_image_not_a_recursion_error() -> None:
    import httpx

    from imagegen.providers import _http, together
    from imagegen.providers.base import BadImage

    deep = b"[" * 100_000 + b"]" * 100_000
    assert _http.json_or_none(deep) is None
    resp = _http.WireResponse(200, httpx.Headers({"content-type": "application/json"}), b'{"data": ' + deep + b"}")
    with pytest.raises(BadImage):
        together.TogetherProvider._image(None, resp, "m")  # type: ignore[arg-type]


def test_dns_failure_without_a_resolver_says_could_not_resolve_host(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import socket

    import httpx

    from imagegen.providers import _http
    from imagegen.providers.base import TransientError

    def no_resolver(*a: object, **k: object) -> None:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_resolver)

    async def call() -> BaseException:
        async with httpx.AsyncClient() as client:
            try:
                await client.get("https://api.together.xyz/v1/images/generations?key=sekret")
            except httpx.HTTPError as exc:
                return exc
        raise AssertionError("no error")

    err = _http.transport_error("together", asyncio.run(call()))
    assert isinstance(err, TransientError)
    assert "could not resolve api.together.xyz" in str(err) and "sekret" not in str(err)


def test_a_secret_shorter_than_8_characters_is_refused(repo: Path) -> None:
    with pytest.raises(SettingsError, match="too short") as info:
        load({"providers": "together", "together-api-token": "null"}, {}, repo=repo)
    assert "null" not in str(info.value).replace("too short", "")


def test_redaction_touches_text_values_never_json_structure() -> None:
    from imagegen import redact
    from imagegen.report import Event, Failed, Generated, Report

    redact.register("generated")  # a (silly) secret that is also a key of the report
    redact.register("sk-abcdefgh-1234")
    try:
        r = Report(generated=[Generated(post="a.md", image="x.png", provider="p", model="m",
                                        prompt="uses sk-abcdefgh-1234 here")])
        r.failed.append(Failed("b.md", "boom", {"generated": "key sk-abcdefgh-1234"}))
        data = json.loads(r.dumps())
        assert set(data) >= {"generated", "failed", "providers"}
        assert data["generated"][0]["prompt"] == "uses *** here"
        assert data["failed"][0]["reasons"] == {"generated": "key ***"}
        ev = json.loads(Event("failed", "b.md", message="key sk-abcdefgh-1234", data={"n": None}).to_json())
        assert ev["message"] == "key ***" and ev["n"] is None
    finally:
        redact.clear()


# --------------------------------------------------------------------------- 9. deadlines in the action


def test_the_actions_git_calls_have_a_deadline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`git fetch` of the pushed commits runs over the network: it may never hang the job. A git
    that does not finish is a failed git: the event's own file list is used instead."""
    import subprocess

    from imagegen.action import event

    seen: list[object] = []

    def stalled(cmd: list[str], **kw: object) -> None:
        seen.append(kw.get("timeout"))
        raise subprocess.TimeoutExpired(cmd, kw.get("timeout") or 0)

    monkeypatch.setattr(subprocess, "run", stalled)
    warnings: list[str] = []
    files = event.changed_files(tmp_path, "a" * 40, "b" * 40, {"commits": [{"added": ["p.md"]}]}, warnings.append)
    assert files == ["p.md"] and len(warnings) == 1
    assert seen and all(t is not None and 0 < t <= git.NETWORK_TIMEOUT for t in seen)


def test_changed_since_cannot_hang(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--changed-since runs git locally; a git held by a lock or a prompt ends in one error line."""
    import subprocess

    from imagegen.discover import changed_files
    from imagegen.errors import DiscoveryError

    def stalled(cmd: list[str], **kw: object) -> None:
        assert kw.get("timeout") == git.DEFAULT_TIMEOUT
        raise subprocess.TimeoutExpired(cmd, kw.get("timeout") or 0)

    monkeypatch.setattr(subprocess, "run", stalled)
    with pytest.raises(DiscoveryError, match="did not finish within 60 s"):
        changed_files(str(tmp_path), "main")


def test_publish_api_client_has_a_timeout() -> None:
    import inspect

    from imagegen import publish

    assert 0 < publish.API_TIMEOUT <= 120 and 0 < git.NETWORK_TIMEOUT <= 600
    assert inspect.signature(publish.GitHubApi.__init__).parameters["timeout"].default == publish.API_TIMEOUT


def test_report_write_on_a_full_disk_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import errno

    def full(*a: object, **k: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    from imagegen import report

    monkeypatch.setattr(report, "replace", full)
    problem = report.Report().write(tmp_path / "r.json")
    assert problem is not None and "No space left on device" in problem and "\n" not in problem
    assert not (tmp_path / "r.json").exists()


def test_the_action_says_so_in_one_line_when_its_report_file_cannot_be_written(tmp_path: Path) -> None:
    """Item 10 in the action: covers made and outputs set, one error line, exit status 3."""
    from tests.fake_github import FakeGitHub
    from tests.fake_providers import FakeProviders
    from tests.test_action_e2e import GH_TOKEN, PROVIDERS_WITH, READ_TOKEN, HostRunner, make_harness, providers_env

    with FakeProviders(time_scale=0.001) as fp:
        holder: list[FakeGitHub] = []

        def factory(origin: Path) -> FakeGitHub:
            holder.append(FakeGitHub(origin, tokens={GH_TOKEN: "write", READ_TOKEN: "read"}).start())
            return holder[0]

        h = make_harness(tmp_path, HostRunner(), fp, factory)
        try:
            h.checkout()
            res = h.run({**PROVIDERS_WITH, "commit": "none", "report": "/proc/imagegen-report.json"},
                        event_name="workflow_dispatch", env=providers_env(h.fp))
        finally:
            for gh in holder:
                gh.stop()
    assert res.code == 3, res.stdout + res.stderr
    errors = res.commands("error")
    assert len(errors) == 1 and "could not write the report" in errors[0]
    assert int(res.outputs["images-generated"]) >= 1 and "Traceback" not in res.stderr
