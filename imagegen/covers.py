"""The plan of one cover edit, without I/O: where the cover file goes, and the post's new bytes.

The site (imagegen.sites) decides the conventions; this module applies them to one post so that
discovery can check an edit is possible *before* an image is paid for (`check`), and the pipeline
makes exactly that edit afterwards (`post_bytes`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Mapping

from imagegen import frontmatter as fm
from imagegen.posts import Post
from imagegen.sites.base import Site, get_dotted

__all__ = ["Placement", "check", "placement", "post_bytes", "removes_body_cover"]


@dataclass(frozen=True)
class Placement:
    folder: str
    """Repo-relative folder of the cover file."""
    name: str
    """File name without extension (the writer adds -2, -3 ... when it is taken)."""


def placement(site: Site, post: Post) -> Placement:
    return Placement(posixpath.normpath(site.cover_folder(post)), site.cover_name(post))


def removes_body_cover(site: Site, post: Post, regenerate: bool) -> bool:
    """Regenerating replaces the cover embed in the body only where the body holds the cover
    (embed styles obsidian/markdown): in a frontmatter site, images in the body are content."""
    return regenerate and site.embed_style != "frontmatter" and post.cover() is not None


def post_bytes(site: Site, post: Post, image_rel: str, *, alt: str, provenance: Mapping[str, fm.Value],
               regenerate: bool) -> bytes:
    """The post's new bytes: the site's reference to `image_rel` (an embed line or cover fields),
    the provenance fields (image_date, ..., the alt text), and `regenerate_image: false` when
    regenerating."""
    ref = site.reference(post, image_rel, alt)
    fields: dict[str, fm.Value] = {**ref.fields, **provenance}
    alt_name = site.alt_field(post)
    current = get_dotted(post.frontmatter, alt_name) if post.doc.has_frontmatter else None
    if alt_name in fields and not regenerate and isinstance(current, str) and current.strip():
        del fields[alt_name]  # the author's own alt text stays
    if regenerate:
        fields["regenerate_image"] = False
    return post.updated(embed=ref.embed, fields=fields, remove_cover=removes_body_cover(site, post, regenerate))


def check(site: Site, post: Post, *, regenerate: bool) -> None:
    """Make the edit in memory with a stand-in image: raises FrontmatterError (UnsafeEdit:
    `cannot-edit`) or PostError when the post cannot take it, so the post is skipped before any
    image is generated for it."""
    where = placement(site, post)
    image_rel = posixpath.join(where.folder, where.name + ".jpg")
    stand_in = {"image_date": "2000-01-01T00:00:00Z", "image_provider": "x", "image_model": "x", "image_prompt": "x",
                site.alt_field(post): "x"}
    post_bytes(site, post, image_rel, alt=post.title or "x", provenance=stand_in, regenerate=regenerate)
