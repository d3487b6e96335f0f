"""SIGKILL at 100 random moments during a 200-post run, per configuration: a git repository, a
plain folder and a git worktree, each with the offline `local` provider and with a slow provider
(Together's wire protocol on the loopback fake server, 50 ms per image, 2 in flight).

    .venv/bin/python bench/bench_kill.py [--kills 100] [--posts 200] [--only git/local ...]

Counts per configuration: kills that landed, kills after which a post was neither untouched nor
complete, kills after which a temp file lay among the posts, whether the next run completed
everything (no orphaned image, no temp file left), and whether the run after that changed
nothing. The kill moment is after a random number (0-20) of the child's "generated" lines plus a
random 0-5 ms, so kills land inside image writes, post swaps and everything between. Results go to
stdout and bench/kill_results.md. See tests/kill_harness.py for the checks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fake_providers import FakeProviders  # noqa: E402
from tests.kill_harness import KINDS, PROVIDERS, Result, base_env, campaign  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--posts", type=int, default=200)
    ap.add_argument("--only", nargs="*", default=[], help="KIND/PROVIDER pairs, e.g. git/local")
    ap.add_argument("--out", default=str(Path(__file__).with_name("kill_results.md")))
    args = ap.parse_args()
    results: list[Result] = []
    started = time.monotonic()
    with FakeProviders(time_scale=0.05) as fp:
        fp.set_behaviour("together", latency=1.0)
        slow_env = base_env(fp.env(names=["together"]))
        for provider in PROVIDERS:
            for kind in KINDS:
                if args.only and f"{kind}/{provider}" not in args.only:
                    continue
                env = slow_env if provider == "slow" else base_env()
                with tempfile.TemporaryDirectory(prefix="imagegen-kill-") as tmp:
                    res = campaign(Path(tmp), kind, provider, kills=args.kills, posts=args.posts,
                                   seed=hash((kind, provider)) % 10_000, env=env,
                                   extra_wait=lambda rng: rng.uniform(0, 0.005),
                                   log=lambda m: print("  " + m, flush=True))
                results.append(res)
                print(f"{kind}/{provider}: {res.kills} kills, {res.covered} covers between kills, "
                      f"{res.inconsistent} inconsistent, "
                      f"{res.temps_among_posts} with temp files among posts, final run complete "
                      f"{res.final_complete}, run after unchanged {res.rerun_unchanged} "
                      f"({res.seconds:.0f} s)", flush=True)
                for p in res.problems[:10]:
                    print("    " + p, flush=True)
    rows = ["| repository | provider | kills | covers made between kills | inconsistent states | temp files among posts "
            "| next run completed everything | run after changed nothing |",
            "|---|---|---:|---:|---:|---:|---|---|"]
    for r in results:
        rows.append(f"| {r.kind} | {r.provider} | {r.kills} | {r.covered} | {r.inconsistent} | {r.temps_among_posts} | "
                    f"{'yes' if r.final_complete else 'NO'} | {'yes' if r.rerun_unchanged else 'NO'} |")
    text = (f"# Kill benchmark\n\n{args.posts} posts, {args.kills} SIGKILLs per configuration; "
            f"{time.monotonic() - started:.0f} s in all.\n\n" + "\n".join(rows) + "\n")
    Path(args.out).write_text(text)
    print(text)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
