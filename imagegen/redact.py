"""One place that knows the run's secrets and scrubs them from any text we print or store.

Every log line, exception message, report and job summary passes through `redact`. The entry
points register every secret a user gives before anything is printed (the CLI's `main`, the
action's first step, which also masks them with `::add-mask::`); a provider built directly (a
library, a test) registers its own (`ProviderSpec.create`). The registry is process-wide on
purpose: a secret can surface in any exception text from any library, and the scrub must catch it
wherever the text ends up.
A secret is scrubbed in every standard encoding it can come back in, not only as written: APIs
echo a rejected credential base64-encoded (Cloudflare's "credential <base64> rejected"), GitHub's
basic auth carries `x-access-token:<token>` in base64, a key ends up URL-encoded in a query string
or hex-encoded in a debug dump. `forms` lists them: URL-encoded (`%XX` in either case, `+` for a
space), hex (either case), and base64 and base64url with and without padding, at each of the three
alignments a secret can have inside a longer encoded text (`user:token` encodes the token's bytes
shifted), so an encoded secret is found wherever it sits. The action masks every form with
`::add-mask::` too.
"""

from __future__ import annotations

import base64
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

_lock = threading.Lock()
_secrets: set[str] = set()

MASK = "***"
MIN_LEN = 8
"""Shorter values cannot be masked safely (masking 'null' or 'a' would shred every message and
JSON document): settings refuse a secret shorter than this, and `register` ignores one."""


def _url_forms(value: str) -> set[str]:
    out = {quote(value, safe=""), quote(value), quote_plus(value)}
    return out | {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), v) for v in out}


def _base64_forms(raw: bytes) -> set[str]:
    """The base64 texts that carry `raw`, standard and URL-safe, padded and not: whole (the secret
    encoded alone), and at each alignment inside a longer text, the stable middle: only the
    characters made of the secret's bits alone (the first and last few depend on the neighbours)."""
    out: set[str] = set()
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        if shift:  # drop the group holding the filler's bits
            enc = enc[4:]
        whole = len(b"\0" * shift + raw) % 3 == 0
        core = enc.rstrip("=")
        if shift == 0:
            out.update({enc, core})
        if not whole:  # the last group mixes in whatever follows: keep only complete groups
            core = core[: len(core) // 4 * 4] if shift else core[: (len(raw) // 3) * 4]
        out.add(core)
    out |= {v.replace("+", "-").replace("/", "_") for v in out}
    return {v for v in out if len(v) >= MIN_LEN}


def forms(value: str) -> set[str]:
    """Every text under which `value` can leave the process: itself, URL-encoded, hex, base64 and
    base64url (see the module docstring). Forms shorter than MIN_LEN are left out."""
    raw = value.encode("utf-8")
    out = {value} | _url_forms(value) | {raw.hex(), raw.hex().upper()} | _base64_forms(raw)
    return {v for v in out if len(v) >= MIN_LEN}


def register(value: str | None) -> None:
    """Remember `value` (and every encoded form of it) as a secret for the rest of the process."""
    if not value or len(value) < MIN_LEN:
        return
    found = forms(value)
    with _lock:
        _secrets.update(found)


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def clear() -> None:
    """Forget every secret (tests only)."""
    with _lock:
        _secrets.clear()


_OTHER_SURROGATES = re.compile("[\ud800-\udc7f\udd00-\udfff]")
"""Surrogates that are not surrogateescape's stand-ins for undecodable bytes (U+DC80-U+DCFF)."""


def writable(text: str) -> str:
    """`text` as valid UTF-8: a file name that is not UTF-8 (Python reads it with surrogateescape,
    `caf\\udce9.md`) shows its bytes escaped (`caf\\xe9.md`). Such a string cannot be written to a
    UTF-8 file or stream; every text that leaves the process comes through `redact`, hence here."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        text = _OTHER_SURROGATES.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def redact(text: str) -> str:
    """Replace every registered secret in `text` with `***`, longest first; the result is always
    writable as UTF-8 (`writable`)."""
    if not text:
        return text
    text = writable(text)
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
