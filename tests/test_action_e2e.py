"""The runner's contract, end to end: `entrypoint.py` runs as a subprocess with the environment a
runner gives a Docker action (INPUT_* from action.yml's defaults plus a `with:` map, GITHUB_WORKSPACE,
GITHUB_EVENT_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_API_URL, ...) on a temp blog
repository, with image providers served by the fake provider server and the commit made through the
fake GitHub API (backed by the blog's real bare "origin" repository).

The same scenarios run inside the real image in tests/test_container.py (the `Harness` takes a
runner: this process's Python, or `buildah run` on the built image).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from tests.fake_github import FakeGitHub, make_origin
from tests.fake_providers import FakeProviders
from tests.helpers import ROOT, git

CF_TOKEN = "cfSECRETtoken-0123456789abcdef"
CF_ACCOUNT = "acctSECRET-4242"
TG_TOKEN = "tgSECRETtoken-fedcba9876543210"
GH_TOKEN = "ghs_SECRETgithubTOKEN1234567890"
READ_TOKEN = "ghs_SECRETreadONLY0987654321"
SECRETS = (CF_TOKEN, CF_ACCOUNT, TG_TOKEN, GH_TOKEN, READ_TOKEN)

ALPHA = "blog/2026-01-01-alpha.md"
BETA = "blog/2026-01-02-beta.md"
GAMMA = "blog/2026-01-03-gamma.md"
BROKEN = "blog/2026-01-04-broken.md"
NEW = "blog/2026-02-01-new-post.md"


def post(title: str, body: str = "A post about gardens and code.") -> bytes:
    return f"---\ntitle: {title}\n---\n\n# {title}\n\n{body}\n".encode()


BLOG = {
    ALPHA: post("Alpha"),
    BETA: post("Beta"),
    GAMMA: b"---\ntitle: Gamma\n---\n\n# Gamma\n\n![[attachments/gamma.png]]\n\nHas a cover.\n",
    "attachments/gamma.png": b"\x89PNG\r\n\x1a\nnot really",
    "README.md": b"# The blog\n",
}


# ============================================================================ runners


@dataclass
class Paths:
    """Where the runner's files are, as the action sees them."""

    workspace: str
    event: str
    output: str
    summary: str
    home: str


class HostRunner:
    """Runs entrypoint.py with this interpreter (the test venv), like the image's entrypoint."""

    name = "host"

    def paths(self, h: "Harness") -> Paths:
        return Paths(str(h.workspace), str(h.event_path), str(h.output_path), str(h.summary_path), str(h.home))

    def run(self, h: "Harness", env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        return subprocess.run([sys.executable, str(ROOT / "entrypoint.py")], cwd=h.workspace, env={**base, **env},
                              capture_output=True, text=True, timeout=300)


# ============================================================================ the harness


def runner_inputs(with_: dict[str, str], *, token: str) -> dict[str, str]:
    """INPUT_* exactly as the runner builds them: every input of action.yml, its default unless
    `with:` gives a value; expressions in defaults evaluated (only ${{ github.token }} is used)."""
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    unknown = set(with_) - set(action["inputs"])
    assert not unknown, f"not inputs of action.yml: {unknown}"
    env = {}
    for name, spec in action["inputs"].items():
        value = with_.get(name, spec.get("default", ""))
        value = value.replace("${{ github.token }}", token)
        env["INPUT_" + name.replace(" ", "_").upper()] = value
    return env


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    harness: "Harness"

    def commands(self, name: str) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(f"::{name}")]

    def assert_no_secret(self) -> None:
        log = "\n".join(line for line in self.stdout.splitlines() if not line.startswith("::add-mask::"))
        texts = {"log": log, "stderr": self.stderr, "outputs": json.dumps(self.outputs), "summary": self.summary}
        h = self.harness
        texts["commits"] = h.gh.git("log", "--all", "-p", "--format=%H %an %ae %s%n%b")
        for rel in h.changed_files():
            p = h.workspace / rel
            if p.is_file():
                texts[rel] = p.read_bytes().decode("utf-8", errors="replace")
        for where, text in texts.items():
            for s in SECRETS:
                assert s not in text, f"secret leaked into {where}"


@dataclass
class Harness:
    tmp: Path
    runner: Any
    fp: FakeProviders
    gh: FakeGitHub
    origin: Path
    workspace: Path = field(init=False)
    files: Path = field(init=False)
    home: Path = field(init=False)

    def __post_init__(self) -> None:
        self.files = self.tmp / "runner"
        self.files.mkdir()
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.workspace = self.tmp / "workspace"

    @property
    def event_path(self) -> Path:
        return self.files / "event.json"

    @property
    def output_path(self) -> Path:
        return self.files / "output"

    @property
    def summary_path(self) -> Path:
        return self.files / "summary.md"

    def checkout(self, sha: str | None = None, *, branch: str = "main") -> None:
        """What actions/checkout does: a shallow (depth 1) clone of one commit, on the branch."""
        if self.workspace.exists():
            shutil.rmtree(self.workspace)
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", branch, f"file://{self.origin}",
                        str(self.workspace)], check=True)
        if sha:
            git(self.workspace, "fetch", "-q", "--depth", "1", "origin", sha)
            git(self.workspace, "checkout", "-q", "-B", branch, sha)

    def push_from_elsewhere(self, files: dict[str, bytes | None], message: str = "a push") -> tuple[str, str, dict]:
        """Commit to origin as a push would; returns (before, after, push event payload)."""
        before = self.gh.head()
        after = self.gh.commit_files(files, message)
        added = [p for p, d in files.items() if d is not None and not self.gh.exists(p, before)]
        modified = [p for p, d in files.items() if d is not None and p not in added]
        event = {"ref": "refs/heads/main", "before": before, "after": after, "created": False, "forced": False,
                 "commits": [{"id": after, "message": message, "added": added, "modified": modified,
                              "removed": [p for p, d in files.items() if d is None]}],
                 "head_commit": {"id": after},
                 "repository": {"full_name": self.gh.full_name, "private": False, "default_branch": "main"}}
        return before, after, event

    def run(self, with_: dict[str, str] | None = None, *, event_name: str = "push", event: dict | None = None,
            env: dict[str, str] | None = None, token: str = GH_TOKEN) -> Outcome:
        for p in (self.output_path, self.summary_path):
            p.write_text("")
        event = event if event is not None else {"repository": {"full_name": self.gh.full_name, "private": False}}
        self.event_path.write_text(json.dumps(event))
        paths = self.runner.paths(self)
        head = git(self.workspace, "rev-parse", "HEAD").strip()
        full = runner_inputs(with_ or {}, token=token)
        full.update({
            "HOME": paths.home, "CI": "true", "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": paths.workspace, "GITHUB_EVENT_PATH": paths.event,
            "GITHUB_OUTPUT": paths.output, "GITHUB_STEP_SUMMARY": paths.summary,
            "GITHUB_EVENT_NAME": event_name, "GITHUB_REPOSITORY": self.gh.full_name,
            "GITHUB_REPOSITORY_OWNER": self.gh.owner, "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main",
            "GITHUB_SHA": head, "GITHUB_API_URL": self.gh.url, "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_ACTOR": "someone", "GITHUB_RUN_ID": "1", "RUNNER_OS": "Linux",
            "IMAGEGEN_GITHUB_WRITE_INTERVAL": "0",
        })
        full.update(env or {})
        r = self.runner.run(self, full)
        return Outcome(r.returncode, r.stdout, r.stderr, parse_outputs(self.output_path.read_text()),
                       self.summary_path.read_text(), self)

    def changed_files(self) -> list[str]:
        out = git(self.workspace, "status", "--porcelain", "-uall")
        files = [line[3:] for line in out.splitlines()]
        files += git(self.workspace, "diff", "--name-only", "HEAD~1", "HEAD").split() if self._has_parent() else []
        return files

    def _has_parent(self) -> bool:
        return subprocess.run(["git", "-C", str(self.workspace), "rev-parse", "-q", "--verify", "HEAD~1"],
                              capture_output=True).returncode == 0


def parse_outputs(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT the way the runner does (name<<DELIM ... DELIM, or name=value)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^([^=<]+)<<(.+)$", line)
        if m:
            name, delim = m.group(1), m.group(2)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
        i += 1
    return out


PROVIDERS_WITH = {
    "providers": "cloudflare,together",
    "cloudflare-api-token": CF_TOKEN,       # secrets given as inputs ...
    "cloudflare-account-id": CF_ACCOUNT,
}


def providers_env(fp: FakeProviders) -> dict[str, str]:
    return {"TOGETHER_API_TOKEN": TG_TOKEN,  # ... and from the environment (a workflow's env:)
            # base URLs are not inputs (test and proxy knobs): environment only
            "IMAGEGEN_TOGETHER_BASE_URL": fp.base_url("together"),
            "IMAGEGEN_CLOUDFLARE_BASE_URL": fp.base_url("cloudflare")}


def make_harness(tmp_path: Path, runner: Any, fp: FakeProviders, gh_factory: Callable[[Path], FakeGitHub]) -> Harness:
    origin = make_origin(tmp_path, BLOG)
    gh = gh_factory(origin)
    h = Harness(tmp_path, runner, fp, gh, origin)
    return h


# ============================================================================ scenarios (shared with the container test)


def scenario_push_generates_only_the_pushed_post_and_commits_it(h: Harness) -> None:
    before, after, event = h.push_from_elsewhere({NEW: post("A brand new post"), "README.md": b"# The blog!\n"})
    h.checkout()
    assert subprocess.run(["git", "-C", str(h.workspace), "cat-file", "-e", before],
                          capture_output=True).returncode != 0, "the checkout should be shallow"
    res = h.run({**PROVIDERS_WITH}, event=event,
                env=providers_env(h.fp))
    assert res.code == 0, res.stdout + res.stderr
    o = res.outputs
    assert o["images-generated"] == "1" and o["posts-updated"] == NEW
    assert o["pending"] == "0" and o["stopped-by-quota"] == "false"
    sha = o["commit-sha"]
    assert sha and sha == h.gh.head() and h.gh.git("rev-parse", f"{sha}^").strip() == after
    report = json.loads(o["report"])
    assert [g["post"] for g in report["generated"]] == [NEW]
    image = report["generated"][0]["image"]
    assert sorted(h.gh.git("diff", "--name-only", after, sha).split()) == sorted([NEW, image])
    assert h.gh.read(image)[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"RIFF")
    assert h.gh.git("log", "-1", "--format=%an", sha).strip() == "github-actions[bot]"
    assert "\n" not in o["report"]
    # the log: secrets masked first, the post's work in a group
    lines = res.stdout.splitlines()
    masks = [i for i, line in enumerate(lines) if line.startswith("::add-mask::")]
    assert masks and masks == list(range(len(masks))), "secrets must be masked before anything else is printed"
    assert {line[len("::add-mask::"):] for line in lines[:len(masks)]} >= {CF_TOKEN, CF_ACCOUNT, TG_TOKEN, GH_TOKEN}
    assert any(line.startswith("::group::") and NEW in line for line in lines)
    assert "::endgroup::" in lines
    # the summary
    s = res.summary
    assert "## Cover images" in s and "**1** generated" in s and NEW in s and "cloudflare" in s
    assert f"/commit/{sha}" in s and f'/raw/{sha}/{image}' in s  # public repo: inline thumbnail
    assert "### Providers" in s
    # the checkout now matches the new commit (later steps see it)
    assert git(h.workspace, "rev-parse", "HEAD").strip() == sha
    assert git(h.workspace, "status", "--porcelain").strip() == ""
    # only the new post was asked for
    assert h.fp.count("cloudflare") == 1 and h.fp.count("together") == 0
    res.assert_no_secret()


def scenario_dispatch_backfill_with_a_cap_and_problem_posts(h: Harness) -> None:
    h.gh.commit_files({BROKEN: b"---\ntitle: [unclosed\n---\n\n# Broken\n", NEW: post("Newest")})
    h.checkout()
    h.fp.set_behaviour("cloudflare", default="bad_request")
    h.fp.set_behaviour("together", default="bad_request")
    h.fp.script("cloudflare", ["ok"])
    res = h.run({**PROVIDERS_WITH, "max-images": "2",
                 "commit": "git"}, event_name="workflow_dispatch",
                event={"inputs": {}, "repository": {"full_name": h.gh.full_name, "private": True}},
                env=providers_env(h.fp))
    assert res.code == 0, res.stdout + res.stderr
    o = res.outputs
    report = json.loads(o["report"])
    assert o["images-generated"] == "1" and len(report["failed"]) == 1
    assert o["pending"] == "1" and report["pending"][0]["reason"] == "max-images"
    assert o["commit-sha"] == h.gh.head()
    assert h.gh.git("log", "-1", "--format=%an", o["commit-sha"]).strip() == "github-actions[bot]"
    warnings = res.commands("warning")
    failed = report["failed"][0]["post"]
    assert any(f"file={failed}," in w for w in warnings), warnings
    assert any(f"file={BROKEN}," in w and "bad-frontmatter" in w for w in warnings), warnings
    s = res.summary
    assert "### Failed" in s and "### Pending" in s and "### Skipped" in s and "<img" not in s  # private repo
    res.assert_no_secret()


def scenario_bad_settings_fail_with_one_error_line(h: Harness) -> None:
    h.checkout()
    res = h.run({**PROVIDERS_WITH, "embed-style": "sideways"}, event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 1
    errors = res.commands("error")
    assert len(errors) == 1 and "embed-style" in errors[0] and "sideways" in errors[0]
    assert res.outputs["images-generated"] == "0" and res.outputs["commit-sha"] == ""
    res = h.run({"providers": "", "aihorde-enabled": "false"}, event_name="workflow_dispatch")
    assert res.code == 1 and len(res.commands("error")) == 1 and "no image provider" in res.commands("error")[0]
    error = res.commands("error")[0]  # in the workflow's words: its inputs, not variables or flags
    assert "cloudflare-api-token" in error and "providers: card" in error, error
    assert "CLOUDFLARE_API_TOKEN" not in error and "--providers" not in error, error
    res = h.run({**PROVIDERS_WITH, "attachments-dir": "../outside"}, event_name="workflow_dispatch",
                env=providers_env(h.fp))
    assert res.code == 1 and "attachments-dir" in res.commands("error")[0]
    assert h.fp.count("cloudflare") == 0
    res.assert_no_secret()


def scenario_fork_and_read_only_token_generate_nothing(h: Harness) -> None:
    h.checkout()
    head = h.gh.head()
    fork_event = {"pull_request": {"number": 7, "head": {"ref": "patch-1", "sha": head,
                                                         "repo": {"full_name": "stranger/blog"}},
                                   "base": {"ref": "main", "sha": head, "repo": {"full_name": h.gh.full_name}}},
                  "repository": {"full_name": h.gh.full_name, "private": False}}
    res = h.run({}, event_name="pull_request", event=fork_event,
                env={"GITHUB_HEAD_REF": "patch-1", "GITHUB_REF": "refs/pull/7/merge"})
    assert res.code == 0, res.stdout + res.stderr
    assert any("fork" in n for n in res.commands("notice")) and not res.commands("error")
    assert res.outputs["images-generated"] == "0"
    res = h.run(PROVIDERS_WITH, event_name="workflow_dispatch", env=providers_env(h.fp), token=READ_TOKEN)
    assert res.code == 0, res.stdout + res.stderr
    notices = res.commands("notice")
    assert notices and "nothing generated" in notices[0] and "contents: write" in notices[0]
    assert h.fp.count("cloudflare") == 0 and h.gh.head() == head
    assert git(h.workspace, "status", "--porcelain").strip() == ""
    res.assert_no_secret()


def scenario_pull_request_mode_opens_then_updates_one_pull_request(h: Harness) -> None:
    h.checkout()
    base = h.gh.head()
    with_ = {**PROVIDERS_WITH, "commit": "pull-request",
             "report": "covers-report.json"}
    res = h.run(with_, event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 0, res.stdout + res.stderr
    o = res.outputs
    assert o["images-generated"] == "2" and o["pull-request-number"] == "1"
    assert o["pull-request-url"].endswith("/pull/1") and o["commit-sha"] == h.gh.head("imagegen/covers")
    assert h.gh.head() == base  # main untouched: a human approves the covers
    pr = h.gh.pulls[0]
    assert pr["head"] == "imagegen/covers" and pr["base"] == "main" and pr["title"] == "Cover images for 2 posts"
    assert "**Alpha**" in pr["body"] and "**Beta**" in pr["body"] and "cloudflare" in pr["body"]
    assert "Proposed in pull request [#1]" in res.summary
    assert any("pull request #1" in n for n in res.commands("notice"))
    # the checkout is main again (the covers live on the branch), the report file agrees with the outputs
    assert git(h.workspace, "rev-parse", "HEAD").strip() == base
    assert git(h.workspace, "status", "--porcelain").strip() == "?? covers-report.json"
    report_file = json.loads((h.workspace / "covers-report.json").read_text())
    assert report_file == json.loads(o["report"])
    calls = h.fp.count("cloudflare")
    # a new post later: added to the same pull request; the two waiting in it are not made again
    h.gh.commit_files({NEW: post("Newer")})
    h.checkout()
    res = h.run(with_, event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 0, res.stdout + res.stderr
    assert res.outputs["images-generated"] == "1" and res.outputs["posts-updated"] == NEW
    assert h.fp.count("cloudflare") == calls + 1
    assert res.outputs["pull-request-number"] == "1" and len(h.gh.pulls) == 1
    assert h.gh.pulls[0]["title"] == "Cover images for 3 posts"
    assert h.gh.git("rev-parse", f"{res.outputs['commit-sha']}^").strip() == o["commit-sha"]
    assert git(h.workspace, "status", "--porcelain").strip() == "?? covers-report.json"
    # nothing new: no write at all, the outputs still name the open pull request
    before = len(h.gh.requests)
    res = h.run(with_, event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 0 and res.outputs["images-generated"] == "0"
    assert res.outputs["pull-request-number"] == "1"
    assert [r for r in h.gh.requests[before:] if r.method != "GET"] == []
    res.assert_no_secret()


def scenario_protected_branch_is_one_error_line_with_the_fix(h: Harness) -> None:
    h.checkout()
    head = h.gh.head()
    # a ruleset the token may not bypass is readable: refused before any cover is made
    h.gh.protect("main", ruleset=True)
    res = h.run(PROVIDERS_WITH, event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 1
    errors = res.commands("error")
    assert len(errors) == 1, res.stdout
    assert "protect main" in errors[0] and "through a pull request" in errors[0] and "commit: pull-request" in errors[0]
    assert h.fp.count("cloudflare") == 0 and not [r for r in h.gh.requests if r.method == "PATCH"]
    assert git(h.workspace, "status", "--porcelain").strip() == ""
    # classic branch protection is not readable without admin rights: GitHub refuses the update
    h.gh.protected.clear()
    h.gh.protect("main")
    res = h.run(PROVIDERS_WITH, event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 1
    errors = res.commands("error")
    assert len(errors) == 1, res.stdout
    assert "Protected branch update failed for refs/heads/main." in errors[0] and "commit: pull-request" in errors[0]
    assert sum(1 for r in h.gh.requests if r.method == "PATCH") == 1 and h.gh.head() == head
    assert res.outputs["commit-sha"] == "" and "Not committed" in res.summary
    # a ruleset this token may bypass is no refusal
    h.gh.protected.clear()
    h.gh.protect("main", ruleset=True)
    h.gh.ruleset_bypass = "always"  # (and GitHub lets the bypassing token's update through)
    h.checkout()
    res = h.run(PROVIDERS_WITH, event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 0 and res.outputs["commit-sha"] == h.gh.head(), res.stdout
    res.assert_no_secret()


# ============================================================================ the tests (this interpreter)


@pytest.fixture
def harness(tmp_path: Path):
    with FakeProviders(time_scale=0.001) as fp:
        gh = None

        def factory(origin: Path) -> FakeGitHub:
            nonlocal gh
            gh = FakeGitHub(origin, tokens={GH_TOKEN: "write", READ_TOKEN: "read"}).start()
            return gh

        h = make_harness(tmp_path, HostRunner(), fp, factory)
        try:
            yield h
        finally:
            if gh is not None:
                gh.stop()


def test_push_generates_only_the_pushed_post_and_commits_it(harness):
    scenario_push_generates_only_the_pushed_post_and_commits_it(harness)


def test_dispatch_backfill_with_a_cap_and_problem_posts(harness):
    scenario_dispatch_backfill_with_a_cap_and_problem_posts(harness)


def test_bad_settings_fail_with_one_error_line(harness):
    scenario_bad_settings_fail_with_one_error_line(harness)


def test_fork_and_read_only_token_generate_nothing(harness):
    scenario_fork_and_read_only_token_generate_nothing(harness)


def test_push_touching_no_post_does_nothing(harness):
    _, _, event = harness.push_from_elsewhere({"README.md": b"only the readme\n"})
    harness.checkout()
    res = harness.run(PROVIDERS_WITH, event=event, env=providers_env(harness.fp))
    assert res.code == 0 and res.outputs["images-generated"] == "0" and res.outputs["commit-sha"] == ""
    assert any("no post was added or changed" in n for n in res.commands("notice"))
    assert harness.fp.count("cloudflare") == 0


def test_push_to_a_new_branch_uses_the_event_commits(harness):
    h = harness
    _, after, event = h.push_from_elsewhere({NEW: post("New on a branch")})
    event["before"] = "0" * 40
    event["created"] = True
    h.checkout()
    res = h.run({**PROVIDERS_WITH, "commit": "none"},
                event=event, env=providers_env(h.fp))
    assert res.code == 0, res.stdout + res.stderr
    assert res.outputs["posts-updated"] == NEW and res.outputs["commit-sha"] == ""
    assert h.gh.head() == after  # commit: none writes files only
    assert "Not committed" in res.summary


def test_before_missing_from_a_shallow_clone_falls_back_to_the_event(harness):
    h = harness
    _, _, event = h.push_from_elsewhere({NEW: post("Fallback")})
    event["before"] = "1234567" * 5 + "12345"  # a commit the remote does not have either
    h.checkout()
    res = h.run({**PROVIDERS_WITH, "dry-run": "true"},
                event=event, env=providers_env(h.fp))
    assert res.code == 0, res.stdout + res.stderr
    assert any("using the files listed in the event" in w for w in res.commands("warning"))
    report = json.loads(res.outputs["report"])
    assert report["dry_run"] and [p["post"] for p in report["pending"]] == [NEW]
    assert res.outputs["commit-sha"] == "" and "Would generate" in res.summary
    assert h.fp.count("cloudflare") == 0


def test_env_fallback_keeps_an_existing_workflow_env_working(harness):
    """Nothing in `with:`: providers and secrets come from env, as the old workflows set them."""
    h = harness
    h.checkout()
    env = {**providers_env(h.fp), "IMAGEGEN_PROVIDERS": "together", "IMAGEGEN_MAX_IMAGES": "1",
           "IMAGEGEN_DRY_RUN": "true"}
    res = h.run({}, event_name="schedule", env=env)
    assert res.code == 0, res.stdout + res.stderr
    report = json.loads(res.outputs["report"])
    assert report["dry_run"] and len([p for p in report["pending"] if p["reason"] == "dry-run"]) == 1
    assert f"::add-mask::{TG_TOKEN}" in res.stdout.splitlines()


def test_pull_request_mode(harness):
    scenario_pull_request_mode_opens_then_updates_one_pull_request(harness)


def test_protected_branch(harness):
    scenario_protected_branch_is_one_error_line_with_the_fix(harness)


def test_a_run_with_nothing_to_do_writes_nothing_to_github(harness):
    h = harness
    h.checkout()
    with_ = {**PROVIDERS_WITH}
    res = h.run(with_, event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 0 and res.outputs["images-generated"] == "2"
    h.checkout()
    before = len(h.gh.requests)
    res = h.run(with_, event_name="schedule", env=providers_env(h.fp))
    assert res.code == 0 and res.outputs["images-generated"] == "0", res.stdout
    assert h.gh.requests[before:] == [] or all(r.method == "GET" for r in h.gh.requests[before:])


def test_report_file_outputs_and_summary_agree_after_a_concurrent_edit(harness):
    h = harness
    h.checkout()
    theirs = post("Alpha", "Edited by a human while the covers were made.")
    h.gh.before_ref_update.append(lambda g: g.commit_files({ALPHA: theirs}, "human edit"))
    res = h.run({**PROVIDERS_WITH, "report": "r.json"},
                event_name="workflow_dispatch", env=providers_env(h.fp))
    assert res.code == 0, res.stdout + res.stderr
    report = json.loads((h.workspace / "r.json").read_text())
    assert report == json.loads(res.outputs["report"])
    assert [g["post"] for g in report["generated"]] == [BETA] and res.outputs["posts-updated"] == BETA
    assert res.outputs["images-generated"] == "1" and res.outputs["pending"] == "1"
    assert report["pending"] == [{"post": ALPHA, "reason": "changed-upstream", "message": report["pending"][0]["message"]}]
    assert "**1** generated" in res.summary and "changed-upstream" in res.summary
    assert h.gh.read(ALPHA) == theirs


def test_doctor_mode_with_no_key_prints_the_table_in_the_workflows_words(harness):
    """`mode: doctor` before any secret is added: the table (where to get each key), named by the
    action's inputs; the step fails because nothing is usable yet, with one error line."""
    harness.checkout()
    res = harness.run({"mode": "doctor"}, event_name="workflow_dispatch")
    assert res.code == 1
    (error,) = res.commands("error")
    assert "no image provider is usable" in error
    log = res.stdout
    assert "cloudflare-api-token and cloudflare-account-id" in log and "https://dash.cloudflare.com" in log
    assert "CLOUDFLARE_API_TOKEN" not in log
    assert "imagegen doctor" in res.summary
    assert harness.fp.count("cloudflare") == 0
