"""Every cover a run writes is the configured size and format, whatever the provider sent:
through `imagegen run` against the fake provider server (each provider answering with its real
wrong sizes: Cloudflare's square, Hugging Face's and Together's 1200x624, Gemini's 16:9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, features

from tests.fake_providers import FakeProviders, fake_providers  # noqa: F401
from tests.helpers import embeds, run_cli, small_blog
from tests.test_finish import _meta_jpeg

_blog = small_blog


CASES = [  # provider, what it really answers with, format flag, expected Pillow format, extension
    ("cloudflare", (1024, 1024), None, "JPEG", "jpg"),
    ("huggingface", (1200, 624), "webp", "WEBP", "webp"),
    ("together", (1200, 624), "png", "PNG", "png"),
    ("pollinations", (1024, 1024), "original", "JPEG", "jpg"),  # Pollinations answers with JPEGs
    ("gemini", (1344, 768), "avif" if features.check("avif") else "jpeg", "AVIF" if features.check("avif") else "JPEG",
     "avif" if features.check("avif") else "jpg"),
]


@pytest.mark.parametrize("provider,size,fmt,pil,ext", CASES)
def test_every_cover_is_the_configured_size_and_format(provider: str, size: tuple[int, int], fmt: str | None,
                                                       pil: str, ext: str, fake_providers: FakeProviders,  # noqa: F811
                                                       tmp_path: Path) -> None:
    fake_providers.set_behaviour(provider, image_size=size)
    repo = _blog(tmp_path)
    report_path = tmp_path / "report.json"
    args = ["run", str(repo), "--providers", provider, "--describer", "off", "--report", str(report_path),
            "--provider-min-interval", f"{provider}=0", "--embed-style", "markdown"]
    if fmt:
        args += ["--image-format", fmt]
    r = run_cli(*args, env=fake_providers.env())
    assert r.returncode == 0, r.stderr
    report = json.loads(report_path.read_text())
    assert len(report["generated"]) == 2, report
    for g in report["generated"]:
        assert g["image"].endswith("." + ext)
        with Image.open(repo / g["image"]) as im:
            assert (im.size, im.format) == ((1200, 630), pil)
        text = (repo / g["post"]).read_text()
        assert [Path(t).name for t in embeds(text)] == [Path(g["image"]).name]
    # a second run changes nothing: the new extension counts as a cover
    r2 = run_cli(*args, env=fake_providers.env())
    assert r2.returncode == 0 and json.loads(report_path.read_text())["generated"] == []


def test_size_quality_and_metadata_flags_through_the_cli(fake_providers: FakeProviders, tmp_path: Path) -> None:  # noqa: F811
    src = _meta_jpeg().data  # EXIF, XMP, an ICC profile, a comment
    fake_providers.script("pollinations", [{"kind": "raw", "status": 200, "body": src, "content_type": "image/jpeg"}] * 2)
    repo = _blog(tmp_path)
    report_path = tmp_path / "report.json"
    r = run_cli("run", str(repo), "--providers", "pollinations", "--describer", "off", "--report", str(report_path),
                "--provider-min-interval", "pollinations=0", "--width", "800", "--height", "418",
                "--image-format", "webp", "--image-quality", "60", "--crop", "smart", env=fake_providers.env())
    assert r.returncode == 0, r.stderr
    for g in json.loads(report_path.read_text())["generated"]:
        data = (repo / g["image"]).read_bytes()
        assert b"SECRET" not in data and b"ICC_PROFILE" not in data
        with Image.open(repo / g["image"]) as im:
            assert (im.size, im.format) == ((800, 418), "WEBP") and not im.getexif()


@pytest.mark.parametrize("flags,message", [
    (["--image-format", "tiff"], "image-format: unknown format 'tiff'"),
    (["--image-quality", "0"], "image-quality: must be at least 1"),
    (["--image-quality", "101"], "image-quality: must be at most 100"),
    (["--crop", "faces"], "crop: expected center or smart"),
])
def test_bad_output_settings_are_refused_before_any_work(flags: list[str], message: str, tmp_path: Path) -> None:
    repo = _blog(tmp_path)
    r = run_cli("run", str(repo), "--providers", "local", *flags)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (repo / "attachments").exists()


def test_dry_run_names_the_configured_format(tmp_path: Path) -> None:
    repo = _blog(tmp_path, 1)
    report_path = tmp_path / "report.json"
    r = run_cli("run", str(repo), "--providers", "local", "--dry-run", "--image-format", "webp", "--report", str(report_path))
    assert r.returncode == 0, r.stderr
    (p,) = json.loads(report_path.read_text())["pending"]
    assert p["would_write"] == "attachments/series-2026-01-01-post-0.webp"
