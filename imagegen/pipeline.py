"""One run: discover posts -> prompt -> provider chain -> write image and post -> Report.

Data flows one way (settings -> site -> discover -> prompt -> chain -> finish -> write -> report). Posts are worked on concurrently (settings.concurrency),
newest first; the file writes themselves are synchronous on the event loop, so they never interleave
and a cancellation (Ctrl-C, a cancelled workflow) can only land between posts' writes, never inside one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from functools import partial
from dataclasses import replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence

import httpx

from imagegen import aio, covers, images, lock, references, sites, writer
from imagegen.chain.scheduler import Chain, ChainExhausted, PostFailed
from imagegen.clock import Clock, SystemClock
from imagegen.discover import Candidate, Discovery, Redraw, discover
from imagegen.explain import explain_no_posts
from imagegen.covers import series_name  # noqa: F401 - the name the card's tests import
from imagegen.images import fonts
from imagegen.images.overlay import CoverText, draw_band
from imagegen.posts import Post, PostError
from imagegen.prompts import make_describer, prompt_for, styled
from imagegen.sites.base import get_dotted
from imagegen.providers import new_client
from imagegen.providers.base import GeneratedImage, ImageRequest, Provider, ProviderContext
from imagegen.report import (OWN_IMAGE, Event, EventSink, Failed, Generated, Pending, PendingReason, Planned,
                             ProviderStats, Report, SkipReason, Skipped, null_sink)
from imagegen.redact import redact
from imagegen.config.settings import ProviderSettings, Settings
from imagegen.errors import SettingsError
from imagegen.sites import CoverPlace, Site
from imagegen.chain.state import State


SETUP_KINDS = frozenset({"auth", "unavailable", "retired", "transient"})
"""Error kinds that say 'this setup cannot work' (keys, account ids, models, the network)."""


def _setup_failure(report: Report) -> str:
    """One line when posts were tried, no cover was made, and every provider answered only with
    auth / config / retired-model / network errors (no quota, no per-post refusal): the run then
    exits non-zero. '' otherwise (a run stopped by quota is a normal run)."""
    if report.generated or not report.providers:
        return ""
    tried = report.failed or any(p.reason == PendingReason.PROVIDERS_OUT for p in report.pending)
    if not tried:
        return ""
    parts = []
    for name, st in report.providers.items():
        kinds = {k for k, n in st.errors.items() if n}
        if st.status in ("quota", "budget") or not kinds or not kinds <= SETUP_KINDS:
            return ""
        parts.append(f"{name}: {st.status if st.status != 'ok' else '/'.join(sorted(kinds))}")
    return "no cover could be made: every provider failed for setup or network reasons (" + ", ".join(parts) + ")"


def utc_stamp(clock: Clock) -> str:
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


class Run:
    """The state of one run. Build with `Run(settings, ...)`, then `await run.execute()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        emit: EventSink | None = None,
        providers: Sequence[tuple[ProviderSettings, Provider]] | None = None,
        today: date | None = None,
        site: Site | None = None,
        before_work: Callable[[Sequence[Candidate]], None] | None = None,
    ) -> None:
        """`before_work`: asked once discovery has found posts to do, before any provider is called
        or any file written for them (not on a dry run, not when there is nothing to do). It may raise
        to end the run there: the exception leaves the run as it is, nothing generated. So a caller
        decides from the run's own discovery (the action: can the token write?) instead of
        discovering a second time."""
        self.settings = settings
        self.before_work = before_work
        self.clock = clock or SystemClock()
        self.emit = emit or null_sink
        self.given_providers = providers
        self.today = today or self.clock.now().astimezone(settings.tz).date()
        self.report = Report(dry_run=settings.dry_run)
        self.taken: set[str] = set()
        self.tmp_dir: Path | None = None
        self.journal: writer.Journal | None = None
        self.scanner = references.Scanner(settings.repo, ignore=_own_files(settings))
        self._tasks: list[asyncio.Task[None]] = []
        self.state: State | None = None
        self.cancelled = False
        self.site = site or sites.resolve(settings)
        self.repo_real = settings.repo.resolve()
        self.folders: dict[str, Path] = {}
        """Cover folders already created and checked this run, by repo-relative name."""
        self.lock: lock.FileLock | None = None

    RUN_LOCK_WAIT = 60.0
    """Seconds a run waits for another run in the same repository before it says which one."""

    # ------------------------------------------------------------------ helpers

    def _pending(self, rel: str, reason: PendingReason) -> None:
        self.report.pending.append(Pending(rel, reason))
        self.emit(Event.pending(rel, reason))

    # ------------------------------------------------------------------ one post

    async def _one(self, cand: Candidate, chain: Chain, describer: object) -> None:
        s = self.settings
        post = cand.post
        if cand.image is not None:
            self._use_own(cand)
            return
        regenerate = cand.why in ("regenerate", "redraw")
        if chain.exhausted:
            self._pending(post.rel, PendingReason.PROVIDERS_OUT)
            return
        cached_alt = get_dotted(post.frontmatter, self.site.alt_field(post))  # `cover.alt` for a Hugo cover map
        cached = self.state.prompts.get(post.rel) if self.state is not None and not s.prompt_in_frontmatter else None
        if cached is not None and not post.cached_prompt:
            cached_alt = cached.get("alt", "")
        if cand.why == "redraw":
            cached_alt = ""  # the card shows the new title: its alt text is that title, not the old one
        described = await prompt_for(post, s, describer, regenerate=cand.why == "regenerate",  # a redraw keeps it
                                     cached_alt=cached_alt if isinstance(cached_alt, str) else "",
                                     cached_prompt=cached["prompt"] if cached is not None else None)
        prompt, source, alt = described.prompt, described.source, described.alt
        if chain.exhausted:
            self._pending(post.rel, PendingReason.PROVIDERS_OUT)
            return
        text = covers.cover_text(post)
        request = ImageRequest(styled(prompt, s), width=s.width, height=s.height, title=text.title, series=text.series,
                               style=s.card_style)
        try:
            image = await chain.generate(post.rel, request)
        except ChainExhausted:
            self._pending(post.rel, PendingReason.PROVIDERS_OUT)
            return
        except PostFailed as exc:
            self.report.failed.append(Failed(post.rel, redact(str(exc)), exc.reasons, title=post.title or ""))
            self.emit(Event.failed(post.rel, redact(str(exc)), post.title or ""))
            return
        if self.cancelled:
            self._pending(post.rel, PendingReason.CANCELLED)
            return
        drawn = self._renders_title(image.provider)
        try:  # crop, scale, encode, strip: in a thread, so other posts keep moving meanwhile
            band = None
            if s.title_overlay and not drawn:
                band = partial(draw_band, text=text, style=s.card_style)
            image = await asyncio.to_thread(images.finish, image, s.output, band)
        except images.FinishError as exc:
            self._fail(post, str(exc))
            return
        if self.cancelled:
            self._pending(post.rel, PendingReason.CANCELLED)
            return
        if drawn or band is not None:
            self._warn_undrawable(post, text)
        card = covers.card_fingerprint(post, s.card_style) if drawn else ""
        self._write(post, image, prompt, source, regenerate, alt, place=cand.place, card=card)

    def _warn_undrawable(self, post: Post, text: CoverText) -> None:
        """A character no installed font draws is never silent: it is left out of the picture, and
        the run says which, for which post."""
        missing = fonts.undrawable(f"{text.title} {text.series}", self.settings.card_style.font)
        if missing:
            self.emit(Event.warning(f"no installed font draws {' '.join(missing)} (in the title or series); "
                                    "left out of the cover (scripts/install-fonts.sh installs the fonts, or set "
                                    "card-font)", post=post.rel))

    def _renders_title(self, provider: str) -> bool:
        """Whether `provider` set the title on its picture itself (no band goes on top)."""
        return any(ps.spec.renders_title for ps in self.settings.providers if ps.name == provider)

    WRITE_ATTEMPTS = 5
    """How often a post saved by someone else during the write is re-read and tried again."""

    def _write(self, post: Post, image: GeneratedImage, prompt: str, source: str, regenerate: bool,
               alt: str = "", *, place: CoverPlace | None = None, card: str = "") -> None:
        """Image first, then the post (only if it is still what the edit was made from), then
        (regenerating) the old cover if nothing mentions it any more. Synchronous on purpose."""
        fresh = self._current(post)
        if fresh is None or self._cover_appeared(fresh, regenerate):
            return
        image_path = self._write_image(fresh, image, place or self.site.cover_place(fresh))
        if image_path is None:
            return
        meta = covers.CoverMeta(utc_stamp(self.clock), image.provider, image.model,
                                prompt if self.settings.prompt_in_frontmatter else None, alt, card)
        edit = self._apply(fresh, image_path.relative_to(self.repo_real).as_posix(), meta, regenerate)
        if edit is None:
            self._take_back(image_path)
            return
        if self.journal is not None:
            self.journal.done(image_path)
        if not self.settings.prompt_in_frontmatter and self.state is not None:
            self.state.remember_prompt(edit.rel, prompt, edit.alt, self.clock.now())
        self._written(edit, image, prompt, source)

    def _use_own(self, cand: Candidate) -> None:
        """body-image: cover: the cover field names the post's own picture; nothing is generated."""
        fresh = self._current(cand.post)
        if fresh is None or self._cover_appeared(fresh, False):
            return
        edit = self._apply(fresh, cand.image or "", None, False)
        if edit is None:
            return
        generated = Generated(post=edit.rel, image=edit.image, provider=OWN_IMAGE, model="", prompt="",
                              prompt_source=OWN_IMAGE, alt=edit.alt, title=edit.title)
        self.report.generated.append(generated)
        self.emit(Event.generated(generated))

    def _current(self, post: Post) -> Post | None:
        """The post as it is now: re-read unless its inode, size and mtime are still those it was
        read with (it may have changed while its image was made; the replace checks again)."""
        try:
            st = os.stat(post.path)
            if post.signature == (st.st_ino, st.st_size, st.st_mtime_ns):
                return post
        except OSError:
            pass
        try:
            return Post.load(post.path, self.settings.repo, max_bytes=self.settings.max_post_bytes,
                             **self.site.post_rules())
        except PostError as exc:
            self._fail(post, f"{exc.reason}: {exc}")
            return None

    def _write_image(self, post: Post, image: GeneratedImage, place: CoverPlace) -> Path | None:
        """The cover file, at the site's place for the post, under a free name (journalled)."""
        s = self.settings
        try:
            folder = self.folders.get(place.folder)
            if folder is None:  # checked once per folder and run (it may not lead out of the repository)
                folder = self.folders[place.folder] = writer.ensure_dir(s.repo / place.folder, s.repo)
            return writer.write_image(folder, place.name, image.ext, image.data,
                                      taken=self.taken, tmp_dir=self.tmp_dir, journal=self.journal)
        except (writer.WriteError, OSError) as exc:
            self._fail(post, f"could not write the image: {exc}")
            return None

    def _take_back(self, image_path: Path) -> None:
        """The post was not updated: its new image goes again."""
        with contextlib.suppress(OSError):
            image_path.unlink()
        self.taken.discard(image_path.name)
        if self.journal is not None:
            self.journal.done(image_path)

    def _apply(self, post: Post, image_rel: str, meta: covers.CoverMeta | None,
               regenerate: bool) -> covers.CoverEdit | None:
        """Plan the edit and swap it in; when someone saved the post meanwhile, start again from
        their version (WRITE_ATTEMPTS times). None when the post was not updated (reported)."""
        outcome = writer.CHANGED
        for _attempt in range(self.WRITE_ATTEMPTS):
            try:
                edit = covers.plan(self.site, post, image=image_rel, meta=meta, regenerate=regenerate)
                outcome = writer.apply(edit, self.settings.repo, tmp_dir=self.tmp_dir)
            except Exception as exc:  # the post is untouched
                self._fail(post, f"could not update the post: {type(exc).__name__}: {exc}")
                return None
            if outcome is writer.REPLACED:
                self.scanner.wrote(edit.path)
                return edit
            try:
                post = Post.load(post.path, self.settings.repo, max_bytes=self.settings.max_post_bytes,
                             **self.site.post_rules())
            except PostError as exc:
                self._fail(post, f"{exc.reason}: {exc}")
                return None
            if self._cover_appeared(post, regenerate):
                return None
        self._pending(post.rel, PendingReason.POST_BUSY if outcome is writer.BUSY else PendingReason.CHANGED_DURING_WRITE)
        return None

    def _written(self, edit: covers.CoverEdit, image: GeneratedImage, prompt: str, source: str) -> None:
        """The post has its cover: the old cover goes (if nothing mentions it), the report says so."""
        removed = kept = kept_because = None
        if edit.old_cover is not None:
            old_file = self.repo_real / edit.old_cover
            mention = self.scanner.find(old_file.name, skip={old_file})
            if mention is not None:
                kept, kept_because = edit.old_cover, f"still mentioned by {mention}"
            else:
                try:
                    old_file.unlink()
                    removed = edit.old_cover
                except OSError as exc:
                    kept, kept_because = edit.old_cover, f"could not be deleted: {exc.strerror or exc}"
            if kept is not None:
                self.emit(Event.warning(f"kept the old cover {kept}: {kept_because}", post=edit.rel))
        generated = Generated(post=edit.rel, image=edit.image, provider=image.provider, model=image.model, prompt=prompt,
                              prompt_source=source, removed_image=removed, alt=edit.alt, kept_image=kept,
                              kept_because=kept_because, title=edit.title)
        self.report.generated.append(generated)
        self.emit(Event.generated(generated))

    def _cover_appeared(self, fresh: Post, regenerate: bool) -> bool:
        """The post (read again just before the write) has a cover it did not ask to replace."""
        still_replacing = regenerate and (fresh.regenerate or fresh.rel in self.settings.regenerate
                                          or Redraw(self.settings).stale_card(fresh))
        if self.site.has_cover(fresh) and not still_replacing:
            self.report.skipped.append(Skipped(fresh.rel, SkipReason.HAS_IMAGE, "a cover appeared during the run"))
            self.emit(Event.skip(fresh.rel, SkipReason.HAS_IMAGE, "a cover appeared during the run"))
            return True
        return False

    def _remove_orphans(self) -> None:
        """Images a killed run wrote for posts it never updated (see writer.Journal): removed when
        nothing mentions them, so the post's new cover takes the same name."""
        if self.tmp_dir is None:
            return

        def remove(path: Path) -> None:
            try:
                if not path.is_file() or path.is_symlink():
                    return
                rel = path.resolve().relative_to(self.repo_real).as_posix()
            except (OSError, ValueError):
                return
            if not self.site.is_cover_file(rel):
                return  # never ours to delete, whatever a journal says
            if self.scanner.find(path.name, skip={path}) is None:
                with contextlib.suppress(OSError):
                    path.unlink()
                    self.emit(Event.cleanup(f"removed {rel}, left unreferenced by an interrupted run"))

        writer.Journal.recover(self.tmp_dir, remove, before=lambda found: self.scanner.expect(p.name for p in found))

    def _fail(self, post: Post, error: str) -> None:
        error = redact(error)
        self.report.failed.append(Failed(post.rel, error, title=post.title or ""))
        self.emit(Event.failed(post.rel, error, post.title or ""))

    # ------------------------------------------------------------------ the run

    def _plan(self, disc: Discovery) -> list[Candidate]:
        s = self.settings
        for sk in disc.skipped:
            self.report.skipped.append(Skipped(sk.post, sk.reason, redact(sk.message)))
            self.emit(Event.skip(sk.post, sk.reason, sk.message))
        todo = list(disc.todo)
        if s.max_images is not None and len(todo) > s.max_images:
            for cand in todo[s.max_images:]:
                self._pending(cand.post.rel, PendingReason.MAX_IMAGES)
            todo = todo[: s.max_images]
        return todo

    def _dry_run(self, todo: list[Candidate]) -> Report:
        s = self.settings
        for cand in todo:
            if cand.image is not None:  # body-image: the post's own picture becomes its cover
                planned = Planned(cand.post.rel, cand.image, cand.why, OWN_IMAGE, cand.post.title or "")
                self.report.planned.append(planned)
                self.emit(Event.would_generate(planned))
                continue
            where = cand.place or self.site.cover_place(cand.post)
            name = writer.free_name(s.repo / where.folder, where.name, s.output.ext(), self.taken)
            source = "cached" if (cand.post.cached_prompt and cand.why != "regenerate") else "describer-or-text"
            planned = Planned(cand.post.rel, f"{where.folder}/{name}", cand.why, source, cand.post.title or "")
            self.report.planned.append(planned)
            self.emit(Event.would_generate(planned))
        self.report.stop_reason = "dry run: nothing written"
        self.emit(Event.done(self.report.stop_reason))
        return self.report

    def _build_members(self, http: httpx.AsyncClient) -> list[tuple[ProviderSettings, Provider]]:
        s = self.settings
        base = ProviderContext(http=http, clock=self.clock, memory=self.state)
        return [(ps, ps.spec.create(ps.opts, replace(base, timeout=ps.limits.timeout))) for ps in s.providers]

    async def execute(self) -> Report:
        s = self.settings
        if not s.providers and self.given_providers is None and not s.dry_run:
            raise SettingsError(s.no_provider or "no image provider is configured")  # before any work
        self.emit(Event.start(str(s.repo), self.site.name, self.site.describe()))
        for note in (*s.left_out, *s.standing_in):
            self.emit(Event.warning(note))
        if s.dry_run:
            return self._dry_run(self._discover())
        await self._lock_repository()
        # A killed run's orphans go before discovery: on a Hugo page bundle an orphan named
        # `*-cover.*` would otherwise make the post look covered.
        try:
            self.tmp_dir = writer.scratch_dir(s.repo)
            self._remove_orphans()
            todo = self._discover()
            folders = {c.post.path.parent for c in todo} | {s.repo / (c.place or self.site.cover_place(c.post)).folder for c in todo} \
                | {s.repo / f for f in self.site.cover_folders()}
            if self.tmp_dir is not None:
                folders.add(self.tmp_dir)
            writer.clean_stale_temps(sorted(folders))
            self._expect_old_covers(todo)
            if todo and self.before_work is not None:
                self.before_work(todo)
            return await self._execute(todo)
        finally:
            if self.journal is not None:
                self.journal.close()
            writer.drop_scratch(s.repo, self.tmp_dir)
            if self.lock is not None:
                self.lock.release()

    async def _lock_repository(self) -> None:
        """One run at a time in a repository: a second one would take the first one's fresh images
        for a killed run's leftovers and remove them, and write the same posts. Waits up to
        RUN_LOCK_WAIT seconds for the other run, then BusyError names it. A lock file that cannot be
        made (a read-only git directory) is not a reason to refuse: the run goes on unlocked."""
        held = lock.repository_lock(self.settings.repo)
        try:
            if not held.try_acquire():
                self.emit(Event.warning(f"another imagegen run is working in this repository "
                                        f"({lock.describe_holder(held.path)}); waiting for it, at most "
                                        f"{self.RUN_LOCK_WAIT:g} s"))
                start = self.clock.monotonic()
                while not held.try_acquire():
                    if self.clock.monotonic() - start >= self.RUN_LOCK_WAIT:
                        raise held.busy(self.RUN_LOCK_WAIT)
                    await self.clock.sleep(lock.POLL)
        except OSError as exc:
            self.emit(Event.warning(f"could not take the run lock {str(held.path)!r} ({exc.strerror or exc}); "
                                    "running without it"))
            return
        self.lock = held

    def _expect_old_covers(self, todo: list[Candidate]) -> None:
        """The old covers the regenerated posts will replace: one reference scan finds who else
        mentions any of them, once per run (imagegen.references), instead of once per cover."""
        names = []
        for cand in todo:
            if cand.why == "regenerate":
                with contextlib.suppress(PostError, OSError, ValueError):
                    old = self.site.previous_cover(cand.post)
                    if old:
                        names.append(PurePosixPath(old).name)
        self.scanner.expect(names)

    def _discover(self) -> list[Candidate]:
        disc = discover(self.settings, self.today, self.site)
        todo = self._plan(disc)
        if not disc.posts and not disc.skipped:  # nothing looked like a post at all: say why
            self.report.no_posts = explain_no_posts(self.settings, self.site)
            self.emit(Event.warning(self.report.no_posts, no_posts=True))
        unseen = self.site.unseen() if any(c.image is None for c in todo) else None
        if unseen:  # once, before any provider is asked
            self.emit(Event.warning(unseen + "; covers are made all the same (the layouts may be about to change)"))
        self.emit(Event.plan(len(todo)))
        return todo

    async def _execute(self, todo: list[Candidate]) -> Report:
        s = self.settings
        if not todo:
            self.report.stop_reason = "nothing to do"
            for ps in s.providers:
                self.report.providers[ps.name] = ProviderStats()
            self.emit(Event.done("nothing to do"))
            return self.report

        state = None
        if s.state_file is not None:
            state = State.load(s.state_file, self.clock.now(),
                               warn=lambda msg: self.emit(Event.warning(msg)))
        self.state = state
        if self.tmp_dir is not None:
            with contextlib.suppress(OSError):
                self.journal = writer.Journal(self.tmp_dir)
        async with new_client() as http:  # follows no redirects: credentials stay with their provider
            members = list(self.given_providers) if self.given_providers is not None else self._build_members(http)
            chain = Chain(members, clock=self.clock, emit=self.emit, state=state)
            describer = make_describer(s, clock=self.clock, emit=self.emit, state=state)
            sem = asyncio.Semaphore(s.concurrency)

            async def guarded(cand: Candidate) -> None:
                async with sem:
                    await self._one(cand, chain, describer)

            self._tasks = [asyncio.create_task(guarded(c)) for c in todo]
            try:
                results = await asyncio.gather(*self._tasks, return_exceptions=True)
            finally:
                await _close(describer, chain)
            for cand, res in zip(todo, results):
                if isinstance(res, BaseException) and not isinstance(res, asyncio.CancelledError):
                    self._fail(cand.post, f"internal error: {type(res).__name__}: {res}")
            # Posts cancelled before or while they ran have no outcome yet: they are pending.
            settled = self.report.settled()
            for cand in todo:
                if cand.post.rel not in settled:
                    self._pending(cand.post.rel, PendingReason.CANCELLED if self.cancelled else PendingReason.NOT_RUN)
            self.report.providers = dict(chain.stats)
            if not self.cancelled:
                self.report.run_error = _setup_failure(self.report)
            if chain.exhausted:
                self.report.stopped_by_quota = True
                self.report.stop_reason = getattr(chain, "stop_reason", "") or "every provider is out"
            if state is not None:
                try:
                    for note in state.save():
                        self.emit(Event.warning(note))
                except OSError as exc:
                    self.emit(Event.warning(f"could not save the state file: {exc}"))
        if self.cancelled:
            self.report.cancelled = True
            self.report.stop_reason = "cancelled"
        elif not self.report.stop_reason:
            self.report.stop_reason = "completed"
        self.emit(Event.done(self.report.stop_reason))
        return self.report

    def cancel(self) -> None:
        """Stop new work; in-flight writes finish (they are synchronous); the rest is pending. Said
        at once, in one line: the reader pressed Ctrl-C and wants to know it was heard."""
        if not self.cancelled:
            self.emit(Event.stop("interrupted: finishing the covers being written; the other posts are left for the "
                                 "next run", "cancelled"))
        self.cancelled = True
        for t in self._tasks:
            t.cancel()


async def _close(*closables: object) -> None:
    """Close the describer and the chain (and with it every provider): closing never masks the
    run's own outcome."""
    for thing in closables:
        if thing is not None:
            with contextlib.suppress(Exception):
                await thing.aclose()  # type: ignore[attr-defined]


def _own_files(settings: Settings) -> set[Path]:
    """Files of this tool that may mention image names but never count as a use of one."""
    own = {settings.state_file, settings.report}
    return {p if p.is_absolute() else Path.cwd() / p for p in own if p is not None}


async def run(
    settings: Settings,
    *,
    clock: Clock | None = None,
    emit: EventSink | None = None,
    providers: Sequence[tuple[ProviderSettings, Provider]] | None = None,
    today: date | None = None,
) -> Report:
    return await Run(settings, clock=clock, emit=emit, providers=providers, today=today).execute()


def run_sync(settings: Settings, **kw: object) -> Report:
    """Run to completion; SIGINT/SIGTERM cancel cleanly (report.cancelled is then True)."""

    async def main() -> Report:
        r = Run(settings, **kw)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, r.cancel)
                installed.append(sig)
        try:
            return await r.execute()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    return aio.run(main())
