"""The provider registry: the one tuple that names every provider, in default priority order.

Adding a provider = one module in `imagegen/providers/` exposing `SPEC` + one line in `REGISTRY`
+ its tests. Nothing outside `imagegen/providers/` imports a provider module: the rest of the
program reaches providers through this registry (re-exported by `imagegen.providers`).

`local` is the name the offline provider had before it drew title cards: an alias entry of `card`
(same look, same determinism), so existing configs (`--providers local`) keep working; the report
names the provider as configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from imagegen.providers import aihorde, card, cloudflare, gemini, huggingface, pollinations, together
from imagegen.providers.base import Option, ProviderSpec, TextBackend

if TYPE_CHECKING:  # pragma: no cover
    from imagegen.clock import Clock

__all__ = ["DEFAULT_ORDER", "DEFAULT_RESERVE", "REGISTRY", "SPECS", "display_name", "get", "secret_env_names",
           "secret_options", "text_backend", "text_credentials"]

REGISTRY: tuple[ProviderSpec, ...] = (
    card.SPEC,
    card.spec("local", needs="nothing (name it in --providers; an alias of card)", display_name="the offline provider",
              alias_of="card"),
    cloudflare.SPEC,
    huggingface.SPEC,
    together.SPEC,
    pollinations.SPEC,
    aihorde.SPEC,
    gemini.SPEC,
)

SPECS: dict[str, ProviderSpec] = {spec.name: spec for spec in REGISTRY}

DEFAULT_ORDER: tuple[str, ...] = ("cloudflare", "huggingface", "together", "pollinations", "aihorde", "gemini")
"""Default priority when the user names no order: the free tiers first, Gemini (precious) last.
AI Horde (free but slow, and volunteers see the prompts) joins by default only when no other AI
provider is configured (its `stand_in`). `card` (and its alias `local`) joins only when asked for
explicitly."""

DEFAULT_RESERVE: tuple[str, ...] = ("gemini",)


def get(name: str) -> ProviderSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r} (known: {', '.join(SPECS)})") from None


def text_credentials(provider_opts: Mapping[str, Mapping[str, str]]) -> tuple[str, str]:
    """(api key, base URL) of the describer's text backend (Gemini's), from every provider's
    resolved options (Settings.provider_opts); ('', '') when it has no key."""
    opts = provider_opts.get(gemini.SPEC.name, {})
    return opts.get("api_key", "") or "", opts.get("base_url", "") or ""


def text_backend(api_key: str, *, base_url: str = "", timeout: float, clock: "Clock", http: Any = None) -> TextBackend:
    """The describer's text models: Gemini's, with `api_key` (GEMINI_API_KEY, registered as a
    secret) and `base_url` ('' for the default host). `http`: a client to run on (else its own)."""
    return gemini.text_backend(api_key, base_url=base_url, timeout=timeout, clock=clock, http=http)


def display_name(name: str) -> str:
    """How provider `name` is called in a sentence ("Hugging Face"); a name the registry does not
    know (a test double) is capitalised."""
    spec = SPECS.get(name)
    return spec.display_name if spec is not None else name[:1].upper() + name[1:]


def secret_options() -> tuple[Option, ...]:
    """Every provider option that holds a secret, in registry order, each once: what a workflow
    passes from its repository secrets (`imagegen init` writes them; `.env` holds the env name,
    `.input_name` the action input)."""
    out: list[Option] = []
    for spec in REGISTRY:
        out.extend(o for o in spec.secret_options() if all(o.env != seen.env for seen in out))
    return tuple(out)


def secret_env_names() -> tuple[str, ...]:
    """The environment names of every provider secret (CLOUDFLARE_API_TOKEN, ...), in registry order."""
    return tuple(o.env for o in secret_options())
