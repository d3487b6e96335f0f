"""Cloudflare Workers AI: neurons per cover and covers a day, from the published prices (not a test):
`.venv/bin/python bench/cloudflare_neurons.py`.

Nobody here can call the live service, so "measured" means computed from Cloudflare's own price
table for exactly the request imagegen sends (the size and steps in
`imagegen.providers.cloudflare.CloudflareProvider.request_body`):

- prices: developers.cloudflare.com/workers-ai/platform/pricing, "Last updated Aug 28, 2026"
  (cloudflare/cloudflare-docs `src/content/docs/workers-ai/platform/pricing.mdx`): $0.011 per
  1,000 neurons, a free allocation of 10,000 neurons a day (reset 00:00 UTC);
  `@cf/black-forest-labs/flux-1-schnell` 4.80 neurons per 512x512 tile + 9.60 per step;
  `@cf/black-forest-labs/flux-2-klein-4b` 26.05 neurons per output 512x512 tile (the input-tile
  price applies to reference images, which imagegen never sends). The same klein unit price is
  quoted as $0.000287 per output tile by catalogues that mirror Cloudflare's (26.09 neurons).
- what is drawn: klein gets the cover's shape rounded up to 16 (1200x640 for the default
  1200x630); FLUX.1 [schnell] takes no size and answers its 1024x1024 square (4 steps).
- the page does not say whether a partial tile counts whole, so both are given: by area and by
  whole tiles (the upper bound).

`imagegen.providers.cloudflare.NEURONS_PER_COVER` holds the result; tests/test_providers_cloudflare.py
checks that it equals what this computes, so a changed price or size shows up here first.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imagegen.providers import cloudflare  # noqa: E402
from imagegen.providers.base import ImageRequest  # noqa: E402

FREE_NEURONS_A_DAY = 10_000
TILE = 512
PRICES = {
    # model: (neurons per output 512x512 tile, neurons per step)
    cloudflare.KLEIN: (26.05, 0.0),
    cloudflare.SCHNELL: (4.80, 9.60),
}
SQUARE = (1024, 1024)
"""What FLUX.1 [schnell] answers on Workers AI (it takes no size)."""


def drawn(model: str, width: int = 1200, height: int = 630) -> tuple[int, int, int]:
    """(width, height, steps) of the picture Cloudflare draws for imagegen's request."""
    provider = cloudflare.CloudflareProvider(token="", account_id="", model=model, base_url="", ctx=None)  # type: ignore[arg-type]
    body, form = provider.request_body(ImageRequest("a cover", width=width, height=height), model)
    if form is not None:
        return int(form["width"]), int(form["height"]), 4  # FLUX.2 [klein]: fixed 4 steps
    assert body is not None
    return (*SQUARE, int(body.get("steps", 0)))


def neurons(model: str, width: int = 1200, height: int = 630) -> tuple[float, float]:
    """Neurons for one cover: (tiles counted by area, whole tiles), rounded to 0.1."""
    per_tile, per_step = PRICES[model]
    w, h, steps = drawn(model, width, height)
    by_area = w * h / (TILE * TILE) * per_tile + steps * per_step
    whole = math.ceil(w / TILE) * math.ceil(h / TILE) * per_tile + steps * per_step
    return round(by_area, 1), round(whole, 1)


def table() -> str:
    lines = ["| model | picture | neurons per cover (by area / whole tiles) | covers a day free (by area / whole tiles) |",
             "|---|---|---:|---:|"]
    for model in PRICES:
        w, h, steps = drawn(model)
        area, whole = neurons(model)
        lines.append(f"| `{model}` | {w}x{h}, {steps} steps | {area:g} / {whole:g} | "
                     f"{int(FREE_NEURONS_A_DAY // area)} / {int(FREE_NEURONS_A_DAY // whole)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
