"""Model fallback: one backend's ordered models through a run. Shared by the chain (each image
provider's models) and the describer (its text models), so both learn the same way:

- **probe once**: until a model has answered once this run it gets one call at a time, so a bad
  key, a used-up quota or a retired model costs one call, not one per post in flight. The chain
  reads `is_proven()` to open a provider's slots; a simple caller goes through `call()`, where the
  other callers wait for the probe's answer. A backend the state file says worked on its last run
  starts with its first model proven.
- **mark out**: a model that cannot answer this run (a used-up quota, unavailable) is skipped for
  the rest of it (`mark_out`); a backend that cannot answer at all (a bad key) stops (`stop`).
- **mark retired**: a model that answered "retired / not served" is skipped and remembered in the
  state file for `state.RETIRED_DAYS` days (`retire`), so later runs make no call to it; models
  the state file remembers are out from the start (`remembered`).

What to tell the user is the caller's: `retire` and `remembered` return `Retired` facts, the
chain and the describer word them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Awaitable, Callable, Sequence, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.chain.state import State

__all__ = ["ModelFallback", "Retired"]

T = TypeVar("T")


@dataclass(frozen=True)
class Retired:
    """A model taken out as retired or not served."""

    model: str
    until: datetime | None
    """Remembered as retired until then (None: there is no state file)."""
    replacement: str
    """The next usable model ('' when none is left)."""
    remembered: bool = False
    """Known from the state file at the start of the run, not learned in it."""
    reason: str = ""


class ModelFallback:
    """The models of one backend (`key`: a provider's name, or the describer's state key) for one
    run. `usable` is the ordered list still worth a call; `current` is its first."""

    def __init__(self, key: str, models: Sequence[str], *, state: "State | None", now: datetime,
                 worked_last_run: bool = False) -> None:
        self.key = key
        self.state = state
        self.configured: tuple[str, ...] = tuple(dict.fromkeys(models))
        self.usable: list[str] = list(self.configured)
        self.out: dict[str, str] = {}
        """model -> why it is skipped for the rest of the run."""
        self.stopped = ""
        """Why the whole backend is out for the run ('' while it is not)."""
        self.proven: set[str] = set()
        self._probing: dict[str, asyncio.Future[None]] = {}
        self.remembered: list[Retired] = self._forget_remembered(now)
        if worked_last_run and self.usable:
            self.proven.add(self.usable[0])

    def _forget_remembered(self, now: datetime) -> list[Retired]:
        """Take out the models the state file remembers as retired; their notices, in order."""
        if self.state is None:
            return []
        gone = [(m, u) for m in self.usable if (u := self.state.retired_until(self.key, m, now)) is not None]
        for model, until in gone:
            self.usable.remove(model)
            self.out[model] = f"retired (remembered until {until:%Y-%m-%d})"
        return [Retired(model, until, self.current, remembered=True) for model, until in gone]

    # ------------------------------------------------------------------ reading

    @property
    def current(self) -> str:
        """The model to call now ('' when none is left)."""
        return self.usable[0] if self.usable else ""

    def next_after(self, model: str) -> str:
        """The first usable model configured after `model` ('' when none): what a caller moving
        on from `model` tries next."""
        later = self.configured[self.configured.index(model) + 1:] if model in self.configured else self.configured
        return next((m for m in later if m in self.usable), "")

    def is_out(self, model: str) -> bool:
        return bool(self.stopped) or model in self.out

    def is_proven(self, model: str | None = None) -> bool:
        """Whether `model` (default: the current one) answered once this run: it may take every
        caller at once."""
        return (model if model is not None else self.current) in self.proven

    # ------------------------------------------------------------------ learning

    def succeeded(self, model: str | None = None) -> None:
        """`model` (default: the current one) answered: it is proven for the run."""
        target = model if model is not None else self.current
        if target:
            self.proven.add(target)

    def mark_out(self, model: str, why: str) -> bool:
        """`model` is skipped for the rest of the run (not remembered). False if it already was."""
        if model in self.out:
            return False
        self.out[model] = why
        if model in self.usable:
            self.usable.remove(model)
        return True

    def retire(self, model: str, now: datetime, reason: str = "", *, remember: bool = True) -> Retired | None:
        """`model` is retired or not served: out for the run, remembered in the state file (unless
        `remember` is False: not served *now*). The next model must prove itself. None when it was
        out already (calls that were in flight to the same model count once)."""
        if model not in self.usable:
            return None
        self.usable.remove(model)
        self.out[model] = "retired"
        until = self.state.mark_retired(self.key, model, now) if self.state is not None and remember else None
        return Retired(model, until, self.current, reason=reason)

    def stop(self, why: str) -> None:
        """The whole backend is out for the run (a bad key): every waiting caller gives up."""
        self.stopped = self.stopped or why

    # ------------------------------------------------------------------ calling

    async def call(self, model: str, ask: Callable[[], Awaitable[T]]) -> T | None:
        """`await ask()` on `model`; until the model has answered once this run, one caller at a
        time (the probe) while the others wait for its answer. None when the model (or the whole
        backend) went out meanwhile. The probe's errors propagate to its own caller only."""
        while model not in self.proven:
            if self.is_out(model):
                return None
            probe = self._probing.get(model)
            if probe is not None:
                await asyncio.shield(probe)
                continue
            probe = asyncio.get_running_loop().create_future()
            self._probing[model] = probe
            try:
                answer = await ask()
                self.proven.add(model)
                return answer
            finally:
                del self._probing[model]
                probe.set_result(None)
        return await ask()
