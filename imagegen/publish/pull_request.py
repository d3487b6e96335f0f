"""`commit: pull-request`: the covers go to one covers branch (`imagegen/covers`) and one pull
request against the branch, which a human merges; the branch itself is never touched.

Before the run, the open pull request is read (`prepare`): the covers it lists are carried into the
next commit of the covers branch, and their posts are put into the workspace as the covers branch
has them, so they are not made again; a post the base branch changed since is dropped from the
pull request (a later run makes it a new cover). Each commit of the covers branch has the covers
branch as first parent (a fast-forward, never forced) and the base branch's head as second. The
pull request's body lists the covers and carries a hidden JSON manifest the next run reads.
Afterwards the workspace is the base branch again.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Sequence
from urllib.parse import quote

from imagegen import writer
from imagegen.errors import PublishError, SettingsError, WriteError
from imagegen.gfm import table_cell
from imagegen.publish.api import CHECK_DEADLINE, Draft, Files, GitHubApi, gh_message
from imagegen.publish.base import Change, Result, Target, default_message
from imagegen.publish.checkout import restore_checkout, restore_left
from imagegen.publish.deadline import PUBLISH_DEADLINE, overall_deadline
from imagegen.redact import redact

MANIFEST_START = "<!-- imagegen:covers "
MANIFEST_END = " -->"
MANIFEST_KEYS = ("post", "image", "removed", "title", "provider", "model")
MAX_ROWS = 100
"""Covers listed as table rows in the body (the manifest lists them all)."""
BODY_LIMIT = 60000
"""GitHub refuses a pull request body over 65,536 characters."""


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
    """The covers listed in the open pull request (post, image, removed, title, provider, model)."""
    carried: list[str] = field(default_factory=list)
    """Paths the covers branch changed that the next commit keeps."""
    dropped: list[str] = field(default_factory=list)
    """Paths left out on purpose (posts the base branch changed since, and their covers)."""
    posts: dict[str, bytes] = field(default_factory=dict)
    """The carried posts' bytes on the covers branch (written into the workspace for the run)."""
    notes: list[str] = field(default_factory=list)


def entry_of(change: Change) -> dict[str, str]:
    """A cover as the pull request lists it."""
    return {"post": change.post, "image": change.image, "removed": change.deleted[0] if change.deleted else "",
            "title": change.title or PurePosixPath(change.post).name, "provider": change.provider,
            "model": change.model, "prompt": change.prompt}


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


def _row(e: dict[str, str], raw: str) -> str:
    """One cover's table row: thumbnail, title and path, provider (and model), prompt."""
    img = f'<img src="{raw}/{quote(e.get("image", ""))}?raw=true" width="160" alt="">' if e.get("image") else ""
    title = table_cell(e.get("title") or PurePosixPath(e["post"]).name)
    prompt = table_cell(e.get("prompt", ""))
    if len(prompt) > 400:
        prompt = prompt[:400] + "…"
    provider = table_cell(e.get("provider", "")) + (f" (`{table_cell(e['model'])}`)" if e.get("model") else "")
    return f"| {img} | **{title}**<br>`{table_cell(e['post'])}` | {provider} | {prompt} |"


def pull_request_body(entries: Sequence[dict[str, str]], *, server_url: str, repository: str, sha: str,
                      base: str) -> str:
    """One row per post: cover thumbnail, title, provider and prompt; a hidden JSON list lets the
    next run carry these covers forward."""
    raw = f"{server_url.rstrip('/')}/{repository}/blob/{sha}"
    lines = [f"Cover images for {len(entries)} post(s), made by imagegen. Merge to publish them on "
             f"`{table_cell(base)}`; edit or replace a cover on this branch first if you like. Close without "
             "merging to reject them.", "", "| cover | post | provider | prompt |", "|---|---|---|---|"]
    lines += [_row(e, raw) for e in entries[:MAX_ROWS]]
    if len(entries) > MAX_ROWS:
        lines += ["", f"… and {len(entries) - MAX_ROWS} more (see the files changed)"]
    keep = [{k: e.get(k, "") for k in MANIFEST_KEYS} for e in entries]
    manifest = json.dumps(keep, ensure_ascii=True).replace("--", "\\u002d\\u002d")
    lines += ["", MANIFEST_START + manifest + MANIFEST_END, ""]
    return redact("\n".join(lines)[:BODY_LIMIT])


def read_plan(api: GitHubApi, pr_branch: str) -> PullRequestPlan:
    """Read the covers branch and its open pull request (reads only). The posts the open pull
    request already covers are carried (and not generated again), unless the base branch changed
    them since: those are dropped from the pull request and may get a new cover."""
    from github import GithubException

    plan = PullRequestPlan(base=api.branch, branch=pr_branch)
    try:
        plan.head = api.read_ref(pr_branch) or ""
        pulls = list(api.repo.get_pulls(state="open", head=f"{api.owner}:{pr_branch}", base=api.branch))
    except GithubException as exc:
        raise api.fail(f"could not read the pull requests of {api.repository}", exc) from None
    if not pulls or not plan.head:
        return plan
    pr = pulls[0]
    plan.number, plan.url = pr.number, pr.html_url
    plan.entries = parse_manifest(pr.body or "")
    base_head = api.read_ref(api.branch)
    if base_head is not None:
        _carry(api, plan, base_head)
    return plan


def _carry(api: GitHubApi, plan: PullRequestPlan, base_head: str) -> None:
    """Which of the pull request's files the next commit keeps: those the base branch did not change
    since the covers branch forked from it (a post changed there drops its whole cover)."""
    from github import GithubException

    try:
        cmp = api.repo.compare(base_head, plan.head)
        merge_base = cmp.merge_base_commit.sha
        changed = [f.filename for f in cmp.files]
    except GithubException as exc:
        raise api.fail(f"could not compare {plan.base} with {plan.branch}", exc) from None
    if len(changed) >= 300:  # the compare API lists only the first 300 files
        changed = sorted({p for e in plan.entries for p in (e.get("post"), e.get("image"), e.get("removed")) if p}
                         | set(changed))
    at_mb = api.blobs_at(api.repo.get_git_commit(merge_base).tree.sha, changed)
    at_base = api.blobs_at(api.repo.get_git_commit(base_head).tree.sha, changed)
    conflicted = {p for p in changed if at_mb[p] != at_base[p]}
    groups = {e["post"]: {p for p in (e.get("post"), e.get("image"), e.get("removed")) if p} for e in plan.entries}
    dropped = {post for post, files in groups.items() if files & conflicted}
    for post in sorted(dropped):
        plan.notes.append(f"{post} changed on {plan.base} after its cover was proposed; "
                          "its cover is left out of the pull request (a later run makes a new one)")
    drop_paths = {p for post in dropped for p in groups[post]} | conflicted
    plan.entries = [e for e in plan.entries if e["post"] not in dropped]
    plan.carried = [p for p in changed if p not in drop_paths]
    plan.dropped = sorted(drop_paths)
    at_head = api.blobs_at(api.repo.get_git_commit(plan.head).tree.sha, plan.carried)
    for e in plan.entries:
        sha = at_head.get(e["post"])
        if sha:
            plan.posts[e["post"]] = base64.b64decode(api.repo.get_git_blob(sha).content)


class PullRequestPublisher:
    """`commit: pull-request`: propose the covers in one pull request from the covers branch."""

    def __init__(self, api: GitHubApi, target: Target, *, deadline: float = PUBLISH_DEADLINE) -> None:
        if target.pull_request_branch == target.branch:
            raise SettingsError(f"pull-request-branch: {target.pull_request_branch!r} is the branch the pull request "
                               "would go into; name another branch")
        self.api = api
        self.target = target
        self.deadline = deadline
        self.check_deadline = CHECK_DEADLINE
        self.plan = PullRequestPlan(base=target.branch, branch=target.pull_request_branch)

    def prepare(self) -> list[str]:
        """Read the open pull request and put its posts into the workspace as the covers branch has
        them (atomically, like every post write), so the run does not make their covers again."""
        with overall_deadline(self.check_deadline, "reading the open pull request through GitHub's API"):
            self.plan = read_plan(self.api, self.target.pull_request_branch)
        workspace = self.target.workspace
        for rel, data in self.plan.posts.items():
            path = workspace / rel
            if not path.is_file():
                continue
            try:
                writer.replace(writer.safe_target(path, workspace), data)
            except (OSError, WriteError) as exc:
                raise PublishError(f"could not put {rel} into the workspace as the pull request has it: {exc}") from None
        return list(self.plan.notes)

    def preflight(self) -> str | None:
        with overall_deadline(self.check_deadline, "the write-access check through GitHub's API"):
            return self.api.can_write()

    def close(self) -> None:
        """The carried posts go back to the base branch's version (the checkout is the base branch)."""
        if self.plan.posts:
            restore_checkout(self.target.workspace, self.plan.posts)

    def publish(self, changes: Sequence[Change], message: str | None) -> Result:
        """Commit the run's covers to the covers branch (with what its open pull request already
        holds) and open or update the pull request; then the workspace is the base branch again."""
        if not changes:
            return Result(pull_request_number=self.plan.number, pull_request_url=self.plan.url)
        workspace = self.target.workspace
        with overall_deadline(self.deadline, "the pull request through GitHub's API"):  # one deadline for all of it
            result = self.api.commit(workspace, changes, message or default_message(changes),
                                     base_sha=self.target.base_sha, draft=self.draft)
            restore_left(workspace, changes, result)
            self._propose(changes, result)
        restore_checkout(workspace, [p for c in changes if c.post in result.committed for p in c.paths])
        if result.sha:
            result.log.append(f"pushed {len(result.committed)} post(s) to {self.plan.branch}: {result.sha}")
        if result.pull_request_url:
            result.notice = f"covers proposed in pull request #{result.pull_request_number}: {result.pull_request_url}"
        return result

    def draft(self, base_head: Any, todo: Sequence[Change], files: Files, now: dict[str, str | None]) -> Draft:
        """The next commit of the covers branch: the base branch's tree, the files the open pull
        request carries (as they are on the covers branch now), and ours. Parents: the covers
        branch (so the update is a fast-forward, never forced) and the base branch's head."""
        from github import InputGitTreeElement

        branch = self.plan.branch
        head_sha = self.api.read_ref(branch)
        parents = [base_head]
        elements = []
        if head_sha:
            head = self.api.repo.get_git_commit(head_sha)
            parents = [head] if head_sha == base_head.sha else [head, base_head]
            mine = {p for c in todo for p in c.paths}
            carried = [p for p in self._carried_now(head_sha) if p not in mine]
            for p, sha in self.api.blobs_at(head.tree.sha, carried).items():
                elements.append(InputGitTreeElement(p, self.api.file_mode(p), "blob", sha=sha))
        elements += [self.api.element(p, files) for c in todo for p in c.paths]
        return Draft(branch, head_sha, parents, base_head.tree, elements)

    def _carried_now(self, head_sha: str) -> list[str]:
        """What the next commit keeps of the covers branch as it is *now*: the files the open pull
        request carried when the run began, and every file someone else's push changed on the
        branch since (a reviewer's notes, an edited cover), except those left out on purpose. The
        branch is never rebuilt from the list read before the run alone: that dropped their files."""
        from github import GithubException

        carried = list(self.plan.carried)
        if head_sha == self.plan.head:
            return carried
        try:
            since = self.api.repo.compare(self.plan.head or self.api.branch, head_sha)
        except GithubException as exc:
            raise self.api.fail(f"could not read what changed on {self.plan.branch} during the run", exc) from None
        dropped = set(self.plan.dropped)
        carried += [f.filename for f in since.files if f.filename not in dropped and f.filename not in carried]
        return carried

    def _propose(self, changes: Sequence[Change], result: Result) -> None:
        """Open the pull request, or update the open one's list, when there is something to show."""
        pull = self.plan
        new = [entry_of(c) for c in changes if c.post in set(result.committed)]
        mine = {e["post"] for e in new}
        listed = [e for e in pull.entries if e["post"] not in mine] + new
        if listed and (result.sha or (pull.number and new)):
            self._open(listed, result)
        elif pull.number:
            result.pull_request_number, result.pull_request_url = pull.number, pull.url

    def _open(self, entries: list[dict[str, str]], result: Result) -> None:
        """Open the covers pull request, or update the open one's title and list."""
        from github import GithubException

        pull, api = self.plan, self.api
        sha = result.sha or pull.head
        title = (f"Cover image for {PurePosixPath(entries[0]['post']).name}" if len(entries) == 1
                 else f"Cover images for {len(entries)} posts")
        body = pull_request_body(entries, server_url=self.target.server_url, repository=api.repository, sha=sha,
                                 base=api.branch)
        try:
            if pull.number:
                pr = api.repo.get_pull(pull.number)
                api.write(pr.edit, title=title, body=body)
            else:
                pr = api.write(api.repo.create_pull, base=api.branch, head=pull.branch, title=title, body=body,
                               maintainer_can_modify=True)
        except GithubException as exc:
            reason = gh_message(exc).rstrip(".")
            raise PublishError(f"the covers are committed on branch {pull.branch} ({sha[:12]}), but the pull request "
                               f"could not be {'updated' if pull.number else 'opened'}: HTTP {exc.status} {reason}."
                               f"{_pull_request_hint(exc.status, reason)}", committed=sha) from None
        result.pull_request_number = pr.number
        result.pull_request_url = pr.html_url


def _pull_request_hint(status: int, msg: str) -> str:
    if status == 403 and "not permitted to create" in msg:
        return (" Allow it in the repository's Settings > Actions > General > Workflow permissions "
                "(\"Allow GitHub Actions to create and approve pull requests\"), or pass a `github-token` "
                "(PAT or GitHub App token) that may open pull requests.")
    if status in (401, 403, 404):
        return " (the token needs `permissions: pull-requests: write`)"
    return ""
