"""frontmatter: splitting, JSON-like parsing, minimal-diff edits that never damage a post."""

from __future__ import annotations

import dataclasses
import pytest

from imagegen import frontmatter as fm
from imagegen.frontmatter import FrontmatterError, parse, quick_keys, quote, set_fields, split

# --------------------------------------------------------------------------- split


def test_split_parts_join_back_exactly() -> None:
    text = "---\ntitle: A\n---\n# A\n\nbody\n"
    doc = split(text)
    assert (doc.bom, doc.opening, doc.block, doc.closing, doc.body) == ("", "---\n", "title: A\n", "---\n", "# A\n\nbody\n")
    assert doc.text == text and doc.newline == "\n" and doc.final_newline and doc.has_frontmatter


def test_split_without_frontmatter() -> None:
    doc = split("# Title\nbody")
    assert not doc.has_frontmatter and doc.body == "# Title\nbody" and not doc.final_newline


def test_split_bom_crlf_and_trailing_whitespace_on_delimiters() -> None:
    text = "\ufeff---  \r\ntitle: A\r\n---\t\r\n# A\r\n"
    doc = split(text)
    assert doc.bom == "\ufeff" and doc.newline == "\r\n"
    assert doc.block == "title: A\r\n" and doc.closing == "---\t\r\n" and doc.body == "# A\r\n"
    assert doc.text == text


def test_split_dots_close_the_frontmatter() -> None:
    doc = split("---\ntitle: A\n...\nbody\n")
    assert doc.block == "title: A\n" and doc.closing == "...\n" and doc.body == "body\n"


def test_split_closing_at_end_of_file_without_newline() -> None:
    doc = split("---\ntitle: A\n---")
    assert doc.closing == "---" and doc.body == "" and not doc.final_newline


def test_frontmatter_only_on_the_very_first_line() -> None:
    doc = split("\n---\ntitle: A\n---\nbody\n")
    assert not doc.has_frontmatter


def test_body_thematic_break_is_not_a_frontmatter_end() -> None:
    text = "---\ntitle: A\n---\n# A\n\npart one\n\n---\n\npart two\n"
    doc = split(text)
    assert doc.block == "title: A\n" and "---\n\npart two" in doc.body


def test_unclosed_frontmatter_is_an_error_not_a_guess() -> None:
    with pytest.raises(FrontmatterError, match="never closed"):
        split("---\ntitle: A\n# A\n")


def test_dashes_with_text_do_not_close() -> None:
    doc = split("---\na: 1\n--- not a delimiter\nb: 2\n---\nbody")
    assert doc.block == "a: 1\n--- not a delimiter\nb: 2\n"


# --------------------------------------------------------------------------- parse


def test_dates_and_timestamps_stay_strings() -> None:
    data = parse("date: 2026-03-23\nat: 2026-03-23T10:00:00Z\nexplicit: !!timestamp 2026-01-01\n")
    assert data == {"date": "2026-03-23", "at": "2026-03-23T10:00:00Z", "explicit": "2026-01-01"}


def test_other_scalars_keep_yaml_types() -> None:
    assert parse("n: 3\nf: 1.5\nb: true\nz: null\ne:\ns: 'x'\n") == {"n": 3, "f": 1.5, "b": True, "z": None, "e": None, "s": "x"}


def test_empty_or_comment_only_frontmatter_is_an_empty_mapping() -> None:
    assert parse("") == {}
    assert parse("# just a comment\n\n") == {}


@pytest.mark.parametrize("block, what", [("- a\n- b\n", "a list"), ("hello\n", "a single text value"), ("3\n", "a int")])
def test_non_mapping_frontmatter_is_invalid(block: str, what: str) -> None:
    with pytest.raises(FrontmatterError, match=what) as info:
        parse(block)
    assert info.value.reason == "bad-frontmatter"


def test_yaml_error_names_the_file_line_and_the_line_text() -> None:
    with pytest.raises(FrontmatterError) as info:
        parse("title: ok\nsummary: a: b\n", first_line=2)
    msg = str(info.value)
    assert "line 3" in msg and "summary: a: b" in msg and "\n" not in msg


def test_constructor_value_errors_are_bad_frontmatter() -> None:
    with pytest.raises(FrontmatterError):
        parse("n: 0x_\n")


# --------------------------------------------------------------------------- quoting


@pytest.mark.parametrize("value", [
    'say "hi"', "key: value", "# not a comment", "@handle", "- dash", "[list]", "{map}", "*star", "&anchor",
    "back\\slash", "emoji 🐔🎨", "tab\there", "bell\x07 nul\x00 del\x7f c1\x85\x9f", "bom\ufeff", "ls\u2028ps\u2029",
    "'single'", "!tag", "%percent", "|pipe", ">fold", "`tick`", "yes", "null", "3", "", "  spaces  ", "\ud800lone",
])
def test_quote_reads_back_as_written(value: str) -> None:
    q = quote(value)
    assert q.startswith('"') and q.endswith('"') and "\n" not in q
    assert parse(f"k: {q}\n") == {"k": fm.normalize_value(value)}


def test_newlines_collapse_to_one_space() -> None:
    assert fm.normalize_value("a\nb") == "a b"
    assert fm.normalize_value("a  \r\n\r\n  b\rc") == "a b c"
    assert parse(f"k: {quote('line one' + chr(10) + 'line two')}\n") == {"k": "line one line two"}


def test_booleans_written_as_true_false() -> None:
    assert fm.render_value(True) == "true" and fm.render_value(False) == "false"
    with pytest.raises(TypeError):
        fm.render_value(3)  # type: ignore[arg-type]


def test_odd_keys_are_quoted() -> None:
    assert fm.render_key("image_prompt") == "image_prompt"
    assert fm.render_key("yes") == '"yes"'
    assert fm.render_key("cover image") == '"cover image"'


# --------------------------------------------------------------------------- set_fields


def test_replace_existing_key_only_touches_its_line() -> None:
    text = "---\n# comment first\ntitle:   'Quoted'   # keep\nimage_prompt: old\nempty:\ntags: [a, b]\n---\n# T\n"
    out = set_fields(text, {"image_prompt": "new"})
    assert out == "---\n# comment first\ntitle:   'Quoted'   # keep\nimage_prompt: \"new\"\nempty:\ntags: [a, b]\n---\n# T\n"


def test_new_keys_appended_at_the_end_in_order() -> None:
    out = set_fields("---\ntitle: A\n---\nbody\n", {"image_provider": "local", "regenerate_image": False})
    assert out == '---\ntitle: A\nimage_provider: "local"\nregenerate_image: false\n---\nbody\n'


def test_frontmatter_created_when_absent_after_bom_with_file_line_ending() -> None:
    out = set_fields("\ufeff# T\r\nbody", {"image": "attachments/a.png"})
    assert out == '\ufeff---\r\nimage: "attachments/a.png"\r\n---\r\n# T\r\nbody'


def test_crlf_bom_and_missing_final_newline_preserved() -> None:
    text = "\ufeff---\r\ntitle: A\r\nimage_prompt: old\r\n---\r\n# A\r\nlast line"
    out = set_fields(text, {"image_prompt": "new", "extra": True})
    assert out == '\ufeff---\r\ntitle: A\r\nimage_prompt: "new"\r\nextra: true\r\n---\r\n# A\r\nlast line'


def test_empty_values_preserved() -> None:
    text = "---\ntitle: A\nsummary:\ncover: ''\nlist: []\n---\n"
    out = set_fields(text, {"image_date": "2026-01-01T00:00:00Z"})
    assert out.startswith("---\ntitle: A\nsummary:\ncover: ''\nlist: []\n")
    assert parse(split(out).block)["summary"] is None


@pytest.mark.parametrize("value_lines", [
    ["image_prompt: |", "  line one", "  line two", "", "  after blank"],
    ["image_prompt: >-", "  folded", "  text"],
    ["image_prompt: plain start", "  continued plain", "  more"],
    ['image_prompt: "double', '  quoted continued"'],
    ["image_prompt:", "  - a", "  - b"],
    ["image_prompt:", "- a", "- b"],
    ["image_prompt:", "  nested:", "    deep: 1", "  other: [1, 2]"],
    ["image_prompt: [a,", "  b, c]"],
])
def test_multi_line_values_replaced_whole_but_next_keys_comment_kept(value_lines: list[str]) -> None:
    block = "title: A\n" + "\n".join(value_lines) + "\n# about date\ndate: 2026-01-01\n"
    text = f"---\n{block}---\nbody\n"
    out = set_fields(text, {"image_prompt": "x"})
    assert out == '---\ntitle: A\nimage_prompt: "x"\n# about date\ndate: 2026-01-01\n---\nbody\n'


def test_comment_between_list_items_goes_with_the_list() -> None:
    text = "---\ntags:\n- a\n# between\n- b\nnext: 1\n---\n"
    assert set_fields(text, {"tags": "t"}) == '---\ntags: "t"\nnext: 1\n---\n'


def test_last_key_block_scalar_keeps_trailing_comment() -> None:
    text = "---\na: 1\nimage_prompt: |\n  old\n  text\n# trailing comment\n---\nbody"
    assert set_fields(text, {"image_prompt": "n"}) == '---\na: 1\nimage_prompt: "n"\n# trailing comment\n---\nbody'


def test_duplicate_key_replaced_everywhere() -> None:
    out = set_fields("---\nk: 1\nj: 2\nk: 3\n---\n", {"k": "v"})
    assert out == '---\nk: "v"\nj: 2\nk: "v"\n---\n'


def test_indented_mapping_keeps_its_indent() -> None:
    out = set_fields("---\n  a: 1\n  b: 2\n---\n", {"b": "x", "c": True})
    assert out == '---\n  a: 1\n  b: "x"\n  c: true\n---\n'


def test_mixed_line_endings_keep_each_lines_own() -> None:
    text = "---\r\na: 1\nb: 2\r\n---\r\nbody\n"
    out = set_fields(text, {"a": "x", "c": "y"})
    assert out == '---\r\na: "x"\nb: 2\r\nc: "y"\r\n---\r\nbody\n'


def test_quoted_existing_key_is_matched() -> None:
    out = set_fields("---\n\"image_prompt\": old\n---\n", {"image_prompt": "n"})
    assert out == '---\nimage_prompt: "n"\n---\n'


def test_body_with_fenced_code_and_dashes_is_never_touched() -> None:
    body = "# T\n\n```yaml\n---\nimage_prompt: fake\n---\n```\n\n---\n\nend"
    text = "---\ntitle: T\n---\n" + body
    out = set_fields(text, {"image_prompt": "real"})
    assert out.endswith(body) and split(out).block == 'title: T\nimage_prompt: "real"\n'


def test_hostile_prompt_text_keeps_yaml_valid() -> None:
    nasty = 'He said: "no" # not a comment\n- [x] {y} *z &a !b %c @d `e` | > \\ \x00 🐔 \u2028 end'
    out = set_fields("---\ntitle: A\n---\nbody\n", {"image_prompt": nasty})
    assert parse(split(out).block) == {"title": "A", "image_prompt": fm.normalize_value(nasty)}


def test_invalid_frontmatter_refused() -> None:
    with pytest.raises(FrontmatterError):
        set_fields("---\ntitle: a: b\n---\n", {"x": "y"})


def test_flow_mapping_frontmatter_refused() -> None:
    with pytest.raises(FrontmatterError, match="flow"):
        set_fields("---\n{title: A, date: b}\n---\n", {"x": "y"})


def test_alias_to_replaced_value_is_refused_not_damaged() -> None:
    text = "---\nimage_prompt: &p old\ncopy: *p\n---\n"
    with pytest.raises(FrontmatterError, match="refusing"):
        set_fields(text, {"image_prompt": "new"})


def test_edit_that_would_change_other_keys_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate a bug in span finding: the verification must catch it.
    real = fm._YamlEditor.spans

    def too_wide(self, node):  # type: ignore[no-untyped-def]
        return [dataclasses.replace(sp, last=sp.last + 1) for sp in real(self, node)]

    monkeypatch.setattr(fm._YamlEditor, "spans", too_wide)
    with pytest.raises(FrontmatterError, match="other keys"):
        set_fields("---\nimage_prompt: a\ntitle: T\n---\n", {"image_prompt": "b"})


def test_no_fields_returns_text_unchanged() -> None:
    text = "---\nbroken: [\n---\n"
    assert set_fields(text, {}) is text


def test_yaml_comment_in_frontmatter_is_not_body() -> None:
    doc = split("---\n# Not a title\ntitle: Real\n---\nbody\n")
    assert "# Not a title" in doc.block and "#" not in doc.body


# --------------------------------------------------------------------------- quick_keys


@pytest.mark.parametrize("block, keys", [
    ("title: A post\ndate: 2026-03-20\ntags: [meta, automation]\n", {"title", "date", "tags"}),
    ('title: "Quoted: yes"\n# comment\nrevision: 3\n', {"title", "revision"}),
    ("tags:\n  - a\n  - b c\nnext: 1\n", {"tags", "next"}),
    ("a: 'it''s'\r\nb: C# rocks\r\n", {"a", "b"}),
    ("", set()),
])
def test_quick_keys_simple_subset(block: str, keys: set[str]) -> None:
    assert quick_keys(block) == keys
    assert set(parse(block)) == keys


@pytest.mark.parametrize("block", [
    "a: b: c\n", "a: 0x_\n", "- a\n", "a: &x 1\n", "a:\n  b: 1\n", "a: |\n  x\n", "a:\tb\n", "a: x\n  y\n",
    "a:\n- b\n  - c\n", "\"q\": 1\n", "a: \"\\x41\"\n", "a: {b: 1}\n", "a: 1\n- b\n",
])
def test_quick_keys_declines_anything_else(block: str) -> None:
    assert quick_keys(block) is None
