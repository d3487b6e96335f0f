"""Events as sentences for a person at a terminal: "switched from Cloudflare to Pollinations: quota
used up until 00:00 UTC", not `switch p.md [pollinations] from cloudflare (quota)`.

`Narrator` is stateful only to join facts that arrive in separate events (a provider goes out with
its reset time; a later switch away from it says why). Every line starts with what happened
(`generated`, `skipped`, `switched`, ...) so a reader scanning the left edge sees the story. The
JSON events (`--json-events`) and the action's log keep the machine form (`Event.line`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

from imagegen.report import Event
from imagegen.secrets import redact

__all__ = ["Narrator", "provider_name", "fmt_duration"]

_NAMES = {"huggingface": "Hugging Face", "together": "Together AI", "local": "the offline provider"}

REASONS = {
    "quota": "quota used up",
    "rate_limit": "rate limited",
    "auth": "the key was refused",
    "unavailable": "not available",
    "transient": "a temporary error",
    "refused": "it refused the prompt",
    "bad_image": "it sent a broken image",
    "bad_request": "it rejected the request",
    "budget": "its budget for this run is used",
}

SKIPS = {
    "has-image": "already has a cover",
    "no-title": "no title (no frontmatter title and no # heading)",
}


def provider_name(name: str) -> str:
    """How a provider is called in a sentence."""
    return _NAMES.get(name, name[:1].upper() + name[1:])


def fmt_duration(seconds: float) -> str:
    """1.4 s, 52 s, 3 min 05 s, 1 h 02 min."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _parse_until(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M UTC").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


class Narrator:
    """Turns events into one line each (or None for events not worth a line)."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.out_why: dict[str, str] = {}
        """provider -> why it is out ("quota used up until 00:00 UTC")."""

    def _until(self, text: str) -> str:
        """`2026-12-01 00:00 UTC` as `00:00 UTC` when that is within the next day."""
        t = _parse_until(text)
        if t is None:
            return text
        if timedelta(0) <= t - self.now() <= timedelta(hours=24):
            return t.strftime("%H:%M UTC")
        return t.strftime("%Y-%m-%d %H:%M UTC")

    def line(self, ev: Event) -> str | None:
        text = self._line(ev)
        return None if text is None else redact(text)

    def _line(self, ev: Event) -> str | None:
        k, post, msg, data = ev.kind, ev.post, ev.message, ev.data
        who = provider_name(ev.provider) if ev.provider else ""
        if k == "start":
            return f"looking for posts in {msg[5:]}" if msg.startswith("repo ") else (msg or None)
        if k == "plan":
            n = int(data.get("total", 0))
            return f"{n} post{'s' if n != 1 else ''} to give a cover" if n else None
        if k == "skip":
            reason, _, detail = msg.partition(": ")
            if reason == "opted-out":
                return f"skipped {post}: opted out" + (f" ({detail})" if detail else "")
            return f"skipped {post}: {SKIPS.get(reason, detail or reason)}"
        if k == "generating":
            attempt = int(data.get("attempt", 1) or 1)
            again = f" (attempt {attempt})" if attempt > 1 else ""
            return f"asking {who} for {post}{again}"
        if k == "generated":
            return f"generated {post} -> {msg} by {who}"
        if k == "would_generate":
            why, _, target = msg.partition(" -> ")
            return f"would generate {post} -> {target or msg}" + (" (regenerate)" if why == "regenerate" else "")
        if k == "switch":
            src = str(data.get("from", ""))
            reason = str(data.get("reason", ""))
            why = self.out_why.get(src) or REASONS.get(reason, reason)
            return f"switched from {provider_name(src)} to {who}: {why} ({post})"
        if k == "retry":
            return f"waiting for {who} ({post}): {msg}"
        if k == "provider_out":
            reason = str(data.get("reason", ""))
            until = data.get("until")
            if until:
                why = f"{REASONS.get(reason, reason)} until {self._until(str(until))}"
                self.out_why[ev.provider] = why
                return f"{who} is out: {why}; not asked again before then"
            why = REASONS.get(reason, reason)
            self.out_why[ev.provider] = why
            detail = msg if msg and msg != why else ""
            return f"{who} is out for this run: {why}" + (f" ({detail})" if detail else "")
        if k == "failed":
            return f"failed {post}: {msg}"
        if k == "pending":
            return f"left for a later run: {post} ({msg})"
        if k == "warning":
            if data.get("no_posts"):
                return None  # the summary says it
            return f"warning: {post + ': ' if post else ''}{msg}"
        if k == "stop":
            return f"stopping: {msg}"
        if k == "done":
            return None
        return ev.line()
