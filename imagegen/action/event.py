"""The event that started the job: which branch to commit to, a pull request from a fork, and which
files a push (or pull request) added or changed."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping

from imagegen.errors import GitError
from imagegen.git import NETWORK_TIMEOUT, Git
from imagegen.sites.base import Site

ZERO_SHA = "0" * 40


def _paths(git: Git, *args: str) -> list[str] | None:
    """`git ARGS -z` as paths; None when git fails or does not finish in time (never hangs the job)."""
    try:
        r = git.run(*args, check=False)
    except GitError:
        return None
    return Git.paths(r.stdout) if r.returncode == 0 else None


def load_event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fork_pull_request(event_name: str, event: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """The fork's name when this is a pull request from a fork (no secrets, read-only token)."""
    if not event_name.startswith("pull_request"):
        return None
    pr = event.get("pull_request") or {}
    base = (event.get("repository") or {}).get("full_name") or env.get("GITHUB_REPOSITORY", "")
    head = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    if not pr:
        return None
    if not head:
        return "(a deleted fork)"
    return head if head != base else None


def target_branch(explicit: str, env: Mapping[str, str]) -> str | None:
    if explicit.strip():
        return explicit.strip()
    if env.get("GITHUB_HEAD_REF"):
        return env["GITHUB_HEAD_REF"]
    ref = env.get("GITHUB_REF", "")
    if ref.startswith("refs/heads/"):
        return ref[len("refs/heads/"):]
    return None


def _have_commit(git: Git, sha: str) -> bool:
    return git.ok("cat-file", "-e", f"{sha}^{{commit}}")


def _fetch_commit(git: Git, sha: str) -> bool:
    if _have_commit(git, sha):
        return True
    try:
        shallow = git.out("rev-parse", "--is-shallow-repository") == "true"
    except GitError:
        return False
    fetched = git.ok("fetch", "-q", "--no-tags", *(["--depth=1"] if shallow else []), "origin", sha,
                     timeout=NETWORK_TIMEOUT)
    return fetched and _have_commit(git, sha)


def _event_files(event: Mapping[str, Any]) -> list[str] | None:
    commits = event.get("commits")
    if not isinstance(commits, list):
        return None
    files: list[str] = []
    for c in commits:
        if isinstance(c, dict):
            for key in ("added", "modified"):
                files.extend(p for p in c.get(key) or [] if isinstance(p, str))
    return files


def changed_files(repo: Path, before: str, after: str, event: Mapping[str, Any],
                  warn: Callable[[str], None]) -> list[str]:
    """Files added or modified between two commits (deleted ones left out).

    git first (fetching a commit a shallow checkout lacks); for a new branch (all-zero `before`)
    or when git cannot answer, the files listed in the event's commits."""
    git = Git(repo)
    if before and before != ZERO_SHA and after:
        if _fetch_commit(git, before) and _fetch_commit(git, after):
            files = _paths(git, "diff", "--name-only", "-z", "--diff-filter=ACMR", before, after, "--")
            if files is not None:
                return files
        files = _event_files(event)
        warn(f"only-changed: could not compare {before[:12]}..{after[:12]} with git; "
             f"using the files listed in the event's commits")
        return files or []
    files = _event_files(event)
    if files is not None:
        return files
    if after and _fetch_commit(git, after):
        files = _paths(git, "diff-tree", "--root", "--no-commit-id", "--name-only", "-z", "-r",
                       "--diff-filter=ACMR", after)
        if files is not None:
            return files
    return []


def commit_range(event_name: str, event: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str, str] | None:
    if event_name == "push":
        return str(event.get("before") or ""), str(event.get("after") or env.get("GITHUB_SHA", ""))
    if event_name.startswith("pull_request"):
        pr = event.get("pull_request") or {}
        return str((pr.get("base") or {}).get("sha") or ""), str((pr.get("head") or {}).get("sha") or "")
    return None


def looks_like_post(rel: str, site: Site) -> bool:
    """The same rules discover applies to a walked file, from the site's conventions (which
    folders are skipped, which names and paths are posts, the content paths). `site` is the run's
    resolved Site, resolved once by the caller (not once per changed file)."""
    p = PurePosixPath(rel)
    folders = p.parts[:-1]
    if any(site.skip_dir("/".join(folders[: i + 1]), part) for i, part in enumerate(folders)):
        return False
    if not site.is_post_name(p.name) or not site.is_post_path(rel):
        return False
    return any(c == "." or rel == c or rel.startswith(c.rstrip("/") + "/") for c in site.paths)
