"""`imagegen init`: a settings file for this blog (and, with --workflow, a workflow to copy).

The settings file lists every setting from its declaration in settings.py (its help, its default),
commented out, with what was detected in the repository written out: the blog engine
(`imagegen.sites.detect`) and, where the engine's posts are dated files anywhere (Obsidian), the
folders that hold them. Nothing existing is ever
overwritten unless asked (--force), and the file is checked by loading it before it is written.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from imagegen import sites
from imagegen.sites.walk import Walker
from imagegen.config.sources import CONFIG_NAME, parse_table
from imagegen.frontmatter import truthy
from imagegen.providers import secret_options
from imagegen.errors import InitError
from imagegen.config.knobs import CORE
from imagegen.config.knob import Knob, split_list
from imagegen.writer import replace

__all__ = ["ACTION_REF", "WORKFLOW_PATH", "Detected", "detect", "config_text", "workflow_text", "init"]

ACTION_REF = "OWNER/REPO@v1"
"""What a blog's workflow `uses:` (replace with where the action is published)."""
WORKFLOW_PATH = ".github/workflows/covers.yml"
CHECKOUT = "actions/checkout@v5"
CACHE = "actions/cache"
CACHE_MAJOR = "v5"
STATE_FILE = ".imagegen-state/quota.json"
KEYLESS = 'pollinations-enabled: "true"'
"""The one provider that works without a secret, switched on so a new workflow makes covers before
any secret is added (its anonymous host: best effort)."""


@dataclass(frozen=True)
class Detected:
    site: str = ""
    why: str = ""
    paths: tuple[str, ...] = ()
    """Where the posts are: the engine's content folders, or the top-level folders holding dated
    posts (empty: the whole repository)."""
    posts: int = 0
    own_paths: bool = False
    """`paths` are the engine's own default: the settings file need not repeat them."""
    extensions: tuple[str, ...] = (".md",)
    """The engine's post file extensions (for the workflow's push filter)."""


def detect(repo: Path) -> Detected:
    """What init can tell about the blog: its engine (imagegen.sites) and where its posts are: the
    engine's own content folders, or, for an engine without a layout of its own whose posts are
    dated files (Obsidian), the top-level folders that hold them."""
    name, why = sites.detect(repo)
    cls = sites.ENGINES[name][0]
    own = tuple(p for p in cls.default_paths if p != ".")
    exts = tuple(cls.extensions)
    if own or not cls.dated_names or cls.is_post_path is not sites.Site.is_post_path:
        return Detected(name, why, own, 0, own_paths=True, extensions=exts)
    walker = Walker(cls(repo, why=why), os.path.abspath(repo), os.path.realpath(repo))  # the one walk
    walker.walk(".")
    walker.walk_links()
    tops = Counter(e.rel.split("/", 1)[0] if "/" in e.rel else "." for e in walker.entries)
    paths = tuple(sorted(tops)) if tops and "." not in tops else ()
    return Detected(name, why, paths, sum(tops.values()), extensions=exts)


def _toml_value(d: Knob, value: str) -> str:
    if d.flag:
        return "true" if truthy(value) else "false"
    if d.multi:
        return "[" + ", ".join(json.dumps(v) for v in split_list(value)) + "]"
    if value.isdigit():
        return value
    return json.dumps(value)  # a TOML basic string for anything a JSON string holds


def config_text(found: Detected) -> str:
    """The settings file: every setting, commented with its help and default; detected ones set."""
    detected: dict[str, str] = {}
    if found.site:
        detected["site"] = found.site
    if found.paths and not found.own_paths:
        detected["paths"] = ",".join(found.paths)
    lines = [
        "# imagegen settings for this blog. Keys are the `imagegen run` flags without the dashes",
        "# (and the action's inputs); a flag, an action input or an environment variable wins over",
        "# what is written here. Provider keys and tokens never go in this file: set them as",
        "# environment variables or repository secrets.",
    ]
    if found.site:
        lines.append(f"# Detected: a {found.site} site" + (f" ({found.why})" if found.why else "") + ".")
    if found.posts:
        lines.append(f"# Found {found.posts} dated post(s)" +
                     (f" in {', '.join(p + '/' for p in found.paths)}." if found.paths else "."))
    elif found.own_paths and found.paths:
        lines.append(f"# Posts are read from {', '.join(p + '/' for p in found.paths)} (the {found.site} site's folders).")
    lines.append("")
    for d in CORE:
        lines.append(f"# {d.help}")
        if d.name in detected:
            lines.append(f"{d.name} = {_toml_value(d, detected[d.name])}")
        else:
            lines.append(f"# {d.name} = {_toml_value(d, d.default)}")
    lines += ["", "# Provider models and endpoints can be set here too, e.g.",
              '# cloudflare-image-model = "@cf/black-forest-labs/flux-1-schnell"', ""]
    return "\n".join(lines)


def _secret_inputs() -> str:
    """The action's `with:` lines passing every provider secret from the repository's secrets (the
    registry's list: a new provider's key is there without a change here). A secret the
    repository does not have is empty, and that provider stays out of the chain."""
    return "\n".join(f"          {o.input_name}: ${{{{ secrets.{o.env} }}}}" for o in secret_options())


def workflow_text(found: Detected, action: str = ACTION_REF) -> str:
    """A ready workflow: on pushes to the post folders, nightly and by hand; quota state cached."""
    watch = [f"{p}/**" for p in found.paths] or [f"**{ext}" for ext in found.extensions]
    watch.append(CONFIG_NAME)
    paths = ", ".join(json.dumps(w) for w in watch)
    return f"""name: Blog cover images
on:
  push:
    branches: [main]
    paths: [{paths}]
  schedule:
    - cron: "17 3 * * *"
  workflow_dispatch:
permissions:
  contents: write
concurrency:
  group: blog-cover-images
  cancel-in-progress: false
jobs:
  covers:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}
      - uses: {CACHE}/restore@{CACHE_MAJOR}
        with:
          path: .imagegen-state
          key: imagegen-state-${{{{ github.run_id }}}}
          restore-keys: imagegen-state-
      # Settings come from {CONFIG_NAME}; only secrets and the state file are given here.
      - uses: {action}
        with:
          state-file: {STATE_FILE}
{_secret_inputs()}
          {KEYLESS}
      - uses: {CACHE}/save@{CACHE_MAJOR}
        if: always()
        with:
          path: .imagegen-state
          key: imagegen-state-${{{{ github.run_id }}}}
"""


def _write_new(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise InitError(f"{path.name} already exists at {path}; not overwritten (--force replaces it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    replace(path, text.encode("utf-8"))


def init(repo: Path, *, workflow: bool = False, force: bool = False, action: str = ACTION_REF) -> list[Path]:
    """Write the settings file (and the workflow). Returns the files written."""
    if not repo.is_dir():
        raise InitError(f"repository folder {str(repo)!r} does not exist")
    found = detect(repo)
    text = config_text(found)
    parse_table(tomllib.loads(text), CONFIG_NAME, repo)  # what we write must load
    targets = [(repo / CONFIG_NAME, text)]
    if workflow:
        targets.append((repo / WORKFLOW_PATH, workflow_text(found, action)))
    for path, _ in targets:  # refuse before writing anything
        if path.exists() and not force:
            raise InitError(f"{path.relative_to(repo)} already exists; not overwritten (--force replaces it)")
    for path, body in targets:
        _write_new(path, body, force)
    return [p for p, _ in targets]
