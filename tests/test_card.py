"""The `card` provider: the title large and readable (WCAG AA measured against the pixels behind
it), wrapped and sized to fit 1..120 characters, deterministic, in a packaged font; `local` as an
alias; `--title-overlay` puts the same band over an AI cover."""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from imagegen.posts import Post
from imagegen.pipeline import series_name
from imagegen.testing import VirtualClock
from imagegen.images import fonts
from imagegen.images.overlay import MIN_CONTRAST, CoverText, contrast, draw_text, worst_contrast
from imagegen.providers import SPECS
from imagegen.providers.base import ImageRequest, ProviderContext
from imagegen.providers.card import render, render_card
from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401
from tests.helpers import commit_all, init_repo, run_cli

WORDS = ("coop", "winter", "eggs", "public", "systems", "open", "data", "raccoon", "hardware", "cloth", "why",
         "a", "the", "of", "Почему", "системы", "δημόσια", "υπηρεσία", "Ünïcödé", "2026", "x" * 30)


def _title(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while len(" ".join(words)) < length:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:length].strip() or "A"


def test_font_comes_from_a_package() -> None:
    path = fonts.CHAIN[0].path
    if path is None:
        if os.environ.get("IMAGEGEN_REQUIRE_TOOLS") == "1":
            pytest.fail("fonts-dejavu-core is not installed (scripts/install-fonts.sh installs it)")
        pytest.skip("fonts-dejavu-core not installed: cards use Pillow's built-in font")
    assert path.endswith("dejavu/DejaVuSans-Bold.ttf")


@pytest.mark.parametrize("seed", range(12))
def test_title_contrast_is_wcag_aa_and_it_fits(seed: int) -> None:
    rng = random.Random(seed)
    for length in (1, rng.randint(2, 40), rng.randint(41, 90), 120):
        title = _title(rng, length)
        series = rng.choice(["", "Chickie Loo", "Systems for Public Good", "Auto Blog Zero"])
        w, h = rng.choice([(1200, 630), (800, 418), (1024, 1024)])
        img, lay = render_card(f"prompt {seed} {length}", CoverText(title, series), w, h)
        assert img.size == (w, h)
        assert worst_contrast(lay.background, lay.title_box, lay.title_fill) >= MIN_CONTRAST, title
        if series:
            assert lay.series_box is not None
            assert worst_contrast(lay.background, lay.series_box, lay.series_fill) >= MIN_CONTRAST
        x0, y0, x1, y1 = lay.title_box
        assert 0 < x0 < x1 <= w - x0 // 2 and 0 <= y0 < y1 <= h, (title, lay.title_box)
        assert 1 <= len(lay.title_lines) <= 4
        assert lay.title_size >= round(h * 0.045)
        shown = " ".join(lay.title_lines).replace("…", "")
        assert shown.replace(" ", "") in title.replace(" ", "")  # nothing invented, words in order
        # the title was really drawn: the pixels in its box changed
        assert ImageChops.difference(img.crop(lay.title_box), lay.background.crop(lay.title_box)).getbbox()


def test_short_titles_are_large_and_long_ones_shrink_but_stay_readable() -> None:
    _, short = render_card("p", CoverText("Winter eggs"), 1200, 630)
    _, long = render_card("p", CoverText(_title(random.Random(1), 120)), 1200, 630)
    assert short.title_size >= 75 and len(short.title_lines) == 1
    assert 28 <= long.title_size < short.title_size


def test_overlong_title_is_cut_with_an_ellipsis() -> None:
    _, lay = render_card("p", CoverText("word " * 80), 1200, 630)
    assert lay.title_lines[-1].endswith("…") and len(lay.title_lines) <= 4


def test_deterministic_and_derived_from_the_prompt() -> None:
    a = render("a fox in the snow", 400, 210, CoverText("Foxes"))
    assert a == render("a fox in the snow", 400, 210, CoverText("Foxes"))
    b = render("a harbour at dusk", 400, 210, CoverText("Foxes"))
    assert a != b
    with Image.open(io.BytesIO(a)) as ia, Image.open(io.BytesIO(b)) as ib:
        assert ia.convert("RGB").getpixel((390, 5)) != ib.convert("RGB").getpixel((390, 5))


@pytest.mark.parametrize("name", ["card", "local"])
def test_the_card_draws_the_requests_title_and_series(name: str) -> None:
    provider = SPECS[name].create({}, ProviderContext(http=None, clock=VirtualClock()))  # type: ignore[arg-type]
    prompt = "generate an image to illustrate the following blog post: Winter eggs. Hens lay."

    def made(request: ImageRequest) -> bytes:
        image = asyncio.run(provider.generate(request))
        assert (image.provider, image.width, image.height) == (name, 400, 210)
        return image.data

    titled = made(ImageRequest(prompt, width=400, height=210, title="Winter eggs", series="Chickie Loo"))
    assert titled == render(prompt, 400, 210, CoverText("Winter eggs", "Chickie Loo"))
    # Nothing is read back out of the prompt: a request without a title is an untitled card.
    assert made(ImageRequest(prompt, width=400, height=210)) == render(prompt, 400, 210, CoverText("Untitled"))
    assert asyncio.run(provider.generate(ImageRequest(prompt, model="title-card-v1"))).model == "title-card-v1"


def test_overlay_band_contrast_on_a_bright_picture() -> None:
    white = Image.new("RGB", (1200, 630), (250, 250, 245))
    lay = draw_text(white, CoverText("A title over a bright AI picture", "Chickie Loo"), 0.1, overlay=True)
    assert worst_contrast(lay.background, lay.title_box, lay.title_fill) >= MIN_CONTRAST
    assert lay.title_box[3] > 630 * 0.6  # in the bottom band
    assert white.getpixel((600, 20)) == (250, 250, 245)  # the top of the picture is left alone


def test_contrast_formula() -> None:
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


def test_local_is_an_alias_of_card() -> None:
    assert SPECS["local"].default_model == SPECS["card"].default_model == "title-card-v1"


def test_series_name(tmp_path: Path) -> None:
    def post(rel: str, text: str = "# T\n") -> Post:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return Post.load(p, tmp_path, max_bytes=10_000)
    assert series_name(post("chickie-loo/2026-01-01-a.md")) == "Chickie Loo"
    assert series_name(post("posts/2026-01-01-a.md")) == ""
    assert series_name(post("2026-01-01-a.md")) == ""
    assert series_name(post("content/2026-01-01-b.md", "---\nseries: Notes from the coop\n---\n# T\n")) == "Notes from the coop"


def _blog(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "blog")
    p = repo / "chickie-loo" / "2026-01-01-winter-eggs.md"
    p.parent.mkdir(parents=True)
    p.write_text("---\ntitle: Winter eggs\n---\n# Winter eggs\n\nHens lay fewer eggs in winter.\n")
    commit_all(repo)
    return repo


@pytest.mark.parametrize("name", ["card", "local"])
def test_card_through_the_cli(name: str, tmp_path: Path) -> None:
    repo = _blog(tmp_path)
    report = tmp_path / "r.json"
    r = run_cli("run", str(repo), "--providers", name, "--report", str(report))
    assert r.returncode == 0, r.stderr
    (g,) = json.loads(report.read_text())["generated"]
    assert (g["provider"], g["model"]) == (name, "title-card-v1")
    with Image.open(repo / g["image"]) as im:
        assert (im.size, im.format) == ((1200, 630), "JPEG")
    # the same post gives the same card (deterministic), whatever the run
    def mean_diff(text: CoverText) -> float:
        expected = render(g["prompt"], 1200, 630, text)
        with Image.open(io.BytesIO(expected)) as e, Image.open(repo / g["image"]) as got:
            return sum(ImageStat.Stat(ImageChops.difference(e.convert("RGB"), got.convert("RGB"))).mean) / 3
    same, other = mean_diff(CoverText("Winter eggs", "Chickie Loo")), mean_diff(CoverText("Summer eggs", "Chickie Loo"))
    assert same < 1.5 and other > 2 * same, (same, other)  # JPEG noise only: the post's title and series


def test_title_overlay_on_an_ai_cover(fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    fake_providers.set_behaviour("huggingface", image_size=(1200, 624))
    covers = {}
    for overlay in (False, True):
        repo = _blog(tmp_path / str(overlay))
        args = ["run", str(repo), "--providers", "huggingface", "--describer", "off", "--image-format", "png"]
        r = run_cli(*args, *(["--title-overlay"] if overlay else []), env=fake_providers.env(["huggingface"]))
        assert r.returncode == 0, r.stderr
        covers[overlay] = Image.open(next((repo / "attachments").iterdir())).convert("RGB")
    plain, card = covers[False], covers[True]
    assert plain.size == card.size == (1200, 630)
    assert ImageChops.difference(plain.crop((0, 0, 1200, 200)), card.crop((0, 0, 1200, 200))).getbbox() is None
    assert ImageChops.difference(plain.crop((0, 430, 1200, 630)), card.crop((0, 430, 1200, 630))).getbbox()


def test_card_is_the_last_resort_of_a_chain(fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    fake_providers.set_behaviour("huggingface", default="quota")
    repo = _blog(tmp_path)
    report = tmp_path / "r.json"
    r = run_cli("run", str(repo), "--providers", "huggingface,card", "--describer", "off", "--report", str(report),
                env=fake_providers.env(["huggingface"]))
    assert r.returncode == 0, r.stderr
    data = json.loads(report.read_text())
    (g,) = data["generated"]
    assert g["provider"] == "card" and data["providers"]["huggingface"]["errors"]["quota"] >= 1
    assert data["stopped_by_quota"] is False and data["pending"] == []
