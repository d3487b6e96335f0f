"""The one way imagegen runs git: a timeout on every command, typed errors, paths as bytes-safe text.

Every module that asks git something goes through `Git`: which files are tracked (references,
preflight), which changed since a ref (discover), the git directory (writer's scratch folder), and
the action's fetches, commits and pushes (publish, action.event). So a timeout, `safe.directory`
or `core.quotePath` is decided here once, and a failure always means the same thing: `GitError`
(git missing or failed, with git's last lines, redacted) or `GitTimeout` (a stalled fetch, a lock,
a credential prompt: git is never left waiting on a terminal, `GIT_TERMINAL_PROMPT=0`).

`trust_workspace(path)`: the action's container runs as root on a workspace owned by the runner's
user, which git refuses ("dubious ownership") unless `safe.directory` allows it. The action's entry
point calls it once, for its own workspace, and every git the process starts (through `Git` or not)
inherits it through git's `GIT_CONFIG_COUNT` environment (command-line scope, which git honours for
`safe.directory`); no config file is touched. The command line never calls it: on a user's machine
git's ownership check stays.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Sequence

from imagegen.errors import GitError, GitTimeout
from imagegen.redact import redact

__all__ = ["DEFAULT_TIMEOUT", "NETWORK_TIMEOUT", "Git", "GitError", "GitTimeout", "trust_workspace"]

DEFAULT_TIMEOUT = 60.0
"""Seconds a local git command may take (ls-files, diff, rev-parse on a large repository)."""
NETWORK_TIMEOUT = 300.0
"""Seconds a fetch or push may take."""


class Git:
    """git in one repository (any folder inside its work tree)."""

    def __init__(self, repo: Path | str, *, timeout: float = DEFAULT_TIMEOUT,
                 identity: tuple[str, str] | None = None) -> None:
        self.repo = Path(repo)
        self.timeout = timeout
        self.identity = identity
        """(name, email) for commands that make commits (the action's bot); None: git's own config."""

    def _cmd(self, args: Sequence[str]) -> list[str]:
        cmd = ["git", "-c", "core.quotePath=false"]
        if self.identity is not None:
            cmd += ["-c", f"user.name={self.identity[0]}", "-c", f"user.email={self.identity[1]}"]
        return cmd + ["-C", str(self.repo), *args]

    def run(self, *args: str, check: bool = True, input: bytes | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run `git ARGS`. Raises GitTimeout past the timeout, GitError when git cannot be run or
        (with `check`) exits non-zero; without `check` the caller reads the exit status."""
        limit = self.timeout if timeout is None else timeout
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        try:
            r = subprocess.run(self._cmd(args), capture_output=True, input=input, timeout=limit, env=env,
                               stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise GitTimeout(f"git {args[0] if args else ''} did not finish within {limit:g} s") from None
        except OSError as exc:
            raise GitError(f"git could not be run: {exc.strerror or exc}") from None
        if check and r.returncode != 0:
            raise GitError(f"git {args[0] if args else ''} failed: {self.stderr(r)}")
        return r

    def ok(self, *args: str, timeout: float | None = None) -> bool:
        """Whether `git ARGS` succeeds (a failure to run git, or a timeout, is False too)."""
        try:
            return self.run(*args, check=False, timeout=timeout).returncode == 0
        except GitError:
            return False

    def out(self, *args: str, timeout: float | None = None) -> str:
        """`git ARGS`'s output, stripped (GitError when it fails)."""
        return self.run(*args, timeout=timeout).stdout.decode("utf-8", "replace").strip()

    @staticmethod
    def stderr(r: subprocess.CompletedProcess[bytes]) -> str:
        """git's last three error lines, redacted, for a one-line message."""
        text = (r.stderr or b"").decode("utf-8", errors="replace").strip().splitlines()
        return redact(" / ".join(text[-3:]) or f"exit status {r.returncode}")

    @staticmethod
    def paths(out: bytes) -> list[str]:
        """`-z` output as paths (a non-UTF-8 name kept with surrogate escapes, as os.fsdecode does)."""
        return [os.fsdecode(p) for p in out.split(b"\0") if p]

    # ------------------------------------------------------------------ questions

    def is_repo(self) -> bool:
        return self.ok("rev-parse", "--git-dir")

    def git_dir(self) -> Path | None:
        """The git directory (a worktree's `.git` is a file naming it), or None without git. A plain
        `.git` folder at the repository's root is taken without running git."""
        dot = self.repo / ".git"
        if dot.is_dir() and not dot.is_symlink():
            return dot
        if not (dot.exists() or dot.is_symlink()):
            return None
        try:
            out = self.out("rev-parse", "--git-dir", timeout=min(self.timeout, 30))
        except GitError:
            return None
        if not out:
            return None
        d = Path(out) if os.path.isabs(out) else self.repo / out
        return d if d.is_dir() else None

    def ls_files(self, *, untracked: bool = True) -> list[str]:
        """Repo-relative paths git knows (tracked, plus untracked but not ignored)."""
        args = ["ls-files", "-z", "--cached"] + (["--others", "--exclude-standard"] if untracked else [])
        return self.paths(self.run(*args).stdout)

    def is_tracked(self, rel: str) -> bool:
        return self.ok("ls-files", "--error-unmatch", "--", rel)

    def commit_of(self, ref: str) -> str | None:
        """The commit a ref names, or None (no such ref, or not a git repository)."""
        if not ref or ref.startswith("-"):
            return None
        r = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
        return r.stdout.decode().strip() if r.returncode == 0 else None

    def changed_since(self, commit: str) -> set[str]:
        """Repo-relative paths changed since `commit`: committed, staged, unstaged and untracked
        files; deleted files left out."""
        out: set[str] = set()
        out.update(self.paths(self.run("diff", "--name-only", "--relative", "--diff-filter=d", "-z", commit, "--").stdout))
        out.update(self.paths(self.run("ls-files", "--others", "--exclude-standard", "-z", "--").stdout))
        return out


def trust_workspace(workspace: Path, environ: "os._Environ[str] | dict[str, str]" = os.environ) -> None:
    """Let every git this process starts use `workspace` although another user owns it (see the
    module docstring). Appends to git's GIT_CONFIG_* environment, never to a config file."""
    n = int(environ.get("GIT_CONFIG_COUNT", "0") or 0)
    for value in dict.fromkeys((str(workspace), str(workspace.resolve()))):
        environ[f"GIT_CONFIG_KEY_{n}"] = "safe.directory"
        environ[f"GIT_CONFIG_VALUE_{n}"] = value
        n += 1
    environ["GIT_CONFIG_COUNT"] = str(n)
