"""The provider registry: the one list that names every provider, in default priority order.

Adding a provider = one module exposing `SPEC` + one line in `_registry()` + its tests. Nothing
else in the program names a provider.

The registry is built on first use (module `__getattr__`), so that provider modules may import
shared helpers such as `imagegen.images` without an import cycle through this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.providers.base import ProviderSpec

DEFAULT_ORDER: tuple[str, ...] = ("cloudflare", "huggingface", "together", "pollinations", "gemini")
"""Default priority when the user names no order: the free tiers first, Gemini (precious) last.
Names not registered are ignored; `card` (and its alias `local`) joins only when asked for explicitly."""

DEFAULT_RESERVE: tuple[str, ...] = ("gemini",)


def _registry() -> "tuple[ProviderSpec, ...]":
    from imagegen.providers import card, cloudflare, gemini, huggingface, local, pollinations, together

    return (
        card.SPEC,
        local.SPEC,
        cloudflare.SPEC,
        huggingface.SPEC,
        together.SPEC,
        pollinations.SPEC,
        gemini.SPEC,
    )


_cache: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name in ("REGISTRY", "SPECS"):
        if not _cache:
            reg = _registry()
            _cache["REGISTRY"] = reg
            _cache["SPECS"] = {spec.name: spec for spec in reg}
        return _cache[name]
    raise AttributeError(name)


def get(name: str) -> "ProviderSpec":
    specs = __getattr__("SPECS")
    try:
        return specs[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r} (known: {', '.join(specs)})") from None
