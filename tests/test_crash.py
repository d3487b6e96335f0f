"""Crash safety: SIGKILL the CLI at many random moments during a ~200-post run.

After every kill the repo must be consistent: every changed post complete with an embed that
resolves, every other post byte-identical, no temp file in the work tree. The kill moments are
picked by counting the child's progress lines (no sleeping): the child keeps writing while the
parent reads, so each kill lands at an arbitrary point of a write.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, assert_consistent, commit_all, init_repo, snapshot

POSTS = 200


def _make_blog(repo: Path) -> None:
    init_repo(repo)
    for i in range(POSTS):
        series = ("alpha", "beta", "gamma")[i % 3]
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        path = repo / series / f"2025-{month:02d}-{day:02d}-post-{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        eol = "\r\n" if i % 7 == 0 else "\n"
        lines = ["---", f"title: Post number {i}", "# a comment line", f"date: 2025-{month:02d}-{day:02d}", "---",
                 f"# Post number {i}", "", f"Body of post {i}.", "", "---", "", "```", "---", "title: fake", "```"]
        text = eol.join(lines) + (eol if i % 5 else "")
        path.write_bytes(text.encode())
    commit_all(repo, "posts")


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_repo_consistent(tmp_path: Path) -> None:
    repo = tmp_path / "blog"
    _make_blog(repo)
    originals = snapshot(repo)
    rng = random.Random(20261124)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "INPUT_"))}
    cmd = [sys.executable, "-m", "imagegen", "run", str(repo), "--providers", "local",
           "--width", "64", "--height", "64", "--concurrency", "4"]
    kills = 0
    for attempt in range(40):
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        assert proc.stderr is not None
        budget = rng.randint(0, 12)
        finished = False
        for _ in range(budget):
            line = proc.stderr.readline()
            if not line:
                finished = True
                break
        if not finished and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=120)
        proc.stderr.close()
        assert_consistent(repo, originals)
        if finished and proc.returncode == 0:
            break
    assert kills >= 10, f"only {kills} kills landed"
    # a final uninterrupted run completes the job
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    assert_consistent(repo, originals)
    changed = [rel for rel, data in originals.items() if rel.endswith(".md") and (repo / rel).read_bytes() != data]
    assert len(changed) == POSTS


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_cleanly_with_report_and_state(tmp_path: Path, sig: int) -> None:
    """A cancelled workflow (SIGTERM) or Ctrl-C: new work stops, in-flight writes finish, the report
    and the state file are written, the exit status is non-zero, the repo is consistent."""
    import json

    repo = tmp_path / "blog"
    _make_blog(repo)
    originals = snapshot(repo)
    report = tmp_path / "report.json"
    state = tmp_path / "state.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "INPUT_"))}
    cmd = [sys.executable, "-m", "imagegen", "run", str(repo), "--providers", "local", "--width", "64",
           "--height", "64", "--report", str(report), "--state-file", str(state)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stderr is not None and proc.stdout is not None
    seen = 0
    while seen < 3:  # wait until covers are being written, then signal
        line = proc.stderr.readline()
        assert line, "the run ended before it could be interrupted"
        seen += line.startswith(b"generated ")
    proc.send_signal(sig)
    err = proc.stderr.read().decode()
    out = proc.stdout.read().decode()
    proc.stderr.close()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 130
    # said in a few lines, not one per pending post (the reader pressed Ctrl-C on 200 posts)
    assert err.count("interrupted: finishing the covers being written") == 1, err
    assert [ln for ln in err.splitlines() if ln.startswith("left for a later run")] == \
        [ln for ln in err.splitlines() if ln.startswith("left for a later run: ") and "(cancelled)" in ln][:1], err
    assert len(out.splitlines()) < 40 and "interrupted: the covers being written were finished" in out, out
    data = json.loads(report.read_text())
    assert data["cancelled"] is True
    assert 3 <= len(data["generated"]) < POSTS
    assert len(data["generated"]) + len(data["pending"]) == POSTS
    assert {p["reason"] for p in data["pending"]} == {"cancelled"}
    assert json.loads(state.read_text())["version"] == 1
    assert_consistent(repo, originals)
