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
import json
import contextlib
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Sequence

from imagegen.report import Pending, PendingReason, Report
from imagegen import git
from imagegen.errors import GitError, PublishError
from imagegen.secrets import redact

MODES = ("api", "git", "pull-request", "none")
DEFAULT_PR_BRANCH = "imagegen/covers"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
DEFAULT_ATTEMPTS = 5


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
    left: list[Pending] = field(default_factory=list)
    """Posts left for the next run (reason changed-upstream)."""
    synced: bool = True
    """The local checkout matches the branch (False: a later step must fetch/reset itself)."""
    notes: list[str] = field(default_factory=list)
    pull_request_number: int = 0
    pull_request_url: str = ""


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


def _left(change: Change, detail: str) -> Pending:
    return Pending(change.post, PendingReason.CHANGED_UPSTREAM,
                   f"{detail}; left for the next run instead of overwriting it")


# ============================================================================ git helper


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

    err = git.Git.stderr

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

FREE_WRITES = 10
"""Writes made without a pause: a handful of serial writes is not the "large number" GitHub's
guidance asks to space out."""
WRITE_GAP = 1.0
"""GitHub: "If you're making a large number of POST, PATCH, PUT, or DELETE requests ... wait at
least one second between each request"."""
WRITE_WINDOWS = ((60.0, 80), (3600.0, 500))
"""GitHub's secondary limits for content-creating requests: 80 a minute, 500 an hour."""
API_TIMEOUT = 30
"""Seconds each API request may take (connect, and each read) before it is given up."""
API_RETRIES = 3
"""PyGithub's own retries (5xx on GET/POST, secondary rate limits with Retry-After)."""
PUBLISH_DEADLINE = 600.0
"""Seconds one commit or pull request through the API may take in all. API_TIMEOUT bounds each
connect and each read, but a server that drips a byte every few seconds never trips it; this
bounds the whole of it, so a stalled GitHub cannot hold the job until the runner's 6 h limit."""


class _Deadline(BaseException):
    """Raised by the alarm. A BaseException, so no `except Exception` in PyGithub, requests or our
    own retry code (the ref update's "did it apply?" re-read) can swallow it and start over."""


@contextlib.contextmanager
def overall_deadline(seconds: float, what: str):
    """Bound the wall time of a block of blocking calls with SIGALRM: a raising handler makes
    the blocked socket read give up (PEP 475 retries a read only when the handler returns).
    Signals reach the main thread only; elsewhere (tests in threads) the block runs unbounded,
    still under API_TIMEOUT per request. Turns the alarm into one PublishError."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Deadline()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Deadline:
        raise PublishError(f"{what} did not finish within {seconds:g} s in all (GitHub stalled); gave up. "
                           "The covers are in the workspace; whether the last request was applied is "
                           "unknown: the next run sees the branch as it is") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class WritePacer:
    """Spaces out write requests as GitHub's guidance asks, and no more: the first FREE_WRITES
    writes of a run go at once, later ones one second apart, and never more than GitHub's
    per-minute and per-hour limits for content-creating requests. PyGithub's own pacing (a
    fixed 1 s before every write, 0.25 s before every request) is turned off in its favour: it
    made N covers cost 2N+4 seconds."""

    def __init__(self, *, gap: float = WRITE_GAP, free: int = FREE_WRITES,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.gap = gap
        self.free = free
        self.clock = clock
        self.sleep = sleep
        self.times: list[float] = []
        self.slept = 0.0

    def __call__(self) -> None:
        now = self.clock()
        wait = 0.0
        if self.gap > 0 and len(self.times) >= self.free and self.times:
            wait = max(wait, self.times[-1] + self.gap - now)
        for span, limit in WRITE_WINDOWS:
            recent = [t for t in self.times if t > now - span]
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + span - now)
        if wait > 0:
            self.sleep(wait)
            self.slept += wait
            now = self.clock()
            now = max(now, self.times[-1] if self.times else now)
        self.times.append(now)
        self.times = self.times[-WRITE_WINDOWS[-1][1]:]


def _gh_message(exc: Exception) -> str:
    data = getattr(exc, "data", None)
    msg = data.get("message") if isinstance(data, dict) else (data if isinstance(data, str) else "")
    return " ".join(str(msg or "").split())


@dataclass
class PullRequestPlan:
    """What an open covers pull request already holds, read before the run (so its posts are not
    generated again) and carried into the next commit of the covers branch."""

    base: str
    branch: str
    number: int = 0
    url: str = ""
    head: str = ""
    """The covers branch's commit ("" when the branch does not exist)."""
    entries: list[dict[str, str]] = field(default_factory=list)
    """The covers listed in the open pull request (post, image, removed, title, provider, model, prompt)."""
    carried: list[str] = field(default_factory=list)
    """Paths the covers branch changed that the next commit keeps."""
    posts: dict[str, bytes] = field(default_factory=dict)
    """The carried posts' bytes on the covers branch (written into the workspace for the run)."""
    notes: list[str] = field(default_factory=list)


MANIFEST_START = "<!-- imagegen:covers "
MANIFEST_END = " -->"


class ApiPublisher:
    """Commit over the Git Data API with PyGithub."""

    def __init__(self, *, token: str, api_url: str, repository: str, branch: str,
                 sleep: Callable[[float], None] = time.sleep, attempts: int = DEFAULT_ATTEMPTS,
                 backoff: float = 1.0, retry: Any = "default", timeout: int = API_TIMEOUT,
                 write_interval: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """`write_interval`: seconds between writes once the free ones are used (None: GitHub's
        guidance, see WritePacer; 0: no pause, for tests)."""
        from github import Auth, Github, GithubRetry

        kw: dict[str, Any] = {"auth": Auth.Token(token), "base_url": api_url.rstrip("/"), "timeout": timeout,
                              "lazy": True, "seconds_between_requests": None, "seconds_between_writes": None,
                              "retry": GithubRetry(total=API_RETRIES, backoff_factor=1.0) if retry == "default" else retry}
        self.gh = Github(**kw)
        self.repo = self.gh.get_repo(repository)
        self.repository = repository
        self.owner = repository.split("/", 1)[0]
        self.branch = branch
        self.sleep = sleep
        self.attempts = attempts
        self.backoff = backoff
        self.pacer = WritePacer(gap=WRITE_GAP if write_interval is None else write_interval,
                                free=FREE_WRITES if write_interval is None else 0, clock=clock, sleep=sleep)
        self._trees: dict[str, dict[str, tuple[str, str, str]]] = {}
        self.modes: dict[str, str] = {}

    # ---------------------------------------------------------------- helpers

    def _write(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        self.pacer()
        return fn(*args, **kw)

    def _fail(self, what: str, exc: Exception) -> PublishError:
        from github import GithubException

        if isinstance(exc, GithubException):
            msg = _gh_message(exc)
            hint = ""
            if exc.status in (401, 403, 404):
                hint = " (the token needs `permissions: contents: write` on this repository)"
            return PublishError(f"{what}: HTTP {exc.status} {msg}{hint}")
        return PublishError(f"{what}: {type(exc).__name__}: {exc}")

    def can_write(self) -> str | None:
        """None when the token may write contents, else a one-line reason. Creates one small blob
        (unreferenced; GitHub garbage-collects it): the only honest test of write access, so it is
        made only on a run that has covers to make."""
        from github import GithubException

        try:
            self._write(self.repo.create_git_blob, "imagegen: write access check\n", "utf-8")
        except GithubException as exc:
            if exc.status in (401, 403, 404):
                return str(self._fail(f"the token cannot write to {self.repository}", exc))
            return None  # something else: not a verdict on permissions; publishing will say more
        except Exception as exc:  # network, DNS: say so, do not crash
            return str(self._fail(f"could not reach the GitHub API for {self.repository}", exc))
        return None

    BLOCKING_RULES = {"pull_request": "changes must be made through a pull request",
                      "update": "the branch may not be updated",
                      "required_status_checks": "status checks must pass before the branch is updated"}

    def ruleset_refusal(self) -> str | None:
        """A repository ruleset that will refuse our update of the branch, found before any cover is
        made (reads only; a verdict only when GitHub says this token cannot bypass it). Classic branch
        protection is not readable without admin rights: that refusal comes with the update."""
        from github import GithubException
        from urllib.parse import quote

        req = self.gh.requester
        base = f"/repos/{self.repository}"
        try:
            _, rules = req.requestJsonAndCheck("GET", f"{base}/rules/branches/{quote(self.branch, safe='')}")
        except Exception:  # not a verdict (old GHES, no access, network): the update will say
            return None
        for rule in rules if isinstance(rules, list) else []:
            kind = rule.get("type") if isinstance(rule, dict) else None
            if kind not in self.BLOCKING_RULES:
                continue
            name, bypass = str(rule.get("ruleset_source") or ""), ""
            try:
                _, ruleset = req.requestJsonAndCheck("GET", f"{base}/rulesets/{int(rule.get('ruleset_id') or 0)}")
                name = str(ruleset.get("name") or name)
                bypass = str(ruleset.get("current_user_can_bypass") or "")
            except (GithubException, Exception):
                continue
            if bypass in ("always", "exempt"):
                continue
            return (f"{self.branch} is protected by the ruleset {name!r}: {self.BLOCKING_RULES[kind]}, and this token "
                    "may not bypass it; use `commit: pull-request` to propose the covers in a pull request, or pass a "
                    f"`github-token` that is allowed to push to {self.branch}")
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
                self.modes.setdefault(p, entry[2])  # keep an existing file's mode (e.g. executable)
        return out

    def _read_ref(self, branch: str) -> str | None:
        """The commit a branch points to (None: no such branch)."""
        from github import GithubException

        try:
            return self.repo.get_git_ref(f"heads/{branch}").object.sha
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise self._fail(f"could not read branch {branch!r}", exc) from None

    def _element(self, path: str, data: bytes | None, uploaded: dict[str, str]) -> Any:
        """A tree entry for one of our files: deleted, inline text (no separate blob request), or an
        uploaded blob (binary files: the tree API takes text only)."""
        from github import GithubException, InputGitTreeElement

        if data is None:
            return InputGitTreeElement(path, "100644", "blob", sha=None)
        mode = self.modes.get(path, "100644")
        mode = mode if mode in ("100644", "100755") else "100644"
        if path.lower().endswith((".md", ".markdown", ".mdx", ".txt", ".toml", ".yml", ".yaml", ".json", ".html")):
            try:
                return InputGitTreeElement(path, mode, "blob", content=data.decode("utf-8"))
            except UnicodeDecodeError:
                pass
        if path not in uploaded:
            try:
                blob = self._write(self.repo.create_git_blob, base64.b64encode(data).decode("ascii"), "base64")
            except GithubException as exc:
                raise self._fail(f"could not upload {path}", exc) from None
            uploaded[path] = blob.sha
        return InputGitTreeElement(path, mode, "blob", sha=uploaded[path])

    def _move_ref(self, branch: str, old: str | None, new: str, result: Result) -> str:
        """Point `branch` at `new` (fast-forward only; created when `old` is None). Returns "ok" or
        "moved" (retry on the new head); raises PublishError when GitHub refuses for another reason.

        A 422 is "moved" only when the branch really moved or GitHub says "not a fast forward";
        otherwise it is a refusal (branch protection, a ruleset) and is said with GitHub's own
        message. A 5xx or a lost answer re-reads the branch: if it points to our commit, the
        update was applied."""
        from github import GithubException

        try:
            if old is None:
                self._write(self.repo.create_git_ref, f"refs/heads/{branch}", new)
            else:
                ref = self.repo.get_git_ref(f"heads/{branch}")
                _ = ref.object.sha  # complete the (lazy) object: its URL is then GitHub's own /git/refs/... one
                self._write(ref.edit, new, force=False)
            return "ok"
        except GithubException as exc:
            status, msg = exc.status, _gh_message(exc)
        except Exception as exc:  # a timeout or a dropped connection: the update may have happened
            status, msg = 0, f"{type(exc).__name__}: {exc}"
        now = self._read_ref(branch)
        if now == new:
            result.notes.append(f"GitHub answered the update of {branch} with "
                                f"{('HTTP ' + str(status)) if status else msg}, but {branch} points to our commit: committed")
            return "ok"
        if status == 422:
            if now != old or "not a fast forward" in msg.lower() or "already exists" in msg.lower():
                return "moved"
            raise PublishError(
                f"GitHub refused to update {branch}: {msg or 'HTTP 422'} (HTTP 422). The branch is protected (branch "
                f"protection or a ruleset); use `commit: pull-request` to propose the covers in a pull request, or "
                f"pass a `github-token` that is allowed to push to {branch} (a PAT or GitHub App token that may bypass "
                "the rule). The images stay in the workspace.")
        if status >= 500 or status == 0:
            if now == old:
                result.notes.append(f"GitHub answered the update of {branch} with "
                                    f"{('HTTP ' + str(status)) if status else msg} and {branch} did not move; trying again")
            return "moved"  # build again on whatever the branch is now, and try again (bounded)
        if status in (401, 403, 404):
            raise PublishError(f"could not move {branch}: HTTP {status} {msg} (the token needs "
                               "`permissions: contents: write` on this repository)")
        raise PublishError(f"could not move {branch}: HTTP {status} {msg}")

    # ---------------------------------------------------------------- publish

    def publish(self, repo_dir: Path, changes: Sequence[Change], message: str, *, base_sha: str,
                pull: PullRequestPlan | None = None) -> Result:
        """Commit `changes` to the branch (or, with `pull`, to the covers branch of a pull request
        against the branch), rebuilding on a moved head and leaving posts changed upstream."""
        from github import GithubException

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
        last_error = ""
        for attempt in range(1, self.attempts + 1):
            try:
                head_sha = self._read_ref(self.branch)
                if head_sha is None:
                    raise PublishError(f"branch {self.branch!r} does not exist on GitHub")
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
            if pull is not None:
                target, target_old, parents, tree_base, elements = self._pull_tree(pull, head, todo, local, ours,
                                                                                   uploaded)
            else:
                target, target_old, parents, tree_base = self.branch, head_sha, [head], head.tree
                elements = [self._element(p, local[p], uploaded) for c in todo for p in c.paths if now[p] != ours[p]]
            if not elements:
                result.committed = [c.post for c in todo]
                result.notes.append("nothing to commit" if not todo else f"{target} already has these files")
                return result
            try:
                tree = self._write(self.repo.create_git_tree, elements, base_tree=tree_base)
                if pull is not None and parents and tree.sha == parents[0].tree.sha:
                    result.committed = [c.post for c in todo]
                    result.notes.append(f"{target} already has these files")
                    return result
                commit = self._write(self.repo.create_git_commit, message, tree, parents)
            except GithubException as exc:
                raise self._fail("could not create the commit", exc) from None
            outcome = self._move_ref(target, target_old, commit.sha, result)
            if outcome == "ok":
                result.sha = commit.sha
                result.committed = [c.post for c in todo]
                return result
            last_error = f"{target} kept moving"
            if attempt < self.attempts:
                if not result.notes or "trying again" not in result.notes[-1]:
                    result.notes.append(f"{target} moved during the commit; retrying on the new head")
                self.sleep(self.backoff * 2 ** (attempt - 1))
        raise PublishError(f"{last_error}; gave up after {self.attempts} attempts "
                           "(the images stay in the workspace; the next run commits them)")

    # ---------------------------------------------------------------- pull-request mode

    def plan_pull_request(self, pr_branch: str) -> PullRequestPlan:
        """Read the covers branch and its open pull request (reads only). The posts the open pull
        request already covers are carried (and not generated again), unless the base branch changed
        them since: those are dropped from the pull request and may get a new cover."""
        from github import GithubException

        plan = PullRequestPlan(base=self.branch, branch=pr_branch)
        try:
            plan.head = self._read_ref(pr_branch) or ""
            pulls = list(self.repo.get_pulls(state="open", head=f"{self.owner}:{pr_branch}", base=self.branch))
        except GithubException as exc:
            raise self._fail(f"could not read the pull requests of {self.repository}", exc) from None
        if not pulls or not plan.head:
            return plan
        pr = pulls[0]
        plan.number, plan.url = pr.number, pr.html_url
        plan.entries = parse_manifest(pr.body or "")
        base_head = self._read_ref(self.branch)
        if base_head is None:
            return plan
        try:
            cmp = self.repo.compare(base_head, plan.head)
            merge_base = cmp.merge_base_commit.sha
            files = [(f.filename, f.status) for f in cmp.files]
        except GithubException as exc:
            raise self._fail(f"could not compare {self.branch} with {pr_branch}", exc) from None
        changed = [name for name, _ in files]
        if len(files) >= 300:  # the compare API lists only the first 300 files
            changed = sorted({p for e in plan.entries for p in (e.get("post"), e.get("image"), e.get("removed")) if p}
                             | set(changed))
        mb_tree = self.repo.get_git_commit(merge_base).tree.sha
        base_tree = self.repo.get_git_commit(base_head).tree.sha
        at_mb = self.blobs_at(mb_tree, changed)
        at_base = self.blobs_at(base_tree, changed)
        conflicted = {p for p in changed if at_mb[p] != at_base[p]}
        groups = {e["post"]: {p for p in (e.get("post"), e.get("image"), e.get("removed")) if p} for e in plan.entries}
        dropped = {post for post, files_ in groups.items() if files_ & conflicted}
        for post in sorted(dropped):
            plan.notes.append(f"{post} changed on {self.branch} after its cover was proposed; "
                              "its cover is left out of the pull request (a later run makes a new one)")
        drop_paths = {p for post in dropped for p in groups[post]} | conflicted
        plan.entries = [e for e in plan.entries if e["post"] not in dropped]
        plan.carried = [p for p in changed if p not in drop_paths]
        head_tree = self.repo.get_git_commit(plan.head).tree.sha
        at_head = self.blobs_at(head_tree, plan.carried)
        for e in plan.entries:
            sha = at_head.get(e["post"])
            if sha:
                plan.posts[e["post"]] = base64.b64decode(self.repo.get_git_blob(sha).content)
        return plan

    def _pull_tree(self, pull: PullRequestPlan, base_head: Any, todo: Sequence[Change], local: dict[str, bytes | None],
                   ours: dict[str, str | None], uploaded: dict[str, str]) -> tuple[str, str | None, list[Any], Any, list[Any]]:
        """The next commit of the covers branch: the base branch's tree, the files the open pull
        request carries (as they are on the covers branch now), and ours. Parents: the covers
        branch (so the update is a fast-forward, never forced) and the base branch's head."""
        from github import InputGitTreeElement

        head_sha = self._read_ref(pull.branch)
        parents = [base_head]
        elements = []
        if head_sha:
            head = self.repo.get_git_commit(head_sha)
            parents = [head] if head_sha == base_head.sha else [head, base_head]
            mine = {p for c in todo for p in c.paths}
            carried = [p for p in pull.carried if p not in mine]
            for p, sha in self.blobs_at(head.tree.sha, carried).items():
                mode = self.modes.get(p, "100644")
                elements.append(InputGitTreeElement(p, mode if mode in ("100644", "100755") else "100644", "blob",
                                                    sha=sha))
        for c in todo:
            for p in c.paths:
                elements.append(self._element(p, local[p], uploaded))
        return pull.branch, head_sha, parents, base_head.tree, elements

    def open_pull_request(self, pull: PullRequestPlan, result: Result, entries: list[dict[str, str]], *,
                          server_url: str) -> None:
        """Open the covers pull request, or update the open one's title and list."""
        from github import GithubException

        sha = result.sha or pull.head
        title = (f"Cover image for {PurePosixPath(entries[0]['post']).name}" if len(entries) == 1
                 else f"Cover images for {len(entries)} posts")
        body = pull_request_body(entries, server_url=server_url, repository=self.repository, sha=sha,
                                 base=self.branch)
        try:
            if pull.number:
                pr = self.repo.get_pull(pull.number)
                self._write(pr.edit, title=title, body=body)
            else:
                pr = self._write(self.repo.create_pull, base=self.branch, head=pull.branch, title=title, body=body,
                                 maintainer_can_modify=True)
        except GithubException as exc:
            msg = _gh_message(exc)
            hint = ""
            if exc.status == 403 and "not permitted to create" in msg:
                hint = (" Allow it in the repository's Settings > Actions > General > Workflow permissions "
                        "(\"Allow GitHub Actions to create and approve pull requests\"), or pass a `github-token` "
                        "(PAT or GitHub App token) that may open pull requests.")
            elif exc.status in (401, 403, 404):
                hint = " (the token needs `permissions: pull-requests: write`)"
            raise PublishError(f"the covers are on branch {pull.branch} ({sha[:12]}) but the pull request could not "
                               f"be {'updated' if pull.number else 'opened'}: HTTP {exc.status} {msg}.{hint}") from None
        result.pull_request_number = pr.number
        result.pull_request_url = pr.html_url


def parse_manifest(body: str) -> list[dict[str, str]]:
    """The covers listed in a pull request body written by `pull_request_body`."""
    start = body.find(MANIFEST_START)
    if start < 0:
        return []
    end = body.find(MANIFEST_END, start + len(MANIFEST_START))
    try:
        data = json.loads(body[start + len(MANIFEST_START):end])
    except ValueError:
        return []
    return [{k: str(v) for k, v in e.items() if v is not None} for e in data
            if isinstance(e, dict) and isinstance(e.get("post"), str)] if isinstance(data, list) else []


def pull_request_body(entries: Sequence[dict[str, str]], *, server_url: str, repository: str, sha: str,
                      base: str) -> str:
    """One row per post: cover thumbnail, title, provider and prompt; a hidden JSON list lets the
    next run carry these covers forward."""
    from urllib.parse import quote

    def cell(s: str) -> str:
        text = " ".join(str(s).split())
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    link = f"{server_url.rstrip('/')}/{repository}"
    lines = [f"Cover images for {len(entries)} post(s), made by imagegen. Merge to publish them on `{cell(base)}`; "
             "edit or replace a cover on this branch first if you like. Close without merging to reject them.", "",
             "| cover | post | provider | prompt |", "|---|---|---|---|"]
    shown = 0
    for e in entries:
        if shown >= 100:
            lines += ["", f"… and {len(entries) - shown} more (see the files changed)"]
            break
        img = f'<img src="{link}/blob/{sha}/{quote(e.get("image", ""))}?raw=true" width="160" alt="">' \
            if e.get("image") else ""
        title = cell(e.get("title") or PurePosixPath(e["post"]).name)
        prompt = cell(e.get("prompt", ""))
        if len(prompt) > 400:
            prompt = prompt[:400] + "…"
        provider = cell(e.get("provider", "")) + (f" (`{cell(e['model'])}`)" if e.get("model") else "")
        lines.append(f"| {img} | **{title}**<br>`{cell(e['post'])}` | {provider} | {prompt} |")
        shown += 1
    keep = [{k: e.get(k, "") for k in ("post", "image", "removed", "title", "provider", "model")} for e in entries]
    manifest = json.dumps(keep, ensure_ascii=True).replace("--", "\\u002d\\u002d")
    lines += ["", MANIFEST_START + manifest + MANIFEST_END, ""]
    body = "\n".join(lines)
    return redact(body[:60000])


def publish_api(repo_dir: Path, changes: Sequence[Change], *, token: str, api_url: str, repository: str,
                branch: str, base_sha: str, message: str | None = None, sync: bool = True,
                deadline: float = PUBLISH_DEADLINE, **kw: Any) -> Result:
    pub = ApiPublisher(token=token, api_url=api_url, repository=repository, branch=branch, **kw)
    with overall_deadline(deadline, "the commit through GitHub's API"):
        result = pub.publish(Path(repo_dir), changes, message or default_message(changes), base_sha=base_sha)
    _restore_left(Path(repo_dir), changes, result)
    if sync and result.sha:
        committed = [p for c in changes if c.post in result.committed for p in c.paths]
        why = sync_checkout(Path(repo_dir), result.sha, committed)
        if why:
            result.synced = False
            result.notes.append(f"the checkout was not moved to the new commit ({why}); "
                                "a later step that needs it should run `git pull`")
    return result


def _restore_left(repo_dir: Path, changes: Sequence[Change], result: Result) -> None:
    git = Git(repo_dir)
    if result.left and git.is_repo():
        new_files = {p for c in changes for p in c.written}
        for item in result.left:
            change = next(c for c in changes if c.post == item.post)
            try:
                git.restore("HEAD", change, new_files - {change.post})
            except PublishError as exc:
                result.notes.append(f"could not restore {change.post}: {exc}")


def publish_pull_request(repo_dir: Path, changes: Sequence[Change], pull: PullRequestPlan, pub: ApiPublisher, *,
                         base_sha: str, entries: Sequence[dict[str, str]], message: str | None = None,
                         server_url: str = "https://github.com", deadline: float = PUBLISH_DEADLINE) -> Result:
    """Commit the run's covers to the covers branch (with what its open pull request already
    holds) and open or update the pull request. `entries`: the run's covers (post, image, title,
    provider, model, prompt). The base branch is not touched."""
    with overall_deadline(deadline, "the pull request through GitHub's API"):  # one deadline for all of it
        result = pub.publish(Path(repo_dir), changes, message or default_message(changes), base_sha=base_sha,
                             pull=pull)
        _restore_left(Path(repo_dir), changes, result)
        committed = set(result.committed)
        new = [e for e in entries if e["post"] in committed]
        mine = {e["post"] for e in new}
        listed = [e for e in pull.entries if e["post"] not in mine] + new
        if listed and (result.sha or (pull.number and new)):
            pub.open_pull_request(pull, result, listed, server_url=server_url)
        elif pull.number:
            result.pull_request_number, result.pull_request_url = pull.number, pull.url
    return result


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


# ============================================================================ git mode


def _rejected(r: subprocess.CompletedProcess[bytes]) -> bool:
    """The push lost a race (the branch moved): worth a rebase and another push. A `[remote
    rejected]` for any other reason (a protected branch, a ruleset, a hook) is a refusal."""
    text = (r.stderr or b"").decode("utf-8", errors="replace")
    if any(s in text for s in ("[rejected]", "non-fast-forward", "fetch first", "cannot lock ref")):
        return True
    return False


def _refused(r: subprocess.CompletedProcess[bytes]) -> bool:
    text = (r.stderr or b"").decode("utf-8", errors="replace")
    return "[remote rejected]" in text or "GH006" in text or "GH013" in text


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
        if _refused(r) and not _rejected(r):
            said = [ln.strip() for ln in (r.stderr or b"").decode("utf-8", errors="replace").splitlines()
                    if ln.startswith("remote:") or "[remote rejected]" in ln]
            raise PublishError(f"GitHub refused the push to {branch}: {redact(' / '.join(said))}. The branch is protected (branch "
                               "protection or a ruleset); use `commit: pull-request`, or pass a `github-token` "
                               f"that is allowed to push to {branch}. The images stay in the workspace.")
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
