"""One post's path through the program, traced (not a test): run with
`.venv/bin/python bench/trace_one_post.py BLOG_REPO POST_REL` on a git-initialised copy of a blog
(it writes into it). Adapted from the December 2026 design review's script to the new layout.

It traces `imagegen run --providers card --posts ONE --describer off` with `sys.setprofile`
(the main thread only: image rendering and finishing run in worker threads) and prints, between
discovery and the written file:
- the modules entered, all of them and those of the post's own path (leaving out what every step
  uses in passing, as the review's count did: the report and events, redaction, the clock, the
  command line's event sink and the settings object);
- the room changes: how often control moves from one module to another, counted on the post's own
  path, and the same counted by package (a call from `sites.base` into `sites.hugo` stays in one
  room: an engine and its base class, `markdown.document` and `markdown.embeds`);
- how often the edit is planned and the frontmatter split.
"""

from __future__ import annotations

import collections
import os
import sys

import imagegen

SRC = os.path.dirname(imagegen.__file__) + os.sep
PASSING = ("report", "redact", "clock", "cli", "config", "errors")
"""Modules every step calls in passing (the review's list, under their new names)."""


def modname(fn: str) -> str:
    rel = fn[len(SRC):-3].replace(os.sep, ".")
    return rel[:-9] if rel.endswith(".__init__") else rel


events: list[tuple[str, str, str, str]] = []


def prof(frame, event, arg):  # type: ignore[no-untyped-def]
    if event != "call" or not frame.f_code.co_filename.startswith(SRC):
        return
    f = frame.f_back
    while f is not None and not f.f_code.co_filename.startswith(SRC):
        f = f.f_back
    name = frame.f_code.co_qualname
    if name.startswith("<") and name != "<lambda>":
        return
    events.append((modname(f.f_code.co_filename) if f else "<lib>", modname(frame.f_code.co_filename), name,
                   f.f_code.co_qualname if f else ""))


def passing(module: str) -> bool:
    return module.split(".", 1)[0] in PASSING


def changes(walk_of: list[str]) -> int:
    walk: list[str] = []
    for m in walk_of:
        if not walk or walk[-1] != m:
            walk.append(m)
    return len(walk)


def main() -> None:
    from imagegen import cli

    repo, post = sys.argv[1], sys.argv[2]
    sys.setprofile(prof)
    rc = cli.main(["run", repo, "--providers", "card", "--posts", post, "--quiet", "--describer", "off"],
                  env={"HOME": os.environ.get("HOME", "/tmp"), "PATH": os.environ["PATH"]})
    sys.setprofile(None)
    start = next(i for i, e in enumerate(events) if e[1] == "discover" and e[2] == "discover")
    end = max(i for i, e in enumerate(events) if e[3] == "Run._write")
    win = events[start:end + 1]
    cross = [e for e in win if e[0] != e[1] and e[0] != "<lib>"]
    entered = sorted({e[1] for e in win})
    own = [m for m in entered if not passing(m)]
    path = [b for _, b, _, _ in cross if not passing(b)]
    print(f"exit {rc} | calls {len(win)} | cross-module calls {len(cross)}")
    print(f"modules entered: {len(entered)}; on the post's own path: {len(own)} {own}")
    print(f"packages on the post's own path: {len({m.split('.')[0] for m in own})}")
    print(f"room changes: {changes(path)} by module, {changes([m.split('.')[0] for m in path])} by package")
    counts = collections.Counter(f for _, _, f, _ in win)
    for name in ("plan", "check", "edit", "split", "_compose"):
        print(f"  {name}: {counts[name]}")


if __name__ == "__main__":
    main()
