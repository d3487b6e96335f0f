"""Issue 9: nothing lost. Each test provokes one way a run could lose or damage the user's data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from imagegen import pipeline, writer
from imagegen.testing import VirtualClock
from tests.helpers import commit_all, git, init_repo
from tests.test_pipeline import Scripted, blog, run

def regenerated(report) -> object:
    return next(g for g in report.generated if g.post == "s/2026-01-02-a.md")


REGEN = "---\ntitle: A\nregenerate_image: true\n---\n# A\n![[attachments/{name}]]\n\nText.\n"


# --------------------------------------------------------------------------- 1. shared covers

SHARED_MENTIONS = {
    "frontmatter-nested": ("s/2026-01-03-b.md", "---\ntitle: B\ncover:\n  image: attachments/shared.png\n---\n# B\n"),
    "frontmatter-list-of-dicts": ("s/2026-01-03-b.md", "---\ntitle: B\ngallery:\n  - src: /attachments/shared.png\n    alt: x\n---\n# B\n"),
    "reference-style": ("s/2026-01-03-b.md", "---\ntitle: B\n---\n# B\n![x][c]\n\n[c]: ../attachments/shared.png\n"),
    "img-tag": ("s/2026-01-03-b.md", '---\ntitle: B\n---\n# B\n<p><img alt="x" src="/attachments/shared.png"></p>\n'),
    "source-srcset": ("s/2026-01-03-b.md", '<picture><source srcset="/attachments/small.webp 1x, /attachments/shared.png 2x"></picture>\n'),
    "wikilink-without-extension": ("s/2026-01-03-b.md", "---\ntitle: B\n---\n# B\n![[shared]]\n"),
    "markdown-extension": ("s/2026-01-03-b.markdown", "---\ntitle: B\n---\n# B\n![b](../attachments/shared.png)\n"),
    "config-file": ("_config.yml", "title: Blog\ndefaults:\n  image: /attachments/shared.png\n"),
    "layout-html": ("_layouts/post.html", '<meta property="og:image" content="{{ site.url }}/attachments/Shared.PNG">\n'),
    "url-encoded": ("s/2026-01-03-b.md", "---\ntitle: B\n---\n# B\n![b](../attachments/shared.png?v=1)\n"),
    "undated-note": ("notes/ideas.md", "Use shared.png again for the next series.\n"),
}


@pytest.mark.parametrize("case", sorted(SHARED_MENTIONS))
def test_regenerate_keeps_a_cover_mentioned_by_any_text_file(tmp_path: Path, case: str) -> None:
    rel, text = SHARED_MENTIONS[case]
    repo = blog(tmp_path, {"s/2026-01-02-a.md": REGEN.format(name="shared.png"), rel: text,
                           "attachments/shared.png": "png"})
    g = regenerated(run(repo, Scripted()))
    assert (repo / "attachments/shared.png").exists(), case
    assert g.removed_image is None and g.kept_image == "attachments/shared.png"
    assert rel in (g.kept_because or "")


def test_regenerate_keeps_a_cover_the_post_itself_uses_further_down(tmp_path: Path) -> None:
    text = REGEN.format(name="shared.png") + "\nAs the cover shows:\n\n![[attachments/shared.png|300]]\n"
    repo = blog(tmp_path, {"s/2026-01-02-a.md": text, "attachments/shared.png": "png"})
    g = regenerated(run(repo, Scripted()))
    assert (repo / "attachments/shared.png").exists() and g.kept_image == "attachments/shared.png"


def test_regenerate_keeps_a_cover_an_untracked_file_mentions(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": REGEN.format(name="shared.png"), "attachments/shared.png": "png"})
    (repo / "drafts").mkdir()
    (repo / "drafts/next.md").write_text("![[attachments/shared.png]]\n")  # not committed
    g = regenerated(run(repo, Scripted()))
    assert (repo / "attachments/shared.png").exists() and "drafts/next.md" in (g.kept_because or "")


def test_regenerate_keeps_a_url_encoded_and_differently_cased_mention(tmp_path: Path) -> None:
    repo = blog(tmp_path, {
        "s/2026-01-02-a.md": REGEN.format(name="<My Cover.png>").replace("![[attachments/<My Cover.png>]]",
                                                                         "![[attachments/My Cover.png]]"),
        "s/2026-01-03-b.md": "---\ntitle: B\n---\n# B\n![b](../ATTACHMENTS/my%20cover.PNG)\n",
        "attachments/My Cover.png": "png",
    })
    g = regenerated(run(repo, Scripted()))
    assert (repo / "attachments/My Cover.png").exists() and g.kept_image == "attachments/My Cover.png"


def test_regenerate_still_deletes_an_old_cover_nothing_mentions(tmp_path: Path) -> None:
    """The check is not 'never delete': a similar name (post-2.png, post.jpg) is another file."""
    repo = blog(tmp_path, {
        "s/2026-01-02-a.md": REGEN.format(name="s-2026-01-02-a.jpg"),
        "s/2026-01-03-b.md": "---\ntitle: B\n---\n# B\n![[attachments/s-2026-01-02-a-2.png]]\n![[other-s-2026-01-02-a.jpg]]\n",
        "attachments/s-2026-01-02-a.jpg": "jpg",
        "attachments/s-2026-01-02-a-2.png": "png",
    })
    g = regenerated(run(repo, Scripted()))
    assert g.removed_image == "attachments/s-2026-01-02-a.jpg" and g.kept_image is None
    assert not (repo / "attachments/s-2026-01-02-a.jpg").exists()


def test_regenerate_keeps_the_cover_when_a_file_cannot_be_read(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": REGEN.format(name="shared.png"), "attachments/shared.png": "png",
                           "notes/secret.md": "maybe shared.png"})
    # EACCES provoked directly (CI runs as root, which reads a mode-000 file).
    import os

    from imagegen import references
    real_open = os.open

    def denied(path: object, *a: object, **k: object) -> int:
        if str(path).endswith("secret.md"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(references.os, "open", denied)
    g = regenerated(run(repo, Scripted()))
    assert (repo / "attachments/shared.png").exists() and "could not be read" in (g.kept_because or "")


# --------------------------------------------------------------------------- 16. orphans


def test_an_image_orphaned_by_a_killed_run_is_removed_and_its_name_reused(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": "---\ntitle: A\n---\n# A\n\nText.\n",
                           "attachments/keep.png": "png"})
    # A run killed between writing the image and updating the post:
    scratch = writer.scratch_dir(repo)
    assert scratch is not None
    journal = writer.Journal(scratch)
    image = writer.write_image(repo / "attachments", "s-2026-01-02-a", "jpg", b"half-done run", journal=journal)
    import os
    os.close(journal.fd)  # the process died: its lock goes, its journal stays
    # ... and an unrelated unreferenced image the user keeps there is not ours: it stays.
    (repo / "attachments/s-2026-01-02-a-draft.png").write_bytes(b"user's")
    g = regenerated(run(repo, Scripted()))
    assert g.image == "attachments/s-2026-01-02-a.jpg"  # not -2
    assert image.read_bytes() != b"half-done run"
    assert (repo / "attachments/keep.png").exists() and (repo / "attachments/s-2026-01-02-a-draft.png").exists()
    assert [p.name for p in scratch.iterdir()] == []


def test_a_live_runs_journal_is_left_alone(tmp_path: Path) -> None:
    repo = blog(tmp_path, {"s/2026-01-02-a.md": "---\ntitle: A\n---\n# A\n\nText.\n"})
    scratch = writer.scratch_dir(repo)
    other = writer.Journal(scratch)  # another run, still going
    (repo / "attachments").mkdir()
    image = writer.write_image(repo / "attachments", "s-2026-01-02-a", "jpg", b"theirs", journal=other)
    g = regenerated(run(repo, Scripted()))
    assert image.read_bytes() == b"theirs" and g.image == "attachments/s-2026-01-02-a-2.jpg"
    other.close()


def test_a_run_killed_while_recovering_leaves_the_journal_for_the_next(tmp_path: Path) -> None:
    import os

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    dead = writer.Journal(scratch)
    dead.begin(tmp_path / "a.jpg")
    dead.begin(tmp_path / "b.jpg")
    dead.done(tmp_path / "b.jpg")
    os.close(dead.fd)  # killed

    def killed_midway(path: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        writer.Journal.recover(scratch, killed_midway)
    seen: list[Path] = []
    assert writer.Journal.recover(scratch, seen.append) == 1
    assert seen == [tmp_path / "a.jpg"] and list(scratch.iterdir()) == []


# The same on every engine: the cleanup looks in the folders the site puts covers in (its
# `cover_folders`, and a Hugo page bundle's folder), not only in an Obsidian attachments folder.
ENGINE_ORPHANS = {
    "hugo": ("content/posts/spring-planting.md", "static/images/covers/spring-planting"),
    "hugo-bundle": ("content/posts/winter-walk/index.md", "content/posts/winter-walk/winter-walk-cover"),
    "jekyll": ("_posts/2026-02-01-meet-the-flock.md", "assets/images/covers/2026-02-01-meet-the-flock"),
    "astro": ("src/content/blog/first-post.md", "src/assets/covers/first-post"),
}


@pytest.mark.parametrize("case", sorted(ENGINE_ORPHANS))
def test_an_orphan_on_each_engine_is_removed_and_its_name_reused(tmp_path: Path, case: str) -> None:
    import os
    import shutil

    from tests.helpers import ROOT, run_cli

    post, stem = ENGINE_ORPHANS[case]
    repo = tmp_path / "site"
    shutil.copytree(ROOT / "examples" / case.split("-")[0], repo, ignore=shutil.ignore_patterns("node_modules"))
    init_repo(repo)
    commit_all(repo)
    scratch = writer.scratch_dir(repo)
    assert scratch is not None
    journal = writer.Journal(scratch)
    (repo / stem).parent.mkdir(parents=True, exist_ok=True)
    orphan = writer.write_image(repo / stem.rsplit("/", 1)[0], stem.rsplit("/", 1)[1], "jpg", b"half-done run",
                                journal=journal)
    os.close(journal.fd)  # the process died: its lock goes, its journal stays
    r = run_cli("run", str(repo), "--providers", "card", "--posts", post, "--describer", "off")
    assert r.returncode == 0, r.stderr
    assert f"removed {stem}.jpg" in r.stdout + r.stderr
    assert orphan.exists() and orphan.read_bytes() != b"half-done run"  # the new cover took its name
    assert not (repo / f"{stem}-2.jpg").exists()
    assert [p.name for p in scratch.iterdir()] == []
