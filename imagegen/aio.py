"""The one way imagegen runs its event loop: `aio.run(coro)`, asyncio.run with threads that never hold the process.

Some work has to leave the event loop for a thread: Pillow (the card, `images.finish`) and the
parts of huggingface_hub that are synchronous (a partner's answer parsed, polled or downloaded in
`asyncio.to_thread`). A thread cannot be cancelled. With `asyncio.run` such a thread blocks the
end of the run twice over: the loop's shutdown waits for every default-executor thread
(`shutdown_default_executor`, without a bound on Python 3.11), and the interpreter joins every
`ThreadPoolExecutor` thread at exit. One library call that never returns (a Hub lookup on a
stalled connection) then keeps a finished run -- its summary and report not yet written -- alive
until the CI job's own timeout.

`run` gives the loop a `DaemonThreads` executor instead: each job runs on its own daemon thread,
and shutting the executor down does not wait for them. Every blocking call still has its own
timeout (see `providers/huggingface.py`); this is what makes the run end within its deadlines
whatever a worker thread is doing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable, Coroutine, TypeVar

__all__ = ["DaemonThreads", "run"]

T = TypeVar("T")


class DaemonThreads(concurrent.futures.ThreadPoolExecutor):
    """An executor whose every job runs on a fresh daemon thread, never joined.

    A subclass of ThreadPoolExecutor only because `loop.set_default_executor` accepts nothing
    else; none of the pool is used. The jobs are few (bounded by the run's concurrency) and
    short, except the one that hangs, which is the point: it must not hold anyone."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="imagegen")
        self._count = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> "concurrent.futures.Future[T]":
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def work() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task as is
                future.set_exception(exc)
            else:
                future.set_result(result)

        self._count += 1
        threading.Thread(target=work, name=f"imagegen-worker-{self._count}", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: a job still running is abandoned (its thread is a daemon)."""
        return None


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` with a `DaemonThreads` default executor: returns as soon as `main`
    does, whatever a thread started with `asyncio.to_thread` is still doing."""
    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(DaemonThreads())
        return runner.run(main)
