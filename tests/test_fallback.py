"""chain/fallback.py: a backend's models through a run (probe once, mark out, mark retired,
remembered in the state file), the logic the chain and the describer share."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from imagegen.chain.fallback import ModelFallback, Retired
from imagegen.chain.state import RETIRED_DAYS, State

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def test_models_in_order_and_the_current_one() -> None:
    f = ModelFallback("p", ["a", "b", "a", "c"], state=None, now=NOW)
    assert f.usable == ["a", "b", "c"] and f.current == "a"
    assert (f.next_after("a"), f.next_after("c"), f.next_after("gone")) == ("b", "", "a")
    f.mark_out("b", "quota")
    assert (f.next_after("a"), f.next_after("b")) == ("c", "c")  # in the configured order, out ones skipped
    assert f.remembered == [] and not f.is_proven()


def test_retired_is_out_remembered_and_the_next_model_must_prove_itself(tmp_path: Path) -> None:
    state = State(tmp_path / "s.json", now=NOW)
    f = ModelFallback("p", ["a", "b"], state=state, now=NOW, worked_last_run=True)
    assert f.is_proven("a") and not f.is_proven("b")
    r = f.retire("a", NOW, "410 gone")
    assert r == Retired("a", NOW + timedelta(days=RETIRED_DAYS), "b", reason="410 gone")
    assert f.current == "b" and f.is_out("a") and not f.is_proven()
    assert f.retire("a", NOW) is None  # a second call in flight to it counts once
    assert state.retired_until("p", "a", NOW) == NOW + timedelta(days=RETIRED_DAYS)
    assert f.retire("b", NOW) == Retired("b", NOW + timedelta(days=RETIRED_DAYS), "")
    assert f.usable == [] and f.current == ""


def test_the_state_file_keeps_a_retired_model_out_from_the_start(tmp_path: Path) -> None:
    state = State(tmp_path / "s.json", now=NOW)
    state.mark_retired("p", "a", NOW - timedelta(days=1))
    state.mark_retired("other", "b", NOW)  # another backend's: not ours
    f = ModelFallback("p", ["a", "b"], state=state, now=NOW, worked_last_run=True)
    until = NOW + timedelta(days=RETIRED_DAYS - 1)
    assert f.remembered == [Retired("a", until, "b", remembered=True)]
    assert f.usable == ["b"] and f.out == {"a": f"retired (remembered until {until:%Y-%m-%d})"}
    assert f.is_proven("b")  # it worked last run: its first usable model starts proven
    later = ModelFallback("p", ["a", "b"], state=state, now=until)  # the memory ran out: asked again
    assert later.usable == ["a", "b"] and later.remembered == []


def test_mark_out_is_for_the_run_only(tmp_path: Path) -> None:
    state = State(tmp_path / "s.json", now=NOW)
    f = ModelFallback("p", ["a", "b"], state=state, now=NOW)
    assert f.mark_out("a", "quota") and not f.mark_out("a", "quota")
    assert f.current == "b" and f.out == {"a": "quota"} and state.retired == {}


def test_until_a_model_answered_one_caller_asks_and_the_others_wait_for_its_answer() -> None:
    f = ModelFallback("p", ["a"], state=None, now=NOW)
    in_flight, most, calls = 0, 0, 0

    async def ask() -> str:
        nonlocal in_flight, most, calls
        calls += 1
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0)  # yield: the others run meanwhile
        in_flight -= 1
        return "answer"

    async def go() -> list[str | None]:
        return await asyncio.gather(*(f.call("a", ask) for _ in range(6)))

    assert asyncio.run(go()) == ["answer"] * 6
    assert calls == 6 and f.is_proven("a")
    assert most > 1  # after the probe, everyone at once
    # ... but the first call went alone: a fresh backend shows it
    g = ModelFallback("p", ["a"], state=None, now=NOW)
    starts: list[int] = []

    async def ask_and_fail() -> str:
        starts.append(len(starts))
        await asyncio.sleep(0)  # yield: the others run meanwhile
        g.mark_out("a", "quota")
        raise RuntimeError("quota")

    async def go2() -> list[object]:
        return await asyncio.gather(*(g.call("a", ask_and_fail) for _ in range(5)), return_exceptions=True)

    results = asyncio.run(go2())
    assert starts == [0]  # one call learned it for everyone
    assert sum(isinstance(r, RuntimeError) for r in results) == 1 and results.count(None) == 4


def test_a_stopped_backend_wakes_its_waiters_with_nothing() -> None:
    f = ModelFallback("p", ["a", "b"], state=None, now=NOW)

    async def bad_key() -> str:
        await asyncio.sleep(0)  # yield: the others run meanwhile
        f.stop("bad key")
        raise PermissionError("bad key")

    async def go() -> list[object]:
        return await asyncio.gather(*(f.call("a", bad_key) for _ in range(3)), return_exceptions=True)

    results = asyncio.run(go())
    assert results.count(None) == 2 and f.stopped == "bad key" and f.is_out("b")
    assert asyncio.run(f.call("b", bad_key)) is None


@pytest.mark.parametrize("worked", [False, True])
def test_a_success_proves_the_current_model(worked: bool) -> None:
    f = ModelFallback("p", ["a", "b"], state=None, now=NOW, worked_last_run=worked)
    f.succeeded()
    assert f.is_proven("a") and not f.is_proven("b")
    f.succeeded("b")
    assert f.is_proven("b")
