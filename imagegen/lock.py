"""Locks between imagegen processes: one run at a time in a repository, one writer of a state file.

Two runs in one checkout would each clean up what they take for the other's leftovers (a killed
run's images are removed before discovery) and write the same posts; two runs sharing a state
file would each save the copy they read at their start, the last one dropping the other's cached
prompts. Both are prevented here with `flock(2)` on a small lock file:

* the kernel releases the lock when the process dies, however it dies (kill -9, a lost runner),
  so a lock is never left stale and nobody has to delete one by hand;
* the file says who holds it (process id, host, command, since when), so a second process that
  waits in vain names the holder instead of hanging or failing without a reason;
* waiting is bounded: `acquire` polls with an injected `sleep` and gives up after `wait` seconds
  with `Busy`, a one-line error.

Usage::

    with hold(path, wait=30.0, what="the state file"):
        ...        # one process at a time

    lock = FileLock(path, what="this repository"); lock.try_acquire() -> bool; lock.release()
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from imagegen.clock import SystemClock
from imagegen.errors import BusyError
from imagegen.git import Git

__all__ = ["BusyError", "FileLock", "describe_holder", "hold", "repository_lock"]

POLL = 0.25
"""Seconds between two tries while another process holds the lock."""


def _holder_line() -> str:
    """What the lock file says about us (JSON, one line): read back by a waiting process."""
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:3])),
                       "since": SystemClock().now().strftime("%Y-%m-%dT%H:%M:%SZ")}) + "\n"


def describe_holder(path: Path) -> str:
    """'process 1234 on host (imagegen run, since 2026-...)' from a lock file, or a vaguer line."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read(4096).decode("utf-8", "replace"))
        where = f" on {data['host']}" if data.get("host") and data["host"] != socket.gethostname() else ""
        bits = ", ".join(str(b) for b in (data.get("command"), f"since {data['since']}" if data.get("since") else "")
                         if b)
        return f"process {int(data['pid'])}{where}" + (f" ({bits})" if bits else "")
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


class FileLock:
    """An exclusive `flock` on `path` (created if missing). Not re-entrant; one holder per object."""

    def __init__(self, path: Path | str, *, what: str = "", remove: bool = False) -> None:
        """`what` names the thing protected in messages; `remove`: delete the lock file on release
        (for a lock file the user would otherwise find lying in their blog)."""
        self.path = Path(path)
        self.what = what or str(self.path)
        self.remove = remove
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it. OSError when the lock file cannot be made at all."""
        import fcntl

        if self._fd is not None:
            return True
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    return False
                raise
            # The previous holder may have removed the file after we opened it: then our lock is on
            # a file nobody else will ever open; start again on the one at `path` now.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, _holder_line().encode("utf-8"))
        self._fd = fd
        return True

    def acquire(self, wait: float, *, sleep: Callable[[float], None] = time.sleep,
                monotonic: Callable[[], float] = time.monotonic) -> None:
        """Take the lock, waiting at most `wait` seconds; BusyError names the holder."""
        start = monotonic()
        while not self.try_acquire():
            if monotonic() - start >= wait:
                raise self.busy(wait)
            sleep(POLL)

    def busy(self, waited: float) -> BusyError:
        return BusyError(f"{self.what} is in use by {describe_holder(self.path)} (lock file {str(self.path)!r}); "
                         f"waited {waited:g} s. Let that run finish, or stop it, and try again")

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if self.remove:
            with contextlib.suppress(OSError):
                os.unlink(self.path)  # while still holding it: a waiter re-checks the inode
        os.close(fd)


def repository_lock(repo: Path) -> FileLock:
    """The lock of one run in `repo`: `imagegen.lock` in its git directory (a worktree has its own),
    else a hidden `.imagegen.lock` at the root, removed again when the run ends."""
    git_dir = Git(repo).git_dir()
    if git_dir is not None:
        return FileLock(git_dir / "imagegen.lock", what=f"the repository {str(repo)!r}")
    return FileLock(repo / ".imagegen.lock", what=f"the folder {str(repo)!r}", remove=True)


@contextlib.contextmanager
def hold(path: Path | str, *, wait: float, what: str = "", remove: bool = False,
         sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """`with hold(path, wait=...)`: the lock for the block (see FileLock.acquire)."""
    lock = FileLock(path, what=what, remove=remove)
    lock.acquire(wait, sleep=sleep, monotonic=monotonic)
    try:
        yield
    finally:
        lock.release()
