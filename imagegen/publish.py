"""Commit back what a run wrote: over the Git Data API (PyGithub), with the git CLI, or not at all.

Only the files the run wrote (each generated post, its new image, and an old cover it deleted) are
committed, grouped per post. If the branch moved while we worked and the newer commits changed one
of our files, that post is *left for the next run* (never overwritten) and said so; the other posts
are committed on top of the new head. Nothing changed -> no commit. Never a force push.

`api` (default in the action): blobs, a tree on the branch head's tree, a commit without author or
committer (GitHub then makes and verifies it as the token's bot), and a non-forced ref update; a
422 "not a fast forward" means the branch moved between our read and our update: rebuild on the new
head and retry, bounded, with backoff. Honours `GITHUB_API_URL` (GitHub Enterprise, tests).
Afterwards the local checkout is moved to the new commit (fetch + `git reset --merge`) so later
steps of the job see it.

`git`: stage, commit as github-actions[bot], push; a rejected push -> fetch, leave posts changed
upstream, rebase on the new head (what `git pull --rebase` does) and push again, bounded.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Sequence

from imagegen.report import Report
from imagegen.secrets import redact

MODES = ("api", "git", "none")
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
DEFAULT_ATTEMPTS = 5
LEFT_REASON = "changed-upstream"


class PublishError(Exception):
    """Committing failed. The message is one line, secrets scrubbed."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(" ".join(message.split())))


@dataclass(frozen=True)
class Change:
    """What the run did to one post: files written (the post, its image) and files deleted."""

    post: str
    written: tuple[str, ...]
    deleted: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        return self.written + self.deleted


@dataclass
class Result:
    sha: str = ""
    """The new commit ("" when nothing was committed)."""
    committed: list[str] = field(default_factory=list)
    """Posts whose files are in the branch now."""
    left: list[dict[str, str]] = field(default_factory=list)
    """Posts left for the next run: {post, reason, message}."""
    synced: bool = True
    """The local checkout matches the branch (False: a later step must fetch/reset itself)."""
    notes: list[str] = field(default_factory=list)


def changes_from(report: Report) -> list[Change]:
    out = []
    for g in report.generated:
        out.append(Change(g.post, (g.post, g.image), (g.removed_image,) if g.removed_image else ()))
    return out


def default_message(changes: Sequence[Change]) -> str:
    if len(changes) == 1:
        title = f"Add cover image for {PurePosixPath(changes[0].post).name}"
    else:
        title = f"Add cover images for {len(changes)} posts"
    return title + "\n\n" + "\n".join(f"- {c.post}" for c in changes) + "\n"


def blob_sha(data: bytes) -> str:
    """The git object id of a blob with these bytes (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _local(repo_dir: Path, paths: Iterable[str]) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for p in paths:
        f = repo_dir / p
        out[p] = f.read_bytes() if f.is_file() else None
    return out


def _left(change: Change, detail: str) -> dict[str, str]:
    return {"post": change.post, "reason": LEFT_REASON,
            "message": f"{detail}; left for the next run instead of overwriting it"}


# ============================================================================ git helper


class Git:
    """Runs git in the workspace: safe.directory set (the container runs as root on a workspace owned
    by the runner's user) and the bot's identity for anything that makes commits."""

    def __init__(self, repo_dir: Path) -> None:
        self.repo_dir = Path(repo_dir)

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        cmd = ["git", "-c", f"safe.directory={self.repo_dir}", "-c", "safe.directory=*",
               "-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}",
               "-C", str(self.repo_dir), *args]
        r = subprocess.run(cmd, capture_output=True, input=input)
        if check and r.returncode != 0:
            raise PublishError(f"git {args[0]} failed: {self.err(r)}")
        return r

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", errors="replace").strip()

    @staticmethod
    def err(r: subprocess.CompletedProcess[bytes]) -> str:
        text = (r.stderr or b"").decode("utf-8", errors="replace").strip().splitlines()
        return redact(" / ".join(text[-3:]) or f"exit status {r.returncode}")

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
        return f"could not fetch the new commit: {g.err(r)}"
    try:
        g.stage(paths)
        r = g.run("reset", "-q", "--merge", sha, check=False)
    except PublishError as exc:
        return str(exc)
    if r.returncode != 0:
        return f"git reset --merge failed: {g.err(r)}"
    return None


# ============================================================================ api mode


class ApiPublisher:
    """Commit over the Git Data API with PyGithub."""

    def __init__(self, *, token: str, api_url: str, repository: str, branch: str,
                 sleep: Callable[[float], None] = time.sleep, attempts: int = DEFAULT_ATTEMPTS,
                 backoff: float = 1.0, retry: Any = "default", timeout: int = 30,
                 write_interval: float | None = None) -> None:
        """`write_interval`: seconds between write requests (None: PyGithub's pacing, 1 s between
        writes and 0.25 s between reads, which is what GitHub asks of bulk writers; tests use 0)."""
        from github import Auth, Github

        kw: dict[str, Any] = {"auth": Auth.Token(token), "base_url": api_url.rstrip("/"), "timeout": timeout,
                              "lazy": True}
        if retry != "default":
            kw["retry"] = retry
        if write_interval is not None:
            kw["seconds_between_writes"] = write_interval
            kw["seconds_between_requests"] = min(write_interval, 0.25)
        self.gh = Github(**kw)
        self.repo = self.gh.get_repo(repository)
        self.repository = repository
        self.branch = branch
        self.sleep = sleep
        self.attempts = attempts
        self.backoff = backoff
        self._trees: dict[str, dict[str, tuple[str, str, str]]] = {}
        self.modes: dict[str, str] = {}

    # ---------------------------------------------------------------- helpers

    def _fail(self, what: str, exc: Exception) -> PublishError:
        from github import GithubException

        if isinstance(exc, GithubException):
            msg = exc.data.get("message") if isinstance(exc.data, dict) else str(exc.data)
            hint = ""
            if exc.status in (401, 403, 404):
                hint = " (the token needs `permissions: contents: write` on this repository)"
            return PublishError(f"{what}: HTTP {exc.status} {msg or ''}{hint}")
        return PublishError(f"{what}: {type(exc).__name__}: {exc}")

    def can_write(self) -> str | None:
        """None when the token may write contents, else a one-line reason. Creates one empty blob
        (unreferenced; GitHub garbage-collects it): the only honest test of write access."""
        from github import GithubException

        try:
            self.repo.create_git_blob("imagegen: write access check\n", "utf-8")
        except GithubException as exc:
            if exc.status in (401, 403, 404):
                return str(self._fail(f"the token cannot write to {self.repository}", exc))
            return None  # something else: not a verdict on permissions; publishing will say more
        except Exception as exc:  # network, DNS: say so, do not crash
            return str(self._fail(f"could not reach the GitHub API for {self.repository}", exc))
        return None

    def _listing(self, root: str, folder: str) -> dict[str, tuple[str, str, str]] | None:
        key = f"{root}:{folder}"
        if key in self._trees:
            return self._trees[key]
        if folder == "":
            sha = root
        else:
            parent_dir, _, name = folder.rpartition("/")
            parent = self._listing(root, parent_dir)
            entry = parent.get(name) if parent is not None else None
            if entry is None or entry[0] != "tree":
                return None
            sha = entry[1]
        tree = self.repo.get_git_tree(sha)
        listing = {e.path: (e.type, e.sha, e.mode) for e in tree.tree}
        self._trees[key] = listing
        return listing

    def blobs_at(self, tree_sha: str, paths: Iterable[str]) -> dict[str, str | None]:
        """Blob ids of `paths` in a tree (None: absent), walking only the folders involved."""
        out: dict[str, str | None] = {}
        for p in paths:
            folder, _, name = p.rpartition("/")
            listing = self._listing(tree_sha, folder)
            entry = listing.get(name) if listing is not None else None
            out[p] = entry[1] if entry is not None and entry[0] == "blob" else None
            if entry is not None and entry[0] == "blob":
                self.modes[p] = entry[2]  # keep an existing file's mode (e.g. executable)
        return out

    # ---------------------------------------------------------------- publish

    def publish(self, repo_dir: Path, changes: Sequence[Change], message: str, *, base_sha: str) -> Result:
        from github import GithubException, InputGitTreeElement

        result = Result()
        if not changes:
            result.notes.append("nothing to commit")
            return result
        paths = [p for c in changes for p in c.paths]
        local = _local(Path(repo_dir), paths)
        ours = {p: (blob_sha(d) if d is not None else None) for p, d in local.items()}
        try:
            base_tree = self.repo.get_git_commit(base_sha).tree.sha if base_sha else ""
        except GithubException as exc:
            if exc.status != 404 and exc.status != 422:
                raise self._fail("could not read the checked-out commit", exc) from None
            base_tree = ""
        if not base_tree:
            result.notes.append(f"the checked-out commit {base_sha[:12] or '(unknown)'} is not on GitHub; "
                                "changes made upstream since cannot be detected")
        base = self.blobs_at(base_tree, paths) if base_tree else None
        uploaded: dict[str, str] = {}
        todo = list(changes)
        for attempt in range(1, self.attempts + 1):
            try:
                ref = self.repo.get_git_ref(f"heads/{self.branch}")
                head_sha = ref.object.sha
                head = self.repo.get_git_commit(head_sha)
                now = self.blobs_at(head.tree.sha, [p for c in todo for p in c.paths])
            except GithubException as exc:
                raise self._fail(f"could not read branch {self.branch!r}", exc) from None
            start = base if base is not None else now
            keep: list[Change] = []
            for c in todo:
                moved = [p for p in c.paths if now[p] != start[p] and now[p] != ours[p]]
                if moved:
                    result.left.append(_left(c, f"{moved[0]} was changed on {self.branch} by a newer commit"))
                else:
                    keep.append(c)
            todo = keep
            elements = []
            for c in todo:
                for p in c.paths:
                    if now[p] == ours[p]:
                        continue
                    if ours[p] is None:
                        elements.append(InputGitTreeElement(p, "100644", "blob", sha=None))
                        continue
                    if p not in uploaded:
                        try:
                            blob = self.repo.create_git_blob(base64.b64encode(local[p] or b"").decode("ascii"), "base64")
                        except GithubException as exc:
                            raise self._fail(f"could not upload {p}", exc) from None
                        uploaded[p] = blob.sha
                    mode = self.modes.get(p, "100644")
                    elements.append(InputGitTreeElement(p, mode if mode in ("100644", "100755") else "100644",
                                                        "blob", sha=uploaded[p]))
            if not elements:
                result.committed = [c.post for c in todo]
                result.notes.append("nothing to commit" if not todo else "the branch already has these files")
                return result
            try:
                tree = self.repo.create_git_tree(elements, base_tree=head.tree)
                commit = self.repo.create_git_commit(message, tree, [head])
            except GithubException as exc:
                raise self._fail("could not create the commit", exc) from None
            try:
                ref.edit(commit.sha, force=False)
            except GithubException as exc:
                if exc.status == 422 and attempt < self.attempts:
                    result.notes.append(f"{self.branch} moved during the commit; retrying on the new head")
                    self.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                if exc.status == 422:
                    raise PublishError(f"{self.branch} kept moving; gave up after {self.attempts} attempts "
                                       "(the images stay in the workspace; the next run commits them)") from None
                raise self._fail(f"could not move {self.branch}", exc) from None
            result.sha = commit.sha
            result.committed = [c.post for c in todo]
            return result
        raise PublishError("unreachable")  # pragma: no cover


def publish_api(repo_dir: Path, changes: Sequence[Change], *, token: str, api_url: str, repository: str,
                branch: str, base_sha: str, message: str | None = None, sync: bool = True,
                **kw: Any) -> Result:
    pub = ApiPublisher(token=token, api_url=api_url, repository=repository, branch=branch, **kw)
    result = pub.publish(Path(repo_dir), changes, message or default_message(changes), base_sha=base_sha)
    git = Git(Path(repo_dir))
    if result.left and git.is_repo():
        new_files = {p for c in changes for p in c.written}
        for item in result.left:
            change = next(c for c in changes if c.post == item["post"])
            try:
                git.restore("HEAD", change, new_files - {change.post})
            except PublishError as exc:
                result.notes.append(f"could not restore {change.post}: {exc}")
    if sync and result.sha:
        committed = [p for c in changes if c.post in result.committed for p in c.paths]
        why = sync_checkout(Path(repo_dir), result.sha, committed)
        if why:
            result.synced = False
            result.notes.append(f"the checkout was not moved to the new commit ({why}); "
                                "a later step that needs it should run `git pull`")
    return result


# ============================================================================ git mode


def _rejected(r: subprocess.CompletedProcess[bytes]) -> bool:
    text = (r.stderr or b"").decode("utf-8", errors="replace")
    return any(s in text for s in ("[rejected]", "non-fast-forward", "fetch first", "[remote rejected] ", "cannot lock ref"))


def can_push(repo_dir: Path, branch: str, *, remote: str = "origin") -> str | None:
    """None when a push to the branch is allowed (checked with `git push --dry-run`), else why not."""
    g = Git(repo_dir)
    if not g.is_repo():
        return "the workspace is not a git checkout (commit: git needs actions/checkout)"
    r = g.run("push", "--dry-run", "-q", remote, f"HEAD:refs/heads/{branch}", check=False)
    if r.returncode != 0 and not _rejected(r):
        return f"cannot push to {branch}: {g.err(r)}"
    return None


def publish_git(repo_dir: Path, changes: Sequence[Change], *, branch: str, message: str | None = None,
                remote: str = "origin", sleep: Callable[[float], None] = time.sleep,
                attempts: int = DEFAULT_ATTEMPTS, backoff: float = 1.0) -> Result:
    g = Git(Path(repo_dir))
    result = Result()
    if not changes:
        result.notes.append("nothing to commit")
        return result
    if not g.is_repo():
        raise PublishError("the workspace is not a git checkout (commit: git needs actions/checkout)")
    message = message or default_message(changes)
    base = g.head()
    new_files = {p for c in changes for p in c.written if not g.tracked_in(base, p)}
    todo = list(changes)

    def commit(items: Sequence[Change]) -> bool:
        paths = [p for c in items for p in c.paths]
        if not paths:
            return False
        g.stage(paths)
        if g.run("diff", "--cached", "--quiet", "--", *paths, check=False).returncode == 0:
            return False
        g.run("commit", "-q", "--no-verify", "-m", message, "--", *paths)
        return True

    made = commit(todo)
    if not made:
        result.committed = [c.post for c in todo]
        result.notes.append("nothing to commit")
        return result
    for attempt in range(1, attempts + 1):
        r = g.run("push", "-q", remote, f"HEAD:refs/heads/{branch}", check=False)
        if r.returncode == 0:
            result.sha = g.head()
            result.committed = [c.post for c in todo]
            return result
        if not _rejected(r) or attempt == attempts:
            raise PublishError(f"git push to {branch} failed: {g.err(r)}"
                               + (f" (after {attempts} attempts)" if _rejected(r) else ""))
        result.notes.append(f"push to {branch} was rejected (the branch moved); rebasing on the new head")
        sleep(backoff * 2 ** (attempt - 1))
        r = g.run("fetch", "-q", "--no-tags", remote, f"refs/heads/{branch}", check=False)
        if r.returncode != 0:
            raise PublishError(f"git fetch of {branch} failed: {g.err(r)}")
        upstream = g.out("rev-parse", "FETCH_HEAD")
        changed = set(g.out("diff", "--name-only", "--no-renames", base, upstream).splitlines())
        mine = g.head()
        drop = []
        for c in todo:
            moved = [p for p in c.paths if p in changed and _rev_blob(g, upstream, p) != _rev_blob(g, mine, p)]
            if moved:
                drop.append(c)
                result.left.append(_left(c, f"{moved[0]} was changed on {branch} by a newer commit"))
        if drop:
            todo = [c for c in todo if c not in drop]
            g.run("reset", "-q", "--soft", base)
            for c in drop:
                g.restore(base, c, new_files)
            if not commit(todo):
                # Nothing of ours is left to push: just move to the new head.
                r = g.run("rebase", "-q", "--autostash", upstream, check=False)
                if r.returncode != 0:
                    g.run("rebase", "--abort", check=False)
                result.notes.append("nothing left to commit")
                return result
        r = g.run("rebase", "-q", "--autostash", upstream, check=False)
        if r.returncode != 0:
            g.run("rebase", "--abort", check=False)
            raise PublishError(f"could not rebase on the new head of {branch}: {g.err(r)}")
        base = upstream
    raise PublishError("unreachable")  # pragma: no cover


def _rev_blob(g: Git, rev: str, path: str) -> str:
    r = g.run("rev-parse", f"{rev}:{path}", check=False)
    return r.stdout.decode().strip() if r.returncode == 0 else ""
