"""The overall deadline of publishing through GitHub's API: the only user of SIGALRM in imagegen.

Each request has its own timeout (`api.API_TIMEOUT`, for the connect and each read), but a server
that drips a byte every few seconds never trips it; this bounds the whole of a commit (and, for a
pull request, opening it too), so a stalled GitHub cannot hold the job until the runner's 6 h limit.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator

from imagegen.errors import PublishError

PUBLISH_DEADLINE = 600.0
"""Seconds one commit or pull request through the API may take in all."""


class _Deadline(BaseException):
    """Raised by the alarm. A BaseException, so no `except Exception` in PyGithub, requests or our
    own retry code (the ref update's "did it apply?" re-read) can swallow it and start over."""


@contextlib.contextmanager
def overall_deadline(seconds: float, what: str) -> Iterator[None]:
    """Bound the wall time of a block of blocking calls with SIGALRM: a raising handler makes
    the blocked socket read give up (PEP 475 retries a read only when the handler returns).
    Signals reach the main thread only; elsewhere (tests in threads) the block runs unbounded,
    still under the per-request timeout. Turns the alarm into one PublishError."""
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
