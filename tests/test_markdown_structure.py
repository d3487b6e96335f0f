"""The CommonMark structure of a post's body (markdown-it-py): the cases the hand-made scanner got
wrong — indented code, fences inside lists and quotes, reference-style images, setext H1s,
footnotes — and that the scan's raw-text shortcuts still give the parser's answers."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from imagegen.covers import rewrite
from imagegen.markdown.document import mask_code, parse_structure
from imagegen.posts import Post
from imagegen.prompts.plaintext import plain_text

E = "![[attachments/new.png]]"


def post(text: str) -> Post:
    return Post.from_text(text, "blog/2026-03-23-a-post.md")


# --------------------------------------------------------------------------- is this inside code

@pytest.mark.parametrize("body", [
    "Intro.\n\n    ![[attachments/a.png]]\n",                    # indented code block
    "Intro.\n\n\t![x](a.png)\n",                                 # tab-indented code block
    "- a list item\n\n  ```\n  ![[attachments/a.png]]\n  ```\n",  # fence inside a list item
    "1. step\n\n   ~~~md\n   ![x](a.png)\n   ~~~\n",              # fence inside an ordered list
    "> ```\n> ![[attachments/a.png]]\n> ```\n",                  # fence inside a quote
    "> quoted\n>\n>     ![[attachments/a.png]]\n",               # indented code inside a quote
    "- item\n\n      ![[attachments/a.png]]\n",                  # indented code inside a list item
    "> - nested\n>\n>   ```\n>   <img src=\"a.png\">\n>   ```\n",  # fence in a list in a quote
])
def test_images_shown_as_code_are_not_images(body: str) -> None:
    p = post("# T\n\n" + body)
    assert not p.has_image() and not p.quick_has_image()
    assert p.cover() is None


@pytest.mark.parametrize("body", [
    "- item\n\n  ![[attachments/a.png]]\n",        # list continuation, not code
    "> ![[attachments/a.png]]\n",                   # a quote
    "Para\n    ![[attachments/a.png]]\n",           # indented, but a paragraph continuation
    "- item\n    ![x](a.png)\n",                    # list item continuation
])
def test_indented_images_that_are_not_code_still_count(body: str) -> None:
    p = post("# T\n\n" + body)
    assert p.has_image() and p.quick_has_image()


def test_mask_blanks_only_code_and_keeps_offsets() -> None:
    body = "a\n\n    code ![[x.png]]\n\n- i\n\n  ```\n  ![[y.png]]\n  ```\n![[z.png]] `![[w.png]]`\n"
    masked = mask_code(body)
    assert len(masked) == len(body) and masked.count("\n") == body.count("\n")
    assert "x.png" not in masked and "y.png" not in masked and "w.png" not in masked
    assert masked.index("![[z.png]]") == body.index("![[z.png]]")


def test_a_footnote_second_paragraph_is_not_indented_code() -> None:
    # Without the footnote plugin this paragraph would parse as indented code and its image be missed.
    body = "# T\n\nText.[^1]\n\n[^1]: First paragraph.\n\n    Second ![x](attachments/a.png)\n"
    p = post(body)
    assert p.has_image()
    assert parse_structure(p.doc.body).code == ()


def test_code_inside_code_spans_and_blocks_together() -> None:
    body = "# T\n\n- list\n\n      indented code with ` a backtick\n\n`![[a.png]]` and ` alone\n"
    assert not post(body).has_image()


# --------------------------------------------------------------------------- where is the first H1

def test_setext_h1_is_the_title_and_the_embed_goes_under_its_underline() -> None:
    p = post("---\ndate: 2026-01-01\n---\nThe Title\n=========\n\nText.\n")
    assert p.title == "The Title"
    out = rewrite(p, embed=E, fields={}, remove_cover=False).decode()
    assert out == f"---\ndate: 2026-01-01\n---\nThe Title\n=========\n{E}\n\nText.\n"


def test_setext_h1_over_two_lines() -> None:
    p = post("A long\ntitle\n===\nbody\n")
    assert p.title == "A long title"
    assert rewrite(p, embed=E, fields={}, remove_cover=False).decode() == f"A long\ntitle\n===\n{E}\nbody\n"


@pytest.mark.parametrize("body, title", [
    ("    # indented code\n\n# Real\n", "Real"),
    ("- list\n\n  ```\n  # in a fence in a list\n  ```\n\n# Real\n", "Real"),
    ("> # In a quote is not the post's title\n\n# Real\n", "Real"),
    ("<div>\n# inside an HTML block\n</div>\n\n# Real\n", "Real"),
    ("Not a title\n---\n\n# Real\n", "Real"),  # setext H2
    ("#\n\n# Real #\n", "Real"),
])
def test_first_h1_outside_code_and_containers(body: str, title: str) -> None:
    p = post(body)
    assert p.title == title
    assert p.quick_has_h1()


def test_the_embed_goes_after_the_h1_not_inside_an_indented_block() -> None:
    p = post("    # code, not a title\n\n# Title\nText\n")
    out = rewrite(p, embed=E, fields={}, remove_cover=False).decode()
    assert out == f"    # code, not a title\n\n# Title\n{E}\nText\n"


def test_lone_carriage_returns_keep_lines_aligned() -> None:
    p = post("intro\rstill intro\n\n# Title\n\n    ![[a.png]]\n![[b.png]]\n")
    assert p.title == "Title"
    assert p.cover() is not None and p.cover().target == "b.png"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- which images does it use

@pytest.mark.parametrize("body, target", [
    ("![A cover][cover]\n\n[cover]: attachments/a.png\n", "attachments/a.png"),
    ("![A cover][]\n\n[a cover]: <attachments/my a.png> \"t\"\n", "attachments/my a.png"),
    ("![Cover]\n\n[cover]: attachments/a%20b.png\n", "attachments/a b.png"),
    ("![x][ Two  Words ]\n\n[two words]: pics/x.jpg\n", "pics/x.jpg"),
    ("> ![x][r]\n\n[r]: a.webp\n", "a.webp"),
])
def test_reference_style_images(body: str, target: str) -> None:
    p = post("# T\n" + body)
    assert p.has_image() and p.quick_has_image()
    c = p.cover()
    assert c is not None and c.target == target


@pytest.mark.parametrize("body", [
    "![x][missing]\n",                                    # no definition: literal text
    "![x][r]\n\n[r]: https://example.com/page\n",          # not an image file
    "    ![x][r]\n\n[r]: a.png\n",                          # in code
    "```\n[r]: a.png\n```\n![x][r]\n",                     # the definition is in code: none
])
def test_reference_style_non_images(body: str) -> None:
    assert not post("# T\n\n" + body).has_image()


def test_reference_style_cover_is_replaced_on_regenerate() -> None:
    p = post("---\nregenerate_image: true\n---\n# T\n![old][c]\n\nText.\n\n[c]: attachments/old.png\n")
    out = rewrite(p, embed=E, fields={"regenerate_image": False}, remove_cover=True).decode()
    assert out == f"---\nregenerate_image: false\n---\n# T\n{E}\n\nText.\n\n[c]: attachments/old.png\n"


def test_an_image_the_patterns_cannot_place_still_counts() -> None:
    p = post("# T\n\n![a cover\nover two lines](attachments/a.png)\n")
    assert p.has_image()


def test_img_tag_in_an_html_block_counts() -> None:
    assert post('# T\n\n<figure>\n<img src="attachments/a.png">\n</figure>\n').has_image()


def test_plain_text_drops_indented_code_but_not_list_continuations() -> None:
    text = plain_text("Intro\n\n    print('x')\n\n- item\n    continued\n")
    assert "print" not in text and "continued" in text


# --------------------------------------------------------------------------- the scan's shortcuts

PIECES = st.sampled_from([
    "# Title", "Title\n===", "![[a.png]]", "![x](b.jpg)", "![x][r]", "[r]: a.png\n", "<img src=c.gif>", "<div>",
    "`", "```", "~~~", "    ", "\t", "\n", "\n\n", "\r\n", "\r", "> ", "- ", "1. ", "[^1]: ", "text", "#",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=25))
@example(["\n", "\r", "    ", "![[a.png]]"])  # a lone CR is a line break: indented code follows
@example(["\n", "text", "\r", "\r", "    ", "![[a.png]]"])
def test_quick_answers_match_the_parser(pieces: list[str]) -> None:
    body = "x\n" + "".join(pieces)
    assert Post.from_text(body).quick_has_image() == Post.from_text(body).has_image()
    assert Post.from_text(body).quick_has_h1() == (Post.from_text(body).body.h1 is not None)


def test_a_no_op_scan_never_reaches_the_parser(tmp_path, monkeypatch) -> None:
    """The scan's budget (10,000 posts < 0.5 s) holds only while posts with a plain cover and title
    are settled from their raw text: the parser costs about six times that budget."""
    import datetime as dt

    from imagegen import discover as discover_mod
    from imagegen.markdown import document
    from imagegen import sites
    from imagegen.config.settings import load

    def _discover(repo: object) -> object:
        s = load({"providers": "local"}, {}, repo=repo)
        return discover_mod.discover(s, dt.date(2026, 1, 1), sites.resolve(s))

    for i in range(50):
        (tmp_path / f"2025-01-{1 + i % 28:02d}-post-{i}.md").write_text(
            f"---\ntitle: Post {i}\ntags: [a]\n---\n# Post {i}\n![[attachments/p{i}.png]]\n\n" + "Words. " * 50 + "\n")
    calls: list[int] = []
    real = document.parse_structure
    monkeypatch.setattr(document, "parse_structure", lambda body: calls.append(1) or real(body))
    d = _discover(tmp_path)
    assert len(d.skipped) == 50 and not d.todo
    assert calls == []
    (tmp_path / "2025-02-01-indented.md").write_text("# T\n\n    ![[code.png]]\n")  # not plain: parsed
    d = _discover(tmp_path)
    assert len(d.todo) == 1 and len(calls) >= 1
