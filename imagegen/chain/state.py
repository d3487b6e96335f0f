"""What the chain remembers between runs: which providers are out of quota and until when, which
models are retired, and which providers worked on their last run.

The file is small JSON, meant to be cached between workflow runs (actions/cache) or kept next to a
laptop's blog::

    {"version": 1,
     "providers": {"cloudflare": {"out_until": "2026-11-25T00:00:00Z", "reason": "quota"},
                   "pollinations": {"out_until": "2026-12-08T10:00:00Z", "reason": "quota",
                                    "key": "3f9a0c1d2e4b5a67"}},
     "retired_models": {"gemini": {"gemini-3.1-flash-image-preview": "2026-12-01T12:00:00Z"}},
     "worked": {"cloudflare": "2026-11-24T12:03:10Z"}}

A used-up quota with a known reset time is remembered until that reset, with a one-way
fingerprint of the credentials it was learned with (`key`, never the key itself): a new key is
tried at once. A model that answered
"retired / not served" is remembered for `RETIRED_DAYS` days, so later runs make zero calls to it
(the provider goes on with its next model; the describer's models are kept under "describer").
`worked` says a provider made an image on its last run: the next run opens all its slots at once
instead of probing it with one call first. A bad key is a per-run finding (the user may fix it
before the next run) and is not remembered. Entries whose time has passed are dropped on load and
on save, so a provider or model comes back on its own.

The file is never a reason to fail a run: an unreadable or malformed file is ignored with one
warning, and it is written atomically (temp file in the same folder, then `os.replace`), so a run
killed mid-write leaves the previous file intact.

Nothing another run saved is lost:

* **Newer versions are left alone.** A file whose `version` is higher than ours was written by a
  newer imagegen: this run neither uses it nor saves over it (a downgrade would destroy what the
  newer run remembered); it says so once.
* **Saving merges.** Two runs may share one file (one cache for several blogs, two runs at once):
  `save` takes a lock beside the file (imagegen.lock), reads the file as it is *now* and applies
  only what this run changed since it loaded it (new quotas, retired models, cached prompts,
  providers that worked or stopped working), so the other run's entries survive whichever saves last.
* **What is saved is bounded.** A file over `MAX_BYTES` is refused on load as not ours, so a save
  never writes one: the oldest cached prompts (by `at`, when they were cached) expire first.

Usage (the pipeline)::

    state = State.load(settings.state_file, clock.now(), warn=print) if settings.state_file else None
    chain = Chain(members, clock=clock, emit=emit, state=state)
    ...
    if state is not None:
        state.save()          # may raise OSError (e.g. read-only folder): warn, never fail
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from imagegen.clock import SystemClock
from imagegen.errors import BusyError
from imagegen.lock import hold

VERSION = 1
RETIRED_DAYS = 7
"""How long a retired model is skipped without a call (then it gets one call again)."""
MAX_AHEAD = timedelta(days=32)
"""No quota is remembered for longer than this (the longest documented reset is monthly): a
bogus far-future time in the file cannot keep a provider out for good."""

Warn = Callable[[str], None]


def _no_warn(message: str) -> None:
    return None


def format_time(t: datetime) -> str:
    """Aware datetime -> '2026-11-25T00:00:00Z' (UTC, whole seconds, rounded up)."""
    t = t.astimezone(timezone.utc)
    if t.microsecond:
        t = t.replace(microsecond=0) + timedelta(seconds=1)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """'2026-11-25T00:00:00Z' (or any ISO 8601 time with an offset) -> aware UTC datetime.
    Raises ValueError, also for a time that cannot be moved to UTC (year 1 with a positive offset)."""
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError("not a time")
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("time without a timezone")
    try:
        return t.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("time out of range") from None


MAX_BYTES = 8 * 1024 * 1024
"""Ours are small (a prompt cache is ~2 KiB per post); a larger file is not ours: see safety.
`save` never writes more (the oldest cached prompts go first)."""
LOCK_WAIT = 30.0
"""Seconds a save waits for another process saving the same file (a save takes milliseconds)."""


class _NotOurs(OSError):
    pass


class NotSaved(OSError):
    """The state file was not written, on purpose (it changed into one we must not overwrite, or
    even this run's own entries do not fit in MAX_BYTES). The caller warns; the run goes on."""


def _read_bounded(path: Path) -> bytes:
    """Read a regular file of at most MAX_BYTES without ever blocking (a FIFO opened non-blocking
    is refused by its type) or reading a huge file into memory."""
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NotOurs("is not a regular file")
        if st.st_size > MAX_BYTES:
            raise _NotOurs(f"is larger than {MAX_BYTES // (1024 * 1024)} MiB, so not one imagegen wrote")
        data = os.read(fd, MAX_BYTES + 1)
        chunks = [data]
        while data and sum(map(len, chunks)) <= MAX_BYTES:
            data = os.read(fd, MAX_BYTES + 1)
            chunks.append(data)
        raw = b"".join(chunks)
        if len(raw) > MAX_BYTES:
            raise _NotOurs(f"is larger than {MAX_BYTES // (1024 * 1024)} MiB, so not one imagegen wrote")
        return raw
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Entry:
    out_until: datetime
    reason: str = "quota"
    key: str = ""
    """The fingerprint of the credentials the quota was used up with (`ProviderSpec.fingerprint`;
    '' when unknown): the entry keeps only that key out, so a new key is tried at once."""

    def to_json(self) -> dict[str, str]:
        data = {"out_until": format_time(self.out_until), "reason": self.reason}
        if self.key:
            data["key"] = self.key
        return data

    @classmethod
    def from_json(cls, item: Any, now: datetime) -> "Entry":
        """One entry of the file's `providers` section (no later than MAX_AHEAD from `now`).
        Raises KeyError, TypeError or ValueError when it is malformed."""
        if not isinstance(item, dict):
            raise ValueError("not an object")
        key = item.get("key") or ""
        if not isinstance(key, str) or len(key) > 64:
            raise ValueError("not a fingerprint")
        return cls(min(parse_time(item["out_until"]), now + MAX_AHEAD), str(item.get("reason") or "quota"), key)

    def applies_to(self, key: str | None) -> bool:
        """Whether this entry keeps out the provider when used with credentials `key` (None:
        whatever they are). An entry without a fingerprint applies to every key."""
        return key is None or not self.key or self.key == key


class State:
    """Providers out until a known time. Load with `State.load`, change with `mark_out`, `save`."""

    def __init__(self, path: Path | str | None = None, entries: dict[str, Entry] | None = None,
                 now: datetime | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, Entry] = dict(entries or {})
        self.now = now
        """The latest time this object was told about (drops expired entries on save)."""
        self.retired: dict[str, dict[str, datetime]] = {}
        """provider -> model -> until when it is skipped."""
        self.worked: dict[str, datetime] = {}
        """provider -> when it last made an image."""
        self.writable = True
        """False when the file at `path` is not ours (a FIFO, a huge file): `save` leaves it alone."""
        self.prompts: dict[str, dict[str, str]] = {}
        """post (repo-relative) -> {"prompt": ..., "alt": ..., "at": when cached}: the prompt cache of
        a blog that keeps image_prompt out of its frontmatter (`--no-prompt-in-frontmatter`)."""
        self.newer: int | None = None
        """The version of a file written by a newer imagegen (then it is neither used nor saved)."""
        self._loaded: dict[tuple[str, ...], Any] = {}
        """The file's entries as loaded (flattened, see `_flat`): `save` applies only what changed
        since, onto the file as it is then."""

    # ------------------------------------------------------------------ reading

    @classmethod
    def load(cls, path: Path | str, now: datetime, *, warn: Warn | None = None) -> "State":
        """Read `path`. A missing file is an empty state; an unreadable or malformed one is an
        empty state plus one warning. Expired entries are dropped."""
        warn = warn or _no_warn
        path = Path(path)
        state = cls(path, now=now)
        try:
            raw = _read_bounded(path)
        except FileNotFoundError:
            return state
        except _NotOurs as exc:  # never overwrite what we did not write
            state.writable = False
            warn(f"state file {str(path)!r} {exc}; ignoring it (and leaving it as it is)")
            return state
        except OSError as exc:
            warn(f"state file {str(path)!r} could not be read ({exc.strerror or exc}); ignoring it")
            return state
        try:
            state = cls._parse(state, path, raw, now, warn)
        except Exception as exc:  # noqa: BLE001 - a hostile file is a warning, never a crash
            warn(f"state file {str(path)!r} is not valid ({type(exc).__name__}); ignoring it")
            return cls(path, now=now)
        state._loaded = _flat(state.to_json(now))
        return state

    @classmethod
    def _parse(cls, state: "State", path: Path, raw: bytes, now: datetime, warn: Warn) -> "State":
        if not raw.strip():
            return state
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            warn(f"state file {str(path)!r} is not valid JSON ({type(exc).__name__}); ignoring it")
            return state
        if not isinstance(data, dict) or not isinstance(data.get("providers", {}), dict):
            warn(f"state file {str(path)!r} has an unexpected shape; ignoring it")
            return state
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            state.writable, state.newer = False, version
            warn(f"state file {str(path)!r} was written by a newer imagegen (format version {version}; this one "
                 f"knows {VERSION}): leaving it as it is; this run neither uses nor saves it")
            return state
        if version != VERSION:
            warn(f"state file {str(path)!r} has version {version!r}, expected {VERSION}; ignoring it")
            return state
        bad: list[str] = []
        for name, item in data.get("providers", {}).items():
            try:
                entry = Entry.from_json(item, now)
            except (KeyError, TypeError, ValueError):
                bad.append(str(name))
                continue
            if entry.out_until > now:
                state.entries[str(name)] = entry
        retired = data.get("retired_models", {})
        for name, models in (retired.items() if isinstance(retired, dict) else ()):
            if not isinstance(models, dict):
                bad.append(f"retired_models.{name}")
                continue
            for model, text in models.items():
                try:
                    until = min(parse_time(text), now + timedelta(days=RETIRED_DAYS))
                except (TypeError, ValueError):
                    bad.append(f"retired_models.{name}")
                    continue
                if until > now:
                    state.retired.setdefault(str(name), {})[str(model)] = until
        worked = data.get("worked", {})
        for name, text in (worked.items() if isinstance(worked, dict) else ()):
            try:
                state.worked[str(name)] = parse_time(text)
            except (TypeError, ValueError):
                bad.append(f"worked.{name}")
        if bad:
            warn(f"state file {str(path)!r}: ignoring malformed entries for {', '.join(sorted(set(bad)))}")
        state._read_prompts(data.get("prompts", {}))
        return state

    def _read_prompts(self, prompts: Any) -> None:
        """The prompt cache's entries that are well formed (a prompt, an alt text, when cached)."""
        if not isinstance(prompts, dict):
            return
        for post, item in prompts.items():
            if isinstance(item, dict) and isinstance(item.get("prompt"), str) and item["prompt"].strip():
                alt, at = item.get("alt"), item.get("at")
                entry = {"prompt": item["prompt"], "alt": alt if isinstance(alt, str) else ""}
                if isinstance(at, str) and len(at) <= 64:
                    entry["at"] = at
                self.prompts[str(post)] = entry

    def out_until(self, name: str, now: datetime | None = None, *, key: str | None = None) -> Entry | None:
        """The entry keeping `name` out at `now` (default: the load time), or None. With `key`
        (the credentials' fingerprint), an entry learned with other credentials does not count."""
        now = now or self.now
        entry = self.entries.get(name)
        if entry is None or not entry.applies_to(key):
            return None
        if now is not None and entry.out_until <= now:
            return None
        return entry

    # ------------------------------------------------------------------ changing

    def mark_out(self, name: str, until: datetime, reason: str = "quota", *, now: datetime | None = None,
                 key: str = "") -> None:
        """Remember that `name` is out until `until` (aware), learned with credentials `key` (their
        fingerprint, '' unknown). Keeps the later of two times for the same credentials; other
        credentials replace the entry."""
        if now is not None:
            self.now = now
        until = until.astimezone(timezone.utc)
        if self.now is not None:
            until = min(until, self.now + MAX_AHEAD)
        old = self.entries.get(name)
        if old is None or old.out_until < until or old.key != key:
            self.entries[name] = Entry(until, reason, key)

    def clear(self, name: str) -> None:
        self.entries.pop(name, None)

    def mark_retired(self, name: str, model: str, now: datetime) -> datetime:
        """Remember that `name`'s `model` is retired for RETIRED_DAYS days; returns until when."""
        self.now = now
        until = now.astimezone(timezone.utc) + timedelta(days=RETIRED_DAYS)
        self.retired.setdefault(name, {})[model] = until
        return until

    def retired_until(self, name: str, model: str, now: datetime | None = None) -> datetime | None:
        """When `name`'s `model` comes back, if it is remembered as retired at `now`."""
        now = now or self.now
        until = self.retired.get(name, {}).get(model)
        if until is None or (now is not None and until <= now):
            return None
        return until

    def mark_worked(self, name: str, now: datetime) -> None:
        self.worked[name] = now.astimezone(timezone.utc)

    def forget_worked(self, name: str) -> None:
        """`name` failed for its setup (a key, a model): the next run probes it first again."""
        self.worked.pop(name, None)

    def worked_last_run(self, name: str) -> bool:
        return name in self.worked

    def remember_prompt(self, post: str, prompt: str, alt: str, now: datetime) -> None:
        """Cache `post`'s prompt and alt text; `at` decides which entries expire first (`save`)."""
        self.prompts[post] = {"prompt": prompt, "alt": alt, "at": format_time(now)}

    # ------------------------------------------------------------------ writing

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or self.now
        live = {k: e for k, e in sorted(self.entries.items()) if now is None or e.out_until > now}
        data: dict[str, Any] = {"version": VERSION, "providers": {k: e.to_json() for k, e in live.items()}}
        retired = {name: {m: format_time(t) for m, t in sorted(models.items()) if now is None or t > now}
                   for name, models in sorted(self.retired.items())}
        retired = {k: v for k, v in retired.items() if v}
        if retired:
            data["retired_models"] = retired
        if self.worked:
            data["worked"] = {k: format_time(t) for k, t in sorted(self.worked.items())}
        if self.prompts:
            data["prompts"] = dict(sorted(self.prompts.items()))
        return data

    def save(self, path: Path | str | None = None, *, now: datetime | None = None, lock_wait: float = LOCK_WAIT,
             sleep: Callable[[float], None] | None = None) -> list[str]:
        """Merge this run's changes into the file as it is now and write it atomically (temp file in
        the same folder + os.replace), under a lock beside it. Returns notes for the user (cached
        prompts expired to stay under MAX_BYTES). Raises OSError (NotSaved, BusyError's cause
        aside: a lock held too long is an ImagegenError)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("State.save: no path")
        if path is None and not self.writable:
            return []
        folder = target.parent
        folder.mkdir(parents=True, exist_ok=True)
        lock = folder / f".{target.name}.lock"
        try:
            with hold(lock, wait=lock_wait, what=f"the state file {str(target)!r}", remove=True,
                      sleep=sleep or time.sleep):
                data = self._merged(target, now or self.now or SystemClock().now())
                notes = _fit(data, MAX_BYTES)
                _write_atomic(target, json.dumps(data, indent=2) + "\n")
        except BusyError as exc:
            raise NotSaved(f"not saved: {exc}") from None
        self._loaded = _flat(data)
        return notes

    def _merged(self, target: Path, now: datetime) -> dict[str, Any]:
        """The file as it is now with this run's changes (since `load`) applied. A file that is
        missing, malformed or unreadable now is replaced by ours; one that became not ours (a newer
        version, a FIFO, a huge file) is never written over (NotSaved)."""
        mine = _flat(self.to_json(now))
        warnings: list[str] = []
        disk = State.load(target, now, warn=warnings.append) if target.exists() else None
        if disk is None or (warnings and disk.writable):
            return _unflat(mine)
        if not disk.writable:
            raise NotSaved(f"not saved: {warnings[0] if warnings else 'the file changed into one imagegen must not overwrite'}")
        merged = _flat(disk.to_json(now))
        for key, value in mine.items():
            if self._loaded.get(key) == value:
                continue  # not ours to decide: the file's current value stays
            if key[0] == "providers" and key in merged and merged[key]["out_until"] > value["out_until"]:
                continue  # two quotas for one provider: the later reset wins
            merged[key] = value
        for key in self._loaded.keys() - mine.keys():
            merged.pop(key, None)  # this run dropped it (a provider that failed its setup, an expiry)
        return _unflat(merged)


_SECTIONS = {"providers": 1, "retired_models": 2, "worked": 1, "prompts": 1}
"""The file's sections and how deep their entries sit (retired_models: provider -> model -> time)."""


def _flat(data: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """{(section, key[, key]): value} for every entry of a `to_json` dict: the unit of a merge."""
    out: dict[tuple[str, ...], Any] = {}
    for section, depth in _SECTIONS.items():
        for key, value in data.get(section, {}).items():
            if depth == 2:
                out.update({(section, key, inner): v for inner, v in value.items()})
            else:
                out[(section, key)] = value
    return out


def _unflat(flat: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """The file's JSON from flattened entries (sections in the documented order, keys sorted)."""
    data: dict[str, Any] = {"version": VERSION, "providers": {}}
    for key in sorted(flat):
        section = data.setdefault(key[0], {})
        if len(key) == 3:
            section.setdefault(key[1], {})[key[2]] = flat[key]
        else:
            section[key[1]] = flat[key]
    return data


def _size(data: dict[str, Any]) -> int:
    return len((json.dumps(data, indent=2) + "\n").encode("utf-8"))


def _fit(data: dict[str, Any], limit: int) -> list[str]:
    """Drop the oldest cached prompts (by `at`; entries without one first) until the file fits in
    `limit` bytes: never write a file the next run would refuse to read. NotSaved when even the
    rest does not fit. Returns a note when prompts were dropped."""
    excess = _size(data) - limit
    if excess <= 0:
        return []
    prompts = data.get("prompts", {})
    oldest = sorted(prompts, key=lambda k: (str(prompts[k].get("at", "")), k))
    dropped = 0
    while excess > 0 and oldest:
        while excess > 0 and oldest:
            key = oldest.pop(0)
            excess -= len(json.dumps({key: prompts.pop(key)}, indent=2).encode("utf-8"))
            dropped += 1
        excess = _size(data) - limit  # the estimate leaves out indentation: measure again
    if not prompts:
        data.pop("prompts", None)
    if excess > 0:
        raise NotSaved(f"not saved: it would be larger than {limit // (1024 * 1024)} MiB even without its prompt cache")
    return [f"the state file's prompt cache was over {limit // (1024 * 1024)} MiB: the {dropped} oldest cached "
            "prompt(s) expired (those posts get a new prompt when they next need one)"]


def _write_atomic(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
