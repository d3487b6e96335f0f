"""`commit: git`: stage, commit as github-actions[bot], push; never a force push.

A rejected push (the branch moved) -> fetch, leave posts changed upstream for the next run, rebase
on the new head (what `git pull --rebase` does) and push again, bounded. A push GitHub refuses for
another reason (branch protection, a ruleset, a hook) is one clear error, not a retry loop."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from imagegen.errors import PublishError
from imagegen.publish.base import DEFAULT_ATTEMPTS, Change, Result, default_message, left_upstream
from imagegen.publish.checkout import Git
from imagegen.redact import redact

NOT_A_CHECKOUT = "the workspace is not a git checkout (commit: git needs actions/checkout)"


def _said(r: subprocess.CompletedProcess[bytes]) -> str:
    return (r.stderr or b"").decode("utf-8", errors="replace")


def _rejected(r: subprocess.CompletedProcess[bytes]) -> bool:
    """The push lost a race (the branch moved): worth a rebase and another push. A `[remote
    rejected]` for any other reason (a protected branch, a ruleset, a hook) is a refusal."""
    return any(s in _said(r) for s in ("[rejected]", "non-fast-forward", "fetch first", "cannot lock ref"))


def _refused(r: subprocess.CompletedProcess[bytes]) -> bool:
    text = _said(r)
    return "[remote rejected]" in text or "GH006" in text or "GH013" in text


def can_push(repo_dir: Path, branch: str, *, remote: str = "origin") -> str | None:
    """None when a push to the branch is allowed (checked with `git push --dry-run`), else why not."""
    g = Git(repo_dir)
    if not g.is_repo():
        return NOT_A_CHECKOUT
    r = g.run("push", "--dry-run", "-q", remote, f"HEAD:refs/heads/{branch}", check=False)
    if r.returncode != 0 and not _rejected(r):
        return f"cannot push to {branch}: {g.stderr(r)}"
    return None


@dataclass
class _Push:
    """One publication with the git CLI: the commit of our posts and its way onto the branch."""

    g: Git
    branch: str
    remote: str
    message: str
    todo: list[Change]
    result: Result
    base: str = ""
    new_files: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.base = self.g.head()
        self.new_files = {p for c in self.todo for p in c.written if not self.g.tracked_in(self.base, p)}

    def commit(self) -> bool:
        """Commit the posts still to do; False when that changes nothing."""
        paths = [p for c in self.todo for p in c.paths]
        if not paths:
            return False
        self.g.stage(paths)
        if self.g.run("diff", "--cached", "--quiet", "--", *paths, check=False).returncode == 0:
            return False
        self.g.run("commit", "-q", "--no-verify", "-m", self.message, "--", *paths)
        return True

    def push(self) -> subprocess.CompletedProcess[bytes]:
        return self.g.run("push", "-q", self.remote, f"HEAD:refs/heads/{self.branch}", check=False)

    def refusal(self, r: subprocess.CompletedProcess[bytes], *, last: bool, attempts: int) -> PublishError | None:
        """The error that ends the publication after a failed push (None: rebase and try again)."""
        if _refused(r) and not _rejected(r):
            said = [ln.strip() for ln in _said(r).splitlines() if ln.startswith("remote:") or "[remote rejected]" in ln]
            return PublishError(f"GitHub refused the push to {self.branch}: {redact(' / '.join(said))}. The branch is "
                                "protected (branch protection or a ruleset); use `commit: pull-request`, or pass a "
                                f"`github-token` that is allowed to push to {self.branch}. The images stay in the "
                                "workspace.")
        if not _rejected(r) or last:
            return PublishError(f"git push to {self.branch} failed: {self.g.stderr(r)}"
                                + (f" (after {attempts} attempts)" if _rejected(r) else ""))
        return None

    def catch_up(self) -> bool:
        """Fetch the moved branch, leave our posts it changed, rebase on it. False: nothing of ours
        is left to push (the checkout then sits on the new head)."""
        r = self.g.run("fetch", "-q", "--no-tags", self.remote, f"refs/heads/{self.branch}", check=False)
        if r.returncode != 0:
            raise PublishError(f"git fetch of {self.branch} failed: {self.g.stderr(r)}")
        upstream = self.g.out("rev-parse", "FETCH_HEAD")
        if self._leave_moved(upstream) and not self.commit():
            if self.g.run("rebase", "-q", "--autostash", upstream, check=False).returncode != 0:
                self.g.run("rebase", "--abort", check=False)
            self.result.notes.append("nothing left to commit")
            return False
        r = self.g.run("rebase", "-q", "--autostash", upstream, check=False)
        if r.returncode != 0:
            self.g.run("rebase", "--abort", check=False)
            raise PublishError(f"could not rebase on the new head of {self.branch}: {self.g.stderr(r)}")
        self.base = upstream
        return True

    def _leave_moved(self, upstream: str) -> bool:
        """Take out of our commit the posts whose files the new head changed (True if any)."""
        changed = set(self.g.out("diff", "--name-only", "--no-renames", self.base, upstream).splitlines())
        mine = self.g.head()
        drop = []
        for c in self.todo:
            moved = [p for p in c.paths if p in changed and self.g.blob_at(upstream, p) != self.g.blob_at(mine, p)]
            if moved:
                drop.append(c)
                self.result.left.append(left_upstream(c, f"{moved[0]} was changed on {self.branch} by a newer commit"))
        if not drop:
            return False
        self.todo = [c for c in self.todo if c not in drop]
        self.g.run("reset", "-q", "--soft", self.base)
        for c in drop:
            self.g.restore(self.base, c, self.new_files)
        return True


class GitPublisher:
    """`commit: git`: the workspace's own git pushes the bot's commit."""

    def __init__(self, workspace: Path, branch: str, *, remote: str = "origin",
                 sleep: Callable[[float], None] = time.sleep, attempts: int = DEFAULT_ATTEMPTS,
                 backoff: float = 1.0) -> None:
        self.workspace = Path(workspace)
        self.branch = branch
        self.remote = remote
        self.sleep = sleep
        self.attempts = attempts
        self.backoff = backoff

    def prepare(self) -> list[str]:
        return []

    def preflight(self) -> str | None:
        return can_push(self.workspace, self.branch, remote=self.remote)

    def close(self) -> None:
        return None

    def publish(self, changes: Sequence[Change], message: str | None) -> Result:
        result = Result()
        if not changes:
            return result
        g = Git(self.workspace)
        if not g.is_repo():
            raise PublishError(NOT_A_CHECKOUT)
        push = _Push(g, self.branch, self.remote, message or default_message(changes), list(changes), result)
        if not push.commit():
            result.committed = [c.post for c in changes]
            result.notes.append("nothing to commit")
            return result
        for attempt in range(1, self.attempts + 1):
            r = push.push()
            if r.returncode == 0:
                result.sha = g.head()
                result.committed = [c.post for c in push.todo]
                result.log.append(f"committed {len(result.committed)} post(s) to {self.branch}: {result.sha}")
                return result
            error = push.refusal(r, last=attempt == self.attempts, attempts=self.attempts)
            if error is not None:
                raise error
            result.notes.append(f"push to {self.branch} was rejected (the branch moved); rebasing on the new head")
            self.sleep(self.backoff * 2 ** (attempt - 1))
            if not push.catch_up():
                return result
        raise PublishError("unreachable")  # pragma: no cover
