"""Title cards in every script a blog is written in, and the blog's own look.

- Japanese, Chinese, Korean, Arabic, Hebrew, Greek, Cyrillic and colour emoji are drawn, each
  character by a font that has it: no missing-glyph boxes ("tofu"), checked glyph by glyph against
  the font's own .notdef box, and on the rendered card.
- Arabic and Hebrew titles are right-aligned; emoji are in colour.
- A character no installed font draws is never silent: the run warns with the post and the
  characters.
- The card settings (colours, font, logo, series) change the card and the title band.
- A card is redrawn when its title or the card settings change; `--regenerate POST` makes a new
  cover for named posts without editing them first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from imagegen import cli
from imagegen.images import fonts
from imagegen.images.overlay import MIN_CONTRAST, CardStyle, CoverText, draw_band, worst_contrast
from imagegen.providers.card import render_card
from tests.helpers import commit_all, init_repo

TITLES = {
    "japanese": ("東京で過ごした静かな冬の日々について", "WenQuanYi Micro Hei"),
    "chinese": ("为什么公共系统会悄悄失败", "WenQuanYi Micro Hei"),
    "korean": ("한국어 제목과 English mixed 제목", "WenQuanYi Micro Hei"),
    "emoji": ("🚀 Shipping faster with tiny releases 🎉", "Noto Color Emoji"),
    "only-emoji": ("🐔🥚❄️", "Noto Color Emoji"),
    "arabic": ("كيف تحمي الدجاج من الثعالب في الشتاء", "DejaVu Sans"),
    "hebrew": ("איך לגדל תרנגולות בחורף", "DejaVu Sans"),
    "greek-cyrillic": ("Δημόσια συστήματα и почему они ломаются", "DejaVu Sans"),
}
NOTDEF = "\ue000"
"""A private-use character no font of the chain has: each font draws its .notdef box for it."""


def require_fonts() -> None:
    missing = [f.name for f in fonts.CHAIN if f.path is None]
    if missing:
        if os.environ.get("IMAGEGEN_REQUIRE_TOOLS") == "1" or os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(f"fonts missing: {missing} (bash scripts/install-fonts.sh installs them)")
        pytest.skip(f"fonts missing: {missing} (bash scripts/install-fonts.sh installs them)")


def glyph(face: fonts.Face, text: str) -> Image.Image:
    """`text` drawn alone in `face` (in colour for the emoji font), as an RGBA picture."""
    f = fonts.font(face, 48)
    img = Image.new("RGBA", (260, 160), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((10, 10), text, font=f, fill=(255, 255, 255), embedded_color=bool(face.bitmap_size))
    return img


def is_box(face: fonts.Face, ch: str) -> bool:
    """Whether `face` draws `ch` as its missing-glyph box."""
    return ImageChops.difference(glyph(face, ch), glyph(face, NOTDEF)).getbbox() is None


def test_no_font_of_the_chain_has_the_notdef_probe() -> None:
    require_fonts()
    for face in fonts.CHAIN:
        assert ord(NOTDEF) not in fonts.coverage(face.path), face.name
        assert glyph(face, NOTDEF).getbbox() is not None or face.bitmap_size, face.name  # a visible box


@pytest.mark.parametrize("script", sorted(TITLES))
def test_every_character_is_drawn_by_a_font_that_has_it(script: str) -> None:
    require_fonts()
    title, expected_face = TITLES[script]
    img, lay = render_card(f"prompt {script}", CoverText(title, "Series"), 1200, 630)
    assert lay.missing == ""
    assert expected_face in lay.faces
    drawn = 0
    for face, run in fonts.runs(title):
        assert face is not None, (script, run)
        for ch in run:
            if ch.isspace() or fonts.ignorable(ch):
                continue
            assert ord(ch) in fonts.coverage(face.path), (script, ch, face.name)
            assert not is_box(face, ch), f"{ch!r} comes out as {face.name}'s missing-glyph box"
            drawn += 1
    assert drawn >= 3
    # the card itself: the title's pixels changed, and they are not the boxes DejaVu alone would draw
    box = lay.title_box
    assert ImageChops.difference(img.crop(box), lay.background.crop(box)).getbbox()
    assert worst_contrast(lay.background, box, lay.title_fill) >= MIN_CONTRAST


def test_dejavu_alone_would_have_drawn_boxes() -> None:
    """Why the chain exists: the font cards used before draws none of these."""
    require_fonts()
    dejavu = fonts.CHAIN[0]
    for ch in "東한🚀":
        assert ord(ch) not in fonts.coverage(dejavu.path) and is_box(dejavu, ch)


@pytest.mark.parametrize("script", ["arabic", "hebrew"])
def test_right_to_left_titles_are_right_aligned(script: str) -> None:
    require_fonts()
    w = 1200
    _, lay = render_card("p", CoverText(TITLES[script][0], "سلسلة"), w, 630)
    margin = round(w * 0.075)
    assert lay.rtl and lay.title_box[2] == w - margin and lay.title_box[0] > margin
    assert lay.series_box is not None and lay.series_box[2] == w - margin
    _, ltr = render_card("p", CoverText("A Latin title", "Series"), w, 630)
    assert not ltr.rtl and ltr.title_box[0] == margin


def test_emoji_are_drawn_in_colour() -> None:
    require_fonts()
    img, lay = render_card("p", CoverText("🐔🥚❄️"), 1200, 630)
    changed = ImageChops.difference(img.crop(lay.title_box), lay.background.crop(lay.title_box))
    pixels = img.crop(lay.title_box)
    diffs = changed.convert("L")
    colours = [pixels.getpixel((x, y)) for y in range(0, pixels.height, 2) for x in range(0, pixels.width, 2)
               if diffs.getpixel((x, y)) > 40]
    saturated = [c for c in colours if max(c) - min(c) > 80]
    assert len(saturated) > 150, "the emoji should be in colour, not white outlines"


def test_a_title_no_font_can_draw_warns_with_the_post_and_the_characters(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    require_fonts()
    repo = init_repo(tmp_path / "blog")
    (repo / "notes").mkdir()
    (repo / "notes" / "2026-01-01-scripts.md").write_text("# Linear B 𐀀𐀁 and runes ᚠ\n\nText.\n")
    (repo / "notes" / "2026-01-02-fine.md").write_text("# 東京の冬\n\nText.\n")
    commit_all(repo)
    code = cli.main(["run", str(repo), "--providers", "card", "--width", "300", "--height", "160"], env={})
    err = capsys.readouterr().err
    assert code == 0
    assert "warning: notes/2026-01-01-scripts.md: no installed font draws 𐀀 𐀁 ᚠ" in err
    assert "2026-01-02-fine.md: no installed font" not in err
    assert (repo / "attachments" / "notes-2026-01-01-scripts.jpg").is_file()  # the rest is still drawn


# --------------------------------------------------------------------------- the blog's own look


def test_card_colours_font_logo_and_series_change_the_card(tmp_path: Path) -> None:
    require_fonts()
    text = CoverText("Winter eggs", "Chickie Loo")
    plain, plain_lay = render_card("p", text, 600, 315)
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (40, 40), (255, 0, 0, 255)).save(logo)
    regular = tmp_path / "DejaVuSans.ttf"
    shutil.copy(fonts.REGULAR.path, regular)
    style = CardStyle(colors=((30, 58, 95), (20, 40, 70), (244, 162, 97)), font=str(regular), logo=str(logo),
                      series=False)
    img, lay = render_card("p", text, 600, 315, style)
    assert lay.series_box is None and plain_lay.series_box is not None
    assert lay.faces[0] == "DejaVuSans.ttf" and lay.font == str(regular)
    corner = img.crop((600 - 60, 0, 600, 60)).getcolors(4000)
    assert any(c[:3] == (255, 0, 0) for _, c in corner), "the logo sits in the top right corner"
    bottom_left = img.getpixel((5, 310))
    assert abs(bottom_left[2] - 95) < 40 and bottom_left[0] < 60, "the background is the blog's colour"
    assert worst_contrast(lay.background, lay.title_box, lay.title_fill) >= MIN_CONTRAST
    band = draw_band(Image.new("RGB", (600, 315), (200, 200, 200)), text, style)  # the band follows the style
    assert any(c[:3] == (255, 0, 0) for _, c in band.crop((540, 0, 600, 60)).getcolors(4000))


@pytest.mark.parametrize("raw, error", [
    ({"card-colors": "#12345g"}, "card-colors: '#12345g' is not a colour (write #rrggbb"),
    ({"card-colors": "#111,#222,#333,#444"}, "card-colors: 4 colours given; at most 3"),
    ({"card-font": "README.md"}, "card-font: README.md is not a font Pillow can open"),
    ({"card-logo": "README.md"}, "card-logo: README.md is not a picture Pillow can open"),
    ({"card-logo": "nope.png"}, "card-logo: 'nope.png' is not a file in the repository"),
    ({"card-font": "../outside.ttf"}, "card-font: '../outside.ttf' is outside the repository"),
])
def test_bad_card_settings_are_refused_before_any_work(tmp_path: Path, raw: dict[str, str], error: str) -> None:
    from imagegen.config.settings import load
    from imagegen.errors import SettingsError

    (tmp_path / "README.md").write_text("# hi\n")
    with pytest.raises(SettingsError) as e:
        load({"providers": "card", **raw}, {}, repo=tmp_path)
    assert str(e.value).startswith(error), str(e.value)


# --------------------------------------------------------------------------- redrawn when the title changes


def card_blog(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "blog")
    (repo / "coop").mkdir()
    (repo / "coop" / "2026-03-02-predator.md").write_text("---\ntitle: Predator-proofing the run\n---\n# Hi\n\nText.\n")
    (repo / "coop" / "2026-03-03-eggs.md").write_text("---\ntitle: Winter eggs\n---\n# Eggs\n\nText.\n")
    commit_all(repo)
    return repo


def run(repo: Path, *args: str) -> int:
    return cli.main(["run", str(repo), "--providers", "card", "--width", "300", "--height", "160", "-q", *args],
                    env={})


def covers(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / "attachments").iterdir())


def test_a_card_is_redrawn_when_its_title_changes_and_only_then(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    repo = card_blog(tmp_path)
    assert run(repo) == 0
    post = repo / "coop" / "2026-03-02-predator.md"
    assert "image_card: " in post.read_text()
    before = covers(repo)
    assert run(repo) == 0 and covers(repo) == before  # nothing changed: nothing redrawn
    capsys.readouterr()
    post.write_text(post.read_text().replace("Predator-proofing the run", "Predator-proofing the hen run"))
    assert cli.main(["run", str(repo), "--providers", "card", "--dry-run"], env={}) == 0
    assert "2026-03-02-predator.md) -> attachments/coop-2026-03-02-predator-2.jpg (redraw)" in capsys.readouterr().out
    assert run(repo) == 0
    text = post.read_text()
    assert "coop-2026-03-02-predator-2.jpg|Predator-proofing the hen run]]" in text  # new card, new alt text
    assert covers(repo) == ["coop-2026-03-02-predator-2.jpg", "coop-2026-03-03-eggs.jpg"]  # the old card went
    assert run(repo) == 0 and len(covers(repo)) == 2  # and it stays drawn


def test_cards_are_redrawn_when_the_card_settings_change(tmp_path: Path) -> None:
    repo = card_blog(tmp_path)
    assert run(repo) == 0
    assert run(repo, "--card-colors", "#1e3a5f") == 0
    assert covers(repo) == ["coop-2026-03-02-predator-2.jpg", "coop-2026-03-03-eggs-2.jpg"]
    assert run(repo, "--card-colors", "#1e3a5f") == 0 and len(covers(repo)) == 2


def test_covers_that_are_not_fingerprinted_cards_are_never_redrawn(tmp_path: Path) -> None:
    repo = card_blog(tmp_path)
    ai = repo / "coop" / "2026-03-04-ai.md"  # an AI cover: its title changing costs no quota
    ai.write_text("---\ntitle: New title\nimage_provider: cloudflare\nimage_card: 000000000000\n---\n"
                  "# T\n\n![[attachments/x.jpg]]\n")
    old = repo / "coop" / "2026-03-05-old-card.md"  # a card from before image_card: left alone
    old.write_text("---\ntitle: New title\nimage_provider: card\nimage_alt: Old title\n---\n# T\n\n![[attachments/y.jpg]]\n")
    commit_all(repo)
    ai_text, old_text = ai.read_text(), old.read_text()
    assert run(repo) == 0
    assert ai.read_text() == ai_text and old.read_text() == old_text


def test_regenerate_named_posts_without_editing_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = card_blog(tmp_path)
    assert run(repo) == 0
    eggs = repo / "coop" / "2026-03-03-eggs.md"
    before = (repo / "coop" / "2026-03-02-predator.md").read_text()
    capsys.readouterr()
    assert run(repo, "--regenerate", "coop/2026-03-03-eggs.md") == 0
    assert capsys.readouterr().out.startswith("generated 1 cover(s)")
    assert "coop-2026-03-03-eggs-2.jpg" in eggs.read_text() and "regenerate_image" not in eggs.read_text()
    assert (repo / "coop" / "2026-03-02-predator.md").read_text() == before  # only the named post
    assert covers(repo) == ["coop-2026-03-02-predator.jpg", "coop-2026-03-03-eggs-2.jpg"]
    assert run(repo, "--regenerate", "coop/nope.md") == 2
    assert "regenerate: 'coop/nope.md' does not exist in the repository" in capsys.readouterr().err
