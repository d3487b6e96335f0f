"""The local checkout, as publishing leaves it: git as the bot with failures as PublishError, the
checkout moved to a commit the API made, and posts put back as a commit has them.

Every publisher ends with the workspace matching what happened on GitHub, so a later step of the
job sees the branch (api), the base branch (pull-request) or its own commit (git)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterable, Sequence

from imagegen import git
from imagegen.errors import GitError, PublishError
from imagegen.publish.base import BOT_EMAIL, BOT_NAME, Change, Result


class Git(git.Git):
    """imagegen.git for publishing: the bot's identity for anything that makes commits, the network
    timeout (a push, a fetch), and failures as PublishError."""

    def __init__(self, repo_dir: Path) -> None:
        super().__init__(repo_dir, timeout=git.NETWORK_TIMEOUT, identity=(BOT_NAME, BOT_EMAIL))
        self.repo_dir = Path(repo_dir)

    def run(self, *args: str, check: bool = True, input: bytes | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
        try:
            return super().run(*args, check=check, input=input, timeout=timeout)
        except GitError as exc:
            raise PublishError(str(exc)) from None

    def is_repo(self) -> bool:
        return self.run("rev-parse", "--git-dir", check=False).returncode == 0

    def head(self) -> str:
        return self.out("rev-parse", "HEAD")

    def stage(self, paths: Sequence[str]) -> None:
        """Stage exactly these paths: present files added, missing ones removed from the index."""
        present = [p for p in paths if (self.repo_dir / p).is_file()]
        missing = [p for p in paths if p not in present]
        if present:
            self.run("add", "-f", "--", *present)
        if missing:
            self.run("rm", "-q", "--cached", "--ignore-unmatch", "--", *missing)

    def tracked_in(self, rev: str, path: str) -> bool:
        return self.run("cat-file", "-e", f"{rev}:{path}", check=False).returncode == 0

    def blob_at(self, rev: str, path: str) -> str:
        """The blob id of `path` in `rev` ('' when it has none)."""
        r = self.run("rev-parse", f"{rev}:{path}", check=False)
        return r.stdout.decode().strip() if r.returncode == 0 else ""

    def restore(self, rev: str, change: Change, new_files: Iterable[str]) -> None:
        """Put a post's files back as they are in `rev` (the work tree and index), removing images
        this run created."""
        for p in change.paths:
            if self.tracked_in(rev, p):
                self.run("checkout", "-q", rev, "--", p)
            else:
                self.run("rm", "-q", "--cached", "--ignore-unmatch", "--", p)
                if p in new_files:
                    (self.repo_dir / p).unlink(missing_ok=True)


def sync_checkout(repo_dir: Path, sha: str, paths: Sequence[str], *, remote: str = "origin") -> str | None:
    """Move the local checkout to the commit the API made: fetch it, stage our files (identical to the
    commit's) and `git reset --merge` (keeps anything else the job changed). None on success, else why not."""
    g = Git(repo_dir)
    if not g.is_repo():
        return "the workspace is not a git checkout"
    shallow = g.out("rev-parse", "--is-shallow-repository") == "true"
    fetch = ["fetch", "-q", "--no-tags", *(["--depth=1"] if shallow else []), remote, sha]
    r = g.run(*fetch, check=False)
    if r.returncode != 0:
        return f"could not fetch the new commit: {g.stderr(r)}"
    try:
        g.stage(paths)
        r = g.run("reset", "-q", "--merge", sha, check=False)
    except PublishError as exc:
        return str(exc)
    if r.returncode != 0:
        return f"git reset --merge failed: {g.stderr(r)}"
    return None


def restore_left(repo_dir: Path, changes: Sequence[Change], result: Result) -> None:
    """The posts left for the next run go back to the checkout's commit, without the images made for
    them: the workspace then matches the branch, where those posts are someone else's."""
    g = Git(repo_dir)
    if result.left and g.is_repo():
        new_files = {p for c in changes for p in c.written}
        for item in result.left:
            change = next(c for c in changes if c.post == item.post)
            try:
                g.restore("HEAD", change, new_files - {change.post})
            except PublishError as exc:
                result.notes.append(f"could not restore {change.post}: {exc}")


def restore_checkout(repo_dir: Path, paths: Iterable[str]) -> None:
    """Put these paths back as they are in HEAD (files HEAD does not have are removed): after a
    pull-request run the checkout is the base branch again; the covers live on the covers branch."""
    g = Git(Path(repo_dir))
    if not g.is_repo():
        return
    for p in sorted(set(paths)):
        if g.tracked_in("HEAD", p):
            g.run("checkout", "-q", "HEAD", "--", p, check=False)
        else:
            g.run("rm", "-q", "--cached", "--ignore-unmatch", "--", p, check=False)
            (Path(repo_dir) / p).unlink(missing_ok=True)
