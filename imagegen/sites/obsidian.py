"""Obsidian vaults (and any folder of dated Markdown notes): imagegen's first user's conventions.

Conventions followed (https://help.obsidian.md/Linking+notes+and+files/Embed+files,
https://help.obsidian.md/Files+and+folders/Accepted+file+formats):
- a post is a `.md` note whose name starts with YYYY-MM-DD (any `.md` with `--include-undated`);
  `index.md`, `README.md`, `AGENTS.md`, `IDEAS.md` are not posts; hidden folders (`.obsidian/`),
  `node_modules` and the attachments folder are not searched;
- the cover goes to `attachments/<folder>-<note>.<ext>` (the folder keeps two series' notes of the
  same name apart) and is embedded right after the note's H1 as `![[attachments/x.jpg]]`: a
  vault-relative path, which Obsidian resolves from the vault root (a bare file name would be
  resolved anywhere in the vault);
- `--embed-style markdown` writes `![title](../attachments/x.jpg)` relative to the note, which
  Obsidian and most Markdown renderers resolve; `--embed-style frontmatter` sets a field instead.
There are no drafts here; `image: false` (and the other opt-out fields) still means "no cover".
"""

from __future__ import annotations

import datetime as dt
import posixpath
from pathlib import PurePosixPath

from imagegen.posts import Post, slug
from imagegen.sites.base import Site, get_dotted


class Obsidian(Site):
    name = "obsidian"
    default_exclude = ("index.md", "AGENTS.md", "IDEAS.md", "README.md")
    default_style = "obsidian"
    dated_names = True
    has_drafts = False
    needs_frontmatter = False
    cover_dir = "attachments"

    def skip_dir(self, rel: str, name: str) -> bool:
        attachments = posixpath.normpath(self.cover_folders()[0]).strip("/")
        return super().skip_dir(rel, name) or rel == attachments

    def date(self, post: Post) -> dt.date | None:
        return post.date

    def sort_date(self, post: Post) -> dt.date | None:
        return post.sort_date

    def has_cover(self, post: Post) -> bool:
        if post.has_image():
            return True
        if self.embed_style == "frontmatter":
            value = get_dotted(post.frontmatter, self.field(post))
            if isinstance(value, str):
                return bool(value.strip())
            return value not in (None, False, [], {})
        return False

    def cover_name(self, post: Post) -> str:
        """`<parent-folder>-<file-stem>` as a slug (just the stem's slug for a note at the root)."""
        p = PurePosixPath(post.rel)
        parent = p.parent.name
        return slug(f"{parent}-{p.stem}" if parent else p.stem) or "cover"

    def url(self, post: Post, image_rel: str) -> str:
        """Vault-relative, as Obsidian and the frontmatter style have always written it."""
        return self.prefix() + image_rel if self.url_prefix_override is not None else image_rel

    def body_url(self, post: Post, image_rel: str) -> str:
        return posixpath.relpath(image_rel, posixpath.dirname(post.rel) or ".")
