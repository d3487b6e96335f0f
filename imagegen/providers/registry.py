"""The provider registry: the one tuple that names every provider, in default priority order.

Adding a provider = one module in `imagegen/providers/` exposing `SPEC` + one line in `REGISTRY`
+ its tests. Nothing outside `imagegen/providers/` imports a provider module: the rest of the
program reaches providers through this registry (re-exported by `imagegen.providers`).

`local` is the name the offline provider had before it drew title cards: an alias entry of `card`
(same look, same determinism), so existing configs (`--providers local`) keep working; the report
names the provider as configured.
"""

from __future__ import annotations

from imagegen.providers import card, cloudflare, gemini, huggingface, pollinations, together
from imagegen.providers.base import ProviderSpec

__all__ = ["DEFAULT_ORDER", "DEFAULT_RESERVE", "REGISTRY", "SPECS", "get"]

REGISTRY: tuple[ProviderSpec, ...] = (
    card.SPEC,
    card.spec("local", needs="nothing (name it in --providers; an alias of card)"),
    cloudflare.SPEC,
    huggingface.SPEC,
    together.SPEC,
    pollinations.SPEC,
    gemini.SPEC,
)

SPECS: dict[str, ProviderSpec] = {spec.name: spec for spec in REGISTRY}

DEFAULT_ORDER: tuple[str, ...] = ("cloudflare", "huggingface", "together", "pollinations", "gemini")
"""Default priority when the user names no order: the free tiers first, Gemini (precious) last.
`card` (and its alias `local`) joins only when asked for explicitly."""

DEFAULT_RESERVE: tuple[str, ...] = ("gemini",)


def get(name: str) -> ProviderSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r} (known: {', '.join(SPECS)})") from None
