"""Image providers: one module each, listed once in `registry.py`.

Callers outside this package use what is re-exported here (the registry, the describer's text
backend, `new_client`: the run's HTTP client, which follows no redirects) and the shared types in
`imagegen.providers.base`; they never import a provider module or `_http`.
"""

from imagegen.providers._http import new_client
from imagegen.providers.registry import (DEFAULT_ORDER, DEFAULT_RESERVE, REGISTRY, SPECS, display_name, get,
                                         secret_env_names, secret_options, text_backend,
                                         text_credentials)

__all__ = ["DEFAULT_ORDER", "DEFAULT_RESERVE", "REGISTRY", "SPECS", "display_name", "get", "new_client",
           "secret_env_names", "secret_options", "text_backend", "text_credentials"]
