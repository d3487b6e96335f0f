"""Issue 9, measured: SIGKILL at random moments in a git repository, a plain folder and a git
worktree, with the offline provider and a slow provider on the loopback fake server. The full
campaign (100 kills per configuration) is bench/bench_kill.py; this is its small CI version."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_providers import FakeProviders
from tests.kill_harness import base_env, campaign


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["git", "plain", "worktree"])
def test_kills_with_the_local_provider_leave_nothing_inconsistent(tmp_path: Path, kind: str) -> None:
    res = campaign(tmp_path, kind, "local", kills=10, posts=60, seed=9, env=base_env(), max_covers=8)
    assert res.kills == 10
    assert res.ok, res.problems[:10]


@pytest.mark.slow
def test_kills_with_a_slow_provider_leave_nothing_inconsistent(tmp_path: Path) -> None:
    with FakeProviders(time_scale=0.02) as fp:
        fp.set_behaviour("together", latency=1.0)
        env = base_env(fp.env(names=["together"]))
        res = campaign(tmp_path, "worktree", "slow", kills=5, posts=40, seed=10, env=env, max_covers=6)
    assert res.kills == 5
    assert res.ok, res.problems[:10]
