"""`local`: the name the offline provider had before it drew title cards; kept as an alias of
`card` (see card.py) so existing configs (`--providers local`) keep working. Same look, same
determinism; the report names the provider as configured (`local`)."""

from __future__ import annotations

from imagegen.providers.card import DEFAULT_MODEL, render, spec

NAME = "local"
SPEC = spec(NAME, needs="nothing (name it in --providers; an alias of card)")

__all__ = ["DEFAULT_MODEL", "NAME", "SPEC", "render"]
