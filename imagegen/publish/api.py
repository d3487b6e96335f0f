"""`commit: api`: commit over the Git Data API with PyGithub.

Only the files the run wrote (each generated post, its new image, and an old cover it deleted) are
committed, grouped per post: blobs, a tree on the branch head's tree, a commit without author or
committer (GitHub then makes and verifies it as the token's bot), and a non-forced ref update. If
the branch moved while we worked and the newer commits changed one of our files, that post is
*left for the next run* (never overwritten) and said so; the other posts are committed on top of
the new head. A 422 "not a fast forward" means the branch moved between our read and our update:
rebuild on the new head and retry, bounded, with backoff. Nothing changed -> no commit. Honours
`GITHUB_API_URL` (GitHub Enterprise, tests). Afterwards the local checkout is moved to the new
commit (fetch + `git reset --merge`) so later steps of the job see it.

`GitHubApi` is the client and the commit loop (shared with `pull_request.py`, which commits to the
covers branch instead); `ApiPublisher` is the Publisher of `commit: api`.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from imagegen.errors import PublishError
from imagegen.publish.base import (DEFAULT_ATTEMPTS, Change, Result, Target, blob_sha, default_message,
                                   left_upstream, local_files)
from imagegen.publish.checkout import restore_left, sync_checkout
from imagegen.publish.deadline import PUBLISH_DEADLINE, overall_deadline

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
MAX_RETRY_WAIT = 60.0
"""The longest pause imagegen takes when GitHub asks for one (Retry-After, a rate limit's reset).
A secondary rate limit answers `Retry-After: 3600`; three retries slept three hours. A longer wait
is a clear failure instead (`WaitTooLong`), and the next run tries again."""
CHECK_DEADLINE = 120.0
"""Seconds the checks before any cover is made (the open pull request, write access, rulesets)
may take in all: they hold up the whole run, and a stalled GitHub must not hold the job."""
TEXT_SUFFIXES = (".md", ".markdown", ".mdx", ".txt", ".toml", ".yml", ".yaml", ".json", ".html")
"""Files sent inline in the tree request (no blob request of their own) when they are UTF-8."""


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


def gh_message(exc: Exception) -> str:
    """GitHub's own message in a PyGithub error, on one line, with its reasons: a 422 says only
    "Validation Failed" in `message`; why ("A pull request already exists for ...") is in
    `errors[].message` (or `errors[].code`)."""
    data = getattr(exc, "data", None)
    msg = data.get("message") if isinstance(data, dict) else (data if isinstance(data, str) else "")
    errors = data.get("errors") if isinstance(data, dict) else None
    reasons = [str(e.get("message") or e.get("code") or "") if isinstance(e, dict) else str(e)
               for e in (errors if isinstance(errors, list) else [])]
    reasons = [r for r in reasons if r and r not in str(msg)]
    text = str(msg or "") + (": " + "; ".join(reasons) if reasons else "")
    return " ".join(text.split())


class WaitTooLong(PublishError):
    """GitHub asked for a pause longer than MAX_RETRY_WAIT. Raised from inside urllib3's retry
    (before it sleeps), so it passes through requests and PyGithub unchanged."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"GitHub asked to wait {seconds:.0f} s before the next request (a rate limit); imagegen "
                         f"waits at most {MAX_RETRY_WAIT:g} s, so it gave up. The next run tries again")


def bounded_retry(total: int = API_RETRIES) -> Any:
    """PyGithub's retry (5xx, rate limits) that never sleeps longer than MAX_RETRY_WAIT: a longer
    Retry-After or rate-limit reset raises WaitTooLong at once."""
    from github import GithubRetry

    class _Bounded(GithubRetry):
        def sleep_for_retry(self, response: Any = None) -> bool:
            after = self.get_retry_after(response) if response is not None else None
            if after is not None and after > MAX_RETRY_WAIT:
                raise WaitTooLong(after)
            return bool(super().sleep_for_retry(response))

        def sleep(self, response: Any = None) -> None:
            backoff = self.get_backoff_time()
            if backoff > MAX_RETRY_WAIT:
                raise WaitTooLong(backoff)
            super().sleep(response)

    return _Bounded(total=total, backoff_factor=1.0, max_rate_limit_wait=int(MAX_RETRY_WAIT))


@dataclass
class Files:
    """Our side of a commit: each path's bytes in the workspace (None: deleted), their blob ids, and
    the blobs already uploaded (kept across attempts)."""

    local: dict[str, bytes | None]
    ours: dict[str, str | None]
    uploaded: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, repo_dir: Path, changes: Sequence[Change]) -> "Files":
        local = local_files(repo_dir, [p for c in changes for p in c.paths])
        return cls(local, {p: (blob_sha(d) if d is not None else None) for p, d in local.items()})

    @property
    def paths(self) -> list[str]:
        return list(self.local)


@dataclass
class Draft:
    """The next commit: which branch it moves (from `old`, None: create it), its parents, the tree it
    is built on and the entries that change that tree."""

    branch: str
    old: str | None
    parents: list[Any]
    base_tree: Any
    elements: list[Any]


Drafter = Callable[[Any, Sequence[Change], Files, dict[str, str | None]], Draft]
"""(the base branch's head commit, the posts to commit, our files, their blobs on that head) -> Draft."""


class GitHubApi:
    """One repository's branch through PyGithub: reads, paced writes, and the commit loop."""

    def __init__(self, *, token: str, api_url: str, repository: str, branch: str,
                 sleep: Callable[[float], None] = time.sleep, attempts: int = DEFAULT_ATTEMPTS,
                 backoff: float = 1.0, retry: Any = "default", timeout: int = API_TIMEOUT,
                 write_interval: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """`write_interval`: seconds between writes once the free ones are used (None: GitHub's
        guidance, see WritePacer; 0: no pause, for tests)."""
        from github import Auth, Github

        kw: dict[str, Any] = {"auth": Auth.Token(token), "base_url": api_url.rstrip("/"), "timeout": timeout,
                              "lazy": True, "seconds_between_requests": None, "seconds_between_writes": None,
                              "retry": bounded_retry() if retry == "default" else retry}
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

    def write(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """A write request, paced (see WritePacer)."""
        self.pacer()
        return fn(*args, **kw)

    def fail(self, what: str, exc: Exception) -> PublishError:
        from github import GithubException

        if isinstance(exc, GithubException):
            hint = " (the token needs `permissions: contents: write` on this repository)" \
                if exc.status in (401, 403, 404) else ""
            return PublishError(f"{what}: HTTP {exc.status} {gh_message(exc)}{hint}")
        return PublishError(f"{what}: {type(exc).__name__}: {exc}")

    def can_write(self) -> str | None:
        """None when the token may write contents, else a one-line reason. Creates one small blob
        (unreferenced: GitHub collects it), the only check a fine-grained or app token answers truly."""
        from github import GithubException

        try:
            self.write(self.repo.create_git_blob, "imagegen: write access check\n", "utf-8")
        except PublishError:
            raise  # WaitTooLong: a verdict of its own
        except GithubException as exc:
            if exc.status in (401, 403, 404):
                return str(self.fail(f"the token cannot write to {self.repository}", exc))
            return None  # something else: not a verdict on permissions; publishing will say more
        except Exception as exc:  # network, DNS: say so, do not crash
            return str(self.fail(f"could not reach the GitHub API for {self.repository}", exc))
        return None

    BLOCKING_RULES = {"pull_request": "changes must be made through a pull request",
                      "update": "the branch may not be updated",
                      "required_status_checks": "status checks must pass before the branch is updated"}

    def ruleset_refusal(self) -> str | None:
        """A repository ruleset that will refuse our update of the branch, found before any cover is
        made (reads only; a verdict only when GitHub says this token cannot bypass it). Classic branch
        protection is not readable without admin rights: that refusal comes with the update."""
        from urllib.parse import quote

        req = self.gh.requester
        try:
            _, rules = req.requestJsonAndCheck("GET", f"/repos/{self.repository}/rules/branches/"
                                                      f"{quote(self.branch, safe='')}")
        except PublishError:
            raise  # WaitTooLong
        except Exception:  # not a verdict (old GHES, no access, network): the update will say
            return None
        for rule in rules if isinstance(rules, list) else []:
            kind = rule.get("type") if isinstance(rule, dict) else None
            if kind not in self.BLOCKING_RULES:
                continue
            name = self._unbypassable_ruleset(rule)
            if name is not None:
                return (f"{self.branch} is protected by the ruleset {name!r}: {self.BLOCKING_RULES[kind]}, and this "
                        "token may not bypass it; use `commit: pull-request` to propose the covers in a pull request, "
                        f"or pass a `github-token` that is allowed to push to {self.branch}")
        return None

    def _unbypassable_ruleset(self, rule: dict[str, Any]) -> str | None:
        """The name of the rule's ruleset when this token may not bypass it (None: it may, or unknown)."""
        name = str(rule.get("ruleset_source") or "")
        try:
            _, ruleset = self.gh.requester.requestJsonAndCheck(
                "GET", f"/repos/{self.repository}/rulesets/{int(rule.get('ruleset_id') or 0)}")
            name = str(ruleset.get("name") or name)
            bypass = str(ruleset.get("current_user_can_bypass") or "")
        except PublishError:
            raise  # WaitTooLong
        except Exception:
            return None
        return None if bypass in ("always", "exempt") else name

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

    def file_mode(self, path: str) -> str:
        """The mode to give one of our files: the existing file's when it is a plain or executable file."""
        mode = self.modes.get(path, "100644")
        return mode if mode in ("100644", "100755") else "100644"

    def read_ref(self, branch: str) -> str | None:
        """The commit a branch points to (None: no such branch)."""
        from github import GithubException

        try:
            return self.repo.get_git_ref(f"heads/{branch}").object.sha
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise self.fail(f"could not read branch {branch!r}", exc) from None

    def element(self, path: str, files: Files) -> Any:
        """A tree entry for one of our files: deleted, inline text (no separate blob request), or an
        uploaded blob (binary files: the tree API takes text only)."""
        from github import GithubException, InputGitTreeElement

        data = files.local[path]
        if data is None:
            return InputGitTreeElement(path, "100644", "blob", sha=None)
        mode = self.file_mode(path)
        if path.lower().endswith(TEXT_SUFFIXES):
            try:
                return InputGitTreeElement(path, mode, "blob", content=data.decode("utf-8"))
            except UnicodeDecodeError:
                pass
        if path not in files.uploaded:
            try:
                blob = self.write(self.repo.create_git_blob, base64.b64encode(data).decode("ascii"), "base64")
            except GithubException as exc:
                raise self.fail(f"could not upload {path}", exc) from None
            files.uploaded[path] = blob.sha
        return InputGitTreeElement(path, mode, "blob", sha=files.uploaded[path])

    # ---------------------------------------------------------------- the ref update

    def move_ref(self, branch: str, old: str | None, new: str, result: Result) -> str:
        """Point `branch` at `new` (fast-forward only; created when `old` is None). Returns "ok" or
        "moved" (retry on the new head); raises PublishError when GitHub refuses for another reason.

        A 422 is "moved" only when the branch really moved or GitHub says "not a fast forward";
        otherwise it is a refusal (branch protection, a ruleset) and is said with GitHub's own
        message. A 5xx or a lost answer re-reads the branch: if it points to our commit, the
        update was applied."""
        from github import GithubException

        try:
            if old is None:
                self.write(self.repo.create_git_ref, f"refs/heads/{branch}", new)
            else:
                ref = self.repo.get_git_ref(f"heads/{branch}")
                _ = ref.object.sha  # complete the (lazy) object: its URL is then GitHub's own /git/refs/... one
                self.write(ref.edit, new, force=False)
            return "ok"
        except GithubException as exc:
            status, msg = exc.status, gh_message(exc)
        except Exception as exc:  # a timeout or a dropped connection: the update may have happened
            status, msg = 0, f"{type(exc).__name__}: {exc}"
        return self._after_failed_update(branch, old, new, status, msg, result)

    def _after_failed_update(self, branch: str, old: str | None, new: str, status: int, msg: str,
                             result: Result) -> str:
        """What a failed ref update means, from the branch as it is now (see `move_ref`)."""
        now = self.read_ref(branch)
        answer = f"HTTP {status}" if status else msg
        if now == new:
            result.notes.append(f"GitHub answered the update of {branch} with {answer}, but {branch} points to "
                                "our commit: committed")
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
                result.notes.append(f"GitHub answered the update of {branch} with {answer} and {branch} did not "
                                    "move; trying again")
            return "moved"  # build again on whatever the branch is now, and try again (bounded)
        if status in (401, 403, 404):
            raise PublishError(f"could not move {branch}: HTTP {status} {msg} (the token needs "
                               "`permissions: contents: write` on this repository)")
        raise PublishError(f"could not move {branch}: HTTP {status} {msg}")

    # ---------------------------------------------------------------- the commit loop

    def commit(self, repo_dir: Path, changes: Sequence[Change], message: str, *, base_sha: str,
               draft: Drafter | None = None) -> Result:
        """Commit `changes` as `draft` builds each attempt (default: onto this branch), rebuilding on a
        moved head and leaving posts changed upstream. Bounded: gives up after `attempts`."""
        draft = draft or self.branch_draft
        result = Result()
        if not changes:
            result.notes.append("nothing to commit")
            return result
        files = Files.read(Path(repo_dir), changes)
        base = self._blobs_at_commit(base_sha, files.paths, result)
        todo = list(changes)
        target = self.branch
        for attempt in range(1, self.attempts + 1):
            head, now = self._branch_now([p for c in todo for p in c.paths])
            todo = self._keep_unmoved(todo, base if base is not None else now, now, files, result)
            d = draft(head, todo, files, now)
            target = d.branch
            sha = self._make_commit(d, message) if d.elements else None
            if sha is None:
                result.committed = [c.post for c in todo]
                result.notes.append("nothing to commit" if not d.elements and not todo
                                    else f"{d.branch} already has these files")
                return result
            if self.move_ref(d.branch, d.old, sha, result) == "ok":
                result.sha, result.committed = sha, [c.post for c in todo]
                return result
            if attempt < self.attempts:
                if not result.notes or "trying again" not in result.notes[-1]:
                    result.notes.append(f"{d.branch} moved during the commit; retrying on the new head")
                self.sleep(self.backoff * 2 ** (attempt - 1))
        raise PublishError(f"{target} kept moving; gave up after {self.attempts} attempts "
                           "(the images stay in the workspace; the next run commits them)")

    def branch_draft(self, head: Any, todo: Sequence[Change], files: Files, now: dict[str, str | None]) -> Draft:
        """A commit on the branch's head with the files of ours it does not have yet."""
        elements = [self.element(p, files) for c in todo for p in c.paths if now[p] != files.ours[p]]
        return Draft(self.branch, head.sha, [head], head.tree, elements)

    def _blobs_at_commit(self, base_sha: str, paths: list[str], result: Result) -> dict[str, str | None] | None:
        """Our files as the checked-out commit had them (None: GitHub does not know that commit)."""
        from github import GithubException

        try:
            tree = self.repo.get_git_commit(base_sha).tree.sha if base_sha else ""
        except GithubException as exc:
            if exc.status not in (404, 422):
                raise self.fail("could not read the checked-out commit", exc) from None
            tree = ""
        if not tree:
            result.notes.append(f"the checked-out commit {base_sha[:12] or '(unknown)'} is not on GitHub; "
                                "changes made upstream since cannot be detected")
            return None
        return self.blobs_at(tree, paths)

    def _branch_now(self, paths: list[str]) -> tuple[Any, dict[str, str | None]]:
        """The branch's head commit and the blobs of `paths` in it."""
        from github import GithubException

        try:
            head_sha = self.read_ref(self.branch)
            if head_sha is None:
                raise PublishError(f"branch {self.branch!r} does not exist on GitHub")
            head = self.repo.get_git_commit(head_sha)
            return head, self.blobs_at(head.tree.sha, paths)
        except GithubException as exc:
            raise self.fail(f"could not read branch {self.branch!r}", exc) from None

    def _keep_unmoved(self, todo: list[Change], start: dict[str, str | None], now: dict[str, str | None],
                      files: Files, result: Result) -> list[Change]:
        """The posts the branch did not change since we started; the others are left for the next run."""
        keep: list[Change] = []
        for c in todo:
            moved = [p for p in c.paths if now[p] != start[p] and now[p] != files.ours[p]]
            if moved:
                result.left.append(left_upstream(c, f"{moved[0]} was changed on {self.branch} by a newer commit"))
            else:
                keep.append(c)
        return keep

    def _make_commit(self, d: Draft, message: str) -> str | None:
        """The tree and the commit of a draft (None: the tree is the first parent's: nothing to commit)."""
        from github import GithubException

        try:
            tree = self.write(self.repo.create_git_tree, d.elements, base_tree=d.base_tree)
            if d.parents and tree.sha == d.parents[0].tree.sha:
                return None
            return self.write(self.repo.create_git_commit, message, tree, d.parents).sha
        except GithubException as exc:
            raise self.fail("could not create the commit", exc) from None


class ApiPublisher:
    """`commit: api`: a verified commit on the branch through the Git Data API; then the checkout is
    moved to it."""

    def __init__(self, api: GitHubApi, target: Target, *, deadline: float = PUBLISH_DEADLINE) -> None:
        self.api = api
        self.target = target
        self.deadline = deadline
        self.check_deadline = CHECK_DEADLINE

    def prepare(self) -> list[str]:
        return []

    def preflight(self) -> str | None:
        """A token that cannot write: nothing to generate (said as a notice). A ruleset this token may
        not bypass: a configuration mistake (PublishError). Bounded by CHECK_DEADLINE in all."""
        with overall_deadline(self.check_deadline, "the write-access check through GitHub's API"):
            why = self.api.can_write()
            refusal = None if why else self.api.ruleset_refusal()
        if why:
            return why
        if refusal:
            raise PublishError(refusal)
        return None

    def close(self) -> None:
        return None

    def publish(self, changes: Sequence[Change], message: str | None) -> Result:
        if not changes:
            return Result()
        workspace = self.target.workspace
        with overall_deadline(self.deadline, "the commit through GitHub's API"):
            result = self.api.commit(workspace, changes, message or default_message(changes),
                                     base_sha=self.target.base_sha)
        restore_left(workspace, changes, result)
        if result.sha:
            why = sync_checkout(workspace, result.sha, [p for c in changes if c.post in result.committed
                                                        for p in c.paths])
            if why:
                result.synced = False
                result.notes.append(f"the checkout was not moved to the new commit ({why}); "
                                    "a later step that needs it should run `git pull`")
            result.log.append(f"committed {len(result.committed)} post(s) to {self.target.branch}: {result.sha}")
        return result
