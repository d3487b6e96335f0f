"""Obsidian vaults (and any folder of dated Markdown notes): today's behaviour, unchanged.

Conventions followed (https://help.obsidian.md/Linking+notes+and+files/Embed+files,
https://help.obsidian.md/Files+and+folders/Accepted+file+formats):
- a post is a `.md` note whose name starts with YYYY-MM-DD (any `.md` with `--include-undated`);
  `index.md`, `README.md`, `AGENTS.md`, `IDEAS.md` are not posts; hidden folders (`.obsidian/`),
  `node_modules` and the attachments folder are not searched;
- the cover goes to `attachments/<folder>-<note>.<ext>` and is embedded right after the note's
  H1 as `![[attachments/x.jpg]]`: a vault-relative path, which Obsidian resolves from the vault
  root (a bare file name would be resolved anywhere in the vault);
- `--embed-style markdown` writes `![title](../attachments/x.jpg)` relative to the note, which
  Obsidian and most Markdown renderers resolve; `--embed-style frontmatter` sets a field instead.
There are no drafts here; `image: false` (and the other opt-out fields) still means "no cover".
"""

from __future__ import annotations

import datetime as dt
import posixpath

from imagegen.posts import Post
from imagegen.settings import DEFAULT_EXCLUDE
from imagegen.sites.base import Site, get_dotted


class Obsidian(Site):
    name = "obsidian"
    default_exclude = DEFAULT_EXCLUDE
    dated_names = True
    has_drafts = False
    needs_frontmatter = False

    # Every setting is used as given: its defaults are this site's conventions.
    @property
    def paths(self) -> tuple[str, ...]:
        return self.settings.paths

    @property
    def exclude(self) -> tuple[str, ...]:
        return self.settings.exclude

    @property
    def embed_style(self) -> str:
        return self.settings.embed_style

    @property
    def include_undated(self) -> bool:
        return self.settings.include_undated

    def skip_dir(self, rel: str, name: str) -> bool:
        attachments = posixpath.normpath(self.settings.attachments_dir).strip("/")
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

    def default_field(self, post: Post) -> str:
        return self.settings.frontmatter_field

    def default_cover_folder(self, post: Post) -> str:
        return self.settings.attachments_dir

    def cover_folders(self) -> tuple[str, ...]:
        return (self.settings.attachments_dir,)

    def cover_name(self, post: Post) -> str:
        from imagegen.pipeline import image_base_name  # one naming rule, kept where it was

        return image_base_name(post.rel)

    def url(self, post: Post, image_rel: str) -> str:
        """Vault-relative, as Obsidian and the frontmatter style have always written it."""
        return self.prefix() + image_rel if self.given("image-url-prefix") else image_rel

    def body_url(self, post: Post, image_rel: str) -> str:
        return posixpath.relpath(image_rel, posixpath.dirname(post.rel) or ".")
