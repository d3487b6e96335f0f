"""One place that knows the run's secrets and scrubs them from any text we print or store.

Every log line, exception message, report and job summary passes through `redact`. The entry
points register every secret a user gives before anything is printed (the CLI's `main`, the
action's first step, which also masks them with `::add-mask::`); a provider built directly (a
library, a test) registers its own (`ProviderSpec.create`). The registry is process-wide on
purpose: a secret can surface in any exception text from any library, and the scrub must catch it
wherever the text ends up.
URL-encoded forms are scrubbed too, because a key can end up in a query string.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote, quote_plus

_lock = threading.Lock()
_secrets: set[str] = set()

MASK = "***"
MIN_LEN = 8
"""Shorter values cannot be masked safely (masking 'null' or 'a' would shred every message and
JSON document): settings refuse a secret shorter than this, and `register` ignores one."""


def register(value: str | None) -> None:
    """Remember `value` (and its URL-encoded forms) as a secret for the rest of the process."""
    if not value or len(value) < MIN_LEN:
        return
    with _lock:
        _secrets.update({value, quote(value, safe=""), quote_plus(value)})


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def clear() -> None:
    """Forget every secret (tests only)."""
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    """Replace every registered secret in `text` with `***`, longest first."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


def redact_json(value: Any) -> Any:
    """`value` (JSON-like) with secrets scrubbed from its string values only: the structure
    (keys, `null`, numbers, punctuation) is never touched, so the result still dumps to valid
    JSON of the same shape."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(v) for v in value]
    return value
