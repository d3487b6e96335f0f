"""The provider registry: the one list that names every provider, in default priority order.

Adding a provider = one module exposing `SPEC` + one line here + its tests. Nothing else in the
program names a provider.
"""

from __future__ import annotations

from imagegen.providers import local
from imagegen.providers.base import ProviderSpec

REGISTRY: tuple[ProviderSpec, ...] = (
    local.SPEC,
)

SPECS: dict[str, ProviderSpec] = {spec.name: spec for spec in REGISTRY}

DEFAULT_ORDER: tuple[str, ...] = ("cloudflare", "huggingface", "together", "pollinations", "gemini")
"""Default priority when the user names no order: the free tiers first, Gemini (precious) last.
Names not registered are ignored; `local` joins only when asked for explicitly."""

DEFAULT_RESERVE: tuple[str, ...] = ("gemini",)


def get(name: str) -> ProviderSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r} (known: {', '.join(SPECS)})") from None
