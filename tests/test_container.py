"""The end-to-end action scenarios again, inside the real image.

The repository's Dockerfile is built with buildah (scripts/container-test.sh; no Docker needed) on a
base made like the shipped one (Debian 13 trixie, Debian's Python 3.13, no git, no docs: what
python:3.13-slim-trixie is, as far as Debian packages allow), so the Dockerfile's git install runs
in every test build. Each scenario of tests/test_action_e2e.py runs the image's own ENTRYPOINT the way the runner starts a
Docker action: workspace mounted at /github/workspace (and made the working directory), the event,
output and summary files under /github/, INPUT_* and GITHUB_* in the environment. The workspace
belongs to another user (uid 1001, like the runner's), as it does on GitHub's runners.

Needs root and buildah (`bash scripts/install-container-tools.sh`); skipped with the reason
otherwise, unless IMAGEGEN_REQUIRE_TOOLS=1 (then a missing tool is a failure).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.fake_github import FakeGitHub
from tests.fake_providers import FakeProviders
from tests.helpers import ROOT
from tests.test_action_e2e import (GH_TOKEN, READ_TOKEN, Harness, Paths, make_harness,
                                   scenario_bad_settings_fail_with_one_error_line,
                                   scenario_dispatch_backfill_with_a_cap_and_problem_posts,
                                   scenario_fork_and_read_only_token_generate_nothing,
                                   scenario_protected_branch_is_one_error_line_with_the_fix,
                                   scenario_pull_request_mode_opens_then_updates_one_pull_request,
                                   scenario_push_generates_only_the_pushed_post_and_commits_it)

pytestmark = [pytest.mark.container, pytest.mark.slow]

BUILDAH = shutil.which("buildah")
B = [BUILDAH or "buildah", "--storage-driver", "vfs"]
IMAGE = os.environ.get("IMAGEGEN_CONTAINER_IMAGE", "localhost/imagegen:test")
BASE = "localhost/pybase:trixie-slim"  # scripts/container-test.sh makes it
RUNNER_UID = 1001


def _require() -> None:
    reason = ""
    if BUILDAH is None:
        reason = "buildah is not installed (bash scripts/install-container-tools.sh installs it; .ci/run does)"
    elif os.geteuid() != 0:
        reason = "building and running the image with buildah (vfs storage, chroot isolation) needs root"
    if reason:
        if os.environ.get("IMAGEGEN_REQUIRE_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def image() -> tuple[str, list[str]]:
    _require()
    if os.environ.get("IMAGEGEN_CONTAINER_BUILT") != "1":
        r = subprocess.run(["bash", str(ROOT / "scripts" / "container-test.sh"), "build"],
                           env={**os.environ, "IMAGEGEN_CONTAINER_IMAGE": IMAGE}, capture_output=True, text=True,
                           timeout=3600)
        assert r.returncode == 0, f"image build failed:\n{r.stderr[-4000:]}"
    r = subprocess.run(B + ["inspect", "--type", "image", IMAGE], capture_output=True, text=True, check=True)
    config = json.loads(r.stdout)["OCIv1"]["config"]
    entrypoint = config.get("Entrypoint") or []
    assert entrypoint and all(part.startswith("/") for part in entrypoint), \
        f"ENTRYPOINT must be exec form with absolute paths (the runner sets the working directory): {entrypoint}"
    assert "User" not in config or config["User"] in ("", "root", "0"), "no USER line: the workspace must be writable"
    return IMAGE, entrypoint


@pytest.fixture(scope="session")
def container(image) -> Iterator[tuple[str, list[str]]]:
    """One working container from the image for the whole session (vfs storage copies the image's
    files for each new container, which takes a while; runs leave nothing in it: the workspace, home
    and runner files are mounts, and Python writes no bytecode)."""
    tag, entrypoint = image
    c = subprocess.run(B + ["from", "--quiet", tag], capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield c, entrypoint
    finally:
        subprocess.run(B + ["rm", c], capture_output=True)


class ContainerRunner:
    """`docker run` as the runner does it, with buildah: the image's entrypoint, the runner's mounts."""

    name = "container"

    def __init__(self, container: str, entrypoint: list[str]) -> None:
        self.container = container
        self.entrypoint = entrypoint

    def paths(self, h: Harness) -> Paths:
        return Paths("/github/workspace", "/github/workflow/event.json", "/github/file_commands/output",
                     "/github/file_commands/summary.md", "/github/home")

    def run(self, h: Harness, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        for p in [h.workspace, *h.workspace.rglob("*")]:
            os.lchown(p, RUNNER_UID, RUNNER_UID)
        args = B + ["run", "--isolation", "chroot", "--workingdir", "/github/workspace",
                    "-v", f"{h.workspace}:/github/workspace", "-v", f"{h.files}:/github/workflow",
                    "-v", f"{h.files}:/github/file_commands", "-v", f"{h.home}:/github/home",
                    # the checkout's `origin` (a bare repository standing in for github.com)
                    "-v", f"{h.origin}:{h.origin}"]
        for k, v in env.items():
            args += ["--env", f"{k}={v}"]
        r = subprocess.run(args + [self.container, "--", *self.entrypoint], capture_output=True, text=True,
                           timeout=600)
        # a later step runs as the runner's user: nothing in the workspace may be left to root
        root_owned = [str(p.relative_to(h.workspace)) for p in h.workspace.rglob("*") if p.lstat().st_uid == 0]
        assert not root_owned, f"left owned by root: {root_owned[:5]}"
        return r


@pytest.fixture
def harness(tmp_path: Path, container, monkeypatch):
    # the host's own git calls on the uid-1001 workspace
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "safe.directory")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "*")
    with FakeProviders(time_scale=0.001) as fp:
        servers: list[FakeGitHub] = []

        def factory(origin: Path) -> FakeGitHub:
            servers.append(FakeGitHub(origin, tokens={GH_TOKEN: "write", READ_TOKEN: "read"}).start())
            return servers[-1]

        h = make_harness(tmp_path, ContainerRunner(*container), fp, factory)
        try:
            yield h
        finally:
            for s in servers:
                s.stop()


def test_image_runs_on_its_python_with_the_locked_dependencies(container):
    c, _ = container
    r = subprocess.run(B + ["run", "--isolation", "chroot", c, "--", "python", "-c",
                            "import sys, github, httpx, google.genai, PIL, yaml, imagegen.action, huggingface_hub; "
                            "from huggingface_hub import AsyncInferenceClient; "
                            "print(sys.version_info[:2])"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    git = subprocess.run(B + ["run", "--isolation", "chroot", c, "--", "git", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert git.returncode == 0 and "git version" in git.stdout
    font = subprocess.run(B + ["run", "--isolation", "chroot", c, "--", "python", "-c",
                               "from PIL import features; from imagegen.images import fonts; "
                               "print(*[f.path for f in fonts.CHAIN], features.check('raqm'), sep='\\n')"],
                          capture_output=True, text=True, timeout=60)
    paths = font.stdout.split()
    assert font.returncode == 0 and len(paths) == 4, font.stderr  # every font of the chain, and text shaping
    assert paths[0].endswith("dejavu/DejaVuSans-Bold.ttf") and paths[1].endswith("wqy/wqy-microhei.ttc")
    assert paths[2].endswith("noto/NotoColorEmoji.ttf") and paths[3] == "True"


MAX_IMAGE_MB = 260
"""The image a blog's job pulls (issue 18: the fonts of every script, and still under this)."""


def test_the_image_stays_small(image):
    tag, _ = image
    size = subprocess.run(B + ["images", "--format", "{{.Size}}", tag], capture_output=True, text=True,
                          check=True).stdout.split("\n")[0].strip()
    number, unit = size.split()
    megabytes = float(number) * {"kB": 0.001, "MB": 1, "GB": 1000}[unit]
    assert megabytes < MAX_IMAGE_MB, f"the image is {size}; keep it under {MAX_IMAGE_MB} MB (docs/measurements.md)"


def test_cards_in_every_script_in_the_image(container):
    """The fonts and the text shaping are in the image: Japanese, Korean, emoji and Arabic titles
    come out without a character left undrawn, each in the font that has it."""
    c, _ = container
    code = ("from imagegen.providers.card import render_card; from imagegen.images.overlay import CoverText; "
            "import json; print(json.dumps([(render_card('p', CoverText(t), 600, 315)[1].faces, "
            "render_card('p', CoverText(t), 600, 315)[1].missing) for t in "
            "['東京の冬の日々', '한국어 제목', '🐔🥚 Eggs', 'كيف تحمي الدجاج']]))")
    r = _run(c, "python", "-c", code)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert [missing for _, missing in got] == ["", "", "", ""]
    assert got[0][0] == ["WenQuanYi Micro Hei"] and got[1][0][0] == "WenQuanYi Micro Hei"  # (its space: DejaVu's)
    assert "Noto Color Emoji" in got[2][0] and got[3][0] == ["DejaVu Sans"]


def _run(c: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(B + ["run", "--isolation", "chroot", c, "--", *argv], capture_output=True, text=True,
                          timeout=300)


def test_the_dockerfile_installed_git_on_a_base_without_it(container):
    """The test base has no git, like python:*-slim: the image's git comes from the Dockerfile's
    install step, so that step ran in this build."""
    base = subprocess.run(B + ["from", "--quiet", BASE], capture_output=True, text=True, check=True).stdout.strip()
    try:
        assert _run(base, "sh", "-c", "command -v git").returncode != 0, "the test base must not have git"
        py = _run(base, "python3", "-c", "import sys; print(sys.version_info[:2])")
        assert py.returncode == 0 and py.stdout.strip() == "(3, 13)", py.stdout + py.stderr
    finally:
        subprocess.run(B + ["rm", base], capture_output=True)
    c, _ = container
    git = _run(c, "git", "--version")
    assert git.returncode == 0 and "git version" in git.stdout


def test_only_what_runs_is_in_the_image(container):
    c, _ = container
    script = ("import importlib.util as u, glob, os, sys\n"
              "bad = [m for m in ('pip', 'setuptools', 'wheel', 'pytest', 'hypothesis', 'vcr') if u.find_spec(m)]\n"
              "bad += glob.glob('/opt/venv/lib/python3*/site-packages/*/tests')\n"
              "bad += glob.glob('/var/lib/apt/lists/*_Packages') + glob.glob('/root/.cache/pip')\n"
              "bad += glob.glob('/usr/share/perl/*') + glob.glob('/app/tests')\n"
              "print('\\n'.join(bad))\n"
              "sys.exit(1 if bad else 0)\n")
    r = _run(c, "python", "-c", script)
    assert r.returncode == 0, f"left in the image:\n{r.stdout}{r.stderr}"
    compiled = _run(c, "python", "-c", "import glob; print(len(glob.glob('/app/imagegen/**/__pycache__/*.pyc', "
                                       "recursive=True)))")
    assert int(compiled.stdout.strip() or 0) > 10, "the code is compiled at build time (fast start)"


def test_pull_request_mode_in_the_image(harness):
    scenario_pull_request_mode_opens_then_updates_one_pull_request(harness)


def test_protected_branch_in_the_image(harness):
    scenario_protected_branch_is_one_error_line_with_the_fix(harness)


def test_push_in_the_image(harness):
    scenario_push_generates_only_the_pushed_post_and_commits_it(harness)


def test_backfill_with_git_commit_in_the_image(harness):
    scenario_dispatch_backfill_with_a_cap_and_problem_posts(harness)


def test_bad_settings_in_the_image(harness):
    scenario_bad_settings_fail_with_one_error_line(harness)


def test_fork_and_read_only_token_in_the_image(harness):
    scenario_fork_and_read_only_token_generate_nothing(harness)
