"""Peak memory benchmark (not a test): `.venv/bin/python bench/bench_memory.py [--posts N --side PX]`.

A whole `imagegen run` as a user starts it (the CLI, in its own process), on a blog whose
provider answers every post with a large image: a PNG of SIDE x SIDE RGBA pixels that is only a
few hundred KB on the wire because it compresses well. By default two runs: the issue's
reproduction (4 posts, 8000 x 8000: 64 megapixels, 244 MB decoded each) and a large blog (1000
posts, 4096 x 4096: 16.7 megapixels, 64 MB decoded each); `--posts` and `--side` run one of your
choosing. The provider is Pollinations served by the loopback fake
(tests/fake_providers.py) with its pacing off, so the posts are worked on 8 at a time (the default
concurrency) and images arrive as fast as they can be decoded. The run's peak resident memory
(VmHWM of the run's own process) is printed, with the time the run took, next to a run that
does nothing (every post already has its cover): what importing and starting imagegen costs.

The numbers go to docs/measurements.md ("Peak memory").
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_providers import FakeProviders  # noqa: E402

LAUNCH = """
import json, re, sys, time
from imagegen.cli import main
start = time.monotonic()
code = main(sys.argv[2:])
hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())
json.dump({"code": code, "seconds": time.monotonic() - start, "peak_mb": int(hwm.group(1)) / 1024},
          open(sys.argv[1], "w"))
"""
"""The run in-process, then its peak resident memory: VmHWM, the high-water mark of this process's
own address space (ru_maxrss would carry the parent's size over the exec)."""


def big_png(side: int) -> bytes:
    """A SIDE x SIDE RGBA PNG that compresses well (bands of colour and a few stripes), as an
    image model's flat illustration might."""
    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (side, side), (30, 60, 120, 255))
    d = ImageDraw.Draw(im)
    for i in range(0, side, max(1, side // 16)):
        d.rectangle((i, 0, i + side // 64, side), fill=(200, 180 - i % 120, 40, 255))
    out = io.BytesIO()
    im.save(out, "PNG", optimize=False, compress_level=9)
    return out.getvalue()


def blog(folder: Path, n: int, covered: bool = False) -> Path:
    posts = folder / "posts"
    posts.mkdir(parents=True)
    for i in range(n):
        body = f"---\ntitle: Post {i}\n---\n\n# Post {i}\n\nA post about gardens, number {i}.\n"
        if covered:
            body = body.replace("\n\nA post", "\n![[attachments/x.png]]\n\nA post")
        (posts / f"2026-01-{1 + i % 28:02d}-post-{i:04d}.md").write_text(body)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    return folder


def measure(repo: Path, env: dict[str, str], args: list[str]) -> dict[str, float]:
    out = repo.parent / f"{repo.name}.json"
    cmd = [sys.executable, "-c", LAUNCH, str(out), "run", str(repo), "--describer", "off", *args]
    r = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=7200)
    if r.returncode not in (0, 1) or not out.exists():
        raise SystemExit(f"the run failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return json.loads(out.read_text())


def scenario(tmp: Path, posts: int, side: int) -> None:
    png = big_png(side)
    print(f"{posts} posts, each answered with a {side}x{side} RGBA PNG ({len(png) / 1024:.0f} KB on the wire, "
          f"{side * side * 4 / 2**20:.0f} MB decoded)")
    with FakeProviders(time_scale=0.0) as fp:
        fp.script("pollinations", [{"kind": "raw", "status": 200, "body": png, "content_type": "image/png"}] * posts)
        env = fp.env(["pollinations"])
        pacing = ["--providers", "pollinations", "--provider-min-interval", "pollinations=0",
                  "--provider-max-in-flight", "pollinations=8", "--image-format", "jpeg"]
        idle = measure(blog(tmp / f"idle-{posts}-{side}", posts, covered=True), env, pacing)
        busy_repo = blog(tmp / f"busy-{posts}-{side}", posts)
        busy = measure(busy_repo, env, pacing)
        made = sum(1 for _ in (busy_repo / "attachments").iterdir())
    print(f"  {'nothing to do (start-up)':<30} peak {idle['peak_mb']:>6.0f} MB {idle['seconds']:>8.1f} s")
    print(f"  {f'{made} covers made':<30} peak {busy['peak_mb']:>6.0f} MB {busy['seconds']:>8.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=0)
    ap.add_argument("--side", type=int, default=8000)
    opts = ap.parse_args()
    runs = [(opts.posts, opts.side)] if opts.posts else [(4, 8000), (1000, 4096)]
    with tempfile.TemporaryDirectory() as tmp:
        for posts, side in runs:
            scenario(Path(tmp), posts, side)


if __name__ == "__main__":
    main()
