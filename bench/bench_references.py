"""Reference scan benchmark (not a test): `.venv/bin/python bench/bench_references.py [--files N] [--covers K]`.

Is a regenerated cover's old image still mentioned anywhere? A repository of N text files (default
50,000, about 1.9 KB each, in folders of 500; no git, so the tree walk lists them) and K old covers
(default 20) that nothing mentions, which is the worst case: every file must be searched for each.
Prints the time to answer all K questions with one `references.Scanner`, as a run does (the names
expected up front, then asked one by one), and the time of the first answer alone.

The numbers go to docs/measurements.md ("Reference scan").
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imagegen import references  # noqa: E402

WORDS = "garden code winter fox snow light river stone field cover image post note draft".split()


def make(repo: Path, n: int) -> None:
    rnd = random.Random(1)
    for i in range(n):
        folder = repo / f"notes/{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"n{i:05d}.md").write_text(" ".join(rnd.choice(WORDS) for _ in range(300)) + f"\nsee post-{i}.png\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=50_000)
    ap.add_argument("--covers", type=int, default=20)
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        make(repo, opts.files)
        names = [f"cover-{i}.png" for i in range(opts.covers)]
        scanner = references.Scanner(repo)
        scanner.expect(names)
        start = time.perf_counter()
        assert scanner.find(names[0]) is None
        first = time.perf_counter() - start
        for name in names[1:]:
            assert scanner.find(name) is None
        total = time.perf_counter() - start
    print(f"{opts.files} text files, {opts.covers} old covers: {total:.2f} s in all "
          f"(first answer {first:.2f} s, the other {opts.covers - 1} {total - first:.3f} s; "
          f"{scanner.passes} pass over the files)")


if __name__ == "__main__":
    main()
