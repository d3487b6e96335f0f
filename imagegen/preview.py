"""`imagegen preview`: look at the covers before they are committed.

One static HTML page, written to a file: no server, no network, nothing fetched. For every post it
shows the cover at the shapes social sites crop it to (a 1.91:1 link card, a 2:1 large card, a
square thumbnail), with the title, the provider and model that made it and its prompt, and marks
the posts whose cover is missing (no cover yet, or a cover naming a file that is not there) or
stale (a title card drawn from an older title, a post flagged `regenerate_image`): what the next
run would do. Posts that are skipped (drafts, future posts, ...) are listed with the reason.

The page refers to the cover files by paths relative to itself, so it works where it is written
(by default in the git directory, where it is never committed) and the images are the files the
posts use. A few lines of script only mark an image that does not load, so a broken reference is
seen on the page; nothing else runs.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass
from pathlib import Path

from imagegen import sites
from imagegen.config.settings import Settings
from imagegen.discover import Candidate, Discovery, discover
from imagegen.posts import Post, PostError
from imagegen.report import SkipReason

__all__ = ["CROPS", "Entry", "Preview", "build", "default_path", "render", "write"]

CROPS = (("link card 1.91:1", 1.91), ("large card 2:1", 2.0), ("square", 1.0))
"""The shapes social sites crop a cover to: Facebook/LinkedIn/Mastodon link previews (1.91:1), X's
large summary card (2:1), square thumbnails (chat apps, some feed readers)."""


@dataclass(frozen=True)
class Entry:
    """One post on the page."""

    post: str
    title: str
    state: str
    """ok | missing | stale | skipped"""
    why: str = ""
    image: str = ""
    """The cover file, repo-relative ('' when there is none)."""
    provider: str = ""
    model: str = ""
    prompt: str = ""
    alt: str = ""


@dataclass(frozen=True)
class Preview:
    entries: tuple[Entry, ...]

    def count(self, state: str) -> int:
        return sum(1 for e in self.entries if e.state == state)


def _field(post: Post, name: str) -> str:
    try:
        value = post.frontmatter.get(name) if post.doc.has_frontmatter else None
    except PostError:
        return ""
    return value if isinstance(value, str) else ""


def _entry(post: Post, site: sites.Site, todo: dict[str, Candidate]) -> Entry:
    image = site.cover_file(post) or ""
    cand = todo.get(post.rel)
    if cand is None:
        state, why = ("ok", "") if image else ("missing", "it names a cover file that is not there")
    elif cand.why == "missing":
        state, why = "missing", "no cover yet: the next run makes one"
    elif cand.why == "redraw":
        state, why = "stale", "a title card drawn from another title or card settings: the next run redraws it"
    else:
        state, why = "stale", "flagged regenerate_image: the next run replaces it"
    return Entry(post.rel, post.title or "", state, why, image, _field(post, "image_provider"),
                 _field(post, "image_model"), _field(post, "image_prompt"),
                 _field(post, site.alt_field(post)) or _field(post, "image_alt"))


def build(settings: Settings, site: sites.Site | None = None, today: dt.date | None = None) -> Preview:
    """What the page shows: every post discovery finds, with its cover and its state. Reads only."""
    site = site or sites.resolve(settings)
    today = today or dt.datetime.now(settings.tz).date()
    found: Discovery = discover(settings, today, site)
    todo = {c.post.rel: c for c in found.todo}
    by_rel = {p.rel: p for p in found.posts}
    entries = [_entry(by_rel[rel], site, todo) for rel in sorted(by_rel)]
    listed = {e.post for e in entries}
    for skip in found.skipped:
        if skip.post in listed:
            if skip.reason != SkipReason.HAS_IMAGE:
                entries = [e if e.post != skip.post else Entry(e.post, e.title, "skipped", skip.message or skip.reason,
                                                                  e.image, e.provider, e.model, e.prompt, e.alt)
                           for e in entries]
            continue
        entries.append(Entry(skip.post, "", "skipped", skip.message or skip.reason))
    order = {"missing": 0, "stale": 1, "ok": 2, "skipped": 3}
    return Preview(tuple(sorted(entries, key=lambda e: (order[e.state], e.post))))


STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem;background:#f6f6f4;color:#222}
h1{font-size:1.4rem}.summary{color:#555}
.post{background:#fff;border-radius:8px;padding:1rem 1.2rem;margin:1rem 0;box-shadow:0 1px 3px #0002}
.post h2{font-size:1.1rem;margin:.2rem 0}.path{color:#777;font-size:.85rem}
.badge{display:inline-block;border-radius:4px;padding:0 .4rem;font-size:.8rem;font-weight:600;margin-right:.4rem}
.ok .badge{background:#d8f0dc;color:#14532d}.missing .badge{background:#fde2e1;color:#8a1c1c}
.stale .badge{background:#fff1c2;color:#7a5200}.skipped .badge{background:#eee;color:#555}
.crops{display:flex;flex-wrap:wrap;gap:.8rem;margin:.6rem 0}
figure{margin:0}figcaption{font-size:.75rem;color:#666}
.crop{height:150px;overflow:hidden;border-radius:6px;background:#ddd}
.crop img{width:100%;height:100%;object-fit:cover;display:block}
img.broken{outline:3px solid #c00}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.4rem 0;font-size:.85rem}
dt{color:#777}dd{margin:0;white-space:pre-wrap}
"""

MARK_BROKEN = """
for (const img of document.querySelectorAll('img')) {
  const mark = () => {
    const ok = img.complete && img.naturalWidth > 0;
    img.dataset.state = ok ? 'loaded' : 'broken';
    if (!ok) img.classList.add('broken');
  };
  if (img.complete) mark(); else { img.addEventListener('load', mark); img.addEventListener('error', mark); }
}
"""


def _figures(src: str, alt: str) -> str:
    out = []
    for label, ratio in CROPS:
        width = round(150 * ratio)
        out.append(f'<figure><div class="crop" style="width:{width}px"><img src="{html.escape(src)}" '
                   f'alt="{html.escape(alt)}" loading="eager"></div><figcaption>{html.escape(label)}</figcaption>'
                   "</figure>")
    return '<div class="crops">' + "".join(out) + "</div>"


def _post_html(e: Entry, image_src: str) -> str:
    title = html.escape(e.title or e.post)
    parts = [f'<section class="post {e.state}"><h2><span class="badge">{e.state}</span>{title}</h2>',
             f'<div class="path">{html.escape(e.post)}</div>']
    if e.why:
        parts.append(f"<p>{html.escape(e.why)}</p>")
    if e.image:
        parts.append(_figures(image_src, e.alt or e.title))
    facts = [("cover", e.image), ("provider", " ".join(x for x in (e.provider, e.model) if x)), ("prompt", e.prompt),
             ("alt text", e.alt)]
    rows = "".join(f"<dt>{k}</dt><dd>{html.escape(v)}</dd>" for k, v in facts if v)
    if rows:
        parts.append(f"<dl>{rows}</dl>")
    parts.append("</section>")
    return "".join(parts)


def render(preview: Preview, repo: Path, page: Path) -> str:
    """The page's HTML, with every cover referred to by its path relative to `page`'s folder."""
    base = page.parent.resolve()
    posts = []
    for e in preview.entries:
        src = Path(os.path.relpath((repo / e.image).resolve(), base)).as_posix() if e.image else ""
        posts.append(_post_html(e, src))
    summary = (f"{len(preview.entries)} posts: {preview.count('ok')} with a cover, {preview.count('missing')} "
               f"missing, {preview.count('stale')} stale, {preview.count('skipped')} skipped")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Covers of {html.escape(repo.name)}</title><style>{STYLE}</style></head><body>"
            f"<h1>Covers of {html.escape(repo.name)}</h1><p class=\"summary\">{html.escape(summary)}</p>"
            + "\n".join(posts) + f"<script>{MARK_BROKEN}</script></body></html>\n")


def default_path(repo: Path) -> Path:
    """Where the page goes unless told: the git directory (never committed, nothing to clean up),
    else a hidden file at the folder's root."""
    git = repo / ".git"
    if git.is_dir():
        return git / "imagegen-preview.html"
    if git.is_file():  # a worktree: `.git` names the real git directory
        text = git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            target = Path(text.split(":", 1)[1].strip())
            target = target if target.is_absolute() else (repo / target)
            if target.is_dir():
                return target / "imagegen-preview.html"
    return repo / ".imagegen-preview.html"


def write(settings: Settings, out: Path | None = None) -> tuple[Path, Preview]:
    """Build the page and write it to `out` (default: `default_path`); the path and what it shows."""
    preview = build(settings)
    page = (out or default_path(settings.repo)).resolve()
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(render(preview, settings.repo, page), encoding="utf-8")
    return page, preview
