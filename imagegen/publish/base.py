"""What every way of publishing shares: the `Publisher` protocol, the `Change`s a run made and the
`Result` of committing them, and where they go (`Target`).

A publisher is chosen once, from the `commit` input (`imagegen.publish.choose`), and then asked the
same four things in the same order by the action, whatever it is:

1. `prepare()`, before discovery: put into the workspace what the run must see first (the open
   pull request's posts, so they are not made again); returns lines for the log.
2. `preflight()`, once discovery found work and before any provider is called: why nothing should
   be generated (a token that cannot write, a branch it cannot push to), or None. A refusal that
   is a configuration mistake (a ruleset the token may not bypass) raises PublishError instead.
3. `publish(changes, message)`: commit what the run wrote; posts changed upstream meanwhile are
   left for the next run, never overwritten.
4. `close()`, always, at the end: put the workspace back the way the job expects it.

Nothing here knows GitHub's API or the git command line: see `api.py`, `pull_request.py` and
`git_cli.py`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol, Sequence

from imagegen.errors import PublishError
from imagegen.report import Pending, PendingReason, Report

__all__ = ["BOT_EMAIL", "BOT_NAME", "DEFAULT_ATTEMPTS", "DEFAULT_PR_BRANCH", "Change", "NoPublisher",
           "PublishError", "Publisher", "Result", "Target", "blob_sha", "changes_from", "default_message",
           "left_upstream", "local_files"]

DEFAULT_PR_BRANCH = "imagegen/covers"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
DEFAULT_ATTEMPTS = 5
"""How many times a commit is rebuilt on a branch that moved meanwhile before giving up."""


@dataclass(frozen=True)
class Change:
    """What the run did to one post: files written (the post, its image) and files deleted, and what
    a pull request's list says of its cover."""

    post: str
    written: tuple[str, ...]
    deleted: tuple[str, ...] = ()
    title: str = ""
    provider: str = ""
    model: str = ""
    prompt: str = ""

    @property
    def paths(self) -> tuple[str, ...]:
        return self.written + self.deleted

    @property
    def image(self) -> str:
        """The new cover ('' when the change wrote only the post)."""
        return next((p for p in self.written if p != self.post), "")


@dataclass
class Result:
    sha: str = ""
    """The new commit ("" when nothing was committed)."""
    committed: list[str] = field(default_factory=list)
    """Posts whose files are in the branch now."""
    left: list[Pending] = field(default_factory=list)
    """Posts left for the next run (reason changed-upstream)."""
    synced: bool = True
    """The local checkout matches the branch (False: a later step must fetch/reset itself)."""
    notes: list[str] = field(default_factory=list)
    """What the user should know (the log and the job summary)."""
    log: list[str] = field(default_factory=list)
    """What was done, for the log only ("committed 2 post(s) to main: <sha>")."""
    notice: str = ""
    """One line worth a notice annotation (the pull request that proposes the covers)."""
    pull_request_number: int = 0
    pull_request_url: str = ""


@dataclass(frozen=True)
class Target:
    """Where the covers go: the checkout they were written in and the branch they are committed to."""

    workspace: Path
    branch: str
    base_sha: str = ""
    """The commit the checkout was at when the run started (changes made upstream since are detected)."""
    repository: str = ""
    """owner/name on GitHub."""
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    token: str = ""
    pull_request_branch: str = DEFAULT_PR_BRANCH


class Publisher(Protocol):
    """One way of publishing the covers (see the module docstring for the order of the calls)."""

    def prepare(self) -> list[str]: ...

    def preflight(self) -> str | None: ...

    def publish(self, changes: Sequence[Change], message: str | None) -> Result: ...

    def close(self) -> None: ...


class NoPublisher:
    """`commit: none` (and dry runs): the files stay in the workspace for a later step."""

    def prepare(self) -> list[str]:
        return []

    def preflight(self) -> str | None:
        return None

    def publish(self, changes: Sequence[Change], message: str | None) -> Result:
        return Result()

    def close(self) -> None:
        return None


def changes_from(report: Report) -> list[Change]:
    """One Change per generated post, in the report's order."""
    return [Change(g.post, (g.post, g.image), (g.removed_image,) if g.removed_image else (),
                   title=g.title, provider=g.provider, model=g.model, prompt=g.prompt)
            for g in report.generated]


def default_message(changes: Sequence[Change]) -> str:
    if len(changes) == 1:
        title = f"Add cover image for {PurePosixPath(changes[0].post).name}"
    else:
        title = f"Add cover images for {len(changes)} posts"
    return title + "\n\n" + "\n".join(f"- {c.post}" for c in changes) + "\n"


def blob_sha(data: bytes) -> str:
    """The git object id of a blob with these bytes (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def left_upstream(change: Change, detail: str) -> Pending:
    """The report entry of a post left alone because the branch changed it meanwhile."""
    return Pending(change.post, PendingReason.CHANGED_UPSTREAM,
                   f"{detail}; left for the next run instead of overwriting it")


def local_files(repo_dir: Path, paths: Sequence[str]) -> dict[str, bytes | None]:
    """The bytes of each path in the workspace (None: the run deleted it)."""
    out: dict[str, bytes | None] = {}
    for p in paths:
        f = repo_dir / p
        out[p] = f.read_bytes() if f.is_file() else None
    return out
