"""What the person at the terminal reads: events as sentences, the progress bar, the final summary.

Events become sentences: "switched from Cloudflare to Pollinations: quota used up until 00:00 UTC",
not `switch p.md [pollinations] from cloudflare (quota)`.

`Narrator` is stateful only to join facts that arrive in separate events (a provider goes out with
its reset time; a later switch away from it says why). Every line starts with what happened
(`generated`, `skipped`, `switched`, ...) so a reader scanning the left edge sees the story. The
JSON events (`--json-events`) and the action's log keep the machine form (`Event.line`).

`Printer` prints those sentences as they come, with a progress bar on a terminal's last line that is
cleared before anything else is printed; `summary` says what the run did, naming each post by its
title, with the time taken.

How much is said depends on the level, so a 150-post run does not drown its reader:
- `quiet`: nothing while it runs; afterwards only the failures and the final count line.
- `normal` (the default): what needs a reader's eye, one line each (covers made, failures, unusual
  skips, providers going out, warnings); routine lines (asking a provider, a post that already
  has a cover, a post left for later) are counted instead, and the summary names at most
  `LISTED` posts.
- `verbose`: every event, and every post in the summary.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Callable, TextIO

from imagegen.providers import display_name
from imagegen.report import OWN_IMAGE, Event, EventKind, Report, SkipReason
from imagegen.redact import redact
from imagegen.config.settings import Settings

__all__ = ["LISTED", "Narrator", "Printer", "fmt_duration", "printable", "summary"]

LEVELS = ("quiet", "normal", "verbose")
LISTED = 20
"""Posts the summary names per list at the normal level (the rest: "... and N more")."""
ROUTINE_SKIPS = frozenset({SkipReason.HAS_IMAGE, SkipReason.FUTURE, SkipReason.DRAFT, SkipReason.OPTED_OUT,
                           SkipReason.EXCLUDED})
"""Skips that need no reader's eye at the normal level: counted in the summary, listed with --verbose."""
ROUTINE_PENDING = frozenset({"cancelled", "max-images", "not-run", "providers-out", "dry-run"})
"""Pending reasons said once with a count at the normal level (a Ctrl-C on 150 posts is one line)."""


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

WOULD = {"regenerate": " (regenerate)", "redraw": " (redraw: its title or the card settings changed)"}
"""Why a dry run would replace a cover that exists."""

SKIPS = {
    "has-image": "already has a cover",
    "no-title": "no title (no frontmatter title and no # heading)",
}


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


class Narrator:
    """Turns events into one line each (or None for events not worth a line)."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.out_why: dict[str, str] = {}
        """provider -> why it is out ("quota used up until 00:00 UTC")."""

    def _until(self, t: datetime) -> str:
        """A reset time as `00:00 UTC` when that is within the next day, else with its date."""
        t = t.astimezone(timezone.utc)
        if timedelta(0) <= t - self.now() <= timedelta(hours=24):
            return t.strftime("%H:%M UTC")
        return t.strftime("%Y-%m-%d %H:%M UTC")

    def line(self, ev: Event) -> str | None:
        text = self._line(ev)
        return None if text is None else redact(text)

    def _line(self, ev: Event) -> str | None:
        k, post, msg, data = ev.kind, ev.post, ev.message, ev.data
        who = display_name(ev.provider) if ev.provider else ""
        if k == EventKind.START:
            repo = data.get("repo")
            return f"looking for posts in {repo}; {ev.detail}" if repo else (msg or None)
        if k == EventKind.PLAN:
            n = ev.total
            return f"{n} post{'s' if n != 1 else ''} to give a cover" if n else None
        if k == EventKind.SKIP:
            if ev.reason == SkipReason.OPTED_OUT:
                return f"skipped {post}: opted out" + (f" ({ev.detail})" if ev.detail else "")
            if ev.reason == SkipReason.HAS_IMAGE and ev.detail:
                return f"skipped {post}: {ev.detail}"
            return f"skipped {post}: {SKIPS.get(ev.reason, ev.detail or ev.reason)}"
        if k == EventKind.GENERATING:
            attempt = int(data.get("attempt", 1) or 1)
            again = f" (attempt {attempt})" if attempt > 1 else ""
            return f"asking {who} for {post}{again}"
        if k == EventKind.QUEUED:
            return f"waiting in {who}'s queue for {post}: {msg}"
        if k == EventKind.GENERATED:
            if ev.provider == OWN_IMAGE:
                return f"named {post}'s own picture as its cover -> {msg}"
            return f"generated {post} -> {msg} by {who}"
        if k == EventKind.WOULD_GENERATE:
            target = data.get("would_write", "")
            if ev.reason == "body-image":
                return f"would name {post}'s own picture as its cover -> {target}"
            return f"would generate {post} -> {target}" + WOULD.get(ev.reason, "")
        if k == EventKind.SWITCH:
            src = str(data.get("from", ""))
            why = self.out_why.get(src) or REASONS.get(ev.reason, ev.reason)
            return f"switched from {display_name(src)} to {who}: {why} ({post})"
        if k == EventKind.RETRY:
            return f"waiting for {who} ({post}): {msg}"
        if k == EventKind.PROVIDER_OUT:
            reason = ev.reason
            if ev.until is not None:
                why = f"{REASONS.get(reason, reason)} until {self._until(ev.until)}"
                self.out_why[ev.provider] = why
                fix = str(data.get("fix") or "")
                return f"{who} is out: {why}; not asked again before then" + (f"; {fix}" if fix else "")
            why = REASONS.get(reason, reason)
            self.out_why[ev.provider] = why
            detail = msg if msg and msg != why else ""
            return f"{who} is out for this run: {why}" + (f" ({detail})" if detail else "")
        if k == EventKind.FAILED:
            return f"failed {post}: {msg}"
        if k == EventKind.PENDING:
            return f"left for a later run: {post} ({msg})"
        if k == EventKind.WARNING:
            if data.get("no_posts"):
                return None  # the summary says it
            return f"warning: {post + ': ' if post else ''}{msg}"
        if k == EventKind.STOP:
            return f"stopping: {msg}"
        if k == EventKind.DONE:
            return None
        return ev.line()


class Printer:
    """One line per event, in words; on a terminal, a progress bar on the last line, cleared
    (`close`) before the summary is printed."""

    def __init__(self, out: TextIO, total_hint: int = 0, *, quiet: bool = False, json_lines: bool = False,
                 narrator: Narrator | None = None, level: str = "") -> None:
        self.out = out
        self.level = level or ("quiet" if quiet else "normal")
        assert self.level in LEVELS, self.level
        self.quiet = self.level == "quiet"
        self.json_lines = json_lines
        self.held: dict[str, int] = {}
        """Routine pending posts not said one by one: reason -> count (said once, at the end)."""
        self.tty = out.isatty() and not json_lines
        self.done = 0
        self.total = total_hint
        self._bar_shown = False
        self.narrator = narrator or Narrator()

    def __call__(self, ev: Event) -> None:
        if ev.kind == EventKind.PLAN:
            self.total = ev.total
        if ev.kind in (EventKind.GENERATED, EventKind.FAILED, EventKind.PENDING):
            self.done += 1
        if self.quiet:
            return
        if self.json_lines:
            print(ev.to_json(), file=self.out, flush=True)
            return
        if self.level == "normal" and self._routine(ev):
            return
        if ev.kind == EventKind.DONE:
            self._say_held()
        line = self.narrator.line(ev)
        if line is None:
            return
        self.close()
        print(line, file=self.out, flush=True)
        if self.tty and self.total:
            width = 30
            filled = int(width * min(self.done, self.total) / self.total)
            self.out.write(f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
            self.out.flush()
            self._bar_shown = True

    def _routine(self, ev: Event) -> bool:
        """A line the normal level does not print (it is counted, or the summary says it)."""
        if ev.kind in (EventKind.GENERATING, EventKind.WOULD_GENERATE):  # the summary lists what a dry run would do
            return True
        if ev.kind == EventKind.SKIP:
            return ev.reason in ROUTINE_SKIPS
        if ev.kind == EventKind.PENDING and ev.reason in ROUTINE_PENDING:
            self.held[ev.reason] = self.held.get(ev.reason, 0) + 1
            return True
        return False

    def _say_held(self) -> None:
        for reason, n in self.held.items():
            self.close()
            print(f"left for a later run: {n} post{'s' if n != 1 else ''} ({reason})", file=self.out, flush=True)
        self.held.clear()

    def close(self) -> None:
        """Clear the progress bar, so the next line (or the summary) starts on a clean line."""
        if self._bar_shown:
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self._bar_shown = False


def _made_by(provider: str) -> str:
    return "its own picture" if provider == OWN_IMAGE else display_name(provider)


def _named(rel: str, titles: dict[str, str]) -> str:
    title = titles.get(rel)
    return f"\"{title}\" ({rel})" if title else rel


def _listed(lines: list[str], rows: list[str], level: str) -> None:
    """Rows under the count line: all of them with --verbose, else the first LISTED and a count."""
    shown = rows if level == "verbose" or len(rows) <= LISTED + 1 else rows[:LISTED]
    lines.extend(shown)
    if len(shown) < len(rows):
        lines.append(f"  ... and {len(rows) - len(shown)} more (--verbose lists them all; --report writes them)")


def _count_line(report: Report, took: str) -> str:
    if not report.settled() and not report.cancelled:
        return (report.no_posts or "found no posts") + took.replace(" in ", " (took ", 1) + (")" if took else "")
    verb = "would generate" if report.dry_run else "generated"
    count = len(report.planned) if report.dry_run else len(report.generated)
    return (f"{verb} {count} cover(s){took}; skipped {len(report.skipped)}; failed {len(report.failed)}; "
            f"pending {len(report.pending)}")


def summary(report: Report, settings: Settings, elapsed: float | None = None, *, report_written: bool = True,
            level: str = "normal") -> str:
    """What the run did, for stdout: the counts and the time taken (or why no post was found),
    each post by its title, the providers' table, and why the run stopped early. `quiet`: only the
    failures, then the count line."""
    took = f" in {fmt_duration(elapsed)}" if elapsed is not None else ""
    titles = report.titles()
    failed = [f"  FAILED {_named(f.post, titles)}: {f.error}" for f in report.failed]
    if level == "quiet":
        return redact("\n".join(failed + [_count_line(report, took)]))
    lines = [_count_line(report, took)]
    _listed(lines, [f"  {_named(g.post, titles)} -> {g.image} ({_made_by(g.provider)})" for g in report.generated]
            + [f"  {_named(p.post, titles)} -> {p.would_write}" + (f" ({p.why})" if p.why in ("regenerate", "redraw")
                                                                   else "") for p in report.planned], level)
    lines.extend(failed)
    if report.providers:
        lines.append("")
        lines.append(f"  {'provider':<13}{'calls':>6}{'images':>8}{'errors':>8}{'wasted':>8}{'seconds':>9}  status")
        for name, st in report.providers.items():
            errors = sum(st.errors.values())
            lines.append(f"  {name:<13}{st.calls:>6}{st.images:>8}{errors:>8}{st.wasted_calls:>8}{st.seconds:>9.1f}  {st.status}")
    if report.stopped_by_quota:
        lines.append("stopped: every provider is out (quota/auth); the remaining posts are pending for the next run")
    if report.cancelled:
        lines.append(f"interrupted: the covers being written were finished; {len(report.pending)} post(s) are left "
                     "for the next run, which picks them up")
    if report.dry_run:
        lines.append(_would_ask(settings))
    if settings.report is not None and report_written:
        lines.append(f"report written to {printable(settings.report)}")
    return redact("\n".join(lines))


def _would_ask(settings: Settings) -> str:
    """Which providers a real run would ask, in order, or why it could not run yet: a dry run
    answers "what would happen" without a key."""
    if not settings.providers:
        why = settings.no_provider.removeprefix("no image provider is configured: ")
        if why.startswith("set at least one of"):  # no key at all: the short way on, not the whole list
            why = "set a provider's key (`imagegen doctor` says where to get one), or use --providers card"
        return f"a real run needs an image provider first: {why}"
    asked = "a real run would ask: " + ", ".join(display_name(ps.name) for ps in settings.providers)
    return asked + "".join(f"\n{note}" for note in settings.standing_in)


def printable(path: object) -> str:
    """A path as text any terminal can print (a non-UTF-8 file name is shown escaped)."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")
