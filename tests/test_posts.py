"""posts: loading (and refusing) files, facts about a post, and the one edit it makes."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from imagegen.covers import rewrite
from imagegen import posts as posts_mod
from imagegen.markdown import embeds
from imagegen.markdown.embeds import CoverRef, embed_line
from imagegen.posts import Post, PostError, slug


def post(text: str, rel: str = "blog/2026-03-23-a-post.md") -> Post:
    return Post.from_text(text, rel)


def write(root: Path, rel: str, data: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    p.write_bytes(data)
    return p


# --------------------------------------------------------------------------- loading


def test_load_reads_a_post(tmp_path: Path) -> None:
    p = write(tmp_path, "blog/2026-03-23-hello.md", "---\ntitle: Hello\n---\n# Hello\n")
    loaded = Post.load(p, tmp_path, max_bytes=10_000)
    assert loaded.rel == "blog/2026-03-23-hello.md" and loaded.path == p and loaded.title == "Hello"
    assert loaded.date == dt.date(2026, 3, 23)


def test_symlink_outside_repo_is_refused_and_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    secret = write(outside, "2026-01-01-secret.md", "# Secret\n")
    repo.mkdir()
    link = repo / "2026-01-01-secret.md"
    link.symlink_to(secret)
    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(posts_mod.os, "open", lambda p, *a, **k: opened.append(str(p)) or real_open(p, *a, **k))
    with pytest.raises(PostError) as info:
        Post.load(link, repo, max_bytes=10_000)
    assert info.value.reason == "symlink-outside" and opened == []


def test_symlink_to_folder_outside_is_refused(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    write(outside, "2026-01-01-x.md", "# X\n")
    repo.mkdir()
    (repo / "linked").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PostError) as info:
        Post.load(repo / "linked" / "2026-01-01-x.md", repo, max_bytes=10_000)
    assert info.value.reason == "symlink-outside"


def test_symlink_inside_repo_is_fine(tmp_path: Path) -> None:
    real = write(tmp_path, "drafts/2026-01-01-x.md", "# X\n")
    (tmp_path / "2026-01-01-x.md").symlink_to(real)
    loaded = Post.load(tmp_path / "2026-01-01-x.md", tmp_path, max_bytes=100)
    assert loaded.rel == "2026-01-01-x.md" and loaded.title == "X"


@pytest.mark.parametrize("data, reason", [
    (b"# Caf\xe9\n", "not-utf8"),
    (b"\xff\xfe#\x00 \x00", "not-utf8"),
    (b"", "empty"),
    (b"  \n\t\r\n", "empty"),
    (b"\xef\xbb\xbf\n", "empty"),
    (b"---\ntitle: a: b\n---\n# T\n", "bad-frontmatter"),
    (b"---\ntitle: T\n# T\n", "bad-frontmatter"),
    (b"---\n- a\n---\n# T\n", "bad-frontmatter"),
])
def test_load_refusals(tmp_path: Path, data: bytes, reason: str) -> None:
    p = write(tmp_path, "2026-01-01-x.md", data)
    with pytest.raises(PostError) as info:
        Post.load(p, tmp_path, max_bytes=10_000)
    assert info.value.reason == reason
    assert "2026-01-01-x.md" in str(info.value) and "\n" not in str(info.value)


def test_bad_frontmatter_message_has_the_yaml_line(tmp_path: Path) -> None:
    p = write(tmp_path, "2026-01-01-x.md", "---\ntitle: ok\nsummary: a: b\n---\n# T\n")
    with pytest.raises(PostError, match=r"line 3.*summary: a: b"):
        Post.load(p, tmp_path, max_bytes=10_000)


def test_too_large_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "2026-01-01-x.md", "# T\n" + "x" * 100)
    monkeypatch.setattr(posts_mod.os, "read", lambda *a: pytest.fail("read a too-large file"))
    with pytest.raises(PostError) as info:
        Post.load(p, tmp_path, max_bytes=50)
    assert info.value.reason == "too-large"


def test_exactly_max_bytes_is_fine(tmp_path: Path) -> None:
    p = write(tmp_path, "2026-01-01-x.md", "# T\n")
    assert Post.load(p, tmp_path, max_bytes=4).title == "T"


def test_not_found(tmp_path: Path) -> None:
    with pytest.raises(PostError) as info:
        Post.load(tmp_path / "2026-01-01-nope.md", tmp_path, max_bytes=100)
    assert info.value.reason == "not-found"


def test_directory_named_like_a_post_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "2026-01-01-dir.md").mkdir()
    with pytest.raises(PostError) as info:
        Post.load(tmp_path / "2026-01-01-dir.md", tmp_path, max_bytes=100)
    assert info.value.reason == "unreadable"


def test_broken_symlink_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "2026-01-01-gone.md").symlink_to(tmp_path / "missing.md")
    with pytest.raises(PostError) as info:
        Post.load(tmp_path / "2026-01-01-gone.md", tmp_path, max_bytes=100)
    assert info.value.reason == "unreadable"


def test_os_error_while_reading_is_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "2026-01-01-x.md", "# T\n")

    def eio(*_: object) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(posts_mod.os, "read", eio)
    with pytest.raises(PostError, match="Input/output error") as info:
        Post.load(p, tmp_path, max_bytes=100)
    assert info.value.reason == "unreadable"


def test_permission_denied_is_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # EACCES provoked directly: CI runs as root, which reads a mode-000 file.
    p = write(tmp_path, "2026-01-01-x.md", "# T\n")

    def denied(*_: object, **__: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(posts_mod.os, "open", denied)
    with pytest.raises(PostError, match="Permission denied") as info:
        Post.load(p, tmp_path, max_bytes=100)
    assert info.value.reason == "unreadable"


# --------------------------------------------------------------------------- date


@pytest.mark.parametrize("name, expected", [
    ("2026-03-23-title.md", dt.date(2026, 3, 23)),
    ("2026-03-23.md", dt.date(2026, 3, 23)),
    ("2026-02-30-bad.md", None),
    ("2026-13-01-bad.md", None),
    ("20260323-title.md", None),
    ("2026-03-231-x.md", None),
    ("notes.md", None),
])
def test_date_from_file_name(name: str, expected: dt.date | None) -> None:
    assert post("# T\n", f"blog/{name}").date == expected


# --------------------------------------------------------------------------- title


@pytest.mark.parametrize("fm_line, title", [
    ("title: Plain title", "Plain title"),
    ("title: '  Single  quoted '", "Single quoted"),
    ('title: "Double: quoted"', "Double: quoted"),
    ("title: 2026", "2026"),
    ("title: 1.50", "1.50"),
    ("title: yes", "yes"),
    ("title: >\n  Folded\n  title", "Folded title"),
    ("title: |\n  Literal\n  title", "Literal title"),
])
def test_frontmatter_title_any_scalar_form(fm_line: str, title: str) -> None:
    assert post(f"---\n{fm_line}\n---\n# Heading\n").title == title


@pytest.mark.parametrize("fm_line", ["title:", "title: ''", "title: '   '", "title: null", "title: [a, b]", "other: x"])
def test_empty_or_odd_title_falls_through_to_h1(fm_line: str) -> None:
    assert post(f"---\n{fm_line}\n---\n\nIntro\n\n# The Heading #\n").title == "The Heading"


def test_yaml_comment_line_is_never_a_title() -> None:
    assert post("---\n# Looks like a heading\ndate: 2026-01-01\n---\nJust text.\n").title is None


def test_h1_in_fenced_code_is_not_a_title() -> None:
    assert post("```\n# not this\n```\n~~~md\n# nor this\n~~~\n# This one\n").title == "This one"


def test_hashtag_and_h2_are_not_titles() -> None:
    assert post("#hashtag\n## Subheading\n    # indented code\nText\n").title is None


def test_h1_with_up_to_three_spaces_and_crlf() -> None:
    assert post("   #  Spaced   title  \r\nbody\r\n").title == "Spaced title"


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("yes", True), ("True", True), ("'true'", True), ("'YES'", True), ('" Yes "', True),
    ("1", True), ("on", True), ("'on'", True),  # one rule with the settings (frontmatter.truthy)
    ("false", False), ("no", False), ("'no'", False), ("0", False), ("", False), ("maybe", False),
])
def test_regenerate_flag(value: str, expected: bool) -> None:
    assert post(f"---\nregenerate_image: {value}\n---\n# T\n").regenerate is expected
    assert post("---\ntitle: T\n---\n").regenerate is False


def test_cached_prompt() -> None:
    assert post("---\nimage_prompt: \"a red barn\"\n---\n# T\n").cached_prompt == "a red barn"
    assert post("---\nimage_prompt: '  '\n---\n# T\n").cached_prompt is None
    assert post("---\nimage_prompt: 3\n---\n# T\n").cached_prompt is None
    assert post("# T\n").cached_prompt is None


def test_frontmatter_values_are_json_like() -> None:
    assert post("---\ndate: 2026-03-23\nupdated: 2026-03-23 10:00:00\n---\n# T\n").frontmatter == {
        "date": "2026-03-23", "updated": "2026-03-23 10:00:00"}


# --------------------------------------------------------------------------- has-image


@pytest.mark.parametrize("line", [
    "![[attachments/a.png]]",
    "![[attachments/a.PNG|300]]",
    "![[a photo.JpEg]]",
    "![[x.gif]] and ![[y.webp]]",
    "![alt](attachments/a.png)",
    "![](attachments/my%20photo.jpg)",
    '![alt](attachments/a.png "A title")',
    "![alt](<attachments/my photo.png>)",
    "![a [nested] alt](../attachments/a.jpeg)",
    "Text before ![x](a.png) and after",
    '<img src="attachments/a.png" alt="x">',
    "<IMG SRC='whatever'>",
    "[![badge](https://example.com/b.png)](https://example.com)",
])
def test_image_embeds_count(line: str) -> None:
    p = post(f"# T\n\n{line}\n")
    assert p.has_image()


@pytest.mark.parametrize("body", [
    "`![[attachments/a.png]]`",
    "``![[attachments/a.png]] with ` inside``",
    "Inline `![alt](a.png)` only",
    "```\n![[attachments/a.png]]\n```",
    "```markdown title=\"x\"\n![[attachments/a.png]]\n```",
    "~~~\n![alt](a.png)\n~~~",
    "   ````\n![[a.png]]\n```\nstill code\n   ````",
    "```\nunclosed fence runs to the end\n![[a.png]]",
    "![[notes/other-note]]",
    "![[file.pdf]]",
    "[[attachments/a.png]]",
    "[a link](attachments/a.png)",
    "![alt](https://example.com/no-extension)",
    "\\`![[a.png]]` escaped backtick leaves the second one unmatched and this one literal",
])
def test_no_image_when_only_shown_as_code_or_not_an_image(body: str) -> None:
    p = post(f"# T\n\n{body}\n")
    expected = body.startswith("\\`")  # an escaped backtick does not open a span: that embed is real
    assert p.has_image() is expected


def test_inline_code_does_not_cross_a_blank_line() -> None:
    assert post("# T\n\na ` b\n\n![[a.png]] `\n").has_image()


def test_four_space_fence_is_not_a_fence() -> None:
    # indented more than 3 spaces: not a fence, so the embed counts (the safe direction: skipped)
    assert post("# T\n\n    ```\n![[a.png]]\n").has_image()


# --------------------------------------------------------------------------- cover


def test_cover_is_first_embed_after_h1() -> None:
    p = post("![[before.png]]\n# T\n\n`![[code.png]]`\n![x](<attachments/my%20cover.png>)\n![[later.png]]\n")
    assert p.cover() == CoverRef(line_index=4, target="attachments/my cover.png", start=0, end=34)


def test_cover_without_h1_is_first_in_body() -> None:
    p = post("---\ntitle: T\n---\ntext\n![[attachments/a.png|alias]]\n")
    c = p.cover()
    assert c is not None and c.target == "attachments/a.png" and c.line_index == 1


def test_no_cover() -> None:
    assert post("# T\n\ntext\n").cover() is None


# --------------------------------------------------------------------------- prompt text


def test_prompt_text_strips_markdown() -> None:
    body = """---
title: T
image_prompt: never in the prompt
---
# The **Title**

![[attachments/cover.png]]

Some *emphasis*, __strong__, ~~gone~~, ==marked== and `inline code` with a [link](https://x.org) and
[[Note|wiki alias]] plus [[Plain Note]] and a footnote[^1]. snake_case_name stays.

> A quote
- item one
1. item two
- [ ] task

| a | b |
|---|:-:|
| c | d |

<div class="x">html <b>bold</b></div> &amp; entity
<!-- hidden comment -->

```python
print("code block removed")
```

---

[^1]: The footnote text.
[ref]: https://example.com
"""
    text = post(body).prompt_text()
    assert text == ("The Title Some emphasis, strong, gone, marked and inline code with a link and wiki alias plus "
                    "Plain Note and a footnote. snake_case_name stays. A quote item one item two task a b c d "
                    "html bold & entity")


def test_prompt_text_drops_social_sections_and_links() -> None:
    body = """# Post

Real content here.

## Share this post

[Twitter](https://twitter.com/intent/tweet?u=1) | [Bluesky](https://bsky.app/intent)

### Sub of share
still share

## Next part

More content.
https://mastodon.social/@me
- [LinkedIn](https://www.linkedin.com/in/me)
Follow me: <https://x.com/me>
Visit https://example.com/about for details.

## 💬 Comments

Comment widget.

# Appendix
Final words.
"""
    text = post(body).prompt_text()
    # "Follow me:" is not a bare link line, so its text stays (only the social link goes)
    assert text == "Post Real content here. Next part More content. Follow me: Visit for details. Appendix Final words."


def test_prompt_text_keeps_headings_that_merely_start_like_social_ones() -> None:
    assert post("## Follow-up thoughts\nKept.\n").prompt_text() == "Follow-up thoughts Kept."


# --------------------------------------------------------------------------- updated()


E = "![[attachments/new.png]]"


def test_embed_goes_right_after_h1_and_fields_are_set() -> None:
    p = post("---\ntitle: T\n---\n# T\n\nBody\n")
    assert rewrite(p, embed=E, fields={"image_provider": "local"}, remove_cover=False) == \
        f'---\ntitle: T\nimage_provider: "local"\n---\n# T\n{E}\n\nBody\n'.encode()


def test_crlf_bom_preserved() -> None:
    p = post("\ufeff---\r\ntitle: T\r\n---\r\n# T\r\n\r\nBody\r\n")
    out = rewrite(p, embed=E, fields={"image_model": "m"}, remove_cover=False)
    assert out == f'\ufeff---\r\ntitle: T\r\nimage_model: "m"\r\n---\r\n# T\r\n{E}\r\n\r\nBody\r\n'.encode()


def test_no_final_newline_when_h1_is_last_line() -> None:
    assert rewrite(post("---\na: 1\n---\n# T"), embed=E, fields={}, remove_cover=False) == f"---\na: 1\n---\n# T\n{E}".encode()


def test_no_final_newline_kept_elsewhere() -> None:
    assert rewrite(post("# T\nlast"), embed=E, fields={}, remove_cover=False) == f"# T\n{E}\nlast".encode()


def test_no_h1_goes_after_frontmatter() -> None:
    assert rewrite(post("---\ntitle: T\n---\ntext\n"), embed=E, fields={}, remove_cover=False) == \
        f"---\ntitle: T\n---\n{E}\ntext\n".encode()


def test_frontmatter_only_file_without_newline() -> None:
    assert rewrite(post("---\ntitle: T\n---"), embed=E, fields={}, remove_cover=False) == f"---\ntitle: T\n---\n{E}".encode()


def test_no_frontmatter_no_h1_goes_to_the_top_and_frontmatter_is_created() -> None:
    out = rewrite(post("\ufefftext\r\n"), embed=E, fields={"image_provider": "p"}, remove_cover=False)
    assert out == f'\ufeff---\r\nimage_provider: "p"\r\n---\r\n{E}\r\ntext\r\n'.encode()


def test_h1_inside_code_and_yaml_comment_are_not_the_anchor() -> None:
    text = "---\n# yaml comment\ntitle: T\n---\n```\n# code\n```\n\n---\n\n# Real\nend\n"
    out = rewrite(post(text), embed=E, fields={}, remove_cover=False).decode()
    assert out == text.replace("# Real\n", f"# Real\n{E}\n")


def test_regenerate_replaces_old_cover_in_place() -> None:
    p = post("---\nregenerate_image: true\n---\n# T\n\n![[attachments/old.png]]\n\nBody\n")
    out = rewrite(p, embed=E, fields={"regenerate_image": False}, remove_cover=True)
    assert out == f"---\nregenerate_image: false\n---\n# T\n\n{E}\n\nBody\n".encode()


def test_remove_cover_sharing_a_line_keeps_the_text() -> None:
    p = post("# T\nLook: ![[attachments/old.png]] nice\n")
    assert rewrite(p, embed=E, fields={}, remove_cover=True) == f"# T\n{E}\nLook: nice\n".encode()


def test_remove_cover_without_new_embed_deletes_the_line() -> None:
    p = post("---\nimage: a.png\n---\n# T\n![[attachments/old.png]]\nBody\n")
    out = rewrite(p, embed=None, fields={"image": "attachments/new.png"}, remove_cover=True)
    assert out == b'---\nimage: "attachments/new.png"\n---\n# T\nBody\n'


@pytest.mark.parametrize("line, rest", [
    ("![[attachments/old.png]] caption", "caption"),
    ("  ![[attachments/old.png]] caption", "  caption"),
    ("caption ![[attachments/old.png]]", "caption"),
])
def test_remove_cover_leaves_tidy_text(line: str, rest: str) -> None:
    assert rewrite(post(f"# T\n{line}\n"), embed=None, fields={}, remove_cover=True) == f"# T\n{rest}\n".encode()


def test_remove_multi_line_img_tag_cover() -> None:
    p = post('# T\r\nBefore <img\r\n  src="attachments/old.png"\r\n  alt="x"> after\r\nNext\r\n')
    assert p.cover() is not None and p.cover().target == "attachments/old.png"  # type: ignore[union-attr]
    assert rewrite(p, embed=E, fields={}, remove_cover=True) == f"# T\r\n{E}\r\nBefore after\r\nNext\r\n".encode()
    p = post('# T\n<img\n src="old.png">\nNext')
    assert rewrite(p, embed=E, fields={}, remove_cover=True) == f"# T\n{E}\nNext".encode()
    assert rewrite(p, embed=None, fields={}, remove_cover=True) == b"# T\nNext"


def test_remove_cover_on_last_line_without_newline() -> None:
    assert rewrite(post("# T\n![[old.png]]"), embed=None, fields={}, remove_cover=True) == b"# T"
    assert rewrite(post("# T\r\nx\r\n![[old.png]]"), embed=None, fields={}, remove_cover=True) == b"# T\r\nx"
    assert rewrite(post("# T\n![[old.png]]"), embed=E, fields={}, remove_cover=True) == f"# T\n{E}".encode()


def test_body_traps_stay_byte_identical() -> None:
    body = "# T\r\n\r\n---\r\n\r\n```yaml\r\n---\r\ntitle: fake\r\n---\r\n```\r\n\r\n***\r\n`![[x.png]]`\r\nend"
    p = post("---\r\ntitle: T\r\n---\r\n" + body)
    out = rewrite(p, embed=E, fields={"image_prompt": "p"}, remove_cover=False).decode()
    assert out.endswith(body.replace("# T\r\n", f"# T\r\n{E}\r\n", 1))


def test_nothing_to_do_returns_the_same_bytes() -> None:
    text = "\ufeff---\r\nodd:   value # c\r\n---\r\n# T"
    assert rewrite(post(text), embed=None, fields={}, remove_cover=False) == text.encode()


# --------------------------------------------------------------------------- embed_line, slug


def test_embed_line_styles() -> None:
    assert embed_line("obsidian", "attachments/a b.png", "blog/2026-x.md", "T") == "![[attachments/a b.png|T]]"
    # the alias is Obsidian's alt text: no brackets, pipes or anchors in it, and never one that reads as a size
    assert embed_line("obsidian", "a.png", "p.md", "A [[wiki]] | #tag ^b\nx") == "![[a.png|A wiki tag b x]]"
    assert embed_line("obsidian", "a.png", "p.md", "2026") == "![[a.png]]"
    assert embed_line("obsidian", "a.png", "p.md", "300 x 200") == "![[a.png]]"
    assert embed_line("obsidian", "a.png", "p.md", "  ") == "![[a.png]]"
    assert embed_line("markdown", "attachments/a b(1).png", "blog/sub/2026-x.md", "A [big]\\ title\n2") == \
        "![A \\[big\\]\\\\ title 2](../../attachments/a%20b%281%29.png)"
    assert embed_line("markdown", "attachments/a.png", "2026-x.md", "T") == "![T](attachments/a.png)"
    assert embed_line("frontmatter", "attachments/a.png", "2026-x.md", "T") is None
    with pytest.raises(ValueError):
        embed_line("html", "a.png", "p.md", "T")


def test_markdown_embed_is_recognised_as_a_cover() -> None:
    line = embed_line("markdown", "attachments/my cover (1).png", "blog/p.md", "A [t]")
    assert line is not None
    c = post(f"# T\n{line}\n").cover()
    assert c is not None and c.target == "../attachments/my cover (1).png"


@pytest.mark.parametrize("text, expected", [
    ("Hello, World!", "hello-world"),
    ("  --Already--slugged--  ", "already-slugged"),
    ("Café crème 2026", "caf-cr-me-2026"),
    ("auto-blog-zero-2026-03-23-title", "auto-blog-zero-2026-03-23-title"),
    ("🐔🐔", ""),
    ("A_B.C", "a-b-c"),
])
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected


# --------------------------------------------------------------------------- the scan's shortcuts

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PIECES = st.sampled_from([
    "# Title", "#  ", "## Sub", "![[a.png]]", "![x](b.jpg)", "<img src=c.gif>", "[[d.png]]", "`", "``", "```", "~~~",
    "```py", "    ", "text", " ", "\n", "\n\n", "\r\n", "\n \n", "\\", "> ", "- ", "---",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=25))
def test_quick_answers_match_the_full_ones(pieces: list[str]) -> None:
    body = "x\n" + "".join(pieces)  # never a frontmatter: this is about the body
    assert Post.from_text(body).quick_has_image() == Post.from_text(body).has_image()
    assert Post.from_text(body).quick_has_h1() == (Post.from_text(body).body.h1 is not None)


LINES = st.sampled_from([
    "# Title", "## Sub", "text", "", "![[attachments/old.png]]", "Look ![x](old.jpg) here", "<img\n src='o.gif'>",
    "```", "`![[c.png]]`", "---", "> quote", "   ", "trailing  ",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=12), st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans())
def test_regenerate_edit_swaps_exactly_one_cover(lines: list[str], nl: str, final: bool, with_embed: bool) -> None:
    text = "---" + nl + "title: T" + nl + "---" + nl + nl.join(line.replace("\n", nl) for line in lines) + (nl if final else "")
    before = Post.from_text(text)
    old = before.cover()
    out = rewrite(before, embed=E if with_embed else None, fields={"regenerate_image": False}, remove_cover=True).decode()
    after = Post.from_text(out)
    assert after.frontmatter == {"title": "T", "regenerate_image": False}
    if out.endswith(nl) != text.endswith(nl):
        # only when the removed cover was the unbroken last line after an empty line: the empty
        # line then ends the file, which is the same as the line before ending with a break
        assert old is not None and not with_embed and not text.endswith(nl) and (nl + nl) in text
    n_before, n_after = len(embeds.find(before.body)), len(embeds.find(after.body))
    assert n_after == n_before - (old is not None) + with_embed
    if with_embed:
        assert after.cover() is not None and after.cover().target == "attachments/new.png"  # type: ignore[union-attr]
    if old is None and not with_embed:
        assert out.encode() == rewrite(before, embed=None, fields={"regenerate_image": False}, remove_cover=False)
