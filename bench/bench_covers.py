"""Cover finishing benchmark (not a test): `.venv/bin/python bench/bench_covers.py [--pictures DIR ...]`.

What `images.finish` makes of what providers really send: each picture is first turned into a
provider-like answer (a PNG of 1024x1024 like Cloudflare's FLUX, 1200x624 like Hugging Face and
Together, or 1344x768 like Gemini's 16:9, in rotation), then finished to 1200x630 in every format.
Reported per format: bytes per cover (median, max) and the time `finish` adds per cover (median
and max of the best of 3 runs per cover, one core).

Pictures: the photographs and wallpapers of Debian's `mate-backgrounds` package when installed
(`apt-get install mate-backgrounds`: real photos of flowers, dunes, rain drops, a storm ...), plus
12 synthetic photo-like pictures made here deterministically (gradients, soft shapes, film grain,
hard edges), so the benchmark also runs where the package is not installed. `--pictures DIR` adds
your own folder (for example your blog's attachments).

It also compares the crops: the share of the picture's detail (edge energy) that the centre crop
and the smart crop keep.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw, ImageFilter, features  # noqa: E402

from imagegen.images import Output, checked_image, crop_box, finish, smart_offset  # noqa: E402
from imagegen.providers.base import GeneratedImage  # noqa: E402

PROVIDER_SIZES = ((1024, 1024), (1200, 624), (1344, 768))
DEBIAN_DIR = Path("/usr/share/backgrounds/mate")
FORMATS = ["jpeg", "webp", "png"] + (["avif"] if features.check("avif") else [])


def synthetic(seed: int, size: tuple[int, int] = (1344, 1024)) -> Image.Image:
    """A photo-like picture: a sky-to-ground gradient, blurred blobs (out-of-focus shapes), a few
    sharp-edged objects, and per-pixel grain (sensor noise is what makes real photos expensive to
    encode; flat synthetic images would flatter every format)."""
    rng = random.Random(seed)
    w, h = size
    top = tuple(rng.randint(40, 220) for _ in range(3))
    bottom = tuple(rng.randint(10, 160) for _ in range(3))
    grad = Image.new("RGB", (1, 256))
    for y in range(256):
        t = y / 255
        grad.putpixel((0, y), tuple(int(top[i] + (bottom[i] - top[i]) * t) for i in range(3)))
    img = grad.resize(size, Image.Resampling.BILINEAR)
    soft = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(soft)
    for _ in range(rng.randint(6, 14)):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.05, 0.3) * h
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(rng.randint(0, 255) for _ in range(3)) + (rng.randint(60, 200),))
    soft = soft.filter(ImageFilter.GaussianBlur(rng.uniform(8, 30)))
    img = Image.alpha_composite(img.convert("RGBA"), soft)
    sharp = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 9)):
        x0, y0 = rng.uniform(0, w), rng.uniform(h * 0.3, h)
        x1, y1 = x0 + rng.uniform(20, w / 3), y0 + rng.uniform(20, h / 3)
        fill = tuple(rng.randint(0, 255) for _ in range(3)) + (255,)
        (sharp.rectangle if rng.random() < 0.5 else sharp.ellipse)((x0, y0, x1, y1), fill=fill)
    img = img.convert("RGB").filter(ImageFilter.GaussianBlur(0.8))
    noise = Image.effect_noise(size, rng.uniform(6, 18)).convert("RGB")
    return Image.blend(img, noise, 0.12)


def pictures(extra: list[Path]) -> list[tuple[str, Image.Image]]:
    out: list[tuple[str, Image.Image]] = []
    folders = [DEBIAN_DIR / "nature", DEBIAN_DIR / "abstract", DEBIAN_DIR / "desktop", *extra]
    for folder in folders:
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp") or "_3840" in p.name or "_5640" in p.name:
                continue
            with Image.open(p) as im:
                out.append((f"{folder.name}/{p.name}", im.convert("RGB")))
    out += [(f"synthetic/{i:02d}", synthetic(i)) for i in range(12)]
    return out


def provider_answer(im: Image.Image, size: tuple[int, int]) -> GeneratedImage:
    """The picture as a provider would send it: that provider's size, as PNG."""
    box = crop_box(im.width, im.height, *size)
    buf = io.BytesIO()
    im.resize(size, Image.Resampling.LANCZOS, box=box).save(buf, "PNG")
    return checked_image(buf.getvalue(), provider="bench", model="bench")


def detail_kept(im: Image.Image, offset: float) -> float:
    edges = im.convert("L").filter(ImageFilter.FIND_EDGES)
    edges = edges.crop((1, 1, edges.width - 1, edges.height - 1))
    total = sum(v * n for v, n in enumerate(edges.histogram())) or 1
    box = tuple(round(v) for v in crop_box(edges.width, edges.height, 1200, 630, offset))
    kept = edges.crop(box)
    return sum(v * n for v, n in enumerate(kept.histogram())) / total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pictures", type=Path, action="append", default=[], help="another folder of pictures")
    args = ap.parse_args()
    pics = pictures(args.pictures)
    answers = [(name, provider_answer(im, PROVIDER_SIZES[i % len(PROVIDER_SIZES)])) for i, (name, im) in enumerate(pics)]
    real = sum(1 for n, _ in answers if not n.startswith("synthetic/"))
    print(f"{len(answers)} pictures ({real} from {DEBIAN_DIR}, {len(answers) - real} synthetic)")
    png_in = [len(a.data) for _, a in answers]
    print(f"provider PNGs as sent: median {statistics.median(png_in) / 1024:.0f} KB, max {max(png_in) / 1024:.0f} KB")
    results: dict[str, list[tuple[str, int, float]]] = {fmt: [] for fmt in FORMATS}
    for fmt in FORMATS:
        for name, a in answers:
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                out = finish(a, Output(format=fmt))
                best = min(best, time.perf_counter() - t0)
            assert (out.width, out.height) == (1200, 630)
            results[fmt].append((name, len(out.data), best))
    groups = [("photos (nature/)", lambda n: n.startswith("nature/")),
              ("wallpapers and digital art", lambda n: n.startswith(("abstract/", "desktop/"))),
              ("synthetic", lambda n: n.startswith("synthetic/")),
              ("all", lambda n: True)]
    quality = {"jpeg": "jpeg (82, progressive)", "webp": "webp (80)", "png": "png (lossless)", "avif": "avif (60)"}
    print()
    print("| pictures | format (quality) | n | median KB | max KB | finish median ms | finish max ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, keep in groups:
        for fmt in FORMATS:
            rows = [r for r in results[fmt] if keep(r[0])]
            if not rows:
                continue
            sizes, times = [r[1] for r in rows], [r[2] for r in rows]
            print(f"| {label} | {quality[fmt]} | {len(rows)} | {statistics.median(sizes) / 1024:.0f} | "
                  f"{max(sizes) / 1024:.0f} | {statistics.median(times) * 1000:.0f} | {max(times) * 1000:.0f} |")
    for fmt in ("jpeg", "webp"):
        name, size, _ = max(results[fmt], key=lambda r: r[1])
        print(f"largest {fmt}: {name} ({size / 1024:.0f} KB)")
    wide = [(n, im) for n, im in pics if abs(im.width / im.height - 1200 / 630) > 0.05]
    centre = [detail_kept(im, 0.5) for _, im in wide]
    smart = [detail_kept(im, smart_offset(im, 1200, 630)) for _, im in wide]
    better = sum(1 for c, s in zip(centre, smart) if s > c + 0.01)
    print()
    print(f"crop, {len(wide)} pictures of another shape: detail kept, centre median {statistics.median(centre):.0%}, "
          f"smart median {statistics.median(smart):.0%}; smart keeps more on {better}, "
          f"less on {sum(1 for c, s in zip(centre, smart) if s < c - 0.01)}")


if __name__ == "__main__":
    main()
