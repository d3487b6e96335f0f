"""Shared test helpers: real git repos in temp dirs, the demo blog, and a repo consistency check."""

from __future__ import annotations

import difflib

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_BLOG = ROOT / "examples" / "blog"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "test")
    git(path, "config", "user.email", "test@example.invalid")
    return path


def commit_all(repo: Path, message: str = "commit") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def demo_repo(tmp_path: Path) -> Path:
    """A copy of examples/blog as a real git repo with one commit."""
    repo = tmp_path / "blog"
    shutil.copytree(EXAMPLE_BLOG, repo)
    init_repo(repo)
    commit_all(repo, "demo blog")
    return repo


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "INPUT_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "imagegen", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=600)


def snapshot(repo: Path) -> dict[str, bytes]:
    """Every file in the work tree (not .git), by repo-relative path."""
    out: dict[str, bytes] = {}
    for p in sorted(repo.rglob("*")):
        rel = p.relative_to(repo).as_posix()
        if rel == ".git" or rel.startswith(".git/") or not p.is_file():
            continue
        out[rel] = p.read_bytes()
    return out


_OBSIDIAN = re.compile(r"!\[\[([^\]|]+)(?:\|[^\]]*)?\]\]")
_MARKDOWN = re.compile(r"!\[[^\]]*\]\(<?([^)>\s]+)>?[^)]*\)")


def embeds(text: str) -> list[str]:
    """Image targets in text, ignoring fenced and inline code (good enough for generated posts)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return _OBSIDIAN.findall(text) + [unquote(t) for t in _MARKDOWN.findall(text)]


def assert_consistent(repo: Path, originals: dict[str, bytes]) -> None:
    """After any run (even one killed mid-way): no temp files in the work tree; every post is either
    byte-identical to its original or complete (valid frontmatter with image fields and an embed
    that resolves to an existing image)."""
    for p in repo.rglob("*"):
        rel = p.relative_to(repo).as_posix()
        if rel.startswith(".git/"):
            continue
        assert ".imagegen-tmp-" not in p.name, f"temp file left: {rel}"
    for rel, before in originals.items():
        if not rel.endswith(".md"):
            continue
        now = (repo / rel).read_bytes()
        if now == before:
            continue
        text = now.decode("utf-8-sig")
        assert text.startswith("---"), f"{rel}: changed but has no frontmatter"
        m = re.match(r"---\r?\n(.*?)\r?\n---\s*?(\r?\n|$)", text, flags=re.S)
        assert m, f"{rel}: changed but its frontmatter block is not closed"
        fm = yaml.safe_load(m.group(1))
        assert fm.get("image_provider") and fm.get("image_date"), f"{rel}: changed but incomplete"
        targets = embeds(text)
        assert targets, f"{rel}: changed but no embed"
        for t in targets:
            assert (repo / t).is_file() or (repo / rel).parent.joinpath(t).is_file(), f"{rel}: embed {t} does not resolve"


SMALL_POST = "---\ntitle: {title}\n---\n# {title}\n\nA post about {title}.\n"


def small_blog(tmp_path: Path, n: int = 2) -> Path:
    """A committed git repository with `n` dated posts titled "Post 0", "Post 1", ..."""
    repo = init_repo(tmp_path / "blog")
    for i in range(n):
        p = repo / "series" / f"2026-01-{i + 1:02d}-post-{i}.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(SMALL_POST.format(title=f"Post {i}"))
    commit_all(repo)
    return repo


def changed_lines(old: str, new: str, *, keepends: bool = True) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts: what a minimal-diff edit touched."""
    a, b = old.splitlines(keepends=keepends), new.splitlines(keepends=keepends)
    removed: list[str] = []
    added: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            removed += a[i1:i2]
            added += b[j1:j2]
    return removed, added
