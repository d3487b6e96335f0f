"""Image providers: one module each, listed once in `registry.py`.

Callers outside this package use what is re-exported here (the registry) and the shared types in
`imagegen.providers.base`; they never import a provider module.
"""

from imagegen.providers.registry import (DEFAULT_ORDER, DEFAULT_RESERVE, REGISTRY, SPECS, display_name, get,
                                         secret_env_names, secret_options)

__all__ = ["DEFAULT_ORDER", "DEFAULT_RESERVE", "REGISTRY", "SPECS", "display_name", "get", "secret_env_names",
           "secret_options"]
