"""discover: which posts need a cover, in which order, and why the others are skipped."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from imagegen import posts as posts_mod
from imagegen import sites
from imagegen.discover import Candidate, Discovery, DiscoveryError, Skip, discover
from imagegen.config.settings import Settings
from tests.helpers import commit_all, git, init_repo

TODAY = dt.date(2026, 3, 25)
NO_COVER = "---\ntitle: {t}\n---\n# {t}\n\nText.\n"
COVER = "---\ntitle: {t}\n---\n# {t}\n\n![[attachments/{t}.png]]\n\nText.\n"


def write(root: Path, rel: str, data: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def run(repo: Path, **kw: object) -> Discovery:
    s = Settings(repo=repo.resolve(), **kw)  # type: ignore[arg-type]
    return discover(s, TODAY, sites.resolve(s))


def todo(d: Discovery) -> list[tuple[str, str]]:
    return [(c.post.rel, c.why) for c in d.todo]


def skips(d: Discovery) -> dict[str, str]:
    return {s.post: s.reason for s in d.skipped}


# --------------------------------------------------------------------------- what is a post


def test_dated_md_files_anywhere_are_posts(tmp_path: Path) -> None:
    write(tmp_path, "2026-01-01-root.md", NO_COVER.format(t="root"))
    write(tmp_path, "series/2026-01-02-a.md", NO_COVER.format(t="a"))
    write(tmp_path, "series/deep/er/2026-01-03-b.md", NO_COVER.format(t="b"))
    write(tmp_path, "series/notes.md", NO_COVER.format(t="undated"))
    write(tmp_path, "series/2026-01-04-not-markdown.txt", "x")
    d = run(tmp_path)
    assert todo(d) == [("series/deep/er/2026-01-03-b.md", "missing"), ("series/2026-01-02-a.md", "missing"),
                       ("2026-01-01-root.md", "missing")]
    assert d.skipped == [] and [p.rel for p in d.posts] == sorted(r for r, _ in todo(d))


def test_hidden_attachments_and_node_modules_are_not_walked(tmp_path: Path) -> None:
    for folder in (".git", ".github", ".obsidian", ".trash", "attachments", "node_modules", "a/node_modules", "a/.hidden"):
        write(tmp_path, f"{folder}/2026-01-01-x.md", NO_COVER.format(t="x"))
    write(tmp_path, ".2026-01-01-hidden-file.md", NO_COVER.format(t="x"))
    write(tmp_path, "a/attachments/2026-01-01-kept.md", NO_COVER.format(t="kept"))  # only the configured folder
    d = run(tmp_path)
    assert todo(d) == [("a/attachments/2026-01-01-kept.md", "missing")]


def test_custom_attachments_dir_is_not_walked(tmp_path: Path) -> None:
    write(tmp_path, "assets/covers/2026-01-01-x.md", NO_COVER.format(t="x"))
    write(tmp_path, "attachments/2026-01-01-y.md", NO_COVER.format(t="y"))
    assert todo(run(tmp_path, attachments_dir="assets/covers")) == [("attachments/2026-01-01-y.md", "missing")]


def test_excluded_names_are_silently_not_posts(tmp_path: Path) -> None:
    for name in ("index.md", "AGENTS.md", "IDEAS.md", "README.md", "readme.md"):
        write(tmp_path, f"s/{name}", NO_COVER.format(t="x"))
    write(tmp_path, "s/2026-01-01-index.md", NO_COVER.format(t="x"))
    d = run(tmp_path, include_undated=True)
    assert todo(d) == [("s/2026-01-01-index.md", "missing")] and d.skipped == []
    d = run(tmp_path, include_undated=True, exclude=("2026-01-01-index.md",))
    assert sorted(r for r, _ in todo(d)) == ["s/AGENTS.md", "s/IDEAS.md", "s/README.md", "s/index.md", "s/readme.md"]


def test_include_undated_orders_by_frontmatter_dates(tmp_path: Path) -> None:
    write(tmp_path, "2026-01-10-dated.md", NO_COVER.format(t="d"))
    write(tmp_path, "u-updated.md", "---\ntitle: U\nupdated: 2026-02-01\ndate: 2020-01-01\n---\n# U\n")
    write(tmp_path, "u-modified.md", "---\ntitle: M\nmodified: '2026-01-20T10:00'\n---\n# M\n")
    write(tmp_path, "u-date.md", "---\ntitle: D\ndate: 2026-01-05\ncreated: 2027-01-01\n---\n# D\n")
    write(tmp_path, "u-created.md", "---\ntitle: C\ncreated: 2025-12-31\n---\n# C\n")
    write(tmp_path, "u-none.md", "# N\n")
    write(tmp_path, "u-bad.md", "---\ntitle: B\ndate: not a date\n---\n# B\n")
    assert [r for r, _ in todo(run(tmp_path))] == ["2026-01-10-dated.md"]
    assert [r for r, _ in todo(run(tmp_path, include_undated=True))] == [
        "u-updated.md", "u-modified.md", "2026-01-10-dated.md", "u-date.md", "u-created.md", "u-bad.md", "u-none.md"]


# --------------------------------------------------------------------------- verdicts


def test_skip_reasons_and_candidates(tmp_path: Path) -> None:
    write(tmp_path, "b/2026-01-01-covered.md", COVER.format(t="c"))
    write(tmp_path, "b/2026-01-02-untitled.md", "---\ndate: 2026-01-02\n# yaml comment, not a title\n---\nText.\n")
    write(tmp_path, "b/2026-03-25-today.md", NO_COVER.format(t="today"))
    write(tmp_path, "b/2026-03-26-tomorrow.md", NO_COVER.format(t="tomorrow"))
    write(tmp_path, "b/2026-01-03-regen.md", "---\ntitle: R\nregenerate_image: true\n---\n# R\n![[attachments/r.png]]\n")
    write(tmp_path, "b/2026-01-04-regen-str.md", "---\ntitle: R\nregenerate_image: 'Yes'\n---\n# R\n![[r.png]]\n")
    write(tmp_path, "b/2026-01-05-regen-off.md", "---\ntitle: R\nregenerate_image: false\n---\n# R\n![[r.png]]\n")
    write(tmp_path, "b/2026-01-06-code-only.md", "---\ntitle: C\n---\n# C\n\n`![[attachments/x.png]]`\n```\n![[y.png]]\n```\n")
    write(tmp_path, "b/2026-01-07-latin1.md", b"# Caf\xe9\n")
    write(tmp_path, "b/2026-01-08-empty.md", b"")
    write(tmp_path, "b/2026-01-09-blank.md", "\n  \n")
    write(tmp_path, "b/2026-01-10-big.md", "# Big\n" + "x" * 5000)
    write(tmp_path, "b/2026-01-11-badyaml.md", "---\ntitle: a: b\n---\n# T\n![[x.png]]\n")
    write(tmp_path, "b/2026-01-12-unclosed.md", "---\ntitle: T\n# T\n")
    (tmp_path / "b/2026-01-13-dangling.md").symlink_to(tmp_path / "nowhere.md")
    d = run(tmp_path, max_post_bytes=4096)
    assert todo(d) == [
        ("b/2026-03-25-today.md", "missing"),
        ("b/2026-01-06-code-only.md", "missing"),
        ("b/2026-01-04-regen-str.md", "regenerate"),
        ("b/2026-01-03-regen.md", "regenerate"),
        ("b/2026-01-02-untitled.md", "missing"),  # titled by its file name, as Obsidian shows it
    ]
    assert d.todo[-1].post.title == "2026-01-02-untitled"
    assert skips(d) == {
        "b/2026-01-01-covered.md": "has-image",
        "b/2026-03-26-tomorrow.md": "future",
        "b/2026-01-05-regen-off.md": "has-image",
        "b/2026-01-07-latin1.md": "not-utf8",
        "b/2026-01-08-empty.md": "empty",
        "b/2026-01-09-blank.md": "empty",
        "b/2026-01-10-big.md": "too-large",
        "b/2026-01-11-badyaml.md": "bad-frontmatter",
        "b/2026-01-12-unclosed.md": "bad-frontmatter",
        "b/2026-01-13-dangling.md": "unreadable",
    }
    assert [s.post for s in d.skipped] == sorted(s.post for s in d.skipped)
    bad = next(s for s in d.skipped if s.reason == "bad-frontmatter" and "badyaml" in s.post)
    assert "line 2" in bad.message and "title: a: b" in bad.message
    loaded = {p.rel for p in d.posts}
    assert "b/2026-01-01-covered.md" in loaded and "b/2026-03-26-tomorrow.md" in loaded
    assert "b/2026-01-07-latin1.md" not in loaded


def test_permission_denied_is_skipped_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # EACCES provoked directly: CI runs as root, which reads a mode-000 file.
    write(tmp_path, "2026-01-01-locked.md", NO_COVER.format(t="x"))
    real_open = os.open

    def denied(path: object, *a: object, **k: object) -> int:
        if str(path).endswith("locked.md"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(posts_mod.os, "open", denied)
    assert skips(run(tmp_path)) == {"2026-01-01-locked.md": "unreadable"}


def test_unreadable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "2026-01-01-ok.md", NO_COVER.format(t="ok"))
    write(tmp_path, "2026-01-02-eio.md", NO_COVER.format(t="eio"))
    real_open = os.open

    def failing_open(path: object, *a: object, **k: object) -> int:
        if str(path).endswith("eio.md"):
            raise OSError(5, "Input/output error")
        return real_open(path, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(posts_mod.os, "open", failing_open)
    d = run(tmp_path)
    assert todo(d) == [("2026-01-01-ok.md", "missing")]
    assert d.skipped == [Skip("2026-01-02-eio.md", "unreadable", "2026-01-02-eio.md could not be opened: Input/output error")]


def test_quick_path_agrees_with_the_full_rules(tmp_path: Path) -> None:
    # Each post is decided the same way whether or not its YAML needs a full parse.
    write(tmp_path, "2026-01-01-title-in-fm-only.md", "---\ntitle: T\n---\n![[a.png]]\n")
    write(tmp_path, "2026-01-02-no-title-with-image.md", "---\ndate: 2026-01-02\n---\n![[a.png]]\n")
    write(tmp_path, "2026-01-03-complex-yaml.md", "---\ntitle: &t T\nalias: *t\n---\n# T\n![[a.png]]\n")
    write(tmp_path, "2026-01-04-regen-quick.md", "---\nregenerate_image: yes\n---\n# T\n![[a.png]]\n")
    write(tmp_path, "2026-01-05-regen-quoted-key.md", "---\n\"regenerate_image\": true\n---\n# T\n![[a.png]]\n")
    write(tmp_path, "2026-01-06-bad-yaml-with-cover.md", "---\ntitle: [unclosed\n---\n# T\n![[a.png]]\n")
    write(tmp_path, "2026-01-07-non-mapping.md", "---\n- a\n---\n# T\n![[a.png]]\n")
    write(tmp_path, "2099-01-01-future-bad-yaml.md", "---\ntitle: [unclosed\n---\n# T\n")
    d = run(tmp_path)
    assert todo(d) == [("2026-01-05-regen-quoted-key.md", "regenerate"), ("2026-01-04-regen-quick.md", "regenerate")]
    assert skips(d) == {
        "2026-01-01-title-in-fm-only.md": "has-image",
        "2026-01-02-no-title-with-image.md": "has-image",
        "2026-01-03-complex-yaml.md": "has-image",
        "2026-01-06-bad-yaml-with-cover.md": "bad-frontmatter",
        "2026-01-07-non-mapping.md": "bad-frontmatter",
        "2099-01-01-future-bad-yaml.md": "bad-frontmatter",
    }


def test_frontmatter_embed_style_field_is_a_cover(tmp_path: Path) -> None:
    write(tmp_path, "2026-01-01-field.md", "---\ntitle: F\ncover: attachments/f.png\n---\n# F\n")
    write(tmp_path, "2026-01-02-empty-field.md", "---\ntitle: E\ncover: ''\n---\n# E\n")
    d = run(tmp_path, embed_style="frontmatter", frontmatter_field="cover")
    assert todo(d) == [("2026-01-02-empty-field.md", "missing")]
    assert skips(d) == {"2026-01-01-field.md": "has-image"}
    assert [r for r, _ in todo(run(tmp_path))] == ["2026-01-02-empty-field.md", "2026-01-01-field.md"]


def test_order_newest_first_then_path(tmp_path: Path) -> None:
    for rel in ("b/2026-01-02-x.md", "a/2026-01-02-y.md", "c/2026-01-03-z.md", "a/2025-12-31-w.md"):
        write(tmp_path, rel, NO_COVER.format(t="t"))
    assert [r for r, _ in todo(run(tmp_path))] == [
        "c/2026-01-03-z.md", "a/2026-01-02-y.md", "b/2026-01-02-x.md", "a/2025-12-31-w.md"]


def test_candidate_and_skip_shapes(tmp_path: Path) -> None:
    write(tmp_path, "2026-01-01-x.md", NO_COVER.format(t="x"))
    c = run(tmp_path).todo[0]
    assert isinstance(c, Candidate) and c.why == "missing" and c.post.title == "x"
    with pytest.raises(AttributeError):
        c.why = "other"  # type: ignore[misc]


def test_regenerate_reads_only_the_selected_posts(tmp_path: Path) -> None:
    # Whether an old cover is still mentioned is imagegen.references' question (it searches every
    # text file when a cover is replaced): discovery never loads the other Markdown files.
    write(tmp_path, "a/2026-01-01-regen.md", "---\ntitle: R\nregenerate_image: true\n---\n# R\n![[attachments/old.png]]\n")
    write(tmp_path, "b/2026-01-02-other.md", "# O\n![[attachments/old.png]]\n")
    write(tmp_path, "b/index.md", "# Index\n![[attachments/index.png]]\n")
    d = run(tmp_path, posts=("a/2026-01-01-regen.md",))
    assert todo(d) == [("a/2026-01-01-regen.md", "regenerate")] and d.skipped == []
    assert [p.rel for p in d.posts] == ["a/2026-01-01-regen.md"]


# --------------------------------------------------------------------------- symlinks


def test_symlinked_post_outside_repo_is_skipped_and_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    target = write(outside, "2026-01-01-secret.md", NO_COVER.format(t="secret"))
    write(repo, "2026-01-02-ok.md", NO_COVER.format(t="ok"))
    (repo / "2026-01-01-secret.md").symlink_to(target)
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(posts_mod.os, "open", lambda p, *a, **k: opened.append(str(p)) or real_open(p, *a, **k))
    d = run(repo)
    assert todo(d) == [("2026-01-02-ok.md", "missing")]
    assert skips(d) == {"2026-01-01-secret.md": "symlink-outside"}
    assert not any("secret" in p for p in opened)


def test_folder_symlink_outside_repo_is_not_followed(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    write(outside, "2026-01-01-x.md", NO_COVER.format(t="x"))
    repo.mkdir()
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    d = run(repo)
    assert d.todo == [] and d.skipped == [] and d.posts == []


def test_folder_symlink_inside_repo_is_followed_once(tmp_path: Path) -> None:
    write(tmp_path, "real/2026-01-01-x.md", NO_COVER.format(t="x"))
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "2026-01-01-x.md").symlink_to(tmp_path / "real/2026-01-01-x.md")  # a file link to the same post
    write(tmp_path, ".drafts/2026-01-02-d.md", NO_COVER.format(t="d"))
    (tmp_path / "drafts").symlink_to(tmp_path / ".drafts", target_is_directory=True)
    d = run(tmp_path)
    assert todo(d) == [("drafts/2026-01-02-d.md", "missing"), ("real/2026-01-01-x.md", "missing")]


def test_direct_path_wins_over_a_link_from_an_earlier_content_path(tmp_path: Path) -> None:
    write(tmp_path, "b/2026-01-01-x.md", NO_COVER.format(t="x"))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "link").symlink_to(tmp_path / "b", target_is_directory=True)
    assert todo(run(tmp_path, paths=("a", "b"))) == [("b/2026-01-01-x.md", "missing")]
    assert todo(run(tmp_path, paths=("a",))) == [("a/link/2026-01-01-x.md", "missing")]


def test_file_swapped_for_a_symlink_after_listing_is_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    post_file = write(repo, "2026-01-01-x.md", NO_COVER.format(t="x"))
    secret = write(tmp_path, "outside.md", "# secret\n")
    real_read = posts_mod.Post._read.__func__  # type: ignore[attr-defined]

    def swap_then_read(cls, path, rel, max_bytes, **kw):  # type: ignore[no-untyped-def]
        post_file.unlink()
        post_file.symlink_to(secret)
        return real_read(cls, path, rel, max_bytes, **kw)

    monkeypatch.setattr(posts_mod.Post, "_read", classmethod(swap_then_read))
    d = run(repo)
    assert d.todo == [] and skips(d) == {"2026-01-01-x.md": "unreadable"}


def test_symlink_loops_terminate(tmp_path: Path) -> None:
    write(tmp_path, "a/2026-01-01-x.md", NO_COVER.format(t="x"))
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "a" / "self").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "b").symlink_to(tmp_path / "c", target_is_directory=True)
    (tmp_path / "c").symlink_to(tmp_path / "b", target_is_directory=True)
    assert todo(run(tmp_path)) == [("a/2026-01-01-x.md", "missing")]


# --------------------------------------------------------------------------- selection


def test_content_paths_restrict_the_walk(tmp_path: Path) -> None:
    write(tmp_path, "one/2026-01-01-a.md", NO_COVER.format(t="a"))
    write(tmp_path, "two/2026-01-02-b.md", NO_COVER.format(t="b"))
    write(tmp_path, "three/2026-01-03-c.md", NO_COVER.format(t="c"))
    assert [r for r, _ in todo(run(tmp_path, paths=("one", "three/", "one/.")))] == [
        "three/2026-01-03-c.md", "one/2026-01-01-a.md"]
    assert [r for r, _ in todo(run(tmp_path, paths=("two/2026-01-02-b.md",)))] == ["two/2026-01-02-b.md"]


@pytest.mark.parametrize("path, message", [("missing", "does not exist"), ("../elsewhere", "outside")])
def test_bad_content_path_is_a_discovery_error(tmp_path: Path, path: str, message: str) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(DiscoveryError, match=message):
        run(tmp_path / "repo", paths=(path,))


def test_explicit_post_list(tmp_path: Path) -> None:
    write(tmp_path, "s/2026-01-01-a.md", NO_COVER.format(t="a"))
    write(tmp_path, "s/2026-01-02-b.md", NO_COVER.format(t="b"))
    write(tmp_path, "s/undated.md", NO_COVER.format(t="u"))
    write(tmp_path, "s/README.md", NO_COVER.format(t="r"))
    write(tmp_path, "s/notes.txt", "x")
    write(tmp_path, ".hidden/2026-01-03-h.md", NO_COVER.format(t="h"))
    d = run(tmp_path, posts=("s/2026-01-02-b.md", "s/undated.md", "s/README.md", "s/gone.md", "s/notes.txt", "s",
                             ".hidden/2026-01-03-h.md", "s/./2026-01-02-b.md"))
    assert todo(d) == [(".hidden/2026-01-03-h.md", "missing"), ("s/2026-01-02-b.md", "missing"), ("s/undated.md", "missing")]
    assert skips(d) == {"s/README.md": "excluded", "s/gone.md": "not-found", "s/notes.txt": "not-a-post", "s": "not-a-post"}


def test_explicit_symlink_outside_is_skipped(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    target = write(tmp_path, "outside/2026-01-01-x.md", NO_COVER.format(t="x"))
    repo.mkdir()
    (repo / "2026-01-01-x.md").symlink_to(target)
    assert skips(run(repo, posts=("2026-01-01-x.md",))) == {"2026-01-01-x.md": "symlink-outside"}


# --------------------------------------------------------------------------- changed since


def _changed_repo(root: Path) -> Path:
    repo = init_repo(root)
    (repo / ".gitignore").write_text("ignored/\n")
    for name in ("p1-unstaged", "p2-committed", "p3-deleted", "p8-unchanged", "p9-renamed-from"):
        write(repo, f"s/2026-01-01-{name}.md", NO_COVER.format(t=name))
    commit_all(repo, "first")
    git(repo, "tag", "base")
    write(repo, "s/2026-01-01-p2-committed.md", NO_COVER.format(t="p2 changed"))
    write(repo, "s/2026-01-01-p4-added.md", NO_COVER.format(t="p4"))
    (repo / "s/2026-01-01-p3-deleted.md").unlink()
    git(repo, "mv", "s/2026-01-01-p9-renamed-from.md", "s/2026-01-01-p9-renamed-to.md")
    commit_all(repo, "second")
    write(repo, "s/2026-01-01-p1-unstaged.md", NO_COVER.format(t="p1 edited"))
    write(repo, "s/2026-01-01-p5-staged.md", NO_COVER.format(t="p5"))
    git(repo, "add", "s/2026-01-01-p5-staged.md")
    write(repo, "s/2026-01-01-p6 untracked é.md", NO_COVER.format(t="p6"))
    write(repo, "ignored/2026-01-01-p7-ignored.md", NO_COVER.format(t="p7"))
    return repo


def test_changed_since_committed_uncommitted_and_untracked(tmp_path: Path) -> None:
    repo = _changed_repo(tmp_path / "blog")
    d = run(repo, changed_since="base")
    assert sorted(r for r, _ in todo(d)) == [
        "s/2026-01-01-p1-unstaged.md", "s/2026-01-01-p2-committed.md", "s/2026-01-01-p4-added.md",
        "s/2026-01-01-p5-staged.md", "s/2026-01-01-p6 untracked é.md", "s/2026-01-01-p9-renamed-to.md"]
    assert d.skipped == []
    d = run(repo, changed_since="HEAD")
    assert sorted(r for r, _ in todo(d)) == [
        "s/2026-01-01-p1-unstaged.md", "s/2026-01-01-p5-staged.md", "s/2026-01-01-p6 untracked é.md"]


def test_changed_since_with_explicit_posts_intersects(tmp_path: Path) -> None:
    repo = _changed_repo(tmp_path / "blog")
    d = run(repo, changed_since="HEAD", posts=("s/2026-01-01-p1-unstaged.md", "s/2026-01-01-p8-unchanged.md"))
    assert todo(d) == [("s/2026-01-01-p1-unstaged.md", "missing")]


def test_changed_since_when_the_blog_is_a_subfolder_of_the_git_repo(tmp_path: Path) -> None:
    top = init_repo(tmp_path / "top")
    write(top, "blog/s/2026-01-01-old.md", NO_COVER.format(t="old"))
    write(top, "other/2026-01-01-elsewhere.md", NO_COVER.format(t="x"))
    commit_all(top, "first")
    write(top, "blog/s/2026-01-02-new.md", NO_COVER.format(t="new"))
    write(top, "other/2026-01-02-elsewhere.md", NO_COVER.format(t="x"))
    assert todo(run(top / "blog", changed_since="HEAD")) == [("s/2026-01-02-new.md", "missing")]


@pytest.mark.parametrize("ref", ["no-such-branch", "HEAD~5", "-rf", "--output=/tmp/x"])
def test_unknown_ref_is_a_clear_error(tmp_path: Path, ref: str) -> None:
    repo = init_repo(tmp_path / "blog")
    write(repo, "2026-01-01-a.md", NO_COVER.format(t="a"))
    commit_all(repo)
    with pytest.raises(DiscoveryError, match="changed-since") as info:
        run(repo, changed_since=ref)
    assert "\n" not in str(info.value) and repr(ref) in str(info.value)


def test_changed_since_outside_git_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # tmp may itself sit inside a checkout
    write(tmp_path / "plain", "2026-01-01-a.md", NO_COVER.format(t="a"))
    with pytest.raises(DiscoveryError, match="not inside a git repository"):
        run(tmp_path / "plain", changed_since="HEAD")


# --------------------------------------------------------------------------- the demo blog


def test_example_blog(tmp_path: Path) -> None:
    blog = Path(__file__).resolve().parents[1] / "examples" / "blog"
    if not blog.is_dir():
        pytest.skip("no example blog")
    s = Settings(repo=blog)
    d = discover(s, TODAY, sites.resolve(s))
    reasons = {s.reason for s in d.skipped}
    assert {"has-image", "future"} <= reasons
    assert "auto-blog-zero/2026-03-22-code-in-posts.md" in {c.post.rel for c in d.todo}
    assert all(c.why in ("missing", "regenerate") for c in d.todo)
