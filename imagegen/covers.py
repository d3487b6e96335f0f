"""The one place that decides a cover edit: `plan(site, post, ...) -> CoverEdit`, a frozen value.

Discovery plans every candidate's edit with stand-in metadata (`STAND_IN`) before any image is paid
for, so a post whose frontmatter cannot take the edit is skipped (`cannot-edit`); the run plans it
again with the real image and metadata, and `imagegen.writer.apply` swaps the new bytes in only if
the post is still what the edit was made from. Planning writes nothing; it reads the file system
only through the site, to find which old cover file a regenerated cover replaces.

The fields a cover edit writes into the frontmatter, besides the engine's own cover field:

    image_date       when the cover was made (UTC, ISO 8601)
    image_provider   which provider made it
    image_model      which model
    image_prompt     the prompt (unless prompts are cached in the state file instead)
    image_card       what a title card was drawn from (a digest of the title, the series and the card
                     settings): a later run redraws the card when it differs (the title was edited)
    <alt field>      the cover's alt text: `image_alt`, or the engine's (`cover.alt`, `heroImageAlt`, `image.alt`)
    regenerate_image false, when the edit regenerates a cover
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from imagegen import frontmatter as fm
from imagegen.errors import PostError
from imagegen.images.overlay import CardStyle, CoverText
from imagegen.markdown import embeds
from imagegen.posts import Post
from imagegen.sites.base import CoverPlace, Site, get_dotted

__all__ = ["CARD_FIELD", "PROVENANCE_FIELDS", "STAND_IN", "CoverEdit", "CoverMeta", "card_fingerprint", "cover_text",
           "plan", "rewrite", "series_name"]

PROVENANCE_FIELDS = ("image_date", "image_provider", "image_model", "image_prompt", "image_card")
"""What a cover edit records about the cover, in this order (the alt text goes to the site's field)."""


@dataclass(frozen=True)
class CoverMeta:
    """What is known about a cover once it is made."""

    date: str
    """UTC, `YYYY-MM-DDTHH:MM:SSZ`."""
    provider: str
    model: str
    prompt: str | None
    """None: the prompt is not stored in the post (it is cached in the state file)."""
    alt: str = ""
    """The describer's sentence about the picture; '' uses the post's title."""
    card: str = ""
    """A title card's `card_fingerprint` ('' for a picture that does not show the title)."""


CARD_FIELD = "image_card"

_GENERIC_FOLDERS = {"posts", "_posts", "post", "blog", "content", "src", "pages", "articles", "notes", "docs",
                    "drafts", "_drafts", "en", "data"}


def series_name(post: Post) -> str:
    """The small line above a card's title: the frontmatter `series` (or `blog`), else the post's
    folder when it names something (`chickie-loo` -> `Chickie Loo`; not `posts` or `content`)."""
    try:
        data = post.frontmatter
    except PostError:
        data = {}
    for key in ("series", "blog"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
        if isinstance(value, list) and value and isinstance(value[0], str):
            return " ".join(value[0].split())
    folder = PurePosixPath(post.rel).parent.name
    if not folder or folder.lower() in _GENERIC_FOLDERS or folder.isdigit():
        return ""
    words = folder.replace("_", " ").replace("-", " ").split()
    return " ".join(w if w.isupper() else w.capitalize() for w in words)


def cover_text(post: Post) -> CoverText:
    """What a title card (or the title band) shows for `post`: its title and series."""
    return CoverText(post.title or PurePosixPath(post.rel).stem, series_name(post))


def card_fingerprint(post: Post, style: CardStyle) -> str:
    """What a title card of `post` is drawn from, as a short digest: the text it shows and the card
    settings (not the size: a new `width` is no reason to redraw every card). Stored as
    `image_card`; a run that finds another value redraws the card (the title was edited, or the
    blog changed its card settings)."""
    text = cover_text(post)
    blob = json.dumps([text.title, text.series if style.series else "", style.fingerprint()])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


STAND_IN = CoverMeta("2000-01-01T00:00:00Z", "x", "x", "x", "x")
"""Discovery's metadata: the same shape of edit as the real one, before any image exists."""


@dataclass(frozen=True)
class CoverEdit:
    """One post's cover edit, decided and not yet made."""

    path: Path
    """The post file."""
    rel: str
    """The post's repo-relative path."""
    title: str
    """The post's title ('' when it has none)."""
    base: bytes
    """The post's bytes the edit was made from (the replace happens only if they are still there)."""
    data: bytes
    """The post's new bytes."""
    image: str
    """The repo-relative cover file the post now refers to."""
    old_cover: str | None
    """Regenerating: the repo-relative old cover file to remove once nothing mentions it."""
    fields: Mapping[str, fm.Value]
    """The frontmatter fields written (dotted names for nested keys)."""
    alt: str
    """The alt text the cover got."""


def alt_text(post: Post, meta: CoverMeta) -> str:
    """Every cover has alt text: the describer's sentence about the picture, else the title."""
    return meta.alt or post.title or PurePosixPath(post.rel).stem


def _fields(site: Site, post: Post, meta: CoverMeta, alt: str, regenerate: bool) -> dict[str, fm.Value]:
    fields: dict[str, fm.Value] = {"image_date": meta.date, "image_provider": meta.provider,
                                   "image_model": meta.model}
    if meta.prompt is not None:
        fields["image_prompt"] = meta.prompt
    if meta.card:
        fields[CARD_FIELD] = meta.card
    alt_name = site.alt_field(post)
    current = get_dotted(post.frontmatter, alt_name) if post.doc.has_frontmatter else None
    if regenerate or not (isinstance(current, str) and current.strip()):
        fields[alt_name] = alt  # the author's own alt text stays, unless the cover is new
    if regenerate and post.regenerate:  # the flag is turned off; a redraw or --regenerate adds none
        fields["regenerate_image"] = False
    return fields


def plan(site: Site, post: Post, *, image: str, meta: CoverMeta | None, regenerate: bool) -> CoverEdit:
    """The edit that gives `post` the cover file `image` (repo-relative): the site's reference to
    it (an embed line or cover fields), the provenance fields, and, regenerating, the old cover it
    replaces. `meta` None: `image` is the post's own picture (body-image: cover), so only the
    cover field is written. Raises FrontmatterError (UnsafeEdit: `cannot-edit`) or PostError when
    the post cannot take the edit."""
    alt = alt_text(post, meta) if meta is not None else (post.title or PurePosixPath(post.rel).stem)
    ref = site.reference(post, image, alt)
    made = _fields(site, post, meta, alt, regenerate) if meta is not None else {}
    fields: dict[str, fm.Value] = {post.spelled(k): v for k, v in {**ref.fields, **made}.items()}
    data = rewrite(post, embed=ref.embed, fields=fields, remove_cover=site.removes_body_cover(post, regenerate))
    old = site.previous_cover(post, new_name=posixpath.basename(image)) if regenerate else None
    return CoverEdit(path=post.path, rel=post.rel, title=post.title or "", base=post.raw, data=data, image=image,
                     old_cover=old if old != image else None, fields=fields, alt=alt)


def rewrite(post: Post, *, embed: str | None, fields: Mapping[str, fm.Value], remove_cover: bool) -> bytes:
    """The post's new bytes: the body with its cover embed line (imagegen.markdown.embeds
    `place_cover`: the old cover's line replaced when `remove_cover`, else a new line after the
    first H1) and `fields` set in the frontmatter with a minimal diff (frontmatter.set_fields,
    which re-reads its own edit). BOM, line endings and the final-newline state are kept; every
    other line is untouched, and the result is checked to be exactly that."""
    doc = post.doc
    body = embeds.place_cover(post.body, embed, remove_cover=remove_cover, newline=doc.newline,
                              final_newline=doc.final_newline)
    after = fm.edit(doc.replace_body(body), dict(fields))  # split from the new text and verified
    if after.body != body or after.bom != doc.bom:
        raise PostError("bad-frontmatter", f"{post.rel}: refusing to write: the edit did not land where intended")
    return after.text.encode("utf-8")


def check(site: Site, post: Post, *, regenerate: bool) -> CoverPlace:
    """Discovery's plan: the edit with a stand-in image at the site's cover place, made in memory
    so a post that cannot take it is skipped before any image is paid for. Returns the place (the
    run writes the cover file there)."""
    place = site.cover_place(post)
    plan(site, post, image=posixpath.join(place.folder, place.name + ".jpg"), meta=STAND_IN, regenerate=regenerate)
    return place
