"""The Report (what a run did) and Events (what is happening, one line each).

The pipeline fills a Report and emits Events; the CLI and the action only render them. Every
string that leaves here passes through `secrets.redact`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from imagegen.providers.base import ERROR_KINDS
from imagegen.secrets import redact, redact_json


@dataclass
class ProviderStats:
    calls: int = 0
    images: int = 0
    errors: dict[str, int] = field(default_factory=lambda: {k: 0 for k in ERROR_KINDS})
    seconds: float = 0.0
    wasted_calls: int = 0
    status: str = "ok"
    """ok | quota | auth | unavailable | retired | budget: why the provider stopped taking posts, if it did."""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        return d


@dataclass
class Generated:
    post: str
    image: str
    provider: str
    model: str
    prompt: str
    prompt_source: str = "text"
    removed_image: str | None = None
    alt: str = ""
    kept_image: str | None = None
    """The old cover, kept because something may still use it (see `kept_because`)."""
    kept_because: str | None = None


@dataclass
class Report:
    generated: list[Generated] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, str]] = field(default_factory=list)
    stopped_by_quota: bool = False
    cancelled: bool = False
    dry_run: bool = False
    providers: dict[str, ProviderStats] = field(default_factory=dict)
    stop_reason: str = ""
    run_error: str = ""
    """One line when no cover could be made because every provider failed for setup or network
    reasons (auth, config, retired models, unreachable) -- not quota: the run then exits non-zero."""

    @property
    def posts_updated(self) -> list[str]:
        return [g.post for g in self.generated]

    def to_json(self) -> dict[str, Any]:
        data = {
            "generated": [asdict(g) for g in self.generated],
            "skipped": self.skipped,
            "failed": self.failed,
            "pending": self.pending,
            "stopped_by_quota": self.stopped_by_quota,
            "cancelled": self.cancelled,
            "dry_run": self.dry_run,
            "stop_reason": self.stop_reason,
            "run_error": self.run_error,
            "providers": {k: v.to_json() for k, v in self.providers.items()},
        }
        return data

    def dumps(self, *, indent: int | None = 2) -> str:
        """The JSON report, secrets scrubbed."""
        separators = (",", ":") if indent is None else None
        return json.dumps(redact_json(self.to_json()), indent=indent, ensure_ascii=False, separators=separators)


@dataclass(frozen=True)
class Event:
    """One thing that happened. `kind` is one of: start, skip, generating, retry, switch, generated,
    failed, pending, provider_out, warning, stop, done."""

    kind: str
    post: str = ""
    provider: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """Human-readable one-liner for logs."""
        parts = [self.kind + (":" if self.kind == "done" else "")]
        if self.post:
            parts.append(self.post)
        if self.provider:
            parts.append(f"[{self.provider}]")
        if self.message:
            parts.append(self.message)
        return redact(" ".join(parts))

    def to_json(self) -> str:
        data = json.loads(json.dumps({"event": self.kind, "post": self.post, "provider": self.provider,
                                      "message": self.message, **self.data}, ensure_ascii=False, default=str))
        return json.dumps(redact_json(data), ensure_ascii=False)


EventSink = Callable[[Event], None]


def null_sink(event: Event) -> None:
    return None
