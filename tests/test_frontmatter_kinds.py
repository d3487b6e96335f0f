"""TOML (`+++`) and JSON (`{...}`) frontmatter, nested keys and list fields: read, and edited with
a minimal diff that is verified by parsing again (tomllib for TOML)."""

from __future__ import annotations

import json
import string
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagegen.covers import rewrite
from imagegen import frontmatter as fm
from imagegen.frontmatter import FrontmatterError, UnsafeEdit, set_fields, split
from tests.helpers import changed_lines


HUGO_TOML = """+++
title = "Spring planting"   # the title
date = 2026-03-02T09:00:00Z
draft = false
tags = ["garden", "seeds"]
weight = 3

[params]
  author = "Ann"
  [params.social]
    mastodon = "@ann"

[[resources]]
  src = "a.jpg"
  title = "A"
+++

The body, with a +++ line inside:

+++
"""


# --------------------------------------------------------------------------- split / read


def test_toml_frontmatter_is_split_and_read() -> None:
    doc = split(HUGO_TOML)
    assert doc.kind == "toml" and doc.has_frontmatter
    assert doc.body.startswith("\nThe body")
    data = fm.read(doc)
    assert data["title"] == "Spring planting"
    assert data["date"] == "2026-03-02T09:00:00+00:00"  # dates as text, as for YAML
    assert data["params"]["social"]["mastodon"] == "@ann"
    assert doc.text == HUGO_TOML


def test_json_frontmatter_is_split_and_read() -> None:
    text = '{\n  "title": "Hello",\n  "tags": ["a"],\n  "date": "2026-01-02"\n}\n\nBody {with braces}\n'
    doc = split(text)
    assert doc.kind == "json"
    assert fm.read(doc)["title"] == "Hello"
    assert doc.body == "\nBody {with braces}\n"
    assert doc.text == text


def test_hugo_shortcode_at_the_top_is_not_json_frontmatter() -> None:
    doc = split('{{< figure src="x.png" >}}\n\nText\n')
    assert doc.kind == "" and not doc.has_frontmatter


def test_unclosed_toml_and_invalid_json_are_errors() -> None:
    with pytest.raises(FrontmatterError, match="never closed"):
        split('+++\ntitle = "x"\n')
    with pytest.raises(FrontmatterError, match="invalid JSON"):
        split('{\n  "title": "x",\n}\nbody\n')
    with pytest.raises(FrontmatterError, match="invalid TOML"):
        fm.read(split('+++\ntitle = \n+++\nbody\n'))


# --------------------------------------------------------------------------- TOML edits


def test_toml_edit_keeps_every_other_byte_and_value() -> None:
    new = set_fields(HUGO_TOML, {"images": ["/images/covers/spring.jpg"], "image_date": "2026-03-03T00:00:00Z"})
    removed, added = changed_lines(HUGO_TOML, new)
    assert removed == []  # only insertions
    assert added == ['images = ["/images/covers/spring.jpg"]\n', 'image_date = "2026-03-03T00:00:00Z"\n']
    before = tomllib.loads(split(HUGO_TOML).block)
    after = tomllib.loads(split(new).block)
    assert after.pop("images") == ["/images/covers/spring.jpg"]
    after.pop("image_date")
    assert after == before
    # the new keys are top-level keys, above the first table (not inside [[resources]])
    assert new.index("images =") < new.index("[params]")


def test_toml_list_gets_the_path_appended() -> None:
    text = '+++\ntitle = "T"\nimages = []\n+++\nbody\n'
    assert set_fields(text, {"images": ["a.jpg"]}) == '+++\ntitle = "T"\nimages = ["a.jpg"]\n+++\nbody\n'
    multi = '+++\ntitle = "T"\nimages = [\n  "a.jpg",\n]\n+++\nbody\n'
    out = set_fields(multi, {"images": ["a.jpg", "b.jpg"]})
    assert tomllib.loads(split(out).block)["images"] == ["a.jpg", "b.jpg"]
    removed, added = changed_lines(multi, out)
    assert removed == [] and added == ['  "b.jpg",\n']


def test_toml_nested_key_in_existing_table_inline_table_and_dotted_keys() -> None:
    table = '+++\ntitle = "T"\n\n[cover]\nalt = "A bird"\nrelative = true\n+++\nbody\n'
    out = set_fields(table, {"cover.image": "cover.jpg"})
    assert tomllib.loads(split(out).block)["cover"] == {"alt": "A bird", "relative": True, "image": "cover.jpg"}
    assert changed_lines(table, out)[0] == []

    inline = '+++\ntitle = "T"\ncover = { alt = "A" }\n+++\nbody\n'
    out = set_fields(inline, {"cover.image": "c.jpg"})
    assert tomllib.loads(split(out).block)["cover"] == {"alt": "A", "image": "c.jpg"}

    dotted = '+++\ntitle = "T"\ncover.alt = "A"\n+++\nbody\n'
    out = set_fields(dotted, {"cover.image": "c.jpg"})
    assert tomllib.loads(split(out).block)["cover"] == {"alt": "A", "image": "c.jpg"}

    absent = '+++\ntitle = "T"\n+++\nbody\n'
    out = set_fields(absent, {"cover.image": "c.jpg", "cover.alt": "Alt"})
    assert tomllib.loads(split(out).block) == {"title": "T", "cover": {"image": "c.jpg", "alt": "Alt"}}


def test_toml_existing_value_replaced_on_its_line_only() -> None:
    text = '+++\ntitle = "T"\nimage_prompt = "old"  # kept?\nx = 1\n+++\nbody\n'
    out = set_fields(text, {"image_prompt": "new", "regenerate_image": False})
    removed, added = changed_lines(text, out)
    assert removed == ['image_prompt = "old"  # kept?\n']
    assert 'image_prompt = "new"' in added[0]
    assert tomllib.loads(split(out).block) == {"title": "T", "image_prompt": "new", "x": 1, "regenerate_image": False}


def test_toml_crlf_stays_crlf() -> None:
    text = '+++\r\ntitle = "T"\r\n\r\n[params]\r\na = 1\r\n+++\r\nbody\r\n'
    out = set_fields(text, {"images": ["x.jpg"], "image_date": "d"})
    assert "\n" not in out.replace("\r\n", "")
    assert out.endswith("+++\r\nbody\r\n")


def test_toml_cover_that_is_text_is_not_turned_into_a_table() -> None:
    with pytest.raises(UnsafeEdit):
        set_fields('+++\ncover = "x.jpg"\n+++\n', {"cover.image": "y.jpg"})


def test_toml_strings_with_quotes_and_breaks_read_back() -> None:
    prompt = 'a "quoted" \\ back\nslash and \u2028 sep and \'single\''
    out = set_fields('+++\ntitle = "T"\n+++\nb\n', {"image_prompt": prompt})
    assert tomllib.loads(split(out).block)["image_prompt"] == fm.normalize_value(prompt)


# property: random TOML documents keep every line and every value when new keys are added

_word = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6)
_scalar = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(alphabet=string.ascii_letters + " #=[]{}'\\\"", max_size=12).map(lambda t: json.dumps(t)),
    st.just("2026-03-02"), st.just("2026-03-02T10:00:00Z"),
    st.lists(st.integers(0, 9).map(str), max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.just('{ a = 1, b = "x" }'),
    st.just("'''\nmulti\nline\n'''"),
)


@st.composite
def toml_docs(draw: st.DrawFn) -> str:
    lines: list[str] = []
    used: set[str] = {"image_date", "image_prompt", "images", "cover"}
    for _ in range(draw(st.integers(0, 5))):
        key = draw(_word.filter(lambda k: k not in used))
        used.add(key)
        comment = draw(st.sampled_from(["", "  # note", " #x"]))
        lines.append(f"{key} = {draw(_scalar)}{comment}")
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# a comment", "   "])))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(_word.filter(lambda k: k not in used))
        used.add(name)
        lines.append(draw(st.sampled_from([f"[{name}]", f"[[{name}]]", f"  [{name}]"])))
        sub: set[str] = set()
        for _ in range(draw(st.integers(0, 3))):
            key = draw(_word.filter(lambda k: k not in sub))
            sub.add(key)
            lines.append(f"  {key} = {draw(_scalar)}")
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    return "+++" + nl + nl.join(lines) + (nl if lines else "") + "+++" + nl + "Body" + nl


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(toml_docs(), st.text(max_size=40), st.booleans())
def test_toml_property_new_keys_only_add_lines(text: str, prompt: str, nested: bool) -> None:
    before = tomllib.loads(split(text).block)
    fields: dict[str, fm.Value] = {"images": ["/images/covers/x.jpg"], "image_prompt": prompt,
                                   "image_date": "2026-01-01T00:00:00Z"}
    if nested:
        fields["cover.image"] = "x.jpg"
    out = set_fields(text, fields)
    removed, _ = changed_lines(text, out)
    assert removed == []
    after = tomllib.loads(split(out).block)
    expected = dict(before)
    expected.update(images=["/images/covers/x.jpg"], image_prompt=fm.normalize_value(prompt),
                    image_date="2026-01-01T00:00:00Z")
    if nested:
        expected["cover"] = {"image": "x.jpg"}
    assert after == expected
    assert split(out).body == split(text).body


# --------------------------------------------------------------------------- JSON edits


def test_json_new_keys_are_added_before_the_closing_brace() -> None:
    text = '{\n  "title": "Hello",\n  "tags": ["a"]\n}\n\nBody\n'
    out = set_fields(text, {"images": ["/images/covers/h.jpg"], "image_date": "d"})
    assert json.loads(split(out).block) == {"title": "Hello", "tags": ["a"], "images": ["/images/covers/h.jpg"],
                                            "image_date": "d"}
    removed, added = changed_lines(text, out)
    assert removed == ['  "tags": ["a"]\n']
    assert added[0] == '  "tags": ["a"],\n'
    assert out.endswith("}\n\nBody\n")


def test_json_existing_key_is_refused_with_a_clear_reason() -> None:
    text = '{\n  "title": "Hello",\n  "image_prompt": "old"\n}\nBody\n'
    with pytest.raises(UnsafeEdit, match="only adds new keys") as info:
        set_fields(text, {"image_prompt": "new"})
    assert info.value.reason == "cannot-edit"


# --------------------------------------------------------------------------- YAML nested and lists


def test_yaml_nested_key_in_existing_block_map() -> None:
    text = "---\ntitle: T\ncover:\n  alt: A bird  # kept\n  relative: true\ndate: 2026-01-01\n---\nbody\n"
    out = set_fields(text, {"cover.image": "cover.jpg", "image_date": "d"})
    assert out == ("---\ntitle: T\ncover:\n  alt: A bird  # kept\n  relative: true\n  image: \"cover.jpg\"\n"
                   "date: 2026-01-01\nimage_date: \"d\"\n---\nbody\n")


def test_yaml_nested_key_created_and_replaced() -> None:
    out = set_fields("---\ntitle: T\n---\nb\n", {"cover.image": "c.jpg", "cover.alt": "Alt"})
    assert out == '---\ntitle: T\ncover:\n  image: "c.jpg"\n  alt: "Alt"\n---\nb\n'
    out2 = set_fields(out, {"cover.image": "d.jpg"})
    assert out2 == '---\ntitle: T\ncover:\n  image: "d.jpg"\n  alt: "Alt"\n---\nb\n'
    empty = set_fields("---\ncover:\ntitle: T\n---\nb\n", {"cover.image": "c.jpg"})
    assert fm.load(empty)[1] == {"cover": {"image": "c.jpg"}, "title": "T"}


def test_yaml_nested_key_under_last_entry_comes_before_new_top_level_keys() -> None:
    text = "---\ntitle: T\ncover:\n  alt: A\n---\nb\n"
    out = set_fields(text, {"image_date": "d", "cover.image": "c.jpg"})
    assert fm.load(out)[1] == {"title": "T", "cover": {"alt": "A", "image": "c.jpg"}, "image_date": "d"}


def test_yaml_cover_that_is_text_or_flow_is_refused() -> None:
    with pytest.raises(UnsafeEdit):
        set_fields("---\ncover: x.jpg\n---\n", {"cover.image": "y.jpg"})
    with pytest.raises(UnsafeEdit):
        set_fields("---\ncover: {alt: A}\n---\n", {"cover.image": "y.jpg"})


def test_yaml_lists() -> None:
    assert set_fields("---\nimages: []\ntitle: T\n---\n", {"images": ["a.jpg"]}) == \
        '---\nimages: ["a.jpg"]\ntitle: T\n---\n'
    assert set_fields("---\nimages:\ntitle: T\n---\n", {"images": ["a.jpg"]}) == \
        '---\nimages: ["a.jpg"]\ntitle: T\n---\n'
    block = "---\nimages:\n  - a.jpg   # first\ntitle: T\n---\n"
    assert set_fields(block, {"images": ["a.jpg", "b.jpg"]}) == \
        '---\nimages:\n  - a.jpg   # first\n  - "b.jpg"\ntitle: T\n---\n'
    # not a pure append (regenerating the first): the entry is rewritten on one line
    assert set_fields(block, {"images": ["n.jpg"]}) == '---\nimages: ["n.jpg"]\ntitle: T\n---\n'


def test_yaml_frontmatter_is_never_created_above_toml_or_json() -> None:
    toml = '+++\ntitle = "T"\n+++\nbody\n'
    assert set_fields(toml, {"image": "x"}).startswith('+++\ntitle = "T"\nimage = "x"\n+++')
    js = '{ "title": "T" }\nbody\n'
    out = set_fields(js, {"image": "x"})
    assert out.startswith("{") and json.loads(split(out).block) == {"title": "T", "image": "x"}


def test_post_with_toml_frontmatter_gets_embed_and_toml_fields_not_a_yaml_block() -> None:
    from imagegen.posts import Post

    text = '+++\ntitle = "Spring"\ndate = 2026-03-02\n+++\n\n# Spring\n\nText.\n'
    post = Post.from_text(text, "content/spring.md")
    assert post.title == "Spring"
    out = rewrite(post, embed="![[attachments/x.png]]", fields={"image_provider": "local"}, remove_cover=False)
    new = out.decode()
    assert not new.startswith("---")
    assert tomllib.loads(split(new).block) == {"title": "Spring", "date": tomllib.loads('d = 2026-03-02')["d"],
                                               "image_provider": "local"}
    assert "# Spring\n![[attachments/x.png]]\n" in new


# property: random YAML frontmatter, nested and list fields set with only the expected lines changing

_yaml_scalar = st.one_of(
    st.integers(-1000, 1000).map(str), st.sampled_from(["true", "no", "~", "''", "2026-03-02", "a: b#c"]).map(
        lambda v: json.dumps(v) if ":" in v else v),
    st.text(alphabet=string.ascii_letters + " #'\"[]{}", max_size=12).map(json.dumps),
    st.just("[a, b]"), st.just("{x: 1}"), st.just("|\n    two\n    lines"),
)


@st.composite
def yaml_docs(draw: st.DrawFn) -> tuple[str, bool, bool]:
    lines: list[str] = []
    used = {"cover", "images", "image_date", "image_prompt"}
    for _ in range(draw(st.integers(0, 5))):
        key = draw(_word.filter(lambda k: k not in used))
        used.add(key)
        lines.append(f"{key}: {draw(_yaml_scalar)}" + draw(st.sampled_from(["", "  # note"])))
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# a comment"])))
    has_cover = draw(st.booleans())
    if has_cover:
        lines.append("cover:")
        for key in draw(st.lists(_word, max_size=3, unique=True)):
            if key not in ("image", "alt"):
                lines.append(f"  {key}: {draw(_yaml_scalar)}")
        if lines[-1] == "cover:":
            lines[-1] = "cover: {}" if draw(st.booleans()) else "cover:"
    has_images = draw(st.booleans())
    if has_images:
        lines.insert(draw(st.integers(0, len(lines))) if not has_cover else 0,
                     draw(st.sampled_from(["images: []", "images:", "images: [ ]"])))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    return "---" + nl + nl.join(lines) + (nl if lines else "") + "---" + nl + "Body" + nl, has_cover, has_images


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_docs(), st.text(max_size=30))
def test_yaml_property_nested_and_list_fields(doc: tuple[str, bool, bool], prompt: str) -> None:
    text, _, _ = doc
    _, before = fm.load(text)
    fields: dict[str, fm.Value] = {"images": ["/images/covers/x.jpg"], "image_prompt": prompt}
    cover = before.get("cover")
    if cover is None or isinstance(cover, dict) and not (cover == {} and "cover: {}" in text):
        fields["cover.image"] = "x.jpg"
        fields["cover.alt"] = "Alt"
    try:
        out = set_fields(text, fields)
    except UnsafeEdit:
        assert "cover: {}" in text  # a flow map is the one shape refused here
        return
    removed, _ = changed_lines(text, out)
    # only the lines of the keys written may go: `images:`, `cover:` (null) and nothing else
    assert all(line.startswith(("images:", "cover:")) for line in removed), removed
    _, after = fm.load(out)
    expected = dict(before)
    expected.update(images=["/images/covers/x.jpg"], image_prompt=fm.normalize_value(prompt))
    if "cover.image" in fields:
        expected["cover"] = {**(cover or {}), "image": "x.jpg", "alt": "Alt"}
    assert after == expected
    assert split(out).body == split(text).body
