"""SIGKILL at random moments during a run, and what the repository looks like afterwards.

Shared by the CI test (tests/test_kill.py, small) and the benchmark (bench/bench_kill.py, the full
100 kills per configuration whose numbers are in docs/measurements.md). For each configuration (a git
repository, a plain folder, a git worktree; the offline `local` provider or a slow provider on
the loopback fake server) it:

1. makes a blog of N posts;
2. starts the real CLI, reads its progress lines until a random number (0-20) of covers were
   reported written (the child keeps writing meanwhile, so the kill lands at an arbitrary point
   of some write), optionally waits a random few milliseconds more (benchmark only), and sends
   SIGKILL;
3. after every kill checks the repository: each post byte-identical or complete (frontmatter
   whole, image fields set, every embed resolving to an existing image), and no temp file among
   the posts (the scratch folder in the git directory, or the one hidden `.imagegen-tmp/` at the
   root of a plain folder, is where temp files belong and what the next run empties);
4. whenever a run gets to finish, checks that every post got its cover, starts a fresh blog;
5. at the end lets a run complete, then checks: every post complete, no orphaned image (an image
   nothing refers to), no temp file anywhere outside the git directory, and that one more run
   changes nothing at all.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from tests.helpers import ROOT, commit_all, embeds, git, init_repo, snapshot

KINDS = ("git", "plain", "worktree")
PROVIDERS = ("local", "slow")
TMP_MARK = ".imagegen-tmp-"


@dataclass
class Result:
    kind: str
    provider: str
    kills: int = 0
    inconsistent: int = 0
    """Kills after which some post was neither untouched nor complete."""
    temps_among_posts: int = 0
    """Kills after which a temp file lay outside the git directory and the hidden scratch folder."""
    finished_runs: int = 0
    """Runs that finished before they could be killed (the blog is then started afresh)."""
    final_complete: bool = False
    """The run after the last kill completed every post, with no orphan and no temp file left."""
    rerun_unchanged: bool = False
    """The run after that changed nothing at all."""
    covered: int = 0
    """Posts that got their cover during the kill phase (shows the kills landed mid-run)."""
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (self.inconsistent == 0 and self.temps_among_posts == 0 and self.final_complete
                and self.rerun_unchanged)


def make_blog(root: Path, kind: str, posts: int, generation: int = 0) -> Path:
    """A blog of `posts` posts as a git repo, a plain folder or a git worktree; returns its root."""
    base = root / f"{kind}-{generation}"
    if base.exists():
        shutil.rmtree(base)
    repo = base / ("main" if kind == "worktree" else "blog")
    repo.mkdir(parents=True)
    if kind != "plain":
        init_repo(repo)
    for i in range(posts):
        series = ("alpha", "beta", "gamma")[i % 3]
        day, month = 1 + i % 28, 1 + (i // 28) % 12
        path = repo / series / f"2025-{month:02d}-{day:02d}-post-{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        eol = "\r\n" if i % 7 == 0 else "\n"
        lines = ["---", f"title: Post number {i}", "# a comment line", f"date: 2025-{month:02d}-{day:02d}", "---",
                 f"# Post number {i}", "", f"Body of post {i}.", "", "```", "---", "title: fake", "```"]
        path.write_bytes((eol.join(lines) + (eol if i % 5 else "")).encode())
    if kind == "plain":
        return repo
    commit_all(repo, "posts")
    if kind == "worktree":
        wt = base / "wt"
        git(repo, "worktree", "add", "-q", str(wt), "-b", "covers")
        assert (wt / ".git").is_file()
        return wt
    return repo


def posts_of(repo: Path) -> dict[str, bytes]:
    return {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*.md") if ".git" not in p.parts}


def check(repo: Path, originals: dict[str, bytes], *, final: bool = False) -> tuple[list[str], list[str]]:
    """(consistency problems, temp files among the posts). With `final`, also every post must
    be complete, no image may be unreferenced and no temp file may be left anywhere."""
    problems: list[str] = []
    temps: list[str] = []
    for p in repo.rglob("*"):
        rel = p.relative_to(repo).as_posix()
        if rel.startswith(".git/") or rel == ".git":
            continue
        in_scratch = rel.startswith(".imagegen-tmp/")
        if TMP_MARK in p.name and (final or not in_scratch):
            temps.append(rel)
        if final and rel == ".imagegen-tmp":
            temps.append(rel + "/")
    referenced: set[str] = set()
    for rel, before in originals.items():
        now = (repo / rel).read_bytes()
        if now == before:
            if final:
                problems.append(f"{rel}: never got a cover")
            continue
        text = now.decode("utf-8", "replace").lstrip("\ufeff")
        m = re.match(r"---\r?\n(.*?)\r?\n---\s*?(\r?\n|$)", text, flags=re.S)
        if not m:
            problems.append(f"{rel}: changed, frontmatter not closed")
            continue
        try:
            fm = yaml.safe_load(m.group(1)) or {}
        except yaml.YAMLError as exc:
            problems.append(f"{rel}: changed, frontmatter invalid ({exc})")
            continue
        if not (isinstance(fm, dict) and fm.get("image_provider") and fm.get("image_date")):
            problems.append(f"{rel}: changed but its image fields are missing")
        targets = embeds(text)
        if not targets:
            problems.append(f"{rel}: changed but has no embed")
        for t in targets:
            hit = next((c for c in (repo / t, (repo / rel).parent / t) if c.is_file()), None)
            if hit is None:
                problems.append(f"{rel}: embed {t} does not resolve")
            else:
                referenced.add(hit.resolve().relative_to(repo.resolve()).as_posix())
        if text.count("# Post number") != 1 or "title: fake" not in text:
            problems.append(f"{rel}: body damaged")
    if final:
        attachments = repo / "attachments"
        for img in (attachments.iterdir() if attachments.is_dir() else []):
            rel = img.relative_to(repo).as_posix()
            if rel not in referenced:
                problems.append(f"{rel}: orphaned image")
    return problems, temps


def command(repo: Path, provider: str) -> list[str]:
    name = "local" if provider == "local" else "together"
    return [sys.executable, "-m", "imagegen", "run", str(repo), "--providers", name, "--describer", "off",
            "--width", "64", "--height", "64", "--concurrency", "8"]


def campaign(root: Path, kind: str, provider: str, *, kills: int, posts: int, seed: int,
             env: dict[str, str], max_covers: int = 20,
             extra_wait: Callable[[random.Random], float] | None = None,
             log: Callable[[str], None] | None = None) -> Result:
    """Kill `kills` runs at random moments; see the module docstring."""
    rng = random.Random(seed)
    res = Result(kind, provider)
    t0 = time.monotonic()
    generation = 0
    repo = make_blog(root, kind, posts, generation)
    originals = posts_of(repo)
    attempts = 0
    while res.kills < kills:
        attempts += 1
        if attempts > kills * 5:
            res.problems.append("too many runs finished before they could be killed")
            break
        proc = subprocess.Popen(command(repo, provider), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                env=env, cwd=ROOT)
        assert proc.stderr is not None
        want = rng.randint(0, max_covers)  # kill after this many covers were reported written
        seen = 0
        while seen < want:
            line = proc.stderr.readline()
            if not line:
                break
            seen += line.startswith(b"generated ")
        if extra_wait is not None:
            time.sleep(extra_wait(rng))
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
            res.kills += 1
        proc.stderr.close()
        rc = proc.wait(timeout=300)
        problems, temps = check(repo, originals)
        res.inconsistent += bool(problems)
        res.temps_among_posts += bool(temps)
        res.problems.extend(f"kill {res.kills}: {p}" for p in problems + [f"temp file {t}" for t in temps])
        if not killed:
            res.finished_runs += 1
            if rc != 0:
                res.problems.append(f"a run ended with exit {rc}")
            done_problems, _ = check(repo, originals, final=True)
            if not done_problems:  # this blog is done: start afresh, so kills keep landing mid-run
                res.covered += len(originals)
                generation += 1
                repo = make_blog(root, kind, posts, generation)
                originals = posts_of(repo)
        if log is not None and res.kills and res.kills % 10 == 0 and killed:
            log(f"{kind}/{provider}: {res.kills} kills, {res.inconsistent} inconsistent")
    res.covered += sum((repo / rel).read_bytes() != data for rel, data in originals.items())
    done = subprocess.run(command(repo, provider), capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    problems, temps = check(repo, originals, final=True)
    res.final_complete = done.returncode == 0 and not problems and not temps
    if not res.final_complete:
        res.problems.extend(["final run: " + p for p in problems + temps] + [f"final run exit {done.returncode}: "
                                                                              f"{done.stderr[-500:]}"])
    before = snapshot(repo)
    again = subprocess.run(command(repo, provider), capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    res.rerun_unchanged = again.returncode == 0 and snapshot(repo) == before
    if not res.rerun_unchanged:
        res.problems.append(f"the run after changed something (exit {again.returncode})")
    res.seconds = time.monotonic() - t0
    return res


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "INPUT_"))}
    env.update(extra or {})
    return env
