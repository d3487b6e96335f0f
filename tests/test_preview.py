"""`imagegen preview`: one static page with every post's cover as social sites crop it, missing and
stale covers marked, opened in a real browser (headless Chromium from Debian's
chromium-headless-shell, installed by scripts/install-chromium.sh) to check that every image loads
and nothing is logged to the console."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from imagegen import cli
from imagegen.cli.scaffold import init
from tests.helpers import commit_all, demo_repo, git, init_repo

BROWSERS = ("chromium-headless-shell", "chromium")


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    reason = "headless Chromium is not installed (bash scripts/install-chromium.sh installs it)"
    if os.environ.get("IMAGEGEN_REQUIRE_TOOLS") == "1" or os.environ.get("CI", "").lower() in ("1", "true"):
        pytest.fail(reason)
    pytest.skip(reason)


def open_in_browser(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The page's DOM after it loaded (images included), and what it logged to the console."""
    r = subprocess.run([browser(), "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom",
                        page.as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line]
    return r.stdout, console


def states(dom: str) -> list[str]:
    return re.findall(r'<img [^>]*data-state="(\w+)"', dom)


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    """The demo blog after a card run, then edited: a retitled card (stale), a new post (missing),
    a post naming a cover file that is not there (missing), a draft-like future post (skipped)."""
    repo = demo_repo(tmp_path)
    assert cli.main(["run", str(repo), "--providers", "card", "--width", "320", "--height", "168", "-q"], env={}) == 0
    post = repo / "chickie-loo" / "2026-03-02-predator-proofing.md"
    post.write_text(post.read_text().replace("title: Predator-proofing the run", "title: Predator-proofing the hen run"))
    (repo / "chickie-loo" / "2026-03-20-new.md").write_text("# A new post\n\nText.\n")
    (repo / "chickie-loo" / "2026-03-21-broken.md").write_text("# Broken\n\n![[attachments/nothing-here.jpg]]\n")
    commit_all(repo)
    return repo


def test_the_page_shows_every_post_with_its_state(blog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = git(blog, "status", "--porcelain")
    assert cli.main(["preview", str(blog)], env={}) == 0
    out = capsys.readouterr().out
    page = blog / ".git" / "imagegen-preview.html"
    assert f"wrote {page}: " in out and f"open it: {page.as_uri()}" in out
    assert "2 missing, 1 stale" in out
    assert git(blog, "status", "--porcelain") == before  # it wrote nothing into the blog
    html = page.read_text()
    assert html.count('class="post missing"') == 2 and html.count('class="post stale"') == 1
    assert "Predator-proofing the hen run" in html and "it names a cover file that is not there" in html
    assert html.count("link card 1.91:1") == html.count("large card 2:1") == html.count(">square<") >= 10
    assert "card title-card-v1" in html and "generate an image to illustrate" in html  # provider, prompt
    assert "http://" not in html and "https://" not in html  # nothing from the network


def test_every_image_loads_in_a_real_browser_with_no_console_message(blog: Path, tmp_path: Path) -> None:
    assert cli.main(["preview", str(blog)], env={}) == 0
    dom, console = open_in_browser(blog / ".git" / "imagegen-preview.html", tmp_path)
    loaded = states(dom)
    assert loaded and set(loaded) == {"loaded"}, loaded
    assert len(loaded) == 3 * dom.count('<div class="crops">')
    assert console == []


def test_the_browser_check_sees_a_broken_image(blog: Path, tmp_path: Path) -> None:
    """The check above can fail: a cover file gone after the page was written shows as broken."""
    out = tmp_path / "page.html"
    assert cli.main(["preview", str(blog), "--out", str(out)], env={}) == 0
    (blog / "attachments" / "chickie-loo-2026-03-15-first-chicks.jpg").unlink()
    dom, _ = open_in_browser(out, tmp_path)
    assert states(dom).count("broken") == 3  # its three crops


def test_the_page_works_from_anywhere_and_on_every_engine(tmp_path: Path) -> None:
    """Paths are relative to the page: it works in a worktree's git directory, or elsewhere."""
    from tests.helpers import ROOT

    site = tmp_path / "hugo"
    shutil.copytree(ROOT / "examples" / "hugo", site)
    init_repo(site)
    commit_all(site)
    assert cli.main(["run", str(site), "--providers", "card", "--width", "320", "--height", "168", "-q"], env={}) == 0
    elsewhere = tmp_path / "far" / "away" / "covers.html"
    assert cli.main(["preview", str(site), "--out", str(elsewhere)], env={}) == 0
    dom, console = open_in_browser(elsewhere, tmp_path)
    assert states(dom) and set(states(dom)) == {"loaded"} and console == []


def test_preview_needs_no_key_and_no_settings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = demo_repo(tmp_path)
    init(repo)
    assert cli.main(["preview", str(repo)], env={}) == 0
    out = capsys.readouterr().out
    assert "3 with a cover, " in out and " missing, 1 stale" in out  # winter eggs: regenerate_image
