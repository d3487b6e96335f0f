"""Issue 9 item 2: an editor saving posts while a run writes them never loses a save.

Ten posts of a 200-post run are saved continuously while the real CLI runs: five by an editor
that appends in place (`open(..., "a")`, as many tools do), five by one that saves by rename
(read, write a temp file, rename over the post, as Obsidian and most editors do). Every save that
completed must be in the post at the end, over several runs. The run's own edit may lose to a
save made by rename (that is the editor's right); nothing of the editor's may be lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import ROOT, commit_all, init_repo

POSTS = 200
ROUNDS = 3
MAX_SAVES = 4000
"""Per post: keeps every post far below the size limit whatever the machine's speed."""


def _blog(repo: Path) -> list[Path]:
    init_repo(repo)
    paths = []
    for i in range(POSTS):
        day, month = 1 + i % 28, 1 + (i // 28) % 12
        p = repo / "posts" / f"2025-{month:02d}-{day:02d}-post-{i:03d}.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"---\ntitle: Post {i}\n---\n# Post {i}\n\nBody {i}.\n")
        paths.append(p)
    commit_all(repo)
    return paths


class Editor(threading.Thread):
    """Saves its posts round-robin until stopped; remembers every save that completed."""

    def __init__(self, posts: list[Path], style: str) -> None:
        super().__init__(daemon=True)
        self.posts = posts
        self.style = style
        self.saved: dict[Path, list[str]] = {p: [] for p in posts}
        self.stop = threading.Event()
        self.errors: list[str] = []

    def save(self, post: Path, line: str) -> None:
        """A save as editors do it, fsync included (which also paces the loop without sleeping)."""
        if self.style == "in-place":
            with open(post, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        else:
            text = post.read_text(encoding="utf-8")
            tmp = post.with_name(f".{post.name}.editor-tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text + line)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, post)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set() and n < MAX_SAVES:
            for post in self.posts:
                line = f"\n{self.style} save {n}\n"
                try:
                    self.save(post, line)
                except OSError as exc:  # a save that did not complete is not a lost save
                    self.errors.append(str(exc))
                    continue
                self.saved[post].append(line.strip())
            n += 1


@pytest.mark.slow
def test_an_editor_saving_during_a_run_loses_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "INPUT_"))}
    lost: list[str] = []
    total_saves = 0
    for round_ in range(ROUNDS):
        repo = tmp_path / f"blog{round_}"
        posts = _blog(repo)
        chosen = posts[5::20][:10]  # spread over the run's order (newest first)
        editors = [Editor(chosen[:5], "in-place"), Editor(chosen[5:], "rename")]
        for e in editors:
            e.start()
        try:
            done = subprocess.run([sys.executable, "-m", "imagegen", "run", str(repo), "--providers", "local",
                                   "--width", "64", "--height", "64", "--quiet"],
                                  capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        finally:
            for e in editors:
                e.stop.set()
            for e in editors:
                e.join(timeout=60)
        assert done.returncode == 0, done.stderr
        for e in editors:
            for post, lines in e.saved.items():
                present = set(post.read_text(encoding="utf-8").splitlines())
                total_saves += len(lines)
                for line in lines:
                    if line not in present:
                        lost.append(f"round {round_}: {post.name}: {line}")
        # no temp file of ours among the posts, and the run's own edits are whole
        assert not [p for p in repo.rglob("*") if ".imagegen-tmp-" in p.name and ".git" not in p.parts]
    assert total_saves > 1000, total_saves
    assert lost == [], f"{len(lost)} of {total_saves} saves lost, e.g. {lost[:5]}"
