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

The vault's own settings win over those defaults when `.obsidian/app.json` has them
(https://help.obsidian.md/Files+and+folders/Manage+attachments,
https://help.obsidian.md/Linking+notes+and+files/Internal+links): `attachmentFolderPath` is where
covers go (`/` the vault root, `./` the note's own folder, `./assets` a folder beside the note,
anything else a folder from the vault root); `useMarkdownLinks: true` embeds the cover as a
Markdown image (`![alt](../attachments/x.jpg)`, relative to the note, which Obsidian and every
Markdown renderer resolve); `newLinkFormat: "relative"` writes a wikilink relative to the note.
A note with no title and no `# ` heading is titled by its file name, as Obsidian shows it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any

from imagegen.markdown.embeds import embed_line
from imagegen.posts import Post, slug
from imagegen.sites.base import IMAGE_SUFFIXES, Reference, Site, get_dotted

APP_JSON = ".obsidian/app.json"


def vault_settings(repo: str) -> dict[str, Any]:
    """The vault's `.obsidian/app.json` ({} when absent or unreadable)."""
    try:
        with open(os.path.join(repo, APP_JSON), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


class Obsidian(Site):
    name = "obsidian"
    help_notes = {"attachments-dir": "attachments, or the vault's attachmentFolderPath",
                  "embed-style": "obsidian, or markdown when the vault uses Markdown links"}
    default_exclude = ("index.md", "AGENTS.md", "IDEAS.md", "README.md")
    default_style = "obsidian"
    dated_names = True
    has_drafts = False
    needs_frontmatter = False
    cover_dir = "attachments"
    name_title = True

    @cached_property
    def vault(self) -> dict[str, Any]:
        return vault_settings(str(self.home))

    @cached_property
    def attachment_folder(self) -> str | None:
        """The vault's `attachmentFolderPath` as a repo-relative folder ('.' the vault root, './x'
        relative to each note); None when the vault does not set one."""
        value = self.vault.get("attachmentFolderPath")
        if not isinstance(value, str) or not value.strip():
            return None
        value = value.strip()
        if value.startswith("./") or value == ".":
            return "./" + posixpath.normpath(value[2:]).strip("/") if value[2:].strip("/") else "./"
        folder = posixpath.normpath(value.strip("/") or ".")
        return None if folder.startswith("..") else self.at(folder) if folder != "." else (self.root or ".")

    def engine_style(self) -> str:
        return "markdown" if self.vault.get("useMarkdownLinks") is True else self.default_style

    def post_cover_folder(self, post: Post) -> str:
        folder = self.attachment_folder
        if folder is None:
            return self.at(self.cover_dir)
        if folder.startswith("./"):
            return posixpath.normpath(posixpath.join(posixpath.dirname(post.rel), folder[2:]))
        return folder

    def cover_folders(self) -> tuple[str, ...]:
        folder = self.cover_dir_override or self.attachment_folder or self.at(self.cover_dir)
        return () if folder.startswith("./") or folder == "." else (folder,)

    def is_cover_file(self, rel: str) -> bool:
        """Also, in a vault keeping attachments beside each note (`./x`), an image in such a folder
        (only files a killed run's journal lists are ever asked about)."""
        folder = self.attachment_folder if self.cover_dir_override is None else None
        if folder is None or not folder.startswith("./"):
            return super().is_cover_file(rel)
        sub = folder[2:]
        return rel.lower().endswith(IMAGE_SUFFIXES) and (not sub or posixpath.basename(posixpath.dirname(rel)) == sub)

    def skip_dir(self, rel: str, name: str) -> bool:
        if super().skip_dir(rel, name):
            return True
        folder = self.cover_dir_override or self.attachment_folder or self.at(self.cover_dir)
        if folder.startswith("./"):
            return bool(folder[2:]) and name == folder[2:]
        return rel == posixpath.normpath(folder).strip("/")

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

    def reference(self, post: Post, image_rel: str, alt: str) -> Reference:
        """A wikilink relative to the note when the vault's `newLinkFormat` is `relative`."""
        if self.embed_style == "obsidian" and self.vault.get("newLinkFormat") == "relative":
            target = posixpath.relpath(image_rel, posixpath.dirname(post.rel) or ".")
            return Reference(embed_line("obsidian", target, post.rel, alt))
        return super().reference(post, image_rel, alt)

    def url(self, post: Post, image_rel: str) -> str:
        """Vault-relative, as Obsidian and the frontmatter style have always written it."""
        rel = self.site_rel(image_rel)
        return self.prefix() + rel if self.url_prefix_override is not None else rel

    def body_url(self, post: Post, image_rel: str) -> str:
        return posixpath.relpath(image_rel, posixpath.dirname(post.rel) or ".")
