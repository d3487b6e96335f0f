"""A fake GitHub REST API on 127.0.0.1, backed by a real bare git repository.

It serves the part of the API that `imagegen.publish` uses (the Git Data API and the repository),
with GitHub's semantics, implemented with git plumbing on the bare repository:

    GET   /repos/{o}/{r}                          the repository (private, default_branch)
    GET   /repos/{o}/{r}/git/ref/{ref}            a ref (also /git/refs/{ref})
    PATCH /repos/{o}/{r}/git/refs/{ref}           move it: fast-forward only unless force
                                                  (422 "Update is not a fast forward"); the update
                                                  is `git update-ref <ref> <new> <old>`, atomic
    GET   /repos/{o}/{r}/git/commits/{sha}        a commit
    POST  /repos/{o}/{r}/git/commits              commit-tree (author/committer default to the
                                                  token's bot, as GitHub does when they are unset)
    GET   /repos/{o}/{r}/git/trees/{sha}          ls-tree (?recursive=1)
    POST  /repos/{o}/{r}/git/trees                read-tree base_tree + update-index + write-tree
                                                  (an entry with "sha": null deletes the path)
    POST  /repos/{o}/{r}/git/blobs                hash-object -w
    GET   /repos/{o}/{r}/git/blobs/{sha}          cat-file

    POST  /repos/{o}/{r}/git/refs                 create a ref (422 "Reference already exists")
    GET   /repos/{o}/{r}/compare/{base}...{head}  merge base, ahead/behind, files changed on head
    GET   /repos/{o}/{r}/pulls                    ?state=&head=owner:branch&base= filters
    POST  /repos/{o}/{r}/pulls                    open one (422 when head has no commits over
                                                  base, or one is open already; 403 when Actions
                                                  may not open pull requests)
    GET   /repos/{o}/{r}/pulls/{n}, PATCH /repos/{o}/{r}/pulls/{n}   read, edit title/body/state

Branch protection: `gh.protect("main")` makes every update of that branch through the API answer
422 with GitHub's message for a classic protected branch ("Protected branch update failed for
refs/heads/main."), `gh.protect("main", ruleset=True)` with a ruleset's ("Repository rule
violations found ... Changes must be made through a pull request."), readable before any update
through GET /rules/branches/{branch} and GET /rulesets/42 (`gh.ruleset_bypass`: never, always, ...,
GitHub's current_user_can_bypass); `gh.protect_pushes("main")`
installs a pre-receive hook in the bare repository so a git push is refused the way GitHub refuses
it (`! [remote rejected] main -> main (protected branch hook declined)`, GH006).
`gh.actions_can_open_pull_requests = False`: creating a pull request answers 403 "GitHub Actions
is not permitted to create or approve pull requests." (the repository setting).

Failures: `gh.inject("PATCH", r"/git/refs/", 502, apply=True)` answers the next matching request
with that status, after applying it (apply=True: the lost answer of an applied update) or
instead of it.

Tokens: `FakeGitHub(tokens={"t-write": "write", "t-read": "read"})`. Unknown tokens get 401;
read-only ones get 403 "Resource not accessible by integration" on every write, like GITHUB_TOKEN
with `permissions: contents: read`.

Hooks for races: `gh.before_ref_update.append(fn)` runs `fn(gh)` (once, first in first out) when the
next PATCH of a ref arrives, before it is applied: use `gh.commit_files(...)` in it to move the
branch between our read and our update. `gh.requests` records (method, path, json body).

`prefix="/api/v3"` serves under a path prefix, like GitHub Enterprise Server.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
ZERO = "0" * 40


class _HTTPError(Exception):
    """An error answer as GitHub writes it: `message`, and for a 422 the reasons in `errors`
    (`{"message": "Validation Failed", "errors": [{"message": "A pull request already exists ..."}]}`)."""

    def __init__(self, status: int, message: str, *, errors: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}


@dataclass
class Request:
    method: str
    path: str
    body: Any
    token: str
    at: float = 0.0
    """time.time() when it arrived (the image benchmark's "first request")."""


class FakeGitHub:
    def __init__(self, bare: Path, *, owner: str = "octo", name: str = "blog", private: bool = False,
                 default_branch: str = "main", tokens: dict[str, str] | None = None, prefix: str = "") -> None:
        self.bare = Path(bare)
        self.owner = owner
        self.name = name
        self.private = private
        self.default_branch = default_branch
        self.tokens = dict(tokens or {"test-token": "write"})
        self.prefix = prefix.rstrip("/")
        self.before_ref_update: list[Callable[["FakeGitHub"], None]] = []
        self.protected: dict[str, str] = {}
        self.actions_can_open_pull_requests = True
        self.ruleset_bypass = "never"
        self.pulls: list[dict[str, Any]] = []
        self.injected: list[tuple[str, str, int, str, bool]] = []
        self.stalls: list[tuple[str, str]] = []
        self.released = threading.Event()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def url(self) -> str:
        """The API base URL (what GITHUB_API_URL is set to)."""
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def start(self) -> "FakeGitHub":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-github", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeGitHub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ git helpers (also for tests)

    def git(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
        r = subprocess.run(["git", "--git-dir", str(self.bare), *args], input=input, capture_output=True, env=full_env)
        if r.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout.decode("utf-8", errors="surrogateescape")

    def head(self, branch: str | None = None) -> str:
        return self.git("rev-parse", f"refs/heads/{branch or self.default_branch}").strip()

    def read(self, path: str, rev: str | None = None) -> bytes:
        rev = rev or f"refs/heads/{self.default_branch}"
        r = subprocess.run(["git", "--git-dir", str(self.bare), "cat-file", "blob", f"{rev}:{path}"], capture_output=True)
        if r.returncode != 0:
            raise FileNotFoundError(path)
        return r.stdout

    def exists(self, path: str, rev: str | None = None) -> bool:
        try:
            self.read(path, rev)
            return True
        except FileNotFoundError:
            return False

    def commit_files(self, files: dict[str, bytes | None], message: str = "someone else's commit",
                     branch: str | None = None) -> str:
        """Commit `files` (None deletes) on top of the branch, like another push would."""
        ref = f"refs/heads/{branch or self.default_branch}"
        old = self.git("rev-parse", ref).strip()
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.git("read-tree", f"{old}^{{tree}}", env=env)
            for path, data in files.items():
                if data is None:
                    self.git("update-index", "--index-info", input=f"0 {ZERO}\t{path}\n".encode(), env=env)
                else:
                    sha = self.git("hash-object", "-w", "--stdin", input=data).strip()
                    self.git("update-index", "--add", "--cacheinfo", f"100644,{sha},{path}", env=env)
            tree = self.git("write-tree", env=env).strip()
        new = self.git("commit-tree", tree, "-p", old, "-m", message, env=_ident("someone", "someone@example.invalid")).strip()
        self.git("update-ref", ref, new, old)
        return new

    # ------------------------------------------------------------------ protection, failures

    CLASSIC_PROTECTION = "Protected branch update failed for refs/heads/{branch}."
    RULESET = "Repository rule violations found\n\nChanges must be made through a pull request.\n\n"

    def protect(self, branch: str, *, ruleset: bool = False) -> None:
        self.protected[branch] = self.RULESET if ruleset else self.CLASSIC_PROTECTION.format(branch=branch)

    def protect_pushes(self, branch: str) -> None:
        hook = self.bare / "hooks" / "pre-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(
            "#!/bin/sh\n"
            "while read old new ref; do\n"
            f"  if [ \"$ref\" = \"refs/heads/{branch}\" ]; then\n"
            f"    echo 'error: GH006: Protected branch update failed for refs/heads/{branch}.' >&2\n"
            "    echo 'error: Changes must be made through a pull request.' >&2\n"
            "    exit 1\n"
            "  fi\n"
            "done\n")
        hook.chmod(0o755)

    def inject(self, method: str, path_pattern: str, status: int, message: str = "Server Error", *,
               apply: bool = False, errors: list[dict[str, str]] | None = None,
               headers: dict[str, str] | None = None) -> None:
        """The next matching request gets this error (after doing its work when `apply`), with
        GitHub's `errors` list and extra headers (`Retry-After`) when given."""
        self.injected.append((method, path_pattern, status, message, apply, errors, headers))

    def stall(self, method: str, path_pattern: str) -> None:
        """The next matching request gets no answer: the handler holds the connection open,
        silent, until `stop()` (a stalled GitHub, for the overall publish deadline)."""
        self.stalls.append((method, path_pattern))

    def _take_stall(self, method: str, path: str) -> bool:
        with self._lock:
            for i, (m, pat) in enumerate(self.stalls):
                if m == method and re.search(pat, path):
                    del self.stalls[i]
                    return True
        return False

    def _take_injected(self, method: str, path: str) -> tuple[_HTTPError, bool] | None:
        with self._lock:
            for i, (m, pat, status, message, apply, errors, headers) in enumerate(self.injected):
                if m == method and re.search(pat, path):
                    del self.injected[i]
                    return _HTTPError(status, message, errors=errors, headers=headers), apply
        return None

    # ------------------------------------------------------------------ the API

    def _obj_url(self, kind: str, rest: str) -> str:
        return f"{self.url}/repos/{self.full_name}/git/{kind}/{rest}"

    def _commit_json(self, sha: str) -> dict[str, Any]:
        try:
            raw = self.git("cat-file", "commit", sha)
        except RuntimeError:
            raise _HTTPError(404, "Not Found") from None
        header, _, message = raw.partition("\n\n")
        tree = ""
        parents: list[str] = []
        people: dict[str, dict[str, str]] = {}
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key in ("author", "committer"):
                m = re.match(r"(.*) <(.*)> (\d+) ([+-]\d{4})", value)
                if m:
                    people[key] = {"name": m.group(1), "email": m.group(2), "date": "2026-01-01T00:00:00Z"}
        return {
            "sha": sha,
            "url": self._obj_url("commits", sha),
            "html_url": f"https://github.invalid/{self.full_name}/commit/{sha}",
            "message": message.rstrip("\n"),
            "tree": {"sha": tree, "url": self._obj_url("trees", tree)},
            "parents": [{"sha": p, "url": self._obj_url("commits", p)} for p in parents],
            "author": people.get("author", {}),
            "committer": people.get("committer", {}),
            "verification": {"verified": False, "reason": "unsigned"},
        }

    def _tree_json(self, sha: str, recursive: bool) -> dict[str, Any]:
        args = ["ls-tree", "-z", "-l"] + (["-r", "-t"] if recursive else []) + [sha]
        try:
            out = self.git(*args)
        except RuntimeError:
            raise _HTTPError(404, "Not Found") from None
        entries = []
        for item in out.split("\0"):
            if not item:
                continue
            meta, _, path = item.partition("\t")
            mode, typ, osha, size = meta.split(None, 3)
            e: dict[str, Any] = {"path": path, "mode": mode, "type": typ, "sha": osha,
                                 "url": self._obj_url(typ + "s", osha)}
            if typ == "blob":
                e["size"] = int(size.strip())
            entries.append(e)
        return {"sha": sha, "url": self._obj_url("trees", sha), "tree": entries, "truncated": False}

    def _ref_json(self, ref: str) -> dict[str, Any]:
        try:
            sha = self.git("rev-parse", "--verify", "-q", f"refs/{ref}").strip()
        except RuntimeError:
            raise _HTTPError(404, "Not Found") from None
        return {"ref": f"refs/{ref}", "node_id": "x", "url": self._obj_url("refs", ref),
                "object": {"sha": sha, "type": "commit", "url": self._obj_url("commits", sha)}}

    def _handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, token: str) -> tuple[int, Any]:
        level = self.tokens.get(token)
        if level is None:
            raise _HTTPError(401, "Bad credentials")
        base = f"/repos/{self.full_name}"
        if path == base and method == "GET":
            return 200, {"id": 1, "name": self.name, "full_name": self.full_name, "private": self.private,
                         "default_branch": self.default_branch, "url": f"{self.url}{base}",
                         "owner": {"login": self.owner}}
        if path.startswith(base + "/rules/branches/") and method == "GET":
            branch = unquote(path[len(base + "/rules/branches/"):])
            if self.protected.get(branch) != self.RULESET:
                return 200, []
            return 200, [{"type": "pull_request", "ruleset_source_type": "Repository",
                          "ruleset_source": self.full_name, "ruleset_id": 42,
                          "parameters": {"required_approving_review_count": 1}}]
        if path == base + "/rulesets/42" and method == "GET":
            return 200, {"id": 42, "name": "protect main", "target": "branch", "enforcement": "active",
                         "current_user_can_bypass": self.ruleset_bypass}
        if path.startswith(base + "/pulls"):
            return self._pulls(method, path[len(base + "/pulls"):], query, body, level)
        if path.startswith(base + "/compare/") and method == "GET":
            return 200, self._compare(unquote(path[len(base + "/compare/"):]))
        if not path.startswith(base + "/git/"):
            raise _HTTPError(404, "Not Found")
        rest = path[len(base) + len("/git/"):]
        kind, _, arg = rest.partition("/")
        arg = unquote(arg)
        if method != "GET" and level != "write":
            raise _HTTPError(403, "Resource not accessible by integration")
        if kind in ("ref", "refs") and method == "GET" and arg:
            return 200, self._ref_json(arg)
        if kind == "refs" and method == "PATCH" and arg:
            return self._update_ref(arg, body)
        if kind == "refs" and method == "POST" and not arg:
            return self._create_ref(body)
        if kind == "commits" and method == "GET":
            return 200, self._commit_json(arg)
        if kind == "commits" and method == "POST":
            return 201, self._create_commit(body)
        if kind == "trees" and method == "GET":
            return 200, self._tree_json(arg, query.get("recursive", ["0"])[0] not in ("0", "false", ""))
        if kind == "trees" and method == "POST":
            return 201, self._create_tree(body)
        if kind == "blobs" and method == "POST":
            return 201, self._create_blob(body)
        if kind == "blobs" and method == "GET":
            try:
                data = subprocess.run(["git", "--git-dir", str(self.bare), "cat-file", "blob", arg],
                                      capture_output=True, check=True).stdout
            except subprocess.CalledProcessError:
                raise _HTTPError(404, "Not Found") from None
            return 200, {"sha": arg, "size": len(data), "encoding": "base64",
                         "content": base64.b64encode(data).decode(), "url": self._obj_url("blobs", arg)}
        raise _HTTPError(404, "Not Found")

    def _create_blob(self, body: dict[str, Any]) -> dict[str, Any]:
        content = body.get("content")
        if not isinstance(content, str):
            raise _HTTPError(422, "Invalid request: content is missing")
        data = base64.b64decode(content) if body.get("encoding") == "base64" else content.encode("utf-8")
        sha = self.git("hash-object", "-w", "--stdin", input=data).strip()
        return {"sha": sha, "url": self._obj_url("blobs", sha)}

    def _create_tree(self, body: dict[str, Any]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if body.get("base_tree"):
                try:
                    self.git("read-tree", body["base_tree"], env=env)
                except RuntimeError:
                    raise _HTTPError(422, "Invalid tree info: base_tree") from None
            for e in body.get("tree", []):
                path, mode = e["path"], e.get("mode", "100644")
                if "sha" in e and e["sha"] is None:
                    self.git("update-index", "--index-info", input=f"0 {ZERO}\t{path}\n".encode(), env=env)
                    continue
                if "content" in e:
                    sha = self.git("hash-object", "-w", "--stdin", input=e["content"].encode("utf-8")).strip()
                else:
                    sha = e["sha"]
                    if self.git("cat-file", "-t", sha).strip() != "blob":
                        raise _HTTPError(422, "tree.sha is not a blob")
                self.git("update-index", "--add", "--cacheinfo", f"{mode},{sha},{path}", env=env)
            tree = self.git("write-tree", env=env).strip()
        return self._tree_json(tree, False)

    def _create_commit(self, body: dict[str, Any]) -> dict[str, Any]:
        author = body.get("author") or {"name": BOT_NAME, "email": BOT_EMAIL}
        committer = body.get("committer") or {"name": BOT_NAME, "email": BOT_EMAIL}
        env = {"GIT_AUTHOR_NAME": author["name"], "GIT_AUTHOR_EMAIL": author["email"],
               "GIT_COMMITTER_NAME": committer["name"], "GIT_COMMITTER_EMAIL": committer["email"]}
        args = ["commit-tree", body["tree"]]
        for p in body.get("parents", []):
            args += ["-p", p]
        try:
            sha = self.git(*args, input=body.get("message", "").encode("utf-8"), env=env).strip()
        except RuntimeError:
            raise _HTTPError(422, "Invalid tree or parent") from None
        return self._commit_json(sha)

    def _check_protection(self, ref: str) -> None:
        branch = ref[len("heads/"):] if ref.startswith("heads/") else ref
        if branch in self.protected:
            if self.protected[branch] == self.RULESET and self.ruleset_bypass in ("always", "exempt"):
                return  # the token is a bypass actor of the ruleset
            raise _HTTPError(422, self.protected[branch])

    def _create_ref(self, body: dict[str, Any]) -> tuple[int, Any]:
        ref, sha = str(body.get("ref", "")), str(body.get("sha", ""))
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise _HTTPError(422, "Reference name must start with 'refs/' and have at least two slashes.")
        self._check_protection(ref[len("refs/"):])
        try:
            self.git("cat-file", "-e", f"{sha}^{{commit}}")
        except RuntimeError:
            raise _HTTPError(422, "Object does not exist") from None
        try:
            self.git("update-ref", ref, sha, ZERO)
        except RuntimeError:
            raise _HTTPError(422, "Reference already exists") from None
        return 201, self._ref_json(ref[len("refs/"):])

    def _compare(self, spec: str) -> dict[str, Any]:
        base, sep, head = spec.partition("...")
        if not sep:
            raise _HTTPError(404, "Not Found")
        try:
            b = self.git("rev-parse", "--verify", "-q", f"{base}^{{commit}}").strip()
            h = self.git("rev-parse", "--verify", "-q", f"{head}^{{commit}}").strip()
            mb = self.git("merge-base", b, h).strip()
        except RuntimeError:
            raise _HTTPError(404, "Not Found") from None
        files = []
        out = self.git("diff", "--name-status", "-z", "--no-renames", mb, h)
        parts = [p for p in out.split("\0") if p]
        statuses = {"A": "added", "M": "modified", "D": "removed", "T": "changed"}
        for status, name in zip(parts[0::2], parts[1::2]):
            sha = ZERO if status == "D" else self.git("rev-parse", f"{h}:{name}").strip()
            files.append({"filename": name, "status": statuses.get(status[0], "modified"), "sha": sha})
        ahead = int(self.git("rev-list", "--count", f"{b}..{h}").strip())
        behind = int(self.git("rev-list", "--count", f"{h}..{b}").strip())
        status = "identical" if b == h else "ahead" if not behind else "behind" if not ahead else "diverged"
        return {"url": f"{self.url}/repos/{self.full_name}/compare/{spec}", "status": status,
                "ahead_by": ahead, "behind_by": behind, "total_commits": ahead,
                "base_commit": {"sha": b, "url": f"{self.url}/repos/{self.full_name}/commits/{b}"},
                "merge_base_commit": {"sha": mb, "url": f"{self.url}/repos/{self.full_name}/commits/{mb}"},
                "commits": [], "files": files[:300]}

    def _pull_json(self, pr: dict[str, Any]) -> dict[str, Any]:
        head_ref = f"refs/heads/{pr['head']}"
        head_sha = self.git("rev-parse", "--verify", "-q", head_ref).strip() if self._has_ref(head_ref) else pr["head_sha"]
        return {"number": pr["number"], "id": pr["number"], "state": pr["state"], "title": pr["title"],
                "body": pr["body"], "merged": False,
                "url": f"{self.url}/repos/{self.full_name}/pulls/{pr['number']}",
                "html_url": f"https://github.invalid/{self.full_name}/pull/{pr['number']}",
                "head": {"ref": pr["head"], "sha": head_sha, "label": f"{self.owner}:{pr['head']}",
                         "repo": {"full_name": self.full_name}},
                "base": {"ref": pr["base"], "sha": self.head(pr["base"]), "label": f"{self.owner}:{pr['base']}",
                         "repo": {"full_name": self.full_name}},
                "maintainer_can_modify": pr.get("maintainer_can_modify", False)}

    def _has_ref(self, ref: str) -> bool:
        return subprocess.run(["git", "--git-dir", str(self.bare), "rev-parse", "--verify", "-q", ref],
                              capture_output=True).returncode == 0

    def _pulls(self, method: str, rest: str, query: dict[str, list[str]], body: Any, level: str) -> tuple[int, Any]:
        if method != "GET" and level != "write":
            raise _HTTPError(403, "Resource not accessible by integration")
        if rest in ("", "/") and method == "GET":
            state = query.get("state", ["open"])[0]
            head = query.get("head", [""])[0]
            base = query.get("base", [""])[0]
            out = [p for p in self.pulls if (state == "all" or p["state"] == state)
                   and (not head or f"{self.owner}:{p['head']}" == head) and (not base or p["base"] == base)]
            return 200, [self._pull_json(p) for p in out]
        if rest in ("", "/") and method == "POST":
            if not self.actions_can_open_pull_requests:
                raise _HTTPError(403, "GitHub Actions is not permitted to create or approve pull requests.")
            head, base = str(body.get("head", "")), str(body.get("base", ""))
            head = head.split(":", 1)[1] if ":" in head else head
            if not self._has_ref(f"refs/heads/{head}") or not self._has_ref(f"refs/heads/{base}"):
                raise _HTTPError(422, "Validation Failed")
            if any(p["state"] == "open" and p["head"] == head and p["base"] == base for p in self.pulls):
                raise _HTTPError(422, "Validation Failed", errors=[{
                    "resource": "PullRequest", "code": "custom",
                    "message": f"A pull request already exists for {self.owner}:{head}."}])
            if self.git("rev-list", "--count", f"refs/heads/{base}..refs/heads/{head}").strip() == "0":
                raise _HTTPError(422, "Validation Failed", errors=[{
                    "resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"}])
            pr = {"number": len(self.pulls) + 1, "state": "open", "title": str(body.get("title", "")),
                  "body": str(body.get("body") or ""), "head": head, "base": base, "head_sha": "",
                  "maintainer_can_modify": bool(body.get("maintainer_can_modify", False))}
            self.pulls.append(pr)
            return 201, self._pull_json(pr)
        m = re.fullmatch(r"/(\d+)", rest)
        if not m or not 1 <= int(m.group(1)) <= len(self.pulls):
            raise _HTTPError(404, "Not Found")
        pr = self.pulls[int(m.group(1)) - 1]
        if method == "GET":
            return 200, self._pull_json(pr)
        if method == "PATCH":
            for key in ("title", "body", "state"):
                if key in body:
                    pr[key] = str(body[key])
            return 200, self._pull_json(pr)
        raise _HTTPError(404, "Not Found")

    def _update_ref(self, ref: str, body: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            hooks, self.before_ref_update = self.before_ref_update[:1], self.before_ref_update[1:]
        for hook in hooks:
            hook(self)
        self._check_protection(ref)
        new = body.get("sha", "")
        force = bool(body.get("force", False))
        try:
            old = self.git("rev-parse", "--verify", "-q", f"refs/{ref}").strip()
        except RuntimeError:
            raise _HTTPError(422, "Reference does not exist") from None
        try:
            self.git("cat-file", "-e", f"{new}^{{commit}}")
        except RuntimeError:
            raise _HTTPError(422, "Object does not exist") from None
        if not force:
            r = subprocess.run(["git", "--git-dir", str(self.bare), "merge-base", "--is-ancestor", old, new])
            if r.returncode != 0:
                raise _HTTPError(422, "Update is not a fast forward")
        try:
            self.git("update-ref", f"refs/{ref}", new, old)
        except RuntimeError:
            raise _HTTPError(422, "Update is not a fast forward") from None
        return 200, self._ref_json(ref)

    # ------------------------------------------------------------------ HTTP plumbing

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                path = parts.path
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization", "")
                token = auth.split(None, 1)[1] if " " in auth else ""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = None
                fake.requests.append(Request(method, path, body, token, time.time()))
                try:
                    if fake.prefix:
                        if not path.startswith(fake.prefix + "/"):
                            raise _HTTPError(404, "Not Found")
                        path = path[len(fake.prefix):]
                    if body is None:
                        raise _HTTPError(400, "Problems parsing JSON")
                    if fake._take_stall(method, path):
                        fake.released.wait(30)  # bounded: a test that forgets stop() still ends
                        return
                    injected = fake._take_injected(method, path)
                    if injected is not None and not injected[1]:
                        raise injected[0]
                    status, data = fake._handle(method, path, parse_qs(parts.query), body, token)
                    if injected is not None:
                        raise injected[0]
                    extra: dict[str, str] = {}
                except _HTTPError as exc:
                    status, data = exc.status, {"message": exc.message,
                                                "documentation_url": "https://docs.github.com/rest"}
                    if exc.errors:
                        data["errors"] = exc.errors
                    extra = exc.headers
                except Exception as exc:  # a bug in the fake: answer 500 rather than hang the client
                    status, data, extra = 500, {"message": f"fake github: {type(exc).__name__}: {exc}"}, {}
                payload = json.dumps(data).encode("utf-8")
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def do_PATCH(self) -> None:  # noqa: N802
                self._serve("PATCH")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        return Handler


def _ident(name: str, email: str) -> dict[str, str]:
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}


def make_origin(tmp: Path, files: dict[str, bytes], *, branch: str = "main") -> Path:
    """A bare repository with one commit holding `files`, that allows fetching any commit by id
    (as GitHub does, so a shallow clone can fetch an older `before` commit)."""
    bare = tmp / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(bare)], check=True)
    subprocess.run(["git", "--git-dir", str(bare), "config", "uploadpack.allowAnySHA1InWant", "true"], check=True)
    gh = FakeGitHub(bare, default_branch=branch)
    with tempfile.TemporaryDirectory() as t:
        env = {"GIT_INDEX_FILE": str(Path(t) / "index")}
        for path, data in files.items():
            sha = gh.git("hash-object", "-w", "--stdin", input=data).strip()
            gh.git("update-index", "--add", "--cacheinfo", f"100644,{sha},{path}", env=env)
        tree = gh.git("write-tree", env=env).strip()
    commit = gh.git("commit-tree", tree, "-m", "initial", env=_ident("author", "author@example.invalid")).strip()
    gh.git("update-ref", f"refs/heads/{branch}", commit)
    return bare
