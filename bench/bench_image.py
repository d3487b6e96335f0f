"""Image benchmark (not a test): `.venv/bin/python bench/bench_image.py` (root, buildah; builds the
image with scripts/container-test.sh unless IMAGEGEN_CONTAINER_BUILT=1).

Measures the action's image as the tests build it (the Dockerfile on the local Debian 13 base made
like python:3.13-slim-trixie):
1. its size, and the base's;
2. a no-op run (every post has its cover) started the way the runner starts a Docker action:
   - start to first request: from the container's process start to the first request reaching the
     (fake) GitHub API, with `commit: pull-request` (whose first act is reading the open pull
     request); target < 0.8 s;
   - start to exit with the default `commit: api` (which makes no request at all on a no-op run);
   - the same for `python -c pass` in the container: what starting any process costs here.
Each is the median of 5 runs; `buildah run`'s own start-up (setting up the container) is not
counted: the clock starts inside the container.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_github import FakeGitHub, make_origin  # noqa: E402

IMAGE = os.environ.get("IMAGEGEN_CONTAINER_IMAGE", "localhost/imagegen:test")
B = ["buildah", "--storage-driver", "vfs"]
TOKEN = "ghs_benchTOKEN000000000000"
POST = b"---\ntitle: Has one\n---\n\n# Has one\n\n![[attachments/a.png]]\n\nText.\n"
RUNS = 5


def size(image: str) -> str:
    return subprocess.run(B + ["images", "--format", "{{.Size}}", image], capture_output=True, text=True,
                          check=True).stdout.split("\n")[0]


def main() -> int:
    if os.environ.get("IMAGEGEN_CONTAINER_BUILT") != "1":
        subprocess.run(["bash", str(ROOT / "scripts" / "container-test.sh"), "build"], check=True)
    c = subprocess.run(B + ["from", "--quiet", IMAGE], capture_output=True, text=True, check=True).stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="imagegen-bench-image-"))
    try:
        origin = make_origin(tmp, {f"blog/2026-01-0{i}-post.md": POST for i in range(1, 10)}
                             | {"attachments/a.png": b"\x89PNG\r\n\x1a\n"})
        ws = tmp / "ws"
        subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(ws)], check=True)
        files = tmp / "files"
        files.mkdir()
        head = subprocess.run(["git", "-C", str(ws), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        with FakeGitHub(origin, tokens={TOKEN: "write"}) as gh:
            def run(mode: str | None, argv: list[str]) -> tuple[float, float | None]:
                (files / "t0").unlink(missing_ok=True)
                before = len(gh.requests)
                env = {"GITHUB_WORKSPACE": "/github/workspace", "GITHUB_EVENT_NAME": "schedule",
                       "GITHUB_REPOSITORY": gh.full_name, "GITHUB_REF": "refs/heads/main", "GITHUB_SHA": head,
                       "GITHUB_API_URL": gh.url, "GITHUB_EVENT_PATH": "/github/workflow/event.json",
                       "INPUT_PROVIDERS": "local", "INPUT_COMMIT": mode or "api",
                       "GITHUB_TOKEN": TOKEN}  # (sh drops INPUT_GITHUB-TOKEN: not a shell name)
                (files / "event.json").write_text(json.dumps({"repository": {"full_name": gh.full_name}}))
                args = B + ["run", "--isolation", "chroot", "--workingdir", "/github/workspace",
                            "-v", f"{ws}:/github/workspace", "-v", f"{files}:/github/workflow"]
                for k, v in env.items():
                    args += ["--env", f"{k}={v}"]
                script = 'date +%s.%N > /github/workflow/t0; "$@"; date +%s.%N >> /github/workflow/t0'
                r = subprocess.run(args + [c, "--", "sh", "-c", script, "sh", *argv], capture_output=True, text=True)
                if r.returncode != 0:
                    raise SystemExit(f"run failed: {r.stdout[-2000:]}{r.stderr[-2000:]}")
                if os.environ.get("BENCH_DEBUG"):
                    print(r.stdout[-3000:], r.stderr[-2000:])
                t0, t1 = map(float, (files / "t0").read_text().split())
                first = gh.requests[before].at - t0 if len(gh.requests) > before else None
                return t1 - t0, first

            entry = ["/opt/venv/bin/python", "/app/entrypoint.py"]
            run("api", entry)  # warm the page cache
            bare = [run(None, ["/opt/venv/bin/python", "-c", "pass"])[0] for _ in range(RUNS)]
            api = [run("api", entry)[0] for _ in range(RUNS)]
            pr = [run("pull-request", entry) for _ in range(RUNS)]
            assert all(f is not None for _, f in pr), "no request reached the fake GitHub API"
            print(f"image {IMAGE}: {size(IMAGE)} (base localhost/pybase:trixie-slim: {size('localhost/pybase:trixie-slim')})")
            print(f"python -c pass in the container:           {statistics.median(bare):.3f} s")
            print(f"no-op run, commit: api, start to exit:      {statistics.median(api):.3f} s (no request made)")
            print(f"no-op run, commit: pull-request, start to first request: "
                  f"{statistics.median([f for _, f in pr]):.3f} s (exit {statistics.median([t for t, _ in pr]):.3f} s)")
    finally:
        subprocess.run(B + ["rm", c], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
