"""The Report (what a run did, as typed outcomes) and Events (what is happening, one typed fact each).

The pipeline fills a Report and emits Events; the CLI and the action only render them, reading
values (a reason code, a datetime, a title), never another module's text. Every string that leaves
here passes through `imagegen.redact`.

Outcomes, one per post the run looked at:

    Generated   a cover was made and the post updated
    Skipped     the post needs nothing, or cannot be used (`SkipReason`, or a PostError's reason)
    Failed      every provider that could take it failed it; or writing failed
    Pending     left for a later run (`PendingReason`)
    Planned     a dry run's plan: what would be written (its own list: a plan is not a pending post)

The JSON report keeps the shape of v1 (the action's `report` output is a public interface): a dry
run's plan is written as `pending` entries with reason `dry-run`, as it always was.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any, Callable, Mapping

from imagegen.errors import WriteError
from imagegen.providers.base import ERROR_KINDS
from imagegen.redact import redact, redact_json
from imagegen.writer import replace

__all__ = ["OWN_IMAGE", "Event", "EventKind", "EventSink", "Failed", "Generated", "Pending", "PendingReason",
           "Planned", "ProviderStats", "Report", "SkipReason", "Skipped", "fmt_until", "fmt_wait", "null_sink"]


OWN_IMAGE = "own-image"
"""The `provider` of a cover that is the post's own picture (body-image: cover): nothing was made."""


class SkipReason(StrEnum):
    """Why discovery (or the run) left a post alone. A post that cannot be read adds its own
    PostError reason (bad-frontmatter, not-utf8, empty, unreadable, too-large, cannot-edit)."""

    HAS_IMAGE = "has-image"
    FUTURE = "future"
    DRAFT = "draft"
    OPTED_OUT = "opted-out"
    NO_FRONTMATTER = "no-frontmatter"
    NO_TITLE = "no-title"
    NOT_FOUND = "not-found"
    NOT_A_POST = "not-a-post"
    SHARED_COVER = "shared-cover"
    """Another post makes the cover this one shows (a multilingual Hugo bundle's translations)."""
    EXCLUDED = "excluded"
    SYMLINK_OUTSIDE = "symlink-outside"


class PendingReason(StrEnum):
    """Why a post was left for a later run."""

    PROVIDERS_OUT = "providers-out"
    MAX_IMAGES = "max-images"
    CANCELLED = "cancelled"
    NOT_RUN = "not-run"
    POST_BUSY = "post-busy"
    CHANGED_DURING_WRITE = "changed-during-write"
    CHANGED_UPSTREAM = "changed-upstream"
    """Publishing found the post changed on the branch meanwhile (imagegen.publish)."""


@dataclass
class ProviderStats:
    calls: int = 0
    images: int = 0
    errors: dict[str, int] = field(default_factory=lambda: {k: 0 for k in ERROR_KINDS})
    seconds: float = 0.0
    wasted_calls: int = 0
    status: str = "ok"
    """ok | quota | auth | unavailable | retired | budget | rate_limit (rate limited again and again
    with no image): why the provider stopped taking posts, if it did."""

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
    title: str = ""


@dataclass(frozen=True)
class Skipped:
    post: str
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Failed:
    post: str
    error: str
    reasons: Mapping[str, str] | None = None
    """Provider -> why it failed this post (None when the failure was not a provider's)."""
    title: str = ""


@dataclass(frozen=True)
class Pending:
    post: str
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Planned:
    """A dry run's answer for one post: the cover file it would write, and why."""

    post: str
    would_write: str
    why: str
    """missing | regenerate | redraw"""
    prompt_source: str
    title: str = ""


def _json(item: object, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    d = asdict(item)  # type: ignore[call-overload]
    return {k: v for k, v in d.items() if k not in drop and not (k in ("title", "message") and v == "")}


@dataclass
class Report:
    generated: list[Generated] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)
    stopped_by_quota: bool = False
    cancelled: bool = False
    dry_run: bool = False
    providers: dict[str, ProviderStats] = field(default_factory=dict)
    stop_reason: str = ""
    no_posts: str = ""
    """Why the run found nothing that looked like a post at all (imagegen.explain), or ''."""
    run_error: str = ""
    """One line when no cover could be made because every provider failed for setup or network
    reasons (auth, config, retired models, unreachable) -- not quota: the run then exits non-zero."""

    @property
    def posts_updated(self) -> list[str]:
        return [g.post for g in self.generated]

    def settled(self) -> set[str]:
        """Every post that has an outcome."""
        return ({g.post for g in self.generated} | {f.post for f in self.failed} | {p.post for p in self.pending}
                | {s.post for s in self.skipped} | {p.post for p in self.planned})

    def titles(self) -> dict[str, str]:
        """Post path -> title, for the posts whose outcome carries one."""
        out: dict[str, str] = {}
        for item in [*self.generated, *self.failed, *self.planned]:
            if item.title:
                out[item.post] = item.title
        return out

    def to_json(self) -> dict[str, Any]:
        failed = [{**_json(f, drop=("title",)), **({"reasons": dict(f.reasons)} if f.reasons is not None else {})}
                  for f in self.failed]
        for f, item in zip(failed, self.failed):
            if item.reasons is None:
                f.pop("reasons", None)
        planned = [{"post": p.post, "reason": "dry-run", "would_write": p.would_write, "why": p.why,
                    "prompt_source": p.prompt_source} for p in self.planned]
        return {
            "generated": [_json(g, drop=("title",)) for g in self.generated],
            "skipped": [{"post": s.post, "reason": str(s.reason), "message": s.message} for s in self.skipped],
            "failed": failed,
            "pending": [_json(p) for p in self.pending] + planned,
            "stopped_by_quota": self.stopped_by_quota,
            "cancelled": self.cancelled,
            "dry_run": self.dry_run,
            "stop_reason": self.stop_reason,
            "run_error": self.run_error,
            "providers": {k: v.to_json() for k, v in self.providers.items()},
        }

    def dumps(self, *, indent: int | None = 2) -> str:
        """The JSON report, secrets scrubbed."""
        separators = (",", ":") if indent is None else None
        return json.dumps(redact_json(self.to_json()), indent=indent, ensure_ascii=False, separators=separators)

    def write(self, path: Path) -> str | None:
        """Write the JSON report atomically (a reader never sees half of it). None, or one line
        saying why it could not be written (a folder, no permission, a full disk, a bad name)."""
        target = path if path.is_absolute() else Path.cwd() / path
        shown = os.fsencode(str(target)).decode("utf-8", "backslashreplace")
        try:
            if target.is_dir():
                return f"could not write the report {shown!r}: it is a folder"
            target.parent.mkdir(parents=True, exist_ok=True)
            replace(target, (self.dumps() + "\n").encode("utf-8"))
        except (OSError, WriteError, UnicodeError, ValueError) as exc:
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            return f"could not write the report {shown!r}: {why}"
        return None


# --------------------------------------------------------------------------- events


class EventKind(StrEnum):
    START = "start"
    PLAN = "plan"
    SKIP = "skip"
    GENERATING = "generating"
    QUEUED = "queued"
    RETRY = "retry"
    SWITCH = "switch"
    GENERATED = "generated"
    WOULD_GENERATE = "would_generate"
    FAILED = "failed"
    PENDING = "pending"
    PROVIDER_OUT = "provider_out"
    WARNING = "warning"
    CLEANUP = "cleanup"
    STOP = "stop"
    DONE = "done"


def fmt_until(t: datetime) -> str:
    """A reset time as the JSON events and messages write it: `2026-12-05 08:00 UTC`."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def fmt_wait(seconds: float) -> str:
    """A wait as people say it: `40 s`, `3 min`, `1 h 5 min`."""
    s = max(0, int(round(seconds)))
    if s < 90:
        return f"{s} s"
    m = (s + 30) // 60
    return f"{m} min" if m < 60 else f"{m // 60} h {m % 60} min"


@dataclass(frozen=True)
class Event:
    """One thing that happened. `message` is the human detail; the typed fields are the facts a
    renderer needs (build events with the constructors below so each kind carries its own)."""

    kind: EventKind
    post: str = ""
    provider: str = ""
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    """Extra facts for the JSON form (model, attempt, wait, ...)."""
    reason: str = ""
    """skip, pending, provider_out, switch, retry, stop: the reason code."""
    until: datetime | None = None
    """provider_out: when the provider is back (aware UTC), if it is out until a time."""
    title: str = ""
    """The post's title, where the post has one (generated, would_generate, failed)."""
    total: int = 0
    """plan: how many posts are to be done."""
    detail: str = ""
    """skip: the reason in words, when there is more to say than the code; start: the site line."""

    # ------------------------------------------------------------------ constructors, one per kind

    @classmethod
    def start(cls, repo: str, site: str, describe: str) -> "Event":
        return cls(EventKind.START, message=f"repo {repo}; {describe}", data={"site": site, "repo": repo},
                   detail=describe)

    @classmethod
    def plan(cls, total: int) -> "Event":
        return cls(EventKind.PLAN, message=f"{total} post(s) to do", total=total, data={"total": total})

    @classmethod
    def skip(cls, post: str, reason: str, detail: str = "") -> "Event":
        return cls(EventKind.SKIP, post, message=str(reason) + (f": {detail}" if detail else ""), reason=str(reason),
                   detail=detail)

    @classmethod
    def pending(cls, post: str, reason: str) -> "Event":
        return cls(EventKind.PENDING, post, message=str(reason), reason=str(reason))

    @classmethod
    def failed(cls, post: str, error: str, title: str = "") -> "Event":
        return cls(EventKind.FAILED, post, message=error, title=title)

    @classmethod
    def generated(cls, g: Generated) -> "Event":
        return cls(EventKind.GENERATED, g.post, g.provider, g.image, title=g.title,
                   data={"image": g.image, "model": g.model, "prompt_source": g.prompt_source})

    @classmethod
    def would_generate(cls, p: Planned) -> "Event":
        return cls(EventKind.WOULD_GENERATE, p.post, message=f"{p.why} -> {p.would_write}", reason=p.why, title=p.title,
                   data={"would_write": p.would_write})

    @classmethod
    def generating(cls, post: str, provider: str, model: str, attempt: int) -> "Event":
        return cls(EventKind.GENERATING, post, provider, data={"model": model, "attempt": attempt})

    @classmethod
    def queued(cls, post: str, provider: str, *, position: int | None, wait: float | None) -> "Event":
        """The post waits in the provider's queue (AI Horde): its place and expected wait, as said."""
        parts = [f"position {position} in the queue" if position is not None else "in the queue"]
        if wait is not None:
            parts.append(f"about {fmt_wait(wait)} to go")
        data: dict[str, Any] = {"position": position, "wait": None if wait is None else round(wait, 1)}
        return cls(EventKind.QUEUED, post, provider, ", ".join(parts), data)

    @classmethod
    def switch(cls, post: str, provider: str, *, from_provider: str, reason: str) -> "Event":
        return cls(EventKind.SWITCH, post, provider, f"from {from_provider} ({reason})", reason=reason,
                   data={"from": from_provider, "to": provider, "reason": reason})

    @classmethod
    def retry(cls, post: str, provider: str, message: str, *, wait: float, reason: str, retry: int) -> "Event":
        return cls(EventKind.RETRY, post, provider, message, reason=reason,
                   data={"wait": round(wait, 3), "reason": reason, "retry": retry})

    @classmethod
    def provider_out(cls, provider: str, reason: str, message: str, until: datetime | None = None,
                     fix: str = "") -> "Event":
        """`fix`: what the user can do about it, when waiting is not the answer (a Pollinations key
        with no pollen: add pollen); '' when the provider comes back by itself."""
        data: dict[str, Any] = {"reason": reason}
        if until is not None:
            data["until"] = fmt_until(until)
        if fix:
            data["fix"] = fix
        return cls(EventKind.PROVIDER_OUT, "", provider, message, data, reason=reason, until=until)

    @classmethod
    def warning(cls, message: str, *, post: str = "", provider: str = "", **data: Any) -> "Event":
        return cls(EventKind.WARNING, post, provider, message, data)

    @classmethod
    def cleanup(cls, message: str) -> "Event":
        return cls(EventKind.CLEANUP, message=message)

    @classmethod
    def stop(cls, message: str, reason: str) -> "Event":
        return cls(EventKind.STOP, message=message, reason=reason, data={"reason": reason})

    @classmethod
    def done(cls, message: str) -> "Event":
        return cls(EventKind.DONE, message=message)

    # ------------------------------------------------------------------ renderings

    def line(self) -> str:
        """Human-readable one-liner for logs."""
        parts = [self.kind + (":" if self.kind == EventKind.DONE else "")]
        if self.post:
            parts.append(self.post)
        if self.provider:
            parts.append(f"[{self.provider}]")
        if self.message:
            parts.append(self.message)
        return redact(" ".join(parts))

    def to_json(self) -> str:
        data = {"event": str(self.kind), "post": self.post, "provider": self.provider, "message": self.message,
                **self.data}
        if self.title:
            data["title"] = self.title
        data = json.loads(json.dumps(data, ensure_ascii=False, default=str))
        return json.dumps(redact_json(data), ensure_ascii=False)


EventSink = Callable[[Event], None]


def null_sink(event: Event) -> None:
    return None
