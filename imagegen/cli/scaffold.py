"""`imagegen init`: a settings file for this blog (and, with --workflow, a workflow to copy).

The settings file lists every setting from its declaration (config/knobs.py: its help, its
default), commented out, with what was detected in the repository written out: the blog engine
(`imagegen.sites.detect`) and, where the engine's posts are dated files anywhere (Obsidian), the
folders that hold them. The file is checked by loading it before it is written.

Nothing a user wrote is ever lost: an existing settings file is kept as it is (`init --workflow`
then only adds the workflow), and `--force` refreshes it by adding the settings it does not mention
yet, below every line it already has. A workflow that exists is replaced only with `--force`, and
the old one is kept beside it as `covers.yml.bak` (not a workflow: GitHub runs only .yml/.yaml).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
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

__all__ = ["ACTION_REF", "WORKFLOW_PATH", "Detected", "Written", "detect", "config_text", "refreshed_config",
           "workflow_text", "init"]

ACTION_REF = "OWNER/REPO@v1"
"""What a blog's workflow `uses:`: OWNER/REPO is the GitHub repository that hosts the action (the
user replaces it, or passes --action)."""
WORKFLOW_PATH = ".github/workflows/covers.yml"
CHECKOUT = "actions/checkout@v5"
CACHE = "actions/cache"
CACHE_MAJOR = "v5"
STATE_FILE = ".imagegen-state/quota.json"
KEYLESS = ('# Anonymous Pollinations needs no secret, but stamps its logo on every image (since 2026-08):\n'
           '          # pollinations-enabled: "true"\n'
           '          # pollinations-accept-logo: "true"')
"""Anonymous Pollinations, left off (commented, with why): it was switched on here so that a new
workflow made covers before any secret was added, but since 2026-08-03 every anonymous image
carries a Pollinations logo, which a blogger did not ask for. Turning it on is one uncommented
pair of lines, with the logo accepted knowingly."""


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
    site_dir: str = ""
    """The site's folder in the repository ('' the root; sites.locate)."""


def detect(repo: Path) -> Detected:
    """What init can tell about the blog: its engine (imagegen.sites) and where its posts are: the
    engine's own content folders, or, for an engine without a layout of its own whose posts are
    dated files (Obsidian), the top-level folders that hold them."""
    name, why, root = sites.locate(repo)
    cls = sites.ENGINES[name][0]
    own = tuple(posixpath.join(root, p) if root else p for p in cls.default_paths if p != ".")
    exts = tuple(cls.extensions)
    if own or not cls.dated_names or cls.is_post_path is not sites.Site.is_post_path:
        return Detected(name, why, own, 0, own_paths=True, extensions=exts, site_dir=root)
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


def _header(found: Detected) -> list[str]:
    lines = [
        "# imagegen settings for this blog. Keys are the `imagegen run` flags without the dashes",
        "# (and the action's inputs); a flag, an action input or an environment variable wins over",
        "# what is written here. Provider keys and tokens never go in this file: set them as",
        "# environment variables or repository secrets.",
    ]
    if found.site:
        lines.append(f"# Detected engine: {found.site}" + (f" ({found.why})" if found.why else "") + ".")
    if found.posts:
        lines.append(f"# Found {found.posts} dated post(s)" +
                     (f" in {', '.join(p + '/' for p in found.paths)}." if found.paths else "."))
    elif found.own_paths and found.paths:
        lines.append(f"# Posts are read from {', '.join(p + '/' for p in found.paths)} (the {found.site} site's folders).")
    return lines


def _blocks(found: Detected) -> dict[str, list[str]]:
    """Each setting's lines (its help, then the line set or commented out), by name."""
    detected: dict[str, str] = {}
    if found.site:
        detected["site"] = found.site
    if found.site_dir:
        detected["site-dir"] = found.site_dir
    if found.paths and not found.own_paths:
        detected["paths"] = ",".join(found.paths)
    blocks = {}
    for d in CORE:
        line = f"{d.name} = {_toml_value(d, detected[d.name])}" if d.name in detected \
            else f"# {d.name} = {_toml_value(d, d.default)}"
        blocks[d.name] = [f"# {d.help}", line]
    return blocks


def config_text(found: Detected) -> str:
    """The settings file: every setting, commented with its help and default; detected ones set."""
    lines = _header(found) + [""]
    for block in _blocks(found).values():
        lines += block
    lines += ["", "# Provider models and endpoints can be set here too, e.g.",
              '# cloudflare-image-model = "@cf/black-forest-labs/flux-1-schnell"', ""]
    return "\n".join(lines)


_MENTION = re.compile(r"^\s*#?\s*([A-Za-z0-9_-]+)\s*=", re.MULTILINE)


def refreshed_config(old: str, found: Detected) -> str:
    """`init --force` on an existing settings file: every line of `old` stays, in its place; the
    settings it does not mention at all (set or commented out) are added below it, with their help.
    A setting the user wrote wins over what detection would write."""
    mentioned = {m.replace("_", "-") for m in _MENTION.findall(old)}
    added = [line for name, block in _blocks(found).items() if name not in mentioned for line in block]
    if not added:
        return old
    sep = "" if old.endswith("\n") or not old else "\n"
    return old + sep + "\n# Added by `imagegen init --force` (settings this file did not mention yet):\n" \
        + "\n".join(added) + "\n"


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


@dataclass(frozen=True)
class Written:
    """What `init` did with one file: `wrote`, `refreshed` (settings added, every old line kept),
    `kept` (left as it was) or `replaced` (the old one kept as `backup`)."""

    path: Path
    action: str
    backup: Path | None = None


def _settings_file(repo: Path, found: Detected, *, force: bool, workflow: bool) -> tuple[str | None, str]:
    """(the text to write or None to keep the file, what is done with it)."""
    path = repo / CONFIG_NAME
    if not path.exists():
        return config_text(found), "wrote"
    if not force:
        if workflow:
            return None, "kept"  # `init --workflow` after `init`: add the workflow only
        raise InitError(f"{CONFIG_NAME} already exists; not overwritten (--force adds the settings it does not "
                        "mention yet, keeping every line you wrote; --workflow adds only the workflow)")
    try:
        old = path.read_text(encoding="utf-8")
        tomllib.loads(old)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InitError(f"{CONFIG_NAME} cannot be read as TOML ({exc}); fix it or move it away first: "
                        "--force never drops what you wrote") from None
    new = refreshed_config(old, found)
    return (None, "kept") if new == old else (new, "refreshed")


def _backup_name(path: Path) -> Path:
    candidate, n = path.with_name(path.name + ".bak"), 2
    while candidate.exists():
        candidate, n = path.with_name(f"{path.name}.bak-{n}"), n + 1
    return candidate


def init(repo: Path, *, workflow: bool = False, force: bool = False, action: str = ACTION_REF) -> list[Written]:
    """Write the settings file (and the workflow); what was done with each file. Everything is
    decided (and refused) before anything is written."""
    if not repo.is_dir():
        raise InitError(f"repository folder {str(repo)!r} does not exist")
    found = detect(repo)
    text, what = _settings_file(repo, found, force=force, workflow=workflow)
    if text is not None:
        parse_table(tomllib.loads(text), CONFIG_NAME, repo)  # what we write must load
    flow = repo / WORKFLOW_PATH
    if workflow and flow.exists() and not force:
        raise InitError(f"{WORKFLOW_PATH} already exists; not overwritten (--force replaces it and keeps the old "
                        f"one as {flow.name}.bak)")
    done = [Written(repo / CONFIG_NAME, what)]
    if text is not None:
        replace(repo / CONFIG_NAME, text.encode("utf-8"))
    if workflow:
        backup = None
        if flow.exists():
            backup = _backup_name(flow)
            backup.write_bytes(flow.read_bytes())
        flow.parent.mkdir(parents=True, exist_ok=True)
        replace(flow, workflow_text(found, action).encode("utf-8"))
        done.append(Written(flow, "replaced" if backup else "wrote", backup))
    return done
